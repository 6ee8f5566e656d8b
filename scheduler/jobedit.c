/* jobedit: see jobedit.h. A hold is a flag on a PENDING job, not a state:
 * the state machine (DESIGN.md) stays as it is, a held job keeps its place
 * (the queue orders by priority and submit time, both unchanged) and every
 * other rule about PENDING jobs (cancel, dependencies, retention) holds. */
#include "jobedit.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "client.h"
#include "jobops.h"
#include "jobops_int.h"
#include "log.h"
#include "outbox.h"
#include "queue.h"
#include "res.h"
#include "store.h"

#define DETAIL_MAX 512

static const char *actor(const struct mlq_ctx *c)
{
    return c->who.name[0] ? c->who.name : "?";
}

bool mlq_jobedit_held_text(const struct mlq_job *job, char *buf, size_t len)
{
    if (!job->row.spec.held_by)
        return false;
    time_t at = (time_t)(job->row.spec.held_ms / 1000);
    struct tm tm;
    char when[64] = "?";
    if (localtime_r(&at, &tm))
        strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S %Z", &tm);
    snprintf(buf, len, "held by %s at %s; `mlq release` lets it run", job->row.spec.held_by, when);
    return true;
}

int mlq_jobedit_hold_on_submit(struct mlq_ctx *c, struct mlq_jobspec *spec, struct mlq_err *err)
{
    if (!spec->held_by)
        return 0;
    free(spec->held_by);
    spec->held_by = strdup(c->who.insecure && spec->owner ? spec->owner : actor(c));
    spec->held_ms = c->now_wall;
    return spec->held_by ? 0 : mlq_err_set(err, MLQ_ENOMEM, "out of memory");
}

int mlq_jobedit_note_submit_hold(struct mlq_ctx *c, const char *id, struct mlq_err *err)
{
    const struct mlq_job *job = mlq_jobtab_get(c->jobs, id);
    if (!job || !job->row.spec.held_by)
        return 0;
    char detail[DETAIL_MAX];
    snprintf(detail, sizeof detail, "held by %s (submitted held)", job->row.spec.held_by);
    int rc = mlq_store_begin(c->store, err);
    return rc < 0 ? rc : mlq_store_job_event(c->store, &job->row, "hold", detail, err);
}

/* The live PENDING job id, or an error that names its state. */
static int pending_job(struct mlq_ctx *c, const char *id, const char *what, struct mlq_job **out,
                       struct mlq_err *err)
{
    struct mlq_job *job = mlq_jobtab_get(c->jobs, id);
    *out = job;
    if (job && job->row.state == MLQ_JOB_PENDING)
        return 0;
    enum mlq_job_state st = job ? job->row.state : MLQ_JOB_SUCCEEDED;
    if (!job) { /* not in memory: ended; the store says how */
        struct mlq_store_job row;
        int rc = mlq_store_job_get(c->store, id, &row, err);
        if (rc < 0)
            return rc;
        st = row.state;
        mlq_store_job_free(&row);
    }
    return mlq_err_set(err, MLQ_EINVAL, "job %.8s is %s; only pending jobs can be %s", id,
                       mlq_job_state_name(st), what);
}

/* ---- hold / release ------------------------------------------------------ */

static int set_hold(struct mlq_ctx *c, struct mlq_job *job, bool release, struct mlq_err *err)
{
    if (release == !job->row.spec.held_by)
        return 0; /* already as asked */
    char detail[DETAIL_MAX];
    if (release) {
        snprintf(detail, sizeof detail, "released by %s (held by %s)", actor(c),
                 job->row.spec.held_by);
        free(job->row.spec.held_by);
        job->row.spec.held_by = NULL;
        job->row.spec.held_ms = 0;
    } else {
        char *by = strdup(actor(c));
        if (!by)
            return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
        job->row.spec.held_by = by;
        job->row.spec.held_ms = c->now_wall;
        snprintf(detail, sizeof detail, "held by %s", by);
    }
    int rc = mlq_store_begin(c->store, err);
    if (rc == 0)
        rc = mlq_store_job_respec(c->store, &job->row, release ? "release" : "hold", detail, err);
    if (rc < 0)
        return rc;
    mlq_info("job %.8s %s", job->row.id, detail);
    if (!release) {
        mlq_queue_remove(c->queue, job);
        c->dirty = true; /* a reservation it had frees the others */
        return 0;
    }
    /* On dependencies: deps.c queues it once they are met. */
    return job->held ? 0 : mlq_jobops_enqueue(c, job, err);
}

/* An array's tasks that are PENDING (the others are left alone). */
static int hold_array(struct mlq_ctx *c, const char *id, bool release, struct mlq_err *err)
{
    char(*tasks)[MLQ_ID_LEN + 1] = NULL;
    uint32_t n = 0;
    int rc = mlq_store_array_active_tasks(c->store, id, &tasks, &n, err);
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        struct mlq_job *job = mlq_jobtab_get(c->jobs, tasks[i]);
        if (job && job->row.state == MLQ_JOB_PENDING)
            rc = set_hold(c, job, release, err);
    }
    free(tasks);
    return rc;
}

int mlq_jobedit_on_hold(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                        struct mlq_err *err)
{
    uint32_t n = msg->u.hold.nids;
    bool release = msg->u.hold.release;
    const char *what = release ? "released" : "held";
    if (n == 0)
        return mlq_err_set(err, MLQ_EINVAL, "%s needs at least one job id",
                           release ? "release" : "hold");
    char(*ids)[MLQ_ID_LEN + 1] = calloc(n, sizeof *ids);
    bool *is_array = calloc(n, sizeof *is_array);
    int rc = ids && is_array ? 0 : mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    /* Every reference is checked first: all allowed, or nothing changes. */
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        rc = mlq_store_resolve(c->store, msg->u.hold.ids[i], ids[i], &is_array[i], err);
        if (rc == 0)
            rc = mlq_client_check_owner(c, ids[i], is_array[i], err);
        struct mlq_job *job;
        if (rc == 0 && !is_array[i])
            rc = pending_job(c, ids[i], what, &job, err);
    }
    for (uint32_t i = 0; rc == 0 && i < n; i++)
        rc = is_array[i] ? hold_array(c, ids[i], release, err)
                         : set_hold(c, mlq_jobtab_get(c->jobs, ids[i]), release, err);
    free(ids);
    free(is_array);
    if (rc < 0)
        return rc;
    struct mlq_msg m = {.type = MLQ_MSG_OK, .rid = msg->rid};
    return mlq_outbox_reply(c->out, peer, &m, err);
}

/* ---- update -------------------------------------------------------------- */

static void append(char *buf, size_t len, const char *fmt, const char *a, const char *b,
                   const char *name)
{
    size_t used = strlen(buf);
    if (used < len)
        snprintf(buf + used, len - used, fmt, used ? ", " : "", name, a, b);
}

/* "priority 0 -> 5, mem 64M -> 128M": what the change does to old. */
static void describe(const struct mlq_jobspec *old, const struct mlq_jobspec *neu, char *buf,
                     size_t len)
{
    char a[32], b[32];
    const char *f = "%s%s %s -> %s";
    buf[0] = '\0';
    if (old->priority != neu->priority) {
        snprintf(a, sizeof a, "%" PRId32, old->priority);
        snprintf(b, sizeof b, "%" PRId32, neu->priority);
        append(buf, len, f, a, b, "priority");
    }
    if (old->time_limit_ms != neu->time_limit_ms)
        append(buf, len, f,
               old->time_limit_ms ? mlq_res_fmt_duration(old->time_limit_ms, a, sizeof a) : "none",
               neu->time_limit_ms ? mlq_res_fmt_duration(neu->time_limit_ms, b, sizeof b) : "none",
               "time limit");
    if (old->cpus_m != neu->cpus_m)
        append(buf, len, f, mlq_res_fmt_cpus(old->cpus_m, a, sizeof a),
               mlq_res_fmt_cpus(neu->cpus_m, b, sizeof b), "cpus");
    if (old->mem != neu->mem)
        append(buf, len, f, mlq_res_fmt_mem(old->mem, a, sizeof a),
               mlq_res_fmt_mem(neu->mem, b, sizeof b), "mem");
    if (old->gpus != neu->gpus) {
        snprintf(a, sizeof a, "%" PRId32, old->gpus);
        snprintf(b, sizeof b, "%" PRId32, neu->gpus);
        append(buf, len, f, a, b, "gpus");
    }
    if (old->retries != neu->retries) {
        snprintf(a, sizeof a, "%" PRId32, old->retries);
        snprintf(b, sizeof b, "%" PRId32, neu->retries);
        append(buf, len, f, a, b, "retries");
    }
}

static void apply(const struct mlq_jobchange *ch, struct mlq_jobspec *s)
{
    if (ch->set & MLQ_CHANGE_PRIORITY)
        s->priority = ch->priority;
    if (ch->set & MLQ_CHANGE_TIME_LIMIT)
        s->time_limit_ms = ch->time_limit_ms;
    if (ch->set & MLQ_CHANGE_CPUS)
        s->cpus_m = ch->cpus_m;
    if (ch->set & MLQ_CHANGE_MEM)
        s->mem = ch->mem;
    if (ch->set & MLQ_CHANGE_GPUS)
        s->gpus = ch->gpus;
    if (ch->set & MLQ_CHANGE_RETRIES)
        s->retries = ch->retries;
}

/* The changed spec is checked by the submit's own rules, on a copy: a
 * refused change leaves the job as it was. */
static int update_job(struct mlq_ctx *c, struct mlq_job *job, const struct mlq_jobchange *ch,
                      struct mlq_err *err)
{
    struct mlq_jobspec neu;
    int rc = mlq_proto_jobspec_copy(&neu, &job->row.spec, err);
    if (rc < 0)
        return rc;
    apply(ch, &neu);
    if ((rc = mlq_proto_jobspec_check(&neu, err)) < 0) {
        mlq_proto_jobspec_free(&neu);
        return rc;
    }
    char detail[DETAIL_MAX];
    describe(&job->row.spec, &neu, detail, sizeof detail);
    if (!detail[0]) {
        mlq_proto_jobspec_free(&neu);
        return 0; /* nothing changes */
    }
    bool queued = job->queued;
    mlq_queue_remove(c->queue, job); /* its shape and order may change */
    mlq_jobtab_respec(c->jobs, job, &neu);
    rc = mlq_store_begin(c->store, err);
    if (rc == 0)
        rc = mlq_store_job_respec(c->store, &job->row, "update", detail, err);
    if (rc == 0 && queued)
        rc = mlq_jobops_enqueue(c, job, err);
    if (rc == 0)
        mlq_info("job %.8s updated by %s: %s", job->row.id, actor(c), detail);
    return rc;
}

int mlq_jobedit_on_update(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                          struct mlq_err *err)
{
    const struct mlq_jobchange *ch = &msg->u.update;
    char id[MLQ_ID_LEN + 1];
    bool is_array = false;
    struct mlq_job *job = NULL;
    if (ch->set == 0)
        return mlq_err_set(err, MLQ_EINVAL, "update needs at least one change");
    int rc = mlq_store_resolve(c->store, ch->job, id, &is_array, err);
    if (rc == 0 && is_array)
        rc = mlq_err_set(err, MLQ_EINVAL, "%.8s is an array: update its tasks one by one (ARRAY/N)",
                         id);
    if (rc == 0)
        rc = mlq_client_check_owner(c, id, false, err);
    if (rc == 0)
        rc = pending_job(c, id, "updated", &job, err);
    if (rc == 0 && job->row.spec.nodes > 0 && (ch->set & ~MLQ_CHANGE_PRIORITY))
        rc = mlq_err_set(err, MLQ_EINVAL, "job %.8s is a gang: only its priority can be updated",
                         id);
    if (rc == 0)
        rc = update_job(c, job, ch, err);
    if (rc < 0)
        return rc;
    struct mlq_msg m = {.type = MLQ_MSG_OK, .rid = msg->rid};
    return mlq_outbox_reply(c->out, peer, &m, err);
}
