/* replay_time: replay mode (replay.h). Tasks arrive at their arrival_s and
 * run for their duration_s, both divided by the time scale (the scheduler
 * runs its clock as much faster, MLQ_TEST_TIME_SCALE). Every sample
 * interval the allocation and the stranded GPUs are recorded; at the end
 * the queue waits (trace seconds) and their means from the start to the
 * last arrival (the drain after it would dilute them). */
#include <stdio.h>
#include <stdlib.h>

#include "bench_proc.h"
#include "bench_util.h"
#include "replay.h"

#define POLL_MS       2
#define SAMPLES       200 /* over the trace's span */
#define PRINT_EVERY   20  /* samples per printed line */
#define IDLE_GIVEUP_S 5.0 /* all arrived, none running: the rest never fit */

struct clock {
    int64_t start_ns;
    double scale;
};

static double trace_now(const struct clock *c)
{
    return (double)(bproc_now_ns() - c->start_ns) / 1e9 * c->scale;
}

static int finish_due(struct rp_run *r, size_t *running, struct mlq_err *err)
{
    int64_t now = bproc_now_ns();
    *running = 0;
    for (size_t i = 0; i < r->njobs; i++) {
        struct rp_job *j = &r->jobs[i];
        if (j->st != RP_RUNNING)
            continue;
        if (j->due_ns <= now) {
            int rc = rp_finish(r, j, err);
            if (rc < 0)
                return rc;
        } else {
            (*running)++;
        }
    }
    return 0;
}

struct series {
    double until; /* trace time of the last arrival */
    double sum_alloc, sum_stranded;
    int n, nmean;
};

static int take_sample(struct rp_run *r, double t, size_t running, struct series *s,
                       struct mlq_err *err)
{
    int64_t stranded, total;
    int rc = rp_summary(r, &stranded, &total, err);
    if (rc < 0)
        return rc;
    if (r->alloc_h < 0 || r->alloc_h > r->cluster_h || total * 100 != r->cluster_h)
        return mlq_err_set(err, MLQ_ESTATE, "inconsistent: %lld hundredths allocated of %lld",
                           (long long)r->alloc_h, (long long)r->cluster_h);
    double alloc = 100.0 * (double)r->alloc_h / (double)r->cluster_h;
    if (t <= s->until) { /* the means cover the arrivals, not the drain after them */
        s->sum_alloc += alloc;
        s->sum_stranded += (double)stranded / 100.0;
        s->nmean++;
    }
    if (s->n++ % PRINT_EVERY == 0)
        printf("replay policy=%s t_s=%.0f allocated_pct=%.2f stranded=%.2f running=%zu\n",
               r->res->policy, t, alloc, (double)stranded / 100.0, running);
    fflush(stdout);
    return 0;
}

/* Queue waits of the jobs that started, in trace seconds. */
static void waits(struct rp_run *r, double scale)
{
    double *v = calloc(r->njobs ? r->njobs : 1, sizeof *v);
    int n = 0;
    for (size_t i = 0; v && i < r->njobs; i++)
        if (r->jobs[i].st == RP_DONE)
            v[n++] = (double)(r->jobs[i].assign_ns - r->jobs[i].submit_ns) / 1e9 * scale;
    if (n > 0) {
        r->res->wait_p50 = bu_percentile(v, n, 50);
        r->res->wait_p99 = bu_percentile(v, n, 99);
    }
    free(v);
}

/* Cancels what never started (fits nowhere), counting it. */
static int give_up_rest(struct rp_run *r, struct mlq_err *err)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < r->njobs; i++)
        if (r->jobs[i].st == RP_PENDING) {
            r->res->never_placed++;
            rc = rp_cancel(r, &r->jobs[i], err);
        }
    return rc;
}

/* Submits every task due by trace time t; between submits the simulated
 * workers keep answering and heartbeating (a burst must not cost them their
 * lease). */
static int arrivals(struct rp_run *r, double t, size_t *next, struct mlq_err *err)
{
    for (; *next < r->ntasks && r->tasks[*next].arrival_s <= t; (*next)++) {
        struct rp_job *j;
        int rc = rp_submit(r, &r->tasks[*next], &j, err);
        if (rc == 0 && r->res->tasks % 16 == 0)
            rc = bsim_poll(r->sim, 0, err);
        if (rc < 0)
            return rc;
        r->res->tasks++;
    }
    return 0;
}

int rp_replay(struct rp_run *r, struct mlq_err *err)
{
    struct clock c = {bproc_now_ns(), r->o->time_scale > 0 ? r->o->time_scale : 1};
    double span = r->tasks[r->ntasks - 1].arrival_s + 1, step = span / SAMPLES, next_sample = 0;
    int64_t idle_since = 0;
    size_t next = 0, running = 0;
    struct series s = {.until = r->tasks[r->ntasks - 1].arrival_s};
    int rc = 0;
    while (rc == 0 && !benv_stopped(r->e)) {
        double t = trace_now(&c);
        if ((double)(bproc_now_ns() - c.start_ns) / 1e9 > r->o->timeout_s)
            return mlq_err_set(err, MLQ_EUNREACH, "replay: not done after %.0f s", r->o->timeout_s);
        rc = arrivals(r, t, &next, err);
        if (rc == 0)
            rc = bsim_poll(r->sim, POLL_MS, err);
        if (rc >= 0)
            rc = finish_due(r, &running, err);
        if (rc == 0 && t >= next_sample) {
            rc = take_sample(r, t, running, &s, err);
            next_sample += step;
        }
        bool pending = r->res->tasks > r->res->finished + running;
        if (next == r->ntasks && running == 0) {
            idle_since = idle_since ? idle_since : bproc_now_ns();
            if (!pending || (double)(bproc_now_ns() - idle_since) / 1e9 > IDLE_GIVEUP_S)
                break;
        } else {
            idle_since = 0;
        }
        r->res->finished = 0;
        for (size_t i = 0; i < r->njobs; i++)
            r->res->finished += r->jobs[i].st == RP_DONE;
    }
    if (rc == 0)
        rc = give_up_rest(r, err);
    if (rc < 0)
        return rc;
    waits(r, c.scale);
    r->res->mean_alloc = s.nmean ? s.sum_alloc / s.nmean : 0;
    r->res->mean_stranded = s.nmean ? s.sum_stranded / s.nmean : 0;
    r->res->placed = r->res->finished;
    printf("replay_end policy=%s tasks=%llu finished=%llu never_placed=%llu wait_p50_s=%.3f "
           "wait_p99_s=%.3f mean_allocated_pct=%.2f mean_stranded=%.2f\n",
           r->res->policy, (unsigned long long)r->res->tasks, (unsigned long long)r->res->finished,
           (unsigned long long)r->res->never_placed, r->res->wait_p50, r->res->wait_p99,
           r->res->mean_alloc, r->res->mean_stranded);
    if (r->res->finished + r->res->never_placed != r->res->tasks || r->bad_assigns)
        return mlq_err_set(err, MLQ_ESTATE, "tasks not accounted for (%llu bad assigns)",
                           (unsigned long long)r->bad_assigns);
    return 0;
}
