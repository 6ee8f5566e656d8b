/* exec: see exec.h.
 *
 * A standby shim gets one more descriptor, MLQ_SHIM_STANDBY_FD: its end of a
 * socket pair (a socket, so that the worker's send never raises SIGPIPE when
 * the standby died). The worker sends an attempt folder's path and a
 * newline there and reads back the identity of the shim forked for it
 * (shimzygote.h); closing its end sends the standby away. */
#include "exec.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>

#include <unistd.h>

#include "bounds.h"
#include "clock.h"
#include "fsutil.h"
#include "shim.h"
#include "shimzygote.h"

extern char **environ;

/* Where cmd_fd waits in the worker for the child's dup2: above 0..4, so
 * that the dup2 never meets a descriptor the child sets up itself. */
#define HIGH_FD 10
/* The longest wait for the standby's answer: it forks once, nothing more. */
#define STANDBY_REPLY_MS 2000

/* What the child is set up with before its exec: /dev/null on 0 and 1,
 * the worker's stderr on 2, cmd_fd as MLQ_SHIM_STANDBY_FD, nothing else;
 * every signal at its default, and SIGTERM, SIGINT and SIGHUP held: a kill
 * may come before the shim is ready to take it and stays pending until the
 * shim collects it (the shim blocks these anyway). */
static int spawn_setup(posix_spawn_file_actions_t *fa, posix_spawnattr_t *at, int cmd_fd)
{
    sigset_t all, held;
    sigfillset(&all);
    sigdelset(&all, SIGKILL);
    sigdelset(&all, SIGSTOP);
    sigemptyset(&held);
    sigaddset(&held, SIGTERM);
    sigaddset(&held, SIGINT);
    sigaddset(&held, SIGHUP);
    int rc = posix_spawn_file_actions_addopen(fa, 0, "/dev/null", O_RDWR, 0);
    if (rc == 0)
        rc = posix_spawn_file_actions_adddup2(fa, 0, 1);
    if (rc == 0 && cmd_fd >= 0)
        rc = posix_spawn_file_actions_adddup2(fa, cmd_fd, MLQ_SHIM_STANDBY_FD);
    if (rc == 0)
        rc =
            posix_spawn_file_actions_addclosefrom_np(fa, cmd_fd >= 0 ? MLQ_SHIM_STANDBY_FD + 1 : 3);
    if (rc == 0)
        rc = posix_spawnattr_setsigdefault(at, &all);
    if (rc == 0)
        rc = posix_spawnattr_setsigmask(at, &held);
    if (rc == 0)
        rc = posix_spawnattr_setflags(at, POSIX_SPAWN_SETSIGDEF | POSIX_SPAWN_SETSIGMASK);
    return rc;
}

/* Starts argv[0] (with cmd_fd as MLQ_SHIM_STANDBY_FD when >= 0) and fills
 * *out once the exec succeeded. posix_spawn shares the worker's memory
 * with the child until its exec (no copy of the page tables of a
 * multi-threaded daemon) and returns the exec's errno; the worker waits
 * only for the exec itself, never for the shim's dynamic linking. */
static int spawn(char *const argv[], int cmd_fd, struct mlq_shim_id *out, struct mlq_err *err)
{
    const char *shim_path = argv[0];
    posix_spawn_file_actions_t fa;
    posix_spawnattr_t at;
    int high = cmd_fd >= 0 ? fcntl(cmd_fd, F_DUPFD_CLOEXEC, HIGH_FD) : -1;
    if (cmd_fd >= 0 && high < 0)
        return mlq_err_set(err, MLQ_EIO, "fcntl: %s", strerror(errno));
    if (posix_spawn_file_actions_init(&fa) != 0 || posix_spawnattr_init(&at) != 0) {
        if (high >= 0)
            close(high);
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    }
    int64_t start_ms = mlq_clock_wall_ms();
    pid_t pid = 0;
    int rc = spawn_setup(&fa, &at, high);
    if (rc == 0)
        rc = posix_spawn(&pid, shim_path, &fa, &at, argv, environ);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&at);
    if (high >= 0)
        close(high);
    if (rc != 0)
        return mlq_err_set(err, MLQ_EIO, "cannot execute shim %s: %s", shim_path, strerror(rc));
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
    sb->fd = sv[0];
    return 0;
}

/* Reads the standby's answer "PID STARTTIME\n" into *out. */
static int read_reply(int fd, struct mlq_shim_id *out)
{
    char line[64];
    size_t got = 0;
    int64_t until = mlq_clock_mono_ms() + STANDBY_REPLY_MS;
    while (!memchr(line, '\n', got)) {
        struct pollfd p = {.fd = fd, .events = POLLIN};
        int64_t left = until - mlq_clock_mono_ms();
        int n = left > 0 ? poll(&p, 1, (int)left) : 0;
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0 || got == sizeof line - 1)
            return -1;
        ssize_t r = recv(fd, line + got, sizeof line - 1 - got, 0);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0)
            return -1; /* the standby is gone */
        got += (size_t)r;
    }
    line[got] = '\0';
    long pid = 0;
    unsigned long long start = 0;
    if (sscanf(line, "%ld %llu", &pid, &start) != 2 || pid <= 0 || pid > INT32_MAX)
        return -1;
    out->pid = (pid_t)pid;
    out->starttime = start;
    return 0;
}

int mlq_exec_standby_take(struct mlq_exec_standby *sb, const char *attempt_dir,
                          struct mlq_shim_id *out, struct mlq_err *err)
{
    char line[MLQ_SHIMZYGOTE_LINE_MAX];
    if (sb->fd < 0)
        return mlq_err_set(err, MLQ_ENOTFOUND, "no standby shim");
    int n = snprintf(line, sizeof line, "%s\n", attempt_dir);
    if (n < 0 || (size_t)n >= sizeof line || strchr(attempt_dir, '\n'))
        return mlq_err_set(err, MLQ_EINVAL, "attempt folder path too long");
    /* No liveness check: only the standby holds the other end, so the send
     * or the answer fails when it is gone. */
    ssize_t w;
    do {
        w = send(sb->fd, line, (size_t)n, MSG_NOSIGNAL);
    } while (w < 0 && errno == EINTR);
    int e = errno;
    struct mlq_shim_id id = {0};
    if (w != n || read_reply(sb->fd, &id) < 0) {
        long pid = (long)sb->id.pid;
        mlq_exec_standby_stop(sb);
        return mlq_err_set(err, MLQ_ENOTFOUND,
                           "the standby shim %ld is gone or could not fork (%s)", pid,
                           w < 0    ? strerror(e)
                           : w != n ? "short write"
                                    : "no answer");
    }
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
