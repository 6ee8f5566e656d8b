/* Unit tests for the CLI's side of gang jobs (no network): `mlq submit
 * --nodes` (range, exit 6 messages, refused with --array), the `mlq status`
 * page of a gang (nodes line, one row per node part with rank, worker,
 * address, state and exit) and of an ordinary job (neither), the NODES
 * column of `mlq list` (only when a gang of several nodes is listed), the
 * parts in `mlq status --json`, and `mlq logs` refusing --node with --all
 * or out of range before anything is sent. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "client.h"
#include "cmd_jobs.h"
#include "cmd_logs.h"
#include "cmd_submit.h"
#include "jobview.h"
#include "jsonview.h"

#define T0 1714564803250LL

static int parse(struct mlq_jobspec *spec, struct mlq_err *err, ...)
{
    char *words[32];
    int n = 0;
    va_list ap;
    va_start(ap, err);
    words[n++] = "submit";
    for (char *w; (w = va_arg(ap, char *)) != NULL && n < 31;)
        words[n++] = w;
    va_end(ap);
    words[n] = NULL;
    struct mlq_cli_submit_opts opts;
    mlq_err_clear(err);
    return mlq_cli_submit_parse(n, words, spec, &opts, err);
}

static void test_submit_nodes(void **state)
{
    (void)state;
    struct mlq_jobspec spec;
    struct mlq_err err;
    assert_int_equal(parse(&spec, &err, "--", "true", NULL), 0);
    assert_int_equal(spec.nodes, 0); /* not a gang unless asked */
    mlq_proto_jobspec_free(&spec);
    static const char *const good[] = {"1", "4", "256"};
    static const uint32_t want[] = {1, 4, 256};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(parse(&spec, &err, "--nodes", good[i], "--gpus", "8", "--", "train", NULL),
                         0);
        assert_int_equal(spec.nodes, want[i]);
        assert_int_equal(spec.gpus, 8); /* per node */
        mlq_proto_jobspec_free(&spec);
    }
}

static void test_submit_nodes_out_of_range(void **state)
{
    (void)state;
    struct mlq_jobspec spec;
    struct mlq_err err;
    static const char *const bad[] = {"0", "257", "-1", "abc", "4x", "", "99999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(parse(&spec, &err, "--nodes", bad[i], "--", "true", NULL), MLQ_EINVAL);
        assert_string_equal(err.msg, "--nodes: expected 1 to 256");
    }
    assert_int_equal(mlq_cli_exit_code(MLQ_EINVAL), 6);
}

static void test_submit_nodes_with_array(void **state)
{
    (void)state;
    struct mlq_jobspec spec;
    struct mlq_err err;
    assert_int_equal(parse(&spec, &err, "--nodes", "2", "--array", "0-3", "--", "x", NULL),
                     MLQ_EINVAL);
    assert_string_equal(err.msg, "--nodes cannot be combined with --array");
    assert_int_equal(parse(&spec, &err, "--array", "0-3", "--nodes", "1", "--", "x", NULL),
                     MLQ_EINVAL);
    assert_string_equal(err.msg, "--nodes cannot be combined with --array");
}

static struct mlq_partinfo parts[] = {
    {.rank = 0,
     .worker = "w1",
     .addr = "10.0.0.1",
     .state = MLQ_ATT_FAILED,
     .gpu_ids = "0,1",
     .start_ms = T0,
     .end_ms = T0 + 5000,
     .exit_code = 1,
     .signal = 0,
     .detail = "exited 1"},
    {.rank = 1,
     .worker = "w3",
     .addr = "10.0.0.3",
     .state = MLQ_ATT_CANCELLED,
     .gpu_ids = "2,3",
     .start_ms = T0,
     .end_ms = T0 + 6000,
     .exit_code = -1,
     .signal = 15},
    {.rank = 2, .worker = "w2", .addr = NULL, .state = MLQ_ATT_ASSIGNED, .exit_code = -1},
};

static void fill_job(struct mlq_jobinfo *j, char **argv, int32_t nodes)
{
    memset(j, 0, sizeof(*j));
    strcpy(j->id, "0f1e2d3c-4b5a-4978-8695-a4b3c2d1e0f9");
    j->name = "train";
    j->owner = "alice";
    j->state = MLQ_JOB_RUNNING;
    j->argv = argv;
    j->argc = 1;
    j->workdir = "/home/alice";
    j->cpus_m = 1000;
    j->mem = 1LL << 30;
    j->gpus = 2;
    j->submit_ms = T0;
    j->attempt = 1;
    j->attempt_id = "11111111-2222-4333-8444-555555555555";
    j->worker = "w1";
    j->exit_code = -1;
    j->array_index = -1;
    j->nodes = nodes;
    if (nodes > 0) {
        j->parts = parts;
        j->nparts = 3;
    }
}

static char *render_page(const struct mlq_jobinfo *j)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(mlq_jobview_print(f, j, false, T0 + 10000), 0);
    fclose(f);
    return buf;
}

/* The line of out that starts with prefix (after spaces), NULL if none. */
static const char *line_starting(const char *out, const char *prefix)
{
    for (const char *p = out; p && *p; p = strchr(p, '\n') ? strchr(p, '\n') + 1 : NULL)
        if (strncmp(p, prefix, strlen(prefix)) == 0)
            return p;
    return NULL;
}

static void test_status_page_gang(void **state)
{
    (void)state;
    char *argv[] = {"train.py"};
    struct mlq_jobinfo j;
    fill_job(&j, argv, 3);
    char *out = render_page(&j);
    assert_non_null(line_starting(out, "nodes:      3"));
    const char *hdr = line_starting(out, "RANK");
    assert_non_null(hdr);
    char c[9][32];
    assert_int_equal(sscanf(hdr, "%31s %31s %31s %31s %31s", c[0], c[1], c[2], c[3], c[4]), 5);
    assert_string_equal(c[1], "WORKER");
    assert_string_equal(c[2], "ADDRESS");
    assert_string_equal(c[3], "STATE");
    /* rank, worker, address, state, gpus, then dates and the exit */
    static const char *const rows[][5] = {
        {"0", "w1", "10.0.0.1", "FAILED", "0,1"},
        {"1", "w3", "10.0.0.3", "CANCELLED", "2,3"},
        {"2", "w2", "-", "ASSIGNED", "-"},
    };
    const char *row = strchr(hdr, '\n') + 1;
    for (int r = 0; r < 3; r++) {
        assert_int_equal(sscanf(row, "%31s %31s %31s %31s %31s", c[0], c[1], c[2], c[3], c[4]), 5);
        for (int k = 0; k < 5; k++)
            assert_string_equal(c[k], rows[r][k]);
        row = strchr(row, '\n') + 1;
    }
    assert_non_null(strstr(line_starting(out, "0 "), "exited 1"));
    assert_non_null(strstr(line_starting(out, "1 "), "SIGTERM"));
    free(out);
}

static void test_status_page_plain(void **state)
{
    (void)state;
    char *argv[] = {"train.py"};
    struct mlq_jobinfo j;
    fill_job(&j, argv, 0);
    char *out = render_page(&j);
    assert_null(line_starting(out, "nodes:"));
    assert_null(strstr(out, "RANK"));
    free(out);
}

static char *render_list(const struct mlq_jobinfo *jobs, uint32_t n)
{
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    assert_non_null(f);
    assert_int_equal(mlq_cmd_list_print(f, jobs, n, false), 0);
    fclose(f);
    return buf;
}

static void test_list_nodes_column(void **state)
{
    (void)state;
    char *argv[] = {"train.py"};
    struct mlq_jobinfo jobs[2];
    fill_job(&jobs[0], argv, 4);
    fill_job(&jobs[1], argv, 0);
    strcpy(jobs[1].id, "aaaaaaaa-4b5a-4978-8695-a4b3c2d1e0f9");
    char *out = render_list(jobs, 2), c[6][32];
    assert_int_equal(
        sscanf(out, "%31s %31s %31s %31s %31s %31s", c[0], c[1], c[2], c[3], c[4], c[5]), 6);
    assert_string_equal(c[3], "WORKER");
    assert_string_equal(c[4], "NODES");
    assert_string_equal(c[5], "CPUS");
    const char *gang = line_starting(out, "0f1e2d3c"), *plain = line_starting(out, "aaaaaaaa");
    assert_non_null(gang);
    assert_non_null(plain);
    assert_int_equal(sscanf(gang, "%31s %31s %31s %31s %31s", c[0], c[1], c[2], c[3], c[4]), 5);
    assert_string_equal(c[4], "4");
    assert_int_equal(sscanf(plain, "%31s %31s %31s %31s %31s", c[0], c[1], c[2], c[3], c[4]), 5);
    assert_string_equal(c[4], "-");
    free(out);
    /* Ordinary jobs only (a gang of one counts as one node): no column. */
    jobs[0].nodes = 1;
    out = render_list(jobs, 2);
    assert_null(strstr(out, "NODES"));
    assert_int_equal(sscanf(out, "%31s %31s %31s %31s %31s", c[0], c[1], c[2], c[3], c[4]), 5);
    assert_string_equal(c[4], "CPUS");
    free(out);
}

static void test_status_json_parts(void **state)
{
    (void)state;
    char *argv[] = {"train.py"};
    struct mlq_jobinfo j;
    fill_job(&j, argv, 3);
    json_t *o = mlq_jsonview_job_status(&j);
    assert_non_null(o);
    assert_int_equal(json_integer_value(json_object_get(o, "nodes")), 3);
    json_t *p = json_object_get(o, "parts");
    assert_int_equal(json_array_size(p), 3);
    json_t *p0 = json_array_get(p, 0), *p2 = json_array_get(p, 2);
    assert_int_equal(json_integer_value(json_object_get(p0, "rank")), 0);
    assert_string_equal(json_string_value(json_object_get(p0, "worker")), "w1");
    assert_string_equal(json_string_value(json_object_get(p0, "addr")), "10.0.0.1");
    assert_string_equal(json_string_value(json_object_get(p0, "state")), "FAILED");
    assert_int_equal(json_integer_value(json_object_get(p0, "exit_code")), 1);
    assert_true(json_is_null(json_object_get(p2, "addr")));
    assert_true(json_is_null(json_object_get(p2, "exit_code")));
    json_decref(o);
}

static int logs(const char *a, const char *b, const char *c, const char *d)
{
    char *argv[] = {"logs", (char *)a, (char *)b, (char *)c, (char *)d, NULL};
    int argc = 1;
    while (argv[argc])
        argc++;
    struct mlq_cli cli;
    mlq_cli_init(&cli);
    cli.scheduler_opt = "tcp://127.0.0.1:1"; /* never reached */
    int rc = mlq_cmd_logs(&cli, argc, argv);
    mlq_cli_fini(&cli);
    return rc;
}

static void test_logs_node_options(void **state)
{
    (void)state;
    assert_int_equal(logs("--node", "1", "--all", "0f1e2d3c"), 2);
    assert_int_equal(logs("--all", "--node", "0", "0f1e2d3c"), 2);
    assert_int_equal(logs("--node", "256", "0f1e2d3c", NULL), 2);
    assert_int_equal(logs("--node", "-1", "0f1e2d3c", NULL), 2);
    assert_int_equal(logs("--node", "x", "0f1e2d3c", NULL), 2);
    assert_int_equal(logs("--help", NULL, NULL, NULL), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_submit_nodes),
        cmocka_unit_test(test_submit_nodes_out_of_range),
        cmocka_unit_test(test_submit_nodes_with_array),
        cmocka_unit_test(test_status_page_gang),
        cmocka_unit_test(test_status_page_plain),
        cmocka_unit_test(test_list_nodes_column),
        cmocka_unit_test(test_status_json_parts),
        cmocka_unit_test(test_logs_node_options),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
