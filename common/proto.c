/* proto: see proto.h and docs/protocol.md (normative).
 *
 * One row per message type in `kinds` below: wire name, number of fields,
 * encoder, decoder and the function that frees what the decoder allocated.
 * Dispatch by type name goes through that table only.
 *
 * Invariants the decoders keep so that a failure anywhere can be cleaned up
 * by mlq_proto_msg_free(): the message starts zeroed, every pointer is either
 * NULL or owned, and an array's count is set as soon as the (zeroed) array
 * is allocated, before its entries are filled. */
#include "proto.h"

#include <stdlib.h>
#include <string.h>

#include "hostaddr.h"
#include "protogang.h"
#include "mpk.h"
#include "protoauth.h"
#include "protometrics.h"
#include "prototoken.h"
#include "protopipe.h"
#include "protospec.h"

static const char *const stream_names[] = {"stdout", "stderr"};
static const char *const phase_names[] = {"started", "finished"};
static const char *const outcome_names[] = {"none", "exited",    "signaled", "start_failed",
                                            "lost", "timed_out", "refused"};
/* Same spelling as mlq_job_state_name(); test_proto checks they agree. */
static const char *const state_names[MLQ_JOB_STATE_COUNT] = {
    "PENDING", "ASSIGNED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT",
};
/* Same spelling as mlq_attempt_state_name(); test_proto checks they agree. */
static const char *const att_state_names[MLQ_ATT_STATE_COUNT] = {
    "ASSIGNED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT", "LOST",
};

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const char *name_of(const char *const *names, int n, int v)
{
    return v >= 0 && v < n ? names[v] : "?";
}

/* ---- shared structures: encoding ---------------------------------------- */

#define JOBINFO_KEYS     (24 + MLQ_PROTOPIPE_JOBINFO_KEYS) /* plus "attempts" when there are any */
#define WORKERINFO_KEYS  18
#define ATTEMPTINFO_KEYS 10
#define GPUINFO_KEYS     (6 + MLQ_PROTOMETRICS_GPUINFO_KEYS)

static void put_attemptinfo(msgpack_packer *pk, const struct mlq_attemptinfo *a)
{
    msgpack_pack_map(pk, ATTEMPTINFO_KEYS);
    mlq_mpk_kv_int(pk, "num", a->num);
    mlq_mpk_kv_str(pk, "id", a->id);
    mlq_mpk_kv_str(pk, "worker", a->worker);
    mlq_mpk_kv_str(pk, "state", mlq_attempt_state_name(a->state));
    mlq_mpk_kv_str(pk, "gpu_ids", a->gpu_ids);
    mlq_mpk_kv_int(pk, "start_ms", a->start_ms);
    mlq_mpk_kv_int(pk, "end_ms", a->end_ms);
    mlq_mpk_kv_int(pk, "exit_code", a->exit_code);
    mlq_mpk_kv_int(pk, "signal", a->signal);
    mlq_mpk_kv_str(pk, "detail", a->detail);
}

static void put_jobinfo(msgpack_packer *pk, const struct mlq_jobinfo *j)
{
    uint32_t na = j->attempts ? j->nattempts : 0;
    msgpack_pack_map(pk, JOBINFO_KEYS + (na > 0) + mlq_protogang_jobinfo_keys(j));
    mlq_mpk_kv_str(pk, "id", j->id);
    mlq_mpk_kv_str(pk, "name", j->name);
    mlq_mpk_kv_str(pk, "owner", j->owner);
    mlq_mpk_kv_str(pk, "state", mlq_job_state_name(j->state));
    mlq_mpk_kv_str(pk, "reason", j->reason);
    mlq_mpk_kv_strv(pk, "argv", j->argv, j->argc);
    mlq_mpk_kv_str(pk, "workdir", j->workdir);
    mlq_mpk_kv_int(pk, "cpus_m", j->cpus_m);
    mlq_mpk_kv_int(pk, "mem", j->mem);
    mlq_mpk_kv_int(pk, "gpus", j->gpus);
    mlq_mpk_kv_int(pk, "submit_ms", j->submit_ms);
    mlq_mpk_kv_int(pk, "start_ms", j->start_ms);
    mlq_mpk_kv_int(pk, "end_ms", j->end_ms);
    mlq_mpk_kv_int(pk, "attempt", j->attempt);
    mlq_mpk_kv_str(pk, "attempt_id", j->attempt_id);
    mlq_mpk_kv_str(pk, "worker", j->worker);
    mlq_mpk_kv_str(pk, "gpu_ids", j->gpu_ids);
    mlq_mpk_kv_int(pk, "exit_code", j->exit_code);
    mlq_mpk_kv_int(pk, "signal", j->signal);
    mlq_mpk_kv_int(pk, "retries", j->retries);
    mlq_mpk_kv_int(pk, "node_failures", j->node_failures);
    mlq_mpk_kv_int(pk, "not_before_ms", j->not_before_ms);
    mlq_mpk_kv_int(pk, "time_limit_ms", j->time_limit_ms);
    mlq_mpk_kv_str(pk, "pool", j->pool);
    mlq_protopipe_put_jobinfo(pk, j);
    mlq_protogang_put_jobinfo(pk, j);
    if (na == 0)
        return;
    mlq_mpk_kv_array(pk, "attempts", na);
    for (uint32_t i = 0; i < na; i++)
        put_attemptinfo(pk, &j->attempts[i]);
}

static void put_gpu_list(msgpack_packer *pk, const struct mlq_gpuinfo *g, uint32_t n)
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
        mlq_protometrics_put_gpuinfo(pk, &g[i]);
    }
}

static void put_workerinfo(msgpack_packer *pk, const struct mlq_workerinfo *w)
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
    mlq_mpk_kv_int(pk, "running", w->running);
    mlq_mpk_kv_bool(pk, "draining", w->draining);
    mlq_mpk_kv_int(pk, "last_seen_ms", w->last_seen_ms);
    mlq_mpk_kv_str(pk, "pool", w->pool);
    mlq_mpk_kv_strv(pk, "labels", w->labels, w->labels ? w->nlabels : 0);
    mlq_mpk_kv_str(pk, "drain_reason", w->drain_reason);
    put_gpu_list(pk, w->gpu_list, w->ngpu_list);
    mlq_mpk_kv_bool(pk, "unhealthy", w->unhealthy);
    mlq_mpk_kv_str(pk, "health", w->health);
    mlq_mpk_kv_str(pk, "addr", w->addr);
}

/* ---- shared structures: decoding ---------------------------------------- */

/* Nested jobspec under key; the spec is freed again on failure. */
static int read_jobspec_at(const struct mlq_mpk_map *m, const char *key, struct mlq_jobspec *s)
{
    struct mlq_mpk_map sub;
    int rc = mlq_mpk_read_map(m, key, key, &sub);
    if (rc == 0)
        rc = mlq_protospec_read(&sub, s);
    if (rc < 0)
        mlq_proto_jobspec_free(s);
    return rc;
}

static int read_jobinfo_text(const struct mlq_mpk_map *m, struct mlq_jobinfo *j)
{
    int state;
    int rc = mlq_mpk_read_id(m, "id", j->id);
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "name", MLQ_MAX_NAME, true, &j->name);
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "owner", MLQ_MAX_NAME, true, &j->owner);
    if (rc == 0)
        rc = mlq_mpk_read_enum(m, "state", state_names, NELEM(state_names), false, &state);
    j->state = rc == 0 ? (enum mlq_job_state)state : MLQ_JOB_PENDING;
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "reason", MLQ_MAX_STR, true, &j->reason);
    if (rc == 0)
        rc = mlq_mpk_read_strv(m, "argv", 0, MLQ_MAX_ARGC, MLQ_MAX_ARGV_BYTES, MLQ_MAX_ARGV_BYTES,
                               &j->argv, &j->argc);
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "workdir", MLQ_MAX_PATH, true, &j->workdir);
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "attempt_id", MLQ_ID_LEN, true, &j->attempt_id);
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "worker", MLQ_MAX_NAME, true, &j->worker);
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "gpu_ids", MLQ_MAX_STR, true, &j->gpu_ids);
    return rc;
}

static int read_jobinfo_nums(const struct mlq_mpk_map *m, struct mlq_jobinfo *j)
{
    int rc = mlq_mpk_read_int(m, "cpus_m", 0, INT64_MAX, &j->cpus_m);
    if (rc == 0)
        rc = mlq_mpk_read_int(m, "mem", 0, INT64_MAX, &j->mem);
    if (rc == 0)
        rc = mlq_mpk_read_i32(m, "gpus", 0, INT32_MAX, &j->gpus);
    if (rc == 0)
        rc = mlq_mpk_read_int(m, "submit_ms", 0, INT64_MAX, &j->submit_ms);
    if (rc == 0)
        rc = mlq_mpk_read_int(m, "start_ms", 0, INT64_MAX, &j->start_ms);
    if (rc == 0)
        rc = mlq_mpk_read_int(m, "end_ms", 0, INT64_MAX, &j->end_ms);
    if (rc == 0)
        rc = mlq_mpk_read_i32(m, "attempt", 0, INT32_MAX, &j->attempt);
    if (rc == 0)
        rc = mlq_mpk_read_i32(m, "exit_code", INT32_MIN, INT32_MAX, &j->exit_code);
    if (rc == 0)
        rc = mlq_mpk_read_i32(m, "signal", 0, INT32_MAX, &j->signal);
    return rc;
}

static int read_attemptinfo(const struct mlq_mpk_map *m, struct mlq_attemptinfo *a)
{
    int state = 0;
    int rc = mlq_mpk_read_i32(m, "num", 0, INT32_MAX, &a->num);
    if (rc == 0)
        rc = mlq_mpk_read_id(m, "id", a->id);
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "worker", MLQ_MAX_NAME, true, &a->worker);
    if (rc == 0)
        rc = mlq_mpk_read_enum(m, "state", att_state_names, NELEM(att_state_names), false, &state);
    a->state = rc == 0 ? (enum mlq_attempt_state)state : MLQ_ATT_ASSIGNED;
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "gpu_ids", MLQ_MAX_STR, true, &a->gpu_ids);
    if (rc == 0)
        rc = mlq_mpk_read_int(m, "start_ms", 0, INT64_MAX, &a->start_ms);
    if (rc == 0)
        rc = mlq_mpk_read_int(m, "end_ms", 0, INT64_MAX, &a->end_ms);
    if (rc == 0)
        rc = mlq_mpk_read_i32(m, "exit_code", INT32_MIN, INT32_MAX, &a->exit_code);
    if (rc == 0)
        rc = mlq_mpk_read_i32(m, "signal", 0, INT32_MAX, &a->signal);
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "detail", MLQ_MAX_STR, true, &a->detail);
    return rc;
}

/* The optional "attempts" array of a jobinfo (only in replies to `status`). */
static int read_jobinfo_attempts(const struct mlq_mpk_map *m, struct mlq_jobinfo *j)
{
    const msgpack_object_array *a;
    if (mlq_mpk_absent(m, "attempts"))
        return 0;
    int rc = mlq_mpk_read_array(m, "attempts", 0, MLQ_MAX_ATTEMPT_INFO, &a);
    if (rc < 0 || a->size == 0)
        return rc;
    j->attempts = calloc(a->size, sizeof *j->attempts);
    if (!j->attempts)
        return mlq_err_set(m->err, MLQ_ENOMEM, "jobinfo: out of memory");
    j->nattempts = a->size;
    for (uint32_t i = 0; i < a->size && rc == 0; i++) {
        struct mlq_mpk_map am;
        rc = mlq_mpk_map_init(&am, &a->ptr[i], "attemptinfo", m->err);
        if (rc == 0)
            rc = read_attemptinfo(&am, &j->attempts[i]);
    }
    return rc;
}

static int read_pool(const struct mlq_mpk_map *m, char **pool);

static int read_jobinfo_extra(const struct mlq_mpk_map *m, struct mlq_jobinfo *j)
{
    int rc = mlq_mpk_opt_i32(m, "retries", 0, INT32_MAX, &j->retries);
    if (rc == 0)
        rc = mlq_mpk_opt_i32(m, "node_failures", 0, INT32_MAX, &j->node_failures);
    if (rc == 0)
        rc = mlq_mpk_opt_int(m, "not_before_ms", 0, INT64_MAX, &j->not_before_ms);
    if (rc == 0)
        rc = mlq_mpk_opt_int(m, "time_limit_ms", 0, INT64_MAX, &j->time_limit_ms);
    if (rc == 0)
        rc = read_jobinfo_attempts(m, j);
    if (rc == 0)
        rc = mlq_protopipe_read_jobinfo(m, j);
    if (rc == 0)
        rc = read_pool(m, &j->pool);
    if (rc == 0)
        rc = mlq_protogang_read_jobinfo(m, j);
    return rc;
}

/* Entry i of an array that must hold maps. */
static int entry_map(const struct mlq_mpk_map *m, const msgpack_object_array *a, uint32_t i,
                     const char *where, struct mlq_mpk_map *out)
{
    return mlq_mpk_map_init(out, &a->ptr[i], where, m->err);
}

/* An optional pool name (nil: the default pool), checked like user input. */
static int read_pool(const struct mlq_mpk_map *m, char **pool)
{
    struct mlq_err e;
    int rc = mlq_mpk_read_str(m, "pool", MLQ_MAX_NAME, true, pool);
    if (rc == 0 && *pool && mlq_proto_pool_check(*pool, &e) < 0)
        rc = mlq_err_set(m->err, MLQ_EPROTO, "%s: key 'pool': %s", m->where, e.msg);
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
        rc = mlq_protometrics_read_gpuinfo(m, g);
    return rc;
}

/* The optional "gpu_list" (absent, nil or empty: none): at most
 * MLQ_MAX_GPUS entries with distinct indexes. */
static int read_gpu_list(const struct mlq_mpk_map *m, struct mlq_gpuinfo **out, uint32_t *n)
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
        rc = entry_map(m, a, i, "gpuinfo", &gm);
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
    int rc = read_pool(m, &w->pool);
    if (rc == 0)
        rc = mlq_protospec_read_labels(m, "labels", &w->labels, &w->nlabels);
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "drain_reason", MLQ_MAX_REASON, true, &w->drain_reason);
    if (rc == 0)
        rc = read_gpu_list(m, &w->gpu_list, &w->ngpu_list);
    if (rc == 0)
        rc = mlq_mpk_opt_bool(m, "unhealthy", &w->unhealthy);
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "health", MLQ_MAX_REASON, true, &w->health);
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "addr", MLQ_MAX_HOST, true, &w->addr);
    return rc;
}

static int read_workerinfo(const struct mlq_mpk_map *m, struct mlq_workerinfo *w)
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
        rc = mlq_mpk_read_i32(m, "running", 0, INT32_MAX, &w->running);
    if (rc == 0)
        rc = mlq_mpk_read_int(m, "last_seen_ms", 0, INT64_MAX, &w->last_seen_ms);
    if (rc == 0)
        rc = mlq_mpk_opt_bool(m, "draining", &w->draining);
    if (rc == 0)
        rc = read_workerinfo_desc(m, w);
    return rc;
}

/* ---- per-message encoders, decoders and freers -------------------------- */

static void enc_error(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_int(pk, "code", m->u.error.code);
    mlq_mpk_kv_str(pk, "msg", m->u.error.msg);
}

static int dec_error(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int rc = mlq_mpk_read_i32(mp, "code", INT32_MIN, INT32_MAX, &m->u.error.code);
    return rc < 0 ? rc : mlq_mpk_read_str(mp, "msg", MLQ_MAX_STR, false, &m->u.error.msg);
}

static void free_error(struct mlq_msg *m)
{
    free(m->u.error.msg);
}

static void enc_submit(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_put_str(pk, "spec");
    mlq_protospec_put(pk, &m->u.submit.spec);
}

static int dec_submit(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    return read_jobspec_at(mp, "spec", &m->u.submit.spec);
}

static void free_submit(struct mlq_msg *m)
{
    mlq_proto_jobspec_free(&m->u.submit.spec);
}

static void enc_submitted(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_str(pk, "id", m->u.submitted.id);
}

static int dec_submitted(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    return mlq_mpk_read_id(mp, "id", m->u.submitted.id);
}

static void enc_jobs(msgpack_packer *pk, const struct mlq_msg *m)
{
    int st = m->u.jobs.state;
    mlq_mpk_kv_strv(pk, "ids", m->u.jobs.ids, m->u.jobs.nids);
    mlq_mpk_kv_str(pk, "state", st < 0 ? NULL : name_of(state_names, NELEM(state_names), st));
    mlq_mpk_kv_uint(pk, "limit", m->u.jobs.limit);
    mlq_mpk_kv_str(pk, "cursor", m->u.jobs.cursor);
}

static int dec_jobs(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int st = -1;
    uint64_t limit = 0;
    int rc = mlq_mpk_read_strv(mp, "ids", 0, MLQ_MAX_IDS, MLQ_MAX_REF, (size_t)MLQ_MAX_IDS * 64,
                               &m->u.jobs.ids, &m->u.jobs.nids);
    if (rc == 0)
        rc = mlq_mpk_read_enum(mp, "state", state_names, NELEM(state_names), true, &st);
    if (rc == 0)
        rc = mlq_mpk_read_uint(mp, "limit", MLQ_MAX_LIST, &limit);
    if (rc == 0)
        rc = mlq_mpk_read_str(mp, "cursor", MLQ_MAX_CURSOR, true, &m->u.jobs.cursor);
    m->u.jobs.state = st;
    m->u.jobs.limit = (uint32_t)limit;
    return rc;
}

static void free_jobs(struct mlq_msg *m)
{
    mlq_mpk_strv_free(m->u.jobs.ids, m->u.jobs.nids);
    free(m->u.jobs.cursor);
}

static int dec_jobinfos(const struct mlq_mpk_map *mp, struct mlq_msg *m);

static void enc_job_list(msgpack_packer *pk, const struct mlq_msg *m)
{
    uint32_t n = m->u.job_list.jobs ? m->u.job_list.njobs : 0;
    mlq_mpk_kv_array(pk, "jobs", n);
    for (uint32_t i = 0; i < n; i++)
        put_jobinfo(pk, &m->u.job_list.jobs[i]);
    mlq_protopipe_put_arrays(pk, m->u.job_list.arrays, m->u.job_list.narrays);
    mlq_mpk_kv_str(pk, "next", m->u.job_list.next);
}

static int dec_job_list(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int rc = dec_jobinfos(mp, m);
    if (rc == 0)
        rc = mlq_protopipe_read_arrays(mp, &m->u.job_list.arrays, &m->u.job_list.narrays);
    if (rc == 0)
        rc = mlq_mpk_read_str(mp, "next", MLQ_MAX_CURSOR, true, &m->u.job_list.next);
    return rc;
}

static int dec_jobinfos(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    const msgpack_object_array *a;
    int rc = mlq_mpk_read_array(mp, "jobs", 0, MLQ_MAX_LIST, &a);
    if (rc < 0 || a->size == 0)
        return rc;
    m->u.job_list.jobs = calloc(a->size, sizeof *m->u.job_list.jobs);
    if (!m->u.job_list.jobs)
        return mlq_err_set(mp->err, MLQ_ENOMEM, "job_list: out of memory");
    m->u.job_list.njobs = a->size;
    for (uint32_t i = 0; i < a->size && rc == 0; i++) {
        struct mlq_mpk_map jm;
        rc = entry_map(mp, a, i, "jobinfo", &jm);
        if (rc == 0)
            rc = read_jobinfo_text(&jm, &m->u.job_list.jobs[i]);
        if (rc == 0)
            rc = read_jobinfo_nums(&jm, &m->u.job_list.jobs[i]);
        if (rc == 0)
            rc = read_jobinfo_extra(&jm, &m->u.job_list.jobs[i]);
    }
    return rc;
}

static void free_job_list(struct mlq_msg *m)
{
    for (uint32_t i = 0; m->u.job_list.jobs && i < m->u.job_list.njobs; i++)
        mlq_proto_jobinfo_free(&m->u.job_list.jobs[i]);
    free(m->u.job_list.jobs);
    for (uint32_t i = 0; m->u.job_list.arrays && i < m->u.job_list.narrays; i++)
        mlq_proto_arrayinfo_free(&m->u.job_list.arrays[i]);
    free(m->u.job_list.arrays);
    free(m->u.job_list.next);
}

static void enc_cancel(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_strv(pk, "ids", m->u.cancel.ids, m->u.cancel.nids);
}

static int dec_cancel(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    return mlq_mpk_read_strv(mp, "ids", 1, MLQ_MAX_IDS, MLQ_MAX_REF, (size_t)MLQ_MAX_IDS * 64,
                             &m->u.cancel.ids, &m->u.cancel.nids);
}

static void free_cancel(struct mlq_msg *m)
{
    mlq_mpk_strv_free(m->u.cancel.ids, m->u.cancel.nids);
}

static void enc_worker_list(msgpack_packer *pk, const struct mlq_msg *m)
{
    uint32_t n = m->u.worker_list.workers ? m->u.worker_list.nworkers : 0;
    mlq_mpk_kv_array(pk, "workers", n);
    for (uint32_t i = 0; i < n; i++)
        put_workerinfo(pk, &m->u.worker_list.workers[i]);
    mlq_mpk_kv_str(pk, "next", m->u.worker_list.next);
}

static void enc_workers(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_str(pk, "cursor", m->u.workers.cursor);
}

static int dec_workers(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    return mlq_mpk_read_str(mp, "cursor", MLQ_MAX_CURSOR, true, &m->u.workers.cursor);
}

static void free_workers(struct mlq_msg *m)
{
    free(m->u.workers.cursor);
}

static int dec_worker_list(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    const msgpack_object_array *a;
    int rc = mlq_mpk_read_str(mp, "next", MLQ_MAX_CURSOR, true, &m->u.worker_list.next);
    if (rc == 0)
        rc = mlq_mpk_read_array(mp, "workers", 0, MLQ_MAX_WORKERS, &a);
    if (rc < 0 || a->size == 0)
        return rc;
    m->u.worker_list.workers = calloc(a->size, sizeof *m->u.worker_list.workers);
    if (!m->u.worker_list.workers)
        return mlq_err_set(mp->err, MLQ_ENOMEM, "worker_list: out of memory");
    m->u.worker_list.nworkers = a->size;
    for (uint32_t i = 0; i < a->size && rc == 0; i++) {
        struct mlq_mpk_map wm;
        rc = entry_map(mp, a, i, "workerinfo", &wm);
        if (rc == 0)
            rc = read_workerinfo(&wm, &m->u.worker_list.workers[i]);
    }
    return rc;
}

static void free_worker_list(struct mlq_msg *m)
{
    for (uint32_t i = 0; m->u.worker_list.workers && i < m->u.worker_list.nworkers; i++)
        mlq_proto_workerinfo_free(&m->u.worker_list.workers[i]);
    free(m->u.worker_list.workers);
    free(m->u.worker_list.next);
}

static void enc_logs(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_str(pk, "job", m->u.logs.job);
    mlq_mpk_kv_str(pk, "stream", name_of(stream_names, NELEM(stream_names), m->u.logs.stream));
    mlq_mpk_kv_int(pk, "offset", m->u.logs.offset);
    mlq_mpk_kv_uint(pk, "max", m->u.logs.max);
    mlq_protogang_put_logs(pk, m);
}

static int dec_logs(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int stream = 0;
    uint64_t max = 0;
    int rc = mlq_mpk_read_str(mp, "job", MLQ_MAX_REF, false, &m->u.logs.job);
    if (rc == 0 && m->u.logs.job[0] == '\0')
        rc = mlq_err_set(mp->err, MLQ_EPROTO, "logs: key 'job' must not be empty");
    if (rc == 0)
        rc = mlq_mpk_read_enum(mp, "stream", stream_names, NELEM(stream_names), false, &stream);
    if (rc == 0)
        rc = mlq_mpk_read_int(mp, "offset", 0, INT64_MAX, &m->u.logs.offset);
    if (rc == 0)
        rc = mlq_mpk_read_uint(mp, "max", MLQ_MAX_LOG_CHUNK, &max);
    m->u.logs.stream = stream == 1 ? MLQ_STREAM_STDERR : MLQ_STREAM_STDOUT;
    m->u.logs.max = (uint32_t)max;
    if (rc == 0)
        rc = mlq_protogang_read_logs(mp, m);
    return rc;
}

static void free_logs(struct mlq_msg *m)
{
    free(m->u.logs.job);
}

static void enc_log_data(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_bin(pk, "data", m->u.log_data.data, m->u.log_data.len);
    mlq_mpk_kv_int(pk, "offset", m->u.log_data.offset);
    mlq_mpk_kv_int(pk, "size", m->u.log_data.size);
    mlq_mpk_kv_str(pk, "state", mlq_job_state_name(m->u.log_data.state));
    mlq_mpk_kv_bool(pk, "done", m->u.log_data.done);
}

static int dec_log_data(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int st = 0;
    int rc =
        mlq_mpk_read_bin(mp, "data", MLQ_MAX_LOG_CHUNK, &m->u.log_data.data, &m->u.log_data.len);
    if (rc == 0)
        rc = mlq_mpk_read_int(mp, "offset", 0, INT64_MAX, &m->u.log_data.offset);
    if (rc == 0)
        rc = mlq_mpk_read_int(mp, "size", 0, INT64_MAX, &m->u.log_data.size);
    if (rc == 0)
        rc = mlq_mpk_read_enum(mp, "state", state_names, NELEM(state_names), false, &st);
    if (rc == 0)
        rc = mlq_mpk_read_bool(mp, "done", &m->u.log_data.done);
    m->u.log_data.state = st < 0 ? MLQ_JOB_PENDING : (enum mlq_job_state)st;
    return rc;
}

static void free_log_data(struct mlq_msg *m)
{
    free(m->u.log_data.data);
}

static void enc_register(msgpack_packer *pk, const struct mlq_msg *m)
{
    uint32_t n = m->u.reg.attempts ? m->u.reg.nattempts : 0;
    mlq_mpk_kv_str(pk, "name", m->u.reg.name);
    mlq_mpk_kv_int(pk, "cpus_m", m->u.reg.cpus_m);
    mlq_mpk_kv_int(pk, "mem", m->u.reg.mem);
    mlq_mpk_kv_int(pk, "gpus", m->u.reg.gpus);
    mlq_mpk_kv_array(pk, "attempts", n);
    for (uint32_t i = 0; i < n; i++) {
        msgpack_pack_map(pk, 2);
        mlq_mpk_kv_str(pk, "attempt_id", m->u.reg.attempts[i].attempt_id);
        mlq_mpk_kv_bool(pk, "finished", m->u.reg.attempts[i].finished);
    }
    mlq_mpk_kv_bool(pk, "draining", m->u.reg.draining);
    mlq_mpk_kv_str(pk, "pool", m->u.reg.pool);
    mlq_mpk_kv_strv(pk, "labels", m->u.reg.labels, m->u.reg.labels ? m->u.reg.nlabels : 0);
    put_gpu_list(pk, m->u.reg.gpu_list, m->u.reg.ngpu_list);
    mlq_mpk_kv_str(pk, "addr", m->u.reg.addr);
    mlq_protogang_put_register(pk, m);
}

static int dec_held_attempts(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    const msgpack_object_array *a;
    int rc = mlq_mpk_read_array(mp, "attempts", 0, MLQ_MAX_ATTEMPTS_LIST, &a);
    if (rc < 0 || a->size == 0)
        return rc;
    m->u.reg.attempts = calloc(a->size, sizeof *m->u.reg.attempts);
    if (!m->u.reg.attempts)
        return mlq_err_set(mp->err, MLQ_ENOMEM, "register: out of memory");
    m->u.reg.nattempts = a->size;
    for (uint32_t i = 0; i < a->size && rc == 0; i++) {
        struct mlq_mpk_map am;
        rc = entry_map(mp, a, i, "attempts", &am);
        if (rc == 0)
            rc = mlq_mpk_read_id(&am, "attempt_id", m->u.reg.attempts[i].attempt_id);
        if (rc == 0)
            rc = mlq_mpk_read_bool(&am, "finished", &m->u.reg.attempts[i].finished);
    }
    return rc;
}

/* The optional address a worker advertises: a checked IP or host name. */
static int read_addr(const struct mlq_mpk_map *mp, char **addr)
{
    struct mlq_err e = {0};
    int rc = mlq_mpk_read_str(mp, "addr", MLQ_MAX_HOST, true, addr);
    if (rc == 0 && *addr && mlq_hostaddr_check(*addr, &e) < 0)
        rc = mlq_err_set(mp->err, MLQ_EPROTO, "register: key 'addr': %s", e.msg);
    return rc;
}

static int dec_register(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int rc = mlq_mpk_read_str(mp, "name", MLQ_MAX_NAME, false, &m->u.reg.name);
    if (rc == 0 && m->u.reg.name[0] == '\0')
        rc = mlq_err_set(mp->err, MLQ_EPROTO, "register: key 'name' must not be empty");
    if (rc == 0)
        rc = mlq_mpk_read_int(mp, "cpus_m", 0, MLQ_MAX_CPUS_M, &m->u.reg.cpus_m);
    if (rc == 0)
        rc = mlq_mpk_read_int(mp, "mem", 0, MLQ_MAX_MEM, &m->u.reg.mem);
    if (rc == 0)
        rc = mlq_mpk_read_i32(mp, "gpus", 0, MLQ_MAX_GPUS, &m->u.reg.gpus);
    if (rc == 0)
        rc = dec_held_attempts(mp, m);
    if (rc == 0)
        rc = mlq_mpk_opt_bool(mp, "draining", &m->u.reg.draining);
    if (rc == 0)
        rc = read_pool(mp, &m->u.reg.pool);
    if (rc == 0)
        rc = mlq_protospec_read_labels(mp, "labels", &m->u.reg.labels, &m->u.reg.nlabels);
    if (rc == 0)
        rc = read_gpu_list(mp, &m->u.reg.gpu_list, &m->u.reg.ngpu_list);
    /* a list describes every GPU the worker offers, or none of them */
    if (rc == 0 && m->u.reg.ngpu_list > 0 && m->u.reg.ngpu_list != (uint32_t)m->u.reg.gpus)
        rc = mlq_err_set(mp->err, MLQ_EPROTO, "register: key 'gpu_list' has %u entries for %d GPUs",
                         m->u.reg.ngpu_list, (int)m->u.reg.gpus);
    if (rc == 0)
        rc = read_addr(mp, &m->u.reg.addr);
    if (rc == 0)
        rc = mlq_protogang_read_register(mp, m);
    return rc;
}

static void free_gpu_list(struct mlq_gpuinfo *g, uint32_t n)
{
    for (uint32_t i = 0; g && i < n; i++)
        mlq_proto_gpuinfo_free(&g[i]);
    free(g);
}

static void free_register(struct mlq_msg *m)
{
    free(m->u.reg.name);
    free(m->u.reg.attempts);
    free(m->u.reg.pool);
    mlq_mpk_strv_free(m->u.reg.labels, m->u.reg.nlabels);
    free_gpu_list(m->u.reg.gpu_list, m->u.reg.ngpu_list);
    free(m->u.reg.addr);
}

static void enc_heartbeat(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_str(pk, "name", m->u.heartbeat.name);
    mlq_mpk_kv_bool(pk, "draining", m->u.heartbeat.draining);
    mlq_protometrics_put_gpu_load(pk, m);
}

static int dec_heartbeat(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int rc = mlq_mpk_read_str(mp, "name", MLQ_MAX_NAME, false, &m->u.heartbeat.name);
    if (rc == 0)
        rc = mlq_mpk_opt_bool(mp, "draining", &m->u.heartbeat.draining);
    return rc < 0 ? rc : mlq_protometrics_read_gpu_load(mp, m);
}

static void free_heartbeat(struct mlq_msg *m)
{
    free(m->u.heartbeat.name);
    free(m->u.heartbeat.gpu_load);
}

static void enc_goodbye(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_str(pk, "name", m->u.goodbye.name);
    mlq_mpk_kv_bool(pk, "drained", m->u.goodbye.drained);
}

static int dec_goodbye(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int rc = mlq_mpk_read_str(mp, "name", MLQ_MAX_NAME, false, &m->u.goodbye.name);
    if (rc == 0 && m->u.goodbye.name[0] == '\0')
        rc = mlq_err_set(mp->err, MLQ_EPROTO, "goodbye: key 'name' must not be empty");
    return rc < 0 ? rc : mlq_mpk_read_bool(mp, "drained", &m->u.goodbye.drained);
}

static void free_goodbye(struct mlq_msg *m)
{
    free(m->u.goodbye.name);
}

static void enc_report(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_str(pk, "attempt_id", m->u.report.attempt_id);
    mlq_mpk_kv_str(pk, "phase", name_of(phase_names, NELEM(phase_names), m->u.report.phase));
    mlq_mpk_kv_str(pk, "outcome",
                   name_of(outcome_names, NELEM(outcome_names), m->u.report.outcome));
    mlq_mpk_kv_int(pk, "exit_code", m->u.report.exit_code);
    mlq_mpk_kv_int(pk, "signal", m->u.report.signal);
    mlq_mpk_kv_int(pk, "pid", m->u.report.pid);
    mlq_mpk_kv_int(pk, "start_ms", m->u.report.start_ms);
    mlq_mpk_kv_int(pk, "end_ms", m->u.report.end_ms);
    mlq_mpk_kv_str(pk, "detail", m->u.report.detail);
}

static int dec_report(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int phase = 0, outcome = 0;
    int rc = mlq_mpk_read_id(mp, "attempt_id", m->u.report.attempt_id);
    if (rc == 0)
        rc = mlq_mpk_read_enum(mp, "phase", phase_names, NELEM(phase_names), false, &phase);
    if (rc == 0)
        rc = mlq_mpk_read_enum(mp, "outcome", outcome_names, NELEM(outcome_names), false, &outcome);
    if (rc == 0)
        rc = mlq_mpk_read_i32(mp, "exit_code", INT32_MIN, INT32_MAX, &m->u.report.exit_code);
    if (rc == 0)
        rc = mlq_mpk_read_i32(mp, "signal", 0, INT32_MAX, &m->u.report.signal);
    if (rc == 0)
        rc = mlq_mpk_read_int(mp, "pid", INT64_MIN, INT64_MAX, &m->u.report.pid);
    if (rc == 0)
        rc = mlq_mpk_read_int(mp, "start_ms", 0, INT64_MAX, &m->u.report.start_ms);
    if (rc == 0)
        rc = mlq_mpk_read_int(mp, "end_ms", 0, INT64_MAX, &m->u.report.end_ms);
    if (rc == 0)
        rc = mlq_mpk_read_str(mp, "detail", MLQ_MAX_STR, true, &m->u.report.detail);
    m->u.report.phase = phase == 1 ? MLQ_PHASE_FINISHED : MLQ_PHASE_STARTED;
    m->u.report.outcome = outcome < 0 ? MLQ_OUT_NONE : (enum mlq_outcome)outcome;
    return rc;
}

static void free_report(struct mlq_msg *m)
{
    free(m->u.report.detail);
}

static void enc_log_chunk(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_uint(pk, "token", m->u.log_chunk.token);
    mlq_mpk_kv_bin(pk, "data", m->u.log_chunk.data, m->u.log_chunk.len);
    mlq_mpk_kv_int(pk, "size", m->u.log_chunk.size);
    mlq_mpk_kv_int(pk, "err", m->u.log_chunk.err);
}

static int dec_log_chunk(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int rc = mlq_mpk_read_uint(mp, "token", UINT64_MAX, &m->u.log_chunk.token);
    if (rc == 0)
        rc = mlq_mpk_read_bin(mp, "data", MLQ_MAX_LOG_CHUNK, &m->u.log_chunk.data,
                              &m->u.log_chunk.len);
    if (rc == 0)
        rc = mlq_mpk_read_int(mp, "size", 0, INT64_MAX, &m->u.log_chunk.size);
    if (rc == 0)
        rc = mlq_mpk_read_i32(mp, "err", INT32_MIN, 0, &m->u.log_chunk.err);
    return rc;
}

static void free_log_chunk(struct mlq_msg *m)
{
    free(m->u.log_chunk.data);
}

static void enc_registered(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_int(pk, "heartbeat_ms", m->u.registered.heartbeat_ms);
    mlq_mpk_kv_int(pk, "lease_ms", m->u.registered.lease_ms);
}

static int dec_registered(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int rc = mlq_mpk_read_int(mp, "heartbeat_ms", 0, INT64_MAX, &m->u.registered.heartbeat_ms);
    return rc < 0 ? rc : mlq_mpk_read_int(mp, "lease_ms", 0, INT64_MAX, &m->u.registered.lease_ms);
}

static void enc_assign(msgpack_packer *pk, const struct mlq_msg *m)
{
    uint32_t n = m->u.assign.gpu_ids ? m->u.assign.ngpu_ids : 0;
    mlq_mpk_kv_str(pk, "attempt_id", m->u.assign.attempt_id);
    mlq_mpk_kv_str(pk, "job_id", m->u.assign.job_id);
    mlq_mpk_kv_int(pk, "attempt", m->u.assign.attempt);
    mlq_mpk_put_str(pk, "spec");
    mlq_protospec_put(pk, &m->u.assign.spec);
    mlq_mpk_kv_array(pk, "gpu_ids", n);
    for (uint32_t i = 0; i < n; i++)
        msgpack_pack_int64(pk, m->u.assign.gpu_ids[i]);
    mlq_mpk_kv_int(pk, "kill_grace_ms", m->u.assign.kill_grace_ms);
    mlq_protopipe_put_assign(pk, m);
    mlq_protoauth_put_assign(pk, m);
    mlq_protogang_put_assign(pk, m);
}

static int dec_gpu_ids(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    const msgpack_object_array *a;
    int rc = mlq_mpk_read_array(mp, "gpu_ids", 0, MLQ_MAX_GPUS, &a);
    if (rc < 0 || a->size == 0)
        return rc;
    m->u.assign.gpu_ids = calloc(a->size, sizeof *m->u.assign.gpu_ids);
    if (!m->u.assign.gpu_ids)
        return mlq_err_set(mp->err, MLQ_ENOMEM, "assign: out of memory");
    m->u.assign.ngpu_ids = a->size;
    for (uint32_t i = 0; i < a->size; i++) {
        const msgpack_object *o = &a->ptr[i];
        if (o->type != MSGPACK_OBJECT_POSITIVE_INTEGER || o->via.u64 >= MLQ_MAX_GPUS)
            return mlq_err_set(mp->err, MLQ_EPROTO,
                               "assign: key 'gpu_ids' entries must be integers below %d",
                               MLQ_MAX_GPUS);
        m->u.assign.gpu_ids[i] = (int32_t)o->via.u64;
    }
    return 0;
}

static int dec_assign(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int rc = mlq_mpk_read_id(mp, "attempt_id", m->u.assign.attempt_id);
    if (rc == 0)
        rc = mlq_mpk_read_id(mp, "job_id", m->u.assign.job_id);
    if (rc == 0)
        rc = mlq_mpk_read_i32(mp, "attempt", 1, INT32_MAX, &m->u.assign.attempt);
    if (rc == 0)
        rc = read_jobspec_at(mp, "spec", &m->u.assign.spec);
    if (rc == 0)
        rc = dec_gpu_ids(mp, m);
    if (rc == 0)
        rc = mlq_mpk_read_int(mp, "kill_grace_ms", 0, INT64_MAX, &m->u.assign.kill_grace_ms);
    if (rc == 0)
        rc = mlq_protopipe_read_assign(mp, m);
    if (rc == 0)
        rc = mlq_protoauth_read_assign(mp, m);
    if (rc == 0)
        rc = mlq_protogang_read_assign(mp, m);
    return rc;
}

static void free_assign(struct mlq_msg *m)
{
    mlq_proto_jobspec_free(&m->u.assign.spec);
    free(m->u.assign.gpu_ids);
    mlq_proto_ganginfo_free(&m->u.assign.gang);
}

static void enc_kill(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_str(pk, "attempt_id", m->u.kill.attempt_id);
    mlq_mpk_kv_str(pk, "reason", m->u.kill.reason);
}

static int dec_kill(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int rc = mlq_mpk_read_id(mp, "attempt_id", m->u.kill.attempt_id);
    return rc < 0 ? rc : mlq_mpk_read_str(mp, "reason", MLQ_MAX_STR, true, &m->u.kill.reason);
}

static void free_kill(struct mlq_msg *m)
{
    free(m->u.kill.reason);
}

static void enc_report_ack(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_str(pk, "attempt_id", m->u.report_ack.attempt_id);
    mlq_mpk_kv_str(pk, "phase", name_of(phase_names, NELEM(phase_names), m->u.report_ack.phase));
    mlq_mpk_kv_bool(pk, "accepted", m->u.report_ack.accepted);
}

static int dec_report_ack(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int phase = 0;
    int rc = mlq_mpk_read_id(mp, "attempt_id", m->u.report_ack.attempt_id);
    if (rc == 0)
        rc = mlq_mpk_read_enum(mp, "phase", phase_names, NELEM(phase_names), false, &phase);
    if (rc == 0)
        rc = mlq_mpk_read_bool(mp, "accepted", &m->u.report_ack.accepted);
    m->u.report_ack.phase = phase == 1 ? MLQ_PHASE_FINISHED : MLQ_PHASE_STARTED;
    return rc;
}

static void enc_log_read(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_uint(pk, "token", m->u.log_read.token);
    mlq_mpk_kv_str(pk, "attempt_id", m->u.log_read.attempt_id);
    mlq_mpk_kv_str(pk, "stream", name_of(stream_names, NELEM(stream_names), m->u.log_read.stream));
    mlq_mpk_kv_int(pk, "offset", m->u.log_read.offset);
    mlq_mpk_kv_uint(pk, "max", m->u.log_read.max);
}

static int dec_log_read(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int stream = 0;
    uint64_t max = 0;
    int rc = mlq_mpk_read_uint(mp, "token", UINT64_MAX, &m->u.log_read.token);
    if (rc == 0)
        rc = mlq_mpk_read_id(mp, "attempt_id", m->u.log_read.attempt_id);
    if (rc == 0)
        rc = mlq_mpk_read_enum(mp, "stream", stream_names, NELEM(stream_names), false, &stream);
    if (rc == 0)
        rc = mlq_mpk_read_int(mp, "offset", 0, INT64_MAX, &m->u.log_read.offset);
    if (rc == 0)
        rc = mlq_mpk_read_uint(mp, "max", MLQ_MAX_LOG_CHUNK, &max);
    m->u.log_read.stream = stream == 1 ? MLQ_STREAM_STDERR : MLQ_STREAM_STDOUT;
    m->u.log_read.max = (uint32_t)max;
    return rc;
}

static void enc_log_upload(msgpack_packer *pk, const struct mlq_msg *m)
{
    const char *st = name_of(stream_names, NELEM(stream_names), m->u.log_upload.stream);
    mlq_mpk_kv_str(pk, "attempt_id", m->u.log_upload.attempt_id);
    mlq_mpk_kv_str(pk, "stream", st);
    mlq_mpk_kv_int(pk, "offset", m->u.log_upload.offset);
    mlq_mpk_kv_bin(pk, "data", m->u.log_upload.data, m->u.log_upload.len);
    mlq_mpk_kv_int(pk, "skipped", m->u.log_upload.skipped);
    mlq_mpk_kv_bool(pk, "eof", m->u.log_upload.eof);
}

static int dec_log_upload(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int stream = 0;
    int rc = mlq_mpk_read_id(mp, "attempt_id", m->u.log_upload.attempt_id);
    if (rc == 0)
        rc = mlq_mpk_read_enum(mp, "stream", stream_names, NELEM(stream_names), false, &stream);
    if (rc == 0)
        rc = mlq_mpk_read_int(mp, "offset", 0, INT64_MAX, &m->u.log_upload.offset);
    if (rc == 0)
        rc = mlq_mpk_read_bin(mp, "data", MLQ_MAX_LOG_CHUNK, &m->u.log_upload.data,
                              &m->u.log_upload.len);
    if (rc == 0)
        rc = mlq_mpk_read_int(mp, "skipped", 0, INT64_MAX, &m->u.log_upload.skipped);
    if (rc == 0)
        rc = mlq_mpk_read_bool(mp, "eof", &m->u.log_upload.eof);
    m->u.log_upload.stream = stream == 1 ? MLQ_STREAM_STDERR : MLQ_STREAM_STDOUT;
    return rc;
}

static void free_log_upload(struct mlq_msg *m)
{
    free(m->u.log_upload.data);
}

static void enc_log_upload_ack(msgpack_packer *pk, const struct mlq_msg *m)
{
    const char *st = name_of(stream_names, NELEM(stream_names), m->u.log_upload_ack.stream);
    mlq_mpk_kv_str(pk, "attempt_id", m->u.log_upload_ack.attempt_id);
    mlq_mpk_kv_str(pk, "stream", st);
    mlq_mpk_kv_int(pk, "offset", m->u.log_upload_ack.offset);
    mlq_mpk_kv_int(pk, "err", m->u.log_upload_ack.err);
}

static int dec_log_upload_ack(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int stream = 0;
    int rc = mlq_mpk_read_id(mp, "attempt_id", m->u.log_upload_ack.attempt_id);
    if (rc == 0)
        rc = mlq_mpk_read_enum(mp, "stream", stream_names, NELEM(stream_names), false, &stream);
    if (rc == 0)
        rc = mlq_mpk_read_int(mp, "offset", 0, INT64_MAX, &m->u.log_upload_ack.offset);
    if (rc == 0)
        rc = mlq_mpk_read_i32(mp, "err", INT32_MIN, 0, &m->u.log_upload_ack.err);
    m->u.log_upload_ack.stream = stream == 1 ? MLQ_STREAM_STDERR : MLQ_STREAM_STDOUT;
    return rc;
}

static void enc_drain(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_str(pk, "worker", m->u.drain.worker);
    mlq_mpk_kv_str(pk, "reason", m->u.drain.reason);
}

static void enc_resume(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_str(pk, "worker", m->u.drain.worker);
}

static int read_worker_name(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int rc = mlq_mpk_read_str(mp, "worker", MLQ_MAX_NAME, false, &m->u.drain.worker);
    if (rc == 0 && m->u.drain.worker[0] == '\0')
        rc = mlq_err_set(mp->err, MLQ_EPROTO, "%s: key 'worker' must not be empty", mp->where);
    return rc;
}

/* The reason is shown to admins in `mlq workers`: no control characters
 * that could rewrite their terminal. */
static int dec_drain(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int rc = read_worker_name(mp, m);
    if (rc == 0)
        rc = mlq_mpk_read_str(mp, "reason", MLQ_MAX_REASON, true, &m->u.drain.reason);
    for (const char *p = m->u.drain.reason; rc == 0 && p && *p; p++)
        if ((unsigned char)*p < ' ' || *p == 0x7f)
            rc = mlq_err_set(mp->err, MLQ_EPROTO, "drain: key 'reason' holds control characters");
    return rc;
}

static int dec_resume(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    return read_worker_name(mp, m);
}

static void free_drain(struct mlq_msg *m)
{
    free(m->u.drain.worker);
    free(m->u.drain.reason);
}

static void enc_why(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_str(pk, "job", m->u.why.job);
}

static int dec_why(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int rc = mlq_mpk_read_str(mp, "job", MLQ_MAX_REF, false, &m->u.why.job);
    if (rc == 0 && m->u.why.job[0] == '\0')
        rc = mlq_err_set(mp->err, MLQ_EPROTO, "why: key 'job' must not be empty");
    return rc;
}

static void free_why(struct mlq_msg *m)
{
    free(m->u.why.job);
}

static void enc_why_reply(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_str(pk, "job_id", m->u.why_reply.job_id);
    mlq_mpk_kv_str(pk, "state", mlq_job_state_name(m->u.why_reply.state));
    mlq_mpk_kv_str(pk, "blocker", m->u.why_reply.blocker);
    mlq_mpk_kv_str(pk, "text", m->u.why_reply.text);
    mlq_mpk_kv_str(pk, "closest_worker", m->u.why_reply.closest_worker);
    mlq_mpk_kv_str(pk, "lacks", m->u.why_reply.lacks);
    mlq_mpk_kv_uint(pk, "ahead", m->u.why_reply.ahead);
}

/* blocker is a string, not an enum, so that a newer scheduler may name a
 * reason this client does not know yet. */
static int dec_why_reply(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int st = 0;
    uint64_t ahead = 0;
    int rc = mlq_mpk_read_id(mp, "job_id", m->u.why_reply.job_id);
    if (rc == 0)
        rc = mlq_mpk_read_enum(mp, "state", state_names, NELEM(state_names), false, &st);
    m->u.why_reply.state = st < 0 ? MLQ_JOB_PENDING : (enum mlq_job_state)st;
    if (rc == 0)
        rc = mlq_mpk_read_str(mp, "blocker", MLQ_MAX_NAME, false, &m->u.why_reply.blocker);
    if (rc == 0)
        rc = mlq_mpk_read_str(mp, "text", MLQ_MAX_STR, false, &m->u.why_reply.text);
    if (rc == 0)
        rc = mlq_mpk_read_str(mp, "closest_worker", MLQ_MAX_NAME, true,
                              &m->u.why_reply.closest_worker);
    if (rc == 0)
        rc = mlq_mpk_read_str(mp, "lacks", MLQ_MAX_STR, true, &m->u.why_reply.lacks);
    if (rc == 0)
        rc = mlq_mpk_read_uint(mp, "ahead", UINT32_MAX, &ahead);
    m->u.why_reply.ahead = (uint32_t)ahead;
    return rc;
}

static void free_why_reply(struct mlq_msg *m)
{
    free(m->u.why_reply.blocker);
    free(m->u.why_reply.text);
    free(m->u.why_reply.closest_worker);
    free(m->u.why_reply.lacks);
}

/* ---- dispatch table ----------------------------------------------------- */

typedef void (*enc_fn)(msgpack_packer *pk, const struct mlq_msg *m);
typedef int (*dec_fn)(const struct mlq_mpk_map *mp, struct mlq_msg *m);
typedef void (*free_fn)(struct mlq_msg *m);

struct msg_kind {
    const char *name;
    uint32_t nkeys; /* fields enc writes besides v, t and rid */
    enc_fn enc;     /* NULL: no fields */
    dec_fn dec;
    free_fn free; /* NULL: the decoder allocates nothing */
};

static const struct msg_kind kinds[MLQ_MSG_TYPE_COUNT] = {
    [MLQ_MSG_ERROR] = {"error", 2, enc_error, dec_error, free_error},
    [MLQ_MSG_OK] = {"ok", 0, NULL, NULL, NULL},
    [MLQ_MSG_SUBMIT] = {"submit", 1, enc_submit, dec_submit, free_submit},
    [MLQ_MSG_SUBMITTED] = {"submitted", 1, enc_submitted, dec_submitted, NULL},
    [MLQ_MSG_JOBS] = {"jobs", 4, enc_jobs, dec_jobs, free_jobs},
    [MLQ_MSG_JOB_LIST] = {"job_list", 3, enc_job_list, dec_job_list, free_job_list},
    [MLQ_MSG_CANCEL] = {"cancel", 1, enc_cancel, dec_cancel, free_cancel},
    [MLQ_MSG_WORKERS] = {"workers", 1, enc_workers, dec_workers, free_workers},
    [MLQ_MSG_WORKER_LIST] = {"worker_list", 2, enc_worker_list, dec_worker_list, free_worker_list},
    [MLQ_MSG_LOGS] = {"logs", 4 + MLQ_PROTOGANG_LOGS_KEYS, enc_logs, dec_logs, free_logs},
    [MLQ_MSG_LOG_DATA] = {"log_data", 5, enc_log_data, dec_log_data, free_log_data},
    [MLQ_MSG_DRAIN] = {"drain", 2, enc_drain, dec_drain, free_drain},
    [MLQ_MSG_RESUME] = {"resume", 1, enc_resume, dec_resume, free_drain},
    [MLQ_MSG_WHY] = {"why", 1, enc_why, dec_why, free_why},
    [MLQ_MSG_WHY_REPLY] = {"why_reply", 7, enc_why_reply, dec_why_reply, free_why_reply},
    [MLQ_MSG_SCHEDULE_ADD] = {"schedule_add", 1, mlq_protopipe_enc_schedule_add,
                              mlq_protopipe_dec_schedule_add, mlq_protopipe_free_schedule_add},
    [MLQ_MSG_SCHEDULE_CMD] = {"schedule_cmd", 2, mlq_protopipe_enc_schedule_cmd,
                              mlq_protopipe_dec_schedule_cmd, mlq_protopipe_free_schedule_cmd},
    [MLQ_MSG_SCHEDULES] = {"schedules", 2, mlq_protopipe_enc_schedules, mlq_protopipe_dec_schedules,
                           mlq_protopipe_free_schedules},
    [MLQ_MSG_SCHEDULE_LIST] = {"schedule_list", 2, mlq_protopipe_enc_schedule_list,
                               mlq_protopipe_dec_schedule_list, mlq_protopipe_free_schedule_list},
    [MLQ_MSG_USER_ADD] = {"user_add", 3, mlq_protoauth_enc_user_add, mlq_protoauth_dec_user_add,
                          NULL},
    [MLQ_MSG_USER_RM] = {"user_rm", 2, mlq_protoauth_enc_user_rm, mlq_protoauth_dec_user_rm, NULL},
    [MLQ_MSG_USERS] = {"users", 0, NULL, NULL, NULL},
    [MLQ_MSG_USER_LIST] = {"user_list", 1, mlq_protoauth_enc_user_list, mlq_protoauth_dec_user_list,
                           mlq_protoauth_free_user_list},
    [MLQ_MSG_EVENTS] = {"events", 3, mlq_protoauth_enc_events, mlq_protoauth_dec_events,
                        mlq_protoauth_free_events},
    [MLQ_MSG_EVENT_LIST] = {"event_list", 1, mlq_protoauth_enc_event_list,
                            mlq_protoauth_dec_event_list, mlq_protoauth_free_event_list},
    [MLQ_MSG_METRICS] = {"metrics", 0, NULL, NULL, NULL},
    [MLQ_MSG_METRICS_TEXT] = {"metrics_text", 1, mlq_protometrics_enc_text,
                              mlq_protometrics_dec_text, mlq_protometrics_free_text},
    [MLQ_MSG_TOKEN_CREATE] = {"token_create", 4, mlq_prototoken_enc_create,
                              mlq_prototoken_dec_create, NULL},
    [MLQ_MSG_TOKEN_RM] = {"token_rm", 1, mlq_prototoken_enc_rm, mlq_prototoken_dec_rm, NULL},
    [MLQ_MSG_TOKENS] = {"tokens", 0, NULL, NULL, NULL},
    [MLQ_MSG_TOKEN_LIST] = {"token_list", 1, mlq_prototoken_enc_list, mlq_prototoken_dec_list,
                            mlq_prototoken_free_list},
    [MLQ_MSG_USAGE] = {"usage", 0, NULL, NULL, NULL},
    [MLQ_MSG_USAGE_LIST] = {"usage_list", 1, mlq_prototoken_enc_usage, mlq_prototoken_dec_usage,
                            mlq_prototoken_free_usage},
    [MLQ_MSG_REGISTER] = {"register", 10 + MLQ_PROTOGANG_REGISTER_KEYS, enc_register, dec_register,
                          free_register},
    [MLQ_MSG_HEARTBEAT] = {"heartbeat", 3, enc_heartbeat, dec_heartbeat, free_heartbeat},
    [MLQ_MSG_REPORT] = {"report", 9, enc_report, dec_report, free_report},
    [MLQ_MSG_LOG_CHUNK] = {"log_chunk", 4, enc_log_chunk, dec_log_chunk, free_log_chunk},
    [MLQ_MSG_LOG_UPLOAD] = {"log_upload", 6, enc_log_upload, dec_log_upload, free_log_upload},
    [MLQ_MSG_REGISTERED] = {"registered", 2, enc_registered, dec_registered, NULL},
    [MLQ_MSG_HB_ACK] = {"hb_ack", 0, NULL, NULL, NULL},
    [MLQ_MSG_ASSIGN] = {"assign",
                        6 + MLQ_PROTOPIPE_ASSIGN_KEYS + MLQ_PROTOAUTH_ASSIGN_KEYS +
                            MLQ_PROTOGANG_ASSIGN_KEYS,
                        enc_assign, dec_assign, free_assign},
    [MLQ_MSG_KILL] = {"kill", 2, enc_kill, dec_kill, free_kill},
    [MLQ_MSG_REPORT_ACK] = {"report_ack", 3, enc_report_ack, dec_report_ack, NULL},
    [MLQ_MSG_LOG_READ] = {"log_read", 5, enc_log_read, dec_log_read, NULL},
    [MLQ_MSG_LOG_UPLOAD_ACK] = {"log_upload_ack", 4, enc_log_upload_ack, dec_log_upload_ack, NULL},
    [MLQ_MSG_GOODBYE] = {"goodbye", 2, enc_goodbye, dec_goodbye, free_goodbye},
};

/* The table row of t, or NULL when t is out of range or has no row (a type
 * added to the enum but not yet here must fail cleanly, not crash). */
static const struct msg_kind *kind_of(int t)
{
    if (t < 0 || t >= MLQ_MSG_TYPE_COUNT || !kinds[t].name)
        return NULL;
    return &kinds[t];
}

const char *mlq_proto_type_name(enum mlq_msg_type t)
{
    const struct msg_kind *k = kind_of((int)t);
    return k ? k->name : "?";
}

/* ---- top level ---------------------------------------------------------- */

int mlq_proto_encode(const struct mlq_msg *msg, char **out, size_t *out_len, struct mlq_err *err)
{
    *out = NULL;
    *out_len = 0;
    const struct msg_kind *k = msg ? kind_of((int)msg->type) : NULL;
    if (!k)
        return mlq_err_set(err, MLQ_EINVAL, "cannot encode message type %d",
                           msg ? (int)msg->type : -1);
    struct mlq_mpk_out o;
    mlq_mpk_out_init(&o, MLQ_MAX_MSG);
    msgpack_pack_map(&o.pk, 3 + k->nkeys);
    mlq_mpk_kv_uint(&o.pk, "v", MLQ_PROTO_VERSION);
    mlq_mpk_kv_str(&o.pk, "t", k->name);
    mlq_mpk_kv_uint(&o.pk, "rid", msg->rid);
    if (k->enc)
        k->enc(&o.pk, msg);
    return mlq_mpk_out_finish(&o, out, out_len, err);
}

/* Validates the raw bytes, then unpacks them into up (destroyed again on
 * failure). */
static int unpack_checked(const void *buf, size_t len, msgpack_unpacked *up, struct mlq_err *err)
{
    msgpack_unpacked_init(up);
    if (!buf || len == 0)
        return mlq_err_set(err, MLQ_EPROTO, "empty message");
    if (len > MLQ_MAX_MSG)
        return mlq_err_set(err, MLQ_EPROTO, "message of %zu bytes exceeds %d", len, MLQ_MAX_MSG);
    int rc = mlq_mpk_validate(buf, len, MLQ_MAX_DEPTH, err);
    if (rc < 0)
        return rc;
    size_t off = 0;
    msgpack_unpack_return r = msgpack_unpack_next(up, buf, len, &off);
    if (r == MSGPACK_UNPACK_SUCCESS && off == len)
        return 0;
    msgpack_unpacked_destroy(up);
    msgpack_unpacked_init(up);
    if (r == MSGPACK_UNPACK_NOMEM_ERROR)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory decoding a message");
    return mlq_err_set(err, MLQ_EPROTO, "malformed msgpack");
}

static int find_kind(const struct mlq_mpk_map *m, int *type)
{
    const msgpack_object *t = mlq_mpk_get(m, "t");
    if (!t)
        return mlq_err_set(m->err, MLQ_EPROTO, "message: missing key 't'");
    if (t->type != MSGPACK_OBJECT_STR)
        return mlq_err_set(m->err, MLQ_EPROTO, "message: key 't' must be a string");
    for (int i = 0; i < MLQ_MSG_TYPE_COUNT; i++) {
        if (kind_of(i) && t->via.str.size == strlen(kinds[i].name) &&
            memcmp(t->via.str.ptr, kinds[i].name, t->via.str.size) == 0) {
            *type = i;
            return 0;
        }
    }
    return mlq_err_set(m->err, MLQ_EPROTO, "message: unknown message type");
}

static int decode_top(const msgpack_object *obj, struct mlq_msg *msg, struct mlq_err *err)
{
    struct mlq_mpk_map m;
    int64_t v = 0;
    int type = 0;
    int rc = mlq_mpk_map_init(&m, obj, "message", err);
    if (rc == 0)
        rc = mlq_mpk_read_int(&m, "v", INT64_MIN, INT64_MAX, &v);
    if (rc == 0 && v != MLQ_PROTO_VERSION)
        rc = mlq_err_set(err, MLQ_EPROTO, "unsupported protocol version %lld", (long long)v);
    if (rc == 0)
        rc = find_kind(&m, &type);
    if (rc == 0)
        rc = mlq_mpk_read_uint(&m, "rid", UINT64_MAX, &msg->rid);
    if (rc < 0)
        return rc;
    msg->type = (enum mlq_msg_type)type;
    m.where = kinds[type].name;
    return kinds[type].dec ? kinds[type].dec(&m, msg) : 0;
}

int mlq_proto_decode(const void *buf, size_t len, struct mlq_msg *msg, struct mlq_err *err)
{
    msgpack_unpacked up;
    memset(msg, 0, sizeof *msg);
    int rc = unpack_checked(buf, len, &up, err);
    if (rc < 0)
        return rc;
    rc = decode_top(&up.data, msg, err);
    msgpack_unpacked_destroy(&up);
    if (rc < 0)
        mlq_proto_msg_free(msg);
    return rc;
}

void mlq_proto_msg_free(struct mlq_msg *msg)
{
    if (!msg)
        return;
    const struct msg_kind *k = kind_of((int)msg->type);
    if (k && k->free)
        k->free(msg);
    memset(msg, 0, sizeof *msg);
}

/* ---- jobspec helpers ---------------------------------------------------- */

void mlq_proto_jobinfo_free(struct mlq_jobinfo *info)
{
    if (!info)
        return;
    free(info->name);
    free(info->owner);
    free(info->reason);
    mlq_mpk_strv_free(info->argv, info->argc);
    free(info->workdir);
    free(info->attempt_id);
    free(info->worker);
    free(info->gpu_ids);
    for (uint32_t i = 0; info->attempts && i < info->nattempts; i++) {
        free(info->attempts[i].worker);
        free(info->attempts[i].gpu_ids);
        free(info->attempts[i].detail);
    }
    free(info->attempts);
    free(info->array_id);
    free(info->deps);
    free(info->pool);
    mlq_protogang_free_jobinfo(info);
    memset(info, 0, sizeof *info);
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
    free_gpu_list(w->gpu_list, w->ngpu_list);
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

int mlq_proto_jobspec_pack(const struct mlq_jobspec *spec, char **out, size_t *out_len,
                           struct mlq_err *err)
{
    struct mlq_mpk_out o;
    mlq_mpk_out_init(&o, MLQ_MAX_MSG);
    mlq_protospec_put(&o.pk, spec);
    return mlq_mpk_out_finish(&o, out, out_len, err);
}

int mlq_proto_jobspec_unpack(const void *buf, size_t len, struct mlq_jobspec *spec,
                             struct mlq_err *err)
{
    msgpack_unpacked up;
    struct mlq_mpk_map m;
    memset(spec, 0, sizeof *spec);
    int rc = unpack_checked(buf, len, &up, err);
    if (rc < 0)
        return rc;
    rc = mlq_mpk_map_init(&m, &up.data, "spec", err);
    if (rc == 0)
        rc = mlq_protospec_read(&m, spec);
    msgpack_unpacked_destroy(&up);
    if (rc < 0)
        mlq_proto_jobspec_free(spec);
    return rc;
}
