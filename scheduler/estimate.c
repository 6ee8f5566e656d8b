/* estimate: see estimate.h. The simulation keeps, per candidate worker
 * ("slot"), what is free in CPUs, memory and GPUs of the job's type, and a
 * min-heap of future releases (an attempt ending, a simulated job ending). */
#include "estimate.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "backfill.h"
#include "gang.h"
#include "jobops.h"
#include "placement.h"
#include "placepolicy.h"
#include "queue.h"

struct slot {
    struct mlq_worker *w;
    int64_t cpus, mem;
    int32_t gpus; /* of the job's GPU type */
};

struct release {
    int64_t at;
    size_t slot;
    int64_t cpus, mem;
    int32_t gpus;
};

struct ahead {
    struct mlq_job *job;
    int64_t key;
};

struct sim {
    struct mlq_ctx *c;
    const struct mlq_request *r; /* the job's */
    struct slot *slots;
    size_t nslots, nworkers;
    size_t *slot_of; /* registry index -> slot; SIZE_MAX: not a candidate */
    size_t *pick;    /* the slots chosen by the last successful wait */
    struct release *heap;
    size_t nheap, capheap;
    struct ahead *ahead;
    size_t nahead, capahead;
    int64_t cur;
    uint32_t steps;
    size_t placed_ahead;
    size_t nunlimited; /* running attempts on slots without a time limit */
    char unlimited[3][MLQ_SHORT_ID_LEN + 1];
    size_t ahead_unlimited; /* jobs ahead placed without a time limit */
    char ahead_id[MLQ_SHORT_ID_LEN + 1];
    bool truncated, nomem;
};

bool mlq_estimate_never(const char *blocker)
{
    static const char *const never[] = {"pool",       "labels",      "gpu_type",
                                        "never_fits", "admin_limit", "no_workers"};
    for (size_t i = 0; blocker && i < sizeof never / sizeof never[0]; i++)
        if (strcmp(blocker, never[i]) == 0)
            return true;
    return false;
}

/* ---- release heap --------------------------------------------------------- */

static void heap_push(struct sim *s, struct release e)
{
    if (s->nheap == s->capheap) {
        size_t cap = s->capheap ? s->capheap * 2 : 64;
        struct release *v = realloc(s->heap, cap * sizeof *v);
        if (!v) {
            s->nomem = true;
            return;
        }
        s->heap = v;
        s->capheap = cap;
    }
    size_t i = s->nheap++;
    while (i > 0 && s->heap[(i - 1) / 2].at > e.at) {
        s->heap[i] = s->heap[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    s->heap[i] = e;
}

static struct release heap_pop(struct sim *s)
{
    struct release top = s->heap[0], last = s->heap[--s->nheap];
    size_t i = 0;
    for (;;) {
        size_t k = 2 * i + 1;
        if (k >= s->nheap)
            break;
        if (k + 1 < s->nheap && s->heap[k + 1].at < s->heap[k].at)
            k++;
        if (s->heap[k].at >= last.at)
            break;
        s->heap[i] = s->heap[k];
        i = k;
    }
    if (s->nheap > 0)
        s->heap[i] = last;
    return top;
}

/* ---- setting up ----------------------------------------------------------- */

static bool same_gpu_type(const char *a, const char *b)
{
    return !a || !b || strcmp(a, b) == 0;
}

/* GPUs rj takes from the slots' count (which is of the job's type): a share
 * counts as one whole GPU; another type's GPUs are not counted (an
 * approximation docs/architecture.md states). */
static int32_t sim_gpus(const struct sim *s, const struct mlq_request *rj)
{
    if (!same_gpu_type(s->r->gpu_type, rj->gpu_type))
        return 0;
    return mlq_place_is_share(rj) ? 1 : rj->gpus;
}

static int take_slots(struct sim *s)
{
    s->nworkers = mlq_workers_count(s->c->workers);
    s->slots = calloc(s->nworkers ? s->nworkers : 1, sizeof *s->slots);
    s->slot_of = calloc(s->nworkers ? s->nworkers : 1, sizeof *s->slot_of);
    s->pick = calloc(s->nworkers ? s->nworkers : 1, sizeof *s->pick);
    if (!s->slots || !s->slot_of || !s->pick)
        return -1;
    for (size_t i = 0; i < s->nworkers; i++) {
        struct mlq_worker *w = mlq_workers_at(s->c->workers, i);
        s->slot_of[i] = SIZE_MAX;
        if (!mlq_place_open(w) || !mlq_place_fits_ever(w, s->r))
            continue;
        s->slot_of[i] = s->nslots;
        s->slots[s->nslots++] = (struct slot){w, w->cpus_m - w->cpus_used_m, w->mem - w->mem_used,
                                              mlq_place_gpus_free(w, s->r->gpu_type)};
    }
    return 0;
}

/* A running attempt (or gang part) on registry index widx ends at its start
 * plus its own time limit; without one it holds its share for good. */
static void add_running(struct sim *s, const struct mlq_job *job, size_t widx, uint64_t mask)
{
    size_t k = widx < s->nworkers ? s->slot_of[widx] : SIZE_MAX;
    if (k == SIZE_MAX)
        return;
    if (job->row.spec.time_limit_ms <= 0) {
        if (s->nunlimited < 3)
            snprintf(s->unlimited[s->nunlimited], sizeof s->unlimited[0], "%.*s", MLQ_SHORT_ID_LEN,
                     job->row.id);
        s->nunlimited++;
        return;
    }
    const struct mlq_jobspec *sp = &job->row.spec;
    heap_push(s,
              (struct release){mlq_backfill_expected_end(s->c, job), k, sp->cpus_m, sp->mem,
                               mlq_backfill_gpus_freed(s->slots[k].w, job, mask, s->r->gpu_type)});
}

static void collect_running(struct mlq_job *job, void *arg)
{
    struct sim *s = arg;
    if (!job->live)
        return;
    if (!mlq_job_gang(job)) {
        add_running(s, job, mlq_job_run(job)->widx, mlq_job_run(job)->gpu_mask);
        return;
    }
    for (uint32_t i = 0; i < mlq_job_gang(job)->n; i++)
        if (mlq_job_gang(job)->parts[i].booked)
            add_running(s, job, mlq_job_gang(job)->parts[i].widx,
                        mlq_job_gang(job)->parts[i].gpu_mask);
}

static void collect_ahead(struct mlq_job *job, int64_t key, void *arg)
{
    struct sim *s = arg;
    if (s->nahead == s->capahead) {
        size_t cap = s->capahead ? s->capahead * 2 : 256;
        struct ahead *v = realloc(s->ahead, cap * sizeof *v);
        if (!v) {
            s->nomem = true;
            return;
        }
        s->ahead = v;
        s->capahead = cap;
    }
    s->ahead[s->nahead++] = (struct ahead){job, key};
}

static int by_key(const void *a, const void *b)
{
    const struct ahead *x = a, *y = b;
    if (x->key != y->key)
        return (x->key > y->key) - (x->key < y->key);
    return (x->job->row.seq > y->job->row.seq) - (x->job->row.seq < y->job->row.seq);
}

/* ---- the walk ------------------------------------------------------------- */

static bool slot_fits(const struct slot *sl, const struct mlq_request *rj, int32_t g)
{
    return sl->cpus >= rj->cpus_m && sl->mem >= rj->mem && sl->gpus >= g &&
           mlq_place_fits_ever(sl->w, rj);
}

static uint32_t count_fitting(struct sim *s, const struct mlq_request *rj, int32_t g, uint32_t n)
{
    uint32_t found = 0;
    for (size_t k = 0; k < s->nslots && found < n; k++)
        if (slot_fits(&s->slots[k], rj, g))
            s->pick[found++] = k;
    return found;
}

/* Ends attempts in order of their end, moving s->cur on, until rj fits on n
 * distinct slots (chosen into s->pick). False when nothing more ends or the
 * step bound is reached (s->truncated). */
static bool wait_fit(struct sim *s, const struct mlq_request *rj, uint32_t n)
{
    int32_t g = sim_gpus(s, rj);
    uint32_t found = count_fitting(s, rj, g, n);
    while (found < n) {
        if (s->nheap == 0)
            return false;
        if (s->steps >= MLQ_ESTIMATE_MAX_STEPS) {
            s->truncated = true;
            return false;
        }
        s->steps++;
        struct release e = heap_pop(s);
        struct slot *sl = &s->slots[e.slot];
        s->cur = e.at > s->cur ? e.at : s->cur;
        sl->cpus += e.cpus;
        sl->mem += e.mem;
        sl->gpus += e.gpus;
        if (n > 1) /* a gang: any slot may complete the set */
            found = count_fitting(s, rj, g, n);
        else if (slot_fits(sl, rj, g)) /* only this slot changed */
            s->pick[found++] = e.slot;
    }
    return true;
}

/* rj starts at s->cur on the picked slots and holds them for its limit. */
static void take(struct sim *s, const struct mlq_request *rj, uint32_t n, int64_t limit_ms)
{
    int32_t g = sim_gpus(s, rj);
    for (uint32_t i = 0; i < n; i++) {
        struct slot *sl = &s->slots[s->pick[i]];
        sl->cpus -= rj->cpus_m;
        sl->mem -= rj->mem;
        sl->gpus -= g;
        if (limit_ms > 0)
            heap_push(s, (struct release){s->cur + limit_ms, s->pick[i], rj->cpus_m, rj->mem, g});
    }
}

static uint32_t nodes_of(const struct mlq_job *job)
{
    uint32_t n = mlq_gang_nodes(job);
    return n > 1 ? n : 1;
}

/* Some slot could ever run rj. */
static bool rival(const struct sim *s, const struct mlq_request *rj)
{
    for (size_t k = 0; k < s->nslots; k++)
        if (mlq_place_fits_ever(s->slots[k].w, rj))
            return true;
    return false;
}

/* Places the jobs ahead, in queue order, those that could run on the
 * slots; false when one of them cannot be placed (the walk stops there). */
static bool place_ahead(struct sim *s)
{
    for (size_t i = 0; i < s->nahead; i++) {
        const struct mlq_job *j = s->ahead[i].job;
        if (s->steps >= MLQ_ESTIMATE_MAX_STEPS) {
            s->truncated = true;
            return false;
        }
        s->steps++;
        struct mlq_request rj = mlq_place_request(&j->row.spec);
        uint32_t n = nodes_of(j);
        if (n > s->nslots || !rival(s, &rj))
            continue; /* none of the slots could ever run it */
        if (!wait_fit(s, &rj, n))
            return false;
        take(s, &rj, n, j->row.spec.time_limit_ms);
        s->placed_ahead++;
        if (j->row.spec.time_limit_ms <= 0 && s->ahead_unlimited++ == 0)
            snprintf(s->ahead_id, sizeof s->ahead_id, "%.*s", MLQ_SHORT_ID_LEN, j->row.id);
    }
    return true;
}

/* ---- answers -------------------------------------------------------------- */

static void answer(struct mlq_estimate *out, const char *kind, int64_t at, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void answer(struct mlq_estimate *out, const char *kind, int64_t at, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(out->why, sizeof out->why, fmt, ap);
    va_end(ap);
    out->kind = kind;
    out->at_ms = at;
}

/* Where the job would go now: its best worker(s) and the GPUs the
 * scheduler's policy gives it on the first. */
static void start_here(const struct mlq_placer *p, struct mlq_estimate *out,
                       const struct mlq_request *r, struct mlq_worker *const *ws, uint32_t n)
{
    size_t len = 0;
    for (uint32_t i = 0; i < n && len < sizeof out->worker; i++)
        len += (size_t)snprintf(out->worker + len, sizeof out->worker - len, "%s%s", i ? "," : "",
                                ws[i]->name);
    uint64_t mask = 0;
    if ((r->gpus > 0 || mlq_place_is_share(r)) && mlq_pp_pick_gpus(p, ws[0], r, &mask) == 0)
        mlq_place_gpus_fmt(mask, out->gpus, sizeof out->gpus);
}

static void unlimited_text(const struct sim *s, char *buf, size_t len)
{
    size_t n = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < s->nunlimited && i < 3 && n < len; i++)
        n += (size_t)snprintf(buf + n, len - n, "%s%s", i ? ", " : "", s->unlimited[i]);
    if (s->nunlimited > 3 && n < len)
        snprintf(buf + n, len - n, " and %zu more", s->nunlimited - 3);
}

static void explain_stuck(const struct sim *s, struct mlq_estimate *out)
{
    char ids[64];
    if (s->truncated) {
        answer(out, "not_before", s->cur,
               "later than that: the estimate stops after %d steps (jobs ahead looked at and "
               "running jobs ending)",
               MLQ_ESTIMATE_MAX_STEPS);
    } else if (s->nunlimited > 0) {
        unlimited_text(s, ids, sizeof ids);
        answer(out, "unknown", 0, "running job%s %s on the only fitting workers ha%s no time limit",
               s->nunlimited == 1 ? "" : "s", ids, s->nunlimited == 1 ? "s" : "ve");
    } else if (s->ahead_unlimited > 0) {
        answer(out, "unknown", 0, "pending job %s, ahead of it, fits first and has no time limit",
               s->ahead_id);
    } else {
        answer(out, "unknown", 0,
               "no running job's time limit frees what it needs (lost attempts may hold it)");
    }
}

/* The worker the scheduler's policy chooses for r now, other than avoid.
 * On a copy of the placer: an estimate must not use up the counts pack
 * keeps between decisions (placepolicy.h) and so move the pass's choices. */
static struct mlq_worker *policy_best(const struct mlq_ctx *c, const struct mlq_request *r,
                                      const struct mlq_worker *avoid)
{
    struct mlq_placer p = c->placer;
    return mlq_pp_choose(&p, c->workers, r, avoid, NULL, NULL);
}

/* Where a single-node job that fits now would start although jobs are
 * ahead of it: as the scheduler's pass backfills, anywhere when the last
 * pass reserved nothing, else on a worker other than the reserved one, or
 * on that one when it ends before the reserved start (backfill.h; what the
 * pass also allows when enough is left over is not looked at here). NULL
 * when it must wait. */
static struct mlq_worker *backfill_now(struct mlq_ctx *c, const struct mlq_job *job,
                                       const struct mlq_request *r)
{
    struct mlq_worker *best = policy_best(c, r, NULL);
    if (!best || !c->resv_on)
        return best;
    struct mlq_worker *rw = mlq_workers_get(c->workers, c->resv_worker);
    if (best != rw)
        return best;
    struct mlq_worker *other = policy_best(c, r, rw);
    if (other)
        return other;
    return mlq_backfill_expected_end(c, job) <= c->resv_at_ms ? rw : NULL;
}

/* The job would start at the next pass: the real placement. */
static bool fits_now(struct mlq_ctx *c, const struct mlq_job *job, const struct mlq_request *r,
                     bool ahead, struct mlq_estimate *out)
{
    uint32_t n = nodes_of(job), found = 0;
    struct mlq_worker *ws[8];
    if (n == 1) {
        ws[0] = ahead ? backfill_now(c, job, r) : policy_best(c, r, NULL);
        found = ws[0] != NULL;
    } else if (!ahead) {
        for (size_t i = 0; i < mlq_workers_count(c->workers) && found < n; i++) {
            struct mlq_worker *w = mlq_workers_at(c->workers, i);
            if (mlq_place_open(w) && mlq_place_fits_now(w, r) && found < 8)
                ws[found++] = w;
        }
    }
    if (found < n)
        return false;
    start_here(&c->placer, out, r, ws, n < 8 ? n : 8);
    answer(out, "latest", c->now_wall, "would start at the next scheduling pass");
    return true;
}

static void simulate(struct sim *s, const struct mlq_job *job, struct mlq_estimate *out)
{
    uint32_t n = nodes_of(job);
    if (s->nslots == 0) {
        answer(out, "unknown", 0, "no open worker could run it (drained or unhealthy)");
        return;
    }
    if (s->nslots < n) {
        answer(out, "unknown", 0, "only %zu open worker(s) could ever hold a node of it",
               s->nslots);
        return;
    }
    mlq_jobtab_each(s->c->jobs, collect_running, s);
    mlq_queue_each_ahead(s->c->queue, job, mlq_jobops_bias, s->c, collect_ahead, s);
    if (s->nomem) {
        answer(out, "unknown", 0, "out of memory while estimating");
        return;
    }
    if (s->nahead > 1) /* qsort's array may not be NULL, even when empty */
        qsort(s->ahead, s->nahead, sizeof *s->ahead, by_key);
    if (!place_ahead(s) || !wait_fit(s, s->r, n)) {
        explain_stuck(s, out);
        return;
    }
    if (s->cur <= s->c->now_wall) {
        struct mlq_worker *ws[8];
        for (uint32_t i = 0; i < n && i < 8; i++)
            ws[i] = s->slots[s->pick[i]].w;
        start_here(&s->c->placer, out, s->r, ws, n < 8 ? n : 8);
        answer(out, "latest", s->c->now_wall, "would start at the next scheduling pass");
    } else if (s->placed_ahead > 0) {
        answer(out, "not_before", s->cur, "behind %zu pending job%s that fit first",
               s->placed_ahead, s->placed_ahead == 1 ? "" : "s");
    } else {
        answer(out, "latest", s->cur, "if running jobs use their full time limits");
    }
}

void mlq_estimate_job(struct mlq_ctx *c, const struct mlq_job *job, const struct mlq_why *why,
                      struct mlq_estimate *out)
{
    memset(out, 0, sizeof *out);
    out->fits_ever = !mlq_estimate_never(why->blocker);
    if (job->row.state != MLQ_JOB_PENDING)
        return;
    if (!out->fits_ever) {
        answer(out, "unknown", 0, "it can never fit on the workers there are");
        return;
    }
    if (job->held) {
        answer(out, "unknown", 0, "it waits for its dependencies");
        return;
    }
    if (job->qwaiting) {
        answer(out, "not_before", job->row.not_before_ms, "it waits for its retry delay");
        return;
    }
    struct mlq_request r = mlq_place_request(&job->row.spec);
    if (fits_now(c, job, &r, why->ahead > 0, out))
        return;
    struct sim s = {.c = c, .r = &r, .cur = c->now_wall};
    if (take_slots(&s) < 0)
        answer(out, "unknown", 0, "out of memory while estimating");
    else
        simulate(&s, job, out);
    out->steps = s.steps;
    free(s.slots);
    free(s.slot_of);
    free(s.pick);
    free(s.heap);
    free(s.ahead);
}
