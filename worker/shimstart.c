/* shimstart: see shimstart.h. */
#include "shimstart.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "container.h"
#include "spool.h"
#include "startwords.h"

extern char **environ;

static void reset_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = SIG_DFL;
    sigemptyset(&sa.sa_mask);
    for (int sig = 1; sig < NSIG; sig++) {
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &sa, NULL); /* fails harmlessly for RT signals in use */
    }
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
}

/* In the forked child: tells the shim why the job cannot start, and ends.
 * The first byte says whether the cause lies in the request (CHILD_FINAL:
 * a command or working directory that is not there, which a retry would
 * meet again) or in this worker (CHILD_WORKER: a retry elsewhere may work). */
#define CHILD_FINAL  'F'
#define CHILD_WORKER 'W'
#define CHILD_STACK  (256 * 1024) /* formatting a message is the most it does */

static void child_fail(int report_fd, char kind, const char *fmt, ...)
    __attribute__((format(printf, 3, 4))) __attribute__((noreturn));

static void child_fail(int report_fd, char kind, const char *fmt, ...)
{
    char msg[MLQ_SPOOL_DETAIL_MAX];
    msg[0] = kind;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg + 1, sizeof msg - 1, fmt, ap);
    va_end(ap);
    if (n > 0) {
        size_t len = (size_t)n + 1 < sizeof msg ? (size_t)n + 1 : sizeof msg - 1;
        ssize_t w = write(report_fd, msg, len);
        (void)w;
    }
    _exit(127);
}

/* In the forked child, still root: becomes the job's account, group first
 * (a process that gave up its uid could not change groups any more). */
/* The system calls themselves, not the libc functions: in a child that
 * shares the shim's memory, those would ask every thread of the shim to
 * switch too (a shim that probes GPUs may have threads). */
static void drop_root(const struct mlq_shimstart *s, int report_fd)
{
    if (syscall(SYS_setgid, s->gid) != 0)
        child_fail(report_fd, CHILD_WORKER, "setgid(%ld) for %s: %s", (long)s->gid, s->user,
                   strerror(errno));
    if (syscall(SYS_setgroups, (size_t)s->ngroups, s->groups) != 0)
        child_fail(report_fd, CHILD_WORKER, "setgroups for %s: %s", s->user, strerror(errno));
    if (syscall(SYS_setuid, s->uid) != 0)
        child_fail(report_fd, CHILD_WORKER, "setuid(%ld) for %s: %s", (long)s->uid, s->user,
                   strerror(errno));
    if (getuid() != s->uid || geteuid() != s->uid || getgid() != s->gid || getegid() != s->gid ||
        (s->uid != 0 && syscall(SYS_setuid, 0) == 0))
        child_fail(report_fd, CHILD_WORKER, "could not switch to %s: the process kept other ids",
                   s->user);
}

/* In the forked child: never returns. fds: its stdout and stderr. */
static void exec_job(const struct mlq_shimstart *s, int report_fd, const int fds[2])
    __attribute__((noreturn));

static void exec_job(const struct mlq_shimstart *s, int report_fd, const int fds[2])
{
    mlq_jobtree_join(s->tree); /* without it, the walk still finds us */
    /* Before anything the job runs: whatever it forks is born inside. */
    if (mlq_jobusage_join(s->usage) < 0)
        child_fail(report_fd, CHILD_WORKER, "cannot join the job's cgroups: %s", strerror(errno));
    setpgid(0, 0);
    reset_signals();
    int null = open("/dev/null", O_RDONLY);
    if (null < 0 || dup2(null, 0) < 0 || dup2(fds[0], 1) < 0 || dup2(fds[1], 2) < 0)
        child_fail(report_fd, CHILD_WORKER, "cannot set up the job's standard streams: %s",
                   strerror(errno));
    const char *workdir = s->workdir;
    if (s->container && s->drop &&
        !mlq_container_account_enters(s->uid, s->gid, s->groups, s->ngroups, workdir))
        child_fail(report_fd, CHILD_FINAL, "workdir %s: not accessible to %s", workdir, s->user);
    /* The runtime runs as root and gives the container the account (--user). */
    if (s->drop && !s->container)
        drop_root(s, report_fd);
    if (chdir(workdir) != 0)
        child_fail(report_fd, CHILD_FINAL, "workdir %s: %s%s%s%s", workdir,
                   mlq_startwords_dir(errno), s->drop ? " (as " : "", s->drop ? s->user : "",
                   s->drop ? ")" : "");
    environ = s->env;
    execvp(s->argv[0], s->argv);
    child_fail(report_fd, CHILD_FINAL, "%s: %s", s->argv[0],
               mlq_startwords_exec(s->argv[0], errno));
}

void mlq_shimstart_reap_all(void)
{
    pid_t p;
    do {
        p = waitpid(-1, NULL, WNOHANG);
    } while (p > 0 || (p < 0 && errno == EINTR));
}

/* Reads the child's report until the exec closes the pipe: nothing means
 * the job runs; a message means it never started (the child is reaped). */
static int read_report(pid_t job, int fd, char *why, size_t len, enum mlq_shimstart_fail *fail)
{
    char msg[MLQ_SPOOL_DETAIL_MAX];
    size_t got = 0;
    for (;;) {
        ssize_t r = read(fd, msg + got, sizeof msg - 1 - got);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0 || (got += (size_t)r) == sizeof msg - 1)
            break;
    }
    if (got == 0)
        return 0;
    msg[got] = '\0';
    while (waitpid(job, NULL, 0) < 0 && errno == EINTR)
        ;
    mlq_shimstart_reap_all();
    snprintf(why, len, "%s", msg + 1);
    *fail = msg[0] == CHILD_FINAL ? MLQ_SHIMSTART_FINAL : MLQ_SHIMSTART_WORKER;
    return -1;
}

/* What the child of start_child gets. */
struct child_args {
    const struct mlq_shimstart *in;
    int report_fd;
    int fds[2];
};

static int child_main(void *arg)
{
    const struct child_args *a = arg;
    exec_job(a->in, a->report_fd, a->fds);
}

/* The job's process. A plain job's child shares the shim's memory until its
 * exec (CLONE_VM | CLONE_VFORK, as posix_spawn does): no copy of the shim's
 * page tables, no copy-on-write faults, and the shim waits for the exec
 * only, which it does anyway (the report). Such a child makes system calls
 * and formats text only. A container job's child forks itself
 * (mlq_container_account_enters) and gets a copy of its own. */
static pid_t start_child(const struct mlq_shimstart *in, int report_fd, const int fds[2])
{
    if (in->container) {
        pid_t pid = fork();
        if (pid == 0)
            exec_job(in, report_fd, fds);
        return pid;
    }
    static char stack[CHILD_STACK] __attribute__((aligned(16)));
    struct child_args a = {.in = in, .report_fd = report_fd, .fds = {fds[0], fds[1]}};
    char **env = environ; /* the child sets the job's, in memory it shares */
    pid_t pid = clone(child_main, stack + sizeof stack, CLONE_VM | CLONE_VFORK | SIGCHLD, &a);
    environ = env;
    return pid;
}

pid_t mlq_shimstart_job(const struct mlq_shimstart *in, char *why, size_t len,
                        enum mlq_shimstart_fail *fail)
{
    int report[2], fds[2];
    *fail = MLQ_SHIMSTART_SHIM;
    if (mlq_jobout_job_fds(in->out, fds) < 0 || pipe2(report, O_CLOEXEC) != 0) {
        snprintf(why, len, "pipe: %s", strerror(errno));
        return -1;
    }
    pid_t job = start_child(in, report[1], fds);
    if (job < 0) {
        snprintf(why, len, "fork: %s", strerror(errno));
        close(report[0]);
        close(report[1]);
        return -1;
    }
    setpgid(job, job); /* also from the parent: no race with the child */
    close(report[1]);
    mlq_jobout_parent(in->out, fds);
    int rc = read_report(job, report[0], why, len, fail);
    close(report[0]);
    if (rc == 0)
        mlq_jobusage_started(in->usage);
    return rc < 0 ? -1 : job;
}
