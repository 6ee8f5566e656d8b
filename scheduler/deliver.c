/* deliver: see deliver.h. */
#include "deliver.h"

#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "gang.h"
#include "jobops.h"
#include "log.h"
#include "pipeline.h"
#include "resend.h"
#include "strmap.h"

static int push_assign(struct mlq_ctx *c, const struct mlq_job *job, const struct mlq_worker *w,
                       struct mlq_err *err)
{
    int32_t gpu_ids[MLQ_MAX_GPUS];
    uint32_t n = 0;
    for (int i = 0; i < MLQ_MAX_GPUS; i++)
        if (mlq_job_run(job)->gpu_mask & (1ULL << i))
            gpu_ids[n++] = i;
    struct mlq_msg m = {.type = MLQ_MSG_ASSIGN};
    memcpy(m.u.assign.attempt_id, job->att->id, sizeof m.u.assign.attempt_id);
    memcpy(m.u.assign.job_id, job->row.id, sizeof m.u.assign.job_id);
    m.u.assign.attempt = job->att->num;
    m.u.assign.spec = job->row.spec;
    int rc = mlq_pipeline_task_env(c, job, &m.u.assign.spec.env, &m.u.assign.spec.envc, err);
    if (rc < 0)
        return rc;
    m.u.assign.gpu_ids = gpu_ids;
    m.u.assign.ngpu_ids = n;
    m.u.assign.kill_grace_ms = c->kill_grace_ms;
    m.u.assign.allow_root = c->allow_root;
    if (job->row.task_of) {
        const struct mlq_arrstate *arr = mlq_pipeline_array(c, job->row.task_of);
        snprintf(m.u.assign.array_id, sizeof m.u.assign.array_id, "%s", job->row.task_of);
        m.u.assign.array_index = job->row.array_index;
        m.u.assign.array_size = arr ? arr->size : 0;
    }
    return mlq_outbox_push(c->out, &w->peer, &m, err);
}

/* A KILL of attempt_id is a preemption while its job (or gang) is being
 * preempted: the worker then uses the job's preemption signal and grace. */
static bool preempting(struct mlq_ctx *c, const char *attempt_id)
{
    const struct mlq_job *job = mlq_jobtab_by_attempt(c->jobs, attempt_id);
    if (!job) {
        const struct mlq_gpart *p = mlq_jobtab_part(c->jobs, attempt_id);
        job = p ? p->job : NULL;
    }
    return job && job->row.spec.preempt_note && job->row.state != MLQ_JOB_CANCELLED;
}

static void push_kill(struct mlq_ctx *c, const struct mlq_worker *w, const char *attempt_id,
                      const char *reason)
{
    struct mlq_msg m = {.type = MLQ_MSG_KILL};
    m.u.kill.preempt = preempting(c, attempt_id);
    snprintf(m.u.kill.attempt_id, sizeof m.u.kill.attempt_id, "%s", attempt_id);
    m.u.kill.reason = (char *)reason;
    if (mlq_outbox_push(c->out, &w->peer, &m, NULL) < 0)
        mlq_warn("could not queue kill of attempt %s", attempt_id);
}

/* The first wait: one heartbeat interval (what a worker's reply takes at
 * worst on a healthy link), at most the cap. */
static int64_t first_wait(const struct mlq_ctx *c)
{
    return c->heartbeat_ms > 0 && c->heartbeat_ms < MLQ_RESEND_CAP_MS ? c->heartbeat_ms
                                                                      : MLQ_RESEND_CAP_MS;
}

static void arm(struct mlq_ctx *c, const char *attempt_id, enum mlq_resend_kind kind,
                int64_t deadline)
{
    if (!c->resend)
        return;
    struct mlq_resend_entry e = {.kind = kind, .interval = first_wait(c), .deadline = deadline};
    memcpy(e.attempt_id, attempt_id, sizeof e.attempt_id);
    e.due = c->now_mono + e.interval;
    if (deadline && e.due > deadline)
        e.due = deadline;
    if (mlq_resend_arm(c->resend, &e) < 0)
        mlq_warn("out of memory: attempt %s will not be resent", attempt_id);
}

int mlq_deliver_assign(struct mlq_ctx *c, struct mlq_job *job, const struct mlq_worker *w,
                       struct mlq_err *err)
{
    job->acked = false;
    mlq_job_run(job)->assign_epoch = w->epoch;
    arm(c, job->att->id, MLQ_RESEND_ASSIGN, c->now_mono + c->lease_ms);
    return push_assign(c, job, w, err);
}

/* The fencing KILL of attempt_id, resent while w stays on this
 * registration (once per registration: the map holds its epoch + 1). */
static void arm_fence(struct mlq_ctx *c, const struct mlq_worker *w, const char *attempt_id)
{
    uintptr_t tag = (uintptr_t)w->epoch + 1;
    if (!c->resend || !c->fencing || (uintptr_t)mlq_strmap_get(c->fencing, attempt_id) == tag)
        return;
    struct mlq_resend_entry e = {.kind = MLQ_RESEND_FENCE, .interval = first_wait(c)};
    memcpy(e.attempt_id, attempt_id, sizeof e.attempt_id);
    e.due = c->now_mono + e.interval;
    e.widx = mlq_workers_index(c->workers, w);
    e.epoch = w->epoch;
    if (mlq_strmap_put(c->fencing, attempt_id, (void *)tag) < 0 ||
        mlq_resend_arm(c->resend, &e) < 0) {
        mlq_strmap_take(c->fencing, attempt_id);
        mlq_warn("out of memory: the kill of attempt %s will not be resent", attempt_id);
    }
}

void mlq_deliver_kill(struct mlq_ctx *c, struct mlq_job *job, const struct mlq_worker *w,
                      const char *attempt_id, const char *reason)
{
    if (job && job->live && !job->kill_armed) {
        job->kill_armed = true;
        arm(c, attempt_id, MLQ_RESEND_KILL, 0);
    }
    if (!w || w->state != MLQ_WORKER_UP)
        return;
    if (!job)
        arm_fence(c, w, attempt_id);
    push_kill(c, w, attempt_id, reason);
}

void mlq_deliver_fence_ended(struct mlq_ctx *c, const char *attempt_id)
{
    if (c->fencing)
        mlq_strmap_take(c->fencing, attempt_id);
}

/* The timer again, after a doubled wait (never past the deadline). */
static void rearm(struct mlq_ctx *c, struct mlq_resend_entry *e)
{
    e->interval = mlq_resend_backoff(e->interval, MLQ_RESEND_CAP_MS);
    e->due = c->now_mono + e->interval;
    if (e->deadline && e->due > e->deadline)
        e->due = e->deadline;
    if (mlq_resend_arm(c->resend, e) < 0)
        mlq_warn("out of memory: attempt %s will not be resent", e->attempt_id);
}

/* A fencing KILL due again: sent while the attempt's end is unreported and
 * its worker is on the same registration; else forgotten. */
static void fence_due(struct mlq_ctx *c, struct mlq_resend_entry *e)
{
    uintptr_t tag = (uintptr_t)mlq_strmap_get(c->fencing, e->attempt_id);
    if (tag != (uintptr_t)e->epoch + 1)
        return; /* ended, or armed again under a newer registration */
    const struct mlq_worker *w = mlq_workers_at(c->workers, e->widx);
    if (!w || w->state != MLQ_WORKER_UP || w->epoch != e->epoch) {
        mlq_strmap_take(c->fencing, e->attempt_id);
        return; /* its next register is reconciled anew */
    }
    mlq_info("attempt %s: end not reported by %s, sending the kill again", e->attempt_id, w->name);
    push_kill(c, w, e->attempt_id, "attempt is no longer current");
    rearm(c, e);
}

static int assign_due(struct mlq_ctx *c, struct mlq_job *job, struct mlq_resend_entry *e,
                      struct mlq_err *err)
{
    if (job->att->state != MLQ_ATT_ASSIGNED || job->acked)
        return 0; /* acknowledged */
    if (c->now_mono >= e->deadline) {
        char why[MLQ_MAX_NAME + 96];
        snprintf(why, sizeof why, "worker %s did not acknowledge the assignment within %lld ms",
                 job->att->worker, (long long)c->lease_ms);
        return mlq_jobops_lose(c, job, why, err);
    }
    const struct mlq_worker *w = mlq_workers_at(c->workers, mlq_job_run(job)->widx);
    int rc = 0;
    /* A job cancelled meanwhile is not sent again (its KILL is); the
     * deadline still frees what its attempt holds. */
    if (w && w->state == MLQ_WORKER_UP && job->row.state != MLQ_JOB_CANCELLED) {
        mlq_info("attempt %s: assignment not acknowledged by %s, sending it again", job->att->id,
                 w->name);
        rc = push_assign(c, job, w, err);
    }
    rearm(c, e);
    return rc;
}

static void kill_due(struct mlq_ctx *c, struct mlq_job *job, struct mlq_resend_entry *e)
{
    if (job->row.state != MLQ_JOB_CANCELLED && !job->row.spec.preempt_note) {
        job->kill_armed = false;
        return;
    }
    const struct mlq_worker *w = mlq_workers_at(c->workers, mlq_job_run(job)->widx);
    if (w && w->state == MLQ_WORKER_UP) {
        mlq_info("attempt %s: end not reported by %s, sending the kill again", job->att->id,
                 w->name);
        push_kill(c, w, job->att->id, job->row.reason ? job->row.reason : "cancelled");
    }
    rearm(c, e);
}

void mlq_deliver_arm_part(struct mlq_ctx *c, const char *part_id)
{
    arm(c, part_id, MLQ_RESEND_ASSIGN, c->now_mono + c->lease_ms);
}

/* A gang part's ASSIGN, as assign_due: resent until acknowledged, lost
 * (with its gang's attempt) one lease after its dispatch. */
static int part_assign_due(struct mlq_ctx *c, struct mlq_gpart *p, struct mlq_resend_entry *e,
                           struct mlq_err *err)
{
    if (p->row.a.state != MLQ_ATT_ASSIGNED || p->acked)
        return 0;
    if (c->now_mono >= e->deadline) {
        char why[MLQ_MAX_NAME + 96];
        snprintf(why, sizeof why, "worker %s did not acknowledge the assignment within %lld ms",
                 p->row.a.worker, (long long)c->lease_ms);
        return mlq_gang_lose_part(c, p, why, true, err);
    }
    int rc = 0;
    if (!mlq_job_gang(p->job)->stopping && p->job->row.state != MLQ_JOB_CANCELLED) {
        mlq_info("gang part %s: assignment not acknowledged by %s, sending it again", p->row.a.id,
                 p->row.a.worker);
        rc = mlq_gang_push_assign(c, p, err);
    }
    rearm(c, e);
    return rc;
}

int mlq_deliver_tick(struct mlq_ctx *c, struct mlq_err *err)
{
    struct mlq_resend_entry e;
    while (c->resend && mlq_resend_pop_due(c->resend, c->now_mono, &e)) {
        if (e.kind == MLQ_RESEND_FENCE) {
            if (c->fencing)
                fence_due(c, &e);
            continue;
        }
        struct mlq_gpart *part = mlq_jobtab_part(c->jobs, e.attempt_id);
        if (part) {
            int rc = e.kind == MLQ_RESEND_ASSIGN ? part_assign_due(c, part, &e, err) : 0;
            if (rc < 0)
                return rc;
            continue;
        }
        struct mlq_job *job = mlq_jobtab_by_attempt(c->jobs, e.attempt_id);
        if (!job || !job->live)
            continue; /* its end was reported: nothing to send any more */
        int rc = 0;
        if (e.kind == MLQ_RESEND_ASSIGN)
            rc = assign_due(c, job, &e, err);
        else
            kill_due(c, job, &e);
        if (rc < 0)
            return rc;
    }
    return 0;
}
