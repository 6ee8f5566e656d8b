/* protojobedit: see protojobedit.h. */
#include "protojobedit.h"

#include <stdlib.h>

#include "bounds.h"

void mlq_protojobedit_enc_hold(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_strv(pk, "ids", m->u.hold.ids, m->u.hold.nids);
    mlq_mpk_kv_bool(pk, "release", m->u.hold.release);
}

int mlq_protojobedit_dec_hold(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int rc = mlq_mpk_read_strv(mp, "ids", 1, MLQ_MAX_IDS, MLQ_MAX_REF, (size_t)MLQ_MAX_IDS * 64,
                               &m->u.hold.ids, &m->u.hold.nids);
    if (rc == 0)
        rc = mlq_mpk_opt_bool(mp, "release", &m->u.hold.release);
    return rc;
}

void mlq_protojobedit_free_hold(struct mlq_msg *m)
{
    mlq_mpk_strv_free(m->u.hold.ids, m->u.hold.nids);
}

/* A field of the change, or nil when it is not part of it. */
static void put_opt(msgpack_packer *pk, const char *key, bool set, int64_t v)
{
    if (set) {
        mlq_mpk_kv_int(pk, key, v);
        return;
    }
    mlq_mpk_put_str(pk, key);
    msgpack_pack_nil(pk);
}

void mlq_protojobedit_enc_update(msgpack_packer *pk, const struct mlq_msg *m)
{
    const struct mlq_jobchange *ch = &m->u.update;
    mlq_mpk_kv_str(pk, "job", ch->job);
    put_opt(pk, "priority", ch->set & MLQ_CHANGE_PRIORITY, ch->priority);
    put_opt(pk, "time_limit_ms", ch->set & MLQ_CHANGE_TIME_LIMIT, ch->time_limit_ms);
    put_opt(pk, "cpus_m", ch->set & MLQ_CHANGE_CPUS, ch->cpus_m);
    put_opt(pk, "mem", ch->set & MLQ_CHANGE_MEM, ch->mem);
    put_opt(pk, "gpus", ch->set & MLQ_CHANGE_GPUS, ch->gpus);
    put_opt(pk, "retries", ch->set & MLQ_CHANGE_RETRIES, ch->retries);
}

/* Reads key into *out when present (bit set in ch->set); the range is the
 * wire's bound, the submit rules are checked by the scheduler. */
static int get_opt(const struct mlq_mpk_map *mp, const char *key, unsigned bit, int64_t min,
                   int64_t max, struct mlq_jobchange *ch, int64_t *out)
{
    if (mlq_mpk_absent(mp, key))
        return 0;
    ch->set |= bit;
    return mlq_mpk_read_int(mp, key, min, max, out);
}

int mlq_protojobedit_dec_update(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    struct mlq_jobchange *ch = &m->u.update;
    int64_t prio = 0, gpus = 0, retries = 0;
    int rc = mlq_mpk_read_str(mp, "job", MLQ_MAX_REF, false, &ch->job);
    if (rc == 0)
        rc = get_opt(mp, "priority", MLQ_CHANGE_PRIORITY, INT32_MIN, INT32_MAX, ch, &prio);
    if (rc == 0)
        rc = get_opt(mp, "time_limit_ms", MLQ_CHANGE_TIME_LIMIT, 0, INT64_MAX, ch,
                     &ch->time_limit_ms);
    if (rc == 0)
        rc = get_opt(mp, "cpus_m", MLQ_CHANGE_CPUS, 0, INT64_MAX, ch, &ch->cpus_m);
    if (rc == 0)
        rc = get_opt(mp, "mem", MLQ_CHANGE_MEM, 0, INT64_MAX, ch, &ch->mem);
    if (rc == 0)
        rc = get_opt(mp, "gpus", MLQ_CHANGE_GPUS, INT32_MIN, INT32_MAX, ch, &gpus);
    if (rc == 0)
        rc = get_opt(mp, "retries", MLQ_CHANGE_RETRIES, INT32_MIN, INT32_MAX, ch, &retries);
    ch->priority = (int32_t)prio;
    ch->gpus = (int32_t)gpus;
    ch->retries = (int32_t)retries;
    return rc;
}

void mlq_protojobedit_free_update(struct mlq_msg *m)
{
    free(m->u.update.job);
}
