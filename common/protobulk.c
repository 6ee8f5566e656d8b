/* protobulk: see protobulk.h and docs/protocol.md (normative). */
#include "protobulk.h"

#include <stdlib.h>
#include <string.h>

#include "protospec.h"

bool mlq_protobulk_is_bulk(enum mlq_msg_type t)
{
    return t == MLQ_MSG_SUBMIT_MANY || t == MLQ_MSG_SUBMITTED_MANY;
}

void mlq_protobulk_enc_submit_many(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_strv(pk, "env", m->u.submit_many.env, m->u.submit_many.envc);
    mlq_mpk_kv_array(pk, "specs", m->u.submit_many.nspecs);
    /* Lean: a third of the bytes to encode, encrypt, send and decode; the
     * reader takes an absent optional key as its default. */
    for (uint32_t i = 0; i < m->u.submit_many.nspecs; i++)
        if (m->u.submit_many.full_specs)
            mlq_protospec_put(pk, &m->u.submit_many.specs[i]);
        else
            mlq_protospec_put_stored(pk, &m->u.submit_many.specs[i]);
    mlq_mpk_put_str(pk, "idempotency_key");
    if (m->u.submit_many.idempotency_key)
        mlq_mpk_put_str(pk, m->u.submit_many.idempotency_key);
    else
        msgpack_pack_nil(pk);
}

/* Each spec is read and checked as a submit's is (its environment is
 * checked again by the scheduler once the shared one is added). */
static int read_specs(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    const msgpack_object_array *a;
    int rc = mlq_mpk_read_array(mp, "specs", 1, MLQ_MAX_BULK_JOBS, &a);
    if (rc < 0)
        return rc;
    m->u.submit_many.specs = calloc(a->size, sizeof *m->u.submit_many.specs);
    if (!m->u.submit_many.specs)
        return mlq_err_set(mp->err, MLQ_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < a->size; i++) {
        struct mlq_mpk_map sub;
        rc = mlq_mpk_map_init(&sub, &a->ptr[i], "submit_many spec", mp->err);
        if (rc == 0)
            rc = mlq_protospec_read(&sub, &m->u.submit_many.specs[i]);
        if (rc < 0) {
            mlq_proto_jobspec_free(&m->u.submit_many.specs[i]);
            return rc;
        }
        m->u.submit_many.nspecs = i + 1;
    }
    return 0;
}

int mlq_protobulk_dec_submit_many(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int rc = mlq_mpk_read_strv(mp, "env", 0, MLQ_MAX_ENVC, MLQ_MAX_ENV_ENTRY, MLQ_MAX_ENV_BYTES,
                               &m->u.submit_many.env, &m->u.submit_many.envc);
    char **key = &m->u.submit_many.idempotency_key;
    if (rc == 0 && !mlq_mpk_absent(mp, "idempotency_key"))
        rc = mlq_mpk_read_str(mp, "idempotency_key", MLQ_MAX_IDEM_KEY, true, key);
    if (rc == 0 && *key)
        rc = mlq_proto_idem_key_check(*key, mp->err) < 0 ? MLQ_EPROTO : 0;
    return rc == 0 ? read_specs(mp, m) : rc;
}

void mlq_protobulk_free_submit_many(struct mlq_msg *m)
{
    mlq_mpk_strv_free(m->u.submit_many.env, m->u.submit_many.envc);
    for (uint32_t i = 0; m->u.submit_many.specs && i < m->u.submit_many.nspecs; i++)
        mlq_proto_jobspec_free(&m->u.submit_many.specs[i]);
    free(m->u.submit_many.specs);
    free(m->u.submit_many.idempotency_key);
    memset(&m->u.submit_many, 0, sizeof m->u.submit_many);
}

void mlq_protobulk_enc_submitted_many(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_array(pk, "ids", m->u.submitted_many.nids);
    for (uint32_t i = 0; i < m->u.submitted_many.nids; i++)
        mlq_mpk_put_str(pk, m->u.submitted_many.ids[i]);
}

int mlq_protobulk_dec_submitted_many(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    const msgpack_object_array *a;
    int rc = mlq_mpk_read_array(mp, "ids", 1, MLQ_MAX_BULK_JOBS, &a);
    if (rc < 0)
        return rc;
    m->u.submitted_many.ids = calloc(a->size, sizeof *m->u.submitted_many.ids);
    if (!m->u.submitted_many.ids)
        return mlq_err_set(mp->err, MLQ_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < a->size; i++) {
        const msgpack_object *o = &a->ptr[i];
        if (o->type != MSGPACK_OBJECT_STR || !mlq_mpk_is_uuid(o->via.str.ptr, o->via.str.size))
            return mlq_err_set(mp->err, MLQ_EPROTO, "submitted_many: ids[%u] is not an id", i);
        memcpy(m->u.submitted_many.ids[i], o->via.str.ptr, MLQ_ID_LEN);
        m->u.submitted_many.ids[i][MLQ_ID_LEN] = '\0';
        m->u.submitted_many.nids = i + 1;
    }
    return 0;
}

void mlq_protobulk_free_submitted_many(struct mlq_msg *m)
{
    free(m->u.submitted_many.ids);
    memset(&m->u.submitted_many, 0, sizeof m->u.submitted_many);
}
