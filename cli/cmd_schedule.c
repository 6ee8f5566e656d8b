/* cmd_schedule: see cmd_schedule.h.
 *
 * `schedule add` reuses submit's parser (mlq_cli_submit_parse_ex) with four
 * options of its own, so a schedule takes exactly the options a job does.
 * The other subcommands send one `schedules` or `schedule_cmd` request.
 * Names, cron expressions and time zones are checked before anything is
 * sent. */
#include "cmd_schedule.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "pages.h"
#include "cron.h"
#include "id.h"
#include "output.h"
#include "jsonview.h"
#include "res.h"

#define DEFAULT_CATCH_UP_MS (3600 * 1000)

enum {
    OPT_CRON = MLQ_CLI_SUBMIT_OPT_END,
    OPT_TZ,
    OPT_CATCH_UP,
    OPT_CONCURRENCY,
};

static const struct option add_longopts[] = {
    {"cron", required_argument, NULL, OPT_CRON},
    {"timezone", required_argument, NULL, OPT_TZ},
    {"catch-up", required_argument, NULL, OPT_CATCH_UP},
    {"concurrency", required_argument, NULL, OPT_CONCURRENCY},
    {NULL, 0, NULL, 0},
};

static const char schedule_usage[] =
    "usage: mlq schedule add NAME --cron EXPR [--timezone TZ] [--catch-up DUR]\n"
    "                        [--concurrency allow|skip|replace] [submit options] -- CMD...\n"
    "       mlq schedule list [--json]\n"
    "       mlq schedule show NAME [--json]\n"
    "       mlq schedule pause|resume|rm|run-now NAME\n"
    "\n"
    "Submits CMD as a job each time the cron expression fires.\n"
    "  --cron EXPR        five fields \"MIN HOUR DOM MON DOW\", or @hourly, @daily,\n"
    "                     @weekly, @monthly, @yearly\n"
    "  --timezone TZ      read the expression in this IANA zone (default UTC)\n"
    "  --catch-up DUR     after a scheduler outage, run one missed fire if it is at\n"
    "                     most DUR old (default 1h; 0 = never catch up)\n"
    "  --concurrency C    when the previous run is still going: skip (default) this\n"
    "                     fire, allow both, or replace (cancel the old run)\n"
    "  submit options     as for `mlq submit` (--cpus, --gpus, --array, --after...)\n"
    "  --json             list/show: JSON ({\"schedules\": [...]} / one object)\n"
    "\n"
    "pause stops firing (runs already started go on), resume starts again from\n"
    "now, rm removes the schedule (its jobs stay), run-now fires once at once and\n"
    "prints the job id.\n";

/* ---- add ---- */

struct add_ctx {
    struct mlq_scheduleinfo *s;
};

static int set_str(char **dst, const char *v, struct mlq_err *err)
{
    free(*dst);
    *dst = strdup(v);
    return *dst ? 0 : mlq_err_set(err, MLQ_ENOMEM, "out of memory");
}

static int parse_catch_up(const char *arg, int64_t *out, struct mlq_err *err)
{
    struct mlq_err e = {0};
    if (strcmp(arg, "0") == 0) {
        *out = 0;
        return 0;
    }
    if (mlq_res_parse_duration(arg, out, &e) < 0)
        return mlq_err_set(err, MLQ_EINVAL, "bad --catch-up: %s", e.msg);
    return 0;
}

static int add_opt(int c, const char *arg, void *vctx, struct mlq_err *err)
{
    struct add_ctx *ctx = vctx;
    struct mlq_err e = {0};
    switch (c) {
    case OPT_CRON:
        return set_str(&ctx->s->cron, arg, err);
    case OPT_TZ:
        if (mlq_cron_check_tz(arg, &e) < 0)
            return mlq_err_set(err, MLQ_EINVAL, "bad --timezone '%.64s': %s", arg, e.msg);
        return set_str(&ctx->s->timezone, arg, err);
    case OPT_CATCH_UP:
        return parse_catch_up(arg, &ctx->s->catch_up_ms, err);
    default:
        if (strcmp(arg, "allow") != 0 && strcmp(arg, "skip") != 0 && strcmp(arg, "replace") != 0)
            return mlq_err_set(err, MLQ_EINVAL,
                               "bad --concurrency '%.40s' (one of allow, skip, replace)", arg);
        return set_str(&ctx->s->concurrency, arg, err);
    }
}

/* The expression is parsed here with the scheduler's own parser, so a typo
 * is reported with the field that is wrong before anything is sent. */
static int check_cron(const char *cron, struct mlq_err *err)
{
    struct mlq_cron *c = NULL;
    struct mlq_err e = {0};
    if (!cron)
        return mlq_err_set(err, MLQ_CLI_EUSAGE, "schedule add: --cron is required");
    if (mlq_cron_parse(cron, &c, &e) < 0)
        return mlq_err_set(err, MLQ_EINVAL, "bad --cron: %s", e.msg);
    mlq_cron_destroy(&c);
    return 0;
}

static int add_finish(struct mlq_scheduleinfo *s, const char *name, struct mlq_err *err)
{
    int rc = check_cron(s->cron, err);
    if (rc < 0)
        return rc;
    if (s->spec.idempotency_key)
        return mlq_err_set(err, MLQ_CLI_EUSAGE,
                           "schedule add: --idempotency-key cannot be used (every run would "
                           "return the first one)");
    if ((rc = set_str(&s->name, name, err)) < 0)
        return rc;
    return mlq_proto_scheduleinfo_check(s, err);
}

int mlq_cli_schedule_parse_add(int argc, char **argv, struct mlq_scheduleinfo *out,
                               struct mlq_cli_submit_opts *opts, struct mlq_err *err)
{
    struct mlq_err e = {0};
    memset(out, 0, sizeof(*out));
    memset(opts, 0, sizeof(*opts));
    if (argc < 1 || argv[0][0] == '-')
        return mlq_err_set(err, MLQ_CLI_EUSAGE, "schedule add: give the NAME first");
    if (mlq_proto_schedule_name_check(argv[0], &e) < 0)
        return mlq_err_set(err, MLQ_EINVAL, "bad schedule name '%.40s': %s", argv[0], e.msg);
    struct mlq_scheduleinfo s = {.catch_up_ms = DEFAULT_CATCH_UP_MS};
    struct add_ctx ctx = {&s};
    struct mlq_cli_submit_extra extra = {"schedule add", add_longopts, add_opt, &ctx};
    /* argv[0] (NAME) takes the place of the program name for getopt */
    int rc = mlq_cli_submit_parse_ex(argc, argv, &extra, &s.spec, opts, err);
    if (rc == 0 && opts->dry_run)
        rc = mlq_err_set(err, MLQ_CLI_EUSAGE,
                         "schedule add: --dry-run is for `mlq submit`; a schedule's runs are "
                         "estimated with `mlq why` when they are pending");
    if (rc == 0 && !opts->help)
        rc = add_finish(&s, argv[0], err);
    if (rc < 0)
        mlq_proto_scheduleinfo_free(&s);
    else
        *out = s;
    return rc;
}

/* ---- showing schedules ---- */

static const char *sched_state(const struct mlq_scheduleinfo *s)
{
    return s->paused ? "paused" : "active";
}

/* How a run is doing: its job's state, or an array's progress ("array
 * 12/100 done, 3 running"). */
static const char *run_state(const struct mlq_schedrun *r, char *buf, size_t len)
{
    if (r->array_size == 0)
        return mlq_job_state_name(r->state);
    if (r->array_ended >= r->array_size)
        snprintf(buf, len, "array %u/%u done, %s", r->array_ended, r->array_size,
                 r->state == MLQ_JOB_SUCCEEDED ? "all succeeded" : "not all succeeded");
    else
        snprintf(buf, len, "array %u/%u done, %u running", r->array_ended, r->array_size,
                 r->array_running);
    return buf;
}

static int add_list_row(struct mlq_table *t, const struct mlq_scheduleinfo *s)
{
    char next[64], last[96], cmd[256], id[MLQ_SHORT_ID_LEN + 1] = "-", st[64];
    mlq_out_time_zone(s->nnext > 0 && !s->paused ? s->next_fires[0] : 0, s->timezone, next,
                      sizeof(next));
    snprintf(last, sizeof(last), "-");
    if (s->nruns > 0) {
        mlq_id_short(s->runs[0].job_id, id);
        snprintf(last, sizeof(last), "%s %s", id, run_state(&s->runs[0], st, sizeof st));
    }
    const char *cells[] = {
        s->name,
        s->cron,
        s->timezone && s->timezone[0] ? s->timezone : "UTC",
        sched_state(s),
        next,
        last,
        mlq_out_argv(s->spec.argv, s->spec.argc, cmd, sizeof(cmd)),
    };
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof(cells) / sizeof(cells[0]); i++)
        rc = mlq_table_add(t, cells[i], NULL);
    return rc;
}

static int print_list_table(const struct mlq_msg *list, bool colour)
{
    static const char *const headers[] = {"NAME", "CRON",     "TZ",     "STATE",
                                          "NEXT", "LAST RUN", "COMMAND"};
    struct mlq_table *t = mlq_table_create(7, headers);
    int rc = t ? 0 : MLQ_ENOMEM;
    for (uint32_t i = 0; rc == 0 && i < list->u.schedule_list.nschedules; i++)
        rc = add_list_row(t, &list->u.schedule_list.schedules[i]);
    if (rc == 0)
        rc = mlq_table_print(t, stdout, colour);
    mlq_table_destroy(&t);
    return rc;
}

static void show_line(const char *label, const char *value)
{
    char buf[1024];
    printf("%-12s %s\n", label, mlq_out_clean(value, buf, sizeof(buf)));
}

static int print_runs(const struct mlq_scheduleinfo *s, bool colour)
{
    static const char *const headers[] = {"FIRED", "JOB", "STATE"};
    if (s->nruns == 0) {
        show_line("runs:", "none yet");
        return 0;
    }
    struct mlq_table *t = mlq_table_create(3, headers);
    int rc = t ? 0 : MLQ_ENOMEM;
    for (uint32_t i = 0; rc == 0 && i < s->nruns; i++) {
        char when[64], st[64];
        rc = mlq_table_add(
            t, mlq_out_time_zone(s->runs[i].fire_ms, s->timezone, when, sizeof(when)), NULL);
        rc = rc ? rc : mlq_table_add(t, s->runs[i].job_id, NULL);
        rc = rc ? rc
                : mlq_table_add(t, run_state(&s->runs[i], st, sizeof st),
                                mlq_out_state_colour(s->runs[i].state));
    }
    if (rc == 0) {
        fputs("\nruns (newest first):\n", stdout);
        rc = mlq_table_print(t, stdout, colour);
    }
    mlq_table_destroy(&t);
    return rc;
}

static int print_show(const struct mlq_scheduleinfo *s, bool colour)
{
    char buf[4096], a[32], b[32];
    show_line("name:", s->name);
    snprintf(buf, sizeof(buf), "%s (%s)", s->cron,
             s->timezone && s->timezone[0] ? s->timezone : "UTC");
    show_line("cron:", buf);
    show_line("state:", sched_state(s));
    show_line("concurrency:", s->concurrency ? s->concurrency : "skip");
    show_line("catch-up:",
              s->catch_up_ms > 0 ? mlq_res_fmt_duration(s->catch_up_ms, buf, sizeof(buf)) : "none");
    show_line("command:", mlq_out_argv(s->spec.argv, s->spec.argc, buf, sizeof(buf)));
    if (s->spec.name)
        show_line("job name:", s->spec.name);
    snprintf(buf, sizeof(buf), "cpus %s, mem %s, gpus %d%s%s",
             mlq_res_fmt_cpus(s->spec.cpus_m, a, sizeof(a)),
             mlq_res_fmt_mem(s->spec.mem, b, sizeof(b)), (int)s->spec.gpus,
             s->spec.array ? ", array " : "", s->spec.array ? s->spec.array : "");
    show_line("resources:", buf);
    for (uint32_t i = 0; i < s->nnext; i++)
        show_line(i == 0 ? "next runs:" : "",
                  mlq_out_time_zone(s->next_fires[i], s->timezone, buf, sizeof(buf)));
    return print_runs(s, colour);
}

static int print_sched_json(const struct mlq_msg *list, bool one)
{
    json_t *arr = json_array();
    for (uint32_t i = 0; arr && i < list->u.schedule_list.nschedules; i++)
        if (json_array_append_new(arr, mlq_jsonview_schedule(&list->u.schedule_list.schedules[i])) <
            0) {
            json_decref(arr);
            arr = NULL;
        }
    json_t *doc = NULL;
    if (arr && one)
        doc = json_incref(json_array_get(arr, 0));
    else if (arr)
        doc = json_pack("{s:O}", "schedules", arr);
    json_decref(arr);
    int rc = doc ? mlq_out_json_print(stdout, doc) : MLQ_ENOMEM;
    json_decref(doc);
    return rc;
}

/* ---- requests ---- */

static int request_list(struct mlq_cli *cli, struct mlq_msg *req, struct mlq_msg *reply,
                        struct mlq_err *err)
{
    int rc = req->type == MLQ_MSG_SCHEDULES
                 ? mlq_pages_request(cli, req, MLQ_MSG_SCHEDULE_LIST, 0, reply, err)
                 : mlq_cli_request(cli, req, MLQ_MSG_SCHEDULE_LIST, reply, err);
    if (rc == 0 && req->type != MLQ_MSG_SCHEDULES && reply->u.schedule_list.nschedules > 1) {
        mlq_proto_msg_free(reply);
        rc = mlq_err_set(err, MLQ_EPROTO, "scheduler answered with several schedules");
    }
    return rc;
}

static int run_add(struct mlq_cli *cli, int argc, char **argv)
{
    struct mlq_err err = {0};
    struct mlq_msg req = {.type = MLQ_MSG_SCHEDULE_ADD}, reply;
    struct mlq_cli_submit_opts opts;
    int rc = mlq_cli_schedule_parse_add(argc, argv, &req.u.schedule_add.sched, &opts, &err);
    if (rc == MLQ_CLI_EUSAGE) {
        fprintf(stderr, "mlq: %s (see `mlq schedule --help`)\n", err.msg);
        return MLQ_EXIT_USAGE;
    }
    if (rc < 0)
        return mlq_out_fail(rc, &err);
    if (opts.help) {
        fputs(schedule_usage, stdout);
        mlq_proto_scheduleinfo_free(&req.u.schedule_add.sched);
        return MLQ_EXIT_OK;
    }
    if (opts.scheduler)
        cli->scheduler_opt = opts.scheduler;
    if (opts.timeout_ms > 0)
        cli->timeout_ms = opts.timeout_ms;
    rc = request_list(cli, &req, &reply, &err);
    mlq_proto_scheduleinfo_free(&req.u.schedule_add.sched);
    if (rc < 0)
        return mlq_out_fail(rc, &err);
    if (opts.json) {
        rc = print_sched_json(&reply, true);
    } else if (reply.u.schedule_list.nschedules == 1) {
        const struct mlq_scheduleinfo *s = &reply.u.schedule_list.schedules[0];
        char when[64];
        fprintf(stderr, "added schedule %s; next run %s\n", s->name,
                mlq_out_time_zone(s->nnext > 0 ? s->next_fires[0] : 0, s->timezone, when,
                                  sizeof(when)));
    }
    mlq_proto_msg_free(&reply);
    return rc < 0 ? mlq_out_fail(rc, NULL) : MLQ_EXIT_OK;
}

/* Options of list and show: --json, --scheduler, --timeout. Returns -1 to
 * go on with argv[optind..], else the exit code. */
static int parse_simple(struct mlq_cli *cli, const char *sub, int argc, char **argv, bool *json,
                        int nargs)
{
    static const struct option longopts[] = {
        MLQ_CLI_COMMON_LONGOPTS,
        MLQ_CLI_TIMEOUT_LONGOPT,
        {"json", no_argument, NULL, MLQ_CLI_OPT_JSON},
        {NULL, 0, NULL, 0},
    };
    struct mlq_err err = {0};
    int c, rc = 0;
    *json = false;
    optind = 0;
    opterr = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(schedule_usage, stdout);
            return MLQ_EXIT_OK;
        }
        if (c == '?' || c == ':')
            rc = mlq_cli_getopt_error(sub, c, argc, argv, &err);
        else if (c == MLQ_CLI_OPT_JSON)
            *json = true;
        else if (c == MLQ_CLI_OPT_SCHEDULER)
            cli->scheduler_opt = optarg;
        else
            rc = mlq_cli_parse_timeout(optarg, &cli->timeout_ms, &err);
    }
    if (rc == 0 && argc - optind != nargs)
        rc = mlq_err_set(&err, MLQ_CLI_EUSAGE, "schedule %s: %s", sub,
                         nargs ? "give one schedule NAME" : "takes no arguments");
    if (rc == MLQ_CLI_EUSAGE) {
        fprintf(stderr, "mlq: %s (see `mlq schedule --help`)\n", err.msg);
        return MLQ_EXIT_USAGE;
    }
    if (rc == 0 && nargs && mlq_proto_schedule_name_check(argv[optind], &err) < 0)
        rc = MLQ_EINVAL;
    return rc < 0 ? mlq_out_fail(rc, &err) : -1;
}

static int run_query(struct mlq_cli *cli, const char *sub, int argc, char **argv, bool one)
{
    bool json;
    int rc = parse_simple(cli, sub, argc, argv, &json, one ? 1 : 0);
    if (rc >= 0)
        return rc;
    struct mlq_err err = {0};
    struct mlq_msg req = {.type = MLQ_MSG_SCHEDULES}, reply;
    req.u.schedules.name = one ? argv[optind] : NULL;
    if ((rc = request_list(cli, &req, &reply, &err)) < 0)
        return mlq_out_fail(rc, &err);
    if (one && reply.u.schedule_list.nschedules != 1)
        rc = mlq_err_set(&err, MLQ_ENOTFOUND, "no schedule %.128s", argv[optind]);
    else if (json)
        rc = print_sched_json(&reply, one);
    else if (one)
        rc = print_show(&reply.u.schedule_list.schedules[0], cli->stdout_tty);
    else
        rc = print_list_table(&reply, cli->stdout_tty);
    mlq_proto_msg_free(&reply);
    return rc < 0 ? mlq_out_fail(rc, &err) : MLQ_EXIT_OK;
}

/* pause, resume, rm, run-now: what to send and what to say. */
static int run_cmd(struct mlq_cli *cli, const char *sub, const char *op, int argc, char **argv)
{
    bool json;
    int rc = parse_simple(cli, sub, argc, argv, &json, 1);
    if (rc >= 0)
        return rc;
    struct mlq_err err = {0};
    struct mlq_msg req = {.type = MLQ_MSG_SCHEDULE_CMD}, reply;
    const char *name = argv[optind];
    req.u.schedule_cmd.name = (char *)name;
    req.u.schedule_cmd.op = (char *)op;
    if ((rc = request_list(cli, &req, &reply, &err)) < 0)
        return mlq_out_fail(rc, &err);
    const struct mlq_scheduleinfo *s =
        reply.u.schedule_list.nschedules ? &reply.u.schedule_list.schedules[0] : NULL;
    char when[64];
    if (strcmp(op, "run_now") == 0 && s && s->nruns > 0)
        printf("%s\n", s->runs[0].job_id); /* the job it just submitted */
    else if (strcmp(op, "rm") == 0)
        fprintf(stderr, "removed schedule %s\n", name);
    else if (strcmp(op, "resume") == 0 && s)
        fprintf(stderr, "resumed schedule %s; next run %s\n", name,
                mlq_out_time_zone(s->nnext > 0 ? s->next_fires[0] : 0, s->timezone, when,
                                  sizeof(when)));
    else if (strcmp(op, "pause") == 0)
        fprintf(stderr, "paused schedule %s\n", name);
    mlq_proto_msg_free(&reply);
    return MLQ_EXIT_OK;
}

/* One row per subcommand: op is what schedule_cmd sends (NULL: not one). */
enum sub_kind { SUB_ADD, SUB_LIST, SUB_SHOW, SUB_CMD };
static const struct {
    const char *name;
    enum sub_kind kind;
    const char *op;
} subs[] = {
    {"add", SUB_ADD, NULL},          {"list", SUB_LIST, NULL},      {"show", SUB_SHOW, NULL},
    {"pause", SUB_CMD, "pause"},     {"resume", SUB_CMD, "resume"}, {"rm", SUB_CMD, "rm"},
    {"run-now", SUB_CMD, "run_now"},
};

/* --scheduler and --timeout may also come before the subcommand
 * (`mlq schedule --scheduler ADDR list`); returns how many words they took,
 * or -1 (usage error, message printed). */
static int leading_opts(struct mlq_cli *cli, int argc, char **argv)
{
    int i = 1;
    struct mlq_err err = {0};
    while (i < argc && strncmp(argv[i], "--", 2) == 0 && argv[i][2]) {
        const char *eq = strchr(argv[i], '=');
        size_t n = eq ? (size_t)(eq - argv[i]) : strlen(argv[i]);
        bool sched = n == 11 && strncmp(argv[i], "--scheduler", n) == 0;
        bool tmo = n == 9 && strncmp(argv[i], "--timeout", n) == 0;
        if (!sched && !tmo)
            break;
        const char *v = eq ? eq + 1 : (i + 1 < argc ? argv[++i] : NULL);
        if (!v) {
            fprintf(stderr, "mlq: schedule: option '%s' needs a value\n", argv[i]);
            return -1;
        }
        if (sched)
            cli->scheduler_opt = v;
        else if (mlq_cli_parse_timeout(v, &cli->timeout_ms, &err) < 0) {
            fprintf(stderr, "mlq: %s\n", err.msg);
            return -1;
        }
        i++;
    }
    return i - 1;
}

int mlq_cmd_schedule(struct mlq_cli *cli, int argc, char **argv)
{
    int skip = leading_opts(cli, argc, argv);
    if (skip < 0)
        return MLQ_EXIT_USAGE;
    argc -= skip;
    argv += skip;
    const char *sub = argc > 1 ? argv[1] : NULL;
    if (!sub || strcmp(sub, "-h") == 0 || strcmp(sub, "--help") == 0 || strcmp(sub, "help") == 0) {
        fputs(schedule_usage, sub ? stdout : stderr);
        return sub ? MLQ_EXIT_OK : MLQ_EXIT_USAGE;
    }
    for (size_t i = 0; i < sizeof(subs) / sizeof(subs[0]); i++) {
        if (strcmp(sub, subs[i].name) != 0)
            continue;
        switch (subs[i].kind) {
        case SUB_ADD:
            return run_add(cli, argc - 2, argv + 2);
        case SUB_LIST:
        case SUB_SHOW:
            return run_query(cli, sub, argc - 1, argv + 1, subs[i].kind == SUB_SHOW);
        case SUB_CMD:
            return run_cmd(cli, sub, subs[i].op, argc - 1, argv + 1);
        }
    }
    fprintf(stderr, "mlq: unknown schedule command '%.40s' (see `mlq schedule --help`)\n", sub);
    return MLQ_EXIT_USAGE;
}
