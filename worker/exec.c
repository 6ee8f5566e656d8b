/* exec: see exec.h.
 *
 * Exec failures are reported through a close-on-exec pipe: the child writes
 * its errno there when execv fails; a successful exec closes the pipe, so the
 * parent reads end-of-file.
 *
 * A standby shim gets one more descriptor, MLQ_SHIM_STANDBY_FD: its end of a
 * socket pair (a socket, so that the worker's send never raises SIGPIPE when
 * the standby died). The worker sends the attempt folder's path and a
 * newline there and closes its end; closing it without a path sends the
 * standby away. */
#include "exec.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include "bounds.h"
#include "clock.h"
#include "fsutil.h"
#include "shim.h"

#define ERR_FD  3 /* where the child keeps the error pipe */
#define HIGH_FD 10

static void close_from(int lowfd)
{
    if (close_range((unsigned)lowfd, ~0U, 0) == 0)
        return;
    long max = sysconf(_SC_OPEN_MAX);
    if (max < 0 || max > 65536)
        max = 65536;
    for (int fd = lowfd; fd < max; fd++)
        close(fd);
}

/* In the forked child: async-signal-safe calls only. Never returns. */
static void child(const char *shim_path, char *const argv[], int err_fd, int cmd_fd)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &sa, NULL);
    }
    /* A kill may come before the shim is ready to take it: it stays pending
     * until the shim collects it (the shim blocks these anyway). */
    sigset_t held;
    sigemptyset(&held);
    sigaddset(&held, SIGTERM);
    sigaddset(&held, SIGINT);
    sigaddset(&held, SIGHUP);
    sigprocmask(SIG_SETMASK, &held, NULL);
    /* stderr stays the worker's (mlq-worker makes sure it is open), so that
     * what the shim itself says, sanitizer reports included, lands in the
     * worker's log; the job gets its own streams from the shim. */
    int null = open("/dev/null", O_RDWR);
    if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0)
        _exit(127);
    /* Out of the way first: either may sit on the other's final number. */
    if ((err_fd = fcntl(err_fd, F_DUPFD, HIGH_FD)) < 0 ||
        (cmd_fd >= 0 && (cmd_fd = fcntl(cmd_fd, F_DUPFD, HIGH_FD)) < 0))
        _exit(127);
    if (dup2(err_fd, ERR_FD) < 0 || (cmd_fd >= 0 && dup2(cmd_fd, MLQ_SHIM_STANDBY_FD) < 0))
        _exit(127);
    fcntl(ERR_FD, F_SETFD, FD_CLOEXEC);
    close_from(cmd_fd >= 0 ? MLQ_SHIM_STANDBY_FD + 1 : ERR_FD + 1);
    execv(shim_path, argv);
    int e = errno;
    ssize_t w = write(ERR_FD, &e, sizeof e);
    (void)w;
    _exit(127);
}

/* Reads the child's exec errno; 0 when the exec succeeded. */
static int read_exec_errno(int fd)
{
    int e = 0;
    ssize_t r;
    do {
        r = read(fd, &e, sizeof e);
    } while (r < 0 && errno == EINTR);
    return r == (ssize_t)sizeof e ? e : 0;
}

/* Forks and execs argv[0] (with cmd_fd as MLQ_SHIM_STANDBY_FD when >= 0)
 * and fills *out once the exec succeeded. */
static int spawn(char *const argv[], int cmd_fd, struct mlq_shim_id *out, struct mlq_err *err)
{
    const char *shim_path = argv[0];
    int pfd[2];
    if (pipe2(pfd, O_CLOEXEC) != 0)
        return mlq_err_set(err, MLQ_EIO, "pipe: %s", strerror(errno));
    int64_t start_ms = mlq_clock_wall_ms();
    pid_t pid = fork();
    if (pid < 0) {
        int e = errno;
        close(pfd[0]);
        close(pfd[1]);
        return mlq_err_set(err, MLQ_EIO, "fork: %s", strerror(e));
    }
    if (pid == 0)
        child(shim_path, argv, pfd[1], cmd_fd);
    close(pfd[1]);
    int e = read_exec_errno(pfd[0]);
    close(pfd[0]);
    if (e != 0) {
        while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
            ;
        return mlq_err_set(err, MLQ_EIO, "cannot execute shim %s: %s", shim_path, strerror(e));
    }
    out->pid = pid;
    out->start_ms = start_ms;
    /* The shim is our unreaped child, so its /proc entry is still there even
     * if it already exited. */
    out->starttime = mlq_fs_pid_starttime(pid);
    return 0;
}

int mlq_exec_start_shim(const char *shim_path, const char *attempt_dir, struct mlq_shim_id *out,
                        struct mlq_err *err)
{
    char *argv[] = {(char *)shim_path, (char *)attempt_dir, NULL};
    return spawn(argv, -1, out, err);
}

int mlq_exec_standby_start(const char *shim_path, const char *attempts_dir,
                           struct mlq_exec_standby *sb, struct mlq_err *err)
{
    char *argv[] = {(char *)shim_path, MLQ_SHIM_STANDBY_ARG, (char *)attempts_dir, NULL};
    int sv[2];
    mlq_exec_standby_stop(sb);
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) != 0)
        return mlq_err_set(err, MLQ_EIO, "socketpair: %s", strerror(errno));
    int rc = spawn(argv, sv[1], &sb->id, err);
    close(sv[1]);
    if (rc < 0) {
        close(sv[0]);
        memset(&sb->id, 0, sizeof sb->id);
        return rc;
    }
    shutdown(sv[0], SHUT_RD);
    sb->fd = sv[0];
    return 0;
}

int mlq_exec_standby_take(struct mlq_exec_standby *sb, const char *attempt_dir,
                          struct mlq_shim_id *out, struct mlq_err *err)
{
    char line[MLQ_MAX_PATH + 2];
    if (sb->fd < 0)
        return mlq_err_set(err, MLQ_ENOTFOUND, "no standby shim");
    int n = snprintf(line, sizeof line, "%s\n", attempt_dir);
    if (n < 0 || (size_t)n >= sizeof line || strchr(attempt_dir, '\n'))
        return mlq_err_set(err, MLQ_EINVAL, "attempt folder path too long");
    /* No liveness check: only the standby holds the other end, so the send
     * fails when it is gone. */
    ssize_t w;
    do {
        w = send(sb->fd, line, (size_t)n, MSG_NOSIGNAL);
    } while (w < 0 && errno == EINTR);
    int e = errno;
    struct mlq_shim_id id = sb->id;
    mlq_exec_standby_stop(sb); /* closing our end completes the message */
    if (w != n)
        return mlq_err_set(err, MLQ_ENOTFOUND, "the standby shim is gone (%s)",
                           w < 0 ? strerror(e) : "short write");
    *out = id;
    out->start_ms = mlq_clock_wall_ms();
    return 0;
}

void mlq_exec_standby_stop(struct mlq_exec_standby *sb)
{
    if (sb->fd >= 0)
        close(sb->fd);
    sb->fd = -1;
    memset(&sb->id, 0, sizeof sb->id);
}

int mlq_exec_signal(const struct mlq_shim_id *id, int sig, struct mlq_err *err)
{
    if (!mlq_spool_shim_alive(id))
        return mlq_err_set(err, MLQ_ENOTFOUND, "shim %ld is gone", (long)id->pid);
    if (kill(id->pid, sig) != 0)
        return mlq_err_set(err, errno == ESRCH ? MLQ_ENOTFOUND : MLQ_EIO, "kill %ld: %s",
                           (long)id->pid, strerror(errno));
    return 0;
}

char *mlq_exec_default_shim(void)
{
    char exe[MLQ_MAX_PATH];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof exe - 1);
    if (n <= 0 || (size_t)n >= sizeof exe - 1)
        return NULL;
    exe[n] = '\0';
    char *slash = strrchr(exe, '/');
    if (!slash)
        return NULL;
    slash[1] = '\0';
    char *path = NULL;
    if (asprintf(&path, "%smlq-shim", exe) < 0)
        return NULL;
    return path;
}
