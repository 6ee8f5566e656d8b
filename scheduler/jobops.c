/* jobops: see jobops.h.
 *
 * Invariants kept here:
 * - a job in the table is non-terminal or has a live attempt;
 * - a job is in the queue iff its state is PENDING;
 * - a worker's usage is the sum of the requests of live attempts on it;
 * - every change reaches the store (inside the loop's transaction) before the
 *   message that depends on it is queued in the outbox. */
#include "jobops.h"
#include "metrics.h"
#include "jobops_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fsm.h"
#include "id.h"
#include "leftover.h"
#include "log.h"
#include "placement.h"
#include "queue.h"
#include "backfill.h"
#include "fairshare.h"
#include "why.h"
#include "deps.h"
#include "pipeline.h"
#include "deliver.h"
#include "health.h"
#include "gang.h"
#include "quota.h"
#include "preemptrun.h"

static struct mlq_request job_request(const struct mlq_job *job)
{
    return mlq_place_request(&job->row.spec);
}

static int set_reason(struct mlq_job *job, const char *reason)
{
    free(job->row.reason);
    job->row.reason = reason ? strdup(reason) : NULL;
    return reason && !job->row.reason ? MLQ_ENOMEM : 0;
}

/* Remembers that target (a job, or the array of a task) ended, so that the
 * jobs waiting on it are looked at before the next placement pass. */
static int note_ended(struct mlq_ctx *c, const char *target)
{
    if (c->nended == c->cap_ended) {
        size_t cap = c->cap_ended ? c->cap_ended * 2 : 64;
        char(*v)[MLQ_ID_LEN + 1] = realloc(c->ended, cap * sizeof *v);
        if (!v)
            return MLQ_ENOMEM;
        c->ended = v;
        c->cap_ended = cap;
    }
    snprintf(c->ended[c->nended++], MLQ_ID_LEN + 1, "%s", target);
    return 0;
}

/* ---- rows written late ------------------------------------------------
 * Within one iteration (one transaction) a row is written once where it
 * can be: it would be rewritten anyway.
 * - A job submitted in the iteration gets its row when it first moves
 *   (most often: placed at once, so its row goes in as ASSIGNED) or, still
 *   PENDING, just before the commit. Its submit order is reserved at once
 *   (the queue sorts by it).
 * - A start report leaves the job's and the attempt's rows for later: a
 *   job that ends in the same iteration rewrites both.
 * Events are never late, so their order is the order things happened in.
 * Rows are written before their job or attempt leaves memory, and anything
 * that reads jobs from the store runs after mlq_jobops_flush (the loop calls
 * it before every request but submits and worker traffic, and before the
 * commit). */

/* Lists job for the flush (once). */
static int late_add(struct mlq_ctx *c, struct mlq_job *job)
{
    if (job->late)
        return 0;
    if (c->nlate == c->cap_late) {
        size_t cap = c->cap_late ? c->cap_late * 2 : 64;
        struct mlq_job **v = realloc(c->late, cap * sizeof *v);
        if (!v)
            return MLQ_ENOMEM;
        c->late = v;
        c->cap_late = cap;
    }
    job->late = true;
    job->late_idx = c->nlate;
    c->late[c->nlate++] = job;
    return 0;
}

/* Takes job off the list once nothing of it waits. */
static void late_done(struct mlq_ctx *c, struct mlq_job *job)
{
    if (job->late && !job->fresh && !job->row_late && !job->att_late) {
        c->late[job->late_idx] = NULL;
        job->late = false;
    }
}

/* Writes job's row now: inserted when fresh, else updated; the "state"
 * event when from (the state it was last saved in) differs. */
int mlq_jobops_persist(struct mlq_ctx *c, struct mlq_job *job, enum mlq_job_state from,
                       struct mlq_err *err)
{
    int rc = mlq_store_begin(c->store, err);
    if (rc == 0 && job->fresh)
        rc = mlq_store_job_insert_row(c->store, &job->row, err);
    if (rc == 0)
        rc = job->fresh ? mlq_store_job_note(c->store, &job->row, from, err)
                        : mlq_store_job_save(c->store, &job->row, from, err);
    if (rc < 0)
        return rc;
    job->fresh = job->row_late = false;
    late_done(c, job);
    return 0;
}

/* The "state" event now, the row at the flush (or sooner). */
static int persist_late(struct mlq_ctx *c, struct mlq_job *job, enum mlq_job_state from,
                        struct mlq_err *err)
{
    int rc = mlq_store_begin(c->store, err);
    if (rc == 0)
        rc = mlq_store_job_note(c->store, &job->row, from, err);
    if (rc == 0 && late_add(c, job) < 0)
        return mlq_err_set(err, MLQ_EDB, "out of memory saving job %.8s", job->row.id);
    if (rc == 0)
        job->row_late = true;
    return rc;
}

/* job_moves: the job's own transition is saved next and its event names
 * the attempt, so the attempt's step needs no event of its own. */
int mlq_jobops_save_attempt(struct mlq_ctx *c, struct mlq_job *job,
                            const struct mlq_store_attempt *a, int prev, bool job_moves,
                            struct mlq_err *err)
{
    int rc = mlq_store_begin(c->store, err);
    if (rc == 0)
        rc = mlq_store_attempt_save(c->store, a, prev, !job_moves, err);
    if (rc == 0 && a == job->att) {
        job->att_late = false;
        late_done(c, job);
    }
    return rc;
}

int mlq_jobops_flush(struct mlq_ctx *c, struct mlq_err *err)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < c->nlate; i++) {
        struct mlq_job *job = c->late[i];
        if (!job)
            continue;
        if (job->fresh || job->row_late)
            rc = mlq_jobops_persist(c, job, job->row.state, err);
        if (rc == 0 && job->att_late)
            rc = mlq_jobops_save_attempt(c, job, job->att, (int)job->att->state, true, err);
    }
    if (rc == 0)
        c->nlate = 0;
    return rc;
}

void mlq_jobops_forget_late(struct mlq_ctx *c)
{
    c->nlate = 0;
}

/* Moves job through the state machine and persists the new row (later
 * when late: see above). */
static int transition_ex(struct mlq_ctx *c, struct mlq_job *job, enum mlq_fsm_event ev,
                         const char *reason, bool late, enum mlq_fsm_action *act,
                         struct mlq_err *err)
{
    enum mlq_job_state from = job->row.state, to;
    int rc = mlq_fsm_step(from, ev, &to, act, err);
    if (rc < 0)
        return rc;
    mlq_metrics_transition(c->metrics, job, from, to, c->now_wall);
    job->row.state = to;
    if (set_reason(job, reason) < 0)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    if (to == MLQ_JOB_RUNNING && !job->row.start_ms)
        job->row.start_ms = c->now_wall;
    if (mlq_job_state_terminal(to)) {
        job->row.end_ms = c->ending == job && c->ending_ms > 0 ? c->ending_ms : c->now_wall;
        mlq_deps_release(c->deps, job);
        if (note_ended(c, job->row.id) < 0 ||
            (job->row.task_of && note_ended(c, job->row.task_of) < 0))
            return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    }
    return late && !job->fresh ? persist_late(c, job, from, err)
                               : mlq_jobops_persist(c, job, from, err);
}

int mlq_jobops_transition(struct mlq_ctx *c, struct mlq_job *job, enum mlq_fsm_event ev,
                          const char *reason, enum mlq_fsm_action *act, struct mlq_err *err)
{
    return transition_ex(c, job, ev, reason, false, act, err);
}

/* Takes the live attempt off its worker's running attempts and out of the
 * table. With linger, its processes may still be there: its resources stay
 * booked on the worker until it says they are gone (leftover.h). */
void mlq_jobops_release_attempt(struct mlq_ctx *c, struct mlq_job *job, bool linger)
{
    /* A gang's parts hold its resources, and free them as they end. */
    struct mlq_worker *w =
        mlq_job_gang(job) ? NULL : mlq_workers_at(c->workers, mlq_job_run(job)->widx);
    struct mlq_request r = job_request(job);
    if (w)
        mlq_place_release(w, &r, mlq_job_run(job)->gpu_mask);
    if (w && linger &&
        mlq_leftover_keep(w, job->att->id, job->row.id, &r, mlq_job_run(job)->gpu_mask) < 0)
        mlq_warn("out of memory: the resources of attempt %s are free again at once", job->att->id);
    const struct mlq_jobspec *sp = &job->row.spec;
    int64_t end = job->att->end_ms > 0 ? job->att->end_ms : c->now_wall;
    int32_t nodes = sp->nodes > 0 ? (int32_t)sp->nodes : 1; /* a gang books every node */
    int32_t gpu_h = mlq_store_attempt_gpu_h(job->att, sp->gpus) * nodes;
    mlq_fairshare_stop_job(c->fs, sp->owner, sp->team, sp->cpus_m * nodes, gpu_h,
                           job->att->assigned_ms);
    mlq_quota_job_stopped(c, job);
    /* Up to now, not the worker's end time: the counter already showed the
     * attempt running until the last scrape, and must never go down. */
    mlq_metrics_gpu_share_time(c->metrics, sp->owner, gpu_h, job->att->assigned_ms, c->now_wall);
    if (mlq_fairshare_add_job(c->fs, sp->owner, sp->team, sp->cpus_m * nodes, gpu_h,
                              job->att->assigned_ms, end, c->now_wall) < 0)
        mlq_warn("fair share: out of memory");
    struct mlq_arrstate *arr = job->row.task_of ? mlq_pipeline_array(c, job->row.task_of) : NULL;
    if (arr && arr->running > 0)
        arr->running--;
    mlq_jobtab_clear_attempt(c->jobs, job);
    c->dirty = true;
}

/* Drops a job from memory once nothing about it can change any more. */
void mlq_jobops_forget_if_done(struct mlq_ctx *c, struct mlq_job *job)
{
    if (mlq_job_state_terminal(job->row.state) && !job->live)
        mlq_jobtab_remove(c->jobs, job);
}

/* job: the job whose live attempt this is (the KILL is then resent until
 * the attempt's end is reported); NULL for an attempt no longer current. */
void mlq_jobops_push_kill(struct mlq_ctx *c, struct mlq_job *job, const struct mlq_worker *w,
                          const char *attempt_id, const char *reason)
{
    if (!w || w->state != MLQ_WORKER_UP)
        w = NULL; /* it is fenced or killed when it registers again */
    mlq_deliver_kill(c, job, w, attempt_id, reason);
}

int mlq_jobops_lose(struct mlq_ctx *c, struct mlq_job *job, const char *why, struct mlq_err *err)
{
    return mlq_jobops_lose_attempt(c, job, why, MLQ_LOSE_NODE_FAULT | MLQ_LOSE_LINGER, err);
}

/* Into the pending queue, behind older jobs (the key is the submit order);
 * a job with a not-before time ahead waits in the queue's timer heap. */
int mlq_jobops_enqueue(struct mlq_ctx *c, struct mlq_job *job, struct mlq_err *err)
{
    if (job->row.spec.held_by) /* held by a user (jobedit.h): never placed */
        return 0;
    /* Effective priority = priority + waited / age_step - fair-share
     * penalty. Ordering by it is the same as ordering by submit time minus
     * priority * age_step (the waiting term is common to all jobs), which
     * does not change while a job waits: a static key, plus the owner's
     * penalty added when shapes are compared. */
    job->qkey = job->row.submit_ms - (int64_t)job->row.spec.priority * c->age_step_ms;
    /* Ready from now, or once its retry delay is over (metrics: queue wait). */
    mlq_job_set_pending(job, job->row.not_before_ms > c->now_wall ? job->row.not_before_ms
                                                                  : c->now_wall);
    if (mlq_queue_add(c->queue, job, c->now_wall) < 0)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory queueing job %.8s", job->row.id);
    struct mlq_request r = job_request(job);
    mlq_mix_observe(&c->placer.mix, &r); /* what pack and stranded GPUs expect to come */
    c->dirty = true;
    return 0;
}

static int add_job(struct mlq_ctx *c, struct mlq_store_job *row, bool late, struct mlq_job **out,
                   struct mlq_err *err)
{
    if (!row->id[0])
        mlq_id_new(row->id);
    row->state = MLQ_JOB_PENDING;
    row->exit_code = -1;
    row->submit_ms = c->now_wall;
    if (!row->task_of)
        row->array_index = -1;
    /* Concrete values from here on, so workers need no defaults of their own. */
    if (row->spec.kill_grace_ms <= 0)
        row->spec.kill_grace_ms = c->kill_grace_ms;
    if (row->spec.retry_backoff_ms <= 0)
        row->spec.retry_backoff_ms = MLQ_DEFAULT_BACKOFF_MS;
    mlq_preempt_spec_fill(c, &row->spec);
    int rc = mlq_store_begin(c->store, err);
    if (rc == 0 && late) /* the order and the submit event now, the row later */
        rc = mlq_store_job_reserve_seq(c->store, &row->seq, err);
    if (rc == 0)
        rc = late ? mlq_store_job_note(c->store, row, -1, err)
                  : mlq_store_job_insert(c->store, row, err);
    if (rc < 0)
        return rc;
    *out = mlq_jobtab_add(c->jobs, row);
    if (!*out)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory adding a job");
    /* Not stored and not in memory either: the iteration must not commit. */
    if (late && late_add(c, *out) < 0)
        return mlq_err_set(err, MLQ_EDB, "out of memory adding job %.8s", (*out)->row.id);
    (*out)->fresh = late;
    mlq_metrics_submitted(c->metrics);
    return 0;
}

int mlq_jobops_add(struct mlq_ctx *c, struct mlq_store_job *row, struct mlq_job **out,
                   struct mlq_err *err)
{
    return add_job(c, row, false, out, err);
}

int mlq_jobops_admit(struct mlq_ctx *c, struct mlq_job *job, struct mlq_err *err)
{
    if (job->row.spec.ndeps == 0)
        return mlq_jobops_enqueue(c, job, err);
    char why[192];
    switch (mlq_deps_check(c, job, why, sizeof why)) {
    case MLQ_DEPS_MET:
        mlq_deps_release(c->deps, job);
        return mlq_jobops_enqueue(c, job, err);
    case MLQ_DEPS_NEVER:
        mlq_deps_release(c->deps, job);
        return mlq_jobops_cancel(c, job, why, err);
    default:
        if (mlq_deps_hold(c->deps, job) < 0)
            return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
        return 0;
    }
}

int mlq_jobops_submit(struct mlq_ctx *c, struct mlq_jobspec *spec, char id[MLQ_ID_LEN + 1],
                      struct mlq_err *err)
{
    struct mlq_store_job row = {.spec = *spec};
    struct mlq_job *job;
    int rc = add_job(c, &row, true, &job, err);
    if (rc < 0)
        return rc;
    memset(spec, 0, sizeof *spec);
    memcpy(id, job->row.id, MLQ_ID_LEN + 1);
    mlq_info("job %.8s submitted by %s", id, job->row.spec.owner ? job->row.spec.owner : "?");
    return mlq_jobops_admit(c, job, err);
}

int mlq_jobops_settle(struct mlq_ctx *c, struct mlq_err *err)
{
    int rc = 0;
    /* Admitting may cancel a waiter, which appends to the list: walk by
     * index until it stops growing. */
    for (size_t i = 0; rc == 0 && i < c->nended; i++) {
        struct mlq_job **v;
        size_t n;
        char target[MLQ_ID_LEN + 1];
        memcpy(target, c->ended[i], sizeof target);
        if (mlq_deps_waiters(c->deps, target, &v, &n) < 0)
            return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
        for (size_t k = 0; rc == 0 && k < n; k++)
            if (v[k]->held && v[k]->row.state == MLQ_JOB_PENDING)
                rc = mlq_jobops_admit(c, v[k], err);
        free(v);
    }
    c->nended = 0;
    return rc;
}

/* Creates the attempt, records it ASSIGNED, reserves, queues ASSIGN. */
static int dispatch(struct mlq_ctx *c, struct mlq_job *job, struct mlq_worker *w,
                    struct mlq_err *err)
{
    struct mlq_request r = job_request(job);
    uint64_t mask = 0;
    if (mlq_pp_pick_gpus(&c->placer, w, &r, &mask) < 0)
        return 0; /* cannot happen when fits_now held; skip rather than fail */
    struct mlq_store_attempt a = {.num = job->row.attempts + 1, .state = MLQ_ATT_ASSIGNED};
    mlq_id_new_ordered(a.id);
    memcpy(a.job_id, job->row.id, sizeof a.job_id);
    a.job_seq = job->row.seq;
    snprintf(a.worker, sizeof a.worker, "%s", w->name);
    mlq_place_gpus_fmt(mask, a.gpu_ids, sizeof a.gpu_ids);
    a.gpu_h = mlq_place_gpu_h(w, &r, mask);
    a.assigned_ms = c->now_wall;
    a.exit_code = -1;

    job->row.attempts = a.num;
    mlq_idbin_set(&job->row.cur_att, a.id); /* canonical: made by mlq_id_new_ordered */
    enum mlq_fsm_action act;
    /* The job's row first: a job submitted in this iteration gets it only
     * now, and the attempt's row refers to it. */
    int rc = mlq_jobops_transition(c, job, MLQ_EV_DISPATCH, NULL, &act, err);
    if (rc == 0)
        rc = mlq_jobops_save_attempt(c, job, &a, -1, true, err);
    if (rc < 0)
        return rc;
    mlq_queue_remove(c->queue, job);
    mlq_preempt_release(c, job);
    if (mlq_jobtab_set_attempt(c->jobs, job, &a) < 0) /* stored, not in memory: reload */
        return mlq_err_set(err, MLQ_EDB, "out of memory placing job %.8s", job->row.id);
    job->confirmed = true;
    mlq_job_run(job)->gpu_mask = mask;
    mlq_job_run(job)->widx = mlq_workers_index(c->workers, w);
    mlq_place_reserve(w, &r, mask);
    struct mlq_arrstate *arr = job->row.task_of ? mlq_pipeline_array(c, job->row.task_of) : NULL;
    if (arr)
        arr->running++;
    if (mlq_fairshare_start_job(c->fs, job->row.spec.owner, job->row.spec.team, r.cpus_m, a.gpu_h,
                                a.assigned_ms) < 0)
        mlq_warn("fair share: out of memory");
    mlq_quota_job_started(c, job);
    mlq_info("job %.8s attempt %d -> worker %s (gpus %s)", job->row.id, a.num, w->name,
             a.gpu_ids[0] ? a.gpu_ids : "-");
    return mlq_deliver_assign(c, job, w, err);
}

/* True when some UP worker has CPU and memory left, i.e. a pass can place
 * anything at all; saves walking a long queue on a full cluster. */
static bool any_capacity(struct mlq_ctx *c)
{
    for (size_t i = 0; i < mlq_workers_count(c->workers); i++) {
        const struct mlq_worker *w = mlq_workers_at(c->workers, i);
        if (w->state == MLQ_WORKER_UP && w->cpus_used_m < w->cpus_m && w->mem_used < w->mem)
            return true;
    }
    return false;
}

int64_t mlq_jobops_bias(const struct mlq_job *job, void *ctx)
{
    const struct mlq_ctx *c = ctx;
    double p =
        mlq_fairshare_job_penalty(c->fs, job->row.spec.owner, job->row.spec.team, c->now_wall);
    return (int64_t)(p * (double)c->age_step_ms);
}

static bool array_full(struct mlq_ctx *c, const struct mlq_job *job)
{
    if (!job->row.task_of || !job->row.spec.max_running)
        return false;
    const struct mlq_arrstate *arr = mlq_pipeline_array(c, job->row.task_of);
    return arr && arr->running >= arr->max_running;
}

struct resv_ok {
    const struct mlq_ctx *c;
    const struct mlq_resv *rv;
    const struct mlq_job *job;
};

static bool resv_allows(const struct mlq_worker *w, void *arg)
{
    const struct resv_ok *ok = arg;
    return mlq_gang_resv_allows(ok->c, ok->rv, w, ok->job) &&
           mlq_preempt_allows((struct mlq_ctx *)ok->c, w, ok->job);
}

/* Not a worker held for another job whose victims drain (preemptrun.h). */
static bool hold_allows(const struct mlq_worker *w, void *arg)
{
    const struct resv_ok *ok = arg;
    return mlq_preempt_allows((struct mlq_ctx *)ok->c, w, ok->job);
}

/* Where job may start now, honouring the pass's reservation and the
 * workers held for preempting jobs. */
static struct mlq_worker *choose(struct mlq_ctx *c, const struct mlq_job *job,
                                 const struct mlq_resv *rv)
{
    struct mlq_request r = job_request(job);
    struct resv_ok ok = {c, rv, job};
    bool (*held)(const struct mlq_worker *, void *) = mlq_preempt_any_hold(c) ? hold_allows : NULL;
    struct mlq_worker *w = mlq_pp_choose(&c->placer, c->workers, &r, NULL, held, &ok);
    if (w && rv->on && rv->gang && !mlq_gang_resv_allows(c, rv, w, job))
        return mlq_pp_choose(&c->placer, c->workers, &r, NULL, resv_allows, &ok);
    if (w && rv->on && w == rv->w && !mlq_backfill_allows(c, rv, job))
        w = mlq_pp_choose(&c->placer, c->workers, &r, rv->w, held, &ok);
    return w;
}

static void remember_reservation(struct mlq_ctx *c, const struct mlq_resv *rv)
{
    c->resv_on = rv->on;
    if (!rv->on)
        return;
    memcpy(c->resv_job, rv->job_id, sizeof c->resv_job);
    snprintf(c->resv_worker, sizeof c->resv_worker, "%s", rv->w->name);
    c->resv_at_ms = rv->at_ms;
}

/* A gang is placed whole or not at all; the first one that cannot start,
 * when nothing has the reservation yet, gets one on the workers that free
 * soonest (gang.h). */
static int schedule_gang(struct mlq_ctx *c, struct mlq_job *job, struct mlq_resv *rv,
                         struct mlq_err *err)
{
    bool placed;
    int rc = mlq_gang_place(c, job, rv, &placed, err);
    if (rc < 0 || placed)
        return rc;
    if (!rv->on && mlq_gang_reserve(c, job, rv) < 0)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    mlq_queue_pass_skip(c->queue, job);
    return 0;
}

/* A full cluster places nothing, yet the first few jobs of the pass may
 * still preempt (each try walks the running jobs: a few per pass). */
static int preempt_when_full(struct mlq_ctx *c, struct mlq_err *err)
{
    struct mlq_job *job;
    for (int i = 0;
         i < MLQ_PREEMPT_FULL_TRIES && (job = mlq_queue_pass_next(c->queue, mlq_jobops_bias, c));
         i++) {
        int rc = array_full(c, job) ? 0 : mlq_preempt_try(c, job, err);
        if (rc < 0)
            return rc;
        mlq_queue_pass_skip(c->queue, job);
    }
    return 0;
}

int mlq_jobops_schedule(struct mlq_ctx *c, struct mlq_err *err)
{
    c->dirty = false;
    struct mlq_resv rv = {0};
    mlq_queue_pass_begin(c->queue);
    struct mlq_job *job;
    while (any_capacity(c) && (job = mlq_queue_pass_next(c->queue, mlq_jobops_bias, c))) {
        /* Held back by --max-running or its team's quota: no reservation,
         * so that jobs of others behind it still start. The shape holds
         * only this array, or this owner's jobs of this team and pool. */
        if (array_full(c, job) || !mlq_quota_check(c, job, NULL)) {
            mlq_queue_pass_skip(c->queue, job);
            continue;
        }
        if (mlq_gang_nodes(job) > 0) {
            int rc = schedule_gang(c, job, &rv, err);
            if (rc < 0)
                return rc;
            continue;
        }
        struct mlq_worker *w = choose(c, job, &rv);
        if (!w) {
            int rc = mlq_preempt_try(c, job, err); /* may free room for it */
            if (rc < 0)
                return rc;
            /* The first job that cannot start is the highest-priority one:
             * it gets the reservation the rest of the pass must respect. */
            if (!rv.on && mlq_backfill_reserve(c, job, &rv) < 0)
                return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
            mlq_queue_pass_skip(c->queue, job); /* nor anything of its shape */
            continue;
        }
        if (rv.on && w == rv.w)
            mlq_backfill_account(c, &rv, job);
        int rc = dispatch(c, job, w, err);
        if (rc < 0)
            return rc;
    }
    remember_reservation(c, &rv);
    return any_capacity(c) ? 0 : preempt_when_full(c, err);
}

/* The job's and the attempt's rows are written late (see above): the
 * job's state event, which names the attempt, records the start now. */
int mlq_jobops_started(struct mlq_ctx *c, struct mlq_job *job, struct mlq_err *err)
{
    bool moves = job->row.state == MLQ_JOB_ASSIGNED; /* else running, or cancelled meanwhile */
    if (job->att->state == MLQ_ATT_ASSIGNED) {
        job->att->state = MLQ_ATT_RUNNING;
        job->att->start_ms = c->now_wall;
        int rc = 0;
        if (!moves)
            rc = mlq_jobops_save_attempt(c, job, job->att, MLQ_ATT_ASSIGNED, false, err);
        else if (late_add(c, job) < 0)
            rc = mlq_err_set(err, MLQ_EDB, "out of memory saving job %.8s", job->row.id);
        else
            job->att_late = true;
        if (rc < 0)
            return rc;
    }
    job->confirmed = true;
    struct mlq_worker *w = mlq_workers_at(c->workers, mlq_job_run(job)->widx);
    if (w)
        mlq_health_ok(c, w);
    if (!moves)
        return 0;
    enum mlq_fsm_action act;
    return transition_ex(c, job, MLQ_EV_START, NULL, true, &act, err);
}

int mlq_jobops_cancel(struct mlq_ctx *c, struct mlq_job *job, const char *reason,
                      struct mlq_err *err)
{
    if (mlq_job_state_terminal(job->row.state))
        return 0;
    enum mlq_fsm_action act;
    int rc = mlq_jobops_transition(c, job, MLQ_EV_CANCEL, reason, &act, err);
    if (rc < 0)
        return rc;
    if (act == MLQ_ACT_DEQUEUE)
        mlq_queue_remove(c->queue, job);
    if (act == MLQ_ACT_DEQUEUE)
        mlq_preempt_release(c, job);
    else if (act == MLQ_ACT_KILL && job->live && mlq_job_gang(job))
        mlq_gang_stop(c, job, reason);
    else if (act == MLQ_ACT_KILL && job->live)
        mlq_jobops_push_kill(c, job, mlq_workers_get(c->workers, job->att->worker), job->att->id,
                             reason);
    mlq_info("job %.8s %s", job->row.id, reason);
    mlq_jobops_forget_if_done(c, job);
    return 0;
}

/* Fills p->v with the jobs visit picks (the caller frees p->v). */
int mlq_jobops_collect(struct mlq_ctx *c, struct mlq_job_pick *p, mlq_jobtab_fn visit)
{
    p->cap = mlq_jobtab_count(c->jobs);
    p->n = 0;
    p->v = calloc(p->cap ? p->cap : 1, sizeof *p->v);
    if (!p->v)
        return MLQ_ENOMEM;
    mlq_jobtab_each(c->jobs, visit, p);
    return 0;
}

void mlq_jobops_pending_reason(struct mlq_ctx *c, const struct mlq_job *job, char *buf, size_t len)
{
    struct mlq_why why;
    mlq_why_explain(c, job, false, &why);
    if (why.lacks[0])
        snprintf(buf, len, "%s (closest worker %s lacks %s)", why.text, why.closest, why.lacks);
    else
        snprintf(buf, len, "%s", why.text);
}
