/* Unit tests for the placement commands of the CLI, without a network:
 * `mlq drain` / `mlq resume` parsing and their report line, `mlq why` in
 * human and JSON form, and `mlq workers` with pools, labels, drain reasons
 * and GPUs (table, detail lines, JSON). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "cmd_drain.h"
#include "cmd_why.h"
#include "cmd_workers.h"
#include "output.h"
#include "jsonview.h"

static const char JOB1[] = "1a2b3c4d-0000-4000-8000-000000000001";
static const char JOB2[] = "9f8e7d6c-0000-4000-8000-000000000002";

/* Runs fn with output going to a memory buffer; returns the text (free it). */
static char *capture(int (*fn)(FILE *, const void *), const void *arg, int *rc)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    *rc = fn(f, arg);
    fclose(f);
    return buf;
}

/* ---- drain / resume ---------------------------------------------------- */

static int drain_parse(bool drain, struct mlq_cli_drain_opts *o, struct mlq_err *err, ...)
{
    char *words[16];
    int n = 0;
    va_list ap;
    va_start(ap, err);
    words[n++] = drain ? "drain" : "resume";
    for (char *w; (w = va_arg(ap, char *)) != NULL && n < 15;)
        words[n++] = w;
    va_end(ap);
    words[n] = NULL;
    mlq_err_clear(err);
    return mlq_cli_drain_parse(n, words, drain, o, err);
}

static void test_drain_parse(void **state)
{
    (void)state;
    struct mlq_cli_drain_opts o;
    struct mlq_err err;
    assert_int_equal(drain_parse(true, &o, &err, "w1", "--reason", "bad fan", NULL), 0);
    assert_string_equal(o.worker, "w1");
    assert_string_equal(o.reason, "bad fan");
    assert_int_equal(drain_parse(true, &o, &err, "--reason", "x", "--timeout", "2s", "--scheduler",
                                 "tcp://127.0.0.1:9", "gpu-7", NULL),
                     0);
    assert_string_equal(o.worker, "gpu-7");
    assert_int_equal(o.timeout_ms, 2000);
    assert_string_equal(o.scheduler, "tcp://127.0.0.1:9");
    assert_int_equal(drain_parse(true, &o, &err, "w1", NULL), 0);
    assert_null(o.reason);
    assert_int_equal(drain_parse(false, &o, &err, "w1", NULL), 0);
    assert_string_equal(o.worker, "w1");
    assert_int_equal(drain_parse(false, &o, &err, "--help", NULL), 0);
    assert_true(o.help);

    char reason[MLQ_MAX_REASON + 2];
    memset(reason, 'r', sizeof(reason) - 1);
    reason[sizeof(reason) - 1] = '\0';
    assert_int_equal(drain_parse(true, &o, &err, "w1", "--reason", reason, NULL), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "longer than 255"));
    reason[MLQ_MAX_REASON] = '\0';
    assert_int_equal(drain_parse(true, &o, &err, "w1", "--reason", reason, NULL), 0);
    assert_int_equal(drain_parse(true, &o, &err, "w1", "--reason", "a\nb", NULL), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "control characters"));
    assert_int_equal(drain_parse(true, &o, &err, "w1", "--reason", "\x1b[2J", NULL), MLQ_EINVAL);
    assert_int_equal(drain_parse(true, &o, &err, "", NULL), MLQ_EINVAL);
    char name[MLQ_MAX_NAME + 2];
    memset(name, 'n', sizeof(name) - 1);
    name[sizeof(name) - 1] = '\0';
    assert_int_equal(drain_parse(true, &o, &err, name, NULL), MLQ_EINVAL);

    assert_int_equal(drain_parse(true, &o, &err, NULL), MLQ_CLI_EUSAGE);
    assert_non_null(strstr(err.msg, "exactly one WORKER"));
    assert_int_equal(drain_parse(true, &o, &err, "w1", "w2", NULL), MLQ_CLI_EUSAGE);
    assert_int_equal(drain_parse(true, &o, &err, "w1", "--reason", NULL), MLQ_CLI_EUSAGE);
    assert_int_equal(drain_parse(true, &o, &err, "w1", "--bogus", NULL), MLQ_CLI_EUSAGE);
    assert_int_equal(drain_parse(false, &o, &err, "w1", "--reason", "x", NULL), MLQ_CLI_EUSAGE);
    assert_non_null(strstr(err.msg, "--reason"));
}

static int report_drain(FILE *f, const void *w)
{
    return mlq_cli_drain_report(f, w, true);
}

static int report_resume(FILE *f, const void *w)
{
    return mlq_cli_drain_report(f, w, false);
}

static void test_drain_report(void **state)
{
    (void)state;
    int rc;
    struct mlq_workerinfo w = {.name = "w1",
                               .state = "UP",
                               .draining = true,
                               .drain_reason = "bad fan\x1b[2J",
                               .running = 2};
    char *out = capture(report_drain, &w, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "w1: drained (bad fan?[2J), 2 jobs still running\n");
    free(out);
    w.running = 1;
    w.drain_reason = "drained"; /* what the scheduler says when no reason was given */
    out = capture(report_drain, &w, &rc);
    assert_string_equal(out, "w1: drained, 1 job still running\n");
    free(out);
    w.running = 0;
    out = capture(report_drain, &w, &rc);
    assert_string_equal(out, "w1: drained, no jobs running\n");
    free(out);
    w = (struct mlq_workerinfo){.name = "w1", .state = "UP"};
    out = capture(report_resume, &w, &rc);
    assert_string_equal(out, "w1: resumed, takes new jobs\n");
    free(out);
    w.draining = true; /* the worker itself is leaving (--drain-and-exit) */
    out = capture(report_resume, &w, &rc);
    assert_string_equal(out, "w1: resumed, takes new jobs once it stops draining itself\n");
    free(out);
}

/* ---- why --------------------------------------------------------------- */

static void fill_why(struct mlq_msg *m)
{
    memset(m, 0, sizeof(*m));
    m->type = MLQ_MSG_WHY_REPLY;
    strcpy(m->u.why_reply.job_id, JOB1);
    m->u.why_reply.state = MLQ_JOB_PENDING;
    m->u.why_reply.blocker = "gpu_type";
    m->u.why_reply.text = "no worker has 2 free GPUs of type h100";
    m->u.why_reply.closest_worker = "w2";
    m->u.why_reply.lacks = "GPU type h100 (has fake)";
    m->u.why_reply.ahead = 3;
}

static int why_print(FILE *f, const void *m)
{
    return mlq_cli_why_print(f, m);
}

static void test_why_human(void **state)
{
    (void)state;
    struct mlq_msg m;
    int rc;
    fill_why(&m);
    char *out = capture(why_print, &m, &rc);
    assert_int_equal(rc, 0);
    assert_string_equal(out, "1a2b3c4d PENDING: no worker has 2 free GPUs of type h100\n"
                             "closest worker: w2 (lacks: GPU type h100 (has fake))\n"
                             "ahead: 3 jobs\n");
    free(out);
    m.u.why_reply.lacks = NULL;
    m.u.why_reply.ahead = 1;
    m.u.why_reply.text = "waits\nfor\x1b[2J";
    out = capture(why_print, &m, &rc);
    assert_string_equal(out, "1a2b3c4d PENDING: waits?for?[2J\n"
                             "closest worker: w2\n"
                             "ahead: 1 job\n");
    free(out);
    m.u.why_reply.closest_worker = NULL;
    m.u.why_reply.state = MLQ_JOB_RUNNING;
    m.u.why_reply.blocker = "none";
    m.u.why_reply.text = "it is RUNNING on w1";
    out = capture(why_print, &m, &rc);
    assert_string_equal(out, "1a2b3c4d RUNNING: it is RUNNING on w1\n");
    free(out);
}

static void test_why_json(void **state)
{
    (void)state;
    struct mlq_msg m;
    fill_why(&m);
    json_t *o = mlq_cli_why_json(&m);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "job_id")), JOB1);
    assert_string_equal(json_string_value(json_object_get(o, "state")), "PENDING");
    assert_string_equal(json_string_value(json_object_get(o, "blocker")), "gpu_type");
    assert_string_equal(json_string_value(json_object_get(o, "text")),
                        "no worker has 2 free GPUs of type h100");
    assert_string_equal(json_string_value(json_object_get(o, "closest_worker")), "w2");
    assert_string_equal(json_string_value(json_object_get(o, "lacks")), "GPU type h100 (has fake)");
    assert_int_equal(json_integer_value(json_object_get(o, "ahead")), 3);
    json_decref(o);
    m.u.why_reply.closest_worker = NULL;
    m.u.why_reply.lacks = NULL;
    m.u.why_reply.text = "bad \xff byte"; /* not UTF-8: still a JSON string */
    o = mlq_cli_why_json(&m);
    assert_true(json_is_null(json_object_get(o, "closest_worker")));
    assert_true(json_is_null(json_object_get(o, "lacks")));
    assert_string_equal(json_string_value(json_object_get(o, "text")), "bad ? byte");
    json_decref(o);
}

/* ---- workers ----------------------------------------------------------- */

static char *k_labels[] = {"zone=eu", "ib=hdr"};
static struct mlq_gpuinfo k_gpus[2];
static struct mlq_workerinfo k_workers[2];

static void fill_workers(void)
{
    memset(k_gpus, 0, sizeof(k_gpus));
    k_gpus[0] = (struct mlq_gpuinfo){.index = 0,
                                     .uuid = "GPU-aaaa",
                                     .model = "NVIDIA H100 80GB HBM3",
                                     .type = "h100",
                                     .mem = 80LL << 30,
                                     .job_id = (char *)JOB2};
    k_gpus[1] = (struct mlq_gpuinfo){.index = 1, .type = "h100"};
    memset(k_workers, 0, sizeof(k_workers));
    k_workers[0] = (struct mlq_workerinfo){.name = "w1",
                                           .state = "UP",
                                           .cpus_m = 4000,
                                           .mem = 8LL << 30,
                                           .gpus = 2,
                                           .gpus_used = 1,
                                           .running = 1,
                                           .pool = "a100",
                                           .labels = k_labels,
                                           .nlabels = 2,
                                           .gpu_list = k_gpus,
                                           .ngpu_list = 2,
                                           .addr = "10.0.0.11",
                                           .version = "0.1.0",
                                           .git = "be07618"};
    k_workers[1] = (struct mlq_workerinfo){.name = "w2",
                                           .state = "UP",
                                           .cpus_m = 1000,
                                           .mem = 1LL << 30,
                                           .draining = true,
                                           .drain_reason = "bad fan"};
}

static int workers_plain(FILE *f, const void *arg)
{
    (void)arg;
    return mlq_cli_workers_print(f, k_workers, 2, false, false);
}

static int workers_gpus(FILE *f, const void *arg)
{
    (void)arg;
    return mlq_cli_workers_print(f, k_workers, 2, false, true);
}

static void test_workers_table(void **state)
{
    (void)state;
    int rc;
    fill_workers();
    char *out = capture(workers_plain, NULL, &rc);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, "POOL"));
    assert_non_null(strstr(out, "LABELS"));
    assert_non_null(strstr(out, "a100"));
    assert_non_null(strstr(out, "zone=eu,ib=hdr"));
    assert_non_null(strstr(out, "UP (drained)"));
    assert_non_null(strstr(out, "default")); /* w2 did not say: the default pool */
    assert_non_null(strstr(out, "1/2"));     /* GPUs used/total */
    assert_non_null(strstr(out, "\nw2 drained: bad fan\n"));
    assert_null(strstr(out, "gpu0")); /* GPU lines only with --gpus */
    /* the address each worker advertised; "-" for one that sent none */
    assert_true(strncmp(out, "NAME  STATE         ADDRESS    POOL", 35) == 0);
    assert_non_null(strstr(out, "\nw1    UP            10.0.0.11  a100 "));
    assert_non_null(strstr(out, "\nw2    UP (drained)  -          default "));
    assert_non_null(strstr(out, "VERSION"));
    assert_non_null(strstr(out, "0.1.0+be07618")); /* w2 did not say: "-" */
    free(out);
    out = capture(workers_gpus, NULL, &rc);
    assert_non_null(strstr(out, "\nw1 gpu0 h100 GPU-aaaa job 9f8e7d6c\n"));
    assert_non_null(strstr(out, "\nw1 gpu1 h100 - free\n"));
    free(out);
    /* With NVML readings: utilisation and memory; IDLE once held at 0% for
     * 10 minutes; a free GPU at 0% is never idle. */
    k_gpus[0].util_known = k_gpus[1].util_known = true;
    k_gpus[0].mem_used = 3LL << 30;
    k_gpus[0].idle_ms = 9 * 60 * 1000;
    out = capture(workers_gpus, NULL, &rc);
    assert_non_null(strstr(out, "\nw1 gpu0 h100 GPU-aaaa job 9f8e7d6c util 0% mem 3G\n"));
    assert_non_null(strstr(out, "\nw1 gpu1 h100 - free util 0% mem 0\n"));
    free(out);
    k_gpus[0].idle_ms = 125 * 60 * 1000;
    k_gpus[1].idle_ms = 125 * 60 * 1000; /* cannot happen for a free GPU; not shown */
    out = capture(workers_gpus, NULL, &rc);
    assert_non_null(strstr(out, "job 9f8e7d6c util 0% mem 3G IDLE 2h05m\n"));
    assert_non_null(strstr(out, "\nw1 gpu1 h100 - free util 0% mem 0\n"));
    free(out);
    k_gpus[0].util_known = k_gpus[1].util_known = false;
    k_workers[1].drain_reason = NULL; /* draining by itself */
    out = capture(workers_plain, NULL, &rc);
    assert_non_null(strstr(out, "UP (draining)"));
    assert_null(strstr(out, "drained"));
    free(out);
    k_workers[1].draining = false; /* refused too often */
    k_workers[1].unhealthy = true;
    k_workers[1].health = "refused 3 assignments in a row (last: spool full)";
    out = capture(workers_plain, NULL, &rc);
    assert_non_null(strstr(out, "UP (unhealthy)"));
    assert_non_null(
        strstr(out, "\nw2 unhealthy: refused 3 assignments in a row (last: spool full)\n"));
    free(out);
}

static void test_workers_json(void **state)
{
    (void)state;
    fill_workers();
    json_t *o = mlq_jsonview_worker(&k_workers[0]);
    assert_non_null(o);
    assert_string_equal(json_string_value(json_object_get(o, "pool")), "a100");
    json_t *labels = json_object_get(o, "labels");
    assert_int_equal(json_array_size(labels), 2);
    assert_string_equal(json_string_value(json_array_get(labels, 1)), "ib=hdr");
    assert_true(json_is_null(json_object_get(o, "drain_reason")));
    assert_string_equal(json_string_value(json_object_get(o, "addr")), "10.0.0.11");
    assert_int_equal(json_integer_value(json_object_get(o, "gpus")), 2); /* still the count */
    json_t *gl = json_object_get(o, "gpu_list");
    assert_int_equal(json_array_size(gl), 2);
    json_t *g0 = json_array_get(gl, 0);
    assert_int_equal(json_integer_value(json_object_get(g0, "index")), 0);
    assert_string_equal(json_string_value(json_object_get(g0, "uuid")), "GPU-aaaa");
    assert_string_equal(json_string_value(json_object_get(g0, "model")), "NVIDIA H100 80GB HBM3");
    assert_string_equal(json_string_value(json_object_get(g0, "type")), "h100");
    assert_int_equal(json_integer_value(json_object_get(g0, "mem")), 80LL << 30);
    assert_string_equal(json_string_value(json_object_get(g0, "job_id")), JOB2);
    json_t *g1 = json_array_get(gl, 1);
    assert_true(json_is_null(json_object_get(g1, "uuid")));
    assert_true(json_is_null(json_object_get(g1, "job_id")));
    assert_true(json_is_null(json_object_get(g1, "util"))); /* no NVML: unknown, not 0 */
    assert_true(json_is_null(json_object_get(g1, "mem_used")));
    assert_int_equal(json_integer_value(json_object_get(g1, "idle_seconds")), 0);
    json_decref(o);
    k_gpus[0].util_known = true;
    k_gpus[0].util = 0;
    k_gpus[0].mem_used = 5;
    k_gpus[0].idle_ms = 7200999;
    o = mlq_jsonview_gpu(&k_gpus[0]);
    assert_true(json_is_integer(json_object_get(o, "util")));
    assert_int_equal(json_integer_value(json_object_get(o, "util")), 0);
    assert_int_equal(json_integer_value(json_object_get(o, "mem_used")), 5);
    assert_int_equal(json_integer_value(json_object_get(o, "idle_seconds")), 7200);
    json_decref(o);
    k_gpus[0].util_known = false;

    o = mlq_jsonview_worker(&k_workers[1]);
    assert_string_equal(json_string_value(json_object_get(o, "pool")), "default");
    assert_string_equal(json_string_value(json_object_get(o, "drain_reason")), "bad fan");
    assert_int_equal(json_array_size(json_object_get(o, "labels")), 0);
    assert_int_equal(json_array_size(json_object_get(o, "gpu_list")), 0);
    assert_true(json_is_null(json_object_get(o, "addr"))); /* sent none: null, not missing */
    json_decref(o);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_drain_parse),   cmocka_unit_test(test_drain_report),
        cmocka_unit_test(test_why_human),     cmocka_unit_test(test_why_json),
        cmocka_unit_test(test_workers_table), cmocka_unit_test(test_workers_json),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
