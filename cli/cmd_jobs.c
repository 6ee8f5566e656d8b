/* cmd_jobs: `mlq status`, `mlq list`, `mlq cancel` and `mlq wait`.
 *
 * Job ids on the command line are prefixes; they are checked locally (junk
 * never reaches the scheduler) and resolved by the scheduler with one `jobs`
 * request, after which only full ids are sent, so a job submitted meanwhile
 * can never make a prefix ambiguous halfway through a command. */
#include "cmd_jobs.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "pages.h"
#include "id.h"
#include "jobview.h"
#include "jobref.h"
#include "output.h"
#include "jsonview.h"
#include "res.h"

#define DEFAULT_LIST_LIMIT 100

enum {
    OPT_STATE = MLQ_CLI_OPT_FIRST_FREE,
    OPT_LIMIT,
    OPT_NAME,
    OPT_OWNER,
    OPT_ARRAY,
    OPT_SINCE,
};

/* Options of every command here; each command's table names the ones it
 * takes. */
struct jobs_opts {
    bool json;
    uint32_t states;                  /* bit (1 << state) per state; 0 = any */
    long limit;                       /* 0 = default */
    const char *name, *owner, *array; /* point into argv */
    int64_t since_ms;                 /* 0 = any */
};

struct jobs_cmd {
    const char *name;
    const char *usage;
    const struct option *longopts;
    bool needs_ids; /* at least one JOB argument */
};

static int usage_error(const struct jobs_cmd *cmd, const struct mlq_err *err)
{
    fprintf(stderr, "mlq: %s (see `mlq %s --help`)\n", err->msg, cmd->name);
    return MLQ_EXIT_USAGE;
}

/* --state A,B,...: adds each state to *out. */
static int parse_states(const char *s, uint32_t *out, struct mlq_err *err)
{
    char buf[128], *save = NULL;
    if (strlen(s) >= sizeof buf)
        return mlq_err_set(err, MLQ_CLI_EUSAGE, "--state is too long");
    snprintf(buf, sizeof buf, "%s", s);
    for (char *tok = strtok_r(buf, ",", &save); tok; tok = strtok_r(NULL, ",", &save)) {
        int st = mlq_job_state_parse(tok);
        if (st >= 0) {
            *out |= 1u << st;
            continue;
        }
        char names[128] = "";
        for (int i = 0; i < MLQ_JOB_STATE_COUNT; i++) {
            strcat(names, i ? ", " : "");
            strcat(names, mlq_job_state_name(i));
        }
        return mlq_err_set(err, MLQ_CLI_EUSAGE, "bad --state '%.40s' (one or more of %s)", tok,
                           names);
    }
    return *out ? 0 : mlq_err_set(err, MLQ_CLI_EUSAGE, "--state needs a state");
}

/* --name / --owner: a name as jobs and users carry them. */
static int parse_name_opt(const char *what, const char *s, const char **out, struct mlq_err *err)
{
    size_t n = strnlen(s, MLQ_MAX_NAME + 1);
    if (n == 0 || n > MLQ_MAX_NAME)
        return mlq_err_set(err, MLQ_CLI_EUSAGE, "bad %s (1..%d bytes)", what, MLQ_MAX_NAME);
    *out = s;
    return 0;
}

static int one_opt(int c, struct mlq_cli *cli, struct jobs_opts *o, struct mlq_err *err)
{
    switch (c) {
    case MLQ_CLI_OPT_JSON:
        o->json = true;
        return 0;
    case MLQ_CLI_OPT_SCHEDULER:
        cli->scheduler_opt = optarg;
        return 0;
    case MLQ_CLI_OPT_TIMEOUT:
        return mlq_cli_parse_timeout(optarg, &cli->timeout_ms, err);
    case OPT_STATE:
        return parse_states(optarg, &o->states, err);
    case OPT_LIMIT:
        return mlq_cli_parse_int("--limit", optarg, 1, MLQ_MAX_LIST, &o->limit, err);
    case OPT_NAME:
        return parse_name_opt("--name", optarg, &o->name, err);
    case OPT_OWNER:
        return parse_name_opt("--owner", optarg, &o->owner, err);
    case OPT_ARRAY:
        if (!mlq_id_prefix_valid(optarg))
            return mlq_err_set(err, MLQ_CLI_EUSAGE, "bad --array '%.40s' (an array id or prefix)",
                               optarg);
        o->array = optarg;
        return 0;
    case OPT_SINCE:
        return mlq_out_parse_since(optarg, mlq_clock_wall_ms(), &o->since_ms, err);
    default:
        return mlq_err_set(err, MLQ_CLI_EUSAGE, "%s: unexpected option", "mlq");
    }
}

/* Parses argv; returns -1 to go on (job ids are argv[optind..argc)), else
 * the exit code. */
static int parse_opts(const struct jobs_cmd *cmd, struct mlq_cli *cli, int argc, char **argv,
                      struct jobs_opts *o)
{
    struct mlq_err err = {0};
    memset(o, 0, sizeof(*o));
    int c, rc = 0;
    optind = 0;
    opterr = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, ":h", cmd->longopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(cmd->usage, stdout);
            return MLQ_EXIT_OK;
        }
        if (c == '?' || c == ':')
            rc = mlq_cli_getopt_error(cmd->name, c, argc, argv, &err);
        else
            rc = one_opt(c, cli, o, &err);
    }
    if (rc == 0 && cmd->needs_ids && optind >= argc)
        rc = mlq_err_set(&err, MLQ_CLI_EUSAGE, "%s: no job given", cmd->name);
    if (rc == 0 && !cmd->needs_ids && optind < argc)
        rc = mlq_err_set(&err, MLQ_CLI_EUSAGE, "%s: unexpected argument '%.40s'", cmd->name,
                         argv[optind]);
    if (rc == MLQ_CLI_EUSAGE)
        return usage_error(cmd, &err);
    if (rc == 0 && cmd->needs_ids)
        rc = mlq_cli_check_ids(argv + optind, argc - optind, &err);
    return rc < 0 ? mlq_out_fail(rc, &err) : -1;
}

static json_t *jobs_json(const struct mlq_jobinfo *jobs, uint32_t n, bool status)
{
    json_t *arr = json_array();
    for (uint32_t i = 0; arr && i < n; i++)
        if (json_array_append_new(arr, status ? mlq_jsonview_job_status(&jobs[i])
                                              : mlq_jsonview_job(&jobs[i])) < 0) {
            json_decref(arr);
            arr = NULL;
        }
    return arr;
}

static json_t *arrays_json(const struct mlq_arrayinfo *a, uint32_t n)
{
    json_t *arr = json_array();
    for (uint32_t i = 0; arr && i < n; i++)
        if (json_array_append_new(arr, mlq_jsonview_array(&a[i])) < 0) {
            json_decref(arr);
            arr = NULL;
        }
    return arr;
}

static int print_doc(json_t *doc)
{
    int rc = doc ? mlq_out_json_print(stdout, doc) : MLQ_ENOMEM;
    json_decref(doc);
    return rc < 0 ? mlq_out_fail(rc, NULL) : MLQ_EXIT_OK;
}

/* `list`: {"jobs": [...]}. */
static int print_jobs_json(const struct mlq_jobinfo *jobs, uint32_t n)
{
    json_t *arr = jobs_json(jobs, n, false);
    return print_doc(arr ? json_pack("{s:o}", "jobs", arr) : NULL);
}

/* `status`: one job or array as an object, several as {"jobs": [...],
 * "arrays": [...]}; jobs with their attempts. */
static int print_status_json(const struct mlq_msg *list, int n)
{
    const struct mlq_jobinfo *jobs = list->u.job_list.jobs;
    const struct mlq_arrayinfo *arrays = list->u.job_list.arrays;
    if (n == 1)
        return print_doc(list->u.job_list.njobs == 1 ? mlq_jsonview_job_status(&jobs[0])
                                                     : mlq_jsonview_array(&arrays[0]));
    json_t *j = jobs_json(jobs, list->u.job_list.njobs, true);
    json_t *a = arrays_json(arrays, list->u.job_list.narrays);
    if (!j || !a) {
        json_decref(j);
        json_decref(a);
        return print_doc(NULL);
    }
    return print_doc(json_pack("{s:o, s:o}", "jobs", j, "arrays", a));
}

/* Human pages for each reference, in the order given. */
static int print_status_pages(const struct mlq_msg *list, char **refs, int n, bool colour)
{
    int64_t now = mlq_clock_wall_ms();
    uint32_t next_job = 0;
    int rc = 0;
    for (int i = 0; rc == 0 && i < n; i++) {
        const struct mlq_jobinfo *job;
        const struct mlq_arrayinfo *arr;
        if (i > 0)
            putchar('\n');
        rc = mlq_cli_ref_find(list, refs[i], &job, &arr, &next_job);
        if (rc == 0)
            rc = job ? mlq_jobview_print(stdout, job, colour, now)
                     : mlq_jobview_print_array(stdout, arr, colour);
    }
    return rc < 0 ? mlq_out_fail(rc, NULL) : MLQ_EXIT_OK;
}

/* ---- status ---- */

static const struct option status_longopts[] = {
    MLQ_CLI_COMMON_LONGOPTS,
    MLQ_CLI_TIMEOUT_LONGOPT,
    {"json", no_argument, NULL, MLQ_CLI_OPT_JSON},
    {NULL, 0, NULL, 0},
};

static const struct jobs_cmd status_cmd = {
    "status",
    "usage: mlq status [--json] JOB...\n\n"
    "Shows everything about each job (any unique prefix of its id, or the name\n"
    "of one of your active jobs): its state, the placement it asked for,\n"
    "retries used, when a retry may start, its dependencies, and every attempt;\n"
    "for a gang job (--nodes) its node count and each node's rank, worker,\n"
    "address, state and exit.\n"
    "An array id shows the array: tasks per state and which did not succeed;\n"
    "ARRAY/N shows task N.\n"
    "  --json            one JSON object (or {\"jobs\": [...], \"arrays\": [...]}\n"
    "                    for several)\n"
    "  --scheduler ADDR  scheduler address\n"
    "  --timeout DUR     how long to wait for the scheduler's answer (default 10s)\n",
    status_longopts, true};

int mlq_cmd_status(struct mlq_cli *cli, int argc, char **argv)
{
    struct jobs_opts o;
    int rc = parse_opts(&status_cmd, cli, argc, argv, &o);
    if (rc >= 0)
        return rc;
    struct mlq_err err = {0};
    struct mlq_msg reply;
    int n = argc - optind;
    if ((rc = mlq_cli_fetch_refs(cli, argv + optind, n, &reply, &err)) < 0)
        return mlq_cli_refs_fail(cli, rc, &err, argv + optind, n);
    rc = o.json ? print_status_json(&reply, n)
                : print_status_pages(&reply, argv + optind, n, cli->stdout_tty);
    mlq_proto_msg_free(&reply);
    return rc;
}

/* ---- list ---- */

static int newest_first(const void *a, const void *b)
{
    const struct mlq_jobinfo *x = a, *y = b;
    if (x->submit_ms != y->submit_ms)
        return x->submit_ms > y->submit_ms ? -1 : 1;
    return -strcmp(x->id, y->id);
}

/* The NODES cell: a gang's node count, "-" for an ordinary job. */
static const char *nodes_cell(const struct mlq_jobinfo *j, char *buf, size_t len)
{
    if (j->nodes == 0)
        return "-";
    snprintf(buf, len, "%u", (unsigned)j->nodes);
    return buf;
}

/* "2", "0.25", "a100|h100:2"; a share by GPU memory alone: "(10G)". */
static void gpu_cell(const struct mlq_jobinfo *j, char *buf, size_t len, char *mem, size_t mlen)
{
    mlq_res_fmt_gpu_request(j->gpus, j->gpu_frac, j->gpu_type, buf, len);
    if (j->gpu_frac == 0 && j->gpu_mem > 0) {
        mlq_res_fmt_mem(j->gpu_mem, mem, mlen);
        snprintf(buf, len, "%s%s(%s)", j->gpu_type ? j->gpu_type : "", j->gpu_type ? ":" : "", mem);
    }
    for (char *p = buf; *p; p++) /* a table cell: printable only */
        if ((unsigned char)*p < 0x20 || (unsigned char)*p >= 0x7f)
            *p = '?';
}

/* The ELAPSED cell: how long it has run so far, or ran; "-" before it
 * started (waiting time is the SUBMITTED column's). */
static const char *elapsed_cell(const struct mlq_jobinfo *j, int64_t now, char *buf, size_t len)
{
    snprintf(buf, len, "-");
    if (j->start_ms <= 0)
        return buf;
    int64_t until = j->end_ms > 0 && mlq_job_state_terminal(j->state) ? j->end_ms : now;
    if (!mlq_job_state_terminal(j->state) && j->state != MLQ_JOB_RUNNING)
        return buf; /* waiting for a retry: not running now */
    return mlq_res_fmt_duration(until > j->start_ms ? until - j->start_ms : 0, buf, len);
}

static int add_job_row(struct mlq_table *t, const struct mlq_jobinfo *j, bool nodes_col,
                       int64_t now)
{
    char id[MLQ_SHORT_ID_LEN + 1], cpus[32], mem[32], when[64], exit[32], nodes[16];
    char elapsed[32], owner[MLQ_MAX_NAME + 1];
    char name[MLQ_MAX_NAME + 16], gpus[MLQ_MAX_GPU_TYPES + 64], gmem[32];
    mlq_id_short(j->id, id);
    gpu_cell(j, gpus, sizeof(gpus), gmem, sizeof(gmem));
    if (j->array_id && j->array_index >= 0) /* a task: name[index] */
        snprintf(name, sizeof(name), "%s[%d]", j->name ? j->name : "", (int)j->array_index);
    else
        snprintf(name, sizeof(name), "%s", j->name ? j->name : "-");
    const char *cells[] = {
        id,
        name,
        mlq_job_state_name(j->state),
        j->worker ? j->worker : "-",
        nodes_cell(j, nodes, sizeof(nodes)),
        mlq_res_fmt_cpus(j->cpus_m, cpus, sizeof(cpus)),
        mlq_res_fmt_mem(j->mem, mem, sizeof(mem)),
        gpus,
        mlq_out_clean(j->owner, owner, sizeof owner),
        mlq_out_time_local(j->submit_ms, when, sizeof(when)),
        elapsed_cell(j, now, elapsed, sizeof elapsed),
        mlq_out_exit(j, exit, sizeof(exit)),
    };
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof(cells) / sizeof(cells[0]); i++)
        if (i != 4 || nodes_col)
            rc = mlq_table_add(t, cells[i], i == 2 ? mlq_out_state_colour(j->state) : NULL);
    return rc;
}

/* Only a listing with a gang of more than one node has a NODES column, so
 * that the table of ordinary jobs stays as it was. */
static bool want_nodes_col(const struct mlq_jobinfo *jobs, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        if (jobs[i].nodes > 1)
            return true;
    return false;
}

int mlq_cmd_list_print(FILE *f, const struct mlq_jobinfo *jobs, uint32_t n, bool colour)
{
    static const char *const plain[] = {"ID",   "NAME",  "STATE",     "WORKER",  "CPUS", "MEM",
                                        "GPUS", "OWNER", "SUBMITTED", "ELAPSED", "EXIT"};
    static const char *const gang[] = {"ID",  "NAME", "STATE", "WORKER",    "NODES",   "CPUS",
                                       "MEM", "GPUS", "OWNER", "SUBMITTED", "ELAPSED", "EXIT"};
    bool nodes_col = want_nodes_col(jobs, n);
    struct mlq_table *t = mlq_table_create(nodes_col ? 12 : 11, nodes_col ? gang : plain);
    int rc = t ? 0 : MLQ_ENOMEM;
    int64_t now = mlq_clock_wall_ms();
    for (uint32_t i = 0; rc == 0 && i < n; i++)
        rc = add_job_row(t, &jobs[i], nodes_col, now);
    if (rc == 0)
        rc = mlq_table_print(t, f, colour);
    mlq_table_destroy(&t);
    return rc;
}

static int print_jobs_table(const struct mlq_jobinfo *jobs, uint32_t n, bool colour)
{
    int rc = mlq_cmd_list_print(stdout, jobs, n, colour);
    return rc < 0 ? mlq_out_fail(rc, NULL) : MLQ_EXIT_OK;
}

static const struct option list_longopts[] = {
    MLQ_CLI_COMMON_LONGOPTS,
    MLQ_CLI_TIMEOUT_LONGOPT,
    {"json", no_argument, NULL, MLQ_CLI_OPT_JSON},
    {"state", required_argument, NULL, OPT_STATE},
    {"limit", required_argument, NULL, OPT_LIMIT},
    {"name", required_argument, NULL, OPT_NAME},
    {"owner", required_argument, NULL, OPT_OWNER},
    {"array", required_argument, NULL, OPT_ARRAY},
    {"since", required_argument, NULL, OPT_SINCE},
    {NULL, 0, NULL, 0},
};

static const struct jobs_cmd list_cmd = {
    "list",
    "usage: mlq list [--state STATE,...] [--name NAME] [--owner USER] [--array ID]\n"
    "                [--since DATE|DUR] [--limit N] [--json]\n\n"
    "Lists jobs, newest first (with a NODES column when a gang job is among them);\n"
    "OWNER is who submitted it, ELAPSED how long it has run (so far, or in all).\n"
    "  --state STATE,... only jobs in these states (PENDING, RUNNING, FAILED, ...)\n"
    "  --name NAME       only jobs of this name (tasks of arrays of this name too)\n"
    "  --owner USER      only USER's jobs\n"
    "  --array ID        only the tasks of this array (any unique prefix of its id)\n"
    "  --since DATE|DUR  only jobs submitted since DATE (2026-12-01, or\n"
    "                    \"2026-12-01 14:00\", local time) or in the last DUR (2h)\n"
    "  --limit N         at most N jobs (default 100, at most 10000)\n"
    "  --json            {\"jobs\": [...]}\n"
    "  --scheduler ADDR  scheduler address\n"
    "  --timeout DUR     how long to wait for the scheduler's answer (default 10s)\n",
    list_longopts, false};

int mlq_cmd_list(struct mlq_cli *cli, int argc, char **argv)
{
    struct jobs_opts o;
    int rc = parse_opts(&list_cmd, cli, argc, argv, &o);
    if (rc >= 0)
        return rc;
    struct mlq_err err = {0};
    struct mlq_msg req = {.type = MLQ_MSG_JOBS}, reply;
    /* One state goes as `state` too, which schedulers without `states`
     * read. */
    req.u.jobs.state = -1;
    for (int i = 0; i < MLQ_JOB_STATE_COUNT; i++)
        if (o.states == 1u << i)
            req.u.jobs.state = i;
    req.u.jobs.states = o.states;
    req.u.jobs.name = (char *)o.name;
    req.u.jobs.owner = (char *)o.owner;
    req.u.jobs.array = (char *)o.array;
    req.u.jobs.since_ms = o.since_ms;
    uint32_t limit = (uint32_t)(o.limit ? o.limit : DEFAULT_LIST_LIMIT);
    req.u.jobs.limit = limit;
    if ((rc = mlq_pages_request(cli, &req, MLQ_MSG_JOB_LIST, limit, &reply, &err)) < 0)
        return mlq_out_fail(rc, &err);
    struct mlq_jobinfo *jobs = reply.u.job_list.jobs;
    uint32_t n = reply.u.job_list.njobs;
    if (reply.u.job_list.next) /* the scheduler has older ones */
        fprintf(stderr, "mlq: the newest %u jobs shown; --limit N shows more\n", n);
    if (n > 1)
        qsort(jobs, n, sizeof(*jobs), newest_first);
    rc = o.json ? print_jobs_json(jobs, n) : print_jobs_table(jobs, n, cli->stdout_tty);
    mlq_proto_msg_free(&reply);
    return rc;
}

/* ---- cancel ---- */

static const struct option cancel_longopts[] = {
    MLQ_CLI_COMMON_LONGOPTS,
    MLQ_CLI_TIMEOUT_LONGOPT,
    {NULL, 0, NULL, 0},
};

static const struct jobs_cmd cancel_cmd = {
    "cancel",
    "usage: mlq cancel JOB...\n\n"
    "Cancels jobs (any unique prefix of their ids, or the name of one of your\n"
    "active jobs); running jobs are killed.\n"
    "An array id cancels every task of the array that has not ended; ARRAY/N\n"
    "cancels task N only.\n"
    "  --scheduler ADDR  scheduler address\n"
    "  --timeout DUR     how long to wait for the scheduler's answer (default 10s)\n",
    cancel_longopts, true};

static const struct mlq_jobinfo *find_job(const struct mlq_msg *list, const char *id)
{
    for (uint32_t i = 0; i < list->u.job_list.njobs; i++)
        if (strcmp(list->u.job_list.jobs[i].id, id) == 0)
            return &list->u.job_list.jobs[i];
    return NULL;
}

static const struct mlq_arrayinfo *find_array(const struct mlq_msg *list, const char *id)
{
    for (uint32_t i = 0; i < list->u.job_list.narrays; i++)
        if (strcmp(list->u.job_list.arrays[i].id, id) == 0)
            return &list->u.job_list.arrays[i];
    return NULL;
}

static bool array_ended(const struct mlq_arrayinfo *a)
{
    return mlq_jsonview_array_ended(a) >= a->size;
}

/* What cancelling an array did: tasks cancelled now (from the counts before
 * and after), or that it had ended already. */
static void report_cancel_array(const struct mlq_arrayinfo *before,
                                const struct mlq_arrayinfo *after)
{
    char id[MLQ_SHORT_ID_LEN + 1];
    mlq_id_short(before->id, id);
    if (!after) {
        fprintf(stderr, "array %s already ended\n", id);
        return;
    }
    uint32_t b = before->counts[MLQ_JOB_CANCELLED], a = after->counts[MLQ_JOB_CANCELLED];
    fprintf(stderr, "cancelled %u task%s of array %s\n", a > b ? a - b : 0, a - b == 1 ? "" : "s",
            id);
}

/* Reports what happened to one job: `after` is its state in the cancel reply
 * (NULL when it was terminal already and not sent). */
static void report_cancel(const struct mlq_jobinfo *before, const struct mlq_jobinfo *after)
{
    char id[MLQ_SHORT_ID_LEN + 1];
    mlq_id_short(before->id, id);
    const struct mlq_jobinfo *now = after ? after : before;
    if (mlq_job_state_terminal(now->state) && (!after || now->state != MLQ_JOB_CANCELLED))
        fprintf(stderr, "%s already %s\n", id, mlq_job_state_name(now->state));
    else
        fprintf(stderr, "cancelled %s\n", id);
}

/* Sends `cancel` for the jobs of `before` that are not terminal yet. */
static int send_cancel(struct mlq_cli *cli, const struct mlq_msg *before, struct mlq_msg *reply,
                       struct mlq_err *err)
{
    uint32_t n = before->u.job_list.njobs, na = before->u.job_list.narrays, k = 0;
    char **ids = calloc(n + na + 1, sizeof(*ids));
    if (!ids)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    for (uint32_t i = 0; i < n; i++)
        if (!mlq_job_state_terminal(before->u.job_list.jobs[i].state))
            ids[k++] = (char *)before->u.job_list.jobs[i].id;
    for (uint32_t i = 0; i < na; i++)
        if (!array_ended(&before->u.job_list.arrays[i]))
            ids[k++] = (char *)before->u.job_list.arrays[i].id;
    int rc = 0;
    memset(reply, 0, sizeof(*reply));
    if (k > 0) {
        struct mlq_msg req = {.type = MLQ_MSG_CANCEL};
        req.u.cancel.ids = ids;
        req.u.cancel.nids = k;
        rc = mlq_cli_request(cli, &req, MLQ_MSG_JOB_LIST, reply, err);
    }
    free(ids);
    return rc;
}

int mlq_cmd_cancel(struct mlq_cli *cli, int argc, char **argv)
{
    struct jobs_opts o;
    int rc = parse_opts(&cancel_cmd, cli, argc, argv, &o);
    if (rc >= 0)
        return rc;
    struct mlq_err err = {0};
    struct mlq_msg before, after;
    if ((rc = mlq_cli_fetch_refs(cli, argv + optind, argc - optind, &before, &err)) < 0)
        return mlq_cli_refs_fail(cli, rc, &err, argv + optind, argc - optind);
    if ((rc = send_cancel(cli, &before, &after, &err)) < 0) {
        mlq_proto_msg_free(&before);
        return mlq_out_fail(rc, &err);
    }
    for (uint32_t i = 0; i < before.u.job_list.njobs; i++) {
        const struct mlq_jobinfo *b = &before.u.job_list.jobs[i];
        report_cancel(b, mlq_job_state_terminal(b->state) ? NULL : find_job(&after, b->id));
    }
    for (uint32_t i = 0; i < before.u.job_list.narrays; i++) {
        const struct mlq_arrayinfo *b = &before.u.job_list.arrays[i];
        report_cancel_array(b, array_ended(b) ? NULL : find_array(&after, b->id));
    }
    mlq_proto_msg_free(&after);
    mlq_proto_msg_free(&before);
    return MLQ_EXIT_OK;
}
