/* Unit tests for the pipeline parts of the CLI (no network): references
 * (ARRAY/N), matching a `jobs` answer to what was typed, `mlq wait`'s
 * counting, progress and summary, the JSON of jobs, arrays and schedules,
 * the status page of an array and of a job with dependencies, and
 * `mlq schedule add` parsing. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client.h"
#include "cmd_schedule.h"
#include "cmd_wait.h"
#include "jobview.h"
#include "output.h"
#include "jsonview.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char ARR[] = "aaaa0000-0000-4000-8000-000000000001";
static const char JOB[] = "bbbb0000-0000-4000-8000-000000000002";
static char *k_argv[] = {"python", "score.py"};

static void fill_array(struct mlq_arrayinfo *a)
{
    memset(a, 0, sizeof(*a));
    strcpy(a->id, ARR);
    a->name = "score";
    a->owner = "alice";
    a->argv = k_argv;
    a->argc = 2;
    a->size = 10;
    a->max_running = 2;
    a->submit_ms = 1700000000000;
    a->counts[MLQ_JOB_SUCCEEDED] = 6;
    a->counts[MLQ_JOB_FAILED] = 1;
    a->counts[MLQ_JOB_RUNNING] = 2;
    a->counts[MLQ_JOB_PENDING] = 1;
    a->failed = "3";
}

static void fill_job(struct mlq_jobinfo *j, enum mlq_job_state st)
{
    memset(j, 0, sizeof(*j));
    strcpy(j->id, JOB);
    j->owner = "alice";
    j->state = st;
    j->argv = k_argv;
    j->argc = 2;
    j->exit_code = -1;
    j->array_index = -1;
}

/* ---- references ---- */

static void test_refs(void **state)
{
    (void)state;
    const char *good[] = {"a",      "aaaa",         ARR,
                          "aaaa/0", "aaaa/1234567", "aaaa0000-0000-4000-8000-000000000001/17"};
    const char *bad[] = {"",        "A",   "aaaa/",   "/1", "aaaa/1x", "aaaa/12345678",
                         "aaaa//1", "xyz", "aaaa/1/2"};
    for (size_t i = 0; i < N(good); i++)
        if (!mlq_cli_ref_valid(good[i]) || !mlq_cli_ref_id_shaped(good[i]))
            fail_msg("refused %s", good[i]);
    for (size_t i = 0; i < N(bad); i++)
        if (mlq_cli_ref_id_shaped(bad[i]))
            fail_msg("took %s for an id", bad[i]);
    /* what is not an id may be a job's name: the scheduler looks it up */
    const char *names[] = {"A", "xyz", "train resnet", "aaaa/1x"};
    for (size_t i = 0; i < N(names); i++)
        if (!mlq_cli_ref_valid(names[i]))
            fail_msg("refused the name %s", names[i]);
    char longname[MLQ_MAX_NAME + 2];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    const char *never[] = {"", "-x", "tab\there", longname};
    for (size_t i = 0; i < N(never); i++)
        if (mlq_cli_ref_valid(never[i]))
            fail_msg("accepted %s", never[i]);
    struct mlq_err err = {0};
    char *ids[] = {"aaaa", "bbbb/3", "zz", "bad\x1b[2J"};
    assert_int_equal(mlq_cli_check_ids(ids, 3, &err), 0);
    assert_int_equal(mlq_cli_check_ids(ids, 4, &err), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "'bad?[2J'"));
}

/* Jobs keep their order, arrays are matched by prefix. */
static void test_ref_find(void **state)
{
    (void)state;
    struct mlq_jobinfo jobs[2];
    struct mlq_arrayinfo arrays[1];
    fill_job(&jobs[0], MLQ_JOB_RUNNING);
    fill_job(&jobs[1], MLQ_JOB_PENDING);
    jobs[1].id[0] = 'c';
    fill_array(&arrays[0]);
    struct mlq_msg list = {.type = MLQ_MSG_JOB_LIST};
    list.u.job_list.jobs = jobs;
    list.u.job_list.njobs = 2;
    list.u.job_list.arrays = arrays;
    list.u.job_list.narrays = 1;
    const struct mlq_jobinfo *j;
    const struct mlq_arrayinfo *a;
    uint32_t next = 0;
    assert_int_equal(mlq_cli_ref_find(&list, "bbbb", &j, &a, &next), 0);
    assert_ptr_equal(j, &jobs[0]);
    assert_null(a);
    assert_int_equal(mlq_cli_ref_find(&list, "aaaa", &j, &a, &next), 0);
    assert_ptr_equal(a, &arrays[0]);
    assert_null(j);
    /* a task of the array is a job, whatever prefix it starts with */
    assert_int_equal(mlq_cli_ref_find(&list, "aaaa/3", &j, &a, &next), 0);
    assert_ptr_equal(j, &jobs[1]);
    assert_int_equal(mlq_cli_ref_find(&list, "dddd", &j, &a, &next), MLQ_EPROTO);

    /* by name: the next job when it carries the name, else the array of
     * that name */
    jobs[0].name = "train";
    next = 0;
    assert_int_equal(mlq_cli_ref_find(&list, "score", &j, &a, &next), 0);
    assert_ptr_equal(a, &arrays[0]);
    assert_int_equal(mlq_cli_ref_find(&list, "train", &j, &a, &next), 0);
    assert_ptr_equal(j, &jobs[0]);
    arrays[0].name = "train"; /* an array listed by id, named like the job */
    next = 0;
    assert_int_equal(mlq_cli_ref_find(&list, "train", &j, &a, &next), 0);
    assert_ptr_equal(j, &jobs[0]);
}

/* ---- wait ---- */

static void test_wait_counts(void **state)
{
    (void)state;
    struct mlq_jobinfo jobs[2];
    struct mlq_arrayinfo arrays[1];
    fill_job(&jobs[0], MLQ_JOB_SUCCEEDED);
    fill_job(&jobs[1], MLQ_JOB_TIMED_OUT);
    fill_array(&arrays[0]);
    struct mlq_msg list = {.type = MLQ_MSG_JOB_LIST};
    list.u.job_list.jobs = jobs;
    list.u.job_list.njobs = 2;
    list.u.job_list.arrays = arrays;
    list.u.job_list.narrays = 1;
    struct mlq_wait_counts c;
    char buf[256];
    bool ok = true;
    mlq_wait_count(&list, &c);
    assert_int_equal(c.total, 12);
    assert_false(mlq_wait_done(&c, &ok));
    assert_string_equal(mlq_wait_progress(&c, buf, sizeof(buf)),
                        "1 pending, 2 running, 7 succeeded, 2 failed");
    assert_string_equal(mlq_wait_summary(&c, true, buf, sizeof(buf)),
                        "timed out waiting: 7 succeeded, 1 failed, 1 timed out, 1 pending, "
                        "2 running");
    /* tasks not counted yet (size above the counts) are pending */
    arrays[0].size = 12;
    mlq_wait_count(&list, &c);
    assert_int_equal(c.total, 14);
    assert_int_equal(c.n[MLQ_JOB_PENDING], 3);
    /* all ended: done, and ok only when all succeeded */
    fill_array(&arrays[0]);
    arrays[0].counts[MLQ_JOB_RUNNING] = 0;
    arrays[0].counts[MLQ_JOB_PENDING] = 0;
    arrays[0].counts[MLQ_JOB_CANCELLED] = 3;
    mlq_wait_count(&list, &c);
    assert_true(mlq_wait_done(&c, &ok));
    assert_false(ok);
    assert_string_equal(mlq_wait_progress(&c, buf, sizeof(buf)),
                        "0 pending, 0 running, 7 succeeded, 2 failed, 3 cancelled");
    list.u.job_list.njobs = 1;
    arrays[0].counts[MLQ_JOB_SUCCEEDED] = 10;
    arrays[0].counts[MLQ_JOB_FAILED] = 0;
    arrays[0].counts[MLQ_JOB_CANCELLED] = 0;
    mlq_wait_count(&list, &c);
    assert_true(mlq_wait_done(&c, &ok));
    assert_true(ok);
    assert_string_equal(mlq_wait_summary(&c, false, buf, sizeof(buf)), "11 succeeded");
}

/* ---- JSON ---- */

static void test_job_json_pipeline(void **state)
{
    (void)state;
    struct mlq_jobinfo j;
    struct mlq_dep deps[] = {{"", MLQ_DEP_FAILED}};
    strcpy(deps[0].target, ARR);
    fill_job(&j, MLQ_JOB_PENDING);
    json_t *o = mlq_jsonview_job(&j);
    assert_true(json_is_null(json_object_get(o, "array_id")));
    assert_true(json_is_null(json_object_get(o, "array_index")));
    assert_int_equal(json_array_size(json_object_get(o, "deps")), 0);
    json_decref(o);
    j.array_id = (char *)ARR;
    j.array_index = 17;
    j.deps = deps;
    j.ndeps = 1;
    o = mlq_jsonview_job(&j);
    assert_string_equal(json_string_value(json_object_get(o, "array_id")), ARR);
    assert_int_equal(json_integer_value(json_object_get(o, "array_index")), 17);
    json_t *d = json_array_get(json_object_get(o, "deps"), 0);
    assert_string_equal(json_string_value(json_object_get(d, "target")), ARR);
    assert_string_equal(json_string_value(json_object_get(d, "kind")), "failed");
    json_decref(o);
}

static void test_array_json(void **state)
{
    (void)state;
    struct mlq_arrayinfo a;
    fill_array(&a);
    json_t *o = mlq_jsonview_array(&a);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "id")), ARR);
    assert_int_equal(json_integer_value(json_object_get(o, "size")), 10);
    assert_int_equal(json_integer_value(json_object_get(o, "max_running")), 2);
    json_t *c = json_object_get(o, "counts");
    assert_int_equal(json_object_size(c), MLQ_JOB_STATE_COUNT);
    assert_int_equal(json_integer_value(json_object_get(c, "SUCCEEDED")), 6);
    assert_int_equal(json_integer_value(json_object_get(c, "TIMED_OUT")), 0);
    assert_string_equal(json_string_value(json_object_get(o, "failed")), "3");
    assert_true(json_is_false(json_object_get(o, "done")));
    assert_true(json_is_false(json_object_get(o, "succeeded")));
    assert_string_equal(json_string_value(json_object_get(o, "submit_time")),
                        "2023-11-14T22:13:20.000Z");
    json_decref(o);
    memset(a.counts, 0, sizeof(a.counts));
    a.counts[MLQ_JOB_SUCCEEDED] = 10;
    a.max_running = 0;
    a.failed = NULL;
    o = mlq_jsonview_array(&a);
    assert_true(json_is_true(json_object_get(o, "done")));
    assert_true(json_is_true(json_object_get(o, "succeeded")));
    assert_true(json_is_null(json_object_get(o, "max_running")));
    assert_true(json_is_null(json_object_get(o, "failed")));
    json_decref(o);
}

static void test_schedule_json(void **state)
{
    (void)state;
    struct mlq_scheduleinfo s;
    int64_t fires[] = {1700000060000, 1700000120000};
    struct mlq_schedrun run = {.fire_ms = 1700000000000, .state = MLQ_JOB_FAILED};
    strcpy(run.job_id, JOB);
    memset(&s, 0, sizeof(s));
    s.name = "nightly";
    s.cron = "0 3 * * *";
    s.spec.argv = k_argv;
    s.spec.argc = 2;
    s.spec.cpus_m = 500;
    s.spec.mem = 1 << 20;
    s.catch_up_ms = 3600 * 1000;
    s.next_fires = fires;
    s.nnext = 2;
    s.runs = &run;
    s.nruns = 1;
    json_t *o = mlq_jsonview_schedule(&s);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "timezone")), "UTC");
    assert_string_equal(json_string_value(json_object_get(o, "concurrency")), "skip");
    assert_int_equal(json_integer_value(json_object_get(o, "catch_up")), 3600);
    assert_true(json_is_false(json_object_get(o, "paused")));
    assert_int_equal(json_array_size(json_object_get(o, "next_fires")), 2);
    assert_string_equal(json_string_value(json_array_get(json_object_get(o, "next_fires"), 0)),
                        "2023-11-14T22:14:20.000Z");
    json_t *r = json_array_get(json_object_get(o, "runs"), 0);
    assert_string_equal(json_string_value(json_object_get(r, "job_id")), JOB);
    assert_string_equal(json_string_value(json_object_get(r, "state")), "FAILED");
    assert_true(json_is_null(json_object_get(o, "array")));
    assert_true(json_real_value(json_object_get(o, "cpus")) == 0.5);
    json_decref(o);
}

/* ---- status pages ---- */

static char *render(int (*fn)(FILE *, const void *), const void *arg)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(fn(f, arg), 0);
    fclose(f);
    return buf;
}

static int print_array(FILE *f, const void *a)
{
    return mlq_jobview_print_array(f, a, false);
}

static int print_job(FILE *f, const void *j)
{
    return mlq_jobview_print(f, j, false, 1700000000000);
}

static void test_status_pages(void **state)
{
    (void)state;
    struct mlq_arrayinfo a;
    fill_array(&a);
    char *out = render(print_array, &a);
    assert_non_null(strstr(out, "tasks:      10 (at most 2 running at once)"));
    assert_non_null(strstr(out, "states:     1 pending, 2 running, 6 succeeded, 1 failed"));
    assert_non_null(strstr(out, "progress:   in progress (7 of 10 tasks ended)"));
    assert_non_null(strstr(out, "not ok:     3"));
    assert_non_null(strstr(out, "mlq status aaaa0000/N"));
    free(out);

    struct mlq_jobinfo j;
    struct mlq_dep deps[] = {{"", MLQ_DEP_OK}, {"", MLQ_DEP_FAILED}};
    strcpy(deps[0].target, ARR);
    strcpy(deps[1].target, JOB);
    fill_job(&j, MLQ_JOB_PENDING);
    j.reason = "waiting for aaaa0000 (array) to succeed";
    j.array_id = (char *)ARR;
    j.array_index = 17;
    j.deps = deps;
    j.ndeps = 2;
    out = render(print_job, &j);
    assert_non_null(strstr(out, "state:      PENDING (waiting for aaaa0000 (array) to succeed)"));
    assert_non_null(strstr(out, "array:      aaaa0000/17"));
    assert_non_null(strstr(out, "after:      aaaa0000 succeeded, bbbb0000 failed"));
    free(out);
}

/* ---- schedule add ---- */

static int parse_add(struct mlq_scheduleinfo *s, struct mlq_err *err, ...)
{
    char *words[64];
    int n = 0;
    va_list ap;
    va_start(ap, err);
    for (char *w; (w = va_arg(ap, char *)) != NULL && n < 63;)
        words[n++] = w;
    va_end(ap);
    words[n] = NULL;
    struct mlq_cli_submit_opts opts;
    mlq_err_clear(err);
    return mlq_cli_schedule_parse_add(n, words, s, &opts, err);
}

static void test_schedule_add(void **state)
{
    (void)state;
    struct mlq_scheduleinfo s;
    struct mlq_err err;
    assert_int_equal(parse_add(&s, &err, "nightly", "--cron", "*/5 * * * *", "--timezone",
                               "Europe/Paris", "--catch-up", "10m", "--concurrency", "replace",
                               "--cpus", "2", "--array", "0-9", "--", "python", "eval.py", "--cron",
                               NULL),
                     0);
    assert_string_equal(s.name, "nightly");
    assert_string_equal(s.cron, "*/5 * * * *");
    assert_string_equal(s.timezone, "Europe/Paris");
    assert_int_equal(s.catch_up_ms, 600000);
    assert_string_equal(s.concurrency, "replace");
    assert_int_equal(s.spec.cpus_m, 2000);
    assert_string_equal(s.spec.array, "0-9");
    assert_int_equal(s.spec.argc, 3);
    assert_string_equal(s.spec.argv[2], "--cron"); /* the job's own argument */
    mlq_proto_scheduleinfo_free(&s);
    /* defaults */
    assert_int_equal(parse_add(&s, &err, "n", "--cron", "@daily", "true", NULL), 0);
    assert_null(s.timezone);
    assert_null(s.concurrency);
    assert_int_equal(s.catch_up_ms, 3600 * 1000);
    mlq_proto_scheduleinfo_free(&s);
    assert_int_equal(parse_add(&s, &err, "n", "--cron", "@daily", "--catch-up", "0", "true", NULL),
                     0);
    assert_int_equal(s.catch_up_ms, 0);
    mlq_proto_scheduleinfo_free(&s);
}

static void test_schedule_add_bad(void **state)
{
    (void)state;
    struct mlq_scheduleinfo s;
    struct mlq_err err;
    assert_int_equal(parse_add(&s, &err, "n", "true", NULL), MLQ_CLI_EUSAGE);
    assert_non_null(strstr(err.msg, "--cron is required"));
    assert_int_equal(parse_add(&s, &err, "--cron", "@daily", "n", "true", NULL), MLQ_CLI_EUSAGE);
    assert_non_null(strstr(err.msg, "NAME first"));
    assert_int_equal(parse_add(&s, &err, NULL), MLQ_CLI_EUSAGE);
    assert_int_equal(parse_add(&s, &err, "bad name", "--cron", "@daily", "true", NULL), MLQ_EINVAL);
    assert_int_equal(parse_add(&s, &err, "n", "--cron", "60 * * * *", "true", NULL), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "bad --cron"));
    assert_non_null(strstr(err.msg, "minute"));
    assert_int_equal(
        parse_add(&s, &err, "n", "--cron", "@daily", "--timezone", "Nowhere/City", "true", NULL),
        MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "bad --timezone"));
    assert_int_equal(
        parse_add(&s, &err, "n", "--cron", "@daily", "--concurrency", "both", "true", NULL),
        MLQ_EINVAL);
    assert_int_equal(
        parse_add(&s, &err, "n", "--cron", "@daily", "--catch-up", "soon", "true", NULL),
        MLQ_EINVAL);
    assert_int_equal(
        parse_add(&s, &err, "n", "--cron", "@daily", "--idempotency-key", "k", "true", NULL),
        MLQ_CLI_EUSAGE);
    assert_int_equal(parse_add(&s, &err, "n", "--cron", "@daily", "--bogus", "true", NULL),
                     MLQ_CLI_EUSAGE);
    assert_non_null(strstr(err.msg, "schedule add: unknown option '--bogus'"));
    assert_int_equal(parse_add(&s, &err, "n", "--cron", "@daily", NULL), MLQ_CLI_EUSAGE);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_refs),
        cmocka_unit_test(test_ref_find),
        cmocka_unit_test(test_wait_counts),
        cmocka_unit_test(test_job_json_pipeline),
        cmocka_unit_test(test_array_json),
        cmocka_unit_test(test_schedule_json),
        cmocka_unit_test(test_status_pages),
        cmocka_unit_test(test_schedule_add),
        cmocka_unit_test(test_schedule_add_bad),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
