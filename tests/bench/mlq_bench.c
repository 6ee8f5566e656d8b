/* mlq-bench: benchmark of a real mlq-scheduler (see README.md,
 * "Benchmarks"). Options, then each selected scenario in turn; figures on
 * stdout as `name: value unit`, notes and errors on stderr.
 *
 * Exit status: 0 when every selected figure was measured, 1 when one
 * failed, 2 on a usage error. The only file-scope variable is the flag the
 * signal handler sets; every wait in the scenarios looks at it. */
#include <getopt.h>
#include <libgen.h>
#include <limits.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bench_env.h"
#include "bench_figs.h"
#include "bench_util.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static const struct {
    const char *name;
    int (*fn)(struct benv *, const struct bfig_cfg *, struct mlq_err *);
} scenarios[] = {
    {"single", bfig_submit_single}, {"bulk", bfig_submit_bulk}, {"dispatch", bfig_dispatch},
    {"latency", bfig_latency},      {"rss", bfig_rss},          {"placement", bfig_placement},
    {"array", bfig_array},          {"gang", bfig_gang},
};
#define NSCEN (sizeof scenarios / sizeof scenarios[0])

struct opts {
    bool quick, keep;
    bool lab;         /* --insecure, --log-level warn; figures named lab.NAME */
    const char *only; /* comma-separated scenario names; NULL = all */
    char bin_dir[PATH_MAX];
    const char *tmp;
    int reps;              /* 0 = mode default */
    const char *placement; /* the schedulers' --placement; NULL: their default */
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mlq-bench [options]\n"
            "Benchmarks a real mlq-scheduler with simulated workers and clients.\n\n"
            "  --quick          short run: fewer jobs, one run per figure, no 1M RSS\n"
            "  --lab            the lab set: schedulers with --insecure and --log-level\n"
            "                   warn, plain TCP, figures named lab.NAME (default: the\n"
            "                   default configuration, CURVE keys and log level info)\n"
            "  --only LIST      scenarios to run, comma-separated, from:\n"
            "                   single,bulk,dispatch,latency,rss,placement,array,gang\n"
            "                   (default all)\n"
            "  --reps N         runs per throughput figure, median printed (default 3;\n"
            "                   1 with --quick; at most %d)\n"
            "  --bin-dir DIR    where mlq-scheduler, mlq-worker, mlq-shim and\n"
            "                   mlq-bench-stamp are (default: next to mlq-bench)\n"
            "  --tmpdir DIR     parent of the temp dir (default: $TMPDIR, then /tmp)\n"
            "  --keep           keep the temp dir (state dirs, daemon logs)\n"
            "  --placement P    run the schedulers with --placement P (best-fit, pack,\n"
            "                   spread; default: theirs)\n"
            "  -h, --help       show this help\n\n"
            "MLQ_BENCH_SCHED_WRAP=\"CMD ARGS\" runs every scheduler under CMD, e.g.\n"
            "\"valgrind --tool=callgrind --callgrind-out-file=/tmp/cg.%%p\".\n",
            BU_MAX_REPS);
}

static void default_bin_dir(char *out, size_t len)
{
    char self[PATH_MAX];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    self[n > 0 ? n : 0] = '\0';
    snprintf(out, len, "%s", n > 0 ? dirname(self) : ".");
}

/* 0 to run, 1 to exit 0 (help), 2 to exit 2. */
static int parse_args(int argc, char **argv, struct opts *o)
{
    static const struct option longopts[] = {
        {"quick", no_argument, NULL, 'q'},        {"only", required_argument, NULL, 'o'},
        {"reps", required_argument, NULL, 'r'},   {"bin-dir", required_argument, NULL, 'b'},
        {"tmpdir", required_argument, NULL, 't'}, {"keep", no_argument, NULL, 'k'},
        {"lab", no_argument, NULL, 'l'},          {"placement", required_argument, NULL, 'p'},
        {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        char *end = NULL;
        switch (ch) {
        case 'q':
            o->quick = true;
            break;
        case 'k':
            o->keep = true;
            break;
        case 'l':
            o->lab = true;
            break;
        case 'o':
            o->only = optarg;
            break;
        case 'b':
            snprintf(o->bin_dir, sizeof o->bin_dir, "%s", optarg);
            break;
        case 't':
            o->tmp = optarg;
            break;
        case 'r':
            o->reps = (int)strtol(optarg, &end, 10);
            if (!*optarg || *end || o->reps < 1 || o->reps > BU_MAX_REPS) {
                fprintf(stderr, "mlq-bench: --reps: expected 1 to %d\n", BU_MAX_REPS);
                return 2;
            }
            break;
        case 'p':
            if (strcmp(optarg, "best-fit") != 0 && strcmp(optarg, "pack") != 0 &&
                strcmp(optarg, "spread") != 0) {
                fprintf(stderr, "mlq-bench: --placement: expected best-fit, pack or spread\n");
                return 2;
            }
            o->placement = optarg;
            break;
        case 'h':
            usage(stdout);
            return 1;
        default:
            usage(stderr);
            return 2;
        }
    }
    if (optind < argc) {
        fprintf(stderr, "mlq-bench: unexpected argument \"%s\"\n", argv[optind]);
        return 2;
    }
    return 0;
}

/* True when name is in the comma-separated list (or there is no list). */
static bool selected(const char *list, const char *name)
{
    if (!list)
        return true;
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        size_t len = strcspn(p, ",");
        if (len == n && strncmp(p, name, n) == 0)
            return true;
        p += len + (p[len] == ',');
    }
    return false;
}

static int check_only(const char *list)
{
    for (const char *p = list; p && *p;) {
        size_t len = strcspn(p, ",");
        bool known = false;
        for (size_t i = 0; i < NSCEN; i++)
            known |= strlen(scenarios[i].name) == len && strncmp(p, scenarios[i].name, len) == 0;
        if (!known) {
            fprintf(stderr, "mlq-bench: --only: unknown scenario \"%.*s\"\n", (int)len, p);
            return -1;
        }
        p += len + (p[len] == ',');
    }
    return 0;
}

static struct bfig_cfg make_cfg(const struct opts *o)
{
    struct bfig_cfg c = {
        .reps = 3,
        .single_jobs = 20000,
        .bulk_jobs = 20000,
        .dispatch_jobs = 20000,
        .dispatch_workers = 100,
        .latency_jobs = 200,
        .rss_small = 100000,
        .rss_big = 1000000,
        .place_pending = 100000,
        .place_workers = 1000,
        .place_reps = 50,
        .place_shapes = 1000,
        .gang_workers = 1000,
        .gang_nodes = 8,
        .gang_jobs = 2000,
        .gang_lat = 50,
    };
    if (o->quick) {
        c.reps = 1;
        c.single_jobs = c.bulk_jobs = c.dispatch_jobs = 5000;
        c.latency_jobs = 30;
        c.rss_big = 0;
        c.place_reps = 10;
        c.place_shapes = 0;
        c.gang_jobs = 500;
        c.gang_lat = 10;
    }
    if (o->reps)
        c.reps = o->reps;
    return c;
}

static void install_signals(void)
{
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static int run_all(struct benv *e, const struct opts *o, const struct bfig_cfg *c)
{
    int failed = 0;
    for (size_t i = 0; i < NSCEN && !stop_flag; i++) {
        if (!selected(o->only, scenarios[i].name))
            continue;
        struct mlq_err err = {0};
        if (scenarios[i].fn(e, c, &err) < 0) {
            fprintf(stderr, "mlq-bench: %s: %s\n", scenarios[i].name, err.msg);
            failed = 1;
        }
    }
    return failed || stop_flag;
}

int main(int argc, char **argv)
{
    struct opts o = {0};
    default_bin_dir(o.bin_dir, sizeof o.bin_dir);
    int rc = parse_args(argc, argv, &o);
    if (rc == 0 && check_only(o.only) < 0)
        rc = 2;
    if (rc != 0)
        return rc == 1 ? 0 : 2;
    if (!o.tmp)
        o.tmp = getenv("TMPDIR") && *getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
    install_signals();
    struct bfig_cfg cfg = make_cfg(&o);
    struct benv env;
    struct mlq_err err = {0};
    if (benv_init(&env, o.bin_dir, o.tmp, o.keep, &stop_flag, &err) < 0) {
        fprintf(stderr, "mlq-bench: %s\n", err.msg);
        benv_fini(&env);
        return 1;
    }
    env.sched_wrap = getenv("MLQ_BENCH_SCHED_WRAP");
    env.placement = o.placement;
    env.lab = o.lab;
    env.secure = !o.lab;
    fprintf(stderr, "# mlq-bench%s: %s; binaries in %s, temp dir %s\n", o.quick ? " --quick" : "",
            o.lab ? "lab set (--insecure, --log-level warn)"
                  : "default configuration (CURVE keys, log level info)",
            o.bin_dir, env.root);
    rc = run_all(&env, &o, &cfg);
    benv_fini(&env);
    return rc;
}
