/* mlq-scheduler: parse options, take the state directory, run the loop.
 * The only file-scope variable is the signal pipe's write end. */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bounds.h"
#include "err.h"
#include "fsutil.h"
#include "log.h"
#include "res.h"
#include "http.h"
#include "loop.h"
#include "reload.h"
#include "restore.h"
#include "schedopts.h"
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
    sigaction(SIGHUP, &sa, NULL);
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
static int start_http(struct mlq_schedopts *o, struct mlq_loop *s, struct mlq_http **h,
                      struct mlq_err *e)
{
    static char web_buf[MLQ_MAX_PATH + 32]; /* the default --http-root, kept by o */
    if (!o->http.addr)
        return 0;
    if (!o->http.root)
        o->http.root = default_web_root(web_buf, sizeof web_buf);
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

/* Options from the command line and the config file; returns -1 to go on,
 * else the exit code (0 after --help or --version, 2 on a usage error). */
static int read_options(int argc, char **argv, struct mlq_schedopts_src *src,
                        struct mlq_schedopts *o)
{
    struct mlq_err e = {0};
    if (mlq_schedopts_load(argc, argv, src, o, &e) < 0) {
        if (e.msg[0] && strcmp(e.msg, "bad command line") != 0)
            fprintf(stderr, "mlq-scheduler: %s\n", e.msg);
        else
            mlq_schedopts_usage(stderr);
        return 2;
    }
    if (o->help) {
        mlq_schedopts_usage(stdout);
        return 0;
    }
    if (o->version) {
        mlq_version_print(stdout, "mlq-scheduler");
        return 0;
    }
    char why[256];
    if (o->log_file && mlq_log_open_file(o->log_file, why, sizeof why) < 0) {
        fprintf(stderr, "mlq-scheduler: --log-file: %s\n", why);
        return 2;
    }
    return -1;
}

/* --restore: restore.h; exits 0 or 1. */
static int restore(const struct mlq_schedopts *o)
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

/* Runs the loop until a stop signal; returns the exit code. */
static int serve(struct mlq_schedopts *o, struct mlq_schedopts_src *src,
                 const struct mlq_sdnotify *sd)
{
    char key_buf[MLQ_MAX_PATH + 32];
    o->s.authorize = o->auth;
    o->s.nauthorize = o->nauth;
    if (!o->s.key_path) {
        snprintf(key_buf, sizeof key_buf, "%s/keys/server.key", o->s.state_dir);
        o->s.key_path = key_buf;
    }
    int lock_fd = -1, pipefd[2];
    if (claim_state_dir(o->s.state_dir, &lock_fd) < 0 || setup_signals(pipefd) < 0)
        return 1;
    struct mlq_loop *s = NULL;
    struct mlq_err e = {0};
    struct mlq_http *http = NULL;
    struct mlq_reload reload = {.src = src};
    int rc = mlq_loop_create(&o->s, &s, &e);
    if (rc == 0)
        rc = start_http(o, s, &http, &e);
    if (rc == 0) {
        mlq_info("mlq-scheduler %s (git %s, wire protocol %d..%d) listening on %s, state in %s, "
                 "config %s",
                 mlq_version(), mlq_version_git(), MLQ_PROTO_MIN, MLQ_PROTO_MAX, o->s.listen,
                 o->s.state_dir, src->config ? src->config : "none");
        mlq_loop_on_reload(s, mlq_reload_run, &reload);
        notify(sd, "READY=1\nSTATUS=listening on %s", o->s.listen);
        rc = mlq_loop_run(s, pipefd[0], &e);
    }
    notify(sd, "STOPPING=1\nSTATUS=%s", rc < 0 ? "stopping after an error" : "stopping");
    if (rc < 0)
        mlq_error("%s", e.msg);
    mlq_http_stop(&http); /* its threads' sockets go before the context */
    mlq_loop_destroy(&s);
    char path[MLQ_MAX_PATH + 32];
    snprintf(path, sizeof path, "%s/scheduler.pid", o->s.state_dir);
    unlink(path);
    snprintf(path, sizeof path, "%s/http.url", o->s.state_dir);
    unlink(path);
    mlq_info("stopped");
    mlq_reload_clear(&reload);
    return rc < 0 ? 1 : 0;
}

/* Everything between reading the options and serving: the log, readiness,
 * checks, --restore. Returns the exit code. */
static int start(struct mlq_schedopts *o, struct mlq_schedopts_src *src)
{
    mlq_log_init("mlq-scheduler", o->level);
    struct mlq_sdnotify sd;
    struct mlq_err sde = {0};
    if (mlq_sdnotify_open(&sd, &sde) < 0)
        mlq_warn("no readiness notification: %s", sde.msg);
    if (read_test_clock(&o->s) < 0)
        return 2;
    if (o->s.insecure && !mlq_transport_is_local(o->s.listen)) {
        fprintf(stderr,
                "mlq-scheduler: refusing to listen on %s with --insecure: plain text is only "
                "allowed on loopback addresses\n",
                o->s.listen);
        return 2;
    }
    if (o->restore)
        return restore(o);
    return serve(o, src, &sd);
}

int main(int argc, char **argv)
{
    struct mlq_schedopts o;
    struct mlq_schedopts_src src;
    umask(077); /* everything the scheduler writes is private to its account */
    int rc = read_options(argc, argv, &src, &o);
    if (rc < 0)
        rc = start(&o, &src);
    mlq_schedopts_src_clear(&src); /* the one owner of what the options point into */
    return rc;
}
