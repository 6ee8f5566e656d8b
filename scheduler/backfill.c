/* backfill: see backfill.h. */
#include "backfill.h"

#include <stdlib.h>
#include <string.h>

int64_t mlq_backfill_expected_end(const struct mlq_ctx *c, const struct mlq_job *job)
{
    int64_t limit =
        job->row.spec.time_limit_ms > 0 ? job->row.spec.time_limit_ms : c->default_limit_ms;
    int64_t start =
        job->live ? (job->att->start_ms ? job->att->start_ms : job->att->assigned_ms) : c->now_wall;
    int64_t end = start + limit;
    return end > c->now_wall ? end : c->now_wall; /* overran: could end any moment */
}

/* A running attempt's share of one worker, for the soonest-fit walk. */
struct ending {
    int64_t end_ms, cpus_m, mem;
    int32_t gpus; /* of the needed type */
};

static int by_end(const void *a, const void *b)
{
    int64_t x = ((const struct ending *)a)->end_ms, y = ((const struct ending *)b)->end_ms;
    return (x > y) - (x < y);
}

/* GPUs of mask that come free for placement when their job ends (a GPU an
 * admin withheld does not). */
static int32_t gpus_of_type(const struct mlq_worker *w, uint64_t mask, const char *type)
{
    int32_t n = 0;
    for (int i = 0; i < MLQ_MAX_GPUS; i++)
        if ((mask & (1ULL << i)) && mlq_worker_gpu_offered(w, i) &&
            mlq_proto_gpu_type_matches(type, mlq_worker_gpu_type(w, i)))
            n++;
    return n;
}

/* The GPUs a running job frees for whole-GPU use when it ends: its own, or
 * for a share the GPU only where it is the last share left. */
static uint64_t freed_mask(const struct mlq_worker *w, const struct mlq_job *job)
{
    const struct mlq_jobspec *sp = &job->row.spec;
    if (sp->gpu_frac == 0 && sp->gpu_mem == 0)
        return mlq_job_run(job)->gpu_mask;
    uint64_t m = 0;
    for (int i = 0; i < MLQ_MAX_GPUS; i++)
        if (((mlq_job_run(job)->gpu_mask >> i) & 1) && w->gshare.n[i] == 1)
            m |= 1ULL << i;
    return m;
}

int32_t mlq_backfill_gpus_freed(const struct mlq_worker *w, const struct mlq_job *job,
                                uint64_t mask, const char *type)
{
    const struct mlq_jobspec *sp = &job->row.spec;
    uint64_t m = mask;
    if (sp->gpu_frac > 0 || sp->gpu_mem > 0)
        for (int i = 0; i < MLQ_MAX_GPUS; i++)
            if (((mask >> i) & 1) && w->gshare.n[i] != 1)
                m &= ~(1ULL << i);
    return gpus_of_type(w, m, type);
}

/* GPUs a job takes from a reservation: a share may take a whole free GPU. */
static int32_t gpus_taken(const struct mlq_job *k)
{
    const struct mlq_jobspec *sp = &k->row.spec;
    return sp->gpu_frac > 0 || sp->gpu_mem > 0 ? 1 : sp->gpus;
}

struct collect {
    const struct mlq_ctx *c;
    size_t widx;
    const char *type;
    struct ending *v;
    size_t n, cap;
};

static void collect_ending(struct mlq_job *job, void *arg)
{
    struct collect *k = arg;
    if (job->live && mlq_job_gang(job)) { /* each part on this worker */
        const struct mlq_worker *w = mlq_workers_at(k->c->workers, k->widx);
        for (uint32_t i = 0; i < mlq_job_gang(job)->n && k->n < k->cap; i++) {
            const struct mlq_gpart *p = &mlq_job_gang(job)->parts[i];
            if (p->booked && p->widx == k->widx)
                k->v[k->n++] =
                    (struct ending){mlq_backfill_expected_end(k->c, job), job->row.spec.cpus_m,
                                    job->row.spec.mem, gpus_of_type(w, p->gpu_mask, k->type)};
        }
        return;
    }
    if (!job->live || mlq_job_run(job)->widx != k->widx || k->n == k->cap)
        return;
    const struct mlq_worker *w = mlq_workers_at(k->c->workers, k->widx);
    k->v[k->n++] = (struct ending){mlq_backfill_expected_end(k->c, job), job->row.spec.cpus_m,
                                   job->row.spec.mem, gpus_of_type(w, freed_mask(w, job), k->type)};
}

/* When r fits on w, walking its running attempts in order of expected end;
 * fills what is free then. -1 when it never does (should not happen for a
 * worker that fits ever). */
static int64_t soonest_fit(const struct mlq_ctx *c, struct mlq_worker *w,
                           const struct mlq_request *r, struct mlq_resv *out)
{
    struct collect k = {c, mlq_workers_index(c->workers, w), r->gpu_type, NULL, 0, 0};
    k.cap = (size_t)(w->running > 0 ? w->running : 0);
    k.v = calloc(k.cap ? k.cap : 1, sizeof *k.v);
    if (!k.v)
        return -1;
    mlq_jobtab_each(c->jobs, collect_ending, &k);
    qsort(k.v, k.n, sizeof *k.v, by_end);
    int64_t cpus = w->cpus_m - w->cpus_used_m, mem = w->mem - w->mem_used;
    int32_t gpus = mlq_place_gpus_free(w, r->gpu_type);
    int64_t at = c->now_wall;
    for (size_t i = 0; i < k.n && (cpus < r->cpus_m || mem < r->mem || gpus < r->gpus); i++) {
        at = k.v[i].end_ms;
        cpus += k.v[i].cpus_m;
        mem += k.v[i].mem;
        gpus += k.v[i].gpus;
    }
    free(k.v);
    out->cpus_m = cpus;
    out->mem = mem;
    out->gpus = gpus;
    return cpus >= r->cpus_m && mem >= r->mem && gpus >= r->gpus ? at : -1;
}

int64_t mlq_backfill_soonest(const struct mlq_ctx *c, struct mlq_worker *w,
                             const struct mlq_request *r)
{
    struct mlq_resv out;
    return soonest_fit(c, w, r, &out);
}

int mlq_backfill_reserve(struct mlq_ctx *c, const struct mlq_job *job, struct mlq_resv *rv)
{
    memset(rv, 0, sizeof *rv);
    struct mlq_request r = mlq_place_request(&job->row.spec);
    for (size_t i = 0; i < mlq_workers_count(c->workers); i++) {
        struct mlq_worker *w = mlq_workers_at(c->workers, i);
        if (!mlq_place_open(w) || !mlq_place_fits_ever(w, &r))
            continue;
        struct mlq_resv cand = {0};
        int64_t at = soonest_fit(c, w, &r, &cand);
        if (at < 0 || (rv->on && at >= rv->at_ms))
            continue;
        *rv = cand;
        rv->on = true;
        rv->w = w;
        rv->at_ms = at;
    }
    if (rv->on) {
        memcpy(rv->job_id, job->row.id, sizeof rv->job_id);
        rv->need = r;
    }
    return 0;
}

bool mlq_backfill_allows(const struct mlq_ctx *c, const struct mlq_resv *rv,
                         const struct mlq_job *k)
{
    if (!rv->on || mlq_backfill_expected_end(c, k) <= rv->at_ms)
        return true;
    /* It would still run at the reserved start: what is left must fit. */
    return rv->cpus_m - k->row.spec.cpus_m >= rv->need.cpus_m &&
           rv->mem - k->row.spec.mem >= rv->need.mem && rv->gpus - gpus_taken(k) >= rv->need.gpus;
}

void mlq_backfill_account(const struct mlq_ctx *c, struct mlq_resv *rv, const struct mlq_job *k)
{
    if (!rv->on || mlq_backfill_expected_end(c, k) <= rv->at_ms)
        return;
    rv->cpus_m -= k->row.spec.cpus_m;
    rv->mem -= k->row.spec.mem;
    rv->gpus -= gpus_taken(k);
}
