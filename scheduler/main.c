/* mlq-scheduler: parse options, take the state directory, run the loop.
 * The only file-scope variable is the signal pipe's write end. */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "err.h"
#include "fsutil.h"
#include "log.h"
#include "res.h"
#include "http.h"
#include "loop.h"
#include "restore.h"
#include "retention.h"
#include "sdnotify.h"
#include "transport.h"
#include "version.h"

static int signal_pipe_w = -1;

static void on_signal(int sig)
{
    int saved = errno;
    char c = (char)sig;
    if (write(signal_pipe_w, &c, 1) < 0) {
        /* pipe full: a stop is already pending */
    }
    errno = saved;
}

static void usage(FILE *f)
{
    fprintf(f, "usage: mlq-scheduler [options]\n"
               "\n"
               "The mlq scheduler daemon: queues jobs, places them on workers, keeps\n"
               "every state change in DIR/mlq.db.\n"
               "\n"
               "  --listen ADDR       ZeroMQ endpoint to bind (default tcp://127.0.0.1:7710):\n"
               "                      any address with keys, e.g. tcp://10.0.0.5:7710 for\n"
               "                      workers on other hosts; loopback only with --insecure\n"
               "  --state-dir DIR     state directory: mlq.db, scheduler.pid (default ./.mlq)\n"
               "  --heartbeat DUR     how often workers heartbeat (default 5s)\n"
               "  --lease DUR         a worker silent this long is lost (default 30s)\n"
               "  --kill-grace DUR    default SIGTERM to SIGKILL delay of jobs (default 30s)\n"
               "  --ageing DUR        waiting this long adds one priority point (default 1m)\n"
               "  --default-time-limit DUR\n"
               "                      run time assumed for jobs without --time-limit when\n"
               "                      reserving for a blocked job (default 24h)\n"
               "  --fairshare-half-life DUR\n"
               "                      how fast a user's past use stops counting (default 24h)\n"
               "  --key FILE          the scheduler's CURVE secret key (default\n"
               "                      DIR/keys/server.key, created when missing)\n"
               "  --authorize ROLE:NAME:FILE.pub\n"
               "                      register a key at start (role user, admin or worker);\n"
               "                      repeatable\n"
               "  --retain-jobs DUR   delete finished jobs (attempts, events, logs) this\n"
               "                      long after they ended; 0 or off keeps them (default 30d)\n"
               "  --retain-events DUR delete events older than this; 0 or off keeps them\n"
               "                      (default 90d)\n"
               "  --retain-logs-size SIZE\n"
               "                      cap on the stored job logs (DIR/logs), oldest removed\n"
               "                      first; 0 or off for none (default 20G)\n"
               "  --http ADDR:PORT    serve the HTTP API and the dashboard there (off by\n"
               "                      default; port 0 picks a free one, written to\n"
               "                      DIR/http.url); plain HTTP on 127.0.0.0/8 only\n"
               "  --http-cert FILE    TLS certificate (PEM) for --http\n"
               "  --http-key FILE     TLS private key (PEM) for --http\n"
               "  --http-root DIR     dashboard files (default: the installed share/mlq/web,\n"
               "                      else the source tree's scheduler/web)\n"
               "  --insecure          plain TCP without keys (loopback addresses only)\n"
               "  --allow-root-jobs   let jobs of user root run as root on workers\n"
               "  --restore FILE      with the scheduler stopped: check FILE (a backup made by\n"
               "                      `mlq admin backup`), install it as DIR/mlq.db (the old\n"
               "                      one is kept beside it) and exit\n"
               "  --log-level LEVEL   debug, info, warn or error (default info)\n"
               "  -h, --help          show this help\n"
               "  --version           show the version and the wire protocol's\n");
}

#define MAX_AUTHORIZE 256

struct opts {
    struct mlq_loop_opts s;
    struct mlq_http_opts http;
    const char *auth[MAX_AUTHORIZE];
    size_t nauth;
    char key_buf[MLQ_MAX_PATH + 32];
    char web_buf[MLQ_MAX_PATH + 32]; /* the default --http-root */
    enum mlq_log_level level;
    const char *restore; /* --restore FILE: install FILE as DIR/mlq.db and exit */
};

static int parse_level(const char *s, enum mlq_log_level *out)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; i < 4; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (enum mlq_log_level)i;
            return 0;
        }
    return -1;
}

static int parse_duration_opt(const char *name, const char *v, int64_t *out)
{
    struct mlq_err e;
    if (mlq_res_parse_duration(v, out, &e) < 0) {
        fprintf(stderr, "mlq-scheduler: --%s: %s\n", name, e.msg);
        return -1;
    }
    return 0;
}

/* A retention setting: a duration, or 0 / "off" for keeping forever. */
static int parse_retain_opt(const char *name, const char *v, int64_t *out)
{
    if (strcmp(v, "0") == 0 || strcmp(v, "off") == 0) {
        *out = 0;
        return 0;
    }
    return parse_duration_opt(name, v, out);
}

static int parse_retain_size(const char *v, int64_t *out)
{
    struct mlq_err e;
    if (strcmp(v, "0") == 0 || strcmp(v, "off") == 0) {
        *out = 0;
        return 0;
    }
    if (mlq_res_parse_mem(v, out, &e) < 0) {
        fprintf(stderr, "mlq-scheduler: --retain-logs-size: %s\n", e.msg);
        return -1;
    }
    return 0;
}

/* Returns 0 to run, 1 to exit 0 (help), -1 to exit 2 (usage). */
static int parse_args(int argc, char **argv, struct opts *o)
{
    static const struct option longopts[] = {
        {"listen", required_argument, NULL, 'l'},
        {"state-dir", required_argument, NULL, 'd'},
        {"heartbeat", required_argument, NULL, 'b'},
        {"lease", required_argument, NULL, 'L'},
        {"kill-grace", required_argument, NULL, 'g'},
        {"ageing", required_argument, NULL, 'a'},
        {"default-time-limit", required_argument, NULL, 't'},
        {"fairshare-half-life", required_argument, NULL, 'f'},
        {"key", required_argument, NULL, 'k'},
        {"authorize", required_argument, NULL, 'A'},
        {"insecure", no_argument, NULL, 'I'},
        {"allow-root-jobs", no_argument, NULL, 'R'},
        {"log-level", required_argument, NULL, 'v'},
        {"retain-jobs", required_argument, NULL, 'J'},
        {"retain-events", required_argument, NULL, 'E'},
        {"retain-logs-size", required_argument, NULL, 'S'},
        {"http", required_argument, NULL, 'H'},
        {"http-cert", required_argument, NULL, 'C'},
        {"http-key", required_argument, NULL, 'K'},
        {"http-root", required_argument, NULL, 'W'},
        {"help", no_argument, NULL, 'h'},
        {"version", no_argument, NULL, 'V'},
        {"restore", required_argument, NULL, 'r'},
        {NULL, 0, NULL, 0},
    };
    int ch;
    while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
        int rc = 0;
        switch (ch) {
        case 'l':
            o->s.listen = optarg;
            break;
        case 'd':
            o->s.state_dir = optarg;
            break;
        case 'b':
            rc = parse_duration_opt("heartbeat", optarg, &o->s.heartbeat_ms);
            break;
        case 'L':
            rc = parse_duration_opt("lease", optarg, &o->s.lease_ms);
            break;
        case 'g':
            rc = parse_duration_opt("kill-grace", optarg, &o->s.kill_grace_ms);
            break;
        case 'a':
            rc = parse_duration_opt("ageing", optarg, &o->s.age_step_ms);
            break;
        case 't':
            rc = parse_duration_opt("default-time-limit", optarg, &o->s.default_limit_ms);
            break;
        case 'k':
            o->s.key_path = optarg;
            break;
        case 'A':
            if (o->nauth == MAX_AUTHORIZE) {
                fprintf(stderr, "mlq-scheduler: at most %d --authorize\n", MAX_AUTHORIZE);
                rc = -1;
            } else {
                o->auth[o->nauth++] = optarg;
            }
            break;
        case 'I':
            o->s.insecure = true;
            break;
        case 'R':
            o->s.allow_root = true;
            break;
        case 'f':
            rc = parse_duration_opt("fairshare-half-life", optarg, &o->s.fairshare_half_life_ms);
            break;
        case 'v':
            if ((rc = parse_level(optarg, &o->level)) < 0)
                fprintf(stderr,
                        "mlq-scheduler: --log-level: expected debug, info, warn or error\n");
            break;
        case 'J':
            rc = parse_retain_opt("retain-jobs", optarg, &o->s.retain_jobs_ms);
            break;
        case 'E':
            rc = parse_retain_opt("retain-events", optarg, &o->s.retain_events_ms);
            break;
        case 'S':
            rc = parse_retain_size(optarg, &o->s.retain_logs_bytes);
            break;
        case 'H':
            o->http.addr = optarg;
            break;
        case 'C':
            o->http.cert_path = optarg;
            break;
        case 'K':
            o->http.key_path = optarg;
            break;
        case 'W':
            o->http.root = optarg;
            break;
        case 'h':
            usage(stdout);
            return 1;
        case 'V':
            mlq_version_print(stdout, "mlq-scheduler");
            return 1;
        case 'r':
            o->restore = optarg;
            break;
        default:
            usage(stderr);
            return -1;
        }
        if (rc < 0)
            return -1;
    }
    if (optind < argc) {
        fprintf(stderr, "mlq-scheduler: unexpected argument \"%s\"\n", argv[optind]);
        return -1;
    }
    if (o->s.lease_ms <= o->s.heartbeat_ms) {
        fprintf(stderr, "mlq-scheduler: --lease must be longer than --heartbeat\n");
        return -1;
    }
    return 0;
}

/* Narrows path to mode when it gives group or others any access (a state
 * dir made before, by hand or by an older version), saying so. */
static void make_private(const char *path, mode_t mode)
{
    struct stat st;
    if (lstat(path, &st) < 0 || S_ISLNK(st.st_mode) || !(st.st_mode & 077))
        return;
    if (chmod(path, mode) < 0)
        mlq_warn("%s is open to other users (mode %03o) and could not be made private: %s", path,
                 (unsigned)(st.st_mode & 0777), strerror(errno));
    else
        mlq_warn("%s was open to other users (mode %03o); made it %03o", path,
                 (unsigned)(st.st_mode & 0777), (unsigned)mode);
}

/* The state dir holds every job's environment (database, WAL), the keys and
 * the logs: only the scheduler's account may read it. */
static void make_state_private(const char *dir)
{
    static const char *const files[] = {"mlq.db", "mlq.db-wal", "mlq.db-shm"};
    static const char *const dirs[] = {"logs", "keys"};
    char path[MLQ_MAX_PATH + 32];
    make_private(dir, 0700);
    for (size_t i = 0; i < sizeof files / sizeof files[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, files[i]);
        make_private(path, 0600);
    }
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, dirs[i]);
        make_private(path, 0700);
    }
}

/* Takes an exclusive lock on DIR/scheduler.lock (held until exit) so two
 * schedulers never share a database, then writes DIR/scheduler.pid. */
static int claim_state_dir(const char *dir, int *lock_fd)
{
    struct mlq_err e;
    char path[MLQ_MAX_PATH + 32];
    if (mlq_fs_mkdirs(dir, 0700, &e) < 0) {
        fprintf(stderr, "mlq-scheduler: %s\n", e.msg);
        return -1;
    }
    make_state_private(dir);
    snprintf(path, sizeof path, "%s/scheduler.lock", dir);
    *lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (*lock_fd < 0 || flock(*lock_fd, LOCK_EX | LOCK_NB) < 0) {
        fprintf(stderr, "mlq-scheduler: another scheduler is using %s (%s)\n", dir,
                strerror(errno));
        return -1;
    }
    snprintf(path, sizeof path, "%s/scheduler.pid", dir);
    if (mlq_fs_write_pidfile(path, getpid(), &e) < 0) {
        fprintf(stderr, "mlq-scheduler: %s\n", e.msg);
        return -1;
    }
    return 0;
}

static int setup_signals(int pipefd[2])
{
    if (pipe2(pipefd, O_CLOEXEC | O_NONBLOCK) < 0)
        return -1;
    signal_pipe_w = pipefd[1];
    struct sigaction sa = {.sa_handler = on_signal};
    sigemptyset(&sa.sa_mask);
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
    return 0;
}

/* Tests only: MLQ_TEST_TIME_SCALE=60 makes the scheduler's wall clock (cron
 * schedules, retry times, history) run 60 times faster, and
 * MLQ_TEST_TIME_OFFSET=SECONDS shifts it. Leases and timeouts keep real
 * time. */
static int read_test_clock(struct mlq_loop_opts *o)
{
    const char *scale = getenv("MLQ_TEST_TIME_SCALE"), *off = getenv("MLQ_TEST_TIME_OFFSET");
    char *end;
    if (scale && *scale) {
        o->time_scale = strtod(scale, &end);
        if (*end || o->time_scale <= 0 || o->time_scale > 100000) {
            fprintf(stderr, "mlq-scheduler: MLQ_TEST_TIME_SCALE must be a number in (0, 100000]\n");
            return -1;
        }
    }
    if (off && *off) {
        long long secs = strtoll(off, &end, 10);
        if (*end || secs < -1000000000LL || secs > 1000000000LL) {
            fprintf(stderr, "mlq-scheduler: MLQ_TEST_TIME_OFFSET must be whole seconds\n");
            return -1;
        }
        o->time_offset_ms = secs * 1000;
    }
    if (o->time_scale > 0 || o->time_offset_ms)
        mlq_warn("test clock: scale %g, offset %lld s", o->time_scale > 0 ? o->time_scale : 1.0,
                 (long long)(o->time_offset_ms / 1000));
    return 0;
}

/* PREFIX/share/mlq/web for the running binary PREFIX/bin/NAME: the installed dashboard
 * wherever the package put the programs (a .deb's /usr/bin finds
 * /usr/share/mlq/web whatever prefix the build was configured with). */
static bool exe_web_root(char *buf, size_t len)
{
    char exe[MLQ_MAX_PATH];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0 || (size_t)n >= sizeof exe - 1)
        return false;
    exe[n] = '\0';
    for (int up = 0; up < 2; up++) { /* drop NAME, then bin */
        char *slash = strrchr(exe, '/');
        if (!slash)
            return false;
        *slash = '\0';
    }
    int w = snprintf(buf, len, "%s/share/mlq/web", exe);
    return w > 0 && (size_t)w < len;
}

/* The dashboard's folder when --http-root is not given: the one installed
 * beside the binary, the configured install prefix's, else the one in the
 * source tree this binary was built from. */
static const char *default_web_root(char *buf, size_t len)
{
    const char *dirs[] = {exe_web_root(buf, len) ? buf : NULL, MLQ_WEB_INSTALL_DIR,
                          MLQ_WEB_SOURCE_DIR};
    struct stat st;
    for (size_t i = 0; i < sizeof dirs / sizeof dirs[0]; i++)
        if (dirs[i] && stat(dirs[i], &st) == 0 && S_ISDIR(st.st_mode))
            return dirs[i];
    return NULL;
}

/* Starts the HTTP server and writes its URL to DIR/http.url (for `mlq up`). */
static int start_http(struct opts *o, struct mlq_loop *s, struct mlq_http **h, struct mlq_err *e)
{
    if (!o->http.addr)
        return 0;
    if (!o->http.root)
        o->http.root = default_web_root(o->web_buf, sizeof o->web_buf);
    int rc = mlq_http_start(&o->http, mlq_loop_zctx(s), h, e);
    if (rc < 0)
        return rc;
    char url[128], path[MLQ_MAX_PATH + 32];
    const char *colon = strrchr(o->http.addr, ':');
    int hostlen = colon ? (int)(colon - o->http.addr) : 0;
    snprintf(url, sizeof url, "%s://%.*s:%d\n", mlq_http_tls(*h) ? "https" : "http", hostlen,
             o->http.addr, mlq_http_port(*h));
    snprintf(path, sizeof path, "%s/http.url", o->s.state_dir);
    FILE *f = fopen(path, "we");
    if (f) {
        fputs(url, f);
        fclose(f);
    }
    url[strlen(url) - 1] = '\0';
    mlq_info("HTTP API at %s (dashboard: %s)", url, o->http.root ? o->http.root : "none");
    return 0;
}

/* --restore: restore.h; exits 0 or 1. */
static int restore(const struct opts *o)
{
    struct mlq_err e = {0};
    char msg[2 * MLQ_MAX_PATH + 256];
    if (mlq_restore_run(o->restore, o->s.state_dir, msg, sizeof msg, &e) < 0) {
        fprintf(stderr, "mlq-scheduler: restore failed, nothing changed: %s\n", e.msg);
        return 1;
    }
    fprintf(stderr, "mlq-scheduler: %s\n", msg);
    return 0;
}

/* Tells systemd (when it started us with Type=notify) how far we are; a
 * failure is only logged: the daemon works without it. */
static void notify(const struct mlq_sdnotify *sd, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
static void notify(const struct mlq_sdnotify *sd, const char *fmt, ...)
{
    char msg[MLQ_SDNOTIFY_MAX_MSG + 1];
    struct mlq_err e = {0};
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    if (mlq_sdnotify_send(sd, msg, &e) < 0)
        mlq_warn("%s", e.msg);
}

int main(int argc, char **argv)
{
    struct opts o = {
        .s =
            {
                .listen = "tcp://127.0.0.1:7710",
                .state_dir = ".mlq",
                .heartbeat_ms = 5000,
                .lease_ms = 30000,
                .kill_grace_ms = 30000,
                .age_step_ms = 60 * 1000,
                .default_limit_ms = 24 * 3600 * 1000LL,
                .fairshare_half_life_ms = 24 * 3600 * 1000LL,
                .retain_jobs_ms = MLQ_RETENTION_DEFAULT_JOBS_MS,
                .retain_events_ms = MLQ_RETENTION_DEFAULT_EVENTS_MS,
                .retain_logs_bytes = MLQ_RETENTION_DEFAULT_LOGS_BYTES,
            },
        .level = MLQ_LOG_INFO,
    };
    umask(077); /* everything the scheduler writes is private to its account */
    int prc = parse_args(argc, argv, &o);
    if (prc != 0)
        return prc > 0 ? 0 : 2;
    mlq_log_init("mlq-scheduler", o.level);
    struct mlq_sdnotify sd;
    struct mlq_err sde = {0};
    if (mlq_sdnotify_open(&sd, &sde) < 0)
        mlq_warn("no readiness notification: %s", sde.msg);
    if (read_test_clock(&o.s) < 0)
        return 2;
    if (o.s.insecure && !mlq_transport_is_local(o.s.listen)) {
        fprintf(stderr,
                "mlq-scheduler: refusing to listen on %s with --insecure: plain text is only "
                "allowed on loopback addresses\n",
                o.s.listen);
        return 2;
    }
    if (o.restore)
        return restore(&o);
    o.s.authorize = o.auth;
    o.s.nauthorize = o.nauth;
    if (!o.s.key_path) {
        snprintf(o.key_buf, sizeof o.key_buf, "%s/keys/server.key", o.s.state_dir);
        o.s.key_path = o.key_buf;
    }
    int lock_fd = -1, pipefd[2];
    if (claim_state_dir(o.s.state_dir, &lock_fd) < 0 || setup_signals(pipefd) < 0)
        return 1;
    struct mlq_loop *s = NULL;
    struct mlq_err e = {0};
    struct mlq_http *http = NULL;
    int rc = mlq_loop_create(&o.s, &s, &e);
    if (rc == 0)
        rc = start_http(&o, s, &http, &e);
    if (rc == 0) {
        mlq_info("listening on %s, state in %s", o.s.listen, o.s.state_dir);
        notify(&sd, "READY=1\nSTATUS=listening on %s", o.s.listen);
        rc = mlq_loop_run(s, pipefd[0], &e);
    }
    notify(&sd, "STOPPING=1\nSTATUS=%s", rc < 0 ? "stopping after an error" : "stopping");
    if (rc < 0)
        mlq_error("%s", e.msg);
    mlq_http_stop(&http); /* its threads' sockets go before the context */
    mlq_loop_destroy(&s);
    char path[MLQ_MAX_PATH + 32];
    snprintf(path, sizeof path, "%s/scheduler.pid", o.s.state_dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/http.url", o.s.state_dir);
    unlink(path);
    mlq_info("stopped");
    return rc < 0 ? 1 : 0;
}
