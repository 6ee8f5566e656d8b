/* cmd_usage: see cmd_usage.h. The scheduler does the sums (SQL over the
 * attempts and the folded days, storeacct.c); this file parses the window
 * and prints what comes back as a table, JSON or CSV. */
#include "cmd_usage.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "datearg.h"
#include "jsonview.h"
#include "optloop.h"
#include "output.h"
#include "res.h"

enum { OPT_SINCE = MLQ_CLI_OPT_FIRST_FREE, OPT_UNTIL, OPT_BY, OPT_CSV };

static const char usage_text[] =
    "usage: mlq usage [--since WHEN] [--until WHEN] [--by GROUP] [--json | --csv]\n\n"
    "What ran in a window (default: the last 30 days), per group: allocated\n"
    "CPU-hours (cpus x wall) and GPU-hours (GPUs x wall, each node of a gang\n"
    "counted), runs (attempts) by how they ended, the mean queue wait (first\n"
    "start - submit) and, for GPU jobs, the share of GPU time spent idle where\n"
    "workers measured utilisation (n/a otherwise). A run counts in the window it\n"
    "ended in. Users see their own jobs' usage; admins everyone's.\n"
    "  --since WHEN      from WHEN: YYYY-MM-DD (UTC midnight), YYYY-MM-DDTHH:MM[:SS][Z]\n"
    "                    (UTC) or a duration ago (7d, 12h); default 30 days ago\n"
    "  --until WHEN      up to WHEN (same forms); default now\n"
    "  --by GROUP        user (default), team, project, pool or gpu-type\n"
    "  --json            {\"since\", \"until\", \"by\", \"groups\": [{name, cpu_hours,\n"
    "                    gpu_hours, succeeded, failed, timed_out, cancelled, lost,\n"
    "                    mean_wait_s, gpu_idle_share}]} (null where n/a)\n"
    "  --csv             the same columns as CSV with a header line (empty = n/a)\n"
    "  --scheduler ADDR  scheduler address\n"
    "  --timeout DUR     how long to wait for the scheduler's answer (default 10s)\n";

static const struct option longopts[] = {
    MLQ_CLI_COMMON_LONGOPTS,
    MLQ_CLI_TIMEOUT_LONGOPT,
    {"json", no_argument, NULL, MLQ_CLI_OPT_JSON},
    {"csv", no_argument, NULL, OPT_CSV},
    {"since", required_argument, NULL, OPT_SINCE},
    {"until", required_argument, NULL, OPT_UNTIL},
    {"by", required_argument, NULL, OPT_BY},
    {NULL, 0, NULL, 0},
};

struct usage_opts {
    const char *since, *until;
    enum mlq_acct_by by;
    bool json, csv;
};

static int parse_by(const char *s, enum mlq_acct_by *by, struct mlq_err *err)
{
    for (int i = 0; i < MLQ_ACCT_BY_COUNT; i++)
        if (strcmp(s, mlq_acct_by_names[i]) == 0) {
            *by = (enum mlq_acct_by)i;
            return 0;
        }
    return mlq_err_set(err, MLQ_CLI_EUSAGE,
                       "usage: --by must be user, team, project, pool or gpu-type, not \"%.40s\"",
                       s);
}

static int usage_opt(int c, void *p, struct mlq_err *err)
{
    struct usage_opts *o = p;
    switch (c) {
    case MLQ_CLI_OPT_JSON:
        o->json = true;
        return 0;
    case OPT_CSV:
        o->csv = true;
        return 0;
    case OPT_SINCE:
        o->since = optarg;
        return 0;
    case OPT_UNTIL:
        o->until = optarg;
        return 0;
    case OPT_BY:
        return parse_by(optarg, &o->by, err);
    default:
        return mlq_err_set(err, MLQ_CLI_EUSAGE, "usage: unexpected option");
    }
}

static const struct mlq_optloop usage_loop = {"usage", "usage", usage_text, longopts, usage_opt};

/* Returns -1 to go on, else the exit code. */
static int usage_parse(struct mlq_cli *cli, int argc, char **argv, struct usage_opts *o)
{
    struct mlq_err err = {0};
    memset(o, 0, sizeof *o);
    int rc = mlq_optloop_read(&usage_loop, cli, argc, argv, o, &err);
    if (rc == 0)
        rc = mlq_optloop_no_operands(&usage_loop, argc, argv, &err);
    if (rc == 0 && o->json && o->csv)
        rc = mlq_err_set(&err, MLQ_CLI_EUSAGE, "usage: --json or --csv, not both");
    return mlq_optloop_result(&usage_loop, rc, &err);
}

/* ---- figures --------------------------------------------------------- */

struct figures {
    double cpu_h, gpu_h, wait_s, idle; /* wait_s, idle < 0: n/a */
};

static struct figures figures_of(const struct mlq_acctrow *r)
{
    struct figures f = {
        .cpu_h = (double)r->cpu_ms / 3600e3,
        .gpu_h = (double)r->gpu_ms / 3600e3,
        .wait_s = r->n_waits > 0 ? (double)r->wait_ms / 1e3 / (double)r->n_waits : -1,
        .idle = r->gpu_known_ms > 0 ? (double)r->gpu_idle_ms / (double)r->gpu_known_ms : -1,
    };
    return f;
}

/* A group name as one CSV field: quoted when it holds a quote or comma
 * (names cannot, but the scheduler's answer is not trusted blindly). */
static void csv_field(FILE *f, const char *s)
{
    if (!strpbrk(s, "\",\r\n")) {
        fputs(s, f);
        return;
    }
    fputc('"', f);
    for (; *s; s++)
        fputs(*s == '"' ? "\"\"" : (char[]){*s, 0}, f);
    fputc('"', f);
}

static int print_csv(const struct mlq_msg *m)
{
    printf("%s,cpu_hours,gpu_hours,succeeded,failed,timed_out,cancelled,lost,mean_wait_s,"
           "gpu_idle_share\n",
           mlq_acct_by_names[m->u.acct_report.by]);
    for (uint32_t i = 0; i < m->u.acct_report.nrows; i++) {
        const struct mlq_acctrow *r = &m->u.acct_report.rows[i];
        struct figures f = figures_of(r);
        csv_field(stdout, r->key);
        printf(",%.4f,%.4f", f.cpu_h, f.gpu_h);
        for (int k = 0; k < MLQ_ACCT_OUTCOMES; k++)
            printf(",%lld", (long long)r->runs[k]);
        if (f.wait_s >= 0)
            printf(",%.1f", f.wait_s);
        else
            printf(",");
        if (f.idle >= 0)
            printf(",%.3f\n", f.idle);
        else
            printf(",\n");
    }
    return ferror(stdout) ? MLQ_EIO : 0;
}

/* "42s", "3.5m", "2.1h": short enough for a column. */
static void wait_text(double s, char *buf, size_t len)
{
    if (s < 60)
        snprintf(buf, len, "%.0fs", s);
    else if (s < 3600)
        snprintf(buf, len, "%.1fm", s / 60);
    else
        snprintf(buf, len, "%.1fh", s / 3600);
}

static int print_table(const struct mlq_msg *m, bool colour)
{
    const char *headers[] = {"",        "CPU-H",  "GPU-H", "OK",   "FAILED",
                             "TIMEOUT", "CANCEL", "LOST",  "WAIT", "GPU-IDLE"};
    char head[32];
    snprintf(head, sizeof head, "%s", mlq_acct_by_names[m->u.acct_report.by]);
    for (char *p = head; *p; p++)
        *p = (char)(*p >= 'a' && *p <= 'z' ? *p - 32 : *p);
    headers[0] = head;
    struct mlq_table *t = mlq_table_create(10, headers);
    int rc = t ? 0 : MLQ_ENOMEM;
    for (uint32_t i = 0; rc == 0 && i < m->u.acct_report.nrows; i++) {
        const struct mlq_acctrow *r = &m->u.acct_report.rows[i];
        struct figures f = figures_of(r);
        char cells[10][64], name[MLQ_MAX_NAME + 1];
        snprintf(cells[0], sizeof cells[0], "%s",
                 r->key[0] ? mlq_out_clean(r->key, name, sizeof name) : "-");
        snprintf(cells[1], sizeof cells[1], "%.2f", f.cpu_h);
        snprintf(cells[2], sizeof cells[2], "%.2f", f.gpu_h);
        for (int k = 0; k < MLQ_ACCT_OUTCOMES; k++)
            snprintf(cells[3 + k], sizeof cells[3 + k], "%lld", (long long)r->runs[k]);
        if (f.wait_s >= 0)
            wait_text(f.wait_s, cells[8], sizeof cells[8]);
        else
            snprintf(cells[8], sizeof cells[8], "n/a");
        if (f.idle >= 0)
            snprintf(cells[9], sizeof cells[9], "%.0f%%", f.idle * 100);
        else
            snprintf(cells[9], sizeof cells[9], "n/a");
        for (int k = 0; rc == 0 && k < 10; k++)
            rc = mlq_table_add(t, cells[k], NULL);
    }
    return mlq_table_finish(&t, stdout, colour, rc);
}

static int do_usage(struct mlq_cli *cli, const struct usage_opts *o, struct mlq_err *err)
{
    struct mlq_msg req = {.type = MLQ_MSG_ACCT}, reply;
    int64_t now = mlq_clock_wall_ms();
    int rc = o->since ? mlq_datearg_parse(o->since, now, &req.u.acct.since_ms, err) : 0;
    if (rc == 0 && o->until)
        rc = mlq_datearg_parse(o->until, now, &req.u.acct.until_ms, err);
    if (rc == 0 && o->since && o->until && req.u.acct.until_ms <= req.u.acct.since_ms)
        rc = mlq_err_set(err, MLQ_EINVAL, "--until must be later than --since");
    if (rc < 0)
        return rc;
    req.u.acct.by = o->by;
    if ((rc = mlq_cli_request(cli, &req, MLQ_MSG_ACCT_REPORT, &reply, err)) < 0)
        return rc;
    if (o->json)
        rc = mlq_out_json_emit(stdout, mlq_jsonview_acct_report(&reply));
    else if (o->csv)
        rc = print_csv(&reply);
    else
        rc = print_table(&reply, cli->stdout_tty);
    mlq_proto_msg_free(&reply);
    return rc;
}

int mlq_cmd_usage(struct mlq_cli *cli, int argc, char **argv)
{
    struct usage_opts o;
    int rc = usage_parse(cli, argc, argv, &o);
    if (rc >= 0)
        return rc;
    struct mlq_err err = {0};
    rc = do_usage(cli, &o, &err);
    return rc < 0 ? mlq_out_fail(rc, &err) : MLQ_EXIT_OK;
}
