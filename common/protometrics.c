/* protometrics: see protometrics.h and docs/protocol.md (normative). */
#include "protometrics.h"

#include <stdlib.h>
#include <string.h>

void mlq_protometrics_enc_text(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_str(pk, "text", m->u.metrics_text.text ? m->u.metrics_text.text : "");
}

int mlq_protometrics_dec_text(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    return mlq_mpk_read_str(mp, "text", MLQ_MAX_METRICS_TEXT, false, &m->u.metrics_text.text);
}

void mlq_protometrics_free_text(struct mlq_msg *m)
{
    free(m->u.metrics_text.text);
}

#define GPULOAD_KEYS 4

void mlq_protometrics_put_gpu_load(msgpack_packer *pk, const struct mlq_msg *m)
{
    const struct mlq_gpuload *g = m->u.heartbeat.gpu_load;
    uint32_t n = g ? m->u.heartbeat.ngpu_load : 0;
    mlq_mpk_kv_array(pk, "gpu_load", n);
    for (uint32_t i = 0; i < n; i++) {
        msgpack_pack_map(pk, GPULOAD_KEYS);
        mlq_mpk_kv_int(pk, "index", g[i].index);
        mlq_mpk_kv_int(pk, "util", g[i].util);
        mlq_mpk_kv_int(pk, "mem_used", g[i].mem_used);
        mlq_mpk_kv_int(pk, "mem_total", g[i].mem_total);
    }
}

/* At most MLQ_MAX_GPUS entries, distinct indexes, util 0..100, memory
 * within MLQ_MAX_MEM. */
int mlq_protometrics_read_gpu_load(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    const msgpack_object_array *a;
    if (mlq_mpk_absent(mp, "gpu_load"))
        return 0;
    int rc = mlq_mpk_read_array(mp, "gpu_load", 0, MLQ_MAX_GPUS, &a);
    if (rc < 0 || a->size == 0)
        return rc;
    struct mlq_gpuload *v = calloc(a->size, sizeof *v);
    if (!v)
        return mlq_err_set(mp->err, MLQ_ENOMEM, "%s: out of memory", mp->where);
    m->u.heartbeat.gpu_load = v;
    m->u.heartbeat.ngpu_load = a->size;
    uint64_t seen = 0;
    for (uint32_t i = 0; i < a->size && rc == 0; i++) {
        struct mlq_mpk_map gm;
        if (a->ptr[i].type != MSGPACK_OBJECT_MAP)
            return mlq_err_set(mp->err, MLQ_EPROTO, "%s: key 'gpu_load' entry %u is not a map",
                               mp->where, i);
        rc = mlq_mpk_map_init(&gm, &a->ptr[i], "gpu_load", mp->err);
        if (rc == 0)
            rc = mlq_mpk_read_i32(&gm, "index", 0, MLQ_MAX_GPUS - 1, &v[i].index);
        if (rc == 0)
            rc = mlq_mpk_read_i32(&gm, "util", 0, 100, &v[i].util);
        if (rc == 0)
            rc = mlq_mpk_read_int(&gm, "mem_used", 0, MLQ_MAX_MEM, &v[i].mem_used);
        if (rc == 0)
            rc = mlq_mpk_read_int(&gm, "mem_total", 0, MLQ_MAX_MEM, &v[i].mem_total);
        if (rc == 0 && (seen & (1ULL << v[i].index)))
            rc = mlq_err_set(mp->err, MLQ_EPROTO, "%s: key 'gpu_load' names GPU %d twice",
                             mp->where, (int)v[i].index);
        if (rc == 0)
            seen |= 1ULL << v[i].index;
    }
    return rc;
}

void mlq_protometrics_put_gpuinfo(msgpack_packer *pk, const struct mlq_gpuinfo *g)
{
    mlq_mpk_put_str(pk, "util");
    if (g->util_known)
        msgpack_pack_int32(pk, g->util);
    else
        msgpack_pack_nil(pk);
    mlq_mpk_kv_int(pk, "mem_used", g->mem_used);
    mlq_mpk_kv_int(pk, "idle_ms", g->idle_ms);
}

int mlq_protometrics_read_gpuinfo(const struct mlq_mpk_map *mp, struct mlq_gpuinfo *g)
{
    const msgpack_object *u = mlq_mpk_get(mp, "util");
    int rc = 0;
    if (u && u->type != MSGPACK_OBJECT_NIL) {
        rc = mlq_mpk_read_i32(mp, "util", 0, 100, &g->util);
        g->util_known = rc == 0;
    }
    if (rc == 0)
        rc = mlq_mpk_opt_int(mp, "mem_used", 0, MLQ_MAX_MEM, &g->mem_used);
    if (rc == 0)
        rc = mlq_mpk_opt_int(mp, "idle_ms", 0, INT64_MAX, &g->idle_ms);
    return rc;
}
