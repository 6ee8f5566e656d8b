/* Unit tests for envname: variable names, the names the worker drops from
 * the user's set, the scheduler's MLQ_SCHEDULE* (passed by the worker,
 * stripped from clients' specs) and the bound on what users send. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdlib.h>
#include <string.h>

#include "envname.h"

static bool valid(const char *s)
{
    return mlq_envname_valid(s, strlen(s));
}

static bool dropped(const char *s)
{
    return mlq_envname_dropped(s, strlen(s));
}

static void test_valid(void **state)
{
    (void)state;
    assert_true(valid("PATH"));
    assert_true(valid("_x9"));
    assert_true(valid("a"));
    assert_false(valid(""));
    assert_false(valid("9A"));
    assert_false(valid("A-B"));
    assert_false(valid("A.B"));
    assert_false(valid("BASH_FUNC_f%%"));
    assert_false(valid("A B"));
    assert_int_equal(mlq_envname_len("A=b=c"), 1);
    assert_int_equal(mlq_envname_len("NOEQ"), 4);
}

static void test_dropped(void **state)
{
    (void)state;
    static const char *const gone[] = {"MLQ_JOB_ID",
                                       "MLQ_",
                                       "MLQ_SCHEDULE",
                                       "CUDA_VISIBLE_DEVICES",
                                       "NVIDIA_VISIBLE_DEVICES",
                                       "HOME",
                                       "USER",
                                       "LOGNAME",
                                       "SHELL",
                                       "NOTIFY_SOCKET",
                                       "LISTEN_FDS",
                                       "LISTEN_PID",
                                       "LISTEN_FDNAMES",
                                       "INVOCATION_ID",
                                       "JOURNAL_STREAM"};
    for (size_t i = 0; i < sizeof gone / sizeof *gone; i++)
        assert_true(dropped(gone[i]));
    static const char *const kept[] = {"PATH",        "PYTHONPATH",   "LD_LIBRARY_PATH",
                                       "LD_PRELOAD",  "MLQ",          "HOMEDIR",
                                       "VIRTUAL_ENV", "CONDA_PREFIX", "USERNAME"};
    for (size_t i = 0; i < sizeof kept / sizeof *kept; i++)
        assert_false(dropped(kept[i]));
    assert_true(mlq_envname_scheduler_set("MLQ_SCHEDULED_TIME_UTC", 22));
    assert_false(mlq_envname_scheduler_set("MLQ_SCHEDULED", 13));
    assert_false(mlq_envname_scheduler_set("MLQ_JOB_ID", 10));
}

static void test_strip(void **state)
{
    (void)state;
    struct mlq_jobspec spec = {0};
    spec.envc = 4;
    spec.env = calloc(4, sizeof *spec.env);
    assert_non_null(spec.env);
    spec.env[0] = strdup("A=1");
    spec.env[1] = strdup("MLQ_SCHEDULE=forged");
    spec.env[2] = strdup("MLQ_SCHEDULED_TIME=x");
    spec.env[3] = strdup("B=2");
    mlq_envname_strip_scheduler_set(&spec);
    assert_int_equal(spec.envc, 2);
    assert_string_equal(spec.env[0], "A=1");
    assert_string_equal(spec.env[1], "B=2");
    free(spec.env[0]);
    free(spec.env[1]);
    free(spec.env);
}

static void test_user_bound(void **state)
{
    (void)state;
    struct mlq_err err;
    char *one[] = {"A=1"};
    assert_int_equal(mlq_envname_check_user(one, 1, &err), 0);
    assert_int_equal(mlq_envname_check_user(NULL, 0, &err), 0);
    char **many = calloc(MLQ_ENV_USER_MAX_C + 1, sizeof *many);
    assert_non_null(many);
    for (int i = 0; i <= MLQ_ENV_USER_MAX_C; i++)
        many[i] = "A=1";
    assert_int_equal(mlq_envname_check_user(many, MLQ_ENV_USER_MAX_C, &err), 0);
    assert_int_equal(mlq_envname_check_user(many, MLQ_ENV_USER_MAX_C + 1, &err), MLQ_ETOOBIG);
    assert_non_null(strstr(err.msg, "too large"));
    free(many);
    char *big = malloc(MLQ_ENV_USER_MAX_BYTES + 1);
    assert_non_null(big);
    memset(big, 'x', MLQ_ENV_USER_MAX_BYTES);
    big[MLQ_ENV_USER_MAX_BYTES] = '\0';
    char *v[] = {big};
    assert_int_equal(mlq_envname_check_user(v, 1, &err), 0);
    char *v2[] = {big, "A"};
    assert_int_equal(mlq_envname_check_user(v2, 2, &err), MLQ_ETOOBIG);
    free(big);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_valid),
        cmocka_unit_test(test_dropped),
        cmocka_unit_test(test_strip),
        cmocka_unit_test(test_user_bound),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
