/* mlq-bench-quota: what quotas cost the placement pass. Builds a scheduler
 * context (as the unit tests do) with 20 workers of 8 GPUs, submits
 * 100,000 pending 1-GPU jobs of 100 users in 50 teams, then times
 *   - the first pass, which fills the cluster, and
 *   - 2,000 rounds of "one job ends, one pass places what fits",
 * once without quotas and once with a quota for every team (2 GPUs each,
 * borrow cap 2), and prints both. Then what preemption costs in the same
 * setting (quotas on; the jobs belong to teams 1..49, which borrow once
 * the first pass filled the cluster, and team00 waits with nothing
 * running, within its nominal quota):
 *   - a pass when no reclaim is due (one job ends, one pass),
 *   - a pass in which a waiting job of team00 triggers a reclaim (the
 *     decision, its store writes and KILLs included), and
 *   - the decision alone (mlq_preempt_try for such a job).
 * Not a ctest: figures depend on the machine.
 * Run: build/bin/mlq-bench-quota [JOBS] */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "jobops.h"
#include "jobtab.h"
#include "preemptrun.h"
#include "queue.h"
#include "quota.h"
#include "sched_fixture.h"

#define TEAMS    50
#define USERS    2 /* per team */
#define WORKERS  20
#define ROUNDS   2000
#define RECLAIMS 20 /* team00 jobs that each trigger a reclaim */

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void add_quotas(struct mlq_ctx *c, bool with_quota)
{
    struct mlq_err err = {0};
    assert_int_equal(mlq_store_begin(c->store, &err), 0);
    for (int t = 0; t < TEAMS; t++) {
        struct mlq_quotainfo q = {.gpus_h = 200,
                                  .cpus_m = -1,
                                  .mem = -1,
                                  .borrow_gpus_h = 200,
                                  .user_max_running = -1,
                                  .user_max_gpus_h = -1};
        snprintf(q.team, sizeof q.team, "team%02d", t);
        assert_int_equal(mlq_store_team_add(c->store, q.team, 1, &err), 0);
        if (with_quota)
            assert_int_equal(mlq_store_quota_set(c->store, &q, 1, &err), 0);
    }
    sched_commit(c);
}

/* njobs pending jobs spread over the teams from first_team on. */
static void submit_all(struct mlq_ctx *c, int njobs, int first_team)
{
    for (int i = 0; i < njobs; i++) {
        int t = first_team + i % (TEAMS - first_team), u = (i / TEAMS) % USERS;
        char owner[32], team[32];
        snprintf(owner, sizeof owner, "u%02d-%d", t, u);
        snprintf(team, sizeof team, "team%02d", t);
        struct mlq_jobspec spec = sched_spec(owner, 500, 1);
        spec.team = strdup(team);
        char id[MLQ_ID_LEN + 1];
        assert_int_equal(mlq_jobops_submit(c, &spec, id, NULL), 0);
        if (i % 5000 == 4999)
            sched_commit(c);
    }
    sched_commit(c);
}

struct pick {
    struct mlq_job *job;
};

static void find_live(struct mlq_job *job, void *arg)
{
    struct pick *p = arg;
    if (!p->job && job->live)
        p->job = job;
}

static void run(const char *label, bool with_quota, int njobs)
{
    struct sched_fx *f = NULL;
    void *state = NULL;
    assert_int_equal(sched_fx_open(&state, "bench-quota", 3600000), 0);
    f = state;
    add_quotas(&f->c, with_quota);
    sched_fx_restart(f);
    struct mlq_ctx *c = &f->c;
    for (int w = 0; w < WORKERS; w++) {
        char name[16];
        snprintf(name, sizeof name, "w%02d", w);
        sched_worker_up(c, name, 8);
    }
    double t0 = now_s();
    submit_all(c, njobs, 0);
    double t1 = now_s();
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    double t2 = now_s(), passes = 0;
    sched_commit(c);
    for (int r = 0; r < ROUNDS; r++) {
        struct pick p = {0};
        mlq_jobtab_each(c->jobs, find_live, &p);
        assert_non_null(p.job);
        sched_report_exit(c, p.job, 0);
        double a = now_s();
        assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
        passes += now_s() - a;
        if (r % 100 == 99)
            sched_commit(c);
    }
    sched_commit(c);
    printf("%-12s %d pending jobs, %d teams: submit %.2f s; first pass %.2f ms; "
           "pass after one job ends %.1f us (mean of %d); %zu still pending\n",
           label, njobs, TEAMS, t1 - t0, (t2 - t1) * 1e3, passes / ROUNDS * 1e6, ROUNDS,
           mlq_queue_count(c->queue));
    sched_fx_close(&state);
}

struct assigned {
    struct mlq_job *v[WORKERS * 8];
    size_t n;
};

static void find_assigned(struct mlq_job *job, void *arg)
{
    struct assigned *a = arg;
    if (job->live && job->row.state == MLQ_JOB_ASSIGNED && a->n < WORKERS * 8)
        a->v[a->n++] = job;
}

/* The workers accept what was dispatched: only RUNNING jobs are victims. */
static void start_assigned(struct mlq_ctx *c)
{
    struct assigned a = {.n = 0};
    mlq_jobtab_each(c->jobs, find_assigned, &a);
    for (size_t i = 0; i < a.n; i++)
        assert_int_equal(mlq_jobops_started(c, a.v[i], NULL), 0);
    sched_commit(c);
}

/* One pass after one job ended: its time in seconds. */
static double end_one_and_pass(struct mlq_ctx *c)
{
    struct pick p = {0};
    mlq_jobtab_each(c->jobs, find_live, &p);
    assert_non_null(p.job);
    sched_report_exit(c, p.job, 0);
    double a = now_s();
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    double d = now_s() - a;
    sched_commit(c);
    start_assigned(c);
    return d;
}

/* A pending 1-GPU job of team00 (nothing running: within its nominal
 * quota), ahead of every other job and of team00's earlier ones. */
static struct mlq_job *submit_team00(struct mlq_ctx *c, int k)
{
    struct mlq_jobspec spec = sched_spec("u00-0", 500, 1);
    spec.mem -= (int64_t)k << 20; /* a shape of its own: a pass tries each shape once */
    spec.team = strdup("team00");
    spec.priority = 900 + k; /* the newest first: each pass tries it before the held ones */
    char id[MLQ_ID_LEN + 1];
    assert_int_equal(mlq_jobops_submit(c, &spec, id, NULL), 0);
    sched_commit(c);
    struct mlq_job *job = mlq_jobtab_get(c->jobs, id);
    assert_non_null(job);
    return job;
}

/* Workers held for waiting jobs: one per reclaim decided (preemptrun.h). */
static size_t count_preempting(struct mlq_ctx *c)
{
    return c->nholds;
}

static void run_preempt(int njobs)
{
    void *state = NULL;
    assert_int_equal(sched_fx_open(&state, "bench-preempt", 3600000), 0);
    struct sched_fx *f = state;
    add_quotas(&f->c, true);
    sched_fx_restart(f);
    struct mlq_ctx *c = &f->c;
    for (int w = 0; w < WORKERS; w++) {
        char name[16];
        snprintf(name, sizeof name, "w%02d", w);
        sched_worker_up(c, name, 8);
    }
    submit_all(c, njobs, 1);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    sched_commit(c);
    start_assigned(c);
    c->now_wall += 3600000; /* they ran long enough to be preempted */
    double quiet = 0, off = 0, reclaim = 0, decide = 0;
    for (int r = 0; r < ROUNDS / 10; r++) {
        c->preempt_off = r % 2 == 1; /* alternated: the same state either way */
        *(c->preempt_off ? &off : &quiet) += end_one_and_pass(c);
    }
    c->preempt_off = false;
    size_t held0 = count_preempting(c);
    for (int r = 0; r < RECLAIMS; r++) {
        submit_team00(c, r);
        double a = now_s();
        assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
        reclaim += now_s() - a;
        sched_commit(c);
    }
    size_t held1 = count_preempting(c);
    for (int r = 0; r < RECLAIMS; r++) {
        struct mlq_job *job = submit_team00(c, RECLAIMS + r);
        double a = now_s();
        assert_int_equal(mlq_preempt_try(c, job, NULL), 0);
        decide += now_s() - a;
        sched_commit(c);
    }
    size_t held2 = count_preempting(c);
    int half = ROUNDS / 20;
    printf("preemption:  %d pending jobs, %d teams borrowing, quotas on: pass after one job "
           "ends, no reclaim due: %.1f us with preemption, %.1f us without (means of %d); "
           "pass with a reclaim %.1f us (mean of %d, %zu reclaims decided); the decision "
           "alone %.1f us (mean of %d, %zu decided)\n",
           njobs, TEAMS - 1, quiet / half * 1e6, off / half * 1e6, half, reclaim / RECLAIMS * 1e6,
           RECLAIMS, held1 - held0, decide / RECLAIMS * 1e6, RECLAIMS, held2 - held1);
    sched_fx_close(&state);
}

int main(int argc, char **argv)
{
    int njobs = argc > 1 ? atoi(argv[1]) : 100000;
    if (njobs < ROUNDS * 2) {
        fprintf(stderr, "usage: mlq-bench-quota [JOBS >= %d]\n", ROUNDS * 2);
        return 2;
    }
    run("quotas off:", false, njobs);
    run("quotas on:", true, njobs);
    run_preempt(njobs);
    return 0;
}
