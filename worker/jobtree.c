/* jobtree: see jobtree.h.
 *
 * A walk reads /proc/<pid>/stat for every process, sorts them by pid and
 * marks the supervisor's descendants (a process is one when its parent is the
 * supervisor or a marked process; repeated until nothing changes, since a
 * parent may have a higher pid than its child after pid wrap-around).
 * Zombies and dying processes are not counted: they hold nothing any more,
 * and the supervisor reaps those re-parented to it.
 *
 * A signalled pid could in theory have been reaped and reused between the
 * walk and kill(); the window is microseconds and pids are recycled only
 * after the whole pid space has been used, which we accept. */
#include "jobtree.h"

#include <errno.h>
#include <dirent.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "bounds.h"
#include "cglimit.h"
#include "clock.h"
#include "fsutil.h"

#define DEFAULT_CGROUP_FS "/sys/fs/cgroup"
#define STAT_MAX          1024
#define CGROUP_PROCS_MAX  (1024 * 1024)
#define RMDIR_WAIT_MS     1000

struct proc {
    pid_t pid, ppid;
    bool live; /* not a zombie or dead */
    bool mine; /* a descendant of the supervisor */
};

struct mlq_jobtree {
    pid_t root;
    char *cgroup;  /* NULL when none */
    int procs_fd;  /* cgroup.procs, open for the job to join; -1 */
    bool has_kill; /* cgroup.kill exists (Linux >= 5.14) */
    struct proc *procs;
    size_t nprocs, cap;
};

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Parent and state of pid from /proc/PID/stat; false when it is gone. */
static bool read_stat(pid_t pid, pid_t *ppid, char *state)
{
    char path[64], buf[STAT_MAX];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return false;
    buf[n] = '\0';
    const char *p = strrchr(buf, ')'); /* comm may itself hold ')' */
    int pp = 0;
    if (!p || sscanf(p + 1, " %c %d", state, &pp) != 2)
        return false;
    *ppid = (pid_t)pp;
    return true;
}

static bool state_live(char state)
{
    return state != 'Z' && state != 'X' && state != 'x';
}

static int by_pid(const void *a, const void *b)
{
    pid_t x = ((const struct proc *)a)->pid, y = ((const struct proc *)b)->pid;
    return (x > y) - (x < y);
}

static struct proc *find_proc(struct mlq_jobtree *t, pid_t pid)
{
    struct proc key = {.pid = pid};
    if (t->nprocs == 0)
        return NULL;
    return bsearch(&key, t->procs, t->nprocs, sizeof key, by_pid);
}

static int add_proc(struct mlq_jobtree *t, pid_t pid, pid_t ppid, char state)
{
    if (t->nprocs == t->cap) {
        size_t ncap = t->cap ? t->cap * 2 : 256;
        struct proc *np = realloc(t->procs, ncap * sizeof *np);
        if (!np)
            return MLQ_ENOMEM;
        t->procs = np;
        t->cap = ncap;
    }
    t->procs[t->nprocs++] = (struct proc){.pid = pid, .ppid = ppid, .live = state_live(state)};
    return 0;
}

/* Fills t->procs with every process of the system, sorted by pid. */
static int list_procs(struct mlq_jobtree *t)
{
    t->nprocs = 0;
    DIR *d = opendir("/proc");
    if (!d)
        return MLQ_EIO;
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        char *end;
        long pid = strtol(de->d_name, &end, 10);
        pid_t ppid;
        char state;
        if (*end != '\0' || pid <= 0 || !read_stat((pid_t)pid, &ppid, &state))
            continue;
        rc = add_proc(t, (pid_t)pid, ppid, state);
    }
    closedir(d);
    qsort(t->procs, t->nprocs, sizeof *t->procs, by_pid);
    return rc;
}

static void mark_descendants(struct mlq_jobtree *t)
{
    bool changed = true;
    while (changed) {
        changed = false;
        for (size_t i = 0; i < t->nprocs; i++) {
            struct proc *p = &t->procs[i];
            if (p->mine || p->pid == t->root)
                continue;
            struct proc *parent = p->ppid == t->root ? NULL : find_proc(t, p->ppid);
            if (p->ppid == t->root || (parent && parent->mine))
                p->mine = changed = true;
        }
    }
}

/* Signals the processes of the cgroup that the walk did not already reach. */
static int signal_cgroup(struct mlq_jobtree *t, const char *dir, int sig)
{
    char path[MLQ_MAX_PATH], *buf = NULL;
    snprintf(path, sizeof path, "%s/cgroup.procs", dir);
    if (mlq_fs_read_all(path, CGROUP_PROCS_MAX, &buf, NULL, NULL) < 0)
        return 0;
    int n = 0;
    char *save = NULL;
    for (char *tok = strtok_r(buf, "\n", &save); tok; tok = strtok_r(NULL, "\n", &save)) {
        pid_t pid = (pid_t)atol(tok), ppid;
        char state;
        struct proc *p = t ? find_proc(t, pid) : NULL;
        if (pid <= 0 || (t && pid == t->root) || (p && p->mine))
            continue;
        if (!read_stat(pid, &ppid, &state) || !state_live(state))
            continue;
        if (sig != 0)
            kill(pid, sig);
        n++;
    }
    free(buf);
    return n;
}

/* True when the supervisor has no child at all, live or zombie. Every
 * descendant of the job is re-parented to the supervisor (a subreaper) when
 * its parent dies, so a supervisor without children has no job process
 * left, and the walk of /proc (a read of every process's stat) is skipped. */
static bool no_children(void)
{
    siginfo_t si;
    return waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 && errno == ECHILD;
}

int mlq_jobtree_signal(struct mlq_jobtree *t, int sig)
{
    int n = 0;
    if (t->root == getpid() && no_children()) {
        t->nprocs = 0;
    } else if (list_procs(t) == 0) {
        mark_descendants(t);
        for (size_t i = 0; i < t->nprocs; i++) {
            const struct proc *p = &t->procs[i];
            if (!p->mine || !p->live)
                continue;
            if (sig != 0)
                kill(p->pid, sig);
            n++;
        }
    }
    if (t->cgroup)
        n += signal_cgroup(t, t->cgroup, sig);
    return n;
}

static void write_cgroup_kill(const char *dir)
{
    char path[MLQ_MAX_PATH];
    snprintf(path, sizeof path, "%s/cgroup.kill", dir);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return;
    ssize_t w = write(fd, "1", 1);
    (void)w; /* the walk below kills them anyway */
    close(fd);
}

int mlq_jobtree_kill(struct mlq_jobtree *t)
{
    if (t->cgroup && t->has_kill)
        write_cgroup_kill(t->cgroup);
    return mlq_jobtree_signal(t, SIGKILL);
}

int mlq_jobtree_join(const struct mlq_jobtree *t)
{
    if (t->procs_fd < 0)
        return 0;
    return write(t->procs_fd, "0", 1) == 1 ? 0 : -errno;
}

/* The directory of the calling process's own cgroup under fs. */
static char *own_cgroup_dir(const char *fs)
{
    char *buf = NULL, *dir = NULL;
    if (mlq_fs_read_all("/proc/self/cgroup", 64 * 1024, &buf, NULL, NULL) < 0)
        return NULL;
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        if (strncmp(line, "0::/", 4) != 0 || strstr(line, "(deleted)") || strstr(line, "/.."))
            continue;
        const char *rel = strcmp(line + 3, "/") == 0 ? "" : line + 3;
        if (asprintf(&dir, "%s%s", fs, rel) < 0)
            dir = NULL;
        break;
    }
    free(buf);
    return dir;
}

static bool is_cgroup2(const char *path)
{
    struct statfs sf;
    return statfs(path, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

/* Creates <own cgroup>/mlq-<name> when cgroup v2 allows it; otherwise the
 * tree simply has no cgroup. */
static void setup_cgroup(struct mlq_jobtree *t, const char *name)
{
    const char *fs = getenv("MLQ_CGROUP_FS");
    if (!fs)
        fs = DEFAULT_CGROUP_FS;
    if (!*fs || strcmp(fs, "none") == 0 || !is_cgroup2(fs))
        return;
    /* Where the worker set up cgroup v2 limits, the job cgroups live below
     * the parent it prepared (cglimit.h), the same folder as the limits. */
    const char *parent = getenv(MLQ_CGL_ENV_PARENT);
    char *base = parent && *parent ? strdup(parent) : own_cgroup_dir(fs), *path = NULL;
    char file[MLQ_MAX_PATH];
    if (!base || asprintf(&path, "%s/" MLQ_JOBTREE_CGROUP_PREFIX "%s", base, name) < 0)
        path = NULL;
    free(base);
    if (!path || strlen(path) > MLQ_MAX_PATH - 32 || (mkdir(path, 0755) != 0 && errno != EEXIST)) {
        free(path);
        return;
    }
    snprintf(file, sizeof file, "%s/cgroup.procs", path);
    t->procs_fd = open(file, O_WRONLY | O_CLOEXEC);
    if (t->procs_fd < 0) {
        rmdir(path);
        free(path);
        return;
    }
    snprintf(file, sizeof file, "%s/cgroup.kill", path);
    t->has_kill = access(file, F_OK) == 0;
    t->cgroup = path;
}

int mlq_jobtree_create(const char *name, struct mlq_jobtree **out, struct mlq_err *err)
{
    *out = NULL;
    if (!name || !*name || name[0] == '.' || strchr(name, '/') || strlen(name) > MLQ_MAX_NAME)
        return mlq_err_set(err, MLQ_EINVAL, "invalid job tree name");
    struct mlq_jobtree *t = calloc(1, sizeof *t);
    if (!t)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    t->root = getpid();
    t->procs_fd = -1;
    setup_cgroup(t, name);
    *out = t;
    return 0;
}

/* rmdir that waits out a cgroup still emptying; 0 once it is gone. */
static int remove_cgroup(const char *path, int64_t max_ms)
{
    int64_t end = mlq_clock_mono_ms() + max_ms;
    for (;;) {
        if (rmdir(path) == 0 || errno == ENOENT)
            return 0;
        if (errno != EBUSY || mlq_clock_mono_ms() >= end)
            return -errno;
        sleep_ms(10);
    }
}

void mlq_jobtree_destroy(struct mlq_jobtree **t)
{
    if (!t || !*t)
        return;
    int saved = errno;
    struct mlq_jobtree *p = *t;
    if (p->procs_fd >= 0)
        close(p->procs_fd);
    if (p->cgroup)
        remove_cgroup(p->cgroup, RMDIR_WAIT_MS);
    free(p->cgroup);
    free(p->procs);
    free(p);
    *t = NULL;
    errno = saved;
}

const char *mlq_jobtree_cgroup(const struct mlq_jobtree *t)
{
    return t->cgroup;
}

/* A path this module could have created: absolute, no "..", last component
 * mlq-..., on a cgroup2 file system (checked by the caller). */
static bool job_cgroup_path(const char *path)
{
    const char *base = strrchr(path, '/');
    return path[0] == '/' && !strstr(path, "/..") && base &&
           strncmp(base + 1, MLQ_JOBTREE_CGROUP_PREFIX, strlen(MLQ_JOBTREE_CGROUP_PREFIX)) == 0 &&
           strlen(path) < MLQ_MAX_PATH - 32;
}

int mlq_jobtree_kill_cgroup(const char *path, int64_t max_ms, struct mlq_err *err)
{
    if (!path || !job_cgroup_path(path))
        return mlq_err_set(err, MLQ_EINVAL, "%s is not a job cgroup", path ? path : "(null)");
    struct stat st;
    if (stat(path, &st) != 0 && errno == ENOENT)
        return 0;
    if (!is_cgroup2(path))
        return mlq_err_set(err, MLQ_EINVAL, "%s is not on a cgroup2 file system", path);
    int64_t end = mlq_clock_mono_ms() + max_ms;
    for (;;) {
        write_cgroup_kill(path);
        signal_cgroup(NULL, path, SIGKILL);
        if (remove_cgroup(path, 0) == 0)
            return 0;
        if (mlq_clock_mono_ms() >= end)
            return mlq_err_set(err, MLQ_EUNAVAIL, "cgroup %s still has processes", path);
        sleep_ms(10);
    }
}
