/* Unit tests for common/jobstate: the name, parse and terminal tables for
 * every job and attempt state, and out-of-range values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "jobstate.h"

static const struct {
    enum mlq_job_state s;
    const char *name;
    bool terminal;
} jobs[] = {
    {MLQ_JOB_PENDING, "PENDING", false},    {MLQ_JOB_ASSIGNED, "ASSIGNED", false},
    {MLQ_JOB_RUNNING, "RUNNING", false},    {MLQ_JOB_SUCCEEDED, "SUCCEEDED", true},
    {MLQ_JOB_FAILED, "FAILED", true},       {MLQ_JOB_CANCELLED, "CANCELLED", true},
    {MLQ_JOB_TIMED_OUT, "TIMED_OUT", true},
};

static const struct {
    enum mlq_attempt_state s;
    const char *name;
    bool terminal;
} attempts[] = {
    {MLQ_ATT_ASSIGNED, "ASSIGNED", false},  {MLQ_ATT_RUNNING, "RUNNING", false},
    {MLQ_ATT_SUCCEEDED, "SUCCEEDED", true}, {MLQ_ATT_FAILED, "FAILED", true},
    {MLQ_ATT_CANCELLED, "CANCELLED", true}, {MLQ_ATT_TIMED_OUT, "TIMED_OUT", true},
    {MLQ_ATT_LOST, "LOST", true},           {MLQ_ATT_PREEMPTED, "PREEMPTED", true},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_job_states(void **state)
{
    (void)state;
    assert_int_equal(N(jobs), MLQ_JOB_STATE_COUNT);
    for (size_t i = 0; i < N(jobs); i++) {
        assert_string_equal(mlq_job_state_name(jobs[i].s), jobs[i].name);
        assert_int_equal(mlq_job_state_parse(jobs[i].name), jobs[i].s);
        assert_int_equal(mlq_job_state_terminal(jobs[i].s), jobs[i].terminal);
    }
}

static void test_job_state_parse(void **state)
{
    (void)state;
    assert_int_equal(mlq_job_state_parse("running"), MLQ_JOB_RUNNING);
    assert_int_equal(mlq_job_state_parse("Timed_Out"), MLQ_JOB_TIMED_OUT);
    assert_int_equal(mlq_job_state_parse(""), -1);
    assert_int_equal(mlq_job_state_parse("RUN"), -1);
    assert_int_equal(mlq_job_state_parse("RUNNINGX"), -1);
    assert_int_equal(mlq_job_state_parse("LOST"), -1); /* attempts only */
    assert_int_equal(mlq_job_state_parse("TIMED OUT"), -1);
}

static void test_job_state_out_of_range(void **state)
{
    (void)state;
    assert_string_equal(mlq_job_state_name(MLQ_JOB_STATE_COUNT), "?");
    assert_string_equal(mlq_job_state_name((enum mlq_job_state) - 1), "?");
    assert_false(mlq_job_state_terminal(MLQ_JOB_STATE_COUNT));
}

static void test_attempt_states(void **state)
{
    (void)state;
    assert_int_equal(N(attempts), MLQ_ATT_STATE_COUNT);
    for (size_t i = 0; i < N(attempts); i++) {
        assert_string_equal(mlq_attempt_state_name(attempts[i].s), attempts[i].name);
        assert_int_equal(mlq_attempt_state_terminal(attempts[i].s), attempts[i].terminal);
    }
    assert_string_equal(mlq_attempt_state_name(MLQ_ATT_STATE_COUNT), "?");
    assert_string_equal(mlq_attempt_state_name((enum mlq_attempt_state) - 1), "?");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_job_states),
        cmocka_unit_test(test_job_state_parse),
        cmocka_unit_test(test_job_state_out_of_range),
        cmocka_unit_test(test_attempt_states),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
