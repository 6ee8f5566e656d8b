/* mlq-replay: trace replay against a real mlq-scheduler with simulated
 * workers (replay.h; README.md, "Placement and fragmentation"). Lines of
 * `key=value` figures on stdout, notes on stderr; with several policies a
 * table comparing them at the end.
 *
 * Exit status: 0 when every run finished consistent, 1 when one failed, 2
 * on a usage error or a bad trace file. */
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "replay.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: mlq-replay --trace TASKS.csv --nodes NODES.csv --mode fill|replay\n"
               "                  [--placement P[,P...]] [--time-scale F] [options]\n"
               "Replays a trace against a real mlq-scheduler with simulated workers.\n\n"
               "  --trace FILE       tasks: name,arrival_s,duration_s,cpus,mem,gpus,gpu_types\n"
               "                     (gpus \"2\" or a share \"0.25\"; gpu_types \"a100|h100\" or\n"
               "                     empty)\n"
               "  --nodes FILE       workers: name,cpus,mem,gpus,gpu_type\n"
               "  --mode fill        tasks arrive in order (then sampled with replacement) and\n"
               "                     never leave until the GPUs asked exceed the cluster's;\n"
               "                     a task that cannot start at once is cancelled (failed)\n"
               "  --mode replay      tasks arrive at arrival_s and leave after duration_s,\n"
               "                     both divided by --time-scale\n"
               "  --placement LIST   policies to run, one fresh scheduler each, comma-separated\n"
               "                     from best-fit, pack, spread (default best-fit,pack)\n"
               "  --time-scale F     trace seconds per real second, also the scheduler's\n"
               "                     MLQ_TEST_TIME_SCALE (replay; default 1)\n"
               "  --step PCT         fill: a line every PCT of arrived GPU demand (default 5)\n"
               "  --seed N           fill: sampling seed (default 1)\n"
               "  --timeout SECS     replay: give up after SECS real seconds (default 3600)\n"
               "  --bin-dir DIR      where mlq-scheduler is (default: next to mlq-replay)\n"
               "  --tmpdir DIR       parent of the temp dir (default $TMPDIR, then /tmp)\n"
               "  --keep             keep the temp dir (state dirs, scheduler logs)\n"
               "  -h, --help         show this help\n");
}

struct args {
    struct rp_opts o;
    char bin_dir[PATH_MAX];
    const char *tmp;
    bool keep;
};

static int parse_policies(char *list, struct rp_opts *o)
{
    o->npolicies = 0;
    for (char *save = NULL, *p = strtok_r(list, ",", &save); p; p = strtok_r(NULL, ",", &save)) {
        if (strcmp(p, "best-fit") != 0 && strcmp(p, "pack") != 0 && strcmp(p, "spread") != 0) {
            fprintf(stderr, "mlq-replay: --placement: unknown policy \"%s\"\n", p);
            return -1;
        }
        if (o->npolicies == RP_MAX_POLICIES) {
            fprintf(stderr, "mlq-replay: --placement: at most %d policies\n", RP_MAX_POLICIES);
            return -1;
        }
        o->policies[o->npolicies++] = p;
    }
    return o->npolicies ? 0 : -1;
}

static int number(const char *opt, const char *v, double lo, double hi, double *out)
{
    char *end;
    double d = strtod(v, &end);
    if (!*v || *end || d < lo || d > hi) {
        fprintf(stderr, "mlq-replay: %s: expected a number from %g to %g\n", opt, lo, hi);
        return -1;
    }
    *out = d;
    return 0;
}

/* 0 to run, 1 for --help, -1 for a usage error. */
static int parse_args(int argc, char **argv, struct args *a)
{
    static const struct option lo[] = {{"trace", required_argument, NULL, 't'},
                                       {"nodes", required_argument, NULL, 'n'},
                                       {"mode", required_argument, NULL, 'm'},
                                       {"placement", required_argument, NULL, 'p'},
                                       {"time-scale", required_argument, NULL, 's'},
                                       {"step", required_argument, NULL, 'S'},
                                       {"seed", required_argument, NULL, 'r'},
                                       {"timeout", required_argument, NULL, 'T'},
                                       {"bin-dir", required_argument, NULL, 'b'},
                                       {"tmpdir", required_argument, NULL, 'd'},
                                       {"keep", no_argument, NULL, 'k'},
                                       {"help", no_argument, NULL, 'h'},
                                       {NULL, 0, NULL, 0}};
    static char default_policies[] = "best-fit,pack";
    char *policies = default_policies, *mode = NULL;
    double seed = 1;
    int ch, rc = 0;
    while (rc == 0 && (ch = getopt_long(argc, argv, "h", lo, NULL)) != -1) {
        switch (ch) {
        case 't':
            a->o.tasks_path = optarg;
            break;
        case 'n':
            a->o.nodes_path = optarg;
            break;
        case 'm':
            mode = optarg;
            break;
        case 'p':
            policies = optarg;
            break;
        case 's':
            rc = number("--time-scale", optarg, 0.001, 100000, &a->o.time_scale);
            break;
        case 'S':
            rc = number("--step", optarg, 0.1, 100, &a->o.step_pct);
            break;
        case 'r':
            rc = number("--seed", optarg, 0, 4294967295.0, &seed);
            break;
        case 'T':
            rc = number("--timeout", optarg, 1, 86400 * 7, &a->o.timeout_s);
            break;
        case 'b':
            snprintf(a->bin_dir, sizeof a->bin_dir, "%s", optarg);
            break;
        case 'd':
            a->tmp = optarg;
            break;
        case 'k':
            a->keep = true;
            break;
        case 'h':
            usage(stdout);
            return 1;
        default:
            return -1;
        }
    }
    a->o.seed = (unsigned)seed;
    if (rc == 0 && optind < argc) {
        fprintf(stderr, "mlq-replay: unexpected argument \"%s\"\n", argv[optind]);
        rc = -1;
    }
    if (rc == 0 && (!a->o.tasks_path || !a->o.nodes_path || !mode)) {
        fprintf(stderr, "mlq-replay: --trace, --nodes and --mode are required\n");
        rc = -1;
    }
    if (rc == 0 && strcmp(mode, "fill") != 0 && strcmp(mode, "replay") != 0) {
        fprintf(stderr, "mlq-replay: --mode: expected fill or replay\n");
        rc = -1;
    }
    if (rc == 0)
        a->o.mode = strcmp(mode, "fill") == 0 ? RP_FILL : RP_REPLAY;
    return rc == 0 ? parse_policies(policies, &a->o) : rc;
}

static void table(const struct rp_opts *o, const struct rp_result *res, int n)
{
    printf("\n");
    if (o->mode == RP_FILL) {
        printf("%-10s %22s %22s %12s %8s %8s\n", "policy", "alloc_at_first_failure",
               "alloc_at_full_demand", "stranded", "placed", "failed");
        for (int i = 0; i < n; i++)
            if (res[i].failed_once)
                printf("%-10s %21.2f%% %21.2f%% %12.2f %8llu %8llu\n", res[i].policy,
                       res[i].first_fail_alloc, res[i].end_alloc, res[i].end_stranded,
                       (unsigned long long)res[i].placed, (unsigned long long)res[i].failed);
            else
                printf("%-10s %22s %21.2f%% %12.2f %8llu %8llu\n", res[i].policy, "(none)",
                       res[i].end_alloc, res[i].end_stranded, (unsigned long long)res[i].placed,
                       (unsigned long long)res[i].failed);
        return;
    }
    printf("%-10s %10s %10s %12s %14s %8s\n", "policy", "wait_p50_s", "wait_p99_s", "mean_alloc",
           "mean_stranded", "never");
    for (int i = 0; i < n; i++)
        printf("%-10s %10.3f %10.3f %11.2f%% %14.2f %8llu\n", res[i].policy, res[i].wait_p50,
               res[i].wait_p99, res[i].mean_alloc, res[i].mean_stranded,
               (unsigned long long)res[i].never_placed);
}

static int run_policies(struct benv *e, struct rp_run *base, struct rp_result *res)
{
    int failed = 0;
    for (int i = 0; i < base->o->npolicies && !stop_flag; i++) {
        struct rp_run r = *base;
        struct mlq_err err = {0};
        res[i].policy = base->o->policies[i];
        r.res = &res[i];
        r.e = e;
        fprintf(stderr, "# %s: %s\n", base->o->mode == RP_FILL ? "fill" : "replay", res[i].policy);
        int rc = rp_run_start(&r, res[i].policy, &err);
        if (rc == 0)
            rc = base->o->mode == RP_FILL ? rp_fill(&r, &err) : rp_replay(&r, &err);
        if (rc == 0)
            rc = benv_check_alive(e, &err);
        if (rc < 0) {
            fprintf(stderr, "mlq-replay: %s: %s\n", res[i].policy, err.msg);
            failed = 1;
        }
        rp_run_end(&r, rc < 0);
    }
    table(base->o, res, base->o->npolicies);
    return failed || stop_flag;
}

static int load(const struct rp_opts *o, struct rp_run *r)
{
    struct mlq_err err = {0};
    struct trace_node *nv = NULL;
    struct trace_task *tv = NULL;
    if (trace_read_nodes(o->nodes_path, &nv, &r->nnodes, &err) < 0 ||
        trace_read_tasks(o->tasks_path, &tv, &r->ntasks, &err) < 0) {
        fprintf(stderr, "mlq-replay: %s\n", err.msg);
        free(nv);
        return -1;
    }
    r->nodes = nv;
    r->tasks = tv;
    bool gpu_task = false;
    for (size_t i = 0; i < r->nnodes; i++)
        r->cluster_h += (int64_t)nv[i].gpus * 100;
    for (size_t i = 0; i < r->ntasks; i++)
        gpu_task |= trace_task_h(&tv[i]) > 0;
    if (r->cluster_h == 0 || !gpu_task) {
        fprintf(stderr, "mlq-replay: the nodes have no GPUs or no task asks for any\n");
        return -1;
    }
    fprintf(stderr, "# %zu nodes, %lld GPUs; %zu tasks\n", r->nnodes,
            (long long)(r->cluster_h / 100), r->ntasks);
    return 0;
}

static void default_bin_dir(char *out, size_t len)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n > 0 ? n : 0] = '\0';
    snprintf(out, len, "%s", n > 0 ? dirname(self) : ".");
}

int main(int argc, char **argv)
{
    struct args a = {.o = {.time_scale = 1, .step_pct = 5, .timeout_s = 3600}};
    default_bin_dir(a.bin_dir, sizeof a.bin_dir);
    int rc = parse_args(argc, argv, &a);
    if (rc != 0) {
        if (rc < 0)
            usage(stderr);
        return rc < 0 ? 2 : 0;
    }
    struct rp_run base = {.o = &a.o};
    if (load(&a.o, &base) < 0)
        return 2;
    if (a.o.mode == RP_REPLAY) { /* the scheduler's clock runs as fast as the trace's */
        char scale[32];
        snprintf(scale, sizeof scale, "%g", a.o.time_scale);
        setenv("MLQ_TEST_TIME_SCALE", scale, 1);
    }
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    if (!a.tmp)
        a.tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    struct benv e;
    struct mlq_err err = {0};
    struct rp_result res[RP_MAX_POLICIES] = {0};
    if (benv_init(&e, a.bin_dir, a.tmp, a.keep, &stop_flag, &err) < 0) {
        fprintf(stderr, "mlq-replay: %s\n", err.msg);
        rc = 1;
    } else {
        rc = run_policies(&e, &base, res);
    }
    benv_fini(&e);
    free((void *)base.nodes);
    free((void *)base.tasks);
    return rc;
}
