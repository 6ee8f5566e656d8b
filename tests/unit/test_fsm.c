/* Walks every (state, event) pair of the job state machine: the legal ones
 * lead where DESIGN.md says, every other pair is refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "fsm.h"

struct expect {
    enum mlq_job_state from;
    enum mlq_fsm_event ev;
    enum mlq_job_state to;
    enum mlq_fsm_action act;
};

static const struct expect legal[] = {
    {MLQ_JOB_PENDING, MLQ_EV_DISPATCH, MLQ_JOB_ASSIGNED, MLQ_ACT_SEND_ASSIGN},
    {MLQ_JOB_PENDING, MLQ_EV_CANCEL, MLQ_JOB_CANCELLED, MLQ_ACT_DEQUEUE},
    /* the real outcome of a lost attempt, come while the job waits again */
    {MLQ_JOB_PENDING, MLQ_EV_EXIT_OK, MLQ_JOB_SUCCEEDED, MLQ_ACT_FINISH},
    {MLQ_JOB_PENDING, MLQ_EV_EXIT_FAIL, MLQ_JOB_FAILED, MLQ_ACT_FINISH},
    {MLQ_JOB_PENDING, MLQ_EV_RETRY, MLQ_JOB_PENDING, MLQ_ACT_REQUEUE},
    {MLQ_JOB_PENDING, MLQ_EV_TIMEOUT, MLQ_JOB_TIMED_OUT, MLQ_ACT_FINISH},
    {MLQ_JOB_ASSIGNED, MLQ_EV_START, MLQ_JOB_RUNNING, MLQ_ACT_NONE},
    {MLQ_JOB_ASSIGNED, MLQ_EV_EXIT_OK, MLQ_JOB_SUCCEEDED, MLQ_ACT_FINISH},
    {MLQ_JOB_ASSIGNED, MLQ_EV_EXIT_FAIL, MLQ_JOB_FAILED, MLQ_ACT_FINISH},
    {MLQ_JOB_ASSIGNED, MLQ_EV_RETRY, MLQ_JOB_PENDING, MLQ_ACT_REQUEUE},
    {MLQ_JOB_ASSIGNED, MLQ_EV_TIMEOUT, MLQ_JOB_TIMED_OUT, MLQ_ACT_FINISH},
    {MLQ_JOB_ASSIGNED, MLQ_EV_LOST, MLQ_JOB_PENDING, MLQ_ACT_REQUEUE},
    {MLQ_JOB_ASSIGNED, MLQ_EV_LOST_FINAL, MLQ_JOB_FAILED, MLQ_ACT_FINISH},
    {MLQ_JOB_ASSIGNED, MLQ_EV_CANCEL, MLQ_JOB_CANCELLED, MLQ_ACT_KILL},
    /* preempted: requeued without using a retry */
    {MLQ_JOB_ASSIGNED, MLQ_EV_PREEMPT, MLQ_JOB_PENDING, MLQ_ACT_REQUEUE},
    {MLQ_JOB_RUNNING, MLQ_EV_PREEMPT, MLQ_JOB_PENDING, MLQ_ACT_REQUEUE},
    {MLQ_JOB_RUNNING, MLQ_EV_EXIT_OK, MLQ_JOB_SUCCEEDED, MLQ_ACT_FINISH},
    {MLQ_JOB_RUNNING, MLQ_EV_EXIT_FAIL, MLQ_JOB_FAILED, MLQ_ACT_FINISH},
    {MLQ_JOB_RUNNING, MLQ_EV_RETRY, MLQ_JOB_PENDING, MLQ_ACT_REQUEUE},
    {MLQ_JOB_RUNNING, MLQ_EV_TIMEOUT, MLQ_JOB_TIMED_OUT, MLQ_ACT_FINISH},
    {MLQ_JOB_RUNNING, MLQ_EV_LOST, MLQ_JOB_PENDING, MLQ_ACT_REQUEUE},
    {MLQ_JOB_RUNNING, MLQ_EV_LOST_FINAL, MLQ_JOB_FAILED, MLQ_ACT_FINISH},
    {MLQ_JOB_RUNNING, MLQ_EV_CANCEL, MLQ_JOB_CANCELLED, MLQ_ACT_KILL},
};

static const struct expect *find_legal(enum mlq_job_state s, enum mlq_fsm_event ev)
{
    for (size_t i = 0; i < sizeof legal / sizeof legal[0]; i++)
        if (legal[i].from == s && legal[i].ev == ev)
            return &legal[i];
    return NULL;
}

static void test_every_pair(void **state)
{
    (void)state;
    size_t ok = 0;
    for (int s = 0; s < MLQ_JOB_STATE_COUNT; s++) {
        for (int ev = 0; ev < MLQ_EV_COUNT; ev++) {
            enum mlq_job_state to = MLQ_JOB_STATE_COUNT;
            enum mlq_fsm_action act = MLQ_ACT_NONE;
            struct mlq_err e = {0};
            int rc = mlq_fsm_step((enum mlq_job_state)s, (enum mlq_fsm_event)ev, &to, &act, &e);
            const struct expect *x = find_legal((enum mlq_job_state)s, (enum mlq_fsm_event)ev);
            if (x) {
                assert_int_equal(rc, 0);
                assert_int_equal(to, x->to);
                assert_int_equal(act, x->act);
                ok++;
            } else {
                assert_int_equal(rc, MLQ_ESTATE);
                assert_int_equal(e.code, MLQ_ESTATE);
                assert_non_null(strstr(e.msg, mlq_job_state_name((enum mlq_job_state)s)));
            }
        }
    }
    assert_int_equal(ok, sizeof legal / sizeof legal[0]);
}

static void test_terminal_states_accept_nothing(void **state)
{
    (void)state;
    const enum mlq_job_state terms[] = {MLQ_JOB_SUCCEEDED, MLQ_JOB_FAILED, MLQ_JOB_CANCELLED,
                                        MLQ_JOB_TIMED_OUT};
    for (size_t i = 0; i < 4; i++) {
        assert_true(mlq_job_state_terminal(terms[i]));
        for (int ev = 0; ev < MLQ_EV_COUNT; ev++) {
            enum mlq_job_state to;
            enum mlq_fsm_action act;
            assert_int_equal(mlq_fsm_step(terms[i], (enum mlq_fsm_event)ev, &to, &act, NULL),
                             MLQ_ESTATE);
        }
    }
}

static void test_out_of_range(void **state)
{
    (void)state;
    enum mlq_job_state to;
    enum mlq_fsm_action act;
    assert_int_equal(mlq_fsm_step(MLQ_JOB_STATE_COUNT, MLQ_EV_CANCEL, &to, &act, NULL), MLQ_ESTATE);
    assert_int_equal(mlq_fsm_step(MLQ_JOB_PENDING, MLQ_EV_COUNT, &to, &act, NULL), MLQ_ESTATE);
    assert_string_equal(mlq_fsm_event_name(MLQ_EV_COUNT), "?");
    assert_string_equal(mlq_fsm_event_name(MLQ_EV_CANCEL), "cancel");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_pair),
        cmocka_unit_test(test_terminal_states_accept_nothing),
        cmocka_unit_test(test_out_of_range),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
