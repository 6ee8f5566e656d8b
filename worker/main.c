/* mlq-worker: options, then spool lock -> agent loop -> clean up; or, with
 * --drain-and-exit, ask the running worker of a spool to drain and wait for
 * it to exit.
 *
 * Exit codes: 0 after SIGTERM/SIGINT (running jobs stay alive under their
 * shims and are re-adopted by the next start) or a completed drain, 1 on a
 * runtime failure (spool in use, cannot connect), 2 on a usage error. */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "agent.h"
#include "clock.h"
#include "drainctl.h"
#include "gpu.h"
#include "cgfavor.h"
#include "cglimit.h"
#include "container.h"
#include "gpuload.h"
#include "gpumig.h"
#include "jobusage.h"
#include "log.h"
#include "proto.h"
#include "res.h"
#include "runmanifest.h"
#include "sdnotify.h"
#include "spool.h"
#include "spoolsync.h"
#include "version.h"
#include "workeropts.h"

#define DRAIN_POLL_MS   200
#define DRAIN_REPORT_MS 5000 /* progress line at least this often */

/* Write end of the signal pipe: the only file-scope state (STYLE.md). */
static int sig_pipe_w = -1;

static void on_signal(int sig)
{
    int saved = errno;
    unsigned char b = (unsigned char)sig;
    ssize_t w = write(sig_pipe_w, &b, 1); /* a full pipe already has news */
    (void)w;
    errno = saved;
}

/* Self-pipe for SIGTERM, SIGINT, SIGCHLD, SIGUSR2 and SIGHUP; returns the
 * read end. */
static int setup_signals(void)
{
    int p[2];
    if (pipe2(p, O_NONBLOCK | O_CLOEXEC) != 0)
        return -1;
    sig_pipe_w = p[1];
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART | SA_NOCLDSTOP;
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sigaction(SIGCHLD, &sa, NULL);
    sigaction(SIGUSR2, &sa, NULL);
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return p[0];
}

/* Makes sure 0..2 are open so no pipe or socket lands on them. */
static void ensure_stdio(void)
{
    int fd;
    while ((fd = open("/dev/null", O_RDWR)) >= 0 && fd <= 2)
        ;
    if (fd > 2)
        close(fd);
}

/* The GPUs to offer: --gpus N fake ones, else what discovery finds (a
 * method named with --gpu-discovery that fails is fatal; auto never is). */
static int find_gpus(const struct mlq_workeropts *o, struct mlq_gpu_set *set, struct mlq_err *err)
{
    if (o->gpus_given)
        return mlq_gpu_fake_spec(o->fake_gpus, set, err);
    struct mlq_gpu_opts go = {.method = o->gpu_method, .nvml_library = o->nvml_library};
    int rc = mlq_gpu_discover(&go, set, err);
    if (rc == 0 && set->note[0])
        mlq_info("GPU discovery: %s", set->note);
    return rc;
}

static void log_up(const struct mlq_workeropts *o, const struct mlq_gpu_set *gpus)
{
    char cpus[32], mem[32], gbuf[1024], labels[MLQ_MAX_LABELS * (MLQ_MAX_LABEL_LEN + 1) + 1] = "";
    size_t used = 0;
    for (uint32_t i = 0; i < o->nlabels && used < sizeof labels; i++)
        used += (size_t)snprintf(labels + used, sizeof labels - used, "%s%s", i ? "," : " labels ",
                                 o->labels[i]);
    mlq_info("mlq-worker %s (git %s, wire protocol %d..%d), config %s", mlq_version(),
             mlq_version_git(), MLQ_PROTO_MIN, MLQ_PROTO_MAX, o->config ? o->config : "none");
    mlq_info("worker %s up: %s cpus, %s memory, gpus %s, pool %s%s, spool %s, scheduler %s (%s), "
             "address %s, jobs run as %s, container runtime %s",
             o->name, mlq_res_fmt_cpus(o->cpus_m, cpus, sizeof cpus),
             mlq_res_fmt_mem(o->mem, mem, sizeof mem), mlq_gpu_set_fmt(gpus, gbuf, sizeof gbuf),
             o->pool ? o->pool : "default", labels, o->spool, o->scheduler,
             o->insecure ? "plain TCP, --insecure" : "CURVE", o->addr[0] ? o->addr : "none",
             geteuid() == 0 ? "their submitting users" : "this worker's user",
             o->runtime ? o->runtime : "none");
}

/* Chooses the cgroup hierarchy once, before any shim starts (they inherit
 * the choice), and says which, or why none, in the log. */
static enum mlq_cglimit_hier setup_limits(enum mlq_cglimit_mode mode, char *field, size_t len)
{
    char why[1024] = "";
    enum mlq_cglimit_hier h = mlq_cglimit_setup(mode, why, sizeof why);
    if (h == MLQ_CGL_NONE) {
        snprintf(field, len, "none");
        if (mode == MLQ_CGL_OFF)
            mlq_info("limits: none (--limits off): usage from /proc");
        else
            mlq_warn("limits: none: %s; jobs run without memory and CPU limits, usage from /proc",
                     why);
        return h;
    }
    snprintf(field, len, "%s/%s", mlq_cglimit_mode_name(mode), mlq_cglimit_hier_name(h));
    if (h == MLQ_CGL_V1)
        mlq_info("limits: %s through cgroup v1 (not v2: %s)", mlq_cglimit_mode_name(mode), why);
    else
        mlq_info("limits: %s through cgroup v2", mlq_cglimit_mode_name(mode));
    int swept = mlq_cglimit_sweep(h, MLQ_CGL_SWEEP_AGE_S);
    if (swept > 0)
        mlq_info("limits: removed %d empty job cgroup(s) left behind", swept);
    return h;
}

/* Tells systemd (Type=notify) how far the worker is; only logged on failure. */
static void notify(const struct mlq_sdnotify *sd, const char *state)
{
    struct mlq_err e = {0};
    if (mlq_sdnotify_send(sd, state, &e) < 0)
        mlq_warn("%s", e.msg);
}

/* What the worker and its shims learn of the GPUs beyond the list: their
 * load, read through NVML by index where NVML found whole GPUs only (a
 * MIG device is no NVML index, and NVML reads no utilisation of it), and
 * the CUDA names of the indexes where MIG devices are offered. */
static int gpu_env(const struct mlq_workeropts *o, const struct mlq_gpu_set *gpus,
                   struct mlq_agent_config *cfg)
{
    const char *lib = o->nvml_library ? o->nvml_library : MLQ_GPU_NVML_LIBRARY;
    if (strcmp(gpus->source, "nvml") == 0 && gpus->nmig == 0)
        cfg->gpuload = mlq_gpuload_open(lib, gpus->n);
    /* The shims measure their jobs' GPUs the same way. */
    if (cfg->gpuload)
        setenv(MLQ_JOBUSAGE_GPU_ENV, lib, 1);
    else
        unsetenv(MLQ_JOBUSAGE_GPU_ENV);
    if (!gpus->cuda) {
        unsetenv(MLQ_GPUMIG_CUDA_ENV);
        return 0;
    }
    static char names[MLQ_GPUMIG_CUDA_ENV_MAX + 1];
    struct mlq_err e = {0};
    if (mlq_gpumig_cuda_join(gpus->cuda, gpus->n, names, sizeof names, &e) < 0) {
        mlq_error("GPU discovery: %s", e.msg);
        mlq_gpuload_close(&cfg->gpuload);
        return -1;
    }
    setenv(MLQ_GPUMIG_CUDA_ENV, names, 1);
    mlq_info("GPU discovery: %" PRIu32 " MIG device(s); jobs see them by UUID", gpus->nmig);
    return 0;
}

/* The shims record run manifests with the worker's settings, GPUs and
 * driver versions (runmanifest.h); set before any shim starts. */
static void tell_shims_manifest(const struct mlq_workeropts *o, const struct mlq_gpu_set *gpus)
{
    char driver[96] = "", cuda[16] = "", *text = NULL;
    struct mlq_err e = {0};
    if (gpus->n > 0 && strcmp(gpus->source, "fake") != 0)
        mlq_gpu_driver_versions(o->nvml_library, driver, sizeof driver, cuda, sizeof cuda);
    if (mlq_runmanifest_conf_text(&o->manifest, gpus, driver, cuda, &text, &e) < 0) {
        mlq_warn("run manifests: %s", e.msg);
        unsetenv(MLQ_RUNMANIFEST_ENV);
        return;
    }
    setenv(MLQ_RUNMANIFEST_ENV, text, 1);
    free(text);
}

static int run(struct mlq_workeropts *o, struct mlq_spool *spool, int sig_fd,
               const struct mlq_sdnotify *sd)
{
    struct mlq_gpu_set gpus = {0};
    struct mlq_err err = {0};
    if (find_gpus(o, &gpus, &err) < 0) {
        mlq_error("GPU discovery: %s", err.msg);
        return 1;
    }
    struct mlq_agent_config cfg = {
        .endpoint = o->scheduler,
        .name = o->name,
        .shim_path = o->shim,
        .cpus_m = o->cpus_m,
        .mem = o->mem,
        .gpus = (int32_t)gpus.n,
        .gpu_list = gpus.gpus,
        .pool = o->pool,
        .labels = o->labels,
        .nlabels = o->nlabels,
        .heartbeat_ms = o->heartbeat_ms,
        .log_cap = o->log_cap,
        .signal_fd = sig_fd,
        .on_reload = mlq_workeropts_reload,
        .reload_arg = o,
        .curve = o->insecure ? NULL : &o->curve,
        .addr = o->addr[0] ? o->addr : NULL,
        .rdv_lo = o->rdv_lo,
        .rdv_hi = o->rdv_hi,
    };
    if (gpu_env(o, &gpus, &cfg) < 0) {
        mlq_gpu_set_clear(&gpus);
        return 1;
    }
    tell_shims_manifest(o, &gpus);
    char limits[16];
    struct mlq_cgfavor favor;
    mlq_cgfavor_start(&favor, o->cgroup_favor, setup_limits(o->limits, limits, sizeof limits),
                      o->spool);
    cfg.limits = limits;
    struct mlq_agent *agent = NULL;
    struct mlq_spoolsync *sync = NULL;
    int rc = mlq_spoolsync_start(&sync, &err);
    mlq_spool_defer_markers(sync);
    if (rc == 0)
        rc = mlq_agent_create(&cfg, spool, &agent, &err);
    if (rc == 0) {
        log_up(o, &gpus);
        /* Ready once started, not once registered: a worker whose key an
         * admin has not added yet keeps retrying, and its unit must not
         * fail its start (and be restarted in a loop) meanwhile. */
        notify(sd, "READY=1\nSTATUS=started; registering with the scheduler");
        rc = mlq_agent_run(agent, &err);
    }
    notify(sd, "STOPPING=1");
    if (rc < 0)
        mlq_error("%s", err.msg);
    else if (mlq_agent_drained(agent))
        mlq_info("drained; exiting");
    else
        mlq_info("stopping; running jobs stay under their shims");
    mlq_agent_destroy(&agent);
    mlq_spool_defer_markers(NULL);
    mlq_spoolsync_stop(&sync); /* every marker queued is durable first */
    mlq_gpuload_close(&cfg.gpuload);
    mlq_gpu_set_clear(&gpus);
    mlq_cgfavor_stop(&favor);
    return rc == MLQ_EVERSION ? 2 : rc < 0 ? 1 : 0; /* a mismatch is not retried */
}

/* One progress line on stderr when the counts changed or every
 * DRAIN_REPORT_MS. */
static void drain_progress(const char *spool, pid_t pid, struct mlq_drainctl_counts *last,
                           int64_t *last_ms)
{
    struct mlq_drainctl_counts c;
    if (mlq_drainctl_count(spool, &c, NULL) < 0)
        return;
    int64_t now = mlq_clock_mono_ms();
    if (memcmp(&c, last, sizeof c) == 0 && now - *last_ms < DRAIN_REPORT_MS)
        return;
    fprintf(stderr,
            "mlq-worker: waiting for worker %ld: %d job(s) running, %d outcome(s) to report, "
            "%d log upload(s)\n",
            (long)pid, c.running, c.reporting, c.uploading);
    *last = c;
    *last_ms = now;
}

static void print_mib(int64_t bytes)
{
    if (bytes > 0)
        printf("%lld MiB", (long long)(bytes >> 20));
    else
        printf("-");
}

/* --list-gpus: what this worker would offer, one GPU per line, tab-separated
 * (index, type, UUID, memory, model), and the method that answered on
 * stderr; exit 1 when a method named with --gpu-discovery fails. */
static int list_gpus(const struct mlq_workeropts *o)
{
    mlq_log_init("mlq-worker", MLQ_LOG_WARN); /* the note is printed below */
    struct mlq_gpu_set set = {0};
    struct mlq_err err = {0};
    if (find_gpus(o, &set, &err) < 0) {
        fprintf(stderr, "mlq-worker: GPU discovery: %s\n", err.msg);
        return 1;
    }
    fprintf(stderr, "mlq-worker: %u GPU(s) from %s%s%s\n", set.n, set.source,
            set.note[0] ? ": " : "", set.note);
    for (uint32_t i = 0; i < set.n; i++) {
        const struct mlq_gpuinfo *g = &set.gpus[i];
        printf("%d\t%s\t%s\t", g->index, g->type ? g->type : "-", g->uuid ? g->uuid : "-");
        print_mib(g->mem);
        printf("\t%s\n", g->model ? g->model : "-");
    }
    mlq_gpu_set_clear(&set);
    return fflush(stdout) == 0 ? 0 : 1;
}

/* --drain-and-exit: SIGUSR2 to the spool's worker, then wait until it is
 * gone (its lock released). */
static int drain_and_exit(const struct mlq_workeropts *o)
{
    pid_t pid = 0, now_pid = 0;
    struct mlq_err err = {0};
    if (mlq_drainctl_signal(o->spool, &pid, &err) < 0) {
        fprintf(stderr, "mlq-worker: %s\n", err.msg);
        return 1;
    }
    if (pid == 0) {
        fprintf(stderr, "mlq-worker: no worker is running on spool %s: nothing to drain\n",
                o->spool);
        return 0;
    }
    fprintf(stderr, "mlq-worker: worker %ld on spool %s is draining\n", (long)pid, o->spool);
    struct mlq_drainctl_counts last = {-1, -1, -1};
    int64_t last_ms = 0;
    while (mlq_drainctl_owner(o->spool, &now_pid, NULL) == 0 && now_pid == pid) {
        drain_progress(o->spool, pid, &last, &last_ms);
        struct timespec ts = {0, DRAIN_POLL_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
    struct mlq_drainctl_counts c;
    if (mlq_drainctl_count(o->spool, &c, NULL) == 0 && c.running + c.reporting + c.uploading > 0)
        fprintf(stderr, "mlq-worker: worker %ld stopped before its drain completed\n", (long)pid);
    else
        fprintf(stderr, "mlq-worker: worker %ld drained and exited\n", (long)pid);
    return 0;
}

int main(int argc, char **argv)
{
    struct mlq_workeropts o = {0};
    int rc = mlq_workeropts_parse(argc, argv, &o);
    if (rc == 0 && o.list_gpus) {
        rc = list_gpus(&o);
    } else if (rc == 0 && o.drain_and_exit) {
        rc = drain_and_exit(&o);
    } else if (rc == 0) {
        ensure_stdio();
        /* before any thread: shims (and jobs) learn the worker's name */
        setenv("MLQ_WORKER", o.name, 1);
        /* the shims learn the container runtime the same way */
        setenv(MLQ_CONTAINER_ENV, o.runtime ? o.runtime : "", 1);
        if (o.addr[0])
            setenv("MLQ_WORKER_ADDR", o.addr, 1);
        else
            unsetenv("MLQ_WORKER_ADDR");
        mlq_log_init("mlq-worker", o.level);
        char why[256];
        if (o.log_file && mlq_log_open_file(o.log_file, why, sizeof why) < 0) {
            fprintf(stderr, "mlq-worker: --log-file: %s\n", why);
            rc = 2;
            goto out;
        }
        struct mlq_spool *spool = NULL;
        struct mlq_err err = {0};
        /* also before any thread, and before jobs inherit the variable */
        struct mlq_sdnotify sd;
        if (mlq_sdnotify_open(&sd, &err) < 0)
            mlq_warn("no readiness notification: %s", err.msg);
        int sig_fd = setup_signals();
        if (sig_fd < 0 || mlq_spool_open(o.spool, &spool, &err) < 0 ||
            mlq_spool_lock(spool, &err) < 0) {
            fprintf(stderr, "mlq-worker: %s\n", sig_fd < 0 ? strerror(errno) : err.msg);
            rc = 1;
        } else {
            rc = run(&o, spool, sig_fd, &sd);
            mlq_spool_release(spool);
        }
        mlq_spool_close(&spool);
    }
out:
    mlq_workeropts_clear(&o);
    return rc < 0 ? 0 : rc;
}
