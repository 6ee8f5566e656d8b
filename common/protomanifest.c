/* protomanifest: see protomanifest.h. */
#include "protomanifest.h"

#include <stdlib.h>

void mlq_protomanifest_enc_req(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_str(pk, "job", m->u.manifest.job);
    mlq_mpk_kv_int(pk, "attempt", m->u.manifest.attempt);
}

int mlq_protomanifest_dec_req(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int rc = mlq_mpk_read_str(mp, "job", MLQ_MAX_REF, false, &m->u.manifest.job);
    if (rc == 0 && m->u.manifest.job[0] == '\0')
        rc = mlq_err_set(mp->err, MLQ_EPROTO, "manifest: key 'job' must not be empty");
    if (rc == 0)
        rc = mlq_mpk_opt_i32(mp, "attempt", 0, MLQ_MAX_RETRIES + 1, &m->u.manifest.attempt);
    return rc;
}

void mlq_protomanifest_free_req(struct mlq_msg *m)
{
    free(m->u.manifest.job);
}

void mlq_protomanifest_enc_data(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_str(pk, "job_id", m->u.manifest_data.job_id);
    mlq_mpk_kv_str(pk, "attempt_id", m->u.manifest_data.attempt_id);
    mlq_mpk_kv_int(pk, "attempt", m->u.manifest_data.attempt);
    mlq_mpk_kv_str(pk, "json", m->u.manifest_data.json);
}

int mlq_protomanifest_dec_data(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int rc = mlq_mpk_read_id(mp, "job_id", m->u.manifest_data.job_id);
    if (rc == 0)
        rc = mlq_mpk_read_id(mp, "attempt_id", m->u.manifest_data.attempt_id);
    if (rc == 0)
        rc = mlq_mpk_read_i32(mp, "attempt", 1, INT32_MAX, &m->u.manifest_data.attempt);
    if (rc == 0)
        rc = mlq_mpk_read_str(mp, "json", MLQ_MAX_MANIFEST, false, &m->u.manifest_data.json);
    return rc;
}

void mlq_protomanifest_free_data(struct mlq_msg *m)
{
    free(m->u.manifest_data.json);
}
