/* Preemption as the scheduler runs it (preemptrun.h), on a real database:
 * the decision is persisted before anything else, the victim stays
 * RUNNING with its resources booked until its worker reports the end, then
 * is requeued at once without using a retry, its attempt PREEMPTED; the
 * freed worker is held for the preemptor; a restart right after the
 * decision keeps it; a team without --preempt-within preempts nothing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "jobops.h"
#include "sched_fixture.h"

static int setup(void **state)
{
    return sched_fx_open(state, "preemptrun", 30000);
}

/* A job of team nlp with one GPU and this priority, placed when it can. */
static struct mlq_job *submit(struct mlq_ctx *c, int32_t prio)
{
    struct mlq_jobspec spec = sched_spec("alice", 1000, 1);
    spec.team = strdup("nlp");
    spec.priority = prio;
    char id[MLQ_ID_LEN + 1];
    assert_int_equal(mlq_jobops_submit(c, &spec, id, NULL), 0);
    mlq_proto_jobspec_free(&spec);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    sched_commit(c);
    return mlq_jobtab_get(c->jobs, id);
}

/* The team, with preemption within it on or off, and a running low job
 * and a high one waiting for its GPU (the decision made, committed). */
static void scene(struct mlq_ctx *c, bool within, struct mlq_job **low, struct mlq_job **high)
{
    assert_int_equal(mlq_store_team_add(c->store, "nlp", c->now_wall, NULL), 0);
    assert_int_equal(mlq_store_team_set_preempt(c->store, "nlp", within, NULL), 0);
    sched_worker_up(c, "w1", 1);
    *low = submit(c, 0);
    assert_int_equal((*low)->row.state, MLQ_JOB_ASSIGNED);
    assert_int_equal(mlq_jobops_started(c, *low, NULL), 0);
    sched_commit(c);
    *high = submit(c, 10);
    assert_int_equal((*high)->row.state, MLQ_JOB_PENDING);
}

static void test_requeued_without_retry(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_job *low, *high;
    scene(c, true, &low, &high);
    /* decided and stored: still RUNNING, its GPU still booked */
    assert_non_null(low->row.spec.preempt_note);
    assert_non_null(strstr(low->row.spec.preempt_note, "preempted by higher-priority job"));
    assert_int_equal(low->row.state, MLQ_JOB_RUNNING);
    assert_true(low->live);
    struct mlq_store_job row;
    assert_int_equal(mlq_store_job_get(c->store, low->row.id, &row, NULL), 0);
    assert_non_null(row.spec.preempt_note);
    mlq_store_job_free(&row);
    assert_int_equal(mlq_workers_at(c->workers, 0)->gpu_used, 1);
    /* no second decision while it drains */
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    char att[MLQ_ID_LEN + 1];
    memcpy(att, low->att->id, sizeof att);
    sched_report_exit(c, low, 143); /* it saved its work and exited */
    sched_commit(c);
    assert_int_equal(low->row.state, MLQ_JOB_PENDING);
    assert_null(low->row.spec.preempt_note);
    assert_int_equal(low->row.spec.preemptions, 1);
    assert_int_equal(low->row.not_before_ms, 0);
    struct mlq_store_attempt a;
    assert_int_equal(mlq_store_attempt_get(c->store, att, &a, NULL), 0);
    assert_int_equal(a.state, MLQ_ATT_PREEMPTED);
    mlq_store_attempt_free(&a);
    /* the preemptor gets the GPU, not the requeued job */
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(high->row.state, MLQ_JOB_ASSIGNED);
    assert_int_equal(low->row.state, MLQ_JOB_PENDING);
    /* once it is done, the preempted job runs again: retries 0, not failed */
    assert_int_equal(mlq_jobops_started(c, high, NULL), 0);
    sched_report_exit(c, high, 0);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(low->row.state, MLQ_JOB_ASSIGNED);
    assert_int_equal(low->row.attempts, 2);
    char id[MLQ_ID_LEN + 1];
    memcpy(id, low->row.id, sizeof id);
    sched_report_exit(c, low, 1); /* a real failure now: no retry was left */
    sched_commit(c);              /* the ended job leaves memory: read its row */
    assert_int_equal(mlq_store_job_get(c->store, id, &row, NULL), 0);
    assert_int_equal(row.state, MLQ_JOB_FAILED);
    mlq_store_job_free(&row);
}

static void test_restart_after_decision(void **state)
{
    struct sched_fx *f = *state;
    struct mlq_job *low, *high;
    scene(&f->c, true, &low, &high);
    char id[MLQ_ID_LEN + 1];
    memcpy(id, low->row.id, sizeof id);
    sched_fx_restart(f); /* a crash right after the decision's commit */
    struct mlq_ctx *c = &f->c;
    low = mlq_jobtab_get(c->jobs, id);
    assert_non_null(low);
    assert_int_equal(low->row.state, MLQ_JOB_RUNNING);
    assert_true(low->live);
    assert_non_null(low->row.spec.preempt_note);
    sched_report_exit(c, low, 137);
    sched_commit(c);
    assert_int_equal(low->row.state, MLQ_JOB_PENDING);
    assert_int_equal(low->row.spec.preemptions, 1);
}

/* A victim that finished by itself (exit 0 before the signal reached it)
 * succeeded: no requeue, and no note left behind. */
static void test_finished_before_signal(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_job *low, *high;
    scene(c, true, &low, &high);
    char id[MLQ_ID_LEN + 1];
    memcpy(id, low->row.id, sizeof id);
    assert_non_null(low->row.spec.preempt_note);
    sched_report_exit(c, low, 0);
    sched_commit(c);
    struct mlq_store_job row;
    assert_int_equal(mlq_store_job_get(c->store, id, &row, NULL), 0);
    assert_int_equal(row.state, MLQ_JOB_SUCCEEDED);
    assert_null(row.spec.preempt_note);
    assert_int_equal(row.spec.preemptions, 0);
    mlq_store_job_free(&row);
}

static void test_off_without_team_setting(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_job *low, *high;
    scene(c, false, &low, &high);
    assert_null(low->row.spec.preempt_note);
    assert_int_equal(low->row.state, MLQ_JOB_RUNNING);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_requeued_without_retry, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_restart_after_decision, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_finished_before_signal, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_off_without_team_setting, setup, sched_fx_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
