/* daemon: detached start of mlq-scheduler / mlq-worker for `mlq up`, and the
 * TERM-then-KILL stop for `mlq down`.
 *
 * A close-on-exec pipe carries the child's errno back when exec fails, so a
 * missing binary is reported by `mlq up` at once instead of as a daemon that
 * silently never came up. */
#include "daemon.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "fsutil.h"
#include "bounds.h"

#define STOP_POLL_MS 50

char *mlq_daemon_find(const char *name)
{
    char exe[MLQ_MAX_PATH];
    ssize_t n = readlink("/proc/self/exe", exe, sizeof(exe) - 1);
    if (n > 0) {
        exe[n] = '\0';
        char path[MLQ_MAX_PATH + 64];
        snprintf(path, sizeof(path), "%s/%s", dirname(exe), name);
        if (access(path, X_OK) == 0)
            return strdup(path);
    }
    return strdup(name);
}

/* In the child: never returns. Reports an exec failure's errno on fd. */
static void child_exec(char *const argv[], int devnull, int logfd, int errfd)
{
    if (setsid() < 0 || dup2(devnull, STDIN_FILENO) < 0 || dup2(logfd, STDOUT_FILENO) < 0 ||
        dup2(logfd, STDERR_FILENO) < 0) {
        int e = errno;
        (void)!write(errfd, &e, sizeof(e));
        _exit(127);
    }
    /* Nothing else open here (descriptors our caller left us) may leak into
     * a daemon; only the report pipe stays, moved to 3, until exec. */
    if (errfd != 3) {
        dup2(errfd, 3);
        fcntl(3, F_SETFD, FD_CLOEXEC);
        errfd = 3;
    }
    closefrom(4);
    signal(SIGPIPE, SIG_DFL);
    execvp(argv[0], argv);
    int e = errno;
    (void)!write(errfd, &e, sizeof(e));
    _exit(127);
}

/* Waits for the exec report: 0 when exec succeeded (pipe closed empty). */
static int exec_result(int fd, pid_t pid, const char *prog, struct mlq_err *err)
{
    int e = 0;
    ssize_t n;
    do
        n = read(fd, &e, sizeof(e));
    while (n < 0 && errno == EINTR);
    if (n <= 0)
        return 0;
    waitpid(pid, NULL, 0);
    return mlq_err_set(err, MLQ_EIO, "cannot start %s: %s", prog, strerror(e));
}

int mlq_daemon_spawn(char *const argv[], const char *logpath, pid_t *pid, struct mlq_err *err)
{
    /* A daemon's log may name jobs, users and paths: private to its account
     * (also when an older version left it readable). */
    int logfd = open(logpath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
    if (logfd >= 0 && fchmod(logfd, 0600) < 0) {
        close(logfd);
        logfd = -1;
    }
    if (logfd < 0)
        return mlq_err_set(err, MLQ_EIO, "cannot open %s: %s", logpath, strerror(errno));
    int devnull = open("/dev/null", O_RDONLY | O_CLOEXEC);
    int pfd[2] = {-1, -1};
    int rc = 0;
    if (devnull < 0 || pipe2(pfd, O_CLOEXEC) < 0)
        rc = mlq_err_set(err, MLQ_EIO, "cannot start %s: %s", argv[0], strerror(errno));
    pid_t child = rc == 0 ? fork() : -1;
    if (rc == 0 && child < 0)
        rc = mlq_err_set(err, MLQ_EIO, "cannot fork: %s", strerror(errno));
    if (child == 0)
        child_exec(argv, devnull, logfd, pfd[1]);
    if (pfd[1] >= 0)
        close(pfd[1]);
    if (rc == 0)
        rc = exec_result(pfd[0], child, argv[0], err);
    if (pfd[0] >= 0)
        close(pfd[0]);
    if (devnull >= 0)
        close(devnull);
    close(logfd);
    if (rc == 0)
        *pid = child;
    return rc;
}

bool mlq_daemon_exited(pid_t pid, char *how, size_t len)
{
    int status;
    pid_t r = waitpid(pid, &status, WNOHANG);
    if (r == 0)
        return false;
    if (r < 0)
        snprintf(how, len, "vanished");
    else if (WIFEXITED(status))
        snprintf(how, len, "exit status %d", WEXITSTATUS(status));
    else if (WIFSIGNALED(status))
        snprintf(how, len, "killed by SIG%s", sigabbrev_np(WTERMSIG(status)) ?: "?");
    else
        snprintf(how, len, "stopped");
    return true;
}

bool mlq_daemon_is_ours(pid_t pid)
{
    if (!mlq_fs_pid_alive(pid))
        return false;
    char path[64], *comm = NULL;
    snprintf(path, sizeof(path), "/proc/%ld/comm", (long)pid);
    if (mlq_fs_read_all(path, 256, &comm, NULL, NULL) < 0)
        return false;
    bool ours = strncmp(comm, "mlq-", 4) == 0;
    free(comm);
    return ours;
}

/* Reaps pid when it is our child; harmless otherwise. */
static void reap(pid_t pid)
{
    while (waitpid(pid, NULL, WNOHANG) < 0 && errno == EINTR)
        ;
}

static bool any_alive(const pid_t *pids, int n)
{
    for (int i = 0; i < n; i++) {
        reap(pids[i]);
        if (mlq_fs_pid_alive(pids[i]))
            return true;
    }
    return false;
}

int mlq_daemon_stop(const pid_t *pids, int n, int grace_ms)
{
    for (int i = 0; i < n; i++)
        if (pids[i] > 0)
            kill(pids[i], SIGTERM);
    int64_t deadline = mlq_clock_mono_ms() + grace_ms;
    while (any_alive(pids, n) && mlq_clock_mono_ms() < deadline) {
        struct timespec ts = {0, STOP_POLL_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
    int killed = 0;
    for (int i = 0; i < n; i++) {
        if (pids[i] > 0 && mlq_fs_pid_alive(pids[i])) {
            kill(pids[i], SIGKILL);
            killed++;
        }
    }
    /* SIGKILL cannot be ignored, but the kernel takes a moment to finish. */
    deadline = mlq_clock_mono_ms() + 2000;
    while (killed > 0 && any_alive(pids, n) && mlq_clock_mono_ms() < deadline) {
        struct timespec ts = {0, STOP_POLL_MS * 1000000L};
        nanosleep(&ts, NULL);
    }
    return killed;
}
