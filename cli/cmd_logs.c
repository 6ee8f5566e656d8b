/* cmd_logs: `mlq logs JOB [-f|--follow] [--stderr] [--attempt N] [--node K | --all]`.
 *
 * The prefix is resolved once with a `jobs` request; then `logs` requests ask
 * for successive chunks by offset and the bytes go to stdout untouched (a
 * job's output is data, possibly binary). Without --follow it stops at the
 * first empty chunk; with --follow it polls until the scheduler says the job
 * is over and everything was read.
 *
 * A gang's nodes each have their own log: --node K reads node K's (default
 * 0); --all reads every node's, node after node, each line prefixed with
 * "[K] " (logprefix.h), and with --follow takes turns among the nodes still
 * going, so that every node's lines show as they come.
 *
 * Every attempt keeps its own log: --attempt N reads attempt N's. --follow
 * follows the job across its retries: attempt after attempt, each read to
 * its end, with a line "--- attempt N on WORKER ---" on stderr before each
 * one when the job may run more than once, until the job ends. */
#include "cmd_logs.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "id.h"
#include "logprefix.h"
#include "jobref.h"
#include "output.h"

#define LOGS_CHUNK   (256 * 1024)
#define LOGS_POLL_MS 300

enum { OPT_STDERR = MLQ_CLI_OPT_FIRST_FREE, OPT_NODE, OPT_ALL, OPT_ATTEMPT };

struct logs_opts {
    bool follow;
    enum mlq_stream stream;
    int32_t node; /* --node K; 0 when not given */
    bool node_given;
    bool all;        /* --all */
    int32_t attempt; /* --attempt N; 0 when not given */
};

static const char logs_usage[] =
    "usage: mlq logs [-f|--follow] [--stderr] [--attempt N] [--node K | --all] JOB\n\n"
    "Prints a job's output (any unique prefix of its id): its current (or last)\n"
    "attempt's.\n"
    "  -f, --follow      keep printing new output until the job ends, across its\n"
    "                    retries: \"--- attempt N on WORKER ---\" (on stderr) starts\n"
    "                    each attempt's output\n"
    "  --attempt N       attempt N's output (1 is the first run; every attempt keeps\n"
    "                    its own)\n"
    "  --stderr          the job's stderr instead of its stdout\n"
    "  --node K          a gang job's node K (its MLQ_NODE_RANK; default 0)\n"
    "  --all             every node of a gang job, each line starting with \"[K] \"\n"
    "                    (with -f: follows all of them)\n"
    "  --scheduler ADDR  scheduler address\n"
    "  --timeout DUR     how long to wait for the scheduler's answer (default 10s)\n";

static const struct option logs_longopts[] = {
    MLQ_CLI_COMMON_LONGOPTS,
    MLQ_CLI_TIMEOUT_LONGOPT,
    {"follow", no_argument, NULL, 'f'},
    {"stderr", no_argument, NULL, OPT_STDERR},
    {"node", required_argument, NULL, OPT_NODE},
    {"all", no_argument, NULL, OPT_ALL},
    {"attempt", required_argument, NULL, OPT_ATTEMPT},
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
        } else if (c == OPT_NODE) {
            long k = 0;
            rc = mlq_cli_parse_int("--node", optarg, 0, MLQ_MAX_NODES - 1, &k, &err);
            o->node = (int32_t)k;
            o->node_given = true;
        } else if (c == OPT_ALL) {
            o->all = true;
        } else if (c == OPT_ATTEMPT) {
            long n = 0;
            rc = mlq_cli_parse_int("--attempt", optarg, 1, INT32_MAX, &n, &err);
            o->attempt = (int32_t)n;
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
    if (rc == 0 && o->all && o->node_given)
        rc = mlq_err_set(&err, MLQ_CLI_EUSAGE, "logs: --node and --all exclude each other");
    if (rc < 0) {
        fprintf(stderr, "mlq: %s (see `mlq logs --help`)\n", err.msg);
        return MLQ_EXIT_USAGE;
    }
    rc = mlq_cli_check_ids(argv + optind, 1, &err);
    return rc < 0 ? mlq_out_fail(rc, &err) : -1;
}

/* One node's log being read: where it stands and, with --all, its prefixes. */
struct node_log {
    int32_t node;
    int32_t attempt; /* 0: the current one */
    int64_t offset;
    struct mlq_logpfx *pfx; /* NULL: bytes go out as they are */
    bool over;              /* read to its end */
};

static int write_out(struct node_log *nl, const uint8_t *data, uint32_t len, struct mlq_err *err)
{
    int rc = 0;
    if (nl->pfx)
        rc = mlq_logpfx_feed(nl->pfx, data, len, stdout);
    else if (fwrite(data, 1, len, stdout) != len)
        rc = MLQ_EIO;
    if (rc < 0 || fflush(stdout) == EOF)
        return mlq_err_set(err, MLQ_EIO, "cannot write to stdout");
    return 0;
}

/* Asks for one chunk of nl's node and writes it out; nl->offset advances.
 * *len and *done describe the answer. */
static int logs_chunk(struct mlq_cli *cli, const char *id, enum mlq_stream stream,
                      struct node_log *nl, uint32_t *len, bool *done, struct mlq_err *err)
{
    struct mlq_msg req = {.type = MLQ_MSG_LOGS}, reply;
    req.u.logs.job = (char *)id;
    req.u.logs.stream = stream;
    req.u.logs.offset = nl->offset;
    req.u.logs.max = LOGS_CHUNK;
    req.u.logs.node = nl->node;
    req.u.logs.attempt = nl->attempt;
    int rc = mlq_cli_request(cli, &req, MLQ_MSG_LOG_DATA, &reply, err);
    if (rc < 0)
        return rc;
    *len = reply.u.log_data.len;
    *done = reply.u.log_data.done;
    if (*len > LOGS_CHUNK || (*len > 0 && reply.u.log_data.offset != nl->offset))
        rc = mlq_err_set(err, MLQ_EPROTO, "scheduler sent a log chunk that was not asked for");
    else if (*len > 0)
        rc = write_out(nl, reply.u.log_data.data, *len, err);
    nl->offset += *len;
    mlq_proto_msg_free(&reply);
    return rc;
}

static int moved_past(struct mlq_cli *cli, const char *id, int32_t n, bool *past,
                      struct mlq_err *err);

/* Streams one node's log until it ends (or, without follow, until it has
 * caught up). A worker that is briefly gone is waited for when following,
 * unless the attempt being read is over and the job has moved on. */
static int logs_stream(struct mlq_cli *cli, const struct mlq_jobinfo *job,
                       const struct logs_opts *o, struct node_log *nl, struct mlq_err *err)
{
    bool warned = false;
    for (;;) {
        uint32_t len = 0;
        bool done = false, past = false;
        int rc = logs_chunk(cli, job->id, o->stream, nl, &len, &done, err);
        if (rc == MLQ_EUNAVAIL && o->follow && nl->attempt > 0 &&
            moved_past(cli, job->id, nl->attempt, &past, err) == 0 && past) {
            fprintf(stderr, "mlq: the rest of attempt %d's output is not reachable\n",
                    (int)nl->attempt);
            return 0;
        }
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
            return nl->pfx ? mlq_logpfx_end(nl->pfx, stdout) : 0;
        if (len == 0)
            mlq_cli_sleep_ms(LOGS_POLL_MS);
    }
}

/* One turn of --all --follow: a chunk from every node still going. *got
 * says whether any had bytes to show. */
static int follow_round(struct mlq_cli *cli, const struct mlq_jobinfo *job,
                        const struct logs_opts *o, struct node_log *v, uint32_t n, bool *got,
                        bool *warned, struct mlq_err *err)
{
    *got = false;
    for (uint32_t k = 0; k < n; k++) {
        uint32_t len = 0;
        bool done = false;
        if (v[k].over)
            continue;
        int rc = logs_chunk(cli, job->id, o->stream, &v[k], &len, &done, err);
        if (rc == MLQ_EUNAVAIL) { /* that node's worker is away: the others go on */
            if (!*warned)
                fprintf(stderr, "mlq: %s; still trying\n", err->msg);
            *warned = true;
            continue;
        }
        if (rc < 0)
            return rc;
        *got = *got || len > 0;
        if (done) {
            v[k].over = true;
            if ((rc = mlq_logpfx_end(v[k].pfx, stdout)) < 0)
                return mlq_err_set(err, MLQ_EIO, "cannot write to stdout");
        }
    }
    return 0;
}

static bool all_over(const struct node_log *v, uint32_t n)
{
    for (uint32_t k = 0; k < n; k++)
        if (!v[k].over)
            return false;
    return true;
}

/* --all: every node, prefixed; node after node, or taking turns with -f. */
static int logs_all(struct mlq_cli *cli, const struct mlq_jobinfo *job, const struct logs_opts *o,
                    struct mlq_err *err)
{
    uint32_t n = job->nodes > 1 ? job->nodes : 1;
    struct node_log *v = calloc(n, sizeof *v);
    struct mlq_logpfx *p = calloc(n, sizeof *p);
    int rc = v && p ? 0 : mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    uint32_t ready = 0;
    for (; rc == 0 && ready < n; ready++) {
        if (mlq_logpfx_init(&p[ready], (int32_t)ready) < 0)
            rc = mlq_err_set(err, MLQ_ENOMEM, "out of memory");
        v[ready] = (struct node_log){.node = (int32_t)ready, .pfx = &p[ready]};
    }
    bool warned = false;
    for (uint32_t k = 0; rc == 0 && !o->follow && k < n; k++)
        rc = logs_stream(cli, job, o, &v[k], err);
    while (rc == 0 && o->follow && !all_over(v, n)) {
        bool got = false;
        rc = follow_round(cli, job, o, v, n, &got, &warned, err);
        if (rc == 0 && !got && !all_over(v, n))
            mlq_cli_sleep_ms(LOGS_POLL_MS);
    }
    for (uint32_t k = 0; p && k < ready; k++)
        mlq_logpfx_free(&p[k]);
    free(p);
    free(v);
    return rc;
}

/* The job as it is now (one `jobs` request, with its attempts). */
static int refetch(struct mlq_cli *cli, const char *id, struct mlq_msg *out, struct mlq_err *err)
{
    char *ids[] = {(char *)id};
    return mlq_cli_fetch_jobs(cli, ids, 1, out, err);
}

/* *past: the job has an attempt after n, or has ended. */
static int moved_past(struct mlq_cli *cli, const char *id, int32_t n, bool *past,
                      struct mlq_err *err)
{
    struct mlq_msg now;
    int rc = refetch(cli, id, &now, err);
    if (rc < 0)
        return rc;
    const struct mlq_jobinfo *j = &now.u.job_list.jobs[0];
    *past = j->attempt > n || mlq_job_state_terminal(j->state);
    mlq_proto_msg_free(&now);
    return 0;
}

/* Waits until the job has an attempt numbered at least n (*got its number
 * and worker) or has ended without one (*got = 0). */
static int wait_attempt(struct mlq_cli *cli, const char *id, int32_t n, int32_t *got, char *worker,
                        size_t wlen, struct mlq_err *err)
{
    for (;;) {
        struct mlq_msg now;
        int rc = refetch(cli, id, &now, err);
        if (rc < 0)
            return rc;
        const struct mlq_jobinfo *j = &now.u.job_list.jobs[0];
        *got = j->attempt >= n ? n : 0;
        for (uint32_t i = 0; *got && i < j->nattempts; i++)
            if (j->attempts[i].num == n)
                snprintf(worker, wlen, "%s", j->attempts[i].worker ? j->attempts[i].worker : "?");
        bool over = mlq_job_state_terminal(j->state);
        mlq_proto_msg_free(&now);
        if (*got || over)
            return 0;
        mlq_cli_sleep_ms(LOGS_POLL_MS);
    }
}

/* --follow of one node's log across the job's attempts. */
static int follow_attempts(struct mlq_cli *cli, const struct mlq_jobinfo *job,
                           const struct logs_opts *o, struct mlq_err *err)
{
    bool marks = job->retries > 0 || job->attempt > 1;
    int32_t n = job->attempt > 0 ? job->attempt : 1;
    for (;;) {
        char worker[MLQ_MAX_NAME + 1] = "?", clean[MLQ_MAX_NAME + 1];
        int32_t got = 0;
        int rc = wait_attempt(cli, job->id, n, &got, worker, sizeof worker, err);
        if (rc < 0 || got == 0)
            return rc;
        if (marks)
            fprintf(stderr, "--- attempt %d on %s ---\n", (int)n,
                    mlq_out_clean(worker, clean, sizeof clean));
        struct node_log nl = {.node = o->node, .attempt = n};
        if ((rc = logs_stream(cli, job, o, &nl, err)) < 0)
            return rc;
        n++;
    }
}

/* --node K of a job that has fewer nodes is refused here, with the count. */
static int check_node(const struct mlq_jobinfo *job, const struct logs_opts *o, struct mlq_err *err)
{
    uint32_t n = job->nodes > 1 ? job->nodes : 1;
    char id[MLQ_SHORT_ID_LEN + 1];
    if (!o->node_given || (uint32_t)o->node < n)
        return 0;
    mlq_id_short(job->id, id);
    if (n == 1)
        return mlq_err_set(err, MLQ_EINVAL, "--node %d: job %s is not a gang (node 0 only)",
                           (int)o->node, id);
    return mlq_err_set(err, MLQ_EINVAL, "--node %d: job %s has %u nodes (0 to %u)", (int)o->node,
                       id, n, n - 1);
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
        return mlq_cli_refs_fail(cli, rc, &err, argv + optind, 1);
    const struct mlq_jobinfo *j = &job.u.job_list.jobs[0];
    struct node_log one = {.node = o.node, .attempt = o.attempt};
    rc = check_node(j, &o, &err);
    if (rc == 0 && o.all)
        rc = logs_all(cli, j, &o, &err);
    else if (rc == 0 && o.follow && o.attempt == 0)
        rc = follow_attempts(cli, j, &o, &err);
    else if (rc == 0)
        rc = logs_stream(cli, j, &o, &one, &err);
    mlq_proto_msg_free(&job);
    return rc < 0 ? mlq_out_fail(rc, &err) : MLQ_EXIT_OK;
}
