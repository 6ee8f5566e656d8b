/* output: JSON rendering of jobs and workers, aligned tables and time
 * formatting for the CLI.
 *
 * Text that came from the scheduler (job names, commands, worker names) is
 * untrusted: tables and argv rendering replace control characters so that
 * nothing a job submitter chose can move the cursor of another user's
 * terminal. JSON output is escaped by jansson. */
#include "output.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "err.h"

int mlq_out_fail(int code, const struct mlq_err *err)
{
    const char *msg = err && err->msg[0] ? err->msg : mlq_strerror(code);
    fprintf(stderr, "mlq: %s\n", msg);
    return mlq_cli_exit_code(code);
}

bool mlq_out_colour(FILE *f)
{
    const char *no = getenv("NO_COLOR");
    if (no && no[0])
        return false;
    return isatty(fileno(f)) == 1;
}

char *mlq_out_time_iso(int64_t ms, char *buf, size_t len)
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

char *mlq_out_time_local(int64_t ms, char *buf, size_t len)
{
    snprintf(buf, len, "-");
    if (ms <= 0)
        return buf;
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    if (localtime_r(&secs, &tm) && strftime(buf, len, "%Y-%m-%d %H:%M:%S", &tm) == 0)
        snprintf(buf, len, "-");
    return buf;
}

char *mlq_out_time_ago(int64_t now_ms, int64_t then_ms, char *buf, size_t len)
{
    if (then_ms <= 0) {
        snprintf(buf, len, "never");
        return buf;
    }
    int64_t s = (now_ms - then_ms) / 1000;
    if (s < 0)
        s = 0; /* clocks of two machines disagree; do not show "-3s ago" */
    if (s < 120)
        snprintf(buf, len, "%llds ago", (long long)s);
    else if (s < 7200)
        snprintf(buf, len, "%lldm ago", (long long)(s / 60));
    else if (s < 172800)
        snprintf(buf, len, "%lldh ago", (long long)(s / 3600));
    else
        snprintf(buf, len, "%lldd ago", (long long)(s / 86400));
    return buf;
}

char *mlq_out_exit_text(int32_t exit_code, int32_t signal, char *buf, size_t len)
{
    const char *abbrev = signal > 0 ? sigabbrev_np(signal) : NULL;
    if (signal > 0 && abbrev)
        snprintf(buf, len, "SIG%s", abbrev);
    else if (signal > 0)
        snprintf(buf, len, "signal %d", (int)signal);
    else if (exit_code >= 0)
        snprintf(buf, len, "%d", (int)exit_code);
    else
        snprintf(buf, len, "-");
    return buf;
}

char *mlq_out_exit(const struct mlq_jobinfo *job, char *buf, size_t len)
{
    return mlq_out_exit_text(job->exit_code, job->signal, buf, len);
}

static bool att_failed(enum mlq_attempt_state s)
{
    return s == MLQ_ATT_FAILED || s == MLQ_ATT_TIMED_OUT;
}

int mlq_out_retries_used(const struct mlq_jobinfo *j)
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

char *mlq_out_clean(const char *s, char *buf, size_t len)
{
    if (!s)
        s = "-";
    size_t i = 0;
    for (; s[i] && i + 1 < len; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    if (len > 0)
        buf[i] = '\0';
    return buf;
}

const char *mlq_out_state_word(enum mlq_job_state s)
{
    static const char *const words[MLQ_JOB_STATE_COUNT] = {
        "pending", "assigned", "running", "succeeded", "failed", "cancelled", "timed out"};
    return (unsigned)s < MLQ_JOB_STATE_COUNT ? words[s] : "?";
}

const char *mlq_out_state_colour(enum mlq_job_state s)
{
    switch (s) {
    case MLQ_JOB_SUCCEEDED:
        return "\033[32m";
    case MLQ_JOB_FAILED:
    case MLQ_JOB_TIMED_OUT:
        return "\033[31m";
    case MLQ_JOB_RUNNING:
    case MLQ_JOB_ASSIGNED:
        return "\033[36m";
    case MLQ_JOB_PENDING:
        return "\033[33m";
    default:
        return "";
    }
}

/* Characters the shell takes literally, so a word made of them needs no
 * quotes. */
static bool shell_plain(const char *w)
{
    if (!w[0])
        return false;
    for (const char *p = w; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-", *p))
            return false;
    return true;
}

/* Appends c to buf (at *pos), keeping room for "..." and the NUL. */
static bool put(char *buf, size_t len, size_t *pos, char c)
{
    if (*pos + 4 >= len)
        return false;
    unsigned char u = (unsigned char)c;
    buf[(*pos)++] = (u < 0x20 || u == 0x7f) ? '?' : c;
    return true;
}

static bool put_word(char *buf, size_t len, size_t *pos, const char *w)
{
    bool plain = shell_plain(w);
    if (!plain && !put(buf, len, pos, '\''))
        return false;
    for (const char *p = w; *p; p++) {
        bool ok = *p == '\'' && !plain ? put(buf, len, pos, '\'') && put(buf, len, pos, '\\') &&
                                             put(buf, len, pos, '\'') && put(buf, len, pos, '\'')
                                       : put(buf, len, pos, *p);
        if (!ok)
            return false;
    }
    return plain || put(buf, len, pos, '\'');
}

char *mlq_out_argv(char *const *argv, uint32_t argc, char *buf, size_t len)
{
    size_t pos = 0;
    bool ok = true;
    for (uint32_t i = 0; ok && i < argc; i++) {
        if (i > 0)
            ok = put(buf, len, &pos, ' ');
        ok = ok && put_word(buf, len, &pos, argv[i] ? argv[i] : "");
    }
    if (!ok && len >= 4) {
        memcpy(buf + pos, "...", 3);
        pos += 3;
    }
    buf[len > 0 ? (pos < len ? pos : len - 1) : 0] = '\0';
    return buf;
}

/* ---- JSON ---- */

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
    return ms > 0 ? json_string(mlq_out_time_iso(ms, buf, sizeof(buf))) : json_null();
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

/* The retry and failure fields every job object carries. */
static int add_retry_fields(json_t *o, const struct mlq_jobinfo *j)
{
    int rc = json_object_set_new(o, "retries", json_integer(j->retries));
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

/* Issue 6: the array a task belongs to, and the job's dependencies. */
static int add_pipeline_fields(json_t *o, const struct mlq_jobinfo *j)
{
    bool task = j->array_id && j->array_index >= 0;
    int rc = json_object_set_new(o, "array_id", str_or_null(task ? j->array_id : NULL));
    rc |= json_object_set_new(o, "array_index", task ? json_integer(j->array_index) : json_null());
    rc |= json_object_set_new(o, "deps", deps_json(j->deps, j->ndeps));
    return rc;
}

json_t *mlq_out_job_json(const struct mlq_jobinfo *j)
{
    json_t *o = job_json_base(j);
    if (o && (add_retry_fields(o, j) < 0 || add_pipeline_fields(o, j) < 0)) {
        json_decref(o);
        return NULL;
    }
    return o;
}

json_t *mlq_out_attempt_json(const struct mlq_attemptinfo *a)
{
    return json_pack("{s:i, s:o, s:o, s:s, s:o, s:o, s:o, s:o, s:o, s:o}", "num", (int)a->num, "id",
                     safe_string(a->id), "worker", str_or_null(a->worker), "state",
                     mlq_attempt_state_name(a->state), "gpu_ids", gpu_ids_json(a->gpu_ids),
                     "start_time", time_or_null(a->start_ms), "end_time", time_or_null(a->end_ms),
                     "exit_code", a->exit_code >= 0 ? json_integer(a->exit_code) : json_null(),
                     "signal", a->signal > 0 ? json_integer(a->signal) : json_null(), "detail",
                     str_or_null(a->detail));
}

json_t *mlq_out_job_status_json(const struct mlq_jobinfo *j)
{
    json_t *o = mlq_out_job_json(j);
    json_t *arr = o ? json_array() : NULL;
    for (uint32_t i = 0; arr && j->attempts && i < j->nattempts; i++)
        if (json_array_append_new(arr, mlq_out_attempt_json(&j->attempts[i])) < 0) {
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
        rc = json_object_set_new(o, "retries_used",
                                 omitted ? json_null() : json_integer(mlq_out_retries_used(j)));
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

json_t *mlq_out_gpu_json(const struct mlq_gpuinfo *g)
{
    return json_pack("{s:i, s:o, s:o, s:o, s:I, s:o}", "index", (int)g->index, "uuid",
                     str_or_null(g->uuid), "model", str_or_null(g->model), "type",
                     str_or_null(g->type), "mem", (json_int_t)g->mem, "job_id",
                     str_or_null(g->job_id));
}

static json_t *gpu_list_json(const struct mlq_gpuinfo *g, uint32_t n)
{
    json_t *arr = json_array();
    for (uint32_t i = 0; arr && g && i < n; i++)
        if (json_array_append_new(arr, mlq_out_gpu_json(&g[i])) < 0) {
            json_decref(arr);
            arr = NULL;
        }
    return arr;
}

json_t *mlq_out_worker_json(const struct mlq_workerinfo *w)
{
    return json_pack("{s:o, s:o, s:b, s:f, s:f, s:I, s:I, s:i, s:i, s:i, s:o, s:s, s:o, s:o, "
                     "s:o, s:b, s:o}",
                     "name", str_or_null(w->name), "state", str_or_null(w->state), "draining",
                     (int)w->draining, "cpus", (double)w->cpus_m / 1000.0, "cpus_used",
                     (double)w->cpus_used_m / 1000.0, "mem", (json_int_t)w->mem, "mem_used",
                     (json_int_t)w->mem_used, "gpus", (int)w->gpus, "gpus_used", (int)w->gpus_used,
                     "running", (int)w->running, "last_seen", time_or_null(w->last_seen_ms), "pool",
                     w->pool && w->pool[0] ? w->pool : "default", "labels",
                     strv_json(w->labels, w->nlabels), "drain_reason", str_or_null(w->drain_reason),
                     "gpu_list", gpu_list_json(w->gpu_list, w->ngpu_list), "unhealthy",
                     (int)w->unhealthy, "health", str_or_null(w->health));
}

uint32_t mlq_out_array_ended(const struct mlq_arrayinfo *a)
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

json_t *mlq_out_array_json(const struct mlq_arrayinfo *a)
{
    bool done = mlq_out_array_ended(a) >= a->size;
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

static json_t *runs_json(const struct mlq_schedrun *r, uint32_t n)
{
    json_t *arr = json_array();
    for (uint32_t i = 0; arr && r && i < n; i++)
        if (json_array_append_new(
                arr, json_pack("{s:o, s:o, s:s}", "fire_time", time_or_null(r[i].fire_ms), "job_id",
                               safe_string(r[i].job_id), "state", mlq_job_state_name(r[i].state))) <
            0) {
            json_decref(arr);
            arr = NULL;
        }
    return arr;
}

json_t *mlq_out_schedule_json(const struct mlq_scheduleinfo *s)
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

int mlq_out_json_print(FILE *f, const json_t *doc)
{
    /* 10 significant digits print 0.1 CPUs as 0.1, not 0.10000000000000001. */
    if (json_dumpf(doc, f, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) < 0 || fputc('\n', f) == EOF)
        return MLQ_EIO;
    return 0;
}

/* ---- tables ---- */

struct cell {
    char *text;
    const char *colour;
};

struct mlq_table {
    int ncols;
    const char *const *headers;
    struct cell *cells;
    size_t ncells, cap;
};

struct mlq_table *mlq_table_create(int ncols, const char *const *headers)
{
    struct mlq_table *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->ncols = ncols;
    t->headers = headers;
    return t;
}

void mlq_table_destroy(struct mlq_table **t)
{
    if (!t || !*t)
        return;
    for (size_t i = 0; i < (*t)->ncells; i++)
        free((*t)->cells[i].text);
    free((*t)->cells);
    free(*t);
    *t = NULL;
}

int mlq_table_add(struct mlq_table *t, const char *text, const char *colour)
{
    if (t->ncells == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        struct cell *c = realloc(t->cells, cap * sizeof(*c));
        if (!c)
            return MLQ_ENOMEM;
        t->cells = c;
        t->cap = cap;
    }
    char *copy = strdup(text ? text : "-");
    if (!copy)
        return MLQ_ENOMEM;
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    t->cells[t->ncells++] = (struct cell){copy, colour};
    return 0;
}

/* Display width: UTF-8 continuation bytes take no column. */
static size_t width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            w++;
    return w;
}

static void print_cell(FILE *f, const char *text, const char *colour, size_t pad, bool last)
{
    if (colour && colour[0])
        fprintf(f, "%s%s\033[0m", colour, text);
    else
        fputs(text, f);
    if (last)
        return;
    for (size_t i = width(text); i < pad + 2; i++)
        fputc(' ', f);
}

int mlq_table_print(const struct mlq_table *t, FILE *f, bool colour)
{
    size_t *w = calloc((size_t)t->ncols, sizeof(*w));
    if (!w)
        return MLQ_ENOMEM;
    for (int c = 0; c < t->ncols; c++)
        w[c] = width(t->headers[c]);
    for (size_t i = 0; i < t->ncells; i++) {
        size_t cw = width(t->cells[i].text);
        if (cw > w[i % (size_t)t->ncols])
            w[i % (size_t)t->ncols] = cw;
    }
    for (int c = 0; c < t->ncols; c++)
        print_cell(f, t->headers[c], colour ? "\033[1m" : NULL, w[c], c == t->ncols - 1);
    fputc('\n', f);
    for (size_t i = 0; i < t->ncells; i++) {
        size_t c = i % (size_t)t->ncols;
        bool last = c == (size_t)t->ncols - 1 || i == t->ncells - 1;
        print_cell(f, t->cells[i].text, colour ? t->cells[i].colour : NULL, w[c], last);
        if (last)
            fputc('\n', f);
    }
    free(w);
    return ferror(f) ? MLQ_EIO : 0;
}
