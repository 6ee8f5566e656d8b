/* gpusmi: runs nvidia-smi for GPU discovery (gpu.c).
 *
 * Nothing here may hang the worker: nvidia-smi runs in its own process
 * group with stdout/stderr read through poll() until a deadline, after
 * which the whole group gets SIGKILL and the worker waits at most
 * KILL_WAIT_MS more for it (a process stuck in the kernel cannot be reaped
 * until it leaves; the agent's SIGCHLD reaping picks it up later). What it
 * prints is bounded here and checked by its parsers. */
#include "gpusmi.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

#define SMI_OUT_MAX  MLQ_GPUSMI_OUT_MAX /* stdout bytes kept; more is an error */
#define SMI_ERR_MAX  512                /* stderr bytes kept for the message */
#define KILL_WAIT_MS 1000
#define WAIT_STEP_MS 10

struct smi_run {
    pid_t pid;      /* -1 once reaped (or given up on) */
    int fd[3];      /* read ends: stdout, stderr, exec error; -1 once closed */
    int exec_errno; /* set when execv failed in the child */
    int status;     /* waitpid status */
    size_t nout, nerr;
    char err[SMI_ERR_MAX + 1];
    char out[SMI_OUT_MAX];
};

/* name itself when it holds a '/', else the first executable file of that
 * name in PATH (empty PATH entries, the current directory, are skipped). */
int mlq_gpusmi_find(const char *name, char *path, size_t len, struct mlq_err *err)
{
    if (strchr(name, '/')) {
        if (strlen(name) >= len || access(name, X_OK) != 0)
            return mlq_err_set(err, MLQ_ENOTFOUND, "%.80s: %s", name,
                               strlen(name) >= len ? "path too long" : strerror(errno));
        snprintf(path, len, "%s", name);
        return 0;
    }
    const char *d = getenv("PATH");
    if (!d || !*d)
        d = "/usr/local/bin:/usr/bin:/bin";
    for (;;) {
        const char *colon = strchr(d, ':');
        int dl = (int)(colon ? (size_t)(colon - d) : strlen(d));
        int n = snprintf(path, len, "%.*s/%s", dl, d, name);
        struct stat st;
        if (dl > 0 && n > 0 && (size_t)n < len && stat(path, &st) == 0 && S_ISREG(st.st_mode) &&
            access(path, X_OK) == 0)
            return 0;
        if (!colon)
            break;
        d = colon + 1;
    }
    return mlq_err_set(err, MLQ_ENOTFOUND, "%.60s not found in PATH", name);
}

/* In the child: own process group (so a timeout kills all it started),
 * default signals, stdin from /dev/null, then exec. Assumes fds 0..2 are
 * open in the worker, so no pipe end is one of them. */
static void __attribute__((noreturn))
smi_child(const char *path, const char *const *args, int out, int errfd, int ex)
{
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    signal(SIGPIPE, SIG_DFL);
    setpgid(0, 0);
    int null = open("/dev/null", O_RDONLY | O_CLOEXEC);
    if (null >= 0 && dup2(null, 0) >= 0 && dup2(out, 1) >= 0 && dup2(errfd, 2) >= 0) {
        char *argv[4] = {(char *)path, NULL, NULL, NULL};
        for (int i = 0; i < 2 && args[i]; i++)
            argv[i + 1] = (char *)args[i];
        execv(path, argv);
    }
    int e = errno;
    ssize_t w = write(ex, &e, sizeof e);
    (void)w;
    _exit(127);
}

static int smi_spawn(struct smi_run *r, const char *path, const char *const *args,
                     struct mlq_err *err)
{
    int p[3][2] = {{-1, -1}, {-1, -1}, {-1, -1}};
    int rc = 0;
    for (int i = 0; i < 3 && rc == 0; i++)
        if (pipe2(p[i], O_CLOEXEC) != 0)
            rc = mlq_err_set(err, MLQ_EIO, "pipe: %s", strerror(errno));
    r->pid = rc == 0 ? fork() : -1;
    if (r->pid == 0)
        smi_child(path, args, p[0][1], p[1][1], p[2][1]);
    if (rc == 0 && r->pid < 0)
        rc = mlq_err_set(err, MLQ_EIO, "fork: %s", strerror(errno));
    if (r->pid > 0)
        setpgid(r->pid, r->pid); /* also here: a kill may come before the child runs */
    for (int i = 0; i < 3; i++) {
        if (p[i][1] >= 0)
            close(p[i][1]);
        r->fd[i] = p[i][0];
        if (rc < 0 && p[i][0] >= 0) {
            close(p[i][0]);
            r->fd[i] = -1;
        }
    }
    return rc;
}

static void smi_close(struct smi_run *r, int i)
{
    if (r->fd[i] >= 0)
        close(r->fd[i]);
    r->fd[i] = -1;
}

/* Reads what fd i has; closes it at EOF. */
static int smi_read(struct smi_run *r, int i, struct mlq_err *err)
{
    char scratch[512];
    char *buf = scratch;
    size_t room = sizeof scratch;
    if (i == 0) {
        buf = r->out + r->nout;
        room = sizeof r->out - r->nout;
        if (room == 0)
            return mlq_err_set(err, MLQ_ETOOBIG, "nvidia-smi printed more than %d bytes",
                               SMI_OUT_MAX);
    } else if (i == 1 && r->nerr < SMI_ERR_MAX) {
        buf = r->err + r->nerr;
        room = SMI_ERR_MAX - r->nerr;
    }
    ssize_t n = read(r->fd[i], buf, room);
    if (n < 0 && (errno == EINTR || errno == EAGAIN))
        return 0;
    if (n <= 0) {
        smi_close(r, i);
        return 0;
    }
    if (i == 0)
        r->nout += (size_t)n;
    else if (i == 1 && buf != scratch)
        r->nerr += (size_t)n;
    else if (i == 2 && (size_t)n >= sizeof r->exec_errno)
        memcpy(&r->exec_errno, scratch, sizeof r->exec_errno);
    return 0;
}

/* Reads stdout and stderr to their end, or until the deadline. */
static int smi_collect(struct smi_run *r, int64_t deadline, int timeout_ms, struct mlq_err *err)
{
    int rc = 0;
    while (rc == 0 && (r->fd[0] >= 0 || r->fd[1] >= 0 || r->fd[2] >= 0)) {
        int64_t left = deadline - mlq_clock_mono_ms();
        if (left <= 0)
            return mlq_err_set(err, MLQ_EUNAVAIL, "no answer within %d ms: killed", timeout_ms);
        struct pollfd pf[3];
        int which[3], n = 0;
        for (int i = 0; i < 3; i++) {
            if (r->fd[i] >= 0) {
                pf[n] = (struct pollfd){.fd = r->fd[i], .events = POLLIN};
                which[n++] = i;
            }
        }
        int k = poll(pf, (nfds_t)n, (int)left);
        if (k < 0 && errno != EINTR)
            return mlq_err_set(err, MLQ_EIO, "poll: %s", strerror(errno));
        for (int j = 0; k > 0 && j < n && rc == 0; j++)
            if (pf[j].revents)
                rc = smi_read(r, which[j], err);
    }
    return rc;
}

static void sleep_ms(int ms)
{
    struct timespec ts = {0, (long)ms * 1000000L};
    nanosleep(&ts, NULL);
}

/* Reaps the child, waiting at most until the deadline (it may have closed
 * its output and still be running). */
static int smi_wait(struct smi_run *r, int64_t deadline, int timeout_ms, struct mlq_err *err)
{
    for (;;) {
        pid_t p = waitpid(r->pid, &r->status, WNOHANG);
        if (p == r->pid) {
            r->pid = -1;
            return 0;
        }
        if (p < 0 && errno != EINTR) {
            r->pid = -1; /* reaped by someone else (SIGCHLD ignored) */
            return mlq_err_set(err, MLQ_EIO, "cannot learn its exit status: %s", strerror(errno));
        }
        if (mlq_clock_mono_ms() >= deadline)
            return mlq_err_set(err, MLQ_EUNAVAIL, "did not exit within %d ms: killed", timeout_ms);
        sleep_ms(WAIT_STEP_MS);
    }
}

/* Kills the child's whole process group while the child is still unreaped
 * (so its pid cannot have been reused), and waits a little for it. */
static void smi_kill(struct smi_run *r)
{
    if (r->pid <= 0)
        return;
    kill(-r->pid, SIGKILL);
    kill(r->pid, SIGKILL);
    int64_t until = mlq_clock_mono_ms() + KILL_WAIT_MS;
    while (waitpid(r->pid, NULL, WNOHANG) == 0 && mlq_clock_mono_ms() < until)
        sleep_ms(WAIT_STEP_MS);
    r->pid = -1;
}

/* The first line of stderr (else stdout), printable characters only. */
static void smi_first_line(const struct smi_run *r, char *buf, size_t len)
{
    const char *src = r->nerr > 0 ? r->err : r->out;
    size_t n = r->nerr > 0 ? r->nerr : r->nout, j = 0;
    for (size_t i = 0; i < n && src[i] != '\n' && j + 1 < len; i++)
        if (src[i] >= 0x20 && src[i] <= 0x7e)
            buf[j++] = src[i];
    buf[j] = '\0';
}

/* 0 when the run exited 0 (its output is then in r->out). */
static int smi_status(const struct smi_run *r, struct mlq_err *err)
{
    char line[96];
    if (r->exec_errno)
        return mlq_err_set(err, r->exec_errno == ENOENT ? MLQ_ENOTFOUND : MLQ_EIO,
                           "cannot run it: %s", strerror(r->exec_errno));
    smi_first_line(r, line, sizeof line);
    if (WIFSIGNALED(r->status))
        return mlq_err_set(err, MLQ_EIO, "killed by signal %d%s%s", WTERMSIG(r->status),
                           *line ? ": " : "", line);
    if (!WIFEXITED(r->status) || WEXITSTATUS(r->status) != 0)
        return mlq_err_set(err, MLQ_EIO, "exit status %d%s%s", WEXITSTATUS(r->status),
                           *line ? ": " : "", line);
    return 0;
}

int mlq_gpusmi_run(const char *path, const char *const *args, int64_t deadline, int timeout_ms,
                   char *out, size_t cap, size_t *nout, struct mlq_err *err)
{
    struct smi_run *r = calloc(1, sizeof *r);
    *nout = 0;
    if (!r)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    int rc = smi_spawn(r, path, args, err);
    if (rc == 0)
        rc = smi_collect(r, deadline, timeout_ms, err);
    if (rc == 0)
        rc = smi_wait(r, deadline, timeout_ms, err);
    smi_kill(r);
    for (int i = 0; i < 3; i++)
        smi_close(r, i);
    if (rc == 0)
        rc = smi_status(r, err);
    if (rc == 0 && r->nout > cap)
        rc = mlq_err_set(err, MLQ_ETOOBIG, "printed more than %zu bytes", cap);
    if (rc == 0) {
        memcpy(out, r->out, r->nout);
        *nout = r->nout;
    }
    free(r);
    return rc;
}
