/* bench_proc: see bench_proc.h. */
#include "bench_proc.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

int64_t bproc_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

void bproc_sleep_us(int64_t us)
{
    struct timespec ts = {.tv_sec = us / 1000000, .tv_nsec = (us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

int bproc_free_port(struct mlq_err *err)
{
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return mlq_err_set(err, MLQ_EIO, "socket: %s", strerror(errno));
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_port = 0};
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    int rc = 0;
    if (bind(fd, (struct sockaddr *)&a, sizeof a) < 0 ||
        getsockname(fd, (struct sockaddr *)&a, &len) < 0)
        rc = mlq_err_set(err, MLQ_EIO, "cannot find a free port: %s", strerror(errno));
    close(fd);
    return rc < 0 ? rc : ntohs(a.sin_port);
}

/* In the child: never returns. */
static void exec_child(char *const argv[], const char *log_path, pid_t parent)
{
    /* Dies with the benchmark; the check closes the race with a parent that
     * exited before prctl. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (getppid() != parent)
        _exit(127);
    int in = open("/dev/null", O_RDONLY);
    int out = open(log_path, O_WRONLY | O_CREAT | O_APPEND, 0600);
    if (in < 0 || out < 0 || dup2(in, 0) < 0 || dup2(out, 1) < 0 || dup2(out, 2) < 0)
        _exit(127);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execvp(argv[0], argv);
    dprintf(2, "mlq-bench: cannot run %s: %s\n", argv[0], strerror(errno));
    _exit(127);
}

int bproc_spawn(char *const argv[], const char *log_path, pid_t *out, struct mlq_err *err)
{
    pid_t parent = getpid();
    pid_t pid = fork();
    if (pid < 0)
        return mlq_err_set(err, MLQ_EIO, "fork: %s", strerror(errno));
    if (pid == 0)
        exec_child(argv, log_path, parent);
    *out = pid;
    return 0;
}

bool bproc_alive(pid_t pid)
{
    if (pid <= 0)
        return false;
    int st;
    pid_t r = waitpid(pid, &st, WNOHANG);
    return r == 0;
}

void bproc_stop(pid_t pid, int grace_ms)
{
    if (pid <= 0)
        return;
    int st;
    if (waitpid(pid, &st, WNOHANG) != 0)
        return; /* already gone (or not ours) */
    kill(pid, SIGTERM);
    for (int waited = 0; waited < grace_ms; waited += 10) {
        if (waitpid(pid, &st, WNOHANG) != 0)
            return;
        bproc_sleep_us(10000);
    }
    kill(pid, SIGKILL);
    waitpid(pid, &st, 0);
}

int64_t bproc_rss_kib(pid_t pid, struct mlq_err *err)
{
    char path[64], line[256];
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return mlq_err_set(err, MLQ_EIO, "%s: %s", path, strerror(errno));
    long long kib = -1;
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "VmRSS: %lld kB", &kib) == 1)
            break;
    fclose(f);
    if (kib < 0)
        return mlq_err_set(err, MLQ_EIO, "%s has no VmRSS line", path);
    return kib;
}

int bproc_cpu_ms(pid_t pid, int64_t *user_ms, int64_t *sys_ms, struct mlq_err *err)
{
    char path[64], buf[1024];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return mlq_err_set(err, MLQ_EIO, "%s: %s", path, strerror(errno));
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    fclose(f);
    buf[n] = '\0';
    /* Fields after the command name, which may hold spaces and ')'. */
    const char *p = strrchr(buf, ')');
    unsigned long long ut, st;
    if (!p || sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &ut, &st) != 2)
        return mlq_err_set(err, MLQ_EIO, "%s: unexpected format", path);
    long hz = sysconf(_SC_CLK_TCK);
    *user_ms = (int64_t)(ut * 1000 / (unsigned long long)hz);
    *sys_ms = (int64_t)(st * 1000 / (unsigned long long)hz);
    return 0;
}

int bproc_io(pid_t pid, int64_t *wchar, int64_t *syscw, struct mlq_err *err)
{
    char path[64], line[128];
    snprintf(path, sizeof path, "/proc/%d/io", (int)pid);
    FILE *f = fopen(path, "re");
    if (!f)
        return mlq_err_set(err, MLQ_EIO, "%s: %s", path, strerror(errno));
    long long v;
    *wchar = *syscw = -1;
    while (fgets(line, sizeof line, f)) {
        if (sscanf(line, "wchar: %lld", &v) == 1)
            *wchar = v;
        else if (sscanf(line, "syscw: %lld", &v) == 1)
            *syscw = v;
    }
    fclose(f);
    return *wchar < 0 || *syscw < 0 ? mlq_err_set(err, MLQ_EIO, "%s: no wchar/syscw", path) : 0;
}

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
    (void)sb;
    (void)ftw;
    int rc = flag == FTW_DP ? rmdir(path) : unlink(path);
    return rc < 0 && errno != ENOENT ? -1 : 0;
}

int bproc_rmtree(const char *path, struct mlq_err *err)
{
    if (!path || !path[0] || strcmp(path, "/") == 0)
        return mlq_err_set(err, MLQ_EINVAL, "refusing to remove \"%s\"", path ? path : "");
    if (nftw(path, rm_entry, 32, FTW_DEPTH | FTW_PHYS) < 0 && errno != ENOENT)
        return mlq_err_set(err, MLQ_EIO, "cannot remove %s: %s", path, strerror(errno));
    return 0;
}
