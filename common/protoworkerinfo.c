/* protoworkerinfo: see protoworkerinfo.h and docs/protocol.md (normative). */
#include "protoworkerinfo.h"

#include <stdlib.h>
#include <string.h>

#include "protofield.h"
#include "protometrics.h"
#include "protospec.h"
#include "protoworker.h"

#define WORKERINFO_KEYS (22 + MLQ_PROTOWORKER_WORKERINFO_KEYS)
#define GPUINFO_KEYS    (9 + MLQ_PROTOMETRICS_GPUINFO_KEYS)

void mlq_protoworkerinfo_put_gpu_list(msgpack_packer *pk, const struct mlq_gpuinfo *g, uint32_t n)
{
    mlq_mpk_kv_array(pk, "gpu_list", g ? n : 0);
    for (uint32_t i = 0; g && i < n; i++) {
        msgpack_pack_map(pk, GPUINFO_KEYS);
        mlq_mpk_kv_int(pk, "index", g[i].index);
        mlq_mpk_kv_str(pk, "uuid", g[i].uuid);
        mlq_mpk_kv_str(pk, "model", g[i].model);
        mlq_mpk_kv_str(pk, "type", g[i].type);
        mlq_mpk_kv_int(pk, "mem", g[i].mem);
        mlq_mpk_kv_str(pk, "job_id", g[i].job_id);
        mlq_mpk_kv_bool(pk, "withheld", g[i].withheld);
        mlq_mpk_kv_int(pk, "share", g[i].share);
        mlq_mpk_kv_int(pk, "shares", g[i].nshares);
        mlq_protometrics_put_gpuinfo(pk, &g[i]);
    }
}

void mlq_protoworkerinfo_put(msgpack_packer *pk, const struct mlq_workerinfo *w)
{
    msgpack_pack_map(pk, WORKERINFO_KEYS);
    mlq_mpk_kv_str(pk, "name", w->name);
    mlq_mpk_kv_str(pk, "state", w->state);
    mlq_mpk_kv_int(pk, "cpus_m", w->cpus_m);
    mlq_mpk_kv_int(pk, "cpus_used_m", w->cpus_used_m);
    mlq_mpk_kv_int(pk, "mem", w->mem);
    mlq_mpk_kv_int(pk, "mem_used", w->mem_used);
    mlq_mpk_kv_int(pk, "gpus", w->gpus);
    mlq_mpk_kv_int(pk, "gpus_used", w->gpus_used);
    mlq_mpk_kv_int(pk, "gpus_used_h", w->gpus_used_h);
    mlq_mpk_kv_int(pk, "running", w->running);
    mlq_mpk_kv_bool(pk, "draining", w->draining);
    mlq_mpk_kv_int(pk, "last_seen_ms", w->last_seen_ms);
    mlq_mpk_kv_str(pk, "pool", w->pool);
    mlq_mpk_kv_strv(pk, "labels", w->labels, w->labels ? w->nlabels : 0);
    mlq_mpk_kv_str(pk, "drain_reason", w->drain_reason);
    mlq_protoworkerinfo_put_gpu_list(pk, w->gpu_list, w->ngpu_list);
    mlq_mpk_kv_bool(pk, "unhealthy", w->unhealthy);
    mlq_mpk_kv_str(pk, "health", w->health);
    mlq_mpk_kv_str(pk, "addr", w->addr);
    mlq_mpk_kv_str(pk, "limits", w->limits);
    mlq_mpk_kv_str(pk, "version", w->version);
    mlq_mpk_kv_str(pk, "git", w->git);
    mlq_protoworker_put_workerinfo(pk, w);
}

int mlq_proto_limits_check(const char *s, struct mlq_err *err)
{
    static const char *const ok[] = {"enforce/v2", "enforce/v1", "account/v2", "account/v1",
                                     "none"};
    for (size_t i = 0; i < MLQ_PROTOFIELD_NELEM(ok); i++) {
        if (strcmp(s, ok[i]) == 0)
            return 0;
    }
    return mlq_err_set(err, MLQ_EPROTO,
                       "limits must be enforce/v2, enforce/v1, account/v2, "
                       "account/v1 or none");
}

/* The optional limits of a worker (register, workerinfo). */
int mlq_protoworkerinfo_read_limits(const struct mlq_mpk_map *m, char **out)
{
    int rc = mlq_mpk_read_str(m, "limits", 16, true, out);
    if (rc == 0 && *out && mlq_proto_limits_check(*out, NULL) < 0)
        rc = mlq_err_set(m->err, MLQ_EPROTO, "%s: key 'limits': unknown '%s'", m->where, *out);
    return rc;
}

/* An optional id (nil: none) that, when present, is a full job id. */
static int read_opt_id(const struct mlq_mpk_map *m, const char *key, char **out)
{
    int rc = mlq_mpk_read_str(m, key, MLQ_ID_LEN, true, out);
    if (rc == 0 && *out && !mlq_mpk_is_uuid(*out, strlen(*out)))
        rc = mlq_err_set(m->err, MLQ_EPROTO, "%s: key '%s' is not a full lower-case id", m->where,
                         key);
    return rc;
}

static int read_gpuinfo(const struct mlq_mpk_map *m, struct mlq_gpuinfo *g)
{
    struct mlq_err e;
    int rc = mlq_mpk_read_i32(m, "index", 0, MLQ_MAX_GPUS - 1, &g->index);
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "uuid", MLQ_MAX_NAME, true, &g->uuid);
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "model", MLQ_MAX_NAME, true, &g->model);
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "type", MLQ_MAX_GPU_TYPE, true, &g->type);
    if (rc == 0 && g->type && mlq_proto_gpu_type_check(g->type, &e) < 0)
        rc = mlq_err_set(m->err, MLQ_EPROTO, "%s: key 'type': %s", m->where, e.msg);
    if (rc == 0)
        rc = mlq_mpk_opt_int(m, "mem", 0, INT64_MAX, &g->mem);
    if (rc == 0)
        rc = read_opt_id(m, "job_id", &g->job_id);
    if (rc == 0)
        rc = mlq_mpk_opt_bool(m, "withheld", &g->withheld);
    if (rc == 0)
        rc = mlq_mpk_opt_i32(m, "share", 0, 100, &g->share);
    if (rc == 0)
        rc = mlq_mpk_opt_i32(m, "shares", 0, MLQ_MAX_WORKER_ATTEMPTS, &g->nshares);
    if (rc == 0)
        rc = mlq_protometrics_read_gpuinfo(m, g);
    return rc;
}

/* The optional "gpu_list" (absent, nil or empty: none): at most
 * MLQ_MAX_GPUS entries with distinct indexes. */
int mlq_protoworkerinfo_read_gpu_list(const struct mlq_mpk_map *m, struct mlq_gpuinfo **out,
                                      uint32_t *n)
{
    const msgpack_object_array *a;
    uint64_t seen = 0;
    if (mlq_mpk_absent(m, "gpu_list"))
        return 0;
    int rc = mlq_mpk_read_array(m, "gpu_list", 0, MLQ_MAX_GPUS, &a);
    if (rc < 0 || a->size == 0)
        return rc;
    *out = calloc(a->size, sizeof **out);
    if (!*out)
        return mlq_err_set(m->err, MLQ_ENOMEM, "%s: out of memory", m->where);
    *n = a->size;
    for (uint32_t i = 0; i < a->size && rc == 0; i++) {
        struct mlq_mpk_map gm;
        rc = mlq_mpk_map_init(&gm, &a->ptr[i], "gpuinfo", m->err);
        if (rc == 0)
            rc = read_gpuinfo(&gm, &(*out)[i]);
        if (rc == 0 && (seen & (1ULL << (*out)[i].index)))
            rc = mlq_err_set(m->err, MLQ_EPROTO, "%s: key 'gpu_list' names GPU %d twice", m->where,
                             (int)(*out)[i].index);
        seen |= 1ULL << (*out)[i].index;
    }
    return rc;
}

/* Placement keys of a workerinfo, all optional. */
static int read_workerinfo_desc(const struct mlq_mpk_map *m, struct mlq_workerinfo *w)
{
    int rc = mlq_protofield_read_pool(m, &w->pool);
    if (rc == 0)
        rc = mlq_protospec_read_labels(m, "labels", &w->labels, &w->nlabels);
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "drain_reason", MLQ_MAX_REASON, true, &w->drain_reason);
    if (rc == 0)
        rc = mlq_protoworkerinfo_read_gpu_list(m, &w->gpu_list, &w->ngpu_list);
    if (rc == 0)
        rc = mlq_mpk_opt_bool(m, "unhealthy", &w->unhealthy);
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "health", MLQ_MAX_REASON, true, &w->health);
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "addr", MLQ_MAX_HOST, true, &w->addr);
    if (rc == 0)
        rc = mlq_protoworkerinfo_read_limits(m, &w->limits);
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "version", MLQ_MAX_VERSION, true, &w->version);
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "git", MLQ_MAX_VERSION, true, &w->git);
    if (rc == 0)
        rc = mlq_protoworker_read_workerinfo(m, w);
    return rc;
}

int mlq_protoworkerinfo_read(const struct mlq_mpk_map *m, struct mlq_workerinfo *w)
{
    int rc = mlq_mpk_read_str(m, "name", MLQ_MAX_NAME, false, &w->name);
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "state", MLQ_MAX_NAME, false, &w->state);
    if (rc == 0)
        rc = mlq_mpk_read_int(m, "cpus_m", 0, INT64_MAX, &w->cpus_m);
    if (rc == 0)
        rc = mlq_mpk_read_int(m, "cpus_used_m", 0, INT64_MAX, &w->cpus_used_m);
    if (rc == 0)
        rc = mlq_mpk_read_int(m, "mem", 0, INT64_MAX, &w->mem);
    if (rc == 0)
        rc = mlq_mpk_read_int(m, "mem_used", 0, INT64_MAX, &w->mem_used);
    if (rc == 0)
        rc = mlq_mpk_read_i32(m, "gpus", 0, INT32_MAX, &w->gpus);
    if (rc == 0)
        rc = mlq_mpk_read_i32(m, "gpus_used", 0, INT32_MAX, &w->gpus_used);
    if (rc == 0)
        rc = mlq_mpk_opt_i32(m, "gpus_used_h", 0, MLQ_MAX_GPUS * 100, &w->gpus_used_h);
    if (rc == 0)
        rc = mlq_mpk_read_i32(m, "running", 0, INT32_MAX, &w->running);
    if (rc == 0)
        rc = mlq_mpk_read_int(m, "last_seen_ms", 0, INT64_MAX, &w->last_seen_ms);
    if (rc == 0)
        rc = mlq_mpk_opt_bool(m, "draining", &w->draining);
    if (rc == 0)
        rc = read_workerinfo_desc(m, w);
    return rc;
}

void mlq_protoworkerinfo_free_gpu_list(struct mlq_gpuinfo *g, uint32_t n)
{
    for (uint32_t i = 0; g && i < n; i++)
        mlq_proto_gpuinfo_free(&g[i]);
    free(g);
}

void mlq_proto_workerinfo_free(struct mlq_workerinfo *w)
{
    if (!w)
        return;
    free(w->name);
    free(w->state);
    free(w->pool);
    mlq_mpk_strv_free(w->labels, w->nlabels);
    free(w->drain_reason);
    free(w->health);
    free(w->addr);
    free(w->version);
    free(w->git);
    mlq_protoworker_free_workerinfo(w);
    free(w->limits);
    mlq_protoworkerinfo_free_gpu_list(w->gpu_list, w->ngpu_list);
    memset(w, 0, sizeof *w);
}

void mlq_proto_gpuinfo_free(struct mlq_gpuinfo *g)
{
    if (!g)
        return;
    free(g->uuid);
    free(g->model);
    free(g->type);
    free(g->job_id);
    memset(g, 0, sizeof *g);
}
