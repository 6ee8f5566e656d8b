/* protoworker: see protoworker.h and docs/protocol.md (normative). */
#include "protoworker.h"

#include <stdlib.h>
#include <string.h>

#include "protospec.h"

void mlq_protoworker_enc_set(msgpack_packer *pk, const struct mlq_msg *m)
{
    const __typeof__(m->u.worker_set) *s = &m->u.worker_set;
    mlq_mpk_kv_str(pk, "worker", s->worker ? s->worker : "");
    mlq_mpk_kv_bool(pk, "reset", s->reset);
    mlq_mpk_kv_str(pk, "pool", s->pool);
    mlq_mpk_kv_bool(pk, "clear_labels", s->clear_labels);
    mlq_mpk_kv_strv(pk, "labels", s->labels, s->labels ? s->nlabels : 0);
    mlq_mpk_kv_int(pk, "cpus_m", s->cpus_m);
    mlq_mpk_kv_int(pk, "mem", s->mem);
    mlq_mpk_kv_int(pk, "gpus", s->gpus);
    mlq_mpk_kv_str(pk, "gpu_type", s->gpu_type);
}

static int read_opt_checked(const struct mlq_mpk_map *mp, const char *key, size_t max,
                            int (*check)(const char *, struct mlq_err *), char **out)
{
    struct mlq_err e;
    int rc = mlq_mpk_read_str(mp, key, max, true, out);
    if (rc == 0 && *out && check(*out, &e) < 0)
        rc = mlq_err_set(mp->err, MLQ_EPROTO, "%s: key '%s': %s", mp->where, key, e.msg);
    return rc;
}

int mlq_protoworker_dec_set(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    __typeof__(m->u.worker_set) *s = &m->u.worker_set;
    int rc = mlq_mpk_read_str(mp, "worker", MLQ_MAX_NAME, false, &s->worker);
    if (rc == 0 && !s->worker[0])
        rc = mlq_err_set(mp->err, MLQ_EPROTO, "%s: key 'worker' is empty", mp->where);
    if (rc == 0)
        rc = mlq_mpk_read_bool(mp, "reset", &s->reset);
    if (rc == 0)
        rc = read_opt_checked(mp, "pool", MLQ_MAX_NAME, mlq_proto_pool_check, &s->pool);
    if (rc == 0)
        rc = mlq_mpk_read_bool(mp, "clear_labels", &s->clear_labels);
    if (rc == 0)
        rc = mlq_protospec_read_labels(mp, "labels", &s->labels, &s->nlabels);
    if (rc == 0)
        rc = mlq_mpk_read_int(mp, "cpus_m", 0, MLQ_MAX_CPUS_M, &s->cpus_m);
    if (rc == 0)
        rc = mlq_mpk_read_int(mp, "mem", 0, MLQ_MAX_MEM, &s->mem);
    if (rc == 0)
        rc = mlq_mpk_read_i32(mp, "gpus", -1, MLQ_MAX_GPUS, &s->gpus);
    if (rc == 0)
        rc = read_opt_checked(mp, "gpu_type", MLQ_MAX_GPU_TYPE, mlq_proto_gpu_type_check,
                              &s->gpu_type);
    if (rc == 0 && s->gpu_type && s->gpus < 0)
        rc = mlq_err_set(mp->err, MLQ_EPROTO, "%s: key 'gpu_type' without 'gpus'", mp->where);
    return rc;
}

void mlq_protoworker_free_set(struct mlq_msg *m)
{
    __typeof__(m->u.worker_set) *s = &m->u.worker_set;
    free(s->worker);
    free(s->pool);
    mlq_mpk_strv_free(s->labels, s->nlabels);
    free(s->gpu_type);
}

/* ---- worker_summary_list ---- */

#define POOLSUM_KEYS 9
#define GPUSUM_KEYS  3

static void put_poolsum(msgpack_packer *pk, const struct mlq_poolsum *p)
{
    msgpack_pack_map(pk, POOLSUM_KEYS);
    mlq_mpk_kv_str(pk, "pool", p->pool ? p->pool : "default");
    mlq_mpk_kv_int(pk, "up", p->up);
    mlq_mpk_kv_int(pk, "drained", p->drained);
    mlq_mpk_kv_int(pk, "down", p->down);
    mlq_mpk_kv_int(pk, "unhealthy", p->unhealthy);
    mlq_mpk_kv_map(pk, "cpus_m", 2);
    mlq_mpk_kv_int(pk, "free", p->cpus_free_m);
    mlq_mpk_kv_int(pk, "total", p->cpus_m);
    mlq_mpk_kv_map(pk, "mem", 2);
    mlq_mpk_kv_int(pk, "free", p->mem_free);
    mlq_mpk_kv_int(pk, "total", p->mem);
    mlq_mpk_kv_int(pk, "gpus_stranded", p->gpus_stranded_h);
    uint32_t n = p->gpus ? p->ngpus : 0;
    mlq_mpk_kv_array(pk, "gpus", n);
    for (uint32_t i = 0; i < n; i++) {
        msgpack_pack_map(pk, GPUSUM_KEYS);
        mlq_mpk_kv_str(pk, "type", p->gpus[i].type ? p->gpus[i].type : "unknown");
        mlq_mpk_kv_int(pk, "free", p->gpus[i].free);
        mlq_mpk_kv_int(pk, "total", p->gpus[i].total);
    }
}

void mlq_protoworker_enc_summary(msgpack_packer *pk, const struct mlq_msg *m)
{
    uint32_t n = m->u.worker_summary.pools ? m->u.worker_summary.npools : 0;
    mlq_mpk_kv_array(pk, "pools", n);
    for (uint32_t i = 0; i < n; i++)
        put_poolsum(pk, &m->u.worker_summary.pools[i]);
}

/* {free, total} under key, free <= total. */
static int read_free_total(const struct mlq_mpk_map *mp, const char *key, int64_t max,
                           int64_t *free_out, int64_t *total)
{
    struct mlq_mpk_map sub;
    int rc = mlq_mpk_read_map(mp, key, key, &sub);
    if (rc == 0)
        rc = mlq_mpk_read_int(&sub, "total", 0, max, total);
    if (rc == 0)
        rc = mlq_mpk_read_int(&sub, "free", 0, *total, free_out);
    return rc;
}

static int read_gpusum(const struct mlq_mpk_map *mp, const msgpack_object *o, struct mlq_gpusum *g)
{
    struct mlq_mpk_map gm;
    struct mlq_err e;
    if (o->type != MSGPACK_OBJECT_MAP)
        return mlq_err_set(mp->err, MLQ_EPROTO, "%s: a 'gpus' entry is not a map", mp->where);
    int rc = mlq_mpk_map_init(&gm, o, "gpus", mp->err);
    if (rc == 0)
        rc = mlq_mpk_read_str(&gm, "type", MLQ_MAX_GPU_TYPE, false, &g->type);
    if (rc == 0 && mlq_proto_gpu_type_check(g->type, &e) < 0)
        rc = mlq_err_set(mp->err, MLQ_EPROTO, "%s: GPU type: %s", mp->where, e.msg);
    if (rc == 0)
        rc = mlq_mpk_read_i32(&gm, "total", 0, INT32_MAX, &g->total);
    if (rc == 0)
        rc = mlq_mpk_read_i32(&gm, "free", 0, g->total, &g->free);
    return rc;
}

static int read_poolsum_counts(const struct mlq_mpk_map *pm, struct mlq_poolsum *p)
{
    struct mlq_err e;
    int rc = mlq_mpk_read_str(pm, "pool", MLQ_MAX_NAME, false, &p->pool);
    if (rc == 0 && mlq_proto_pool_check(p->pool, &e) < 0)
        rc = mlq_err_set(pm->err, MLQ_EPROTO, "%s: key 'pool': %s", pm->where, e.msg);
    if (rc == 0)
        rc = mlq_mpk_read_i32(pm, "up", 0, MLQ_MAX_WORKERS, &p->up);
    if (rc == 0)
        rc = mlq_mpk_read_i32(pm, "drained", 0, MLQ_MAX_WORKERS, &p->drained);
    if (rc == 0)
        rc = mlq_mpk_read_i32(pm, "down", 0, MLQ_MAX_WORKERS, &p->down);
    if (rc == 0)
        rc = mlq_mpk_read_i32(pm, "unhealthy", 0, MLQ_MAX_WORKERS, &p->unhealthy);
    if (rc == 0)
        rc = read_free_total(pm, "cpus_m", INT64_MAX, &p->cpus_free_m, &p->cpus_m);
    if (rc == 0)
        rc = read_free_total(pm, "mem", INT64_MAX, &p->mem_free, &p->mem);
    if (rc == 0)
        rc = mlq_mpk_opt_int(pm, "gpus_stranded", 0, (int64_t)MLQ_MAX_WORKERS * MLQ_MAX_GPUS * 100,
                             &p->gpus_stranded_h);
    return rc;
}

static int read_poolsum(const struct mlq_mpk_map *mp, const msgpack_object *o,
                        struct mlq_poolsum *p)
{
    struct mlq_mpk_map pm;
    const msgpack_object_array *a;
    if (o->type != MSGPACK_OBJECT_MAP)
        return mlq_err_set(mp->err, MLQ_EPROTO, "%s: a 'pools' entry is not a map", mp->where);
    int rc = mlq_mpk_map_init(&pm, o, "poolsum", mp->err);
    if (rc == 0)
        rc = read_poolsum_counts(&pm, p);
    if (rc == 0)
        rc = mlq_mpk_read_array(&pm, "gpus", 0, MLQ_MAX_GPUS, &a);
    if (rc < 0 || a->size == 0)
        return rc;
    if (!(p->gpus = calloc(a->size, sizeof *p->gpus)))
        return mlq_err_set(mp->err, MLQ_ENOMEM, "%s: out of memory", mp->where);
    p->ngpus = a->size;
    for (uint32_t i = 0; rc == 0 && i < a->size; i++)
        rc = read_gpusum(&pm, &a->ptr[i], &p->gpus[i]);
    return rc;
}

int mlq_protoworker_dec_summary(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    const msgpack_object_array *a;
    int rc = mlq_mpk_read_array(mp, "pools", 0, MLQ_MAX_WORKERS, &a);
    if (rc < 0 || a->size == 0)
        return rc;
    m->u.worker_summary.pools = calloc(a->size, sizeof *m->u.worker_summary.pools);
    if (!m->u.worker_summary.pools)
        return mlq_err_set(mp->err, MLQ_ENOMEM, "%s: out of memory", mp->where);
    m->u.worker_summary.npools = a->size;
    for (uint32_t i = 0; rc == 0 && i < a->size; i++)
        rc = read_poolsum(mp, &a->ptr[i], &m->u.worker_summary.pools[i]);
    return rc;
}

void mlq_protoworker_free_summary(struct mlq_msg *m)
{
    for (uint32_t i = 0; m->u.worker_summary.pools && i < m->u.worker_summary.npools; i++) {
        struct mlq_poolsum *p = &m->u.worker_summary.pools[i];
        free(p->pool);
        for (uint32_t k = 0; p->gpus && k < p->ngpus; k++)
            free(p->gpus[k].type);
        free(p->gpus);
    }
    free(m->u.worker_summary.pools);
}

/* ---- workerinfo ---- */

#define REPORTED_KEYS 5

void mlq_protoworker_put_workerinfo(msgpack_packer *pk, const struct mlq_workerinfo *w)
{
    mlq_mpk_kv_bool(pk, "set_by_admin", w->set_by_admin);
    mlq_mpk_kv_map(pk, "reported", REPORTED_KEYS);
    mlq_mpk_kv_str(pk, "pool", w->rep_pool);
    mlq_mpk_kv_strv(pk, "labels", w->rep_labels, w->rep_labels ? w->rep_nlabels : 0);
    mlq_mpk_kv_int(pk, "cpus_m", w->rep_cpus_m);
    mlq_mpk_kv_int(pk, "mem", w->rep_mem);
    mlq_mpk_kv_int(pk, "gpus", w->rep_gpus);
}

int mlq_protoworker_read_workerinfo(const struct mlq_mpk_map *mp, struct mlq_workerinfo *w)
{
    struct mlq_mpk_map r;
    int rc = mlq_mpk_opt_bool(mp, "set_by_admin", &w->set_by_admin);
    if (rc < 0 || mlq_mpk_absent(mp, "reported"))
        return rc;
    rc = mlq_mpk_read_map(mp, "reported", "reported", &r);
    if (rc == 0)
        rc = read_opt_checked(&r, "pool", MLQ_MAX_NAME, mlq_proto_pool_check, &w->rep_pool);
    if (rc == 0)
        rc = mlq_protospec_read_labels(&r, "labels", &w->rep_labels, &w->rep_nlabels);
    if (rc == 0)
        rc = mlq_mpk_opt_int(&r, "cpus_m", 0, INT64_MAX, &w->rep_cpus_m);
    if (rc == 0)
        rc = mlq_mpk_opt_int(&r, "mem", 0, INT64_MAX, &w->rep_mem);
    if (rc == 0)
        rc = mlq_mpk_opt_i32(&r, "gpus", 0, INT32_MAX, &w->rep_gpus);
    return rc;
}

void mlq_protoworker_free_workerinfo(struct mlq_workerinfo *w)
{
    free(w->rep_pool);
    mlq_mpk_strv_free(w->rep_labels, w->rep_nlabels);
    w->rep_pool = NULL;
    w->rep_labels = NULL;
    w->rep_nlabels = 0;
}
