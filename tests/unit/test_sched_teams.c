/* scheduler, teams: fair share weighs teams first, then users within a
 * team (fairshare.h): with team A = {a1} and team B = {b1, b2, b3} having
 * used the same, one CPU runs their jobs alternately by team, not three of
 * B's first (what per-user fair share did: each of B's users had used a
 * third of a1); a submitted job takes its owner's team from the store,
 * whatever the client sent; a user's usage listing stays per user; and a
 * share of one GPU is charged its fraction of a whole GPU, while it runs,
 * once it ended, and as recovered from the store after a restart. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "fairshare.h"
#include "jobops.h"
#include "jobtab.h"
#include "sched_fixture.h"
#include "teams.h"

#define H 3600000LL

static int setup(void **state)
{
    return sched_fx_open(state, "teams", 30000);
}

static struct mlq_job *submit_as(struct mlq_ctx *c, const char *owner, const char *team)
{
    struct mlq_jobspec spec = sched_spec(owner, 1000, 0);
    spec.team = team ? strdup(team) : NULL;
    char id[MLQ_ID_LEN + 1];
    assert_int_equal(mlq_jobops_submit(c, &spec, id, NULL), 0);
    struct mlq_job *job = mlq_jobtab_get(c->jobs, id);
    assert_non_null(job);
    return job;
}

static void used(struct mlq_ctx *c, const char *owner, const char *team, int64_t hours)
{
    assert_int_equal(mlq_fairshare_add_job(c->fs, owner, team, 1000, 0, c->now_wall - hours * H,
                                           c->now_wall, c->now_wall),
                     0);
}

static void test_alternation_by_team(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    /* no decay over the test: only the order of use matters */
    mlq_fairshare_destroy(&c->fs);
    c->fs = mlq_fairshare_create(10000 * H);
    struct mlq_worker *w = sched_worker_up(c, "w1", 0);
    w->cpus_m = 1000; /* one job at a time */
    used(c, "a1", "A", 3);
    used(c, "b1", "B", 1);
    used(c, "b2", "B", 1);
    used(c, "b3", "B", 1);
    struct mlq_job *jobs[6] = {
        submit_as(c, "a1", "A"), submit_as(c, "a1", "A"), submit_as(c, "a1", "A"),
        submit_as(c, "b1", "B"), submit_as(c, "b2", "B"), submit_as(c, "b3", "B"),
    };
    char order[7] = "";
    for (int step = 0; step < 6; step++) {
        assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
        struct mlq_job *ran = NULL;
        for (int i = 0; i < 6; i++)
            if (jobs[i] && jobs[i]->row.state == MLQ_JOB_ASSIGNED)
                ran = jobs[i];
        assert_non_null(ran);
        order[step] = ran->row.spec.team[0];
        c->now_wall += H; /* it runs an hour */
        sched_report_exit(c, ran, 0);
        for (int i = 0; i < 6; i++)
            if (jobs[i] == ran)
                jobs[i] = NULL;
    }
    assert_string_equal(order, "BABABA");
}

static int count_owner(const char *owner, double core_s, double penalty, void *ctx)
{
    (void)owner;
    (void)core_s;
    (void)penalty;
    (*(int *)ctx)++;
    return 0;
}

/* A teamless user is a team of their own: against a team that used as
 * much, the order is decided by submit time, as between two users. */
static void test_teamless_is_own_team(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    used(c, "solo", NULL, 2);
    used(c, "t1", "T", 1);
    used(c, "t2", "T", 1);
    double solo = mlq_fairshare_job_penalty(c->fs, "solo", NULL, c->now_wall);
    double t1 = mlq_fairshare_job_penalty(c->fs, "t1", "T", c->now_wall);
    assert_true(solo > t1); /* same team use, a larger share of it */
    assert_true(solo < t1 * 1.1);
    /* the listing of use stays per user: no team account in it */
    int n = 0;
    assert_int_equal(mlq_fairshare_each(c->fs, c->now_wall, count_owner, &n), 0);
    assert_int_equal(n, 3);
}

static void test_team_from_store(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_err err = {0};
    struct mlq_store_principal p = {.kind = "user",
                                    .name = "alice",
                                    .role = "user",
                                    .key = "raj>LODIwg27-AAQ%{e]RoL0:?#QEUIHb29}&e*G"};
    assert_int_equal(mlq_store_begin(c->store, &err), 0);
    assert_int_equal(mlq_store_principal_save(c->store, &p, &err), 0);
    assert_int_equal(mlq_store_team_add(c->store, "ml", c->now_wall, &err), 0);
    assert_int_equal(mlq_store_user_team_set(c->store, "alice", "ml", &err), 0);
    struct mlq_jobspec spec = sched_spec("alice", 1000, 0);
    spec.team = strdup("someone-elses");
    assert_int_equal(mlq_teams_set_job_team(c, &spec, &err), 0);
    assert_string_equal(spec.team, "ml");
    mlq_proto_jobspec_free(&spec);
    spec = sched_spec("bob", 1000, 0); /* no such principal: no team */
    spec.team = strdup("ml");
    assert_int_equal(mlq_teams_set_job_team(c, &spec, &err), 0);
    assert_null(spec.team);
    mlq_proto_jobspec_free(&spec);
    /* a team with a member is not removed; one without is */
    assert_int_equal(mlq_store_team_rm(c->store, "ml", &err), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "alice"));
    assert_int_equal(mlq_store_user_team_set(c->store, "alice", "", &err), 0);
    assert_int_equal(mlq_store_team_rm(c->store, "ml", &err), 0);
    assert_int_equal(mlq_store_team_rm(c->store, "ml", &err), MLQ_ENOTFOUND);
    sched_commit(c);
}

/* Fair-share points of owner's GPU use alone: its total less one CPU's
 * (both jobs below ask one CPU) over hours. */
static double gpu_points(struct mlq_ctx *c, const char *owner, double hours)
{
    return mlq_fairshare_penalty(c->fs, owner, c->now_wall) - hours * MLQ_FS_POINTS_PER_HOUR;
}

static void test_gpu_share_charged_its_fraction(void **state)
{
    struct sched_fx *f = *state;
    struct mlq_ctx *c = &f->c;
    mlq_fairshare_destroy(&c->fs); /* no decay over the test */
    c->fs = mlq_fairshare_create(10000 * H);
    sched_worker_up(c, "w1", 2);
    struct mlq_jobspec half = sched_spec("alice", 1000, 0), whole = sched_spec("bob", 1000, 1);
    half.gpu_frac = 50;
    char ida[MLQ_ID_LEN + 1], idb[MLQ_ID_LEN + 1];
    assert_int_equal(mlq_jobops_submit(c, &half, ida, NULL), 0);
    assert_int_equal(mlq_jobops_submit(c, &whole, idb, NULL), 0);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    struct mlq_job *a = mlq_jobtab_get(c->jobs, ida), *b = mlq_jobtab_get(c->jobs, idb);
    assert_int_equal(a->row.state, MLQ_JOB_ASSIGNED);
    assert_int_equal(b->row.state, MLQ_JOB_ASSIGNED);
    assert_int_equal(a->att->gpu_h, 50);
    assert_int_equal(b->att->gpu_h, 100);
    assert_int_equal(mlq_jobops_started(c, a, NULL), 0);
    assert_int_equal(mlq_jobops_started(c, b, NULL), 0);
    sched_commit(c);
    c->now_wall += H; /* running: counted as it runs */
    double whole_gpu_hour = MLQ_FS_GPU_WEIGHT * MLQ_FS_POINTS_PER_HOUR;
    assert_float_equal(gpu_points(c, "bob", 1), whole_gpu_hour, 0.01);
    assert_float_equal(gpu_points(c, "alice", 1), whole_gpu_hour / 2, 0.01);
    sched_report_exit(c, a, 0);
    sched_report_exit(c, b, 0);
    sched_commit(c);
    assert_float_equal(gpu_points(c, "bob", 1), whole_gpu_hour, 0.01); /* ended: the same */
    assert_float_equal(gpu_points(c, "alice", 1), whole_gpu_hour / 2, 0.01);
    sched_fx_restart(f); /* from the attempts' rows, with the half-life of the context */
    double pa = mlq_fairshare_penalty(c->fs, "alice", c->now_wall);
    double pb = mlq_fairshare_penalty(c->fs, "bob", c->now_wall);
    assert_true(pb > 0);
    /* the same decay on both: (1 CPU + half a GPU) / (1 CPU + 1 GPU) */
    double want = (1 + MLQ_FS_GPU_WEIGHT / 2.0) / (1 + MLQ_FS_GPU_WEIGHT);
    assert_float_equal(pa / pb, want, 0.001);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_alternation_by_team, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_teamless_is_own_team, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_team_from_store, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_gpu_share_charged_its_fraction, setup, sched_fx_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
