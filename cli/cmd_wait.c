/* cmd_wait: see cmd_wait.h.
 *
 * The references are resolved once (one `jobs` request); afterwards only
 * full ids are polled, so a job submitted meanwhile cannot make a prefix
 * ambiguous. An array id stands for all of its tasks: the scheduler answers
 * it with the array's counts per state. On a terminal, one progress line on
 * stderr is rewritten in place; otherwise nothing is printed until the final
 * summary. A scheduler that goes away briefly (a restart) is waited for. */
#include "cmd_wait.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "clock.h"
#include "jobref.h"
#include "output.h"
#include "jsonview.h"
#include "res.h"

/* Polls start soon and back off: most jobs a pipeline waits on are either
 * short (a first answer within tens of ms matters) or long (one request
 * every half second is plenty). */
#define WAIT_POLL_FIRST_MS  10
#define WAIT_POLL_MS        500
#define WAIT_UNREACH_MAX_MS 30000 /* scheduler restarts are survived, outages not */

enum { OPT_WAIT_TIMEOUT = MLQ_CLI_OPT_FIRST_FREE };

struct wait_opts {
    bool json;
    int64_t wait_ms; /* 0 = forever */
};

static const struct option wait_longopts[] = {
    MLQ_CLI_COMMON_LONGOPTS,
    {"timeout", required_argument, NULL, OPT_WAIT_TIMEOUT},
    {"json", no_argument, NULL, MLQ_CLI_OPT_JSON},
    {NULL, 0, NULL, 0},
};

static const char wait_usage[] =
    "usage: mlq wait [--timeout DUR] [--json] JOB...\n\n"
    "Waits until every job has ended (an array id: every task of the array).\n"
    "Exit status 0 when all succeeded, 1 when any did not (failed, timed out or\n"
    "cancelled), 7 when --timeout expired first. On a terminal a progress line\n"
    "is kept up to date on stderr; the final summary always goes to stderr.\n"
    "  --timeout DUR     give up after DUR (e.g. 30s, 5m, 2h)\n"
    "  --json            print the final states as {\"jobs\": [...], \"arrays\": [...]}\n"
    "  --scheduler ADDR  scheduler address\n";

/* ---- counting ---- */

void mlq_wait_count(const struct mlq_msg *list, struct mlq_wait_counts *c)
{
    memset(c, 0, sizeof(*c));
    for (uint32_t i = 0; i < list->u.job_list.njobs; i++) {
        enum mlq_job_state s = list->u.job_list.jobs[i].state;
        if ((unsigned)s < MLQ_JOB_STATE_COUNT)
            c->n[s]++;
        c->total++;
    }
    for (uint32_t i = 0; i < list->u.job_list.narrays; i++) {
        const struct mlq_arrayinfo *a = &list->u.job_list.arrays[i];
        uint32_t counted = 0;
        for (int s = 0; s < MLQ_JOB_STATE_COUNT; s++) {
            c->n[s] += a->counts[s];
            counted += a->counts[s];
        }
        /* tasks the scheduler did not count yet are still to come */
        if (counted < a->size)
            c->n[MLQ_JOB_PENDING] += a->size - counted;
        c->total += counted > a->size ? counted : a->size;
    }
}

bool mlq_wait_done(const struct mlq_wait_counts *c, bool *all_ok)
{
    uint32_t ended = 0;
    for (int s = 0; s < MLQ_JOB_STATE_COUNT; s++)
        if (mlq_job_state_terminal((enum mlq_job_state)s))
            ended += c->n[s];
    *all_ok = c->n[MLQ_JOB_SUCCEEDED] == c->total;
    return ended >= c->total;
}

char *mlq_wait_progress(const struct mlq_wait_counts *c, char *buf, size_t len)
{
    int n = snprintf(buf, len, "%u pending, %u running, %u succeeded, %u failed",
                     c->n[MLQ_JOB_PENDING], c->n[MLQ_JOB_ASSIGNED] + c->n[MLQ_JOB_RUNNING],
                     c->n[MLQ_JOB_SUCCEEDED], c->n[MLQ_JOB_FAILED] + c->n[MLQ_JOB_TIMED_OUT]);
    if (c->n[MLQ_JOB_CANCELLED] > 0 && n > 0 && (size_t)n < len)
        snprintf(buf + n, len - (size_t)n, ", %u cancelled", c->n[MLQ_JOB_CANCELLED]);
    return buf;
}

char *mlq_wait_summary(const struct mlq_wait_counts *c, bool timed_out, char *buf, size_t len)
{
    size_t pos = 0;
    buf[0] = '\0';
    if (timed_out)
        pos = (size_t)snprintf(buf, len, "timed out waiting: ");
    const char *sep = "";
    for (int s = MLQ_JOB_SUCCEEDED; s < MLQ_JOB_STATE_COUNT + MLQ_JOB_SUCCEEDED && pos < len; s++) {
        int st = s % MLQ_JOB_STATE_COUNT; /* ended states first */
        if (c->n[st] > 0) {
            pos += (size_t)snprintf(buf + pos, len - pos, "%s%u %s", sep, c->n[st],
                                    mlq_out_state_word((enum mlq_job_state)st));
            sep = ", ";
        }
    }
    return buf;
}

/* ---- polling ---- */

/* The full ids of everything in list (jobs, then arrays), pointing into it. */
static char **full_ids(const struct mlq_msg *list, int *n)
{
    uint32_t nj = list->u.job_list.njobs, na = list->u.job_list.narrays;
    char **ids = calloc(nj + na + 1, sizeof(*ids));
    for (uint32_t i = 0; ids && i < nj; i++)
        ids[i] = (char *)list->u.job_list.jobs[i].id;
    for (uint32_t i = 0; ids && i < na; i++)
        ids[nj + i] = (char *)list->u.job_list.arrays[i].id;
    *n = (int)(nj + na);
    return ids;
}

struct poll_state {
    struct mlq_msg latest; /* the newest answer (valid when have) */
    bool have;
    bool tty;      /* progress line on stderr */
    bool drawn;    /* a progress line is on screen */
    char last[96]; /* what it says */
};

static const struct mlq_msg *newest(const struct poll_state *ps, const struct mlq_msg *first)
{
    return ps->have ? &ps->latest : first;
}

static void draw_progress(struct poll_state *ps, const struct mlq_msg *list)
{
    struct mlq_wait_counts c;
    char line[96];
    if (!ps->tty)
        return;
    mlq_wait_count(list, &c);
    mlq_wait_progress(&c, line, sizeof(line));
    if (ps->drawn && strcmp(line, ps->last) == 0)
        return;
    fprintf(stderr, "\r%s\033[K", line);
    fflush(stderr);
    snprintf(ps->last, sizeof(ps->last), "%s", line);
    ps->drawn = true;
}

/* One poll; keeps the newest answer. MLQ_EUNREACH for less than
 * WAIT_UNREACH_MAX_MS is not an error. */
static int poll_once(struct mlq_cli *cli, char **ids, int n, struct poll_state *ps,
                     int64_t *unreach_since, struct mlq_err *err)
{
    struct mlq_msg next;
    int64_t now = mlq_clock_mono_ms();
    int rc = mlq_cli_fetch_refs(cli, ids, n, &next, err);
    if (rc == MLQ_EUNREACH) {
        *unreach_since = *unreach_since ? *unreach_since : now;
        return now - *unreach_since < WAIT_UNREACH_MAX_MS ? 0 : rc;
    }
    if (rc < 0)
        return rc;
    *unreach_since = 0;
    if (ps->have)
        mlq_proto_msg_free(&ps->latest);
    ps->latest = next;
    ps->have = true;
    return 0;
}

/* Polls until everything ended or the deadline passed (MLQ_CLI_ETIMEOUT). */
static int wait_poll(struct mlq_cli *cli, const struct mlq_msg *first, struct poll_state *ps,
                     int64_t deadline, struct mlq_err *err)
{
    int n;
    char **ids = full_ids(first, &n);
    if (!ids)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    int rc = 0;
    int64_t unreach_since = 0;
    struct mlq_wait_counts c;
    bool ok;
    int64_t poll_ms = WAIT_POLL_FIRST_MS;
    for (;;) {
        draw_progress(ps, newest(ps, first));
        mlq_wait_count(newest(ps, first), &c);
        if (mlq_wait_done(&c, &ok))
            break;
        int64_t now = mlq_clock_mono_ms();
        if (deadline > 0 && now >= deadline) {
            rc = MLQ_CLI_ETIMEOUT;
            break;
        }
        int64_t left = deadline > 0 ? deadline - now : poll_ms;
        mlq_cli_sleep_ms(left < poll_ms ? left : poll_ms);
        poll_ms = poll_ms * 2 < WAIT_POLL_MS ? poll_ms * 2 : WAIT_POLL_MS;
        if ((rc = poll_once(cli, ids, n, ps, &unreach_since, err)) < 0)
            break;
    }
    free(ids);
    return rc;
}

/* ---- command ---- */

static int wait_parse(struct mlq_cli *cli, int argc, char **argv, struct wait_opts *o)
{
    struct mlq_err err = {0};
    memset(o, 0, sizeof(*o));
    int c, rc = 0;
    optind = 0;
    opterr = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, ":h", wait_longopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(wait_usage, stdout);
            return MLQ_EXIT_OK;
        }
        if (c == '?' || c == ':')
            rc = mlq_cli_getopt_error("wait", c, argc, argv, &err);
        else if (c == MLQ_CLI_OPT_JSON)
            o->json = true;
        else if (c == MLQ_CLI_OPT_SCHEDULER)
            cli->scheduler_opt = optarg;
        else if (mlq_res_parse_duration(optarg, &o->wait_ms, &err) < 0)
            rc = mlq_err_set(&err, MLQ_CLI_EUSAGE, "bad --timeout: %s", err.msg);
    }
    if (rc == 0 && optind >= argc)
        rc = mlq_err_set(&err, MLQ_CLI_EUSAGE, "wait: no job given");
    if (rc == MLQ_CLI_EUSAGE) {
        fprintf(stderr, "mlq: %s (see `mlq wait --help`)\n", err.msg);
        return MLQ_EXIT_USAGE;
    }
    if (rc == 0)
        rc = mlq_cli_check_ids(argv + optind, argc - optind, &err);
    return rc < 0 ? mlq_out_fail(rc, &err) : -1;
}

static int print_final_json(const struct mlq_msg *list)
{
    json_t *jobs = json_array(), *arrays = json_array();
    for (uint32_t i = 0; jobs && i < list->u.job_list.njobs; i++)
        json_array_append_new(jobs, mlq_jsonview_job(&list->u.job_list.jobs[i]));
    for (uint32_t i = 0; arrays && i < list->u.job_list.narrays; i++)
        json_array_append_new(arrays, mlq_jsonview_array(&list->u.job_list.arrays[i]));
    json_t *doc = jobs && arrays ? json_pack("{s:o, s:o}", "jobs", jobs, "arrays", arrays) : NULL;
    if (!doc) {
        json_decref(jobs);
        json_decref(arrays);
    }
    int rc = doc ? mlq_out_json_print(stdout, doc) : MLQ_ENOMEM;
    json_decref(doc);
    return rc;
}

/* Summary on stderr (after the progress line), JSON on stdout; the exit code. */
static int wait_report(const struct mlq_msg *last, struct poll_state *ps, int rc, bool json)
{
    struct mlq_wait_counts c;
    char line[256];
    bool ok = false;
    mlq_wait_count(last, &c);
    mlq_wait_done(&c, &ok);
    if (ps->drawn)
        fputc('\n', stderr);
    fprintf(stderr, "%s\n", mlq_wait_summary(&c, rc == MLQ_CLI_ETIMEOUT, line, sizeof(line)));
    if (json && print_final_json(last) < 0)
        return mlq_out_fail(MLQ_EIO, NULL);
    return rc == MLQ_CLI_ETIMEOUT ? MLQ_EXIT_TIMEOUT : ok ? MLQ_EXIT_OK : MLQ_EXIT_FAILED;
}

int mlq_cmd_wait(struct mlq_cli *cli, int argc, char **argv)
{
    struct wait_opts o;
    int rc = wait_parse(cli, argc, argv, &o);
    if (rc >= 0)
        return rc;
    int64_t deadline = o.wait_ms > 0 ? mlq_clock_mono_ms() + o.wait_ms : 0;
    struct mlq_err err = {0};
    struct mlq_msg first;
    if ((rc = mlq_cli_fetch_refs(cli, argv + optind, argc - optind, &first, &err)) < 0)
        return mlq_cli_refs_fail(cli, rc, &err, argv + optind, argc - optind);
    struct poll_state ps = {.tty = isatty(STDERR_FILENO) == 1};
    rc = wait_poll(cli, &first, &ps, deadline, &err);
    if (rc == 0 || rc == MLQ_CLI_ETIMEOUT)
        rc = wait_report(newest(&ps, &first), &ps, rc, o.json);
    else
        rc = mlq_out_fail(rc, &err);
    if (ps.have)
        mlq_proto_msg_free(&ps.latest);
    mlq_proto_msg_free(&first);
    return rc;
}
