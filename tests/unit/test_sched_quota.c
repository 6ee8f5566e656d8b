/* scheduler, quotas (quota.h) in a real context: the placement pass starts
 * a team's jobs up to its nominal quota plus its borrow cap and holds the
 * next with `mlq why` naming the quota, while another team's job behind it
 * starts; the use is rebuilt from the job table when the scheduler starts
 * again (nothing about use is stored); an ended job gives its use back;
 * the calls preemption makes (over_nominal, job_within_nominal). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "jobops.h"
#include "jobtab.h"
#include "quota.h"
#include "sched_fixture.h"
#include "why.h"

static int setup(void **state)
{
    int rc = sched_fx_open(state, "quota", 30000);
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_err err = {0};
    struct mlq_quotainfo vision = {.team = "vision",
                                   .gpus_h = 100,
                                   .cpus_m = -1,
                                   .mem = -1,
                                   .borrow_gpus_h = 100,
                                   .user_max_running = -1,
                                   .user_max_gpus_h = -1};
    struct mlq_quotainfo nlp = vision;
    strcpy(nlp.team, "nlp");
    nlp.gpus_h = 200;
    nlp.borrow_gpus_h = 0;
    assert_int_equal(mlq_store_begin(c->store, &err), 0);
    assert_int_equal(mlq_store_team_add(c->store, "vision", 1, &err), 0);
    assert_int_equal(mlq_store_team_add(c->store, "nlp", 1, &err), 0);
    assert_int_equal(mlq_store_quota_set(c->store, &vision, 1, &err), 0);
    assert_int_equal(mlq_store_quota_set(c->store, &nlp, 1, &err), 0);
    sched_commit(c);
    sched_fx_restart(*state); /* the quotas come from the store */
    return rc;
}

static struct mlq_job *submit_as(struct mlq_ctx *c, const char *owner, const char *team)
{
    struct mlq_jobspec spec = sched_spec(owner, 500, 1);
    spec.team = strdup(team);
    char id[MLQ_ID_LEN + 1];
    assert_int_equal(mlq_jobops_submit(c, &spec, id, NULL), 0);
    struct mlq_job *job = mlq_jobtab_get(c->jobs, id);
    assert_non_null(job);
    return job;
}

static int64_t used_gpus(struct mlq_ctx *c, const char *team)
{
    struct mlq_quota_amount u;
    int64_t running;
    mlq_qbook_used(c->quota, team, "default", &u, &running);
    return u.gpus_h;
}

static void test_place_why_rebuild(void **state)
{
    struct sched_fx *f = *state;
    struct mlq_ctx *c = &f->c;
    sched_worker_up(c, "w1", 4);
    struct mlq_job *v[3] = {submit_as(c, "ann", "vision"), submit_as(c, "ann", "vision"),
                            submit_as(c, "ann", "vision")};
    struct mlq_job *n1 = submit_as(c, "bob", "nlp"); /* behind vision's jobs */
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(v[0]->row.state, MLQ_JOB_ASSIGNED);
    assert_int_equal(v[1]->row.state, MLQ_JOB_ASSIGNED); /* borrowed */
    assert_int_equal(v[2]->row.state, MLQ_JOB_PENDING);
    assert_int_equal(n1->row.state, MLQ_JOB_ASSIGNED); /* not blocked by vision's */
    struct mlq_why why;
    mlq_why_explain(c, v[2], false, &why);
    assert_string_equal(why.blocker, "quota");
    assert_non_null(strstr(why.text, "team vision uses 2/1 GPUs of its quota in pool default"));
    /* preemption's view: vision borrows; without one of its GPUs it does not */
    assert_true(mlq_quota_over_nominal(c, "vision", NULL, NULL));
    struct mlq_quota_amount one = {.gpus_h = 100};
    assert_false(mlq_quota_over_nominal(c, "vision", "default", &one));
    assert_false(mlq_quota_over_nominal(c, "nlp", NULL, NULL));
    struct mlq_job *n2 = submit_as(c, "bob", "nlp");
    assert_true(mlq_quota_job_within_nominal(c, n2)); /* nlp has 1 of 2 left */
    assert_false(mlq_quota_job_within_nominal(c, v[2]));
    struct mlq_quota_amount a;
    mlq_quota_job_amount(v[2], &a);
    assert_true(a.gpus_h == 100 && a.cpus_m == 500 && a.mem == SCHED_GIB);
    char id0[MLQ_ID_LEN + 1], id2[MLQ_ID_LEN + 1];
    strcpy(id0, v[0]->row.id);
    strcpy(id2, v[2]->row.id);
    sched_commit(c);

    /* a restart: the use comes back from the live jobs, not from a counter */
    sched_fx_restart(f);
    c = &f->c;
    assert_int_equal(used_gpus(c, "vision"), 200);
    assert_int_equal(used_gpus(c, "nlp"), 100);
    struct mlq_job *again = mlq_jobtab_get(c->jobs, id2);
    assert_non_null(again);
    assert_false(mlq_quota_check(c, again, NULL));

    /* a job ends: its use goes with it, and only once */
    struct mlq_job *first = mlq_jobtab_get(c->jobs, id0);
    sched_worker_up(c, "w1", 4);
    sched_report_exit(c, first, 0);
    assert_int_equal(used_gpus(c, "vision"), 100);
    assert_int_equal(used_gpus(c, "nlp"), 100);
}

/* A pool without quotas is not checked at all. */
static void test_pool_without_quota(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_jobspec spec = sched_spec("ann", 500, 1);
    spec.team = strdup("vision");
    spec.pool = strdup("other");
    char id[MLQ_ID_LEN + 1];
    assert_int_equal(mlq_jobops_submit(c, &spec, id, NULL), 0);
    struct mlq_qverdict v;
    assert_true(mlq_quota_check(c, mlq_jobtab_get(c->jobs, id), &v));
    assert_int_equal(v.kind, MLQ_QV_NONE);
    assert_false(mlq_quota_job_within_nominal(c, mlq_jobtab_get(c->jobs, id)));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_place_why_rebuild, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_pool_without_quota, setup, sched_fx_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
