/* jsonview: see jsonview.h. */
#include "jsonview.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "protousage.h"
#include "res.h"

char *mlq_jsonview_time_iso(int64_t ms, char *buf, size_t len)
{
    buf[0] = '\0';
    if (ms <= 0)
        return buf;
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    if (!gmtime_r(&secs, &tm))
        return buf;
    char base[32];
    if (strftime(base, sizeof(base), "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        return buf;
    snprintf(buf, len, "%s.%03dZ", base, (int)(ms % 1000));
    return buf;
}

static bool att_failed(enum mlq_attempt_state s)
{
    return s == MLQ_ATT_FAILED || s == MLQ_ATT_TIMED_OUT;
}

int mlq_jsonview_retries_used(const struct mlq_jobinfo *j)
{
    int failed = 0;
    for (uint32_t i = 0; j->attempts && i < j->nattempts; i++)
        failed += att_failed(j->attempts[i].state);
    /* the failure that ended the job for good started no retry */
    bool ended_by_failure = (j->state == MLQ_JOB_FAILED || j->state == MLQ_JOB_TIMED_OUT) &&
                            j->nattempts > 0 && att_failed(j->attempts[j->nattempts - 1].state);
    if (ended_by_failure)
        failed--;
    if (failed > j->retries)
        failed = j->retries;
    return failed > 0 ? failed : 0;
}

/* A JSON string even for bytes that are not UTF-8 (jansson refuses those):
 * such bytes become '?'. */
static json_t *safe_string(const char *s)
{
    json_t *v = json_string(s);
    if (v)
        return v;
    char *copy = strdup(s);
    if (!copy)
        return NULL;
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p >= 0x80)
            *p = '?';
    v = json_string(copy);
    free(copy);
    return v;
}

static json_t *str_or_null(const char *s)
{
    return s ? safe_string(s) : json_null();
}

static json_t *time_or_null(int64_t ms)
{
    char buf[40];
    return ms > 0 ? json_string(mlq_jsonview_time_iso(ms, buf, sizeof(buf))) : json_null();
}

/* "0,1" -> [0, 1]; entries that are not small non-negative numbers are
 * skipped rather than trusted. */
static json_t *gpu_ids_json(const char *s)
{
    json_t *arr = json_array();
    if (!arr || !s)
        return arr;
    const char *p = s;
    while (*p) {
        char *end;
        long v = strtol(p, &end, 10);
        if (end != p && v >= 0 && v < 4096)
            json_array_append_new(arr, json_integer(v));
        p = end != p ? end : p + 1;
        while (*p == ',' || *p == ' ')
            p++;
    }
    return arr;
}

static json_t *argv_json(char *const *argv, uint32_t argc)
{
    json_t *arr = json_array();
    for (uint32_t i = 0; arr && i < argc; i++)
        json_array_append_new(arr, safe_string(argv[i] ? argv[i] : ""));
    return arr;
}

static json_t *job_json_base(const struct mlq_jobinfo *j)
{
    /* json_pack steals the "o" references, also on failure. */
    return json_pack("{s:o, s:o, s:o, s:s, s:o, s:o, s:o, s:f, s:I, s:i, s:o, s:o, s:o, "
                     "s:i, s:o, s:o, s:o, s:o, s:o}",
                     "id", safe_string(j->id), "name", str_or_null(j->name), "owner",
                     str_or_null(j->owner), "state", mlq_job_state_name(j->state), "reason",
                     str_or_null(j->reason), "argv", argv_json(j->argv, j->argc), "workdir",
                     str_or_null(j->workdir), "cpus", (double)j->cpus_m / 1000.0, "mem",
                     (json_int_t)j->mem, "gpus", (int)j->gpus, "submit_time",
                     time_or_null(j->submit_ms), "start_time", time_or_null(j->start_ms),
                     "end_time", time_or_null(j->end_ms), "attempt", (int)j->attempt, "attempt_id",
                     str_or_null(j->attempt_id), "worker", str_or_null(j->worker), "gpu_ids",
                     gpu_ids_json(j->gpu_ids), "exit_code",
                     j->exit_code >= 0 ? json_integer(j->exit_code) : json_null(), "signal",
                     j->signal > 0 ? json_integer(j->signal) : json_null());
}

/* Seconds as an integer when whole ("7200"), else a real; null for 0. */
static json_t *seconds_or_null(int64_t ms)
{
    if (ms <= 0)
        return json_null();
    return ms % 1000 == 0 ? json_integer(ms / 1000) : json_real((double)ms / 1000.0);
}

#define START_FAILED_PREFIX "could not start"

const char *mlq_jsonview_outcome(const struct mlq_jobinfo *j)
{
    switch (j->state) {
    case MLQ_JOB_SUCCEEDED:
        return "exited";
    case MLQ_JOB_TIMED_OUT:
        return "timed_out";
    case MLQ_JOB_CANCELLED:
        return "cancelled";
    case MLQ_JOB_FAILED:
        break;
    default:
        return NULL;
    }
    if (j->exit_code >= 0)
        return "exited";
    if (j->signal > 0)
        return "signaled";
    /* The scheduler words every start failure so (jobops.c). */
    if (j->reason && strncmp(j->reason, START_FAILED_PREFIX, strlen(START_FAILED_PREFIX)) == 0)
        return "start_failed";
    return "lost";
}

/* The retry and failure fields every job object carries. */
static int add_retry_fields(json_t *o, const struct mlq_jobinfo *j)
{
    int rc = json_object_set_new(o, "retries", json_integer(j->retries));
    rc |= json_object_set_new(o, "outcome", str_or_null(mlq_jsonview_outcome(j)));
    rc |= json_object_set_new(o, "held_by", str_or_null(j->held_by));
    rc |= json_object_set_new(o, "held_at", time_or_null(j->held_by ? j->held_ms : 0));
    rc |= json_object_set_new(o, "node_failures", json_integer(j->node_failures));
    /* A stale not-before of a job that has run since would only mislead. */
    int64_t nb = j->state == MLQ_JOB_PENDING ? j->not_before_ms : 0;
    rc |= json_object_set_new(o, "not_before", time_or_null(nb));
    rc |= json_object_set_new(o, "time_limit", seconds_or_null(j->time_limit_ms));
    return rc;
}

static json_t *deps_json(const struct mlq_dep *d, uint32_t n)
{
    json_t *arr = json_array();
    for (uint32_t i = 0; arr && d && i < n; i++)
        if (json_array_append_new(arr, json_pack("{s:o, s:s}", "target", safe_string(d[i].target),
                                                 "kind", mlq_proto_dep_kind_name(d[i].kind))) < 0) {
            json_decref(arr);
            arr = NULL;
        }
    return arr;
}

/* The GPU request for people ("0.25", "a100|h100:2"), its types,
 * its share (a number of GPUs, 0.25; null for whole GPUs) and GPU memory
 * (bytes; null when not asked). */
static int add_gpu_fields(json_t *o, const struct mlq_jobinfo *j)
{
    char req[MLQ_MAX_GPU_TYPES + 64];
    mlq_res_fmt_gpu_ask(j->gpus, j->gpu_frac, j->gpu_mem, j->gpu_type, req, sizeof req);
    int rc = json_object_set_new(o, "gpu_request", safe_string(req));
    rc |= json_object_set_new(o, "gpu_type", str_or_null(j->gpu_type));
    rc |= json_object_set_new(o, "gpu_share",
                              j->gpu_frac > 0 ? json_real(j->gpu_frac / 100.0) : json_null());
    rc |=
        json_object_set_new(o, "gpu_mem", j->gpu_mem > 0 ? json_integer(j->gpu_mem) : json_null());
    return rc;
}

/* Pipelines: the array a task belongs to, and the job's dependencies. */
static int add_pipeline_fields(json_t *o, const struct mlq_jobinfo *j)
{
    bool task = j->array_id && j->array_index >= 0;
    int rc = json_object_set_new(o, "array_id", str_or_null(task ? j->array_id : NULL));
    rc |= json_object_set_new(o, "array_index", task ? json_integer(j->array_index) : json_null());
    rc |= json_object_set_new(o, "deps", deps_json(j->deps, j->ndeps));
    /* Like a worker's pool: "default" when the job named none. */
    rc |= json_object_set_new(o, "pool", json_string(j->pool && *j->pool ? j->pool : "default"));
    rc |= json_object_set_new(o, "require", argv_json(j->require, j->require ? j->nrequire : 0));
    rc |= json_object_set_new(o, "priority", json_integer(j->priority));
    rc |= json_object_set_new(o, "team", str_or_null(j->team));
    rc |= json_object_set_new(o, "project", str_or_null(j->project));
    /* Every job runs on at least one node; gang says whether it was
     * submitted with --nodes (a gang of one gets the rendezvous too). */
    rc |= json_object_set_new(o, "nodes", json_integer(j->nodes > 0 ? j->nodes : 1));
    rc |= json_object_set_new(o, "gang", json_boolean(j->nodes > 0));
    return rc | add_gpu_fields(o, j);
}

json_t *mlq_jsonview_job(const struct mlq_jobinfo *j)
{
    json_t *o = job_json_base(j);
    if (o && (add_retry_fields(o, j) < 0 || add_pipeline_fields(o, j) < 0)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *opt_int(int64_t v)
{
    return v >= 0 ? json_integer(v) : json_null();
}

/* An attempt's usage: null when nothing was measured, else every key with
 * null for what was not. */
static json_t *usage_json(const struct mlq_usage *u)
{
    if (!mlq_usage_any(u))
        return json_null();
    return json_pack("{s:s, s:o, s:o, s:o, s:o, s:o}", "source", u->source, "mem_peak",
                     opt_int(u->mem_peak), "cpu_us", opt_int(u->cpu_us), "wall_ms",
                     opt_int(u->wall_ms), "gpu_mem_peak", opt_int(u->gpu_mem_peak), "gpu_util",
                     opt_int(u->gpu_util));
}

json_t *mlq_jsonview_attempt(const struct mlq_attemptinfo *a)
{
    return json_pack("{s:i, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "num", (int)a->num,
                     "id", safe_string(a->id), "worker", str_or_null(a->worker), "state",
                     mlq_attempt_state_name(a->state), "gpu_ids", gpu_ids_json(a->gpu_ids),
                     "start_time", time_or_null(a->start_ms), "end_time", time_or_null(a->end_ms),
                     "exit_code", a->exit_code >= 0 ? json_integer(a->exit_code) : json_null(),
                     "signal", a->signal > 0 ? json_integer(a->signal) : json_null(), "detail",
                     str_or_null(a->detail), "usage", usage_json(&a->usage));
}

json_t *mlq_jsonview_part(const struct mlq_partinfo *p)
{
    return json_pack("{s:i, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "rank", (int)p->rank,
                     "worker", str_or_null(p->worker), "addr", str_or_null(p->addr), "state",
                     mlq_attempt_state_name(p->state), "gpu_ids", gpu_ids_json(p->gpu_ids),
                     "start_time", time_or_null(p->start_ms), "end_time", time_or_null(p->end_ms),
                     "exit_code", p->exit_code >= 0 ? json_integer(p->exit_code) : json_null(),
                     "signal", p->signal > 0 ? json_integer(p->signal) : json_null(), "detail",
                     str_or_null(p->detail));
}

/* A gang's node parts of its current (or last) attempt; [] for other jobs. */
static int add_parts(json_t *o, const struct mlq_jobinfo *j)
{
    json_t *arr = json_array();
    for (uint32_t i = 0; arr && j->parts && i < j->nparts; i++)
        if (json_array_append_new(arr, mlq_jsonview_part(&j->parts[i])) < 0) {
            json_decref(arr);
            arr = NULL;
        }
    return arr ? json_object_set_new(o, "parts", arr) : -1;
}

json_t *mlq_jsonview_job_status(const struct mlq_jobinfo *j)
{
    json_t *o = mlq_jsonview_job(j);
    json_t *arr = o ? json_array() : NULL;
    for (uint32_t i = 0; arr && j->attempts && i < j->nattempts; i++)
        if (json_array_append_new(arr, mlq_jsonview_attempt(&j->attempts[i])) < 0) {
            json_decref(arr);
            arr = NULL;
        }
    /* The scheduler leaves the history out when a status names more than 64
     * jobs: say "not sent" (null) rather than "no attempts" ([]). */
    bool omitted = arr && j->attempt > 0 && j->nattempts == 0;
    if (omitted) {
        json_decref(arr);
        arr = json_null();
    }
    int rc = arr ? json_object_set_new(o, "attempts", arr) : -1;
    if (rc == 0)
        rc = json_object_set_new(
            o, "retries_used", omitted ? json_null() : json_integer(mlq_jsonview_retries_used(j)));
    if (rc == 0)
        rc = add_parts(o, j);
    if (rc < 0) {
        json_decref(o);
        return NULL;
    }
    return o;
}

static json_t *strv_json(char *const *v, uint32_t n)
{
    json_t *arr = json_array();
    for (uint32_t i = 0; arr && v && i < n; i++)
        if (json_array_append_new(arr, safe_string(v[i] ? v[i] : "")) < 0) {
            json_decref(arr);
            arr = NULL;
        }
    return arr;
}

/* util and mem_used are null where the worker reads no NVML (fake GPUs):
 * unknown, never 0. */
json_t *mlq_jsonview_gpu(const struct mlq_gpuinfo *g)
{
    return json_pack("{s:i, s:o, s:o, s:o, s:I, s:o, s:o, s:o, s:I, s:b, s:f, s:i}", "index",
                     (int)g->index, "uuid", str_or_null(g->uuid), "model", str_or_null(g->model),
                     "type", str_or_null(g->type), "mem", (json_int_t)g->mem, "job_id",
                     str_or_null(g->job_id), "util",
                     g->util_known ? json_integer(g->util) : json_null(), "mem_used",
                     g->util_known ? json_integer(g->mem_used) : json_null(), "idle_seconds",
                     (json_int_t)(g->idle_ms / 1000), "withheld", (int)g->withheld, "share",
                     g->share / 100.0, "shares", (int)g->nshares);
}

static json_t *gpu_list_json(const struct mlq_gpuinfo *g, uint32_t n)
{
    json_t *arr = json_array();
    for (uint32_t i = 0; arr && g && i < n; i++)
        if (json_array_append_new(arr, mlq_jsonview_gpu(&g[i])) < 0) {
            json_decref(arr);
            arr = NULL;
        }
    return arr;
}

static json_t *worker_core(const struct mlq_workerinfo *w)
{
    return json_pack(
        "{s:o, s:o, s:b, s:f, s:f, s:I, s:I, s:i, s:i, s:i, s:o, s:s, s:o, s:o, "
        "s:o, s:b, s:o, s:o, s:o}",
        "name", str_or_null(w->name), "state", str_or_null(w->state), "draining", (int)w->draining,
        "cpus", (double)w->cpus_m / 1000.0, "cpus_used", (double)w->cpus_used_m / 1000.0, "mem",
        (json_int_t)w->mem, "mem_used", (json_int_t)w->mem_used, "gpus", (int)w->gpus, "gpus_used",
        (int)w->gpus_used, "running", (int)w->running, "last_seen", time_or_null(w->last_seen_ms),
        "pool", w->pool && w->pool[0] ? w->pool : "default", "labels",
        strv_json(w->labels, w->nlabels), "drain_reason", str_or_null(w->drain_reason), "gpu_list",
        gpu_list_json(w->gpu_list, w->ngpu_list), "unhealthy", (int)w->unhealthy, "health",
        str_or_null(w->health), "version", str_or_null(w->version), "git", str_or_null(w->git));
}

/* What the worker itself reports, where an admin set something over it
 * (`mlq admin worker set`); null otherwise. */
static json_t *reported_json(const struct mlq_workerinfo *w)
{
    if (!w->set_by_admin)
        return json_null();
    return json_pack("{s:s, s:o, s:f, s:I, s:i}", "pool",
                     w->rep_pool && w->rep_pool[0] ? w->rep_pool : "default", "labels",
                     strv_json(w->rep_labels, w->rep_nlabels), "cpus",
                     (double)w->rep_cpus_m / 1000.0, "mem", (json_int_t)w->rep_mem, "gpus",
                     (int)w->rep_gpus);
}

json_t *mlq_jsonview_worker(const struct mlq_workerinfo *w)
{
    json_t *o = worker_core(w);
    if (o && (json_object_set_new(o, "addr", str_or_null(w->addr)) < 0 ||
              json_object_set_new(o, "limits", str_or_null(w->limits)) < 0 ||
              json_object_set_new(o, "set_by_admin", json_boolean(w->set_by_admin)) < 0 ||
              json_object_set_new(o, "gpus_used_share", json_real(w->gpus_used_h / 100.0)) < 0 ||
              json_object_set_new(o, "reported", reported_json(w)) < 0)) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

uint32_t mlq_jsonview_array_ended(const struct mlq_arrayinfo *a)
{
    uint32_t n = 0;
    for (int s = 0; s < MLQ_JOB_STATE_COUNT; s++)
        if (mlq_job_state_terminal((enum mlq_job_state)s))
            n += a->counts[s];
    return n;
}

static json_t *counts_json(const uint32_t counts[MLQ_JOB_STATE_COUNT])
{
    json_t *o = json_object();
    for (int s = 0; o && s < MLQ_JOB_STATE_COUNT; s++)
        if (json_object_set_new(o, mlq_job_state_name((enum mlq_job_state)s),
                                json_integer(counts[s])) < 0) {
            json_decref(o);
            o = NULL;
        }
    return o;
}

json_t *mlq_jsonview_array(const struct mlq_arrayinfo *a)
{
    bool done = mlq_jsonview_array_ended(a) >= a->size;
    return json_pack("{s:o, s:o, s:o, s:o, s:i, s:o, s:o, s:o, s:o, s:b, s:b}", "id",
                     safe_string(a->id), "name", str_or_null(a->name), "owner",
                     str_or_null(a->owner), "argv", argv_json(a->argv, a->argc), "size",
                     (int)a->size, "max_running",
                     a->max_running ? json_integer(a->max_running) : json_null(), "submit_time",
                     time_or_null(a->submit_ms), "counts", counts_json(a->counts), "failed",
                     str_or_null(a->failed), "done", (int)done, "succeeded",
                     (int)(done && a->counts[MLQ_JOB_SUCCEEDED] == a->size));
}

static json_t *fires_json(const int64_t *v, uint32_t n)
{
    json_t *arr = json_array();
    for (uint32_t i = 0; arr && v && i < n; i++)
        if (json_array_append_new(arr, time_or_null(v[i])) < 0) {
            json_decref(arr);
            arr = NULL;
        }
    return arr;
}

/* One run; for a run that submitted an array, its progress too
 * ("array": {"size", "ended", "running"}), null otherwise. */
static json_t *run_json(const struct mlq_schedrun *r)
{
    json_t *arr = r->array_size ? json_pack("{s:I, s:I, s:I}", "size", (json_int_t)r->array_size,
                                            "ended", (json_int_t)r->array_ended, "running",
                                            (json_int_t)r->array_running)
                                : json_null();
    return json_pack("{s:o, s:o, s:s, s:o}", "fire_time", time_or_null(r->fire_ms), "job_id",
                     safe_string(r->job_id), "state", mlq_job_state_name(r->state), "array", arr);
}

static json_t *runs_json(const struct mlq_schedrun *r, uint32_t n)
{
    json_t *arr = json_array();
    for (uint32_t i = 0; arr && r && i < n; i++)
        if (json_array_append_new(arr, run_json(&r[i])) < 0) {
            json_decref(arr);
            arr = NULL;
        }
    return arr;
}

json_t *mlq_jsonview_schedule(const struct mlq_scheduleinfo *s)
{
    const struct mlq_jobspec *sp = &s->spec;
    return json_pack("{s:o, s:o, s:o, s:s, s:o, s:b, s:o, s:o, s:o, s:f, s:I, s:i, s:o, s:o, "
                     "s:o}",
                     "name", str_or_null(s->name), "cron", str_or_null(s->cron), "timezone",
                     safe_string(s->timezone && s->timezone[0] ? s->timezone : "UTC"),
                     "concurrency", s->concurrency ? s->concurrency : "skip", "catch_up",
                     json_integer(s->catch_up_ms / 1000), "paused", (int)s->paused, "job_name",
                     str_or_null(sp->name), "argv", argv_json(sp->argv, sp->argc), "workdir",
                     str_or_null(sp->workdir), "cpus", (double)sp->cpus_m / 1000.0, "mem",
                     (json_int_t)sp->mem, "gpus", (int)sp->gpus, "array", str_or_null(sp->array),
                     "next_fires", fires_json(s->next_fires, s->nnext), "runs",
                     runs_json(s->runs, s->nruns));
}

json_t *mlq_jsonview_str(const char *s)
{
    return str_or_null(s);
}

/* {"key": [build(item) ...]}; NULL when out of memory. */
#define LIST_DOC(key, items, n, build)                                                             \
    do {                                                                                           \
        json_t *arr_ = json_array();                                                               \
        for (uint32_t i_ = 0; arr_ && i_ < (n); i_++)                                              \
            if (json_array_append_new(arr_, build(&(items)[i_])) < 0) {                            \
                json_decref(arr_);                                                                 \
                arr_ = NULL;                                                                       \
            }                                                                                      \
        return arr_ ? json_pack("{s:o}", key, arr_) : NULL;                                        \
    } while (0)

json_t *mlq_jsonview_jobs(const struct mlq_jobinfo *jobs, uint32_t n, int status)
{
    if (status)
        LIST_DOC("jobs", jobs, n, mlq_jsonview_job_status);
    LIST_DOC("jobs", jobs, n, mlq_jsonview_job);
}

json_t *mlq_jsonview_workers(const struct mlq_workerinfo *w, uint32_t n)
{
    LIST_DOC("workers", w, n, mlq_jsonview_worker);
}

json_t *mlq_jsonview_schedules(const struct mlq_scheduleinfo *s, uint32_t n)
{
    LIST_DOC("schedules", s, n, mlq_jsonview_schedule);
}

static json_t *event_json(const struct mlq_eventinfo *e)
{
    char when[40];
    mlq_jsonview_time_iso(e->time_ms, when, sizeof when);
    return json_pack("{s:I, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o, s:o}", "seq",
                     (json_int_t)e->seq, "time", when[0] ? json_string(when) : json_null(), "kind",
                     str_or_null(e->kind), "job_id", str_or_null(e->job_id), "attempt_id",
                     str_or_null(e->attempt_id), "worker", str_or_null(e->worker), "actor",
                     str_or_null(e->actor), "from", str_or_null(e->from), "to", str_or_null(e->to),
                     "detail", str_or_null(e->detail));
}

json_t *mlq_jsonview_events(const struct mlq_eventinfo *e, uint32_t n)
{
    LIST_DOC("events", e, n, event_json);
}

static json_t *would_start_json(const struct mlq_msg *r)
{
    if (!r->u.why_reply.start_worker)
        return json_null();
    return json_pack("{s:o, s:o}", "worker", safe_string(r->u.why_reply.start_worker), "gpus",
                     str_or_null(r->u.why_reply.start_gpus));
}

static json_t *estimate_json(const struct mlq_msg *r)
{
    if (!r->u.why_reply.est_kind)
        return json_null();
    return json_pack(
        "{s:o, s:o, s:o}", "at_ms",
        r->u.why_reply.est_at_ms > 0 ? json_integer(r->u.why_reply.est_at_ms) : json_null(), "kind",
        safe_string(r->u.why_reply.est_kind), "why", str_or_null(r->u.why_reply.est_why));
}

/* The quota the job would count against; null where none applies. */
static json_t *quota_json(const struct mlq_msg *reply)
{
    if (!reply->u.why_reply.quota_text)
        return json_null();
    return json_pack("{s:o, s:o, s:o, s:b, s:b}", "team",
                     str_or_null(reply->u.why_reply.quota_team), "pool",
                     str_or_null(reply->u.why_reply.quota_pool), "text",
                     safe_string(reply->u.why_reply.quota_text), "borrows",
                     (int)reply->u.why_reply.quota_borrows, "within_quota",
                     (int)reply->u.why_reply.quota_admits);
}

json_t *mlq_jsonview_why(const struct mlq_msg *reply)
{
    return json_pack(
        "{s:s, s:s, s:o, s:o, s:o, s:o, s:I, s:b, s:o, s:o, s:o}", "job_id",
        reply->u.why_reply.job_id, "state", mlq_job_state_name(reply->u.why_reply.state), "blocker",
        str_or_null(reply->u.why_reply.blocker), "text", str_or_null(reply->u.why_reply.text),
        "closest_worker", str_or_null(reply->u.why_reply.closest_worker), "lacks",
        str_or_null(reply->u.why_reply.lacks), "ahead", (json_int_t)reply->u.why_reply.ahead,
        "fits_ever", (int)reply->u.why_reply.fits_ever, "would_start", would_start_json(reply),
        "estimate", estimate_json(reply), "quota", quota_json(reply));
}

/* Why it can never fit: the blocker's text, and what the closest worker
 * lacks. Empty when it can. */
static json_t *reasons_json(const struct mlq_msg *r)
{
    json_t *a = json_array();
    if (!a || r->u.why_reply.fits_ever)
        return a;
    if (r->u.why_reply.text)
        json_array_append_new(a, safe_string(r->u.why_reply.text));
    if (r->u.why_reply.closest_worker && r->u.why_reply.lacks) {
        char line[MLQ_MAX_NAME + MLQ_MAX_STR + 64];
        snprintf(line, sizeof line, "largest: %s, which lacks %s", r->u.why_reply.closest_worker,
                 r->u.why_reply.lacks);
        json_array_append_new(a, safe_string(line));
    }
    return a;
}

json_t *mlq_jsonview_dry_run(const struct mlq_msg *reply)
{
    return json_pack(
        "{s:b, s:o, s:o, s:o, s:o, s:o, s:I, s:s, s:o, s:o, s:o}", "fits_ever",
        (int)reply->u.why_reply.fits_ever, "reasons", reasons_json(reply), "text",
        str_or_null(reply->u.why_reply.text), "blocker", str_or_null(reply->u.why_reply.blocker),
        "closest_worker", str_or_null(reply->u.why_reply.closest_worker), "lacks",
        str_or_null(reply->u.why_reply.lacks), "position", (json_int_t)reply->u.why_reply.ahead,
        "order", MLQ_JSONVIEW_QUEUE_ORDER, "would_start", would_start_json(reply), "estimate",
        estimate_json(reply), "quota", quota_json(reply));
}

/* ---- quotas ------------------------------------------------------------------ */

static json_t *gpus_json(int64_t h)
{
    return h < 0 ? json_null() : json_real((double)h / 100.0);
}

static json_t *amount_json(int64_t gpus_h, int64_t cpus_m, int64_t mem)
{
    return json_pack("{s:o, s:o, s:o}", "gpus", gpus_json(gpus_h), "cpus",
                     cpus_m < 0 ? json_null() : json_real((double)cpus_m / 1000.0), "mem",
                     mem < 0 ? json_null() : json_integer(mem));
}

/* {"h100": 8, "a100": 0.5}, or null without caps per GPU type. */
static json_t *gpu_types_json(const char *wire)
{
    struct mlq_quota_type t[MLQ_QUOTA_MAX_TYPES];
    int n = 0;
    struct mlq_err e;
    if (!wire[0] || mlq_proto_quota_types_parse(wire, t, &n, &e) < 0)
        return json_null();
    json_t *o = json_object();
    for (int i = 0; o && i < n; i++)
        json_object_set_new(o, t[i].type, gpus_json(t[i].gpus_h));
    return o ? o : json_null();
}

static json_t *quotainfo_json(const struct mlq_quotainfo *q)
{
    return json_pack("{s:s, s:s, s:o, s:o, s:o, s:o, s:I, s:o, s:o, s:o}", "team", q->team, "pool",
                     q->pool, "nominal", amount_json(q->gpus_h, q->cpus_m, q->mem), "borrow_cap",
                     amount_json(q->borrow_gpus_h, q->borrow_cpus_m, q->borrow_mem), "used",
                     amount_json(q->used_gpus_h, q->used_cpus_m, q->used_mem), "borrowed",
                     amount_json(q->borrowed_gpus_h, q->borrowed_cpus_m, q->borrowed_mem),
                     "running", (json_int_t)q->running, "user_max_running",
                     q->user_max_running < 0 ? json_null() : json_integer(q->user_max_running),
                     "user_max_gpus", gpus_json(q->user_max_gpus_h), "gpu_types",
                     gpu_types_json(q->gpu_types));
}

json_t *mlq_jsonview_quotas(const struct mlq_quotainfo *q, uint32_t n)
{
    json_t *arr = json_array();
    for (uint32_t i = 0; arr && i < n; i++)
        if (json_array_append_new(arr, quotainfo_json(&q[i])) < 0) {
            json_decref(arr);
            arr = NULL;
        }
    return arr ? json_pack("{s:o}", "quotas", arr) : NULL;
}

/* ---- usage reports ---------------------------------------------------------- */

static json_t *share_or_null(int64_t part, int64_t whole)
{
    return whole > 0 ? json_real((double)part / (double)whole) : json_null();
}

static json_t *acct_row_json(const struct mlq_acctrow *r)
{
    json_t *o = json_pack(
        "{s:o, s:f, s:f, s:o, s:o}", "name", str_or_null(r->key[0] ? r->key : NULL), "cpu_hours",
        (double)r->cpu_ms / 3600e3, "gpu_hours", (double)r->gpu_ms / 3600e3, "mean_wait_s",
        r->n_waits > 0 ? json_real((double)r->wait_ms / 1e3 / (double)r->n_waits) : json_null(),
        "gpu_idle_share", share_or_null(r->gpu_idle_ms, r->gpu_known_ms));
    for (int k = 0; o && k < MLQ_ACCT_OUTCOMES; k++)
        if (json_object_set_new(o, mlq_acct_outcome_names[k], json_integer(r->runs[k])) < 0) {
            json_decref(o);
            o = NULL;
        }
    return o;
}

json_t *mlq_jsonview_acct_report(const struct mlq_msg *m)
{
    char since[40], until[40];
    mlq_jsonview_time_iso(m->u.acct_report.since_ms, since, sizeof since);
    mlq_jsonview_time_iso(m->u.acct_report.until_ms, until, sizeof until);
    json_t *groups = json_array();
    for (uint32_t i = 0; groups && i < m->u.acct_report.nrows; i++)
        if (json_array_append_new(groups, acct_row_json(&m->u.acct_report.rows[i])) < 0) {
            json_decref(groups);
            groups = NULL;
        }
    unsigned by = (unsigned)m->u.acct_report.by < MLQ_ACCT_BY_COUNT ? m->u.acct_report.by : 0;
    return groups ? json_pack("{s:s, s:s, s:s, s:o}", "since", since, "until", until, "by",
                              mlq_acct_by_names[by], "groups", groups)
                  : NULL;
}
