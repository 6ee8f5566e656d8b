/* Unit tests of httpsubmit: JSON submissions into job specs (every key,
 * refusals naming the key, the CLI's checks). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "httpint.h"

static int parse(const char *text, struct mlq_jobspec *spec, struct mlq_err *err)
{
    json_error_t je;
    json_t *o = json_loads(text, 0, &je);
    assert_non_null(o);
    int rc = mlq_httpsubmit_spec(o, spec, err);
    json_decref(o);
    return rc;
}

static void test_every_key(void **state)
{
    (void)state;
    struct mlq_jobspec s;
    struct mlq_err e = {0};
    int rc = parse("{\"argv\": [\"python3\", \"t.py\"], \"name\": \"n\", \"workdir\": \"/tmp\","
                   " \"env\": {\"A\": \"1\"}, \"cpus\": 0.5, \"mem\": \"2G\", \"gpus\": 1,"
                   " \"gpu_type\": \"h100\", \"pool\": \"gpu\", \"require\": [\"zone=a\"],"
                   " \"priority\": -3, \"retries\": 2, \"retry_backoff\": 10,"
                   " \"time_limit\": \"2h\", \"kill_grace\": \"5s\", \"warn_signal\": 10,"
                   " \"warn_before\": 60, \"after\": [\"0b8e7c\"], \"after_any\": [\"1f\"],"
                   " \"after_failed\": [\"2a\"], \"array\": \"0-9\", \"max_running\": 3,"
                   " \"idempotency_key\": \"run-42\", \"inputs\": [\"data\", \"/d/x.csv\"],"
                   " \"outputs\": [\"model.pt\"], \"preempt_grace\": \"90s\","
                   " \"min_runtime\": 600, \"no_preempt\": true}",
                   &s, &e);
    assert_int_equal(rc, 0);
    assert_int_equal(s.argc, 2);
    assert_string_equal(s.argv[1], "t.py");
    assert_string_equal(s.env[0], "A=1");
    assert_true(s.cpus_m == 500 && s.mem == 2LL << 30 && s.gpus == 1);
    assert_string_equal(s.gpu_type, "h100");
    assert_true(s.priority == -3 && s.retries == 2 && s.retry_backoff_ms == 10000);
    assert_true(s.time_limit_ms == 7200000 && s.kill_grace_ms == 5000);
    assert_true(s.warn_signal == 10 && s.warn_before_ms == 60000);
    assert_int_equal(s.ndeps, 3);
    assert_int_equal(s.deps[1].kind, MLQ_DEP_ANY);
    assert_int_equal(s.deps[2].kind, MLQ_DEP_FAILED);
    assert_string_equal(s.array, "0-9");
    assert_int_equal(s.max_running, 3);
    assert_string_equal(s.idempotency_key, "run-42");
    assert_int_equal(s.ninputs, 2);
    assert_string_equal(s.inputs[1], "/d/x.csv");
    assert_int_equal(s.noutputs, 1);
    assert_string_equal(s.outputs[0], "model.pt");
    assert_true(s.preempt_grace_ms == 90000 && s.min_runtime_ms == 600000 && s.no_preempt);
    mlq_proto_jobspec_free(&s);
}

/* A share of a GPU, GPU memory, type alternatives. */
static void test_gpu_share(void **state)
{
    (void)state;
    struct mlq_jobspec s;
    struct mlq_err e = {0};
    assert_int_equal(parse("{\"argv\": [\"x\"], \"gpu_share\": \"0.25\", \"gpu_mem\": \"10G\","
                           " \"gpu_type\": \"a100|h100\"}",
                           &s, &e),
                     0);
    assert_true(s.gpus == 0 && s.gpu_frac == 25 && s.gpu_mem == 10LL << 30);
    assert_string_equal(s.gpu_type, "a100|h100");
    mlq_proto_jobspec_free(&s);
    assert_int_equal(parse("{\"argv\": [\"x\"], \"gpu_mem\": 1024}", &s, &e), 0);
    assert_true(s.gpu_frac == 0 && s.gpu_mem == 1024);
    mlq_proto_jobspec_free(&s);
}

static void test_defaults(void **state)
{
    (void)state;
    struct mlq_jobspec s;
    struct mlq_err e = {0};
    assert_int_equal(parse("{\"argv\": [\"true\"]}", &s, &e), 0);
    assert_string_equal(s.workdir, "/");
    assert_true(s.cpus_m == 1000 && s.mem == 1LL << 30 && s.gpus == 0 && s.ndeps == 0);
    mlq_proto_jobspec_free(&s);
}

static void refused(const char *text, const char *want)
{
    struct mlq_jobspec s;
    struct mlq_err e = {0};
    assert_int_equal(parse(text, &s, &e), MLQ_EINVAL);
    if (!strstr(e.msg, want))
        fail_msg("%s: message \"%s\" lacks \"%s\"", text, e.msg, want);
    mlq_proto_jobspec_free(&s);
}

static void test_refusals(void **state)
{
    (void)state;
    refused("{}", "argv");
    refused("{\"argv\": []}", "argv");
    refused("{\"argv\": [1]}", "argv[0]");
    refused("{\"argv\": [\"x\"], \"cpu\": 1}", "unknown key");
    refused("{\"argv\": [\"x\"], \"cpus\": \"2\"}", "cpus");
    refused("{\"argv\": [\"x\"], \"cpus\": 0}", "cpus");
    refused("{\"argv\": [\"x\"], \"mem\": \"lots\"}", "mem");
    refused("{\"argv\": [\"x\"], \"gpus\": 1.5}", "gpus");
    refused("{\"argv\": [\"x\"], \"env\": {\"A\": 1}}", "env.A");
    refused("{\"argv\": [\"x\"], \"env\": [\"A=1\"]}", "env");
    refused("{\"argv\": [\"x\"], \"env\": {\"1BAD\": \"x\"}}", "'1BAD' is not a variable name");
    refused("{\"argv\": [\"x\"], \"env\": {\"A-B\": \"x\"}}", "'A-B' is not a variable name");
    refused("{\"argv\": [\"x\"], \"after\": [\"zz\"]}", "after[0]");
    refused("{\"argv\": [\"x\"], \"time_limit\": \"soon\"}", "time_limit");
    refused("{\"argv\": [\"x\"], \"preempt_grace\": \"soon\"}", "preempt_grace");
    refused("{\"argv\": [\"x\"], \"no_preempt\": 1}", "no_preempt");
    refused("{\"argv\": [\"x\"], \"priority\": 100000}", "priority");
    refused("{\"argv\": [\"x\"], \"workdir\": \"rel\"}", "absolute");
    refused("{\"argv\": [\"x\"], \"idempotency_key\": \"\"}", "idempotency");
    refused("{\"argv\": [\"x\"], \"gpu_share\": \"1.5\"}", "gpu_share");
    refused("{\"argv\": [\"x\"], \"gpu_share\": 0.25}", "gpu_share");
    refused("{\"argv\": [\"x\"], \"gpu_share\": \"0.255\"}", "gpu_share");
    refused("{\"argv\": [\"x\"], \"gpu_mem\": \"lots\"}", "gpu_mem");
    refused("{\"argv\": [\"x\"], \"gpu_share\": \"0.5\", \"gpus\": 1}", "whole GPUs");
    refused("{\"argv\": [\"x\"], \"gpu_share\": \"0.5\", \"nodes\": 2}", "gang");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_key),
        cmocka_unit_test(test_defaults),
        cmocka_unit_test(test_gpu_share),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
