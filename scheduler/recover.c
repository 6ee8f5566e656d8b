/* recover: see recover.h. Store callbacks get rows valid only during the
 * call: what is kept is copied. */
#include "recover.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fairshare.h"
#include "gang.h"
#include "jobops.h"
#include "quota.h"
#include "jobops_int.h"
#include "log.h"
#include "pipeline.h"
#include "placement.h"
#include "queue.h"
#include "workerset.h"

struct recover_ctx {
    struct mlq_ctx *c;
    struct mlq_err *err;
};

static int recover_worker(const struct mlq_store_worker *sw, void *arg)
{
    struct recover_ctx *rc = arg;
    struct mlq_worker *w = mlq_workers_add(rc->c->workers, sw->name);
    if (!w)
        return mlq_err_set(rc->err, MLQ_ENOMEM, "too many workers in the database");
    w->state = MLQ_WORKER_DOWN;
    w->cpus_m = w->rep_cpus_m = sw->cpus_m;
    w->mem = w->rep_mem = sw->mem;
    w->gpus = sw->gpus;
    w->first_seen_wall = sw->first_seen_ms;
    w->last_seen_wall = sw->last_seen_ms;
    w->drained = sw->drained;
    snprintf(w->drain_reason, sizeof w->drain_reason, "%s", sw->drain_reason);
    snprintf(w->rep_pool, sizeof w->rep_pool, "%s", sw->pool[0] ? sw->pool : "default");
    snprintf(w->pool, sizeof w->pool, "%s", w->rep_pool);
    return 0;
}

/* An admin's override of a worker the database knows; one whose worker
 * row is gone (forgotten by hand) waits for it to register. */
static int recover_override(const struct mlq_store_override *o, void *arg)
{
    struct recover_ctx *rc = arg;
    struct mlq_worker *w = mlq_workers_get(rc->c->workers, o->worker);
    return w ? mlq_workerset_load(w, o, rc->err) : 0;
}

/* What each worker offers, now that its attempts hold their GPUs. */
static void apply_overrides(struct mlq_ctx *c)
{
    for (size_t i = 0; i < mlq_workers_count(c->workers); i++)
        mlq_workers_apply_res(mlq_workers_at(c->workers, i));
}

/* Ended attempts feed fair share; running ones are counted when their
 * attempt is recovered. */
static int recover_usage(const struct mlq_store_usage *u, void *arg)
{
    struct recover_ctx *rc = arg;
    if (u->end_ms == 0)
        return 0;
    if (mlq_fairshare_add_job(rc->c->fs, u->owner, u->team, u->cpus_m, u->gpu_h, u->start_ms,
                              u->end_ms, rc->c->now_wall) < 0)
        return mlq_err_set(rc->err, MLQ_ENOMEM, "out of memory");
    return 0;
}

/* Deep copy of a row handed to a store callback (valid only during it). */
static int copy_row(struct mlq_store_job *dst, const struct mlq_store_job *src, struct mlq_err *err)
{
    *dst = *src;
    dst->reason = dst->task_of = NULL;
    memset(&dst->spec, 0, sizeof dst->spec);
    if ((src->reason && !(dst->reason = strdup(src->reason))) ||
        (src->task_of && !(dst->task_of = strdup(src->task_of)))) {
        mlq_store_job_free(dst);
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    }
    int rc = mlq_proto_jobspec_copy(&dst->spec, &src->spec, err);
    if (rc < 0)
        mlq_store_job_free(dst);
    return rc;
}

static int add_row(struct recover_ctx *rc, const struct mlq_store_job *row, struct mlq_job **out)
{
    struct mlq_store_job copy;
    int r = copy_row(&copy, row, rc->err);
    if (r < 0)
        return r;
    *out = mlq_jobtab_add(rc->c->jobs, &copy);
    if (!*out) {
        mlq_store_job_free(&copy);
        return mlq_err_set(rc->err, MLQ_ENOMEM, "cannot load job %s", row->id);
    }
    return 0;
}

static int recover_job(const struct mlq_store_job *row, void *arg)
{
    struct recover_ctx *rc = arg;
    struct mlq_job *job;
    int r = add_row(rc, row, &job);
    /* Jobs with dependencies are admitted once everything is loaded. */
    if (r == 0 && job->row.state == MLQ_JOB_PENDING && job->row.spec.ndeps == 0)
        r = mlq_jobops_enqueue(rc->c, job, rc->err);
    return r;
}

static void find_unadmitted(struct mlq_job *job, void *arg)
{
    struct mlq_job_pick *p = arg;
    if (job->row.state == MLQ_JOB_PENDING && !job->queued && !job->held && p->n < p->cap)
        p->v[p->n++] = job;
}

static int admit_waiting(struct mlq_ctx *c, struct mlq_err *err)
{
    struct mlq_job_pick p = {0};
    if (mlq_jobops_collect(c, &p, find_unadmitted) < 0)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    int rc = 0;
    for (size_t i = 0; i < p.n && rc == 0; i++)
        rc = mlq_jobops_admit(c, p.v[i], err);
    free(p.v);
    return rc;
}

static int recover_attempt(const struct mlq_store_attempt *a, void *arg)
{
    struct recover_ctx *rc = arg;
    struct mlq_ctx *c = rc->c;
    struct mlq_job *job = mlq_jobtab_get(c->jobs, a->job_id);
    if (!job) { /* a cancelled job whose process had not ended yet */
        struct mlq_store_job row;
        int r = mlq_store_job_get(c->store, a->job_id, &row, rc->err);
        if (r < 0)
            return r;
        r = add_row(rc, &row, &job);
        mlq_store_job_free(&row);
        if (r < 0)
            return r;
    }
    uint64_t mask = 0;
    if (mlq_place_gpus_parse(a->gpu_ids, &mask) < 0)
        mlq_warn("attempt %s: bad GPU list \"%s\" in database", a->id, a->gpu_ids);
    struct mlq_worker *w = mlq_workers_add(c->workers, a->worker);
    if (!w)
        return mlq_err_set(rc->err, MLQ_ENOMEM, "too many workers");
    if (mlq_jobtab_set_attempt(c->jobs, job, a) < 0)
        return mlq_err_set(rc->err, MLQ_ENOMEM, "out of memory");
    job->confirmed = false;
    mlq_job_run(job)->confirm_by = c->now_mono + c->lease_ms;
    c->unconfirmed_left = true;
    mlq_job_run(job)->gpu_mask = mask;
    mlq_job_run(job)->widx = mlq_workers_index(c->workers, w);
    struct mlq_request r = mlq_place_request(&job->row.spec);
    if (mlq_gang_nodes(job) > 0) { /* each part books its own node */
        int g = mlq_gang_recover(c, job, rc->err);
        if (g < 0)
            return g;
        r.cpus_m *= (int64_t)mlq_gang_nodes(job);
        r.gpus *= (int32_t)mlq_gang_nodes(job);
    } else {
        mlq_place_reserve(w, &r, mask);
    }
    /* A live task counts against its array's --max-running, as at dispatch. */
    struct mlq_arrstate *arr = job->row.task_of ? mlq_pipeline_array(c, job->row.task_of) : NULL;
    if (arr)
        arr->running++;
    int32_t nodes = mlq_gang_nodes(job) > 0 ? (int32_t)mlq_gang_nodes(job) : 1;
    int32_t gpu_h = mlq_store_attempt_gpu_h(a, job->row.spec.gpus) * nodes;
    if (mlq_fairshare_start_job(c->fs, job->row.spec.owner, job->row.spec.team, r.cpus_m, gpu_h,
                                a->assigned_ms) < 0)
        return mlq_err_set(rc->err, MLQ_ENOMEM, "out of memory");
    mlq_quota_job_started(c, job); /* use is what runs, never a stored counter */
    return 0;
}

/* A job ASSIGNED or RUNNING without a live attempt cannot be resumed; it
 * goes back to the queue (transitions commit together, so this only guards
 * against a hand-edited database). */
static void find_orphans(struct mlq_job *job, void *arg)
{
    struct mlq_job_pick *p = arg;
    bool active = job->row.state == MLQ_JOB_ASSIGNED || job->row.state == MLQ_JOB_RUNNING;
    if (active && !job->live && p->n < p->cap)
        p->v[p->n++] = job;
}

static int requeue_orphans(struct mlq_ctx *c, struct mlq_err *err)
{
    struct mlq_job_pick p = {0};
    if (mlq_jobops_collect(c, &p, find_orphans) < 0)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    int rc = 0;
    for (size_t i = 0; i < p.n && rc == 0; i++) {
        enum mlq_fsm_action act;
        rc = mlq_jobops_transition(c, p.v[i], MLQ_EV_LOST, "requeued: no live attempt at start-up",
                                   &act, err);
        if (rc == 0)
            rc = mlq_jobops_enqueue(c, p.v[i], err);
    }
    free(p.v);
    return rc;
}

int mlq_recover_run(struct mlq_ctx *c, struct mlq_err *err)
{
    struct recover_ctx rc = {c, err};
    int r = mlq_quota_load(c, err); /* before the jobs that book their use */
    if (r == 0)
        r = mlq_store_each_worker(c->store, recover_worker, &rc, err);
    if (r == 0)
        r = mlq_store_each_override(c->store, recover_override, &rc, err);
    /* Use older than a few half-lives no longer matters. */
    if (r == 0)
        r = mlq_store_each_usage(c->store, c->now_wall - 5 * c->fs_half_life_ms, recover_usage, &rc,
                                 err);
    if (r == 0)
        r = mlq_store_each_active_job(c->store, recover_job, &rc, err);
    if (r == 0)
        r = mlq_store_each_live_attempt(c->store, recover_attempt, &rc, err);
    if (r == 0)
        apply_overrides(c);
    if (r == 0)
        r = requeue_orphans(c, err);
    if (r == 0)
        r = admit_waiting(c, err);
    if (r == 0) {
        mlq_info("recovered %zu active jobs (%zu pending), %zu workers", mlq_jobtab_count(c->jobs),
                 mlq_queue_count(c->queue), mlq_workers_count(c->workers));
        c->dirty = true;
    }
    return r;
}
