/* Unit tests for the CLI's output and error mapping: JSON of a job and a
 * worker (field names, types, nulls), time and exit formatting, shell
 * quoting of commands, aligned tables, and the error-code -> exit-code
 * table. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "client.h"
#include "jobview.h"
#include "output.h"
#include "jsonview.h"

/* 2024-05-01T12:00:03.250Z */
#define T0 1714564803250LL

static void fill_job(struct mlq_jobinfo *j, char **argv)
{
    memset(j, 0, sizeof(*j));
    strcpy(j->id, "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9");
    j->name = "train";
    j->owner = "alice";
    j->state = MLQ_JOB_FAILED;
    j->reason = "exit 3";
    j->argv = argv;
    j->argc = 3;
    j->workdir = "/home/alice";
    j->cpus_m = 500;
    j->mem = 1LL << 30;
    j->gpus = 2;
    j->submit_ms = T0;
    j->start_ms = T0 + 1000;
    j->end_ms = T0 + 61000;
    j->attempt = 1;
    j->attempt_id = "11111111-2222-4333-8444-555555555555";
    j->worker = "w1";
    j->gpu_ids = "0,3";
    j->exit_code = 3;
    j->signal = 0;
}

static void test_job_json_fields(void **state)
{
    (void)state;
    char *argv[] = {"python", "train.py", "--lr=0.1"};
    struct mlq_jobinfo j;
    fill_job(&j, argv);
    json_t *o = mlq_jsonview_job(&j);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "id")), j.id);
    assert_string_equal(json_string_value(json_object_get(o, "name")), "train");
    assert_string_equal(json_string_value(json_object_get(o, "owner")), "alice");
    assert_string_equal(json_string_value(json_object_get(o, "state")), "FAILED");
    assert_string_equal(json_string_value(json_object_get(o, "reason")), "exit 3");
    json_t *a = json_object_get(o, "argv");
    assert_int_equal(json_array_size(a), 3);
    assert_string_equal(json_string_value(json_array_get(a, 2)), "--lr=0.1");
    assert_string_equal(json_string_value(json_object_get(o, "workdir")), "/home/alice");
    assert_true(json_is_real(json_object_get(o, "cpus")));
    assert_true(json_real_value(json_object_get(o, "cpus")) == 0.5);
    assert_int_equal(json_integer_value(json_object_get(o, "mem")), 1LL << 30);
    assert_int_equal(json_integer_value(json_object_get(o, "gpus")), 2);
    assert_string_equal(json_string_value(json_object_get(o, "submit_time")),
                        "2024-05-01T12:00:03.250Z");
    assert_string_equal(json_string_value(json_object_get(o, "start_time")),
                        "2024-05-01T12:00:04.250Z");
    assert_string_equal(json_string_value(json_object_get(o, "end_time")),
                        "2024-05-01T12:01:04.250Z");
    assert_int_equal(json_integer_value(json_object_get(o, "attempt")), 1);
    assert_string_equal(json_string_value(json_object_get(o, "attempt_id")), j.attempt_id);
    assert_string_equal(json_string_value(json_object_get(o, "worker")), "w1");
    json_t *g = json_object_get(o, "gpu_ids");
    assert_int_equal(json_array_size(g), 2);
    assert_int_equal(json_integer_value(json_array_get(g, 0)), 0);
    assert_int_equal(json_integer_value(json_array_get(g, 1)), 3);
    assert_int_equal(json_integer_value(json_object_get(o, "exit_code")), 3);
    assert_true(json_is_null(json_object_get(o, "signal")));
    assert_int_equal(json_integer_value(json_object_get(o, "retries")), 0);
    assert_int_equal(json_integer_value(json_object_get(o, "node_failures")), 0);
    assert_true(json_is_null(json_object_get(o, "not_before")));
    assert_true(json_is_null(json_object_get(o, "time_limit")));
    assert_null(json_object_get(o, "attempts")); /* only `mlq status` lists them */
    /* no pool given: the default one */
    assert_string_equal(json_string_value(json_object_get(o, "pool")), "default");
    assert_string_equal(json_string_value(json_object_get(o, "outcome")), "exited");
    assert_true(json_is_null(json_object_get(o, "held_by")));
    /* 23 + outcome, held_by, held_at, array_id, array_index, deps, pool,
     * require, priority, team, project, nodes, gang, gpu_request, gpu_type,
     * gpu_share, gpu_mem */
    assert_int_equal(json_object_size(o), 40);
    assert_string_equal(json_string_value(json_object_get(o, "gpu_request")), "2");
    assert_true(json_is_null(json_object_get(o, "gpu_share")));
    assert_true(json_is_null(json_object_get(o, "gpu_type")));
    assert_int_equal(json_array_size(json_object_get(o, "require")), 0);
    assert_int_equal(json_integer_value(json_object_get(o, "priority")), 0);
    /* no team, no project */
    assert_true(json_is_null(json_object_get(o, "team")));
    assert_true(json_is_null(json_object_get(o, "project")));
    j.pool = "gpu";
    json_decref(o);
    o = mlq_jsonview_job(&j);
    assert_string_equal(json_string_value(json_object_get(o, "pool")), "gpu");
    json_decref(o);
    j.gpus = 0; /* a share of one GPU of either type */
    j.gpu_frac = 25;
    j.gpu_mem = 10LL << 30;
    j.gpu_type = "a100|h100";
    o = mlq_jsonview_job(&j);
    assert_string_equal(json_string_value(json_object_get(o, "gpu_request")),
                        "a100|h100:0.25, 10G GPU memory");
    assert_true(json_real_value(json_object_get(o, "gpu_share")) == 0.25);
    assert_string_equal(json_string_value(json_object_get(o, "gpu_type")), "a100|h100");
    assert_int_equal(json_integer_value(json_object_get(o, "gpu_mem")), 10LL << 30);
    json_decref(o);
}

/* A job that has not run yet: times, attempt id, worker, exit are null. */
static void test_job_json_nulls(void **state)
{
    (void)state;
    char *argv[] = {"true", "", ""};
    struct mlq_jobinfo j;
    fill_job(&j, argv);
    j.argc = 1;
    j.state = MLQ_JOB_PENDING;
    j.name = NULL;
    j.reason = NULL;
    j.start_ms = j.end_ms = 0;
    j.attempt = 0;
    j.attempt_id = NULL;
    j.worker = NULL;
    j.gpu_ids = NULL;
    j.exit_code = -1;
    json_t *o = mlq_jsonview_job(&j);
    assert_non_null(o);
    const char *nulls[] = {"name",   "reason",    "start_time", "end_time",
                           "worker", "exit_code", "signal",     "attempt_id"};
    for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
        if (!json_is_null(json_object_get(o, nulls[i])))
            fail_msg("%s should be null", nulls[i]);
    assert_int_equal(json_array_size(json_object_get(o, "gpu_ids")), 0);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "PENDING");
    json_decref(o);
}

static void test_job_json_signal_and_bad_bytes(void **state)
{
    (void)state;
    char *argv[] = {"a\xff", "b", "c"};
    struct mlq_jobinfo j;
    fill_job(&j, argv);
    j.name = "bad\xc3name";
    j.exit_code = -1;
    j.signal = 9;
    j.gpu_ids = "1,x,2";
    json_t *o = mlq_jsonview_job(&j);
    assert_non_null(o); /* bytes that are not UTF-8 do not lose the job */
    assert_string_equal(json_string_value(json_object_get(o, "name")), "bad?name");
    assert_string_equal(json_string_value(json_array_get(json_object_get(o, "argv"), 0)), "a?");
    assert_int_equal(json_integer_value(json_object_get(o, "signal")), 9);
    assert_true(json_is_null(json_object_get(o, "exit_code")));
    json_t *g = json_object_get(o, "gpu_ids");
    assert_int_equal(json_array_size(g), 2);
    assert_int_equal(json_integer_value(json_array_get(g, 1)), 2);
    json_decref(o);
}

static void test_json_print_precision(void **state)
{
    (void)state;
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    json_t *doc = json_pack("{s:f}", "cpus", 0.1);
    assert_int_equal(mlq_out_json_print(f, doc), 0);
    fclose(f);
    assert_non_null(strstr(buf, "\"cpus\": 0.1\n"));
    assert_int_equal(buf[len - 1], '\n');
    json_decref(doc);
    free(buf);
}

static void test_worker_json(void **state)
{
    (void)state;
    struct mlq_workerinfo w = {
        .name = "w1",
        .state = "UP",
        .cpus_m = 4000,
        .cpus_used_m = 1500,
        .mem = 8LL << 30,
        .mem_used = 1LL << 30,
        .gpus = 2,
        .gpus_used = 1,
        .running = 2,
        .last_seen_ms = T0,
    };
    json_t *o = mlq_jsonview_worker(&w);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "name")), "w1");
    assert_string_equal(json_string_value(json_object_get(o, "state")), "UP");
    assert_true(json_real_value(json_object_get(o, "cpus")) == 4.0);
    assert_true(json_real_value(json_object_get(o, "cpus_used")) == 1.5);
    assert_int_equal(json_integer_value(json_object_get(o, "mem")), 8LL << 30);
    assert_int_equal(json_integer_value(json_object_get(o, "mem_used")), 1LL << 30);
    assert_int_equal(json_integer_value(json_object_get(o, "gpus")), 2);
    assert_int_equal(json_integer_value(json_object_get(o, "gpus_used")), 1);
    assert_int_equal(json_integer_value(json_object_get(o, "running")), 2);
    assert_string_equal(json_string_value(json_object_get(o, "last_seen")),
                        "2024-05-01T12:00:03.250Z");
    json_decref(o);
}

static void test_worker_json_draining(void **state)
{
    (void)state;
    struct mlq_workerinfo w = {.name = "w2", .state = "UP"};
    json_t *o = mlq_jsonview_worker(&w);
    assert_true(json_is_false(json_object_get(o, "draining")));
    json_decref(o);
    w.draining = true;
    o = mlq_jsonview_worker(&w);
    assert_true(json_is_true(json_object_get(o, "draining")));
    assert_string_equal(json_string_value(json_object_get(o, "state")), "UP");
    json_decref(o);
}

static void test_worker_json_unhealthy(void **state)
{
    (void)state;
    struct mlq_workerinfo w = {.name = "w3", .state = "UP"};
    json_t *o = mlq_jsonview_worker(&w);
    assert_true(json_is_false(json_object_get(o, "unhealthy")));
    assert_true(json_is_null(json_object_get(o, "health")));
    json_decref(o);
    w.unhealthy = true;
    w.health = "refused 3 assignments in a row (last: spool full)";
    o = mlq_jsonview_worker(&w);
    assert_true(json_is_true(json_object_get(o, "unhealthy")));
    assert_string_equal(json_string_value(json_object_get(o, "health")), w.health);
    json_decref(o);
}

/* The release and git description a worker sent in its register; null for
 * one that did not say. */
static void test_worker_json_version(void **state)
{
    (void)state;
    struct mlq_workerinfo w = {.name = "w4", .state = "UP"};
    json_t *o = mlq_jsonview_worker(&w);
    assert_true(json_is_null(json_object_get(o, "version")));
    assert_true(json_is_null(json_object_get(o, "git")));
    json_decref(o);
    w.version = "0.1.0";
    w.git = "v0.1.0-3-g36d90e1";
    o = mlq_jsonview_worker(&w);
    assert_string_equal(json_string_value(json_object_get(o, "version")), "0.1.0");
    assert_string_equal(json_string_value(json_object_get(o, "git")), "v0.1.0-3-g36d90e1");
    json_decref(o);
}

/* A job that failed twice, lost a worker once and now waits for its second
 * retry: LOST, FAILED, TIMED_OUT. */
static struct mlq_attemptinfo k_atts[3];

static void fill_retrying(struct mlq_jobinfo *j, char **argv)
{
    fill_job(j, argv);
    memset(k_atts, 0, sizeof(k_atts));
    k_atts[0] = (struct mlq_attemptinfo){.num = 1,
                                         .worker = "w1",
                                         .state = MLQ_ATT_LOST,
                                         .gpu_ids = "0,3",
                                         .start_ms = T0 + 1000,
                                         .end_ms = T0 + 31000,
                                         .exit_code = -1,
                                         .detail = "lost on worker w1: self-fenced\x1b[2J"};
    strcpy(k_atts[0].id, "0190f5c2-7a10-7000-8444-5555aaaaaaaa");
    k_atts[1] = (struct mlq_attemptinfo){.num = 2,
                                         .worker = "w2",
                                         .state = MLQ_ATT_FAILED,
                                         .start_ms = T0 + 40000,
                                         .end_ms = T0 + 50000,
                                         .exit_code = 3,
                                         .usage = {.mem_peak = 67108864,
                                                   .cpu_us = 2500000,
                                                   .wall_ms = 10000,
                                                   .gpu_mem_peak = -1,
                                                   .gpu_util = -1,
                                                   .source = "cgroup1"}};
    strcpy(k_atts[1].id, "0190f5c2-7a10-7001-8444-5555bbbbbbbb");
    k_atts[2] = (struct mlq_attemptinfo){.num = 3,
                                         .worker = "w2",
                                         .state = MLQ_ATT_TIMED_OUT,
                                         .start_ms = T0 + 60000,
                                         .end_ms = T0 + 61500,
                                         .exit_code = -1,
                                         .signal = 15};
    strcpy(k_atts[2].id, "0190f5c2-7a10-7002-8444-5555cccccccc");
    j->state = MLQ_JOB_PENDING;
    j->reason = "retry 2/3 at 12:02:03 (timed out)";
    j->attempt = 3;
    j->retries = 3;
    j->node_failures = 1;
    j->not_before_ms = T0 + 120000;
    j->time_limit_ms = 1500;
    j->attempts = k_atts;
    j->nattempts = 3;
}

static void test_job_status_json(void **state)
{
    (void)state;
    char *argv[] = {"python", "train.py", "--lr=0.1"};
    struct mlq_jobinfo j;
    fill_retrying(&j, argv);
    json_t *o = mlq_jsonview_job_status(&j);
    assert_non_null(o);
    assert_int_equal(json_integer_value(json_object_get(o, "retries")), 3);
    assert_int_equal(json_integer_value(json_object_get(o, "retries_used")), 2);
    assert_int_equal(json_integer_value(json_object_get(o, "node_failures")), 1);
    assert_string_equal(json_string_value(json_object_get(o, "not_before")),
                        "2024-05-01T12:02:03.250Z");
    assert_true(json_real_value(json_object_get(o, "time_limit")) == 1.5);
    j.state = MLQ_JOB_RUNNING; /* once it runs again, the old retry time is not shown */
    json_t *o2 = mlq_jsonview_job(&j);
    assert_true(json_is_null(json_object_get(o2, "not_before")));
    json_decref(o2);
    j.state = MLQ_JOB_PENDING;
    json_t *a = json_object_get(o, "attempts");
    assert_int_equal(json_array_size(a), 3);
    json_t *x = json_array_get(a, 0);
    assert_int_equal(json_object_size(x), 11);
    assert_true(json_is_null(json_object_get(x, "usage"))); /* nothing measured */
    json_t *u = json_object_get(json_array_get(a, 1), "usage");
    assert_string_equal(json_string_value(json_object_get(u, "source")), "cgroup1");
    assert_int_equal(json_integer_value(json_object_get(u, "mem_peak")), 67108864);
    assert_int_equal(json_integer_value(json_object_get(u, "cpu_us")), 2500000);
    assert_int_equal(json_integer_value(json_object_get(u, "wall_ms")), 10000);
    assert_true(json_is_null(json_object_get(u, "gpu_mem_peak")));
    assert_true(json_is_null(json_object_get(u, "gpu_util")));
    assert_int_equal(json_integer_value(json_object_get(x, "num")), 1);
    assert_string_equal(json_string_value(json_object_get(x, "id")), k_atts[0].id);
    assert_string_equal(json_string_value(json_object_get(x, "worker")), "w1");
    assert_string_equal(json_string_value(json_object_get(x, "state")), "LOST");
    assert_int_equal(json_array_size(json_object_get(x, "gpu_ids")), 2);
    assert_string_equal(json_string_value(json_object_get(x, "start_time")),
                        "2024-05-01T12:00:04.250Z");
    assert_true(json_is_null(json_object_get(x, "exit_code")));
    assert_true(json_is_null(json_object_get(x, "signal")));
    assert_non_null(strstr(json_string_value(json_object_get(x, "detail")), "self-fenced"));
    x = json_array_get(a, 1);
    assert_int_equal(json_integer_value(json_object_get(x, "exit_code")), 3);
    assert_true(json_is_null(json_object_get(x, "detail")));
    assert_int_equal(json_array_size(json_object_get(x, "gpu_ids")), 0);
    x = json_array_get(a, 2);
    assert_string_equal(json_string_value(json_object_get(x, "state")), "TIMED_OUT");
    assert_int_equal(json_integer_value(json_object_get(x, "signal")), 15);
    json_decref(o);

    /* no attempts yet: an empty list, not a missing key; whole seconds */
    j.attempts = NULL;
    j.nattempts = 0;
    j.time_limit_ms = 7200000;
    o = mlq_jsonview_job_status(&j);
    assert_int_equal(json_array_size(json_object_get(o, "attempts")), 0);
    assert_true(json_is_integer(json_object_get(o, "time_limit")));
    assert_int_equal(json_integer_value(json_object_get(o, "time_limit")), 7200);
    assert_int_equal(json_integer_value(json_object_get(o, "retries_used")), 0);
    json_decref(o);
}

static void test_retries_used(void **state)
{
    (void)state;
    char *argv[] = {"a", "b", "c"};
    struct mlq_jobinfo j;
    fill_retrying(&j, argv);
    assert_int_equal(mlq_out_retries_used(&j), 2); /* LOST does not use a retry */
    j.state = MLQ_JOB_TIMED_OUT;                   /* the last failure ended it: no retry started */
    assert_int_equal(mlq_out_retries_used(&j), 1);
    j.state = MLQ_JOB_FAILED;
    j.nattempts = 1; /* ended by losing its worker, no failure at all */
    assert_int_equal(mlq_out_retries_used(&j), 0);
    j.state = MLQ_JOB_CANCELLED; /* cancelled while waiting for retry 2 */
    j.nattempts = 3;
    assert_int_equal(mlq_out_retries_used(&j), 2);
    j.retries = 1; /* never more than allowed */
    assert_int_equal(mlq_out_retries_used(&j), 1);
    j.attempts = NULL;
    assert_int_equal(mlq_out_retries_used(&j), 0);
}

/* Human times carry their zone: the process's local one, or a schedule's
 * own; the test picks the zone with TZ. */
static void test_time_zones(void **state)
{
    (void)state;
    char buf[64];
    int64_t winter = 1796649605000LL; /* 2026-12-07 13:20:05 UTC */
    int64_t summer = 1782307205000LL; /* 2026-06-24 13:20:05 UTC */
    setenv("TZ", "Europe/Paris", 1);
    tzset();
    assert_string_equal(mlq_out_time_local(winter, buf, sizeof buf), "2026-12-07 14:20:05 CET");
    assert_string_equal(mlq_out_time_local(summer, buf, sizeof buf), "2026-06-24 15:20:05 CEST");
    assert_string_equal(mlq_out_time_local(0, buf, sizeof buf), "-");
    assert_string_equal(mlq_out_time_zone(winter, "America/New_York", buf, sizeof buf),
                        "2026-12-07 08:20:05 EST");
    assert_string_equal(mlq_out_time_zone(winter, NULL, buf, sizeof buf),
                        "2026-12-07 13:20:05 UTC");
    /* the process's zone is back afterwards */
    assert_string_equal(mlq_out_time_local(winter, buf, sizeof buf), "2026-12-07 14:20:05 CET");
    setenv("TZ", "UTC", 1);
    tzset();
    assert_string_equal(mlq_out_time_local(winter, buf, sizeof buf), "2026-12-07 13:20:05 UTC");
}

/* --since: a local date (and time), or a duration back from now. */
static void test_parse_since(void **state)
{
    (void)state;
    struct mlq_err err = {0};
    int64_t v, now = 1796649605000LL;
    setenv("TZ", "Europe/Paris", 1);
    tzset();
    assert_int_equal(mlq_out_parse_since("2026-12-01", now, &v, &err), 0);
    assert_int_equal(v, 1796079600000LL); /* 2026-11-30 23:00 UTC */
    assert_int_equal(mlq_out_parse_since("2026-12-01 14:00", now, &v, &err), 0);
    assert_int_equal(v, 1796079600000LL + 14 * 3600000LL);
    assert_int_equal(mlq_out_parse_since("2026-12-01T14:00:30", now, &v, &err), 0);
    assert_int_equal(v, 1796079600000LL + 14 * 3600000LL + 30000);
    assert_int_equal(mlq_out_parse_since("2h", now, &v, &err), 0);
    assert_int_equal(v, now - 7200000LL);
    const char *bad[] = {"yesterday", "2026-13-01", "2026-12-01 25:00", "2026-12-01x", "-2h", ""};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(mlq_out_parse_since(bad[i], now, &v, &err), MLQ_CLI_EUSAGE);
        assert_non_null(strstr(err.msg, "--since"));
    }
    setenv("TZ", "UTC", 1);
    tzset();
}

static char *render(const struct mlq_jobinfo *j, int64_t now)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(mlq_jobview_print(f, j, false, now), 0);
    fclose(f);
    return buf;
}

static void test_jobview(void **state)
{
    (void)state;
    char *argv[] = {"python", "train.py", "--lr=0.1"};
    struct mlq_jobinfo j;
    fill_retrying(&j, argv);
    char *out = render(&j, T0 + 95000);
    assert_non_null(strstr(out, "state:      PENDING (retry 2/3 at 12:02:03 (timed out))\n"));
    assert_non_null(strstr(out, "retries:    2 of 3 used\n"));
    assert_non_null(strstr(out, "retry at:   2024-05-01 12:02:03 UTC (in 25s)\n"));
    assert_non_null(strstr(out, "node fails: 1 "));
    assert_non_null(strstr(out, "time limit: 1.5s\n"));
    assert_non_null(strstr(out, "\nattempts:\n#  ATTEMPT   WORKER  STATE      START"));
    assert_non_null(
        strstr(out, "\n1  aaaaaaaa  w1      LOST       2024-05-01 12:00:04 UTC  "
                    "2024-05-01 12:00:34 UTC  -        lost on worker w1: self-fenced?[2J\n"));
    assert_non_null(strstr(out, "\n2  bbbbbbbb  w2      FAILED  "));
    assert_non_null(strstr(out, "  3        -\n")); /* exit 3, no detail */
    assert_non_null(
        strstr(out, "TIMED_OUT  2024-05-01 12:01:03 UTC  2024-05-01 12:01:04 UTC  SIGTERM"));
    assert_null(strchr(out, '\x1b')); /* nothing from the scheduler reaches the terminal raw */
    /* what attempt 2 used, and nothing for the others */
    assert_non_null(strstr(out, "\nusage:\n  2   mem: asked "));
    assert_non_null(strstr(out, ", peak 64M; cpu: asked "));
    assert_non_null(strstr(out, ", used 2.5 cpu-s over 10.0 s (cgroup1)\n"));
    assert_null(strstr(out, "  1   mem:"));
    free(out);

    /* the retry time has passed: no "in"; a job without retries, lost
     * workers, limit or attempts shows none of those lines */
    out = render(&j, T0 + 200000);
    assert_non_null(strstr(out, "retry at:   2024-05-01 12:02:03 UTC\n"));
    free(out);
    fill_job(&j, argv);
    out = render(&j, T0);
    assert_null(strstr(out, "retries:"));
    assert_null(strstr(out, "retry at:"));
    assert_null(strstr(out, "node fails:"));
    assert_null(strstr(out, "time limit:"));
    assert_null(strstr(out, "attempts:"));
    assert_non_null(strstr(out, "exit:       3\n"));
    free(out);
}

/* A job that exited by itself after mlq's SIGTERM shows both facts; one
 * that never started says so; the JSON outcome names each case. */
static void test_outcome_texts(void **state)
{
    (void)state;
    char *argv[] = {"true", "", ""};
    struct mlq_jobinfo j;
    char buf[128];
    fill_job(&j, argv);
    j.state = MLQ_JOB_TIMED_OUT;
    j.exit_code = 143;
    j.signal = 15;
    assert_string_equal(mlq_out_outcome(&j, buf, sizeof buf),
                        "timed out; exited 143 after SIGTERM");
    assert_string_equal(mlq_out_exit(&j, buf, sizeof buf), "143 after SIGTERM");
    assert_string_equal(mlq_jsonview_outcome(&j), "timed_out");
    j.exit_code = -1;
    j.signal = 9;
    assert_string_equal(mlq_out_outcome(&j, buf, sizeof buf), "timed out; killed by SIGKILL");
    j.state = MLQ_JOB_CANCELLED;
    j.exit_code = 0;
    j.signal = 15;
    assert_string_equal(mlq_out_outcome(&j, buf, sizeof buf), "cancelled; exited 0 after SIGTERM");
    assert_string_equal(mlq_jsonview_outcome(&j), "cancelled");
    j.state = MLQ_JOB_FAILED;
    j.exit_code = -1;
    j.signal = 0;
    j.reason = "could not start: train.py: command not found";
    assert_string_equal(mlq_out_exit(&j, buf, sizeof buf), "not started");
    assert_string_equal(mlq_jsonview_outcome(&j), "start_failed");
    j.reason = "lost on worker w1: gone";
    assert_string_equal(mlq_out_exit(&j, buf, sizeof buf), "-");
    assert_string_equal(mlq_jsonview_outcome(&j), "lost");
    j.state = MLQ_JOB_RUNNING;
    assert_null(mlq_jsonview_outcome(&j));
}

static void test_exit_code_map(void **state)
{
    (void)state;
    static const struct {
        int code, exit_code;
    } cases[] = {
        {0, 0},
        {MLQ_EINVAL, 6},
        {MLQ_ENOMEM, 1},
        {MLQ_EIO, 1},
        {MLQ_ENOTFOUND, 4},
        {MLQ_EAMBIG, 6},
        {MLQ_EPROTO, 1},
        {MLQ_EPERM, 5},
        {MLQ_EUNREACH, 3},
        {MLQ_EDB, 1},
        {MLQ_ESTATE, 1},
        {MLQ_ETOOBIG, 6},
        {MLQ_EUNAVAIL, 1},
        {MLQ_CLI_EUSAGE, 2},
        {MLQ_CLI_ETIMEOUT, 7},
        {MLQ_CLI_EFAILED, 1},
        {-999, 1},
    };
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
        if (mlq_cli_exit_code(cases[i].code) != cases[i].exit_code)
            fail_msg("code %d: expected exit %d, got %d", cases[i].code, cases[i].exit_code,
                     mlq_cli_exit_code(cases[i].code));
}

static void test_times(void **state)
{
    (void)state;
    char buf[64];
    assert_string_equal(mlq_out_time_iso(T0, buf, sizeof(buf)), "2024-05-01T12:00:03.250Z");
    assert_string_equal(mlq_out_time_iso(0, buf, sizeof(buf)), "");
    assert_string_equal(mlq_out_time_local(0, buf, sizeof(buf)), "-");
    assert_string_equal(mlq_out_time_local(T0, buf, sizeof(buf)), "2024-05-01 12:00:03 UTC");
    assert_string_equal(mlq_out_time_ago(T0 + 2500, T0, buf, sizeof(buf)), "2s ago");
    assert_string_equal(mlq_out_time_ago(T0 + 300000, T0, buf, sizeof(buf)), "5m ago");
    assert_string_equal(mlq_out_time_ago(T0 + 3 * 3600000LL, T0, buf, sizeof(buf)), "3h ago");
    assert_string_equal(mlq_out_time_ago(T0 + 3 * 86400000LL, T0, buf, sizeof(buf)), "3d ago");
    assert_string_equal(mlq_out_time_ago(T0 - 5000, T0, buf, sizeof(buf)), "0s ago");
    assert_string_equal(mlq_out_time_ago(T0, 0, buf, sizeof(buf)), "never");
}

static void test_exit_text(void **state)
{
    (void)state;
    char buf[32];
    struct mlq_jobinfo j = {.exit_code = -1, .signal = 0};
    assert_string_equal(mlq_out_exit(&j, buf, sizeof(buf)), "-");
    j.exit_code = 137;
    assert_string_equal(mlq_out_exit(&j, buf, sizeof(buf)), "137");
    j.exit_code = -1;
    j.signal = 9;
    assert_string_equal(mlq_out_exit(&j, buf, sizeof(buf)), "SIGKILL");
}

static void test_argv_quoting(void **state)
{
    (void)state;
    char buf[256];
    char *a[] = {"sh", "-c", "echo 'hi' $X", "", "a\tb", "p/q.py"};
    assert_string_equal(mlq_out_argv(a, 6, buf, sizeof(buf)),
                        "sh -c 'echo '\\''hi'\\'' $X' '' 'a?b' p/q.py");
    char small[12];
    char *b[] = {"averyveryverylongword"};
    mlq_out_argv(b, 1, small, sizeof(small));
    assert_true(strlen(small) < sizeof(small));
    assert_non_null(strstr(small, "..."));
}

static void test_table(void **state)
{
    (void)state;
    static const char *const headers[] = {"ID", "NAME", "STATE"};
    struct mlq_table *t = mlq_table_create(3, headers);
    assert_non_null(t);
    const char *cells[] = {"abc", "x", "RUNNING", "d", "longname\x1b", "PENDING"};
    for (int i = 0; i < 6; i++)
        assert_int_equal(mlq_table_add(t, cells[i], "\033[31m"), 0);
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_int_equal(mlq_table_print(t, f, false), 0);
    fclose(f);
    assert_string_equal(buf, "ID   NAME       STATE\n"
                             "abc  x          RUNNING\n"
                             "d    longname?  PENDING\n");
    free(buf);
    mlq_table_destroy(&t);
    assert_null(t);
    mlq_table_destroy(&t);
}

int main(void)
{
    /* Local times in a fixed zone, so lengths do not depend on the host. */
    setenv("TZ", "UTC", 1);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_job_json_fields),
        cmocka_unit_test(test_job_json_nulls),
        cmocka_unit_test(test_job_json_signal_and_bad_bytes),
        cmocka_unit_test(test_json_print_precision),
        cmocka_unit_test(test_worker_json),
        cmocka_unit_test(test_exit_code_map),
        cmocka_unit_test(test_outcome_texts),
        cmocka_unit_test(test_times),
        cmocka_unit_test(test_exit_text),
        cmocka_unit_test(test_argv_quoting),
        cmocka_unit_test(test_table),
        cmocka_unit_test(test_worker_json_draining),
        cmocka_unit_test(test_worker_json_unhealthy),
        cmocka_unit_test(test_worker_json_version),
        cmocka_unit_test(test_job_status_json),
        cmocka_unit_test(test_retries_used),
        cmocka_unit_test(test_jobview),
        cmocka_unit_test(test_time_zones),
        cmocka_unit_test(test_parse_since),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
