/* cmd_why: see cmd_why.h. The scheduler does the reasoning (it alone knows
 * the queue, the reservation and every worker); this file asks and shows. */
#include "cmd_why.h"

#include <getopt.h>
#include <string.h>

#include "jobref.h"
#include "cmd_submit.h"
#include "output.h"

static const char why_usage[] =
    "usage: mlq why JOB [--json]\n\n"
    "Says why JOB (an id or a unique prefix) is pending: what blocks it\n"
    "(priority, a reservation, pool, labels, GPU type, resources, drained or no\n"
    "workers...), the worker that comes closest to taking it and what that worker\n"
    "lacks, and how many ready jobs go first. For a job that is not pending it\n"
    "says which state it is in. A pending job also gets an estimated start, as\n"
    "`mlq submit --dry-run` gives (see the user guide, \"When will my job start?\").\n"
    "  --json            {\"job_id\", \"state\", \"blocker\", \"text\", \"closest_worker\",\n"
    "                    \"lacks\", \"ahead\", \"fits_ever\", \"would_start\": {\"worker\",\n"
    "                    \"gpus\"}, \"estimate\": {\"at_ms\", \"kind\", \"why\"}}\n"
    "  --scheduler ADDR  scheduler address\n"
    "  --timeout DUR     how long to wait for the scheduler's answer (default 10s)\n";

static const struct option why_longopts[] = {
    MLQ_CLI_COMMON_LONGOPTS,
    MLQ_CLI_TIMEOUT_LONGOPT,
    {"json", no_argument, NULL, MLQ_CLI_OPT_JSON},
    {NULL, 0, NULL, 0},
};

/* Returns -1 to go on (the job is argv[optind]), else the exit code. */
static int why_parse(struct mlq_cli *cli, int argc, char **argv, bool *json)
{
    struct mlq_err err = {0};
    int c, rc = 0;
    *json = false;
    optind = 0;
    opterr = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, ":h", why_longopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(why_usage, stdout);
            return MLQ_EXIT_OK;
        } else if (c == MLQ_CLI_OPT_JSON) {
            *json = true;
        } else if (c == MLQ_CLI_OPT_SCHEDULER) {
            cli->scheduler_opt = optarg;
        } else if (c == MLQ_CLI_OPT_TIMEOUT) {
            rc = mlq_cli_parse_timeout(optarg, &cli->timeout_ms, &err);
        } else {
            rc = mlq_cli_getopt_error("why", c, argc, argv, &err);
        }
    }
    if (rc == 0 && argc - optind != 1)
        rc = mlq_err_set(&err, MLQ_CLI_EUSAGE, "why: expected exactly one JOB");
    if (rc < 0) {
        fprintf(stderr, "mlq: %s (see `mlq why --help`)\n", err.msg);
        return MLQ_EXIT_USAGE;
    }
    if ((rc = mlq_cli_check_ids(argv + optind, 1, &err)) < 0)
        return mlq_out_fail(rc, &err);
    return -1;
}

int mlq_cli_why_print(FILE *f, const struct mlq_msg *reply)
{
    char text[MLQ_MAX_STR + 1], worker[MLQ_MAX_NAME + 1], lacks[MLQ_MAX_STR + 1];
    fprintf(f, "%.*s %s: %s\n", MLQ_SHORT_ID_LEN, reply->u.why_reply.job_id,
            mlq_job_state_name(reply->u.why_reply.state),
            mlq_out_clean(reply->u.why_reply.text, text, sizeof(text)));
    if (reply->u.why_reply.closest_worker) {
        fprintf(f, "closest worker: %s",
                mlq_out_clean(reply->u.why_reply.closest_worker, worker, sizeof(worker)));
        if (reply->u.why_reply.lacks)
            fprintf(f, " (lacks: %s)",
                    mlq_out_clean(reply->u.why_reply.lacks, lacks, sizeof(lacks)));
        fputc('\n', f);
    }
    if (reply->u.why_reply.state == MLQ_JOB_PENDING)
        fprintf(f, "ahead: %u job%s\n", (unsigned)reply->u.why_reply.ahead,
                reply->u.why_reply.ahead == 1 ? "" : "s");
    const char *b = reply->u.why_reply.blocker;
    if (reply->u.why_reply.quota_text && !(b && strcmp(b, "quota") == 0)) /* not said twice */
        fprintf(f, "quota: %s\n", mlq_out_clean(reply->u.why_reply.quota_text, text, sizeof text));
    mlq_cli_estimate_print(f, reply);
    return ferror(f) ? MLQ_EIO : 0;
}

json_t *mlq_cli_why_json(const struct mlq_msg *reply)
{
    return mlq_jsonview_why(reply);
}

int mlq_cmd_why(struct mlq_cli *cli, int argc, char **argv)
{
    bool json;
    int rc = why_parse(cli, argc, argv, &json);
    if (rc >= 0)
        return rc;
    struct mlq_err err = {0};
    struct mlq_msg req = {.type = MLQ_MSG_WHY}, reply;
    req.u.why.job = argv[optind];
    if ((rc = mlq_cli_request(cli, &req, MLQ_MSG_WHY_REPLY, &reply, &err)) < 0)
        return mlq_cli_refs_fail(cli, rc, &err, argv + optind, 1);
    if (json) {
        json_t *doc = mlq_cli_why_json(&reply);
        rc = doc ? mlq_out_json_print(stdout, doc) : MLQ_ENOMEM;
        json_decref(doc);
    } else {
        rc = mlq_cli_why_print(stdout, &reply);
    }
    mlq_proto_msg_free(&reply);
    return rc < 0 ? mlq_out_fail(rc, NULL) : MLQ_EXIT_OK;
}
