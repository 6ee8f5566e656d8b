/* cmd_drain: see cmd_drain.h. A drained worker keeps running what it has and
 * takes nothing new until resumed; the scheduler persists the drain, so it
 * outlives scheduler restarts. What the command prints is the state the
 * scheduler replies with, not what was asked for. */
#include "cmd_drain.h"

#include <getopt.h>
#include <string.h>

#include "output.h"

enum { OPT_REASON = MLQ_CLI_OPT_FIRST_FREE };

static const char drain_usage[] =
    "usage: mlq drain WORKER [--reason TEXT]\n\n"
    "Stops placing new jobs on WORKER; the jobs running there finish. The drain\n"
    "and its reason survive scheduler restarts and show in `mlq workers` until\n"
    "`mlq resume WORKER`.\n"
    "  --reason TEXT     why (at most 255 bytes), shown to other admins\n"
    "  --scheduler ADDR  scheduler address\n"
    "  --timeout DUR     how long to wait for the scheduler's answer (default 10s)\n";

static const char resume_usage[] = "usage: mlq resume WORKER\n\n"
                                   "Lets a drained WORKER take new jobs again.\n"
                                   "  --scheduler ADDR  scheduler address\n"
                                   "  --timeout DUR     how long to wait for the scheduler's "
                                   "answer (default 10s)\n";

static const struct option drain_longopts[] = {
    MLQ_CLI_COMMON_LONGOPTS,
    MLQ_CLI_TIMEOUT_LONGOPT,
    {"reason", required_argument, NULL, OPT_REASON},
    {NULL, 0, NULL, 0},
};

static int check_values(const struct mlq_cli_drain_opts *o, struct mlq_err *err)
{
    size_t n = strlen(o->worker);
    if (n == 0 || n > MLQ_MAX_NAME)
        return mlq_err_set(err, MLQ_EINVAL, "a worker name has 1 to %d characters", MLQ_MAX_NAME);
    if (!o->reason)
        return 0;
    if (strlen(o->reason) > MLQ_MAX_REASON)
        return mlq_err_set(err, MLQ_EINVAL, "--reason is longer than %d bytes", MLQ_MAX_REASON);
    for (const char *p = o->reason; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            return mlq_err_set(err, MLQ_EINVAL,
                               "--reason must not hold control characters "
                               "(newlines, tabs, escapes)");
    return 0;
}

static int one_opt(int c, bool drain, struct mlq_cli_drain_opts *o, struct mlq_err *err)
{
    switch (c) {
    case 'h':
        o->help = true;
        return 0;
    case OPT_REASON:
        if (!drain)
            return mlq_err_set(err, MLQ_CLI_EUSAGE, "resume: unknown option '--reason'");
        o->reason = optarg;
        return 0;
    case MLQ_CLI_OPT_SCHEDULER:
        o->scheduler = optarg;
        return 0;
    case MLQ_CLI_OPT_TIMEOUT:
        return mlq_cli_parse_timeout(optarg, &o->timeout_ms, err);
    default:
        return mlq_err_set(err, MLQ_CLI_EUSAGE, "unexpected option");
    }
}

int mlq_cli_drain_parse(int argc, char **argv, bool drain, struct mlq_cli_drain_opts *o,
                        struct mlq_err *err)
{
    const char *cmd = drain ? "drain" : "resume";
    int c, rc = 0;
    *o = (struct mlq_cli_drain_opts){0};
    optind = 0;
    opterr = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, ":h", drain_longopts, NULL)) != -1) {
        if (c == '?' || c == ':')
            rc = mlq_cli_getopt_error(cmd, c, argc, argv, err);
        else
            rc = one_opt(c, drain, o, err);
    }
    if (rc < 0 || o->help)
        return rc;
    if (argc - optind != 1)
        return mlq_err_set(err, MLQ_CLI_EUSAGE, "%s: expected exactly one WORKER", cmd);
    o->worker = argv[optind];
    return check_values(o, err);
}

int mlq_cli_drain_report(FILE *f, const struct mlq_workerinfo *w, bool drain)
{
    char name[MLQ_MAX_NAME + 1], reason[MLQ_MAX_REASON + 1];
    mlq_out_clean(w->name, name, sizeof(name));
    if (!drain) {
        fprintf(f, "%s: resumed, takes new jobs%s\n", name,
                w->draining ? " once it stops draining itself" : "");
    } else {
        fprintf(f, "%s: drained", name);
        if (w->drain_reason && strcmp(w->drain_reason, "drained") != 0)
            fprintf(f, " (%s)", mlq_out_clean(w->drain_reason, reason, sizeof(reason)));
        if (w->running > 0)
            fprintf(f, ", %d job%s still running\n", (int)w->running, w->running == 1 ? "" : "s");
        else
            fprintf(f, ", no jobs running\n");
    }
    return ferror(f) ? MLQ_EIO : 0;
}

static int run(struct mlq_cli *cli, int argc, char **argv, bool drain)
{
    struct mlq_err err = {0};
    struct mlq_cli_drain_opts o;
    int rc = mlq_cli_drain_parse(argc, argv, drain, &o, &err);
    if (rc == MLQ_CLI_EUSAGE) {
        fprintf(stderr, "mlq: %s (see `mlq %s --help`)\n", err.msg, drain ? "drain" : "resume");
        return MLQ_EXIT_USAGE;
    }
    if (rc < 0)
        return mlq_out_fail(rc, &err);
    if (o.help) {
        fputs(drain ? drain_usage : resume_usage, stdout);
        return MLQ_EXIT_OK;
    }
    if (o.scheduler)
        cli->scheduler_opt = o.scheduler;
    if (o.timeout_ms > 0)
        cli->timeout_ms = o.timeout_ms;
    struct mlq_msg req = {.type = drain ? MLQ_MSG_DRAIN : MLQ_MSG_RESUME}, reply;
    req.u.drain.worker = (char *)o.worker;
    req.u.drain.reason = (char *)o.reason;
    if ((rc = mlq_cli_request(cli, &req, MLQ_MSG_WORKER_LIST, &reply, &err)) < 0)
        return mlq_out_fail(rc, &err);
    if (reply.u.worker_list.nworkers != 1)
        rc = mlq_err_set(&err, MLQ_EPROTO, "the scheduler replied with %u workers, expected 1",
                         reply.u.worker_list.nworkers);
    else
        rc = mlq_cli_drain_report(stderr, &reply.u.worker_list.workers[0], drain);
    mlq_proto_msg_free(&reply);
    return rc < 0 ? mlq_out_fail(rc, &err) : MLQ_EXIT_OK;
}

int mlq_cmd_drain(struct mlq_cli *cli, int argc, char **argv)
{
    return run(cli, argc, argv, true);
}

int mlq_cmd_resume(struct mlq_cli *cli, int argc, char **argv)
{
    return run(cli, argc, argv, false);
}
