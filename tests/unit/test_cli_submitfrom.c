/* Unit tests for `mlq submit --from` (no network): the options as defaults
 * that each line overrides, the shared environment kept out of each job's
 * spec, blank lines, and every kind of bad line refused as FILE:LINE with
 * nothing kept; the bounds on a line; --from with a command or --array;
 * --idempotency-key kept for the request. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cmd_submit.h"
#include "submitfrom.h"

#define GIB (1024LL * 1024 * 1024)

/* Parses `mlq submit --from jobs.jsonl WORDS...` into the defaults. */
static int defaults(struct mlq_jobspec *base, struct mlq_err *err, ...)
{
    char *words[32] = {"submit", "--from", "jobs.jsonl", "--export", "NONE"};
    int n = 5;
    va_list ap;
    va_start(ap, err);
    for (char *w; (w = va_arg(ap, char *)) != NULL && n < 31;)
        words[n++] = w;
    va_end(ap);
    struct mlq_cli_submit_opts opts;
    mlq_err_clear(err);
    int rc = mlq_cli_submit_parse(n, words, base, &opts, err);
    if (rc == 0)
        assert_string_equal(opts.from, "jobs.jsonl");
    return rc;
}

/* Reads text as the file over base. */
static int read_text(const char *text, const struct mlq_jobspec *base, struct mlq_submitfrom *s,
                     struct mlq_err *err)
{
    FILE *f = fmemopen((void *)text, strlen(text), "r");
    assert_non_null(f);
    mlq_err_clear(err);
    int rc = mlq_submitfrom_read(f, "jobs.jsonl", base, s, err);
    fclose(f);
    return rc;
}

static void test_defaults_and_overrides(void **state)
{
    (void)state;
    struct mlq_jobspec base;
    struct mlq_err err;
    assert_int_equal(defaults(&base, &err, "--cpus", "2", "--pool", "gpu", "--env", "A=1",
                              "--require", "zone=eu", "--priority", "5", NULL),
                     0);
    assert_null(base.argv);
    struct mlq_submitfrom s;
    const char *text = "{\"argv\": [\"python3\", \"score.py\", \"7\"], \"name\": \"score-7\"}\n"
                       "\n"
                       "   \n"
                       "{\"argv\": [\"b\"], \"cpus\": 0.5, \"mem\": \"2G\", \"pool\": \"cpu\","
                       " \"require\": [\"rack=r1\"], \"env\": {\"B\": \"2\"}, \"gpus\": 1}\n";
    assert_int_equal(read_text(text, &base, &s, &err), 0);
    assert_int_equal(s.n, 2);
    assert_int_equal(s.lines[0], 1);
    assert_int_equal(s.lines[1], 4); /* blank lines are counted */
    const struct mlq_jobspec *a = &s.specs[0], *b = &s.specs[1];
    assert_int_equal(a->argc, 3);
    assert_string_equal(a->argv[2], "7");
    assert_string_equal(a->name, "score-7");
    assert_int_equal(a->cpus_m, 2000); /* --cpus */
    assert_int_equal(a->mem, GIB);     /* the default */
    assert_string_equal(a->pool, "gpu");
    assert_int_equal(a->nrequire, 1);
    assert_string_equal(a->require[0], "zone=eu");
    assert_int_equal(a->priority, 5);
    assert_int_equal(a->envc, 0); /* --env is shared, sent once */
    assert_string_equal(a->owner, base.owner);
    assert_string_equal(a->workdir, base.workdir);
    assert_int_equal(b->cpus_m, 500);
    assert_int_equal(b->mem, 2 * GIB);
    assert_int_equal(b->gpus, 1);
    assert_string_equal(b->pool, "cpu");
    assert_int_equal(b->nrequire, 1); /* a list replaces the option's */
    assert_string_equal(b->require[0], "rack=r1");
    assert_int_equal(b->envc, 1);
    assert_string_equal(b->env[0], "B=2");
    assert_int_equal(base.envc, 1);
    assert_string_equal(base.env[0], "A=1");
    mlq_submitfrom_free(&s);
    mlq_proto_jobspec_free(&base);
}

/* Each bad line: the error code, and the message's FILE:LINE and words. */
static void expect_bad(const struct mlq_jobspec *base, const char *text, int code,
                       const char *where, const char *words)
{
    struct mlq_submitfrom s;
    struct mlq_err err;
    assert_int_equal(read_text(text, base, &s, &err), code);
    assert_int_equal(s.n, 0);
    assert_null(s.specs);
    if (strncmp(err.msg, where, strlen(where)) != 0 || !strstr(err.msg, words))
        fail_msg("expected \"%s ... %s\", got \"%s\"", where, words, err.msg);
}

static void test_bad_lines(void **state)
{
    (void)state;
    struct mlq_jobspec base;
    struct mlq_err err;
    assert_int_equal(defaults(&base, &err, NULL), 0);
    const char *good = "{\"argv\": [\"true\"]}\n";
    char text[512];
    snprintf(text, sizeof text, "%s%s{\"argv\": [\"true\"], \"cpus\": -1}\n%s", good, good, good);
    expect_bad(&base, text, MLQ_EINVAL, "jobs.jsonl:3: ", "cpus must be");
    expect_bad(&base, "{\"argv\": [\"true\"]}\n{nope\n", MLQ_EINVAL,
               "jobs.jsonl:2: ", "not a JSON object");
    expect_bad(&base, "{\"cpus\": 1}\n", MLQ_EINVAL, "jobs.jsonl:1: ", "argv");
    expect_bad(&base, "\n{\"argv\": [\"x\"], \"colour\": 1}\n", MLQ_EINVAL,
               "jobs.jsonl:2: ", "unknown key \"colour\"");
    expect_bad(&base, "{\"argv\": [\"x\"], \"argv\": [\"y\"]}\n", MLQ_EINVAL,
               "jobs.jsonl:1: ", "duplicate");
    expect_bad(&base, "[1, 2]\n", MLQ_EINVAL, "jobs.jsonl:1: ", "JSON object");
    /* The checks of a single submit: options that depend on each other. */
    expect_bad(&base, "{\"argv\": [\"x\"], \"warn_signal\": 10, \"warn_before\": \"1m\"}\n",
               MLQ_EINVAL, "jobs.jsonl:1: ", "--signal SIG@DUR needs --time-limit");
    expect_bad(&base, "{\"argv\": [\"x\"], \"gpus\": 1, \"gpu_mem\": \"10G\"}\n", MLQ_EINVAL,
               "jobs.jsonl:1: ", "--gpu-mem");
    expect_bad(&base, "{\"argv\": [\"x\"], \"env\": {\"MLQ_SCHEDULE\": \"x\", \"1A\": \"y\"}}\n",
               MLQ_EINVAL, "jobs.jsonl:1: ", "not a variable name");
    expect_bad(&base, "", MLQ_EINVAL, "jobs.jsonl: ", "no jobs");
    mlq_proto_jobspec_free(&base);
}

static void test_line_bound(void **state)
{
    (void)state;
    struct mlq_jobspec base;
    struct mlq_err err;
    assert_int_equal(defaults(&base, &err, NULL), 0);
    size_t len = MLQ_SUBMITFROM_MAX_LINE + 100;
    char *text = malloc(len + 64);
    assert_non_null(text);
    int n = snprintf(text, len + 64, "{\"argv\": [\"true\"]}\n{\"argv\": [\"");
    memset(text + n, 'a', len - (size_t)n);
    strcpy(text + len, "\"]}\n");
    expect_bad(&base, text, MLQ_EINVAL, "jobs.jsonl:2: ", "longer than 65536 bytes");
    free(text);
    mlq_proto_jobspec_free(&base);
}

static void test_from_refuses(void **state)
{
    (void)state;
    struct mlq_jobspec base;
    struct mlq_err err;
    assert_int_equal(defaults(&base, &err, "--", "echo", "hi", NULL), MLQ_CLI_EUSAGE);
    assert_non_null(strstr(err.msg, "give none here"));
    assert_int_equal(defaults(&base, &err, "--array", "0-3", NULL), MLQ_CLI_EUSAGE);
    assert_int_equal(defaults(&base, &err, "--idempotency-key", "k", NULL), 0);
    struct mlq_submitfrom s;
    assert_int_equal(read_text("{\"argv\": [\"true\"]}\n", &base, &s, &err), 0);
    assert_null(s.specs[0].idempotency_key); /* the request's key, not each job's */
    mlq_submitfrom_free(&s);
    mlq_proto_jobspec_free(&base);
}

/* The scheduler's "job N:" becomes the line job N came from. */
static void test_locate(void **state)
{
    (void)state;
    uint32_t lines[] = {1, 4, 9};
    struct mlq_submitfrom s = {.lines = lines, .n = 3};
    struct mlq_err err = {0};
    mlq_err_set(&err, MLQ_ENOTFOUND, "job 3: dependency: no job matches 'ffff'");
    mlq_submitfrom_locate(&s, "jobs.jsonl", &err);
    assert_string_equal(err.msg, "jobs.jsonl:9: dependency: no job matches 'ffff'");
    mlq_err_set(&err, MLQ_EDB, "database error: disk full");
    mlq_submitfrom_locate(&s, "jobs.jsonl", &err);
    assert_string_equal(err.msg, "database error: disk full");
    mlq_err_set(&err, MLQ_EINVAL, "job 4: out of range");
    mlq_submitfrom_locate(&s, "jobs.jsonl", &err);
    assert_string_equal(err.msg, "job 4: out of range");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_defaults_and_overrides),
        cmocka_unit_test(test_bad_lines),
        cmocka_unit_test(test_line_bound),
        cmocka_unit_test(test_from_refuses),
        cmocka_unit_test(test_locate),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
