/* admin: see admin.h. Listings point into scheduler memory (nothing is
 * copied); they are encoded into the outbox before anything can change. */
#include "admin.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"
#include "wproto.h"

struct gpu_view {
    struct mlq_gpuinfo *by_worker; /* per worker, w->gpus entries by index */
    size_t *offset;                /* start of each worker's entries */
};

static void gpu_holder(struct mlq_job *job, void *arg)
{
    struct gpu_view *gv = arg;
    if (!job->live || !job->gpu_mask)
        return;
    for (int i = 0; i < MLQ_MAX_GPUS; i++)
        if (job->gpu_mask & (1ULL << i))
            gv->by_worker[gv->offset[job->widx] + (size_t)i].job_id = job->row.id;
}

/* One gpuinfo per GPU index of every worker, described from what the worker
 * declared, with the job holding each. */
static int build_gpu_view(struct mlq_ctx *c, struct gpu_view *gv)
{
    size_t n = mlq_workers_count(c->workers), total = 0;
    gv->offset = calloc(n ? n : 1, sizeof *gv->offset);
    for (size_t i = 0; gv->offset && i < n; i++) {
        gv->offset[i] = total;
        total += (size_t)mlq_workers_at(c->workers, i)->gpus;
    }
    gv->by_worker = calloc(total ? total : 1, sizeof *gv->by_worker);
    if (!gv->offset || !gv->by_worker)
        return MLQ_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        const struct mlq_worker *w = mlq_workers_at(c->workers, i);
        for (int32_t g = 0; g < w->gpus; g++)
            gv->by_worker[gv->offset[i] + (size_t)g].index = g;
        for (uint32_t k = 0; k < w->ngpu_list; k++) {
            struct mlq_gpuinfo *d = &gv->by_worker[gv->offset[i] + (size_t)w->gpu_list[k].index];
            *d = w->gpu_list[k];
            d->job_id = NULL;
        }
    }
    mlq_jobtab_each(c->jobs, gpu_holder, gv);
    return 0;
}

static struct mlq_workerinfo worker_view(const struct mlq_worker *w, struct mlq_gpuinfo *gpus)
{
    return (struct mlq_workerinfo){
        .name = (char *)w->name,
        .state = (char *)mlq_worker_state_name(w->state),
        .cpus_m = w->cpus_m,
        .cpus_used_m = w->cpus_used_m,
        .mem = w->mem,
        .mem_used = w->mem_used,
        .gpus = w->gpus,
        .gpus_used = __builtin_popcountll(w->gpu_used),
        .running = w->running,
        .draining = w->draining || w->drained,
        .last_seen_ms = w->last_seen_wall,
        .pool = (char *)w->pool,
        .labels = w->labels,
        .nlabels = w->nlabels,
        .drain_reason =
            w->drained ? (char *)(w->drain_reason[0] ? w->drain_reason : "drained") : NULL,
        .gpu_list = gpus,
        .ngpu_list = (uint32_t)w->gpus,
    };
}

/* Replies with the given workers (all when only is NULL). */
static int reply_workers(struct mlq_ctx *c, const struct mlq_peer *peer, uint64_t rid,
                         const struct mlq_worker *only, struct mlq_err *err)
{
    struct gpu_view gv = {0};
    size_t n = mlq_workers_count(c->workers);
    struct mlq_workerinfo *v = calloc(n ? n : 1, sizeof *v);
    int rc = v ? build_gpu_view(c, &gv) : MLQ_ENOMEM;
    uint32_t k = 0;
    for (size_t i = 0; rc == 0 && i < n; i++) {
        const struct mlq_worker *w = mlq_workers_at(c->workers, i);
        if (!only || only == w)
            v[k++] = worker_view(w, &gv.by_worker[gv.offset[i]]);
    }
    if (rc == 0) {
        struct mlq_msg m = {.type = MLQ_MSG_WORKER_LIST, .rid = rid};
        m.u.worker_list.workers = v;
        m.u.worker_list.nworkers = k;
        rc = mlq_outbox_reply(c->out, peer, &m, err);
    } else {
        rc = mlq_err_set(err, MLQ_ENOMEM, "out of memory listing workers");
    }
    free(gv.by_worker);
    free(gv.offset);
    free(v);
    return rc;
}

int mlq_admin_on_workers(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                         struct mlq_err *err)
{
    return reply_workers(c, peer, msg->rid, NULL, err);
}

static int set_drain(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                     bool drained, struct mlq_err *err)
{
    const char *name = msg->u.drain.worker ? msg->u.drain.worker : "";
    struct mlq_worker *w = mlq_workers_get(c->workers, name);
    if (!w)
        return mlq_err_set(err, MLQ_ENOTFOUND, "no worker named \"%.64s\"", name);
    w->drained = drained;
    snprintf(w->drain_reason, sizeof w->drain_reason, "%s",
             drained && msg->u.drain.reason ? msg->u.drain.reason : "");
    int rc = mlq_wproto_save_worker(c, w, drained ? "worker_drained" : "worker_resumed",
                                    drained ? w->drain_reason : NULL, err);
    if (rc < 0)
        return rc;
    mlq_info("worker %s %s%s%s", w->name, drained ? "drained" : "resumed",
             w->drain_reason[0] ? ": " : "", w->drain_reason);
    c->dirty = true; /* resume may let jobs start */
    return reply_workers(c, peer, msg->rid, w, err);
}

int mlq_admin_on_drain(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                       struct mlq_err *err)
{
    return set_drain(c, peer, msg, true, err);
}

int mlq_admin_on_resume(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                        struct mlq_err *err)
{
    return set_drain(c, peer, msg, false, err);
}
