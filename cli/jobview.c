/* jobview: see jobview.h. One "label: value" line per field (labels padded
 * to one width so values line up), then the attempts as an aligned table. */
#include "jobview.h"

#include <string.h>

#include "err.h"
#include "output.h"
#include "protousage.h"
#include "jsonview.h"
#include "res.h"

#define DETAIL_MAX 200 /* characters of an attempt's detail shown in the table */

static void line(FILE *f, const char *label, const char *value)
{
    char buf[1024];
    fprintf(f, "%-11s %s\n", label, mlq_out_clean(value, buf, sizeof(buf)));
}

static void line_state(FILE *f, const struct mlq_jobinfo *j, bool colour)
{
    char reason[512];
    const char *c = colour ? mlq_out_state_colour(j->state) : "";
    fprintf(f, "%-11s %s%s%s", "state:", c, mlq_job_state_name(j->state), c[0] ? "\033[0m" : "");
    if (j->reason && j->reason[0])
        fprintf(f, " (%s)", mlq_out_clean(j->reason, reason, sizeof(reason)));
    fputc('\n', f);
}

static void line_resources(FILE *f, const struct mlq_jobinfo *j)
{
    char cpus[32], mem[32], ask[MLQ_MAX_GPU_TYPES + 64], gpus[MLQ_MAX_GPU_TYPES + 64];
    mlq_res_fmt_gpu_ask(j->gpus, j->gpu_frac, j->gpu_mem, j->gpu_type, ask, sizeof(ask));
    fprintf(f, "%-11s cpus %s, mem %s, gpus %s\n",
            "resources:", mlq_res_fmt_cpus(j->cpus_m, cpus, sizeof(cpus)),
            mlq_res_fmt_mem(j->mem, mem, sizeof(mem)), mlq_out_clean(ask, gpus, sizeof(gpus)));
}

/* Where it may run and how early: pool, required labels, priority. */
static void lines_placement(FILE *f, const struct mlq_jobinfo *j)
{
    char buf[MLQ_MAX_LABELS * (MLQ_MAX_LABEL_LEN + 2) + 1] = "", one[MLQ_MAX_LABEL_LEN + 1];
    line(f, "pool:", j->pool && j->pool[0] ? j->pool : "default");
    for (uint32_t i = 0; j->require && i < j->nrequire; i++) {
        size_t used = strlen(buf);
        snprintf(buf + used, sizeof buf - used, "%s%s", i ? ", " : "",
                 mlq_out_clean(j->require[i], one, sizeof one));
    }
    line(f, "requires:", buf[0] ? buf : "none");
    snprintf(buf, sizeof buf, "%d", (int)j->priority);
    line(f, "priority:", buf);
}

static void lines_times(FILE *f, const struct mlq_jobinfo *j, int64_t now_ms)
{
    char buf[64];
    line(f, "submitted:", mlq_out_time_local(j->submit_ms, buf, sizeof(buf)));
    line(f, "started:", mlq_out_time_local(j->start_ms, buf, sizeof(buf)));
    line(f, "ended:", mlq_out_time_local(j->end_ms, buf, sizeof(buf)));
    if (j->start_ms > 0) {
        int64_t end = j->end_ms > 0 ? j->end_ms : now_ms;
        int64_t ms = end > j->start_ms ? end - j->start_ms : 0;
        line(f, "run time:", mlq_res_fmt_duration(ms, buf, sizeof(buf)));
    }
}

/* Retries used/allowed, when the next run may start, lost workers, limit. */
static void lines_retries(FILE *f, const struct mlq_jobinfo *j, int64_t now_ms)
{
    char buf[128], t[64], d[32];
    if (j->retries > 0) {
        snprintf(buf, sizeof(buf), "%d of %d used", mlq_out_retries_used(j), (int)j->retries);
        line(f, "retries:", buf);
    }
    if (j->state == MLQ_JOB_PENDING && j->not_before_ms > 0) {
        mlq_out_time_local(j->not_before_ms, t, sizeof(t));
        if (j->not_before_ms > now_ms)
            snprintf(buf, sizeof(buf), "%s (in %s)", t,
                     mlq_res_fmt_duration(j->not_before_ms - now_ms, d, sizeof(d)));
        else
            snprintf(buf, sizeof(buf), "%s", t);
        line(f, "retry at:", buf);
    }
    if (j->node_failures > 0) {
        snprintf(buf, sizeof(buf), "%d (attempts lost with their worker)", (int)j->node_failures);
        line(f, "node fails:", buf);
    }
    if (j->time_limit_ms > 0)
        line(f, "time limit:", mlq_res_fmt_duration(j->time_limit_ms, d, sizeof(d)));
}

/* The array a task belongs to, and what the job waits for. */
static void lines_pipeline(FILE *f, const struct mlq_jobinfo *j)
{
    char buf[1024], id[MLQ_SHORT_ID_LEN + 1];
    if (j->array_id && j->array_index >= 0) {
        snprintf(id, sizeof(id), "%.*s", MLQ_SHORT_ID_LEN, j->array_id);
        snprintf(buf, sizeof(buf), "%s/%d (task %d of array %s)", id, (int)j->array_index,
                 (int)j->array_index, id);
        line(f, "array:", buf);
    }
    size_t pos = 0;
    buf[0] = '\0';
    for (uint32_t i = 0; j->deps && i < j->ndeps && pos + 64 < sizeof(buf); i++) {
        snprintf(id, sizeof(id), "%.*s", MLQ_SHORT_ID_LEN, j->deps[i].target);
        static const char *const words[] = {"succeeded", "ended", "failed"};
        const char *w = (unsigned)j->deps[i].kind < 3 ? words[j->deps[i].kind] : "?";
        pos += (size_t)snprintf(buf + pos, sizeof(buf) - pos, "%s%s %s", i ? ", " : "", id, w);
    }
    if (buf[0])
        line(f, "after:", buf);
}

static const char *att_colour(enum mlq_attempt_state s)
{
    switch (s) {
    case MLQ_ATT_SUCCEEDED:
        return mlq_out_state_colour(MLQ_JOB_SUCCEEDED);
    case MLQ_ATT_FAILED:
    case MLQ_ATT_TIMED_OUT:
    case MLQ_ATT_LOST:
        return mlq_out_state_colour(MLQ_JOB_FAILED);
    case MLQ_ATT_ASSIGNED:
    case MLQ_ATT_RUNNING:
    case MLQ_ATT_PREEMPTED:
        return mlq_out_state_colour(MLQ_JOB_RUNNING);
    default:
        return NULL;
    }
}

static int add_attempt_row(struct mlq_table *t, const struct mlq_attemptinfo *a)
{
    char num[16], id[MLQ_SHORT_ID_LEN + 1], start[32], end[32], ex[32], detail[DETAIL_MAX + 1];
    snprintf(num, sizeof(num), "%d", (int)a->num);
    /* An attempt id begins with the time it was made (attempts made within
     * a minute share their first characters): its random end tells them
     * apart. */
    size_t idlen = strnlen(a->id, MLQ_ID_LEN);
    snprintf(id, sizeof(id), "%s",
             a->id + (idlen > MLQ_SHORT_ID_LEN ? idlen - MLQ_SHORT_ID_LEN : 0));
    const char *cells[] = {
        num,
        id,
        a->worker,
        mlq_attempt_state_name(a->state),
        mlq_out_time_local(a->start_ms, start, sizeof(start)),
        mlq_out_time_local(a->end_ms, end, sizeof(end)),
        mlq_out_exit_text(a->exit_code, a->signal, ex, sizeof(ex)),
        a->detail ? mlq_out_clean(a->detail, detail, sizeof(detail)) : NULL,
    };
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof(cells) / sizeof(cells[0]); i++)
        rc = mlq_table_add(t, cells[i], i == 3 ? att_colour(a->state) : NULL);
    return rc;
}

static int print_attempts(FILE *f, const struct mlq_jobinfo *j, bool colour)
{
    static const char *const headers[] = {"#",     "ATTEMPT", "WORKER", "STATE",
                                          "START", "END",     "EXIT",   "DETAIL"};
    if (!j->attempts || j->nattempts == 0)
        return 0;
    struct mlq_table *t = mlq_table_create(8, headers);
    int rc = t ? 0 : MLQ_ENOMEM;
    for (uint32_t i = 0; rc == 0 && i < j->nattempts; i++)
        rc = add_attempt_row(t, &j->attempts[i]);
    if (rc == 0) {
        fputs("\nattempts:\n", f);
        rc = mlq_table_print(t, f, colour);
    }
    mlq_table_destroy(&t);
    return rc;
}

static int add_part_row(struct mlq_table *t, const struct mlq_partinfo *p)
{
    char rank[16], start[32], end[32], ex[32], detail[DETAIL_MAX + 1];
    snprintf(rank, sizeof(rank), "%d", (int)p->rank);
    const char *cells[] = {
        rank,
        p->worker,
        p->addr,
        mlq_attempt_state_name(p->state),
        p->gpu_ids && p->gpu_ids[0] ? p->gpu_ids : NULL,
        mlq_out_time_local(p->start_ms, start, sizeof(start)),
        mlq_out_time_local(p->end_ms, end, sizeof(end)),
        mlq_out_exit_text(p->exit_code, p->signal, ex, sizeof(ex)),
        p->detail ? mlq_out_clean(p->detail, detail, sizeof(detail)) : NULL,
    };
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof(cells) / sizeof(cells[0]); i++)
        rc = mlq_table_add(t, cells[i], i == 3 ? att_colour(p->state) : NULL);
    return rc;
}

/* A gang's node parts of its current (or last) attempt, in rank order as
 * the scheduler sent them. */
static int print_parts(FILE *f, const struct mlq_jobinfo *j, bool colour)
{
    static const char *const headers[] = {"RANK",  "WORKER", "ADDRESS", "STATE", "GPUS",
                                          "START", "END",    "EXIT",    "DETAIL"};
    if (!j->parts || j->nparts == 0)
        return 0;
    struct mlq_table *t = mlq_table_create(9, headers);
    int rc = t ? 0 : MLQ_ENOMEM;
    for (uint32_t i = 0; rc == 0 && i < j->nparts; i++)
        rc = add_part_row(t, &j->parts[i]);
    if (rc == 0) {
        fprintf(f, "\nnodes of attempt %d:\n", (int)j->attempt);
        rc = mlq_table_print(t, f, colour);
    }
    mlq_table_destroy(&t);
    return rc;
}

/* What each ended attempt used, one line each, under the table: "mem:
 * asked 64M, peak 63M; cpu: asked 1, used 1.2 cpu-s over 3.0 s". */
static void print_usage(FILE *f, const struct mlq_jobinfo *j)
{
    bool any = false;
    for (uint32_t i = 0; j->attempts && i < j->nattempts; i++) {
        const struct mlq_attemptinfo *a = &j->attempts[i];
        char text[512];
        if (!mlq_usage_any(&a->usage))
            continue;
        mlq_usage_format(&a->usage, j->mem, j->cpus_m, text, sizeof text);
        if (!any)
            fputs("\nusage:\n", f);
        any = true;
        fprintf(f, "  %-3d %s (%s)\n", (int)a->num, text, a->usage.source);
    }
}

int mlq_jobview_print(FILE *f, const struct mlq_jobinfo *j, bool colour, int64_t now_ms)
{
    char buf[4096];
    line(f, "id:", j->id);
    line(f, "name:", j->name);
    line_state(f, j, colour);
    if (j->held_by && j->state == MLQ_JOB_PENDING) {
        char t[64], who[MLQ_MAX_NAME + 1];
        snprintf(buf, sizeof(buf), "by %s since %s (mlq release starts it)",
                 mlq_out_clean(j->held_by, who, sizeof(who)),
                 mlq_out_time_local(j->held_ms, t, sizeof(t)));
        line(f, "held:", buf);
    }
    line(f, "owner:", j->owner);
    if (j->team)
        line(f, "team:", j->team);
    if (j->project)
        line(f, "project:", j->project);
    line(f, "command:", mlq_out_argv(j->argv, j->argc, buf, sizeof(buf)));
    line(f, "workdir:", j->workdir);
    line_resources(f, j);
    lines_placement(f, j);
    if (j->nodes > 0) {
        snprintf(buf, sizeof(buf), "%u (the resources above on each)", (unsigned)j->nodes);
        line(f, "nodes:", buf);
    }
    lines_pipeline(f, j);
    if (j->attempt > 0) {
        char id[64];
        snprintf(buf, sizeof(buf), "%d (%s)", (int)j->attempt,
                 mlq_out_clean(j->attempt_id, id, sizeof(id)));
        line(f, "attempt:", buf);
    }
    lines_retries(f, j, now_ms);
    line(f, "worker:", j->worker);
    if (j->gpus > 0 || j->gpu_frac > 0 || j->gpu_mem > 0 || (j->gpu_ids && j->gpu_ids[0]))
        line(f, "gpu ids:", j->gpu_ids);
    lines_times(f, j, now_ms);
    if (j->exit_code >= 0 || j->signal > 0)
        line(f, "exit:", mlq_out_outcome(j, buf, sizeof(buf)));
    int rc = print_parts(f, j, colour);
    if (rc == 0)
        rc = print_attempts(f, j, colour);
    if (rc == 0)
        print_usage(f, j);
    if (rc == 0 && ferror(f))
        rc = MLQ_EIO;
    return rc;
}

/* "3 pending, 2 running, 990 succeeded, 5 failed": the non-zero counts. */
static void counts_text(const struct mlq_arrayinfo *a, char *buf, size_t len)
{
    size_t pos = 0;
    buf[0] = '\0';
    for (int s = 0; s < MLQ_JOB_STATE_COUNT && pos < len; s++)
        if (a->counts[s] > 0)
            pos += (size_t)snprintf(buf + pos, len - pos, "%s%u %s", pos ? ", " : "", a->counts[s],
                                    mlq_out_state_word((enum mlq_job_state)s));
    if (!buf[0])
        snprintf(buf, len, "none yet");
}

int mlq_jobview_print_array(FILE *f, const struct mlq_arrayinfo *a, bool colour)
{
    (void)colour;
    char buf[4096], id[MLQ_SHORT_ID_LEN + 1];
    line(f, "array:", a->id);
    line(f, "name:", a->name);
    line(f, "owner:", a->owner);
    line(f, "command:", mlq_out_argv(a->argv, a->argc, buf, sizeof(buf)));
    if (a->max_running > 0)
        snprintf(buf, sizeof(buf), "%u (at most %u running at once)", a->size, a->max_running);
    else
        snprintf(buf, sizeof(buf), "%u", a->size);
    line(f, "tasks:", buf);
    line(f, "submitted:", mlq_out_time_local(a->submit_ms, buf, sizeof(buf)));
    counts_text(a, buf, sizeof(buf));
    line(f, "states:", buf);
    uint32_t ended = mlq_jsonview_array_ended(a);
    snprintf(buf, sizeof(buf), "%s (%u of %u tasks ended)",
             ended >= a->size ? (a->counts[MLQ_JOB_SUCCEEDED] == a->size ? "succeeded" : "ended")
                              : "in progress",
             ended, a->size);
    line(f, "progress:", buf);
    if (a->failed)
        line(f, "not ok:", a->failed);
    snprintf(id, sizeof(id), "%.*s", MLQ_SHORT_ID_LEN, a->id);
    fprintf(f, "%-11s mlq status %s/N, mlq logs %s/N\n", "one task:", id, id);
    return ferror(f) ? MLQ_EIO : 0;
}
