/* cmd_cluster: `mlq up` and `mlq down`, a local cluster on one machine.
 *
 * `up` starts mlq-scheduler and N mlq-workers detached (each writes its own
 * pid file under the state dir), waits until the scheduler lists every
 * worker as UP, and only then writes the client config, so that a config
 * always names a cluster that came up. A daemon that dies during start-up
 * makes `up` stop the others: it leaves a whole cluster or nothing.
 *
 * `down` signals whatever the pid files name (also daemons started by hand
 * on the same state dir), workers first so that none of them sees its
 * scheduler vanish and starts reconnecting, then the scheduler.
 *
 * Unless --insecure, `up` makes the cluster's keys (upkeys.h): the
 * scheduler authorizes the user as admin and each worker by name, and the
 * client config names the user's key and the scheduler's public key. */
#include "cmd_cluster.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "config.h"
#include "daemon.h"
#include "fsutil.h"
#include "bounds.h"
#include "output.h"
#include "res.h"
#include "transport.h"
#include "uphttp.h"
#include "upkeys.h"

#define UP_MAX_WORKERS 64
/* Gang rendezvous ports: the workers share one host, so each gets its own
 * slice (from 29400, the worker default's start) rather than the same
 * default range, which would make two gangs' node 0 collide. */
#define UP_RDV_FIRST      29400
#define UP_RDV_EACH       8
#define UP_WAIT_MS        30000
#define UP_POLL_MS        200
#define UP_PROBE_MS       1000
#define STOP_GRACE_MS     10000
#define KILL_JOBS_WAIT_MS 30000
#define DEFAULT_STATE_DIR "./.mlq"
#define DIR_MAX           (MLQ_MAX_PATH - 64) /* room for the file names below */

enum {
    OPT_WORKERS = MLQ_CLI_OPT_FIRST_FREE,
    OPT_CPUS,
    OPT_MEM,
    OPT_GPUS,
    OPT_LISTEN,
    OPT_STATE_DIR,
    OPT_KILL_JOBS,
    OPT_INSECURE,
    OPT_HTTP,
    OPT_NO_HTTP,
};

struct up_opts {
    long workers;
    int64_t cpus_m, mem;
    int32_t gpus;
    const char *listen;
    const char *state_dir;
    bool insecure;    /* plain TCP, no keys */
    const char *http; /* the scheduler's --http; NULL: none */
};

/* One daemon `up` started: d[0] is the scheduler, d[1..] the workers. */
struct up_daemon {
    char name[16]; /* "scheduler", "w1", ... */
    char log[MLQ_MAX_PATH];
    off_t log_start; /* size of the log before we started: our part follows */
    pid_t pid;
};

/* Prints a failure that may be longer than an mlq_err holds (it names
 * paths) and leaves err empty, so that the caller prints nothing more. */
static int up_fail(struct mlq_err *err, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

static int up_fail(struct mlq_err *err, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    fputs("mlq: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    mlq_err_clear(err);
    return MLQ_CLI_EFAILED;
}

static int usage_error(const char *cmd, const struct mlq_err *err)
{
    fprintf(stderr, "mlq: %s (see `mlq %s --help`)\n", err->msg, cmd);
    return MLQ_EXIT_USAGE;
}

/* ---- up: options ---- */

static const char up_usage[] =
    "usage: mlq up [options]\n\n"
    "Starts a local cluster: mlq-scheduler and N mlq-workers on this machine,\n"
    "and points the client config at it.\n"
    "  --workers N       number of workers (default 1)\n"
    "  --cpus C          CPUs per worker (default: this machine's)\n"
    "  --mem M           memory per worker, e.g. 8G (default: this machine's)\n"
    "  --gpus G          GPUs per worker (default 0)\n"
    "  --listen ADDR     scheduler address, a loopback one (default " MLQ_CLI_DEFAULT_SCHEDULER
    ")\n"
    "  --state-dir DIR   database, pid files, logs, spools, keys (default " DEFAULT_STATE_DIR ")\n"
    "  --insecure        plain TCP without keys (loopback only; refused as root, whose\n"
    "                    workers need keys); by default `up` makes\n"
    "                    the keys under DIR/keys, registers you as admin and each\n"
    "                    worker, and puts your key into the client config\n"
    "  --http ADDR:PORT  the HTTP API and dashboard (default 127.0.0.1:0, a free\n"
    "                    port); `up` prints the URL and an admin token for you\n"
    "  --no-http         no HTTP API\n";

static const struct option up_longopts[] = {
    {"help", no_argument, NULL, 'h'},
    {"workers", required_argument, NULL, OPT_WORKERS},
    {"cpus", required_argument, NULL, OPT_CPUS},
    {"mem", required_argument, NULL, OPT_MEM},
    {"gpus", required_argument, NULL, OPT_GPUS},
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"state-dir", required_argument, NULL, OPT_STATE_DIR},
    {"insecure", no_argument, NULL, OPT_INSECURE},
    {"http", required_argument, NULL, OPT_HTTP},
    {"no-http", no_argument, NULL, OPT_NO_HTTP},
    {NULL, 0, NULL, 0},
};

/* This machine's CPUs and memory, within the protocol's bounds. */
static void up_defaults(struct up_opts *o)
{
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    o->workers = 1;
    o->cpus_m = ncpu > 0 ? ncpu * 1000 : 1000;
    if (o->cpus_m > MLQ_MAX_CPUS_M)
        o->cpus_m = MLQ_MAX_CPUS_M;
    o->mem = pages > 0 && psize > 0 ? (int64_t)pages * psize : 1LL << 30;
    if (o->mem > MLQ_MAX_MEM)
        o->mem = MLQ_MAX_MEM;
    o->gpus = 0;
    o->listen = MLQ_CLI_DEFAULT_SCHEDULER;
    o->state_dir = DEFAULT_STATE_DIR;
    o->insecure = false;
    o->http = "127.0.0.1:0"; /* a free loopback port */
}

static int up_opt(int c, struct up_opts *o, struct mlq_err *err)
{
    switch (c) {
    case OPT_WORKERS:
        return mlq_cli_parse_int("--workers", optarg, 1, UP_MAX_WORKERS, &o->workers, err);
    case OPT_CPUS:
        return mlq_res_parse_cpus(optarg, &o->cpus_m, err);
    case OPT_MEM:
        return mlq_res_parse_mem(optarg, &o->mem, err);
    case OPT_GPUS:
        return mlq_res_parse_gpus(optarg, &o->gpus, err);
    case OPT_LISTEN:
        o->listen = optarg;
        return 0;
    case OPT_STATE_DIR:
        o->state_dir = optarg;
        return 0;
    case OPT_INSECURE:
        o->insecure = true;
        return 0;
    case OPT_HTTP:
        o->http = optarg;
        return 0;
    case OPT_NO_HTTP:
        o->http = NULL;
        return 0;
    default:
        return mlq_err_set(err, MLQ_CLI_EUSAGE, "up: unexpected option");
    }
}

/* Returns -1 to go on, else the exit code. */
static int up_parse(int argc, char **argv, struct up_opts *o)
{
    struct mlq_err err = {0};
    int c, rc = 0;
    up_defaults(o);
    optind = 0;
    opterr = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, ":h", up_longopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(up_usage, stdout);
            return MLQ_EXIT_OK;
        }
        rc = c == '?' || c == ':' ? mlq_cli_getopt_error("up", c, argc, argv, &err)
                                  : up_opt(c, o, &err);
    }
    if (rc == 0 && optind < argc)
        rc = mlq_err_set(&err, MLQ_CLI_EUSAGE, "up: unexpected argument '%.40s'", argv[optind]);
    if (rc == 0 && !mlq_transport_is_local(o->listen))
        rc = mlq_err_set(&err, MLQ_EINVAL,
                         "refusing to listen on '%.100s': `mlq up` runs a cluster on this machine "
                         "and listens on loopback only (for several hosts, start mlq-scheduler "
                         "with --listen and keys: see docs/admin.md, \"Several hosts\")",
                         o->listen);
    /* Its workers would refuse to start: without keys, a root worker would
     * run jobs as whatever account an unauthenticated client names. */
    if (rc == 0 && o->insecure && geteuid() == 0)
        rc = mlq_err_set(&err, MLQ_CLI_EUSAGE,
                         "up: --insecure is refused as root (workers running as root need "
                         "keys); leave it out and `mlq up` makes and registers every key");
    if (rc == MLQ_CLI_EUSAGE)
        return usage_error("up", &err);
    return rc < 0 ? mlq_out_fail(rc, &err) : -1;
}

/* ---- up: preparing the state dir ---- */

/* A pid file naming a live mlq daemon means a cluster already uses dir. */
static int check_pidfile(const char *path, const char *what, const char *dir, struct mlq_err *err)
{
    pid_t pid;
    if (mlq_fs_read_pidfile(path, &pid, NULL) == 0 && mlq_daemon_is_ours(pid))
        return up_fail(err,
                       "a cluster is already running in %s (%s pid %ld); `mlq down --state-dir "
                       "%s` stops it",
                       dir, what, (long)pid, dir);
    return 0;
}

/* The state dir holds the database (every job's environment), the keys and
 * the logs: 0700, also when it was there before with a wider mode. */
static int up_private_dir(const char *dir, struct mlq_err *err)
{
    struct stat st;
    int rc = mlq_fs_mkdirs(dir, 0700, err);
    if (rc < 0 || stat(dir, &st) < 0 || !(st.st_mode & 077))
        return rc;
    if (chmod(dir, 0700) < 0)
        return mlq_err_set(err, MLQ_EIO, "state dir %s is open to other users (mode %03o): %s", dir,
                           (unsigned)(st.st_mode & 0777), strerror(errno));
    fprintf(stderr, "mlq: warning: state dir %s was open to other users (mode %03o); made it 700\n",
            dir, (unsigned)(st.st_mode & 0777));
    return 0;
}

static int up_prepare(const char *dir, long nworkers, struct mlq_err *err)
{
    char path[MLQ_MAX_PATH];
    if (strlen(dir) > DIR_MAX)
        return mlq_err_set(err, MLQ_EINVAL, "state dir path too long");
    snprintf(path, sizeof(path), "%s/scheduler.pid", dir);
    int rc = check_pidfile(path, "scheduler", dir, err);
    for (long i = 1; rc == 0 && i <= nworkers; i++) {
        snprintf(path, sizeof(path), "%s/workers/w%ld/worker.pid", dir, i);
        rc = check_pidfile(path, "worker", dir, err);
    }
    if (rc == 0)
        rc = up_private_dir(dir, err);
    snprintf(path, sizeof(path), "%s/logs", dir);
    if (rc == 0)
        rc = mlq_fs_mkdirs(path, 0700, err);
    for (long i = 1; rc == 0 && i <= nworkers; i++) {
        snprintf(path, sizeof(path), "%s/workers/w%ld", dir, i);
        rc = mlq_fs_mkdirs(path, 0700, err);
    }
    return rc;
}

/* ---- up: starting and watching the daemons ---- */

static off_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? st.st_size : 0;
}

/* Starts base (NULL-terminated) followed by the security options sec. */
static int up_spawn_one(struct up_daemon *d, char *const base[], char *const sec[],
                        struct mlq_err *err)
{
    size_t nb = 0, ns = 0;
    while (base[nb])
        nb++;
    while (sec && sec[ns])
        ns++;
    char **argv = calloc(nb + ns + 1, sizeof(*argv));
    if (!argv)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    memcpy(argv, base, nb * sizeof(*argv));
    if (ns)
        memcpy(argv + nb, sec, ns * sizeof(*argv));
    d->log_start = file_size(d->log);
    int rc = mlq_daemon_spawn(argv, d->log, &d->pid, err);
    free(argv);
    return rc;
}

static int up_spawn_scheduler(struct up_daemon *d, const char *dir, const struct up_opts *o,
                              const struct mlq_upkeys *keys, struct mlq_err *err)
{
    char **sec = NULL;
    int rc = mlq_upkeys_sched_argv(keys, o->workers, &sec, err);
    char *prog = rc == 0 ? mlq_daemon_find("mlq-scheduler") : NULL;
    if (rc == 0 && !prog)
        rc = mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    snprintf(d->name, sizeof(d->name), "scheduler");
    snprintf(d->log, sizeof(d->log), "%s/logs/scheduler.log", dir);
    /* A local cluster is self-contained: no /etc/mlq/scheduler.conf. */
    char *argv[] = {prog,
                    "--config",
                    "none",
                    "--listen",
                    (char *)o->listen,
                    "--state-dir",
                    (char *)dir,
                    o->http ? "--http" : NULL,
                    (char *)o->http,
                    NULL};
    if (rc == 0)
        rc = up_spawn_one(d, argv, sec, err);
    free(prog);
    mlq_upkeys_argv_free(&sec);
    return rc;
}

static int up_spawn_worker(struct up_daemon *d, long i, const char *dir, const struct up_opts *o,
                           const struct mlq_upkeys *keys, struct mlq_err *err)
{
    char **sec = NULL;
    int rc = mlq_upkeys_worker_argv(keys, i, &sec, err);
    if (rc < 0)
        return rc;
    char *prog = mlq_daemon_find("mlq-worker");
    if (!prog) {
        mlq_upkeys_argv_free(&sec);
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    }
    char cpus[32], mem[32], gpus[16], spool[MLQ_MAX_PATH], rdv[32];
    mlq_res_fmt_cpus(o->cpus_m, cpus, sizeof(cpus));
    long lo = UP_RDV_FIRST + (i - 1) * UP_RDV_EACH;
    snprintf(rdv, sizeof(rdv), "%ld-%ld", lo, lo + UP_RDV_EACH - 1);
    snprintf(mem, sizeof(mem), "%lld", (long long)o->mem);
    snprintf(gpus, sizeof(gpus), "%d", (int)o->gpus);
    snprintf(d->name, sizeof(d->name), "w%ld", i);
    snprintf(d->log, sizeof(d->log), "%s/logs/w%ld.log", dir, i);
    snprintf(spool, sizeof(spool), "%s/workers/w%ld", dir, i);
    char *argv[] = {prog,
                    "--config",
                    "none",
                    "--scheduler",
                    (char *)o->listen,
                    "--name",
                    d->name,
                    "--cpus",
                    cpus,
                    "--mem",
                    mem,
                    "--gpus",
                    gpus,
                    "--spool",
                    spool,
                    "--rendezvous-ports",
                    rdv,
                    NULL};
    rc = up_spawn_one(d, argv, sec, err);
    free(prog);
    mlq_upkeys_argv_free(&sec);
    return rc;
}

/* The line of a daemon's log (written since we started it) that best says
 * why it died: the last one with "ERROR", else the last one. This puts
 * "Address already in use" into our own message. */
static void log_reason(const struct up_daemon *d, char *out, size_t len)
{
    out[0] = '\0';
    int fd = open(d->log, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    char buf[4096];
    off_t end = lseek(fd, 0, SEEK_END), from = end - (off_t)sizeof(buf) + 1;
    from = from < d->log_start ? d->log_start : from;
    ssize_t n = from < end ? pread(fd, buf, (size_t)(end - from), from) : 0;
    close(fd);
    if (n <= 0)
        return;
    buf[n] = '\0';
    const char *last = NULL, *error = NULL;
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        last = line;
        if (strstr(line, "ERROR") || strstr(line, "error:"))
            error = line;
    }
    mlq_out_clean(error ? error : last, out, len);
}

/* Fails when one of the daemons has died, naming it and its log. */
static int up_check_alive(struct up_daemon *d, int n, struct mlq_err *err)
{
    char how[64], last[200];
    for (int i = 0; i < n; i++) {
        if (d[i].pid <= 0 || !mlq_daemon_exited(d[i].pid, how, sizeof(how)))
            continue;
        d[i].pid = 0;
        log_reason(&d[i], last, sizeof(last));
        return up_fail(err, "%s%s exited during start-up (%s)%s%s; see %s",
                       i == 0 ? "mlq-scheduler" : "mlq-worker ", i == 0 ? "" : d[i].name, how,
                       last[0] ? ": " : "", last, d[i].log);
    }
    return 0;
}

/* How many of our workers the scheduler lists as UP; -1 when it does not
 * answer (yet). */
static int up_count(struct mlq_cli *cli, const struct up_daemon *d, int n)
{
    struct mlq_msg req = {.type = MLQ_MSG_WORKERS}, reply;
    if (mlq_cli_request(cli, &req, MLQ_MSG_WORKER_LIST, &reply, NULL) < 0)
        return -1;
    int up = 0;
    for (uint32_t i = 0; i < reply.u.worker_list.nworkers; i++) {
        const struct mlq_workerinfo *w = &reply.u.worker_list.workers[i];
        for (int k = 1; k < n; k++)
            if (w->name && w->state && strcmp(w->name, d[k].name) == 0 &&
                strcmp(w->state, "UP") == 0)
                up++;
    }
    mlq_proto_msg_free(&reply);
    return up;
}

static int up_wait(struct mlq_cli *cli, struct up_daemon *d, int n, struct mlq_err *err)
{
    int64_t deadline = mlq_clock_mono_ms() + UP_WAIT_MS;
    int saved = cli->timeout_ms, up = -1, rc = 0;
    cli->timeout_ms = UP_PROBE_MS;
    while (rc == 0) {
        if ((rc = up_check_alive(d, n, err)) < 0)
            break;
        if ((up = up_count(cli, d, n)) == n - 1)
            break;
        if (mlq_clock_mono_ms() >= deadline && up < 0) {
            rc = up_fail(err, "the scheduler did not answer within %ds; see %s", UP_WAIT_MS / 1000,
                         d[0].log);
        } else if (mlq_clock_mono_ms() >= deadline) {
            rc = up_fail(err, "%d of %d workers up after %ds; see their logs next to %s", up, n - 1,
                         UP_WAIT_MS / 1000, d[0].log);
        }
        if (rc < 0)
            break;
        mlq_cli_sleep_ms(UP_POLL_MS);
    }
    cli->timeout_ms = saved;
    return rc;
}

/* Stops what we started after a failed start-up: all or nothing. */
static void up_abort(struct up_daemon *d, int n)
{
    pid_t pids[UP_MAX_WORKERS + 1];
    int k = 0;
    for (int i = n - 1; i >= 0; i--)
        if (d[i].pid > 0)
            pids[k++] = d[i].pid;
    mlq_daemon_stop(pids, k, STOP_GRACE_MS);
}

/* ---- up: the client config ---- */

/* The key lines of the client config: the user's key and the scheduler's
 * public key, or `insecure = yes`. */
static int config_keys(const struct mlq_upkeys *keys, char *buf, size_t len)
{
    if (keys->insecure)
        return snprintf(buf, len, "insecure = yes\n");
    return snprintf(buf, len, "key = %s\nscheduler_key = %s.pub\n", keys->user, keys->server);
}

static int up_write_config(const char *dir, const char *listen, const struct mlq_upkeys *keys,
                           char **where, struct mlq_err *err)
{
    char text[5 * MLQ_MAX_PATH + 128], path[MLQ_MAX_PATH];
    int len = snprintf(text, sizeof(text),
                       "# written by `mlq up`\nscheduler = %s\nstate_dir = %s\n", listen, dir);
    len += config_keys(keys, text + len, sizeof(text) - (size_t)len);
    /* A copy in the state dir lets `mlq down` find this cluster's scheduler
     * even after another `mlq up` rewrote the user's config. */
    snprintf(path, sizeof(path), "%s/client.conf", dir);
    int rc = mlq_fs_write_atomic(path, text, (size_t)len, err);
    *where = mlq_config_default_path();
    if (rc < 0 || !*where)
        return rc;
    char *parent = strdup(*where), *slash = parent ? strrchr(parent, '/') : NULL;
    if (slash && slash != parent) {
        *slash = '\0';
        rc = mlq_fs_mkdirs(parent, 0755, err);
    }
    free(parent);
    return rc < 0 ? rc : mlq_fs_write_atomic(*where, text, (size_t)len, err);
}

static void up_summary(const char *dir, const struct up_opts *o, pid_t sched, const char *cfg,
                       const struct mlq_upkeys *keys)
{
    char cpus[32], mem[32];
    fprintf(stderr,
            "cluster up: scheduler on %s (pid %ld), %ld worker%s with %s CPUs, %s memory, "
            "%d GPUs each\n",
            o->listen, (long)sched, o->workers, o->workers == 1 ? "" : "s",
            mlq_res_fmt_cpus(o->cpus_m, cpus, sizeof(cpus)),
            mlq_res_fmt_mem(o->mem, mem, sizeof(mem)), (int)o->gpus);
    fprintf(stderr, "state and logs in %s; client config %s\n", dir, cfg ? cfg : "not written");
    if (keys->insecure)
        fprintf(stderr, "plain TCP without keys (--insecure)\n");
    else
        fprintf(stderr, "keys in %s; you (%s) are its admin\n", keys->dir, keys->user_name);
}

/* The credentials `up` itself talks to its scheduler with. */
static int up_creds(struct mlq_cli *cli, const struct mlq_upkeys *keys, struct mlq_err *err)
{
    char pub[MLQ_MAX_PATH + 8];
    mlq_creds_wipe(&cli->creds);
    cli->creds_ready = false;
    if (keys->insecure) {
        cli->creds.plain = true;
    } else {
        snprintf(pub, sizeof(pub), "%s.pub", keys->server);
        int rc = mlq_creds_from_files(keys->user, pub, &cli->creds, err);
        if (rc < 0)
            return rc;
    }
    cli->creds_ready = true;
    return 0;
}

static int up_run(struct mlq_cli *cli, const char *dir, const struct up_opts *o,
                  struct mlq_err *err)
{
    int n = (int)o->workers + 1;
    struct mlq_upkeys keys;
    int rc = mlq_upkeys_prepare(dir, o->workers, o->insecure, &keys, err);
    if (rc == 0)
        rc = up_creds(cli, &keys, err);
    struct up_daemon *d = rc == 0 ? calloc((size_t)n, sizeof(*d)) : NULL;
    if (rc < 0 || !d)
        return rc < 0 ? rc : mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    rc = up_spawn_scheduler(&d[0], dir, o, &keys, err);
    for (int i = 1; rc == 0 && i < n; i++)
        rc = up_spawn_worker(&d[i], i, dir, o, &keys, err);
    cli->scheduler_opt = o->listen;
    if (rc == 0)
        rc = up_wait(cli, d, n, err);
    char *cfg = NULL;
    if (rc == 0)
        rc = up_write_config(dir, o->listen, &keys, &cfg, err);
    char url[128] = "", token[MLQ_TOKEN_SECRET_LEN + 1] = "";
    if (rc == 0 && o->http)
        rc = mlq_uphttp_token(cli, dir, keys.insecure ? "admin" : keys.user_name, url, sizeof url,
                              token, err);
    if (rc < 0)
        up_abort(d, n);
    else
        up_summary(dir, o, d[0].pid, cfg, &keys);
    if (rc == 0 && o->http) {
        fprintf(stderr,
                "dashboard and API: %s/ (log in with this admin token; it is shown only "
                "now):\n",
                url);
        printf("%s\n", token);
        fflush(stdout);
    }
    free(cfg);
    free(d);
    return rc;
}

int mlq_cmd_up(struct mlq_cli *cli, int argc, char **argv)
{
    struct up_opts o;
    int rc = up_parse(argc, argv, &o);
    if (rc >= 0)
        return rc;
    struct mlq_err err = {0};
    char *dir = mlq_fs_abspath(o.state_dir);
    if (!dir)
        return mlq_out_fail(MLQ_ENOMEM, NULL);
    rc = up_prepare(dir, o.workers, &err);
    if (rc == 0)
        rc = up_run(cli, dir, &o, &err);
    free(dir);
    if (rc < 0 && !err.msg[0])
        return mlq_cli_exit_code(rc); /* already said */
    return rc < 0 ? mlq_out_fail(rc, &err) : MLQ_EXIT_OK;
}

/* ---- down ---- */

static const char down_usage[] =
    "usage: mlq down [--state-dir DIR] [--kill-jobs]\n\n"
    "Stops the local cluster: its workers, then its scheduler.\n"
    "  --state-dir DIR   the cluster's state dir (default: the one `mlq up` wrote\n"
    "                    into the client config, else " DEFAULT_STATE_DIR ")\n"
    "  --kill-jobs       cancel every unfinished job first (else jobs keep running\n"
    "                    and are picked up again by the next `mlq up`)\n"
    "  --scheduler ADDR  scheduler address (for --kill-jobs)\n"
    "  --timeout DUR     how long to wait for the scheduler's answers (default 10s)\n";

static const struct option down_longopts[] = {
    MLQ_CLI_COMMON_LONGOPTS,
    MLQ_CLI_TIMEOUT_LONGOPT,
    {"state-dir", required_argument, NULL, OPT_STATE_DIR},
    {"kill-jobs", no_argument, NULL, OPT_KILL_JOBS},
    {NULL, 0, NULL, 0},
};

struct down_opts {
    const char *state_dir; /* NULL: from the config */
    bool kill_jobs;
};

static int down_opt(int c, struct mlq_cli *cli, struct down_opts *o, struct mlq_err *err)
{
    switch (c) {
    case OPT_STATE_DIR:
        o->state_dir = optarg;
        return 0;
    case OPT_KILL_JOBS:
        o->kill_jobs = true;
        return 0;
    case MLQ_CLI_OPT_SCHEDULER:
        cli->scheduler_opt = optarg;
        return 0;
    case MLQ_CLI_OPT_TIMEOUT:
        return mlq_cli_parse_timeout(optarg, &cli->timeout_ms, err);
    default:
        return mlq_err_set(err, MLQ_CLI_EUSAGE, "down: unexpected option");
    }
}

/* Returns -1 to go on, else the exit code. */
static int down_parse(struct mlq_cli *cli, int argc, char **argv, struct down_opts *o)
{
    struct mlq_err err = {0};
    int c, rc = 0;
    memset(o, 0, sizeof(*o));
    optind = 0;
    opterr = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, ":h", down_longopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(down_usage, stdout);
            return MLQ_EXIT_OK;
        }
        rc = c == '?' || c == ':' ? mlq_cli_getopt_error("down", c, argc, argv, &err)
                                  : down_opt(c, cli, o, &err);
    }
    if (rc == 0 && optind < argc)
        rc = mlq_err_set(&err, MLQ_CLI_EUSAGE, "down: unexpected argument '%.40s'", argv[optind]);
    return rc < 0 ? usage_error("down", &err) : -1;
}

/* Value of key in the config file at path, malloc'd; NULL when absent. */
static char *config_value(const char *path, const char *key)
{
    struct mlq_config *cfg = NULL;
    char *v = NULL;
    if (path && mlq_config_load(path, &cfg, NULL) == 0 && mlq_config_get(cfg, key))
        v = strdup(mlq_config_get(cfg, key));
    mlq_config_destroy(&cfg);
    return v;
}

/* The state dir: the option, else the client config's, else the default.
 * Absolute; caller frees. */
static char *down_dir(const struct down_opts *o)
{
    if (o->state_dir)
        return mlq_fs_abspath(o->state_dir);
    char *cfg = mlq_config_default_path();
    char *v = config_value(cfg, "state_dir");
    free(cfg);
    char *dir = mlq_fs_abspath(v ? v : DEFAULT_STATE_DIR);
    free(v);
    return dir;
}

/* Full ids of every job that has not ended (at most MLQ_MAX_IDS). */
static int active_jobs(struct mlq_cli *cli, char ***ids, int *n, struct mlq_err *err)
{
    static const int states[] = {MLQ_JOB_PENDING, MLQ_JOB_ASSIGNED, MLQ_JOB_RUNNING};
    *ids = calloc(MLQ_MAX_IDS, sizeof(**ids));
    *n = 0;
    if (!*ids)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    for (size_t s = 0; s < sizeof(states) / sizeof(states[0]); s++) {
        struct mlq_msg req = {.type = MLQ_MSG_JOBS}, reply;
        req.u.jobs.state = states[s];
        req.u.jobs.limit = MLQ_MAX_IDS;
        int rc = mlq_cli_request(cli, &req, MLQ_MSG_JOB_LIST, &reply, err);
        if (rc < 0)
            return rc;
        for (uint32_t i = 0; i < reply.u.job_list.njobs && *n < MLQ_MAX_IDS; i++)
            if (((*ids)[*n] = strdup(reply.u.job_list.jobs[i].id)))
                (*n)++;
        mlq_proto_msg_free(&reply);
    }
    return 0;
}

static void free_ids(char **ids, int n)
{
    for (int i = 0; ids && i < n; i++)
        free(ids[i]);
    free(ids);
}

/* Cancels every unfinished job and waits for them to end. */
static int down_kill_jobs(struct mlq_cli *cli, struct mlq_err *err)
{
    int64_t deadline = mlq_clock_mono_ms() + KILL_JOBS_WAIT_MS;
    int total = 0;
    for (;;) {
        char **ids;
        int n;
        int rc = active_jobs(cli, &ids, &n, err);
        if (rc == 0 && n > 0) {
            struct mlq_msg req = {.type = MLQ_MSG_CANCEL}, reply;
            req.u.cancel.ids = ids;
            req.u.cancel.nids = (uint32_t)n;
            if ((rc = mlq_cli_request(cli, &req, MLQ_MSG_JOB_LIST, &reply, err)) == 0)
                mlq_proto_msg_free(&reply);
            total = total ? total : n;
        }
        free_ids(ids, n);
        if (rc < 0 || n == 0)
            return rc < 0 ? rc : total;
        if (mlq_clock_mono_ms() >= deadline)
            return mlq_err_set(err, MLQ_CLI_EFAILED, "%d jobs still running after %ds", n,
                               KILL_JOBS_WAIT_MS / 1000);
        mlq_cli_sleep_ms(500);
    }
}

/* Adds the pid in path to pids when it names a live mlq daemon. */
static void add_pid(const char *path, pid_t *pids, int *n, int max)
{
    pid_t pid;
    if (*n >= max || mlq_fs_read_pidfile(path, &pid, NULL) < 0 || !mlq_fs_pid_alive(pid))
        return;
    if (!mlq_daemon_is_ours(pid)) {
        fprintf(stderr, "mlq: ignoring %s: pid %ld is not an mlq daemon\n", path, (long)pid);
        return;
    }
    pids[(*n)++] = pid;
}

/* Pids of the live workers named by dir/workers/(any)/worker.pid. */
static int worker_pids(const char *dir, pid_t *pids, int max)
{
    char path[MLQ_MAX_PATH + 300];
    snprintf(path, sizeof(path), "%s/workers", dir);
    DIR *d = opendir(path);
    int n = 0;
    struct dirent *e;
    while (d && (e = readdir(d))) {
        if (e->d_name[0] == '.')
            continue;
        snprintf(path, sizeof(path), "%s/workers/%s/worker.pid", dir, e->d_name);
        add_pid(path, pids, &n, max);
    }
    if (d)
        closedir(d);
    return n;
}

/* Stops the daemons of dir; prints what it did. */
static void down_stop(const char *dir)
{
    pid_t w[MLQ_MAX_WORKERS], s[1];
    char path[MLQ_MAX_PATH + 32];
    int nw = worker_pids(dir, w, MLQ_MAX_WORKERS), ns = 0;
    snprintf(path, sizeof(path), "%s/scheduler.pid", dir);
    add_pid(path, s, &ns, 1);
    if (nw + ns == 0) {
        fprintf(stderr, "nothing was running in %s\n", dir);
        return;
    }
    int killed = mlq_daemon_stop(w, nw, STOP_GRACE_MS);
    killed += mlq_daemon_stop(s, ns, STOP_GRACE_MS);
    fprintf(stderr, "stopped %d worker%s%s in %s", nw, nw == 1 ? "" : "s",
            ns ? " and the scheduler" : "", dir);
    if (killed)
        fprintf(stderr, " (%d did not stop within %ds and were killed)", killed,
                STOP_GRACE_MS / 1000);
    fputc('\n', stderr);
}

int mlq_cmd_down(struct mlq_cli *cli, int argc, char **argv)
{
    struct down_opts o;
    int rc = down_parse(cli, argc, argv, &o);
    if (rc >= 0)
        return rc;
    char *dir = down_dir(&o);
    if (!dir)
        return mlq_out_fail(MLQ_ENOMEM, NULL);
    char *addr = NULL, sched_pid[MLQ_MAX_PATH + 32];
    snprintf(sched_pid, sizeof(sched_pid), "%s/scheduler.pid", dir);
    pid_t pid;
    bool sched_alive = mlq_fs_read_pidfile(sched_pid, &pid, NULL) == 0 && mlq_daemon_is_ours(pid);
    if (o.kill_jobs && !sched_alive)
        fprintf(stderr, "no scheduler running in %s: no jobs to cancel\n", dir);
    if (o.kill_jobs && sched_alive) {
        struct mlq_err err = {0};
        char path[MLQ_MAX_PATH + 32];
        snprintf(path, sizeof(path), "%s/client.conf", dir);
        if (!cli->scheduler_opt)
            cli->scheduler_opt = addr = config_value(path, "scheduler");
        /* the keys of that cluster, not whatever the user's config names now */
        if (access(path, F_OK) == 0)
            cli->config_path = path;
        rc = down_kill_jobs(cli, &err);
        cli->config_path = NULL;
        if (rc < 0)
            fprintf(stderr, "mlq: could not cancel jobs: %s; stopping the daemons anyway\n",
                    err.msg);
        else if (rc > 0)
            fprintf(stderr, "cancelled %d job%s\n", rc, rc == 1 ? "" : "s");
    }
    down_stop(dir);
    free(addr);
    free(dir);
    return MLQ_EXIT_OK;
}
