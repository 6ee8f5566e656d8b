/* cmd_logs: `mlq logs JOB [-f|--follow] [--stderr]`.
 *
 * The prefix is resolved once with a `jobs` request; then `logs` requests ask
 * for successive chunks by offset and the bytes go to stdout untouched (a
 * job's output is data, possibly binary). Without --follow it stops at the
 * first empty chunk; with --follow it polls until the scheduler says the job
 * is over and everything was read. */
#include "cmd_logs.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "id.h"
#include "output.h"

#define LOGS_CHUNK   (256 * 1024)
#define LOGS_POLL_MS 300

enum { OPT_STDERR = MLQ_CLI_OPT_FIRST_FREE };

struct logs_opts {
    bool follow;
    enum mlq_stream stream;
};

static const char logs_usage[] =
    "usage: mlq logs [-f|--follow] [--stderr] JOB\n\n"
    "Prints a job's output (any unique prefix of its id).\n"
    "  -f, --follow      keep printing new output until the job ends\n"
    "  --stderr          the job's stderr instead of its stdout\n"
    "  --scheduler ADDR  scheduler address\n"
    "  --timeout DUR     how long to wait for the scheduler's answer (default 10s)\n";

static const struct option logs_longopts[] = {
    MLQ_CLI_COMMON_LONGOPTS,
    MLQ_CLI_TIMEOUT_LONGOPT,
    {"follow", no_argument, NULL, 'f'},
    {"stderr", no_argument, NULL, OPT_STDERR},
    {NULL, 0, NULL, 0},
};

/* Returns -1 to go on (the job is argv[optind]), else the exit code. */
static int logs_parse(struct mlq_cli *cli, int argc, char **argv, struct logs_opts *o)
{
    struct mlq_err err = {0};
    memset(o, 0, sizeof(*o));
    int c, rc = 0;
    optind = 0;
    opterr = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, ":hf", logs_longopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(logs_usage, stdout);
            return MLQ_EXIT_OK;
        } else if (c == 'f') {
            o->follow = true;
        } else if (c == OPT_STDERR) {
            o->stream = MLQ_STREAM_STDERR;
        } else if (c == MLQ_CLI_OPT_SCHEDULER) {
            cli->scheduler_opt = optarg;
        } else if (c == MLQ_CLI_OPT_TIMEOUT) {
            rc = mlq_cli_parse_timeout(optarg, &cli->timeout_ms, &err);
        } else {
            rc = mlq_cli_getopt_error("logs", c, argc, argv, &err);
        }
    }
    if (rc == 0 && argc - optind != 1)
        rc = mlq_err_set(&err, MLQ_CLI_EUSAGE, "logs: give exactly one job");
    if (rc < 0) {
        fprintf(stderr, "mlq: %s (see `mlq logs --help`)\n", err.msg);
        return MLQ_EXIT_USAGE;
    }
    rc = mlq_cli_check_ids(argv + optind, 1, &err);
    return rc < 0 ? mlq_out_fail(rc, &err) : -1;
}

/* Asks for one chunk at *offset and writes it to stdout; *offset advances.
 * *len and *done describe the answer. */
static int logs_chunk(struct mlq_cli *cli, const char *id, enum mlq_stream stream, int64_t *offset,
                      uint32_t *len, bool *done, struct mlq_err *err)
{
    struct mlq_msg req = {.type = MLQ_MSG_LOGS}, reply;
    req.u.logs.job = (char *)id;
    req.u.logs.stream = stream;
    req.u.logs.offset = *offset;
    req.u.logs.max = LOGS_CHUNK;
    int rc = mlq_cli_request(cli, &req, MLQ_MSG_LOG_DATA, &reply, err);
    if (rc < 0)
        return rc;
    *len = reply.u.log_data.len;
    *done = reply.u.log_data.done;
    if (*len > LOGS_CHUNK || (*len > 0 && reply.u.log_data.offset != *offset)) {
        rc = mlq_err_set(err, MLQ_EPROTO, "scheduler sent a log chunk that was not asked for");
    } else if (*len > 0 &&
               (fwrite(reply.u.log_data.data, 1, *len, stdout) != *len || fflush(stdout) == EOF)) {
        rc = mlq_err_set(err, MLQ_EIO, "cannot write to stdout");
    }
    *offset += *len;
    mlq_proto_msg_free(&reply);
    return rc;
}

/* Streams the log until it ends (or, without follow, until it has caught
 * up). A worker that is briefly gone is waited for when following. */
static int logs_stream(struct mlq_cli *cli, const struct mlq_jobinfo *job,
                       const struct logs_opts *o, struct mlq_err *err)
{
    int64_t offset = 0;
    bool warned = false;
    for (;;) {
        uint32_t len = 0;
        bool done = false;
        int rc = logs_chunk(cli, job->id, o->stream, &offset, &len, &done, err);
        if (rc == MLQ_EUNAVAIL && o->follow) {
            if (!warned)
                fprintf(stderr, "mlq: %s; still trying\n", err->msg);
            warned = true;
            mlq_cli_sleep_ms(LOGS_POLL_MS * 10);
            continue;
        }
        if (rc < 0)
            return rc;
        if (done || (len == 0 && !o->follow))
            return 0;
        if (len == 0)
            mlq_cli_sleep_ms(LOGS_POLL_MS);
    }
}

int mlq_cmd_logs(struct mlq_cli *cli, int argc, char **argv)
{
    struct logs_opts o;
    int rc = logs_parse(cli, argc, argv, &o);
    if (rc >= 0)
        return rc;
    struct mlq_err err = {0};
    struct mlq_msg job;
    if ((rc = mlq_cli_fetch_jobs(cli, argv + optind, 1, &job, &err)) < 0)
        return mlq_out_fail(rc, &err);
    rc = logs_stream(cli, &job.u.job_list.jobs[0], &o, &err);
    mlq_proto_msg_free(&job);
    return rc < 0 ? mlq_out_fail(rc, &err) : MLQ_EXIT_OK;
}
