/* preempt: see preempt.h. */
#include "preempt.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobtab.h"

const struct mlq_preempt_quota mlq_preempt_quota_real = {
    .over_nominal = mlq_quota_over_nominal,
    .job_within_nominal = mlq_quota_job_within_nominal,
    .job_amount = mlq_quota_job_amount,
};

static const char *pool_of(const struct mlq_job *j)
{
    return j->row.spec.pool ? j->row.spec.pool : "default";
}

/* Same team, "no team" included. */
static bool same_team(const struct mlq_job *a, const struct mlq_job *b)
{
    const char *x = a->row.spec.team, *y = b->row.spec.team;
    return (!x && !y) || (x && y && strcmp(x, y) == 0);
}

static int64_t started_ms(const struct mlq_job *j)
{
    return j->att->start_ms > 0 ? j->att->start_ms : j->att->assigned_ms;
}

/* Running now, and not already being preempted or cancelled. */
static bool running_now(const struct mlq_job *j)
{
    return j->live && j->att && j->row.state == MLQ_JOB_RUNNING && !j->row.spec.preempt_note;
}

static bool ran_enough(const struct mlq_preempt_in *in, const struct mlq_job *j)
{
    int64_t min = j->row.spec.min_runtime_ms > 0 ? j->row.spec.min_runtime_ms : in->min_runtime_ms;
    return in->now_ms - started_ms(j) >= min;
}

/* --no-preempt holds while the job's team does not borrow in its pool. */
static bool protected_job(const struct mlq_preempt_in *in, const struct mlq_job *j)
{
    return j->row.spec.no_preempt &&
           !in->q->over_nominal(in->c, j->row.spec.team, j->row.spec.pool, NULL);
}

/* Where a running job stands for the waiting job: the first rule that
 * keeps it from being a victim, or why it may be one. */
enum standing {
    ST_NONE = 0,      /* not a candidate at all (itself, another pool, ending) */
    ST_YOUNG,         /* ran less than its minimum run time */
    ST_PROTECTED,     /* --no-preempt, its team within its nominal quota */
    ST_NOT_BORROWING, /* another team, within its nominal quota */
    ST_OTHER_TEAM,    /* another team, and the waiting job cannot reclaim */
    ST_TEAM_OFF,      /* its team, which does not preempt within itself */
    ST_NOT_LOWER,     /* its team, priority not below the waiting job's */
    ST_RECLAIM,
    ST_PRIORITY,
};

static enum standing standing(const struct mlq_preempt_in *in, bool reclaims,
                              const struct mlq_job *j)
{
    const struct mlq_job *w = in->waiting;
    if (j == w || !running_now(j) || strcmp(pool_of(j), pool_of(w)) != 0)
        return ST_NONE;
    if (!ran_enough(in, j))
        return ST_YOUNG;
    if (protected_job(in, j))
        return ST_PROTECTED;
    if (!same_team(j, w)) {
        if (!reclaims)
            return ST_OTHER_TEAM;
        return in->q->over_nominal(in->c, j->row.spec.team, j->row.spec.pool, NULL)
                   ? ST_RECLAIM
                   : ST_NOT_BORROWING;
    }
    if (!in->within_team || !w->row.spec.team)
        return ST_TEAM_OFF;
    return j->row.spec.priority < w->row.spec.priority ? ST_PRIORITY : ST_NOT_LOWER;
}

/* Why j may be preempted for the waiting job; 0: it may not. */
static int eligible(const struct mlq_preempt_in *in, bool reclaims, const struct mlq_job *j)
{
    enum standing st = standing(in, reclaims, j);
    return st == ST_RECLAIM ? MLQ_PREEMPT_RECLAIM : st == ST_PRIORITY ? MLQ_PREEMPT_PRIORITY : 0;
}

/* Lowest priority first, then most recently started first (then by id,
 * so that the order does not depend on the table's). */
static int victim_cmp(const void *a, const void *b)
{
    const struct mlq_job *x = ((const struct mlq_preempt_victim *)a)->job;
    const struct mlq_job *y = ((const struct mlq_preempt_victim *)b)->job;
    if (x->row.spec.priority != y->row.spec.priority)
        return x->row.spec.priority < y->row.spec.priority ? -1 : 1;
    int64_t sx = started_ms(x), sy = started_ms(y);
    if (sx != sy)
        return sx > sy ? -1 : 1;
    return strcmp(x->row.id, y->row.id);
}

/* The candidates, in victim order; returns how many. */
static size_t gather(const struct mlq_preempt_in *in, struct mlq_preempt_victim *v)
{
    bool reclaims = in->q->job_within_nominal(in->c, in->waiting);
    size_t n = 0;
    for (size_t i = 0; i < in->nrunning; i++) {
        int why = eligible(in, reclaims, in->running[i]);
        if (why)
            v[n++] = (struct mlq_preempt_victim){in->running[i], (enum mlq_preempt_why)why};
    }
    qsort(v, n, sizeof *v, victim_cmp);
    return n;
}

/* A reclaim victim is taken only while its team still borrows once the
 * victims already chosen from that team are taken off its use. */
static bool team_still_over(const struct mlq_preempt_in *in, const struct mlq_preempt_victim *out,
                            size_t n, const struct mlq_job *j)
{
    struct mlq_quota_amount minus = {0}, a;
    for (size_t i = 0; i < n; i++) {
        if (!same_team(out[i].job, j))
            continue;
        in->q->job_amount(out[i].job, &a);
        minus.gpus_h += a.gpus_h;
        minus.cpus_m += a.cpus_m;
        minus.mem += a.mem;
    }
    return in->q->over_nominal(in->c, j->row.spec.team, j->row.spec.pool, &minus);
}

/* One (worker, candidate) pair: a candidate frees room on its worker (a
 * gang on each of its parts' workers). */
struct slot {
    size_t widx, cand;
};

static int slot_cmp(const void *a, const void *b)
{
    const struct slot *x = a, *y = b;
    if (x->widx != y->widx)
        return x->widx < y->widx ? -1 : 1;
    return x->cand < y->cand ? -1 : x->cand > y->cand;
}

/* The pairs, by worker then candidate order; returns how many. */
static size_t slots_of(const struct mlq_preempt_victim *cand, size_t n, struct slot *s)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        const struct mlq_job *j = cand[i].job;
        if (!mlq_job_gang(j))
            s[k++] = (struct slot){mlq_job_run(j)->widx, i};
        for (uint32_t p = 0; mlq_job_gang(j) && p < mlq_job_gang(j)->n; p++)
            s[k++] = (struct slot){mlq_job_gang(j)->parts[p].widx, i};
    }
    qsort(s, k, sizeof *s, slot_cmp);
    return k;
}

static size_t slot_count(const struct mlq_preempt_victim *cand, size_t n)
{
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        k += mlq_job_gang(cand[i].job) ? mlq_job_gang(cand[i].job)->n : 1;
    return k;
}

/* The victims on one worker, in victim order, until the job fits there;
 * returns how many (0: it does not fit with them). */
static size_t on_worker(const struct mlq_preempt_in *in, const struct mlq_preempt_victim *cand,
                        const struct slot *s, size_t ns, struct mlq_preempt_victim *out)
{
    size_t n = 0;
    for (size_t i = 0; i < ns; i++) {
        const struct mlq_preempt_victim *c = &cand[s[i].cand];
        if (c->why == MLQ_PREEMPT_RECLAIM && !team_still_over(in, out, n, c->job))
            continue;
        out[n++] = *c;
        if (in->fits(in->fit_arg, out, n))
            return n;
    }
    return 0;
}

static int32_t top_priority(const struct mlq_preempt_victim *v, size_t n)
{
    int32_t top = v[0].job->row.spec.priority;
    for (size_t i = 1; i < n; i++)
        if (v[i].job->row.spec.priority > top)
            top = v[i].job->row.spec.priority;
    return top;
}

/* The worker whose victims matter least: the highest priority among them
 * lowest, then the fewest; into out. */
static size_t best_worker(const struct mlq_preempt_in *in, const struct mlq_preempt_victim *cand,
                          const struct slot *s, size_t ns, struct mlq_preempt_victim *out,
                          struct mlq_preempt_victim *tmp)
{
    size_t best = 0;
    for (size_t i = 0, end; i < ns; i = end) {
        for (end = i + 1; end < ns && s[end].widx == s[i].widx; end++)
            ;
        size_t n = on_worker(in, cand, s + i, end - i, tmp);
        if (n == 0)
            continue;
        int32_t t = top_priority(tmp, n), bt = best ? top_priority(out, best) : 0;
        if (best == 0 || t < bt || (t == bt && n < best)) {
            memcpy(out, tmp, n * sizeof *out);
            best = n;
        }
    }
    return best;
}

size_t mlq_preempt_choose(const struct mlq_preempt_in *in, struct mlq_preempt_victim *out)
{
    if (in->nrunning == 0)
        return 0;
    struct mlq_preempt_victim *cand = malloc(in->nrunning * sizeof *cand);
    size_t ncand = cand ? gather(in, cand) : 0, n = 0;
    /* Nothing for a job that would not fit even with every candidate gone. */
    if (ncand > 0 && in->fits(in->fit_arg, cand, ncand)) {
        size_t ns = slot_count(cand, ncand);
        struct slot *s = malloc(ns * sizeof *s);
        struct mlq_preempt_victim *tmp = malloc(ncand * sizeof *tmp);
        if (s && tmp)
            n = best_worker(in, cand, s, slots_of(cand, ncand, s), out, tmp);
        free(s);
        free(tmp);
    }
    free(cand);
    return n;
}

/* Counts j under the rule that keeps it from being a victim. */
static void tally(const struct mlq_preempt_in *in, enum standing st, const struct mlq_job *j,
                  struct mlq_preempt_census *out)
{
    out->in_pool += st != ST_NONE;
    switch (st) {
    case ST_YOUNG: {
        int64_t min =
            j->row.spec.min_runtime_ms > 0 ? j->row.spec.min_runtime_ms : in->min_runtime_ms;
        int64_t at = started_ms(j) + min;
        if (!out->young++ || at < out->young_until_ms)
            out->young_until_ms = at;
        break;
    }
    case ST_PROTECTED:
        out->protected_jobs++;
        break;
    case ST_NOT_BORROWING:
        out->not_borrowing++;
        break;
    case ST_OTHER_TEAM:
        out->other_team++;
        break;
    case ST_TEAM_OFF:
        out->team_off++;
        break;
    case ST_NOT_LOWER:
        out->not_lower++;
        break;
    case ST_RECLAIM:
    case ST_PRIORITY:
        out->eligible++;
        break;
    case ST_NONE:
        break;
    }
}

void mlq_preempt_census(const struct mlq_preempt_in *in, struct mlq_preempt_census *out)
{
    memset(out, 0, sizeof *out);
    out->reclaims = in->q->job_within_nominal(in->c, in->waiting);
    for (size_t i = 0; i < in->nrunning; i++)
        tally(in, standing(in, out->reclaims, in->running[i]), in->running[i], out);
    if (out->eligible == 0)
        return;
    struct mlq_preempt_victim *cand = malloc(in->nrunning * sizeof *cand);
    size_t n = cand ? gather(in, cand) : 0;
    out->fits_all = n > 0 && in->fits(in->fit_arg, cand, n);
    free(cand);
}

void mlq_preempt_note(const struct mlq_job *waiting, enum mlq_preempt_why why, char *buf,
                      size_t len)
{
    const char *team = waiting->row.spec.team;
    if (why == MLQ_PREEMPT_RECLAIM)
        snprintf(buf, len, "preempted by job %.8s%s%s to reclaim borrowed quota", waiting->row.id,
                 team ? " of team " : "", team ? team : "");
    else
        snprintf(buf, len, "preempted by higher-priority job %.8s", waiting->row.id);
}
