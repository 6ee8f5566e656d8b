/* cmd_hold: see cmd_hold.h. The scheduler checks everything (owner, state,
 * the changed spec by the submit's rules); the CLI parses with the submit's
 * own parsers so that a value means the same in both. */
#include "cmd_hold.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cmd_submit.h"
#include "id.h"
#include "output.h"

enum { OPT_CHANGE = MLQ_CLI_OPT_FIRST_FREE };

static const char hold_usage[] =
    "usage: mlq hold JOB...\n\n"
    "Holds pending jobs: a held job stays PENDING, keeps its place in the queue\n"
    "and is never started until `mlq release`. An array id holds every pending\n"
    "task of the array. Only the owner or an admin; a job that is not pending is\n"
    "refused (exit 6). `mlq submit --hold` submits a job held.\n"
    "  --scheduler ADDR  scheduler address\n"
    "  --timeout DUR     how long to wait for the scheduler's answer (default 10s)\n";

static const char release_usage[] =
    "usage: mlq release JOB...\n\n"
    "Releases held jobs (an array id: its pending tasks): they may start again,\n"
    "in their old place in the queue.\n"
    "  --scheduler ADDR  scheduler address\n"
    "  --timeout DUR     how long to wait for the scheduler's answer (default 10s)\n";

static const char update_usage[] =
    "usage: mlq update JOB [--priority N] [--time-limit DUR|none] [--cpus C]\n"
    "                  [--mem M] [--gpus G] [--retries N]\n\n"
    "Changes a job that has not started (PENDING, also one waiting to be\n"
    "retried or held): each value is checked as `mlq submit` checks it, stored\n"
    "at once and recorded in the job's events (old -> new). A job that runs or\n"
    "has ended is refused (exit 6), its priority too.\n"
    "  --scheduler ADDR  scheduler address\n"
    "  --timeout DUR     how long to wait for the scheduler's answer (default 10s)\n";

static const struct option hold_longopts[] = {
    MLQ_CLI_COMMON_LONGOPTS,
    MLQ_CLI_TIMEOUT_LONGOPT,
    {NULL, 0, NULL, 0},
};

static const struct option update_longopts[] = {
    MLQ_CLI_COMMON_LONGOPTS,
    MLQ_CLI_TIMEOUT_LONGOPT,
    {"priority", required_argument, NULL, OPT_CHANGE},
    {"time-limit", required_argument, NULL, OPT_CHANGE},
    {"cpus", required_argument, NULL, OPT_CHANGE},
    {"mem", required_argument, NULL, OPT_CHANGE},
    {"gpus", required_argument, NULL, OPT_CHANGE},
    {"retries", required_argument, NULL, OPT_CHANGE},
    {NULL, 0, NULL, 0},
};

/* Returns -1 to go on (the jobs are argv[optind..]), else the exit code. */
static int parse(const char *cmd, const char *usage, const struct option *longopts,
                 struct mlq_cli *cli, int argc, char **argv, struct mlq_jobchange *ch)
{
    struct mlq_err err = {0};
    int c, idx = 0, rc = 0;
    optind = 0;
    opterr = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, ":h", longopts, &idx)) != -1) {
        if (c == 'h') {
            fputs(usage, stdout);
            return MLQ_EXIT_OK;
        } else if (c == MLQ_CLI_OPT_SCHEDULER) {
            cli->scheduler_opt = optarg;
        } else if (c == MLQ_CLI_OPT_TIMEOUT) {
            rc = mlq_cli_parse_timeout(optarg, &cli->timeout_ms, &err);
        } else if (c == OPT_CHANGE && ch) {
            rc = mlq_cli_change_parse(mlq_cli_change_bit(longopts[idx].name), optarg, ch, &err);
        } else {
            rc = mlq_cli_getopt_error(cmd, c, argc, argv, &err);
        }
    }
    if (rc == 0 && optind >= argc)
        rc = mlq_err_set(&err, MLQ_CLI_EUSAGE, "%s: no job given", cmd);
    if (rc == 0 && ch && argc - optind != 1)
        rc = mlq_err_set(&err, MLQ_CLI_EUSAGE, "%s: expected exactly one JOB", cmd);
    if (rc == 0 && ch && ch->set == 0)
        rc = mlq_err_set(&err, MLQ_CLI_EUSAGE, "%s: nothing to change", cmd);
    if (rc == MLQ_CLI_EUSAGE) {
        fprintf(stderr, "mlq: %s (see `mlq %s --help`)\n", err.msg, cmd);
        return MLQ_EXIT_USAGE;
    }
    if (rc == 0)
        rc = mlq_cli_check_ids(argv + optind, argc - optind, &err);
    return rc < 0 ? mlq_out_fail(rc, &err) : -1;
}

static int hold_or_release(struct mlq_cli *cli, int argc, char **argv, bool release)
{
    const char *cmd = release ? "release" : "hold";
    int rc = parse(cmd, release ? release_usage : hold_usage, hold_longopts, cli, argc, argv, NULL);
    if (rc >= 0)
        return rc;
    struct mlq_err err = {0};
    struct mlq_msg req = {.type = MLQ_MSG_HOLD}, reply;
    req.u.hold.ids = argv + optind;
    req.u.hold.nids = (uint32_t)(argc - optind);
    req.u.hold.release = release;
    if ((rc = mlq_cli_request(cli, &req, MLQ_MSG_OK, &reply, &err)) < 0)
        return mlq_out_fail(rc, &err);
    mlq_proto_msg_free(&reply);
    for (int i = optind; i < argc; i++)
        fprintf(stderr, "%s %s\n", release ? "released" : "held", argv[i]);
    return MLQ_EXIT_OK;
}

int mlq_cmd_hold(struct mlq_cli *cli, int argc, char **argv)
{
    return hold_or_release(cli, argc, argv, false);
}

int mlq_cmd_release(struct mlq_cli *cli, int argc, char **argv)
{
    return hold_or_release(cli, argc, argv, true);
}

int mlq_cmd_update(struct mlq_cli *cli, int argc, char **argv)
{
    struct mlq_jobchange ch = {0};
    int rc = parse("update", update_usage, update_longopts, cli, argc, argv, &ch);
    if (rc >= 0)
        return rc;
    struct mlq_err err = {0};
    struct mlq_msg req = {.type = MLQ_MSG_UPDATE}, reply;
    req.u.update = ch;
    req.u.update.job = argv[optind];
    if ((rc = mlq_cli_request(cli, &req, MLQ_MSG_OK, &reply, &err)) < 0)
        return mlq_out_fail(rc, &err);
    mlq_proto_msg_free(&reply);
    fprintf(stderr, "updated %s\n", argv[optind]);
    return MLQ_EXIT_OK;
}
