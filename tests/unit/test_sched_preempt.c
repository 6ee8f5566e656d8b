/* The preemption policy (preempt.h) with fake quota functions and a fake
 * fit test: victim order, stopping at the fit, nothing for a job that
 * cannot fit, minimum run time, --no-preempt, preemption within a team
 * only when the team enables it, reclaim only while the victim's team
 * borrows, and a gang as one victim; the census `mlq why` words (each
 * running job under the rule that keeps it, or eligible). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <string.h>

#include "jobtab.h"
#include "preempt.h"

#define NOW   1000000
#define MAXJ  16
#define MAXW  4
#define TEAMS 3

/* The fake cluster: workers with GPUs free now, teams with a nominal GPU
 * quota and their use (whole GPUs). */
struct fake {
    int free_gpus[MAXW];
    const char *team[TEAMS];
    int nominal[TEAMS], used[TEAMS];
    struct mlq_job jobs[MAXJ];
    struct mlq_jobrun atts[MAXJ]; /* each job's live attempt */
    struct mlq_gang gangs[MAXJ];
    struct mlq_gpart parts[MAXJ][2];
    struct mlq_job *running[MAXJ];
    size_t n;
    struct mlq_job waiting;
    int fit_calls;
};

static struct fake F;

static int team_idx(const char *team)
{
    for (int i = 0; i < TEAMS; i++)
        if (team && F.team[i] && strcmp(F.team[i], team) == 0)
            return i;
    return -1;
}

static bool fake_over(struct mlq_ctx *c, const char *team, const char *pool,
                      const struct mlq_quota_amount *minus)
{
    (void)c;
    (void)pool;
    int t = team_idx(team);
    int64_t use = t < 0 ? 0 : (int64_t)F.used[t] * 100 - (minus ? minus->gpus_h : 0);
    return t >= 0 && use > (int64_t)F.nominal[t] * 100;
}

static bool fake_within(struct mlq_ctx *c, const struct mlq_job *job)
{
    (void)c;
    int t = team_idx(job->row.spec.team);
    return t >= 0 && F.used[t] + job->row.spec.gpus <= F.nominal[t];
}

static void fake_amount(const struct mlq_job *job, struct mlq_quota_amount *out)
{
    memset(out, 0, sizeof *out);
    out->gpus_h =
        (int64_t)job->row.spec.gpus * 100 * (mlq_job_gang(job) ? mlq_job_gang(job)->n : 1);
}

static const struct mlq_preempt_quota fake_q = {fake_over, fake_within, fake_amount};

/* Fits when one worker has enough GPUs once the victims' are free (a gang
 * victim frees its GPUs on each of its parts' workers). */
static bool fake_fits(void *arg, const struct mlq_preempt_victim *v, size_t n)
{
    (void)arg;
    F.fit_calls++;
    int freed[MAXW] = {0};
    for (size_t i = 0; i < n; i++) {
        const struct mlq_job *j = v[i].job;
        if (mlq_job_gang(j))
            for (uint32_t k = 0; k < mlq_job_gang(j)->n; k++)
                freed[mlq_job_gang(j)->parts[k].widx] += j->row.spec.gpus;
        else
            freed[mlq_job_run(j)->widx] += j->row.spec.gpus;
    }
    for (int w = 0; w < MAXW; w++)
        if (F.free_gpus[w] + freed[w] >= F.waiting.row.spec.gpus)
            return true;
    return false;
}

static void setup_fake(void)
{
    memset(&F, 0, sizeof F);
    F.team[0] = "a";
    F.team[1] = "b";
    F.team[2] = "c";
    F.waiting.row.state = MLQ_JOB_PENDING;
    memcpy(F.waiting.row.id, "ffffffff-0000-0000-0000-000000000000", MLQ_ID_LEN);
}

static void set_waiting(const char *team, int gpus, int prio)
{
    F.waiting.row.spec.team = (char *)team;
    F.waiting.row.spec.gpus = gpus;
    F.waiting.row.spec.priority = prio;
}

/* A running job of team on worker w, started `ago` ms before NOW. */
static struct mlq_job *add_running(const char *team, int gpus, int prio, int64_t ago, size_t w)
{
    size_t i = F.n++;
    struct mlq_job *j = &F.jobs[i];
    snprintf(j->row.id, sizeof j->row.id, "%08zx-0000-0000-0000-000000000000", i);
    j->row.state = MLQ_JOB_RUNNING;
    j->row.spec.team = (char *)team;
    j->row.spec.gpus = gpus;
    j->row.spec.priority = prio;
    F.atts[i].att.start_ms = NOW - ago;
    F.atts[i].att.assigned_ms = NOW - ago;
    j->att = &F.atts[i].att;
    j->live = true;
    mlq_job_run(j)->widx = w;
    F.running[i] = j;
    int t = team_idx(team);
    if (t >= 0)
        F.used[t] += gpus;
    return j;
}

static size_t choose(bool within_team, int64_t min_runtime, struct mlq_preempt_victim *out)
{
    struct mlq_preempt_in in = {.q = &fake_q,
                                .waiting = &F.waiting,
                                .within_team = within_team,
                                .now_ms = NOW,
                                .min_runtime_ms = min_runtime,
                                .running = F.running,
                                .nrunning = F.n,
                                .fits = fake_fits};
    return mlq_preempt_choose(&in, out);
}

/* Reclaim: lowest priority first, then the most recently started. */
static void test_victim_order(void **state)
{
    (void)state;
    setup_fake();
    F.nominal[0] = 1;
    F.nominal[1] = 2;
    struct mlq_job *old_low = add_running("a", 1, 0, 5000, 0);
    struct mlq_job *new_low = add_running("a", 1, 0, 1000, 0);
    add_running("a", 1, 5, 500, 0);
    struct mlq_job *mid = add_running("a", 1, 2, 800, 0);
    set_waiting("b", 1, 0);
    struct mlq_preempt_victim v[MAXJ];
    assert_int_equal(choose(false, 0, v), 1);
    assert_ptr_equal(v[0].job, new_low);
    assert_int_equal(v[0].why, MLQ_PREEMPT_RECLAIM);
    /* the waiting job needs three: the two lowest, newest first, then mid */
    set_waiting("b", 2, 0);
    F.nominal[1] = 3;
    F.nominal[0] = 0;
    F.waiting.row.spec.gpus = 3;
    assert_int_equal(choose(false, 0, v), 3);
    assert_ptr_equal(v[0].job, new_low);
    assert_ptr_equal(v[1].job, old_low);
    assert_ptr_equal(v[2].job, mid);
}

/* Stops as soon as the job fits; none on a worker the job does not get. */
static void test_stop_at_fit(void **state)
{
    (void)state;
    setup_fake();
    F.nominal[1] = 4;
    for (int i = 0; i < 4; i++)
        add_running("a", 1, 0, 1000 + i, 0);
    add_running("a", 1, -5, 10, 1); /* lowest priority, on another worker */
    set_waiting("b", 2, 0);
    struct mlq_preempt_victim v[MAXJ];
    size_t n = choose(false, 0, v);
    assert_int_equal(n, 2);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(mlq_job_run(v[i].job)->widx, 0);
}

/* Nothing for a job that would not fit even with every candidate gone. */
static void test_no_preempt_when_no_fit(void **state)
{
    (void)state;
    setup_fake();
    F.nominal[1] = 16;
    for (int i = 0; i < 4; i++)
        add_running("a", 1, 0, 1000, 0);
    set_waiting("b", 8, 0);
    struct mlq_preempt_victim v[MAXJ];
    assert_int_equal(choose(false, 0, v), 0);
}

/* Reclaim needs the waiting job within its nominal quota, and takes from a
 * team only while it still borrows. */
static void test_reclaim_rules(void **state)
{
    (void)state;
    setup_fake();
    F.nominal[0] = 3; /* team a borrows one GPU */
    F.nominal[1] = 2;
    for (int i = 0; i < 4; i++)
        add_running("a", 1, 0, 1000 + i, 0);
    set_waiting("b", 2, 0);
    struct mlq_preempt_victim v[MAXJ];
    /* one of a's jobs may go, not two: b's job would still not fit */
    assert_int_equal(choose(false, 0, v), 0);
    set_waiting("b", 1, 0);
    assert_int_equal(choose(false, 0, v), 1);
    /* beyond its own nominal quota, b may not reclaim */
    F.used[1] = 2;
    assert_int_equal(choose(false, 0, v), 0);
    /* a team within its quota is not a victim */
    F.used[1] = 0;
    F.nominal[0] = 4;
    assert_int_equal(choose(false, 0, v), 0);
}

/* A job that ran less than its minimum run time stays: the admin's
 * default, or its own --min-runtime. */
static void test_min_runtime(void **state)
{
    (void)state;
    setup_fake();
    F.nominal[1] = 1;
    struct mlq_job *young = add_running("a", 1, 0, 100, 0);
    set_waiting("b", 1, 0);
    struct mlq_preempt_victim v[MAXJ];
    assert_int_equal(choose(false, 500, v), 0);
    assert_int_equal(choose(false, 50, v), 1);
    young->row.spec.min_runtime_ms = 200;
    assert_int_equal(choose(false, 50, v), 0);
    young->row.spec.min_runtime_ms = 100;
    assert_int_equal(choose(false, 500, v), 1);
}

/* --no-preempt holds while the job's team is within its nominal quota. */
static void test_no_preempt_flag(void **state)
{
    (void)state;
    setup_fake();
    F.nominal[1] = 1;
    F.nominal[2] = 1;
    struct mlq_job *j = add_running("c", 1, 0, 1000, 0);
    j->row.spec.no_preempt = true;
    set_waiting("c", 1, 5); /* the same team, higher priority */
    struct mlq_preempt_victim v[MAXJ];
    assert_int_equal(choose(true, 0, v), 0);
    /* team c borrows: the flag no longer protects the job */
    F.nominal[2] = 0;
    set_waiting("b", 1, 0);
    assert_int_equal(choose(false, 0, v), 1);
    assert_ptr_equal(v[0].job, j);
}

/* Within a team: only when the team enables it, only lower priorities,
 * never other teams' jobs for that reason. */
static void test_within_team(void **state)
{
    (void)state;
    setup_fake();
    struct mlq_job *low = add_running("a", 1, 1, 1000, 0);
    add_running("b", 1, 0, 1000, 0); /* another team, lower priority */
    add_running("a", 1, 5, 1000, 0); /* same priority as the waiting job */
    set_waiting("a", 1, 5);
    struct mlq_preempt_victim v[MAXJ];
    assert_int_equal(choose(false, 0, v), 0);
    assert_int_equal(choose(true, 0, v), 1);
    assert_ptr_equal(v[0].job, low);
    assert_int_equal(v[0].why, MLQ_PREEMPT_PRIORITY);
    /* no team: nothing to enable it */
    set_waiting(NULL, 1, 9);
    assert_int_equal(choose(true, 0, v), 0);
}

/* A gang is one victim, freeing its GPUs on each of its workers; one
 * already being preempted is not chosen again. */
static void test_gang_whole(void **state)
{
    (void)state;
    setup_fake();
    F.nominal[1] = 4;
    struct mlq_job *g = add_running("a", 2, 0, 1000, 0);
    F.gangs[0].n = 2;
    F.gangs[0].parts = F.parts[0];
    F.parts[0][0].widx = 0;
    F.parts[0][1].widx = 1;
    mlq_job_run(g)->gang = &F.gangs[0];
    F.used[0] += 2; /* its second node */
    add_running("a", 1, 3, 1000, 1);
    F.free_gpus[1] = 0;
    set_waiting("b", 3, 0);
    struct mlq_preempt_victim v[MAXJ];
    /* worker 1 frees 2 (the gang's part) + 1 (the other job) = 3 */
    assert_int_equal(choose(false, 0, v), 2);
    assert_ptr_equal(v[0].job, g);
    g->row.spec.preempt_note = "preempted by ...";
    assert_int_equal(choose(false, 0, v), 0);
}

static void test_note(void **state)
{
    (void)state;
    setup_fake();
    set_waiting("nlp", 1, 0);
    char buf[256];
    mlq_preempt_note(&F.waiting, MLQ_PREEMPT_RECLAIM, buf, sizeof buf);
    assert_string_equal(buf, "preempted by job ffffffff of team nlp to reclaim borrowed quota");
    mlq_preempt_note(&F.waiting, MLQ_PREEMPT_PRIORITY, buf, sizeof buf);
    assert_string_equal(buf, "preempted by higher-priority job ffffffff");
}

/* MLQ_PREEMPT_BENCH=N: the time of one choice among N running jobs of 50
 * teams, each borrowing, on N/8 workers of 8 GPUs, for a job that needs a
 * whole worker (8 victims, checked against the fit after each). Off by
 * default (a figure, not a check). */
static bool bench_fits(void *arg, const struct mlq_preempt_victim *v, size_t n)
{
    (void)arg;
    size_t per[64] = {0};
    for (size_t i = 0; i < n; i++)
        if (mlq_job_run(v[i].job)->widx < 64 && ++per[mlq_job_run(v[i].job)->widx] >= 8)
            return true;
    return false;
}

static bool bench_over(struct mlq_ctx *c, const char *team, const char *pool,
                       const struct mlq_quota_amount *minus)
{
    (void)c, (void)team, (void)pool;
    return !minus || minus->gpus_h < 100000;
}

static bool bench_within(struct mlq_ctx *c, const struct mlq_job *job)
{
    (void)c, (void)job;
    return true;
}

static struct mlq_preempt_census census(bool within_team, int64_t min_runtime)
{
    struct mlq_preempt_in in = {.q = &fake_q,
                                .waiting = &F.waiting,
                                .within_team = within_team,
                                .now_ms = NOW,
                                .min_runtime_ms = min_runtime,
                                .running = F.running,
                                .nrunning = F.n,
                                .fits = fake_fits};
    struct mlq_preempt_census k;
    mlq_preempt_census(&in, &k);
    return k;
}

/* Each running job counts under the first rule that keeps it, in the
 * policy's order; the eligible ones, and whether the job fits without
 * them, as mlq_preempt_choose sees them. */
static void test_census(void **state)
{
    (void)state;
    setup_fake();
    F.nominal[0] = 1; /* team a borrows: its old jobs are eligible */
    F.nominal[1] = 4;
    F.nominal[2] = 4;               /* team c is within its quota */
    add_running("a", 1, 0, 100, 0); /* young */
    add_running("a", 1, 0, 5000, 0);
    struct mlq_job *prot = add_running("c", 1, 0, 5000, 0);
    prot->row.spec.no_preempt = true;
    add_running("c", 1, 0, 5000, 0);
    add_running("b", 1, 9, 5000, 0); /* its own team: within is off */
    set_waiting("b", 1, 5);
    struct mlq_preempt_census k = census(false, 1000);
    assert_true(k.reclaims);
    assert_int_equal(k.in_pool, 5);
    assert_int_equal(k.young, 1);
    assert_int_equal(k.young_until_ms, NOW - 100 + 1000);
    assert_int_equal(k.protected_jobs, 1);
    assert_int_equal(k.not_borrowing, 1);
    assert_int_equal(k.team_off, 1);
    assert_int_equal(k.eligible, 1);
    assert_true(k.fits_all);
    /* within on: its own team's job has a higher priority */
    k = census(true, 1000);
    assert_int_equal(k.team_off, 0);
    assert_int_equal(k.not_lower, 1);
    /* beyond its nominal quota: no reclaim, other teams only counted */
    F.used[1] = 4;
    k = census(false, 1000);
    assert_false(k.reclaims);
    assert_int_equal(k.other_team, 2); /* a's old one and c's unprotected one */
    assert_int_equal(k.protected_jobs, 1);
    assert_int_equal(k.eligible, 0);
    assert_false(k.fits_all);
    /* eligible, but the job needs more than they free */
    F.used[1] = 1;
    set_waiting("b", 2, 5);
    k = census(false, 1000);
    assert_int_equal(k.eligible, 1);
    assert_false(k.fits_all);
}

static void test_bench(void **state)
{
    (void)state;
    const char *e = getenv("MLQ_PREEMPT_BENCH");
    size_t n = e ? strtoul(e, NULL, 10) : 0;
    if (n < 8)
        return;
    static char teams[50][8];
    struct mlq_job *jobs = calloc(n, sizeof *jobs);
    struct mlq_jobrun *atts = calloc(n, sizeof *atts);
    struct mlq_job **run = calloc(n, sizeof *run);
    struct mlq_preempt_victim *out = calloc(n, sizeof *out);
    assert_non_null(jobs && atts && run && out);
    for (size_t i = 0; i < n; i++) {
        snprintf(teams[i % 50], sizeof teams[0], "t%zu", i % 50);
        snprintf(jobs[i].row.id, sizeof jobs[i].row.id, "%08x-0000-0000-0000-000000000000",
                 (unsigned)(i & 0xffffffffu));
        jobs[i].row.state = MLQ_JOB_RUNNING;
        jobs[i].row.spec.team = teams[i % 50];
        jobs[i].row.spec.gpus = 1;
        jobs[i].row.spec.priority = (int32_t)(i % 7);
        atts[i].att.start_ms = NOW - 1000 - (int64_t)(i % 997);
        jobs[i].att = &atts[i].att;
        jobs[i].live = true;
        mlq_job_run(&jobs[i])->widx = i / 8;
        run[i] = &jobs[i];
    }
    setup_fake();
    set_waiting("w", 8, 0);
    const struct mlq_preempt_quota q = {bench_over, bench_within, fake_amount};
    struct mlq_preempt_in in = {.q = &q,
                                .waiting = &F.waiting,
                                .now_ms = NOW,
                                .running = run,
                                .nrunning = n,
                                .fits = bench_fits};
    struct timespec a, b;
    clock_gettime(CLOCK_MONOTONIC, &a);
    size_t k = mlq_preempt_choose(&in, out);
    clock_gettime(CLOCK_MONOTONIC, &b);
    printf("preempt choice among %zu running jobs: %zu victims in %.3f ms\n", n, k,
           (double)(b.tv_sec - a.tv_sec) * 1e3 + (double)(b.tv_nsec - a.tv_nsec) / 1e6);
    assert_true(k > 0);
    free(jobs);
    free(atts);
    free(run);
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_victim_order),
        cmocka_unit_test(test_stop_at_fit),
        cmocka_unit_test(test_no_preempt_when_no_fit),
        cmocka_unit_test(test_reclaim_rules),
        cmocka_unit_test(test_min_runtime),
        cmocka_unit_test(test_no_preempt_flag),
        cmocka_unit_test(test_within_team),
        cmocka_unit_test(test_gang_whole),
        cmocka_unit_test(test_note),
        cmocka_unit_test(test_census),
        cmocka_unit_test(test_bench),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
