/* cmd_workers: `mlq workers [--json] [--gpus]`: every worker the scheduler
 * knows, its state, the address it advertised, its pool and labels, what it has and what is in use,
 * and when it was last heard from; below the table, why drained workers are drained and (with
 * --gpus) every GPU with the job holding it. */
#include "cmd_workers.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "cmd_wsummary.h"
#include "pages.h"
#include "output.h"
#include "jsonview.h"
#include "res.h"

static const char workers_usage[] =
    "usage: mlq workers [--json] [--gpus]\n"
    "       mlq workers --summary [--json]\n\n"
    "Lists the workers, the address other hosts reach each at (mlq-worker\n"
    "--advertise-addr), their pool and labels and their resources (used/total).\n"
    "A worker that is draining (mlq-worker --drain-and-exit) shows as\n"
    "\"UP (draining)\", one an admin drained (mlq drain) as \"UP (drained)\" with its\n"
    "reason below the table: both finish their jobs but take no new ones.\n"
    "A worker that refused several assignments in a row shows as \"UP (unhealthy)\"\n"
    "with the last refusal below the table: no job is placed on it until it starts\n"
    "one again, a cool-down passes or an admin runs `mlq resume` on it.\n"
    "LIMITS says how the worker holds jobs to their --mem and --cpus: enforce/v2,\n"
    "enforce/v1 (cgroup v2 or v1 limits), account/v2, account/v1 (cgroups that\n"
    "only measure) or none (no cgroups: usage from /proc).\n"
    "  --gpus            also list every GPU: type, UUID, the job holding it and,\n"
    "                    where the worker reads NVML, its utilisation and memory in\n"
    "                    use; IDLE marks a GPU held by a job at 0% for 10 minutes\n"
    "An admin's `mlq admin worker set` shows below the table, with what the worker\n"
    "itself says: \"w1: pool gpu (set by admin; worker says default)\".\n"
    "  --summary         one line per pool: workers up, drained, down and unhealthy;\n"
    "                    CPUs, memory and GPUs by type, free/total (free: on workers\n"
    "                    that take jobs now); and a TOTAL line\n"
    "  --json            {\"workers\": [...]}, GPUs included; with --summary\n"
    "                    {\"pools\": [...], \"total\": {...}}\n"
    "  --scheduler ADDR  scheduler address\n"
    "  --timeout DUR     how long to wait for the scheduler's answer (default 10s)\n";

static const struct option workers_longopts[] = {
    MLQ_CLI_COMMON_LONGOPTS,
    MLQ_CLI_TIMEOUT_LONGOPT,
    {"json", no_argument, NULL, MLQ_CLI_OPT_JSON},
    {"gpus", no_argument, NULL, 'g'},
    {"summary", no_argument, NULL, 's'},
    {NULL, 0, NULL, 0},
};

struct workers_opts {
    bool json, gpus, summary;
};

/* Returns -1 to go on, else the exit code. */
static int workers_parse(struct mlq_cli *cli, int argc, char **argv, struct workers_opts *o)
{
    struct mlq_err err = {0};
    int c, rc = 0;
    *o = (struct workers_opts){0};
    optind = 0;
    opterr = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, ":h", workers_longopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(workers_usage, stdout);
            return MLQ_EXIT_OK;
        } else if (c == MLQ_CLI_OPT_JSON) {
            o->json = true;
        } else if (c == 'g') {
            o->gpus = true;
        } else if (c == 's') {
            o->summary = true;
        } else if (c == MLQ_CLI_OPT_SCHEDULER) {
            cli->scheduler_opt = optarg;
        } else if (c == MLQ_CLI_OPT_TIMEOUT) {
            rc = mlq_cli_parse_timeout(optarg, &cli->timeout_ms, &err);
        } else {
            rc = mlq_cli_getopt_error("workers", c, argc, argv, &err);
        }
    }
    if (rc == 0 && optind < argc)
        rc =
            mlq_err_set(&err, MLQ_CLI_EUSAGE, "workers: unexpected argument '%.40s'", argv[optind]);
    if (rc == 0 && o->summary && o->gpus)
        rc = mlq_err_set(&err, MLQ_CLI_EUSAGE, "workers: --summary and --gpus exclude each other");
    if (rc < 0) {
        fprintf(stderr, "mlq: %s (see `mlq workers --help`)\n", err.msg);
        return MLQ_EXIT_USAGE;
    }
    return -1;
}

static int print_workers_json(const struct mlq_workerinfo *w, uint32_t n)
{
    json_t *arr = json_array();
    for (uint32_t i = 0; arr && i < n; i++)
        if (json_array_append_new(arr, mlq_jsonview_worker(&w[i])) < 0) {
            json_decref(arr);
            arr = NULL;
        }
    json_t *doc = arr ? json_pack("{s:o}", "workers", arr) : NULL;
    int rc = doc ? mlq_out_json_print(stdout, doc) : MLQ_ENOMEM;
    json_decref(doc);
    return rc < 0 ? mlq_out_fail(rc, NULL) : MLQ_EXIT_OK;
}

/* w2 before w10: names sorted the way people number them. */
static int by_name(const void *a, const void *b)
{
    const struct mlq_workerinfo *x = a, *y = b;
    return strverscmp(x->name ? x->name : "", y->name ? y->name : "");
}

static const char *worker_colour(const struct mlq_workerinfo *w)
{
    if (!w->state)
        return NULL;
    if (strcmp(w->state, "UP") != 0)
        return "\033[31m";
    return w->draining || w->drain_reason || w->unhealthy ? "\033[33m" : "\033[32m";
}

/* "UP", "LOST", "UP (draining)" for a worker that takes no new jobs, or
 * "UP (drained)" when an admin said so, "UP (unhealthy)" after refusals. */
static const char *worker_state_text(const struct mlq_workerinfo *w, char *buf, size_t len)
{
    if (!w->draining && !w->drain_reason && !w->unhealthy)
        return w->state;
    snprintf(buf, len, "%.*s (%s)", MLQ_MAX_NAME, w->state ? w->state : "-",
             w->drain_reason ? "drained"
             : w->draining   ? "draining"
                             : "unhealthy");
    return buf;
}

/* "zone=eu,ib=hdr", "-" when none; cut short with "..." past len. */
static const char *labels_text(const struct mlq_workerinfo *w, char *buf, size_t len)
{
    size_t pos = 0;
    snprintf(buf, len, "-");
    for (uint32_t i = 0; w->labels && i < w->nlabels && pos < len; i++) {
        int n = snprintf(buf + pos, len - pos, "%s%s", i ? "," : "", w->labels[i]);
        pos += n > 0 ? (size_t)n : 0;
    }
    if (pos >= len && len > 4)
        memcpy(buf + len - 4, "...", 4);
    return buf;
}

/* "0.1.0+be07618": the release and the git description the worker sent in
 * its register; "-" for a worker that did not say (an older one, or one not
 * seen since the scheduler started). */
static const char *version_text(const struct mlq_workerinfo *w, char *buf, size_t len)
{
    char rel[MLQ_MAX_VERSION + 1], git[MLQ_MAX_VERSION + 1];
    if (!w->version)
        return "-";
    mlq_out_clean(w->version, rel, sizeof(rel));
    if (w->git)
        snprintf(buf, len, "%s+%s", rel, mlq_out_clean(w->git, git, sizeof(git)));
    else
        snprintf(buf, len, "%s", rel);
    return buf;
}

/* "2/4"; with shares "1.75/4" (a shared GPU counts what its shares book).
 * A scheduler that does not say (gpus_used_h 0) gives the whole count. */
static void gpus_used_text(const struct mlq_workerinfo *w, char *buf, size_t len)
{
    int32_t h = w->gpus_used_h;
    if (h <= 0 || h == w->gpus_used * 100)
        snprintf(buf, len, "%d/%d", (int)w->gpus_used, (int)w->gpus);
    else if (h % 10 == 0)
        snprintf(buf, len, "%d.%d/%d", (int)(h / 100), (int)(h % 100 / 10), (int)w->gpus);
    else
        snprintf(buf, len, "%d.%02d/%d", (int)(h / 100), (int)(h % 100), (int)w->gpus);
}

static int add_worker_row(struct mlq_table *t, const struct mlq_workerinfo *w, int64_t now)
{
    char cpus[64], a[32], b[32], mem[64], gpus[32], running[16], seen[32], labels[96];
    char state[MLQ_MAX_NAME + 16], addr[MLQ_MAX_HOST + 1];
    char version[2 * MLQ_MAX_VERSION + 2];
    snprintf(cpus, sizeof(cpus), "%s/%s", mlq_res_fmt_cpus(w->cpus_used_m, a, sizeof(a)),
             mlq_res_fmt_cpus(w->cpus_m, b, sizeof(b)));
    snprintf(mem, sizeof(mem), "%s/%s", mlq_res_fmt_mem(w->mem_used, a, sizeof(a)),
             mlq_res_fmt_mem(w->mem, b, sizeof(b)));
    gpus_used_text(w, gpus, sizeof(gpus));
    snprintf(running, sizeof(running), "%d", (int)w->running);
    const char *cells[] = {
        w->name,
        worker_state_text(w, state, sizeof(state)),
        w->addr ? mlq_out_clean(w->addr, addr, sizeof(addr)) : "-",
        w->pool ? w->pool : "default",
        labels_text(w, labels, sizeof(labels)),
        cpus,
        mem,
        gpus,
        running,
        mlq_out_time_ago(now, w->last_seen_ms, seen, sizeof(seen)),
        w->limits ? w->limits : "-",
        version_text(w, version, sizeof(version)),
    };
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof(cells) / sizeof(cells[0]); i++)
        rc = mlq_table_add(t, cells[i], i == 1 ? worker_colour(w) : NULL);
    return rc;
}

/* "w1 drained: bad fan" for every worker an admin drained. */
static void print_drain_reasons(FILE *f, const struct mlq_workerinfo *w, uint32_t n)
{
    char name[MLQ_MAX_NAME + 1], reason[MLQ_MAX_REASON + 1];
    bool first = true;
    for (uint32_t i = 0; i < n; i++) {
        if (!w[i].drain_reason)
            continue;
        if (first)
            fputc('\n', f);
        first = false;
        fprintf(f, "%s drained: %s\n", mlq_out_clean(w[i].name, name, sizeof(name)),
                mlq_out_clean(w[i].drain_reason, reason, sizeof(reason)));
    }
    for (uint32_t i = 0; i < n; i++) {
        if (!w[i].unhealthy)
            continue;
        if (first)
            fputc('\n', f);
        first = false;
        fprintf(f, "%s unhealthy: %s\n", mlq_out_clean(w[i].name, name, sizeof(name)),
                w[i].health ? mlq_out_clean(w[i].health, reason, sizeof(reason)) : "refusals");
    }
}

/* ", cpus 2 (set by admin; worker says 4)": one value an admin set over
 * what the worker reports, when they differ. */
static void print_set_item(FILE *f, bool *first, const char *what, const char *set,
                           const char *says)
{
    if (strcmp(set, says) == 0)
        return;
    fprintf(f, "%s%s %s (set by admin; worker says %s)", *first ? ": " : ", ", what, set, says);
    *first = false;
}

static void print_set_worker(FILE *f, const struct mlq_workerinfo *w)
{
    char name[MLQ_MAX_NAME + 1], a[96], b[96];
    struct mlq_workerinfo rep = {.labels = w->rep_labels, .nlabels = w->rep_nlabels};
    bool first = true;
    fprintf(f, "%s", mlq_out_clean(w->name, name, sizeof(name)));
    print_set_item(f, &first, "pool", w->pool ? w->pool : "default",
                   w->rep_pool ? w->rep_pool : "default");
    print_set_item(f, &first, "labels", labels_text(w, a, sizeof(a)),
                   labels_text(&rep, b, sizeof(b)));
    print_set_item(f, &first, "cpus", mlq_res_fmt_cpus(w->cpus_m, a, sizeof(a)),
                   mlq_res_fmt_cpus(w->rep_cpus_m, b, sizeof(b)));
    print_set_item(f, &first, "mem", mlq_res_fmt_mem(w->mem, a, sizeof(a)),
                   mlq_res_fmt_mem(w->rep_mem, b, sizeof(b)));
    snprintf(a, sizeof(a), "%d", (int)w->gpus);
    snprintf(b, sizeof(b), "%d", (int)w->rep_gpus);
    print_set_item(f, &first, "gpus", a, b);
    fprintf(f, "%s\n", first ? ": set by admin, as the worker says" : "");
}

/* One line per worker an admin set something on (`mlq admin worker set`):
 * what is in effect and what the worker itself says. */
static void print_set_by_admin(FILE *f, const struct mlq_workerinfo *w, uint32_t n)
{
    bool first = true;
    for (uint32_t i = 0; i < n; i++) {
        if (!w[i].set_by_admin)
            continue;
        if (first)
            fputc('\n', f);
        first = false;
        print_set_worker(f, &w[i]);
    }
}

/* " util 37% mem 10.2G", from the worker's last heartbeat (NVML only), and
 * " IDLE 42m" for a GPU held by a job that has shown 0% for
 * MLQ_CLI_GPU_IDLE_MS or more: booked but doing nothing. */
#define MLQ_CLI_GPU_IDLE_MS (10 * 60 * 1000)
static void print_gpu_load(FILE *f, const struct mlq_gpuinfo *g)
{
    char mem[32];
    if (!g->util_known)
        return;
    fprintf(f, " util %d%% mem %s", (int)g->util, mlq_res_fmt_mem(g->mem_used, mem, sizeof mem));
    if (g->job_id && g->idle_ms >= MLQ_CLI_GPU_IDLE_MS) {
        int64_t min = g->idle_ms / 60000;
        if (min >= 60)
            fprintf(f, " IDLE %" PRId64 "h%02" PRId64 "m", min / 60, min % 60);
        else
            fprintf(f, " IDLE %" PRId64 "m", min);
    }
}

/* "w1 gpu0 h100 GPU-xxxx job 1a2b3c4d" or "... free", one line per GPU,
 * with its load when the worker reports it. */
static void print_gpu_lines(FILE *f, const struct mlq_workerinfo *w, uint32_t n)
{
    char name[MLQ_MAX_NAME + 1], type[MLQ_MAX_GPU_TYPE + 1], uuid[MLQ_MAX_NAME + 1];
    char job[MLQ_SHORT_ID_LEN + 1];
    bool first = true;
    for (uint32_t i = 0; i < n; i++) {
        for (uint32_t k = 0; w[i].gpu_list && k < w[i].ngpu_list; k++) {
            const struct mlq_gpuinfo *g = &w[i].gpu_list[k];
            if (first)
                fputc('\n', f);
            first = false;
            snprintf(job, sizeof(job), "%s", g->job_id ? g->job_id : "");
            fprintf(f, "%s gpu%d %s %s %s%s", mlq_out_clean(w[i].name, name, sizeof(name)),
                    (int)g->index, mlq_out_clean(g->type, type, sizeof(type)),
                    mlq_out_clean(g->uuid, uuid, sizeof(uuid)), g->job_id ? "job " : "free", job);
            if (g->nshares > 0)
                fprintf(f, " shared %d.%02d by %d job%s", (int)(g->share / 100),
                        (int)(g->share % 100), (int)g->nshares, g->nshares == 1 ? "" : "s");
            print_gpu_load(f, g);
            fputs(g->withheld ? " withheld by admin\n" : "\n", f);
        }
    }
}

int mlq_cli_workers_print(FILE *f, const struct mlq_workerinfo *w, uint32_t n, bool colour,
                          bool gpus)
{
    static const char *const headers[] = {"NAME",    "STATE",          "ADDRESS", "POOL",
                                          "LABELS",  "CPUS",           "MEM",     "GPUS",
                                          "RUNNING", "LAST-HEARTBEAT", "LIMITS",  "VERSION"};
    struct mlq_table *t = mlq_table_create(sizeof headers / sizeof headers[0], headers);
    int rc = t ? 0 : MLQ_ENOMEM;
    int64_t now = mlq_clock_wall_ms();
    for (uint32_t i = 0; rc == 0 && i < n; i++)
        rc = add_worker_row(t, &w[i], now);
    if (rc == 0)
        rc = mlq_table_print(t, f, colour);
    mlq_table_destroy(&t);
    if (rc < 0)
        return rc;
    print_drain_reasons(f, w, n);
    print_set_by_admin(f, w, n);
    if (gpus)
        print_gpu_lines(f, w, n);
    return ferror(f) ? MLQ_EIO : 0;
}

int mlq_cmd_workers(struct mlq_cli *cli, int argc, char **argv)
{
    struct workers_opts o;
    int rc = workers_parse(cli, argc, argv, &o);
    if (rc >= 0)
        return rc;
    if (o.summary)
        return mlq_cli_wsummary_run(cli, o.json);
    struct mlq_err err = {0};
    struct mlq_msg req = {.type = MLQ_MSG_WORKERS}, reply;
    if ((rc = mlq_pages_request(cli, &req, MLQ_MSG_WORKER_LIST, 0, &reply, &err)) < 0)
        return mlq_out_fail(rc, &err);
    struct mlq_workerinfo *w = reply.u.worker_list.workers;
    uint32_t n = reply.u.worker_list.nworkers;
    if (n > 1)
        qsort(w, n, sizeof(*w), by_name);
    if (o.json) {
        rc = print_workers_json(w, n);
    } else {
        rc = mlq_cli_workers_print(stdout, w, n, cli->stdout_tty, o.gpus);
        rc = rc < 0 ? mlq_out_fail(rc, NULL) : MLQ_EXIT_OK;
    }
    mlq_proto_msg_free(&reply);
    return rc;
}
