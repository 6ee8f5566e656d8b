/* replay_fill: fill mode (replay.h). Tasks arrive one after the other, in
 * the file's order and then sampled with replacement, and never leave,
 * until the GPUs they ask for would exceed the cluster's. A task that
 * cannot start at once is cancelled and counted as failed (it holds no
 * reservation that would block the ones after it). */
#include <stdio.h>
#include <stdlib.h>

#include "bench_proc.h"
#include "replay.h"

/* xorshift64*: the same seed samples the same tasks. */
static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

static double pct(int64_t part, int64_t whole)
{
    return whole > 0 ? 100.0 * (double)part / (double)whole : 0;
}

/* Lets the simulated workers take every assign sent so far. */
static int settle(struct rp_run *r, struct mlq_err *err)
{
    int rc;
    while ((rc = bsim_poll(r->sim, 0, err)) > 0)
        ;
    return rc;
}

static int sample(struct rp_run *r, int64_t demand_h, bool last, struct mlq_err *err)
{
    int64_t stranded, total;
    int rc = settle(r, err);
    if (rc == 0)
        rc = rp_summary(r, &stranded, &total, err);
    if (rc < 0)
        return rc;
    if (r->alloc_h > r->cluster_h || total * 100 != r->cluster_h)
        return mlq_err_set(err, MLQ_ESTATE,
                           "inconsistent: %lld hundredths allocated of %lld; the scheduler "
                           "counts %lld GPUs",
                           (long long)r->alloc_h, (long long)r->cluster_h, (long long)total);
    struct rp_result *s = r->res;
    printf("%s policy=%s demand_pct=%.1f allocated_pct=%.2f stranded=%.2f placed=%llu "
           "failed=%llu\n",
           last ? "fill_end" : "fill", s->policy, pct(demand_h, r->cluster_h),
           pct(r->alloc_h, r->cluster_h), (double)stranded / 100.0, (unsigned long long)s->placed,
           (unsigned long long)s->failed);
    fflush(stdout);
    if (last) {
        s->end_demand = pct(demand_h, r->cluster_h);
        s->end_alloc = pct(r->alloc_h, r->cluster_h);
        s->end_stranded = (double)stranded / 100.0;
    }
    return 0;
}

/* One task: submitted, then started or cancelled. */
static int one_task(struct rp_run *r, const struct trace_task *t, int64_t demand_h,
                    struct mlq_err *err)
{
    struct rp_job *j;
    enum mlq_job_state st;
    int rc = rp_submit(r, t, &j, err);
    if (rc == 0) /* the scheduling pass ran before the reply left */
        rc = rp_job_state(r, j, &st, err);
    if (rc < 0)
        return rc;
    r->res->tasks++;
    if (st != MLQ_JOB_PENDING) {
        r->res->placed++;
        return 0;
    }
    r->res->failed++;
    if (!r->res->failed_once) {
        r->res->failed_once = true;
        rc = settle(r, err);
        r->res->first_fail_demand = pct(demand_h, r->cluster_h);
        r->res->first_fail_alloc = pct(r->alloc_h, r->cluster_h);
        printf("fill_first_failure policy=%s demand_pct=%.1f allocated_pct=%.2f task=%s\n",
               r->res->policy, r->res->first_fail_demand, r->res->first_fail_alloc, t->name);
    }
    return rc == 0 ? rp_cancel(r, j, err) : rc;
}

int rp_fill(struct rp_run *r, struct mlq_err *err)
{
    uint64_t seed = r->o->seed ? r->o->seed : 1;
    int64_t demand_h = 0;
    double next_pct = r->o->step_pct;
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < TRACE_MAX_TASKS && !benv_stopped(r->e); i++) {
        const struct trace_task *t =
            i < r->ntasks ? &r->tasks[i] : &r->tasks[next_rand(&seed) % r->ntasks];
        if (demand_h + trace_task_h(t) > r->cluster_h)
            break;
        demand_h += trace_task_h(t);
        rc = one_task(r, t, demand_h, err);
        if (rc == 0)
            rc = settle(r, err);
        if (rc == 0 && pct(demand_h, r->cluster_h) >= next_pct) {
            rc = sample(r, demand_h, false, err);
            while (next_pct <= pct(demand_h, r->cluster_h))
                next_pct += r->o->step_pct;
        }
    }
    if (rc == 0)
        rc = sample(r, demand_h, true, err);
    if (rc == 0 && r->res->placed + r->res->failed != r->res->tasks)
        rc = mlq_err_set(err, MLQ_ESTATE, "tasks not accounted for");
    if (rc == 0 && r->bad_assigns)
        rc = mlq_err_set(err, MLQ_ESTATE, "%llu assigns of unknown or cancelled jobs",
                         (unsigned long long)r->bad_assigns);
    return rc;
}
