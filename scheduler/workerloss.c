/* workerloss: see workerloss.h. */
#include "workerloss.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobops_int.h"
#include "gang.h"
#include "leftover.h"
#include "log.h"
#include "placement.h"

/* Live attempts on p->worker, or (worker NULL) unconfirmed past p->now. */
static void pick_job(struct mlq_job *job, void *ctx)
{
    struct mlq_job_pick *p = ctx;
    if (!job->live || mlq_job_gang(job)) /* a gang's parts are looked at one by one (gang.h) */
        return;
    p->unconfirmed += !job->confirmed;
    bool hit = p->worker ? strcmp(job->att->worker, p->worker) == 0
                         : !job->confirmed && mlq_job_run(job)->confirm_by <= p->now;
    if (!hit || p->n == p->cap)
        return;
    p->v[p->n++] = job;
}

static int collect(struct mlq_ctx *c, struct mlq_job_pick *p)
{
    return mlq_jobops_collect(c, p, pick_job);
}

static int lose_all(struct mlq_ctx *c, struct mlq_job_pick *p, const char *why, bool linger,
                    struct mlq_err *err)
{
    int rc = 0;
    for (size_t i = 0; i < p->n && rc == 0; i++)
        rc = mlq_jobops_lose_attempt(c, p->v[i], why,
                                     MLQ_LOSE_NODE_FAULT | (linger ? MLQ_LOSE_LINGER : 0), err);
    free(p->v);
    return rc;
}

/* A worker that said goodbye stays DOWN; one that fell silent is LOST. */
static int worker_lost(struct mlq_ctx *c, struct mlq_worker *w, struct mlq_err *err)
{
    struct mlq_job_pick p = {.worker = w->name};
    char why[MLQ_MAX_NAME + 64];
    bool left = w->goodbye;
    snprintf(why, sizeof why,
             left ? "worker %s stopped and did not come back within its lease"
                  : "worker %s missed its lease",
             w->name);
    mlq_warn("%s", why);
    w->goodbye = false;
    if (!left)
        w->state = MLQ_WORKER_LOST;
    int rc = mlq_store_begin(c->store, err);
    if (rc == 0 && !left)
        rc = mlq_store_event_add(c->store, "worker_lost", NULL, NULL, w->name, why, err);
    if (rc == 0)
        rc = mlq_gang_lose_on(c, w->name, why, true, NULL, err);
    if (rc == 0)
        rc = collect(c, &p);
    return rc < 0 ? rc : lose_all(c, &p, why, true, err);
}

int mlq_workerloss_check_leases(struct mlq_ctx *c, struct mlq_err *err)
{
    for (size_t i = 0; i < mlq_workers_count(c->workers); i++) {
        struct mlq_worker *w = mlq_workers_at(c->workers, i);
        bool watched = w->state == MLQ_WORKER_UP || w->goodbye;
        if (watched && c->now_mono - w->last_seen_mono > c->lease_ms) {
            int rc = worker_lost(c, w, err);
            if (rc < 0)
                return rc;
        }
    }
    /* Unconfirmed attempts exist only after a restart: once none is left,
     * stop walking the whole table every tick. */
    if (!c->unconfirmed_left)
        return 0;
    struct mlq_job_pick p = {.worker = NULL, .now = c->now_mono};
    size_t parts_left = 0;
    int rc = mlq_gang_lose_on(c, NULL, "its worker did not confirm it after a restart", true,
                              &parts_left, err);
    if (rc == 0)
        rc = collect(c, &p);
    c->unconfirmed_left = p.unconfirmed > p.n || parts_left > 0;
    return rc < 0 ? rc
                  : lose_all(c, &p, "its worker did not confirm it after a restart", true, err);
}

static int held_cmp(const void *a, const void *b)
{
    return strcmp(((const struct mlq_held_attempt *)a)->attempt_id,
                  ((const struct mlq_held_attempt *)b)->attempt_id);
}

/* A worker holds an attempt still running that is not current (lost while
 * this scheduler ran, or before it restarted): its resources stay booked
 * until the worker says it is gone (leftover.h). */
static void book_leftover(struct mlq_ctx *c, struct mlq_worker *w, const char *attempt_id)
{
    struct mlq_store_attempt a;
    struct mlq_store_job row;
    uint64_t mask = 0;
    if (mlq_leftover_has(w, attempt_id) ||
        mlq_store_attempt_get(c->store, attempt_id, &a, NULL) < 0)
        return;
    struct mlq_job *job = mlq_jobtab_get(c->jobs, a.job_id);
    bool stored = !job && mlq_store_job_get(c->store, a.job_id, &row, NULL) == 0;
    if ((job || stored) && strcmp(a.worker, w->name) == 0 &&
        mlq_place_gpus_parse(a.gpu_ids, &mask) == 0) {
        struct mlq_request r = mlq_place_request(job ? &job->row.spec : &row.spec);
        if (mlq_leftover_keep(w, attempt_id, a.job_id, &r, mask) < 0)
            mlq_warn("out of memory: attempt %s not booked", attempt_id);
    }
    if (stored)
        mlq_store_job_free(&row);
    mlq_store_attempt_free(&a);
}

/* Confirms or fences each attempt the worker says it holds. */
static void reconcile_held(struct mlq_ctx *c, struct mlq_worker *w,
                           const struct mlq_held_attempt *h)
{
    if (mlq_gang_reconcile_held(c, w, h->attempt_id, h->finished))
        return;
    struct mlq_job *job = mlq_jobtab_by_attempt(c->jobs, h->attempt_id);
    if (job && strcmp(job->att->worker, w->name) == 0) {
        job->confirmed = job->acked = true;
        /* a cancel or a preemption under way (also from before a restart) */
        if (!h->finished && (job->row.state == MLQ_JOB_CANCELLED || job->row.spec.preempt_note))
            mlq_jobops_push_kill(c, job, w, h->attempt_id,
                                 job->row.reason ? job->row.reason : "cancelled");
        return;
    }
    if (!h->finished) { /* fencing: not (or no longer) the current attempt */
        mlq_jobops_push_kill(c, NULL, w, h->attempt_id, "attempt is no longer current");
        book_leftover(c, w, h->attempt_id);
    }
}

/* An ASSIGN sent after the worker's previous registration, over the same
 * connection as this one, and not acknowledged yet: the worker sent this
 * registration before the ASSIGN reached it (a worker re-sends a register
 * while its first is on its way), and will still get it in order. Losing
 * the attempt now would run the job again while this one starts; the
 * ASSIGN's resend and deadline (deliver.h) decide instead. */
static bool assign_in_flight(const struct mlq_worker *w, const struct mlq_job *job)
{
    return w->reg_same_conn && !job->acked && mlq_job_run(job)->assign_epoch != 0 &&
           mlq_job_run(job)->assign_epoch + 1 == w->epoch;
}

int mlq_workerloss_reconcile(struct mlq_ctx *c, struct mlq_worker *w,
                             const struct mlq_held_attempt *held, size_t n, struct mlq_err *err)
{
    struct mlq_held_attempt *sorted = malloc((n ? n : 1) * sizeof *sorted);
    if (!sorted)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    if (n) {
        memcpy(sorted, held, n * sizeof *sorted);
        qsort(sorted, n, sizeof *sorted, held_cmp);
    }
    for (size_t i = 0; i < n; i++)
        reconcile_held(c, w, &sorted[i]);
    mlq_leftover_reconcile(w, sorted, n);

    /* Attempts placed on w that it does not hold are gone. */
    struct mlq_job_pick p = {.worker = w->name};
    int rc = mlq_gang_reconcile_missing(c, w, sorted, n, err);
    if (rc < 0) {
        free(sorted);
        return rc;
    }
    rc = collect(c, &p);
    size_t gone = 0;
    for (size_t i = 0; rc == 0 && i < p.n; i++) {
        struct mlq_held_attempt key;
        memcpy(key.attempt_id, p.v[i]->att->id, sizeof key.attempt_id);
        if (!bsearch(&key, sorted, n, sizeof *sorted, held_cmp) && !assign_in_flight(w, p.v[i]))
            p.v[gone++] = p.v[i];
    }
    p.n = gone;
    free(sorted);
    if (rc < 0)
        return mlq_err_set(err, rc, "out of memory");
    return lose_all(c, &p, "its worker no longer holds it", false, err);
}
