/* protojobinfo: see protojobinfo.h and docs/protocol.md (normative). */
#include "protojobinfo.h"

#include <stdlib.h>
#include <string.h>

#include "protofield.h"
#include "protogang.h"
#include "protopipe.h"
#include "protousage.h"

#define JOBINFO_KEYS     (33 + MLQ_PROTOPIPE_JOBINFO_KEYS) /* plus "attempts" when there are any */
#define ATTEMPTINFO_KEYS 11

/* Same spelling as mlq_attempt_state_name(); test_proto checks they agree. */
static const char *const att_state_names[MLQ_ATT_STATE_COUNT] = {
    "ASSIGNED", "RUNNING", "SUCCEEDED", "FAILED", "CANCELLED", "TIMED_OUT", "LOST", "PREEMPTED",
};

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
    mlq_protousage_put(pk, &a->usage);
}

void mlq_protojobinfo_put(msgpack_packer *pk, const struct mlq_jobinfo *j)
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
    mlq_mpk_kv_str(pk, "gpu_type", j->gpu_type);
    mlq_mpk_kv_int(pk, "gpu_frac", j->gpu_frac);
    mlq_mpk_kv_int(pk, "gpu_mem", j->gpu_mem);
    mlq_mpk_kv_strv(pk, "require", j->require, j->require ? j->nrequire : 0);
    mlq_mpk_kv_int(pk, "priority", j->priority);
    mlq_mpk_kv_str(pk, "held_by", j->held_by);
    mlq_mpk_kv_int(pk, "held_ms", j->held_ms);
    mlq_mpk_kv_str(pk, "team", j->team);
    mlq_mpk_kv_str(pk, "project", j->project);
    mlq_protopipe_put_jobinfo(pk, j);
    mlq_protogang_put_jobinfo(pk, j);
    if (na == 0)
        return;
    mlq_mpk_kv_array(pk, "attempts", na);
    for (uint32_t i = 0; i < na; i++)
        put_attemptinfo(pk, &j->attempts[i]);
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
        rc = mlq_mpk_read_enum(m, "state", mlq_protofield_job_states, MLQ_JOB_STATE_COUNT, false,
                               &state);
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
        rc = mlq_mpk_read_enum(m, "state", att_state_names, MLQ_ATT_STATE_COUNT, false, &state);
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
    if (rc == 0)
        rc = mlq_protousage_read(m, &a->usage);
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

/* The GPU request (type alternatives, share), required labels and priority
 * (all optional). */
static int read_jobinfo_placement(const struct mlq_mpk_map *m, struct mlq_jobinfo *j)
{
    struct mlq_err e;
    int rc = mlq_mpk_read_str(m, "gpu_type", MLQ_MAX_GPU_TYPES, true, &j->gpu_type);
    if (rc == 0 && j->gpu_type && mlq_proto_gpu_types_check(j->gpu_type, &e) < 0)
        rc = mlq_err_set(m->err, MLQ_EPROTO, "%s: key 'gpu_type': %s", m->where, e.msg);
    if (rc == 0)
        rc = mlq_mpk_opt_i32(m, "gpu_frac", 0, MLQ_GPU_SHARE_MAX, &j->gpu_frac);
    if (rc == 0)
        rc = mlq_mpk_opt_int(m, "gpu_mem", 0, MLQ_MAX_MEM, &j->gpu_mem);
    if (rc == 0 && !mlq_mpk_absent(m, "require"))
        rc = mlq_mpk_read_strv(m, "require", 0, MLQ_MAX_LABELS, MLQ_MAX_LABEL_LEN,
                               (size_t)MLQ_MAX_LABELS * MLQ_MAX_LABEL_LEN, &j->require,
                               &j->nrequire);
    if (rc == 0)
        rc = mlq_mpk_opt_i32(m, "priority", -MLQ_MAX_PRIORITY, MLQ_MAX_PRIORITY, &j->priority);
    return rc;
}

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
        rc = mlq_protofield_read_pool(m, &j->pool);
    if (rc == 0)
        rc = read_jobinfo_placement(m, j);
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "team", MLQ_MAX_NAME, true, &j->team);
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "project", MLQ_MAX_PROJECT, true, &j->project);
    if (rc == 0)
        rc = mlq_protogang_read_jobinfo(m, j);
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "held_by", MLQ_MAX_NAME, true, &j->held_by);
    if (rc == 0)
        rc = mlq_mpk_opt_int(m, "held_ms", 0, INT64_MAX, &j->held_ms);
    return rc;
}

int mlq_protojobinfo_read(const struct mlq_mpk_map *m, struct mlq_jobinfo *j)
{
    int rc = read_jobinfo_text(m, j);
    if (rc == 0)
        rc = read_jobinfo_nums(m, j);
    if (rc == 0)
        rc = read_jobinfo_extra(m, j);
    return rc;
}

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
    free(info->held_by);
    for (uint32_t i = 0; info->attempts && i < info->nattempts; i++) {
        free(info->attempts[i].worker);
        free(info->attempts[i].gpu_ids);
        free(info->attempts[i].detail);
    }
    free(info->attempts);
    free(info->array_id);
    free(info->deps);
    free(info->pool);
    free(info->gpu_type);
    mlq_mpk_strv_free(info->require, info->nrequire);
    free(info->team);
    free(info->project);
    mlq_protogang_free_jobinfo(info);
    memset(info, 0, sizeof *info);
}
