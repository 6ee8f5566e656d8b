/* cmd_workers: `mlq workers [--json]`: every worker the scheduler knows, its
 * state, what it has and what is in use, and when it was last heard from. */
#include "cmd_workers.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "output.h"
#include "res.h"

static const char workers_usage[] =
    "usage: mlq workers [--json]\n\n"
    "Lists the workers and their resources (used/total). A worker that is\n"
    "draining (mlq-worker --drain-and-exit) shows as \"UP (draining)\": it finishes\n"
    "its jobs but takes no new ones.\n"
    "  --json            {\"workers\": [...]}\n"
    "  --scheduler ADDR  scheduler address\n"
    "  --timeout DUR     how long to wait for the scheduler's answer (default 10s)\n";

static const struct option workers_longopts[] = {
    MLQ_CLI_COMMON_LONGOPTS,
    MLQ_CLI_TIMEOUT_LONGOPT,
    {"json", no_argument, NULL, MLQ_CLI_OPT_JSON},
    {NULL, 0, NULL, 0},
};

/* Returns -1 to go on, else the exit code. */
static int workers_parse(struct mlq_cli *cli, int argc, char **argv, bool *json)
{
    struct mlq_err err = {0};
    int c, rc = 0;
    *json = false;
    optind = 0;
    opterr = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, ":h", workers_longopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(workers_usage, stdout);
            return MLQ_EXIT_OK;
        } else if (c == MLQ_CLI_OPT_JSON) {
            *json = true;
        } else if (c == MLQ_CLI_OPT_SCHEDULER) {
            cli->scheduler_opt = optarg;
        } else if (c == MLQ_CLI_OPT_TIMEOUT) {
            rc = mlq_cli_parse_timeout(optarg, &cli->timeout_ms, &err);
        } else {
            rc = mlq_cli_getopt_error("workers", c, argc, argv, &err);
        }
    }
    if (rc == 0 && optind < argc)
        rc =
            mlq_err_set(&err, MLQ_CLI_EUSAGE, "workers: unexpected argument '%.40s'", argv[optind]);
    if (rc < 0) {
        fprintf(stderr, "mlq: %s (see `mlq workers --help`)\n", err.msg);
        return MLQ_EXIT_USAGE;
    }
    return -1;
}

static int print_workers_json(const struct mlq_workerinfo *w, uint32_t n)
{
    json_t *arr = json_array();
    for (uint32_t i = 0; arr && i < n; i++)
        if (json_array_append_new(arr, mlq_out_worker_json(&w[i])) < 0) {
            json_decref(arr);
            arr = NULL;
        }
    json_t *doc = arr ? json_pack("{s:o}", "workers", arr) : NULL;
    int rc = doc ? mlq_out_json_print(stdout, doc) : MLQ_ENOMEM;
    json_decref(doc);
    return rc < 0 ? mlq_out_fail(rc, NULL) : MLQ_EXIT_OK;
}

/* w2 before w10: names sorted the way people number them. */
static int by_name(const void *a, const void *b)
{
    const struct mlq_workerinfo *x = a, *y = b;
    return strverscmp(x->name ? x->name : "", y->name ? y->name : "");
}

static const char *worker_colour(const struct mlq_workerinfo *w)
{
    if (!w->state)
        return NULL;
    if (strcmp(w->state, "UP") != 0)
        return "\033[31m";
    return w->draining ? "\033[33m" : "\033[32m";
}

/* "UP", "LOST", or "UP (draining)" for a worker that takes no new jobs. */
static const char *worker_state_text(const struct mlq_workerinfo *w, char *buf, size_t len)
{
    if (!w->draining)
        return w->state;
    snprintf(buf, len, "%.*s (draining)", MLQ_MAX_NAME, w->state ? w->state : "-");
    return buf;
}

static int add_worker_row(struct mlq_table *t, const struct mlq_workerinfo *w, int64_t now)
{
    char cpus[64], a[32], b[32], mem[64], gpus[32], running[16], seen[32];
    char state[MLQ_MAX_NAME + 16];
    snprintf(cpus, sizeof(cpus), "%s/%s", mlq_res_fmt_cpus(w->cpus_used_m, a, sizeof(a)),
             mlq_res_fmt_cpus(w->cpus_m, b, sizeof(b)));
    snprintf(mem, sizeof(mem), "%s/%s", mlq_res_fmt_mem(w->mem_used, a, sizeof(a)),
             mlq_res_fmt_mem(w->mem, b, sizeof(b)));
    snprintf(gpus, sizeof(gpus), "%d/%d", (int)w->gpus_used, (int)w->gpus);
    snprintf(running, sizeof(running), "%d", (int)w->running);
    const char *cells[] = {
        w->name,
        worker_state_text(w, state, sizeof(state)),
        cpus,
        mem,
        gpus,
        running,
        mlq_out_time_ago(now, w->last_seen_ms, seen, sizeof(seen)),
    };
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof(cells) / sizeof(cells[0]); i++)
        rc = mlq_table_add(t, cells[i], i == 1 ? worker_colour(w) : NULL);
    return rc;
}

static int print_workers_table(const struct mlq_workerinfo *w, uint32_t n, bool colour)
{
    static const char *const headers[] = {"NAME", "STATE",   "CPUS",          "MEM",
                                          "GPUS", "RUNNING", "LAST-HEARTBEAT"};
    struct mlq_table *t = mlq_table_create(7, headers);
    int rc = t ? 0 : MLQ_ENOMEM;
    int64_t now = mlq_clock_wall_ms();
    for (uint32_t i = 0; rc == 0 && i < n; i++)
        rc = add_worker_row(t, &w[i], now);
    if (rc == 0)
        rc = mlq_table_print(t, stdout, colour);
    mlq_table_destroy(&t);
    return rc < 0 ? mlq_out_fail(rc, NULL) : MLQ_EXIT_OK;
}

int mlq_cmd_workers(struct mlq_cli *cli, int argc, char **argv)
{
    bool json;
    int rc = workers_parse(cli, argc, argv, &json);
    if (rc >= 0)
        return rc;
    struct mlq_err err = {0};
    struct mlq_msg req = {.type = MLQ_MSG_WORKERS}, reply;
    if ((rc = mlq_cli_request(cli, &req, MLQ_MSG_WORKER_LIST, &reply, &err)) < 0)
        return mlq_out_fail(rc, &err);
    struct mlq_workerinfo *w = reply.u.worker_list.workers;
    uint32_t n = reply.u.worker_list.nworkers;
    if (n > 1)
        qsort(w, n, sizeof(*w), by_name);
    rc = json ? print_workers_json(w, n) : print_workers_table(w, n, cli->stdout_tty);
    mlq_proto_msg_free(&reply);
    return rc;
}
