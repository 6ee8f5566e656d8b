/* cmd_workerset: see cmd_workerset.h. Values are checked here as the
 * scheduler will check them, so that a typo fails (exit 6, naming the
 * option) before anything is sent; what only the scheduler knows (what
 * the worker reports) it checks itself. */
#include "cmd_workerset.h"

#include <ctype.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_workers.h"
#include "jsonview.h"
#include "output.h"
#include "res.h"

static const char set_usage[] =
    "usage: mlq admin worker set NAME [--pool P] [--label K=V ...] [--clear-labels]\n"
    "                                 [--cpus N] [--mem SIZE] [--gpus N|TYPE:N] [--reset]\n\n"
    "Changes what a worker offers, at once and without restarting anything (admins\n"
    "only). What is set wins over what the worker reports, also after it or the\n"
    "scheduler restarts, until --reset; `mlq workers` shows both. Running jobs keep\n"
    "running: a limit below what they use takes effect as they end.\n"
    "  --pool P          put the worker in pool P\n"
    "  --label K=V       set label K (replacing the worker's own K); repeatable\n"
    "  --clear-labels    drop the worker's own labels (and any set before)\n"
    "  --cpus N          offer N CPUs (at most what the worker reports)\n"
    "  --mem SIZE        offer SIZE of memory (512M, 4G; at most what it reports)\n"
    "  --gpus N          offer N of its GPUs; TYPE:N caps only its GPUs of TYPE\n"
    "  --reset           drop everything set before, back to what the worker reports\n"
    "                    (with other options: those are set afresh)\n"
    "  --json            print the worker as `mlq workers --json` does\n"
    "  --scheduler ADDR  scheduler address\n"
    "  --timeout DUR     how long to wait for the scheduler's answer (default 10s)\n";

enum {
    OPT_POOL = MLQ_CLI_OPT_FIRST_FREE,
    OPT_LABEL,
    OPT_CLEAR,
    OPT_CPUS,
    OPT_MEM,
    OPT_GPUS,
    OPT_RESET,
};

static const struct option set_longopts[] = {
    MLQ_CLI_COMMON_LONGOPTS,
    MLQ_CLI_TIMEOUT_LONGOPT,
    {"json", no_argument, NULL, MLQ_CLI_OPT_JSON},
    {"pool", required_argument, NULL, OPT_POOL},
    {"label", required_argument, NULL, OPT_LABEL},
    {"clear-labels", no_argument, NULL, OPT_CLEAR},
    {"cpus", required_argument, NULL, OPT_CPUS},
    {"mem", required_argument, NULL, OPT_MEM},
    {"gpus", required_argument, NULL, OPT_GPUS},
    {"reset", no_argument, NULL, OPT_RESET},
    {NULL, 0, NULL, 0},
};

struct set_opts {
    bool json, any;
    char *labels[MLQ_MAX_LABELS];
    char gpu_type[MLQ_MAX_GPU_TYPE + 1];
};

/* A bad value: exit 6, the option named. */
static int bad(struct mlq_err *err, const char *opt, const char *arg, const char *why)
{
    return mlq_err_set(err, MLQ_EINVAL, "admin worker set: bad %s '%.40s': %s", opt, arg, why);
}

/* N or TYPE:N (TYPE lowercased). */
static int parse_gpus(const char *arg, struct mlq_msg *req, struct set_opts *o, struct mlq_err *err)
{
    struct mlq_err e = {0};
    const char *colon = strchr(arg, ':');
    const char *count = colon ? colon + 1 : arg;
    if (colon) {
        size_t n = (size_t)(colon - arg);
        if (n == 0 || n > MLQ_MAX_GPU_TYPE)
            return bad(err, "--gpus", arg, "expected N or TYPE:N");
        for (size_t i = 0; i < n; i++)
            o->gpu_type[i] = (char)tolower((unsigned char)arg[i]);
        o->gpu_type[n] = '\0';
        if (mlq_proto_gpu_type_check(o->gpu_type, &e) < 0)
            return bad(err, "--gpus", arg, e.msg);
        req->u.worker_set.gpu_type = o->gpu_type;
    }
    if (mlq_res_parse_gpus(count, &req->u.worker_set.gpus, &e) < 0)
        return bad(err, "--gpus", arg, e.msg);
    return 0;
}

static int set_value(int c, const char *arg, struct mlq_msg *req, struct set_opts *o,
                     struct mlq_err *err)
{
    __typeof__(req->u.worker_set) *s = &req->u.worker_set;
    struct mlq_err e = {0};
    o->any = true;
    switch (c) {
    case OPT_POOL:
        s->pool = (char *)arg;
        return mlq_proto_pool_check(arg, &e) < 0 ? bad(err, "--pool", arg, e.msg) : 0;
    case OPT_LABEL:
        if (s->nlabels == MLQ_MAX_LABELS)
            return bad(err, "--label", arg, "too many labels");
        o->labels[s->nlabels++] = (char *)arg;
        s->labels = o->labels;
        return mlq_proto_label_check(arg, &e) < 0 ? bad(err, "--label", arg, e.msg) : 0;
    case OPT_CLEAR:
        s->clear_labels = true;
        return 0;
    case OPT_CPUS:
        if (mlq_res_parse_cpus(arg, &s->cpus_m, &e) < 0)
            return bad(err, "--cpus", arg, e.msg);
        return s->cpus_m > 0 ? 0 : bad(err, "--cpus", arg, "must be more than 0");
    case OPT_MEM:
        if (mlq_res_parse_mem(arg, &s->mem, &e) < 0)
            return bad(err, "--mem", arg, e.msg);
        return s->mem > 0 ? 0 : bad(err, "--mem", arg, "must be more than 0");
    case OPT_GPUS:
        return parse_gpus(arg, req, o, err);
    case OPT_RESET:
        s->reset = true;
        return 0;
    }
    return mlq_err_set(err, MLQ_CLI_EUSAGE, "admin worker set: unexpected option");
}

static int set_opt(int c, struct mlq_cli *cli, struct mlq_msg *req, struct set_opts *o,
                   struct mlq_err *err)
{
    if (c == MLQ_CLI_OPT_SCHEDULER) {
        cli->scheduler_opt = optarg;
        return 0;
    }
    if (c == MLQ_CLI_OPT_TIMEOUT)
        return mlq_cli_parse_timeout(optarg, &cli->timeout_ms, err);
    if (c == MLQ_CLI_OPT_JSON) {
        o->json = true;
        return 0;
    }
    return set_value(c, optarg, req, o, err);
}

/* Returns -1 to go on, else the exit code. argv[0] is "set". */
static int set_parse(struct mlq_cli *cli, int argc, char **argv, struct mlq_msg *req,
                     struct set_opts *o)
{
    struct mlq_err err = {0};
    int c, rc = 0;
    optind = 0;
    opterr = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, ":h", set_longopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(set_usage, stdout);
            return MLQ_EXIT_OK;
        }
        rc = c == '?' || c == ':' ? mlq_cli_getopt_error("admin worker set", c, argc, argv, &err)
                                  : set_opt(c, cli, req, o, &err);
    }
    if (rc == 0 && argc - optind != 1)
        rc = mlq_err_set(&err, MLQ_CLI_EUSAGE, "admin worker set: expected exactly one NAME");
    else if (rc == 0 && !o->any)
        rc = mlq_err_set(&err, MLQ_CLI_EUSAGE, "admin worker set: nothing to set");
    if (rc == 0 && (!argv[optind][0] || strlen(argv[optind]) > MLQ_MAX_NAME))
        rc = mlq_err_set(&err, MLQ_EINVAL, "admin worker set: bad NAME");
    if (rc < 0) {
        fprintf(stderr, "mlq: %s (see `mlq admin worker set --help`)\n", err.msg);
        return rc == MLQ_CLI_EUSAGE ? MLQ_EXIT_USAGE : MLQ_EXIT_INVALID;
    }
    req->u.worker_set.worker = argv[optind];
    return -1;
}

int mlq_cmd_admin_worker_set(struct mlq_cli *cli, int argc, char **argv)
{
    struct set_opts o = {0};
    struct mlq_msg req = {.type = MLQ_MSG_WORKER_SET}, reply;
    req.u.worker_set.gpus = -1;
    int rc = set_parse(cli, argc, argv, &req, &o);
    if (rc >= 0)
        return rc;
    struct mlq_err err = {0};
    if ((rc = mlq_cli_request(cli, &req, MLQ_MSG_WORKER_LIST, &reply, &err)) < 0)
        return mlq_out_fail(rc, &err);
    struct mlq_workerinfo *w = reply.u.worker_list.workers;
    uint32_t n = reply.u.worker_list.nworkers;
    if (o.json) {
        json_t *doc = mlq_jsonview_workers(w, n);
        rc = doc ? mlq_out_json_print(stdout, doc) : MLQ_ENOMEM;
        json_decref(doc);
    } else {
        rc = mlq_cli_workers_print(stdout, w, n, cli->stdout_tty, false);
    }
    mlq_proto_msg_free(&reply);
    return rc < 0 ? mlq_out_fail(rc, NULL) : MLQ_EXIT_OK;
}
