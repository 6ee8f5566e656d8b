/* cglimit: see cglimit.h.
 *
 * Where a hierarchy's own cgroup of this process lives: /proc/self/cgroup
 * names it relative to the hierarchy's root ("0::/a/b" for v2,
 * "4:memory:/a/b" for v1), and /proc/self/mountinfo says where that root is
 * mounted (a container may see only a subtree: its mount root is then
 * stripped from the path). */
#include "cglimit.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <linux/magic.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/vfs.h>
#include <time.h>
#include <unistd.h>

#include "bounds.h"
#include "clock.h"
#include "fsutil.h"

#define DEFAULT_CGROUP_FS "/sys/fs/cgroup"
#define SMALL_FILE_MAX    (64 * 1024)
#define RMDIR_WAIT_MS     1000
#define MAX_JOIN          3 /* memory, cpu, cpuacct */

struct mlq_cglimit {
    enum mlq_cglimit_hier hier;
    char *dir[MAX_JOIN]; /* v2: dir[0] only; v1: memory, cpu, cpuacct (NULL: none) */
    int procs_fd[MAX_JOIN];
    bool mem_enforced;
};

int mlq_cglimit_mode_parse(const char *s)
{
    static const char *const names[] = {"enforce", "account", "off"};
    for (int i = 0; s && i < 3; i++) {
        if (strcmp(s, names[i]) == 0)
            return i;
    }
    return -1;
}

const char *mlq_cglimit_mode_name(enum mlq_cglimit_mode m)
{
    return m == MLQ_CGL_ENFORCE ? "enforce" : m == MLQ_CGL_ACCOUNT ? "account" : "off";
}

const char *mlq_cglimit_hier_name(enum mlq_cglimit_hier h)
{
    return h == MLQ_CGL_V2 ? "v2" : h == MLQ_CGL_V1 ? "v1" : "none";
}

enum mlq_cglimit_hier mlq_cglimit_hier_from_env(void)
{
    const char *h = getenv(MLQ_CGL_ENV_HIER);
    if (h && strcmp(h, "v2") == 0)
        return MLQ_CGL_V2;
    if (h && strcmp(h, "v1") == 0)
        return MLQ_CGL_V1;
    return MLQ_CGL_NONE;
}

/* ---- small files ---- */

static int write_file(const char *dir, const char *name, const char *text)
{
    char path[MLQ_MAX_PATH];
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return -ENAMETOOLONG;
    int fd = open(path, O_WRONLY | O_CLOEXEC | O_TRUNC);
    if (fd < 0)
        return -errno;
    size_t len = strlen(text);
    int rc = write(fd, text, len) == (ssize_t)len ? 0 : -errno;
    close(fd);
    return rc;
}

/* The whole of a small file, NUL-terminated; NULL when unreadable. */
static char *read_file(const char *dir, const char *name)
{
    char path[MLQ_MAX_PATH], *buf = NULL;
    if (snprintf(path, sizeof path, "%s/%s", dir, name) >= (int)sizeof path)
        return NULL;
    if (mlq_fs_read_all(path, SMALL_FILE_MAX, &buf, NULL, NULL) < 0)
        return NULL;
    return buf;
}

/* A file holding one non-negative number; -1 when absent or malformed. */
static int64_t read_number(const char *dir, const char *name)
{
    char *buf = read_file(dir, name), *end;
    if (!buf)
        return -1;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    bool ok = errno == 0 && end != buf && (*end == '\0' || *end == '\n') && v >= 0;
    free(buf);
    return ok ? (int64_t)v : -1;
}

/* The value of "key N" in a flat keyed file (cpu.stat, memory.events,
 * memory.oom_control); -1 when absent. */
static int64_t read_keyed(const char *dir, const char *name, const char *key)
{
    char *buf = read_file(dir, name);
    if (!buf)
        return -1;
    int64_t v = -1;
    size_t klen = strlen(key);
    char *save = NULL;
    for (char *l = strtok_r(buf, "\n", &save); l; l = strtok_r(NULL, "\n", &save)) {
        char *end;
        if (strncmp(l, key, klen) != 0 || l[klen] != ' ')
            continue;
        errno = 0;
        long long n = strtoll(l + klen + 1, &end, 10);
        if (errno == 0 && end != l + klen + 1 && *end == '\0' && n >= 0)
            v = (int64_t)n;
        break;
    }
    free(buf);
    return v;
}

/* ---- v2 files ---- */

static int64_t quota_us(int64_t cpus_m)
{
    int64_t q = cpus_m * (MLQ_CGL_PERIOD_US / 1000);
    return q < MLQ_CGL_MIN_QUOTA ? MLQ_CGL_MIN_QUOTA : q;
}

static int set_err(struct mlq_err *err, int rc, const char *dir, const char *name)
{
    return mlq_err_set(err, MLQ_EIO, "cannot set %s/%s: %s", dir, name, strerror(-rc));
}

int mlq_cglimit_v2_apply(const char *dir, int64_t mem, int64_t cpus_m, struct mlq_err *err)
{
    char buf[64];
    if (mem > 0)
        snprintf(buf, sizeof buf, "%" PRId64 "\n", mem);
    else
        snprintf(buf, sizeof buf, "max\n");
    int rc = write_file(dir, "memory.max", buf);
    if (rc < 0)
        return set_err(err, rc, dir, "memory.max");
    /* One OOM kill ends the whole job, not a random part of it. */
    write_file(dir, "memory.oom.group", "1\n");
    if (cpus_m > 0)
        snprintf(buf, sizeof buf, "%" PRId64 " %d\n", quota_us(cpus_m), MLQ_CGL_PERIOD_US);
    else
        snprintf(buf, sizeof buf, "max %d\n", MLQ_CGL_PERIOD_US);
    rc = write_file(dir, "cpu.max", buf);
    return rc < 0 ? set_err(err, rc, dir, "cpu.max") : 0;
}

void mlq_cglimit_v2_read(const char *dir, struct mlq_cglimit_usage *u)
{
    u->mem_peak = read_number(dir, "memory.peak");
    u->cpu_us = read_keyed(dir, "cpu.stat", "usage_usec");
    u->oom_kills = read_keyed(dir, "memory.events", "oom_kill");
    u->failcnt = -1;
}

/* ---- v1 files ---- */

int mlq_cglimit_v1_apply(const char *memdir, const char *cpudir, int64_t mem, int64_t cpus_m,
                         struct mlq_err *err)
{
    char buf[64];
    int rc;
    if (memdir && mem > 0) {
        snprintf(buf, sizeof buf, "%" PRId64 "\n", mem);
        if ((rc = write_file(memdir, "memory.limit_in_bytes", buf)) < 0)
            return set_err(err, rc, memdir, "memory.limit_in_bytes");
        /* memsw must be >= the memory limit: written after it. Absent when
         * the kernel does not account swap; then swap is simply not capped. */
        rc = write_file(memdir, "memory.memsw.limit_in_bytes", buf);
        if (rc < 0 && rc != -ENOENT)
            return set_err(err, rc, memdir, "memory.memsw.limit_in_bytes");
    }
    if (cpudir && cpus_m > 0) {
        snprintf(buf, sizeof buf, "%d\n", MLQ_CGL_PERIOD_US);
        if ((rc = write_file(cpudir, "cpu.cfs_period_us", buf)) < 0)
            return set_err(err, rc, cpudir, "cpu.cfs_period_us");
        snprintf(buf, sizeof buf, "%" PRId64 "\n", quota_us(cpus_m));
        if ((rc = write_file(cpudir, "cpu.cfs_quota_us", buf)) < 0)
            return set_err(err, rc, cpudir, "cpu.cfs_quota_us");
    }
    return 0;
}

void mlq_cglimit_v1_read(const char *memdir, const char *acctdir, struct mlq_cglimit_usage *u)
{
    u->mem_peak = memdir ? read_number(memdir, "memory.max_usage_in_bytes") : -1;
    u->oom_kills = memdir ? read_keyed(memdir, "memory.oom_control", "oom_kill") : -1;
    u->failcnt = memdir ? read_number(memdir, "memory.failcnt") : -1;
    int64_t ns = acctdir ? read_number(acctdir, "cpuacct.usage") : -1;
    u->cpu_us = ns >= 0 ? ns / 1000 : -1;
}

/* ---- where the hierarchies are ---- */

static const char *cgroup_fs(void)
{
    const char *fs = getenv("MLQ_CGROUP_FS");
    return fs ? fs : DEFAULT_CGROUP_FS;
}

static bool cgroups_off(void)
{
    const char *fs = cgroup_fs();
    return !*fs || strcmp(fs, "none") == 0;
}

static bool is_cgroup2(const char *path)
{
    struct statfs sf;
    return statfs(path, &sf) == 0 && sf.f_type == CGROUP2_SUPER_MAGIC;
}

bool mlq_cglimit_list_has(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = list; p && *p;) {
        const char *comma = strchr(p, ',');
        size_t len = comma ? (size_t)(comma - p) : strlen(p);
        if (len == n && strncmp(p, word, n) == 0)
            return true;
        p = comma ? comma + 1 : NULL;
    }
    return false;
}

/* True when the space-separated list (cgroup.controllers) holds word:
 * "cpu" is not "cpuset". */
static bool has_word(const char *list, const char *word)
{
    size_t n = strlen(word);
    for (const char *p = strstr(list, word); p; p = strstr(p + 1, word)) {
        bool start = p == list || p[-1] == ' ';
        bool end = p[n] == '\0' || p[n] == ' ' || p[n] == '\n';
        if (start && end)
            return true;
    }
    return false;
}

/* This process's cgroup path (from the hierarchy's root) in the hierarchy
 * that holds controller ctl (v1), or the v2 one (ctl NULL). */
static char *own_path(const char *ctl)
{
    char *buf = NULL, *out = NULL;
    if (mlq_fs_read_all("/proc/self/cgroup", SMALL_FILE_MAX, &buf, NULL, NULL) < 0)
        return NULL;
    char *save = NULL;
    for (char *l = strtok_r(buf, "\n", &save); l && !out; l = strtok_r(NULL, "\n", &save)) {
        char *c1 = strchr(l, ':'), *c2 = c1 ? strchr(c1 + 1, ':') : NULL;
        if (!c2 || c2[1] != '/' || strstr(c2, "/..") || strstr(c2, "(deleted)"))
            continue;
        *c2 = '\0';
        bool match = ctl ? mlq_cglimit_list_has(c1 + 1, ctl) : strcmp(l, "0:") == 0;
        if (match)
            out = strdup(c2 + 1);
    }
    free(buf);
    return out;
}

/* Mount point and mount root of the v1 hierarchy holding ctl. */
static int v1_mount(const char *ctl, char *mnt, size_t mlen, char *root, size_t rlen)
{
    FILE *f = fopen("/proc/self/mountinfo", "re");
    if (!f)
        return -1;
    char line[4096];
    int rc = -1;
    while (rc < 0 && fgets(line, sizeof line, f)) {
        char r[1024], m[1024], fstype[64], opts[1024];
        const char *dash = strstr(line, " - ");
        if (!dash || sscanf(line, "%*s %*s %*s %1023s %1023s", r, m) != 2 ||
            sscanf(dash + 3, "%63s %*s %1023s", fstype, opts) != 2)
            continue;
        if (strcmp(fstype, "cgroup") != 0 || !mlq_cglimit_list_has(opts, ctl))
            continue;
        snprintf(mnt, mlen, "%s", m);
        snprintf(root, rlen, "%s", strcmp(r, "/") == 0 ? "" : r);
        rc = 0;
    }
    fclose(f);
    return rc;
}

/* Directory of this process's own cgroup in the v1 hierarchy of ctl. */
static char *v1_own_dir(const char *ctl)
{
    char mnt[1024], root[1024], *rel = own_path(ctl), *dir = NULL;
    if (!rel || v1_mount(ctl, mnt, sizeof mnt, root, sizeof root) < 0) {
        free(rel);
        return NULL;
    }
    const char *tail = rel;
    size_t rl = strlen(root);
    if (rl && strncmp(rel, root, rl) == 0 && (rel[rl] == '/' || rel[rl] == '\0'))
        tail = rel + rl;
    if (asprintf(&dir, "%s%s", mnt, strcmp(tail, "/") == 0 ? "" : tail) < 0)
        dir = NULL;
    free(rel);
    return dir;
}

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void remove_dir(const char *path)
{
    int64_t end = mlq_clock_mono_ms() + RMDIR_WAIT_MS;
    while (rmdir(path) != 0 && errno == EBUSY && mlq_clock_mono_ms() < end)
        sleep_ms(10);
}

/* True when a child cgroup can be made (and removed again) in dir. */
static bool can_make_child(const char *dir)
{
    char probe[MLQ_MAX_PATH];
    if (snprintf(probe, sizeof probe, "%s/mlq-probe-%ld", dir, (long)getpid()) >= (int)sizeof probe)
        return false;
    if (mkdir(probe, 0755) != 0 && errno != EEXIST)
        return false;
    rmdir(probe);
    return true;
}

/* ---- worker start ---- */

/* v1: the memory and cpu hierarchies (cpuacct for the CPU time) exist and
 * this process may make children in its own cgroups there. */
static bool v1_usable(char *why, size_t len)
{
    char *mem = v1_own_dir("memory"), *cpu = v1_own_dir("cpu");
    bool ok = mem && cpu && can_make_child(mem) && can_make_child(cpu);
    if (!ok)
        snprintf(why, len, "no writable cgroup v1 memory and cpu hierarchies (memory: %s, cpu: %s)",
                 mem ? mem : "not mounted", cpu ? cpu : "not mounted");
    free(mem);
    free(cpu);
    return ok;
}

/* Moves this process into <dir>/mlq-worker, so that dir holds no process
 * and may hand its controllers down. */
static int v2_enter_leaf(const char *dir)
{
    char leaf[MLQ_MAX_PATH];
    if (snprintf(leaf, sizeof leaf, "%s/" MLQ_CGL_WORKER_LEAF, dir) >= (int)sizeof leaf)
        return -ENAMETOOLONG;
    if (mkdir(leaf, 0755) != 0 && errno != EEXIST)
        return -errno;
    return write_file(leaf, "cgroup.procs", "0");
}

/* "/a/mlq-worker" -> "/a" (a worker that already moved itself), "/" -> "". */
static void strip_leaf(char *rel)
{
    const char *leaf = "/" MLQ_CGL_WORKER_LEAF;
    size_t n = strlen(rel), l = strlen(leaf);
    if (n >= l && strcmp(rel + n - l, leaf) == 0)
        rel[n - l] = '\0';
    else if (strcmp(rel, "/") == 0)
        rel[0] = '\0';
}

/* v2: the own cgroup offers memory and cpu, and this process may enable them
 * for children: then dir is that cgroup (the job cgroups' parent). */
static char *v2_prepare(char *why, size_t len)
{
    const char *fs = cgroup_fs();
    char *rel = own_path(NULL), *dir = NULL, *ctl = NULL;
    if (!is_cgroup2(fs) || !rel) {
        snprintf(why, len, "no cgroup v2 at %s", fs);
        free(rel);
        return NULL;
    }
    strip_leaf(rel);
    if (asprintf(&dir, "%s%s", fs, rel) < 0)
        dir = NULL;
    free(rel);
    if (dir)
        ctl = read_file(dir, "cgroup.controllers");
    bool has = ctl && has_word(ctl, "memory") && has_word(ctl, "cpu");
    free(ctl);
    if (!has) {
        snprintf(why, len, "cgroup v2 %s offers no memory and cpu controllers", dir ? dir : fs);
        free(dir);
        return NULL;
    }
    int rc = v2_enter_leaf(dir);
    if (rc == 0)
        rc = write_file(dir, "cgroup.subtree_control", "+memory +cpu");
    if (rc < 0) {
        snprintf(why, len, "cannot delegate memory and cpu below cgroup v2 %s: %s", dir,
                 strerror(-rc));
        free(dir);
        return NULL;
    }
    return dir;
}

enum mlq_cglimit_hier mlq_cglimit_setup(enum mlq_cglimit_mode m, char *why, size_t len)
{
    char why2[512] = "";
    unsetenv(MLQ_CGL_ENV_PARENT);
    setenv(MLQ_CGL_ENV_MODE, mlq_cglimit_mode_name(m), 1);
    setenv(MLQ_CGL_ENV_HIER, "none", 1);
    if (m == MLQ_CGL_OFF) {
        snprintf(why, len, "limits are off (--limits off)");
        return MLQ_CGL_NONE;
    }
    if (cgroups_off()) {
        snprintf(why, len, "cgroups are off (MLQ_CGROUP_FS=none)");
        return MLQ_CGL_NONE;
    }
    char *dir = v2_prepare(why, len);
    if (dir) {
        setenv(MLQ_CGL_ENV_PARENT, dir, 1);
        setenv(MLQ_CGL_ENV_HIER, "v2", 1);
        free(dir);
        return MLQ_CGL_V2;
    }
    if (v1_usable(why2, sizeof why2)) {
        setenv(MLQ_CGL_ENV_HIER, "v1", 1);
        return MLQ_CGL_V1;
    }
    size_t n = strlen(why);
    snprintf(why + n, len - n, "; %s", why2);
    return MLQ_CGL_NONE;
}

/* ---- leftovers ---- */

/* Removes the job cgroups (mlq-..., not the worker's leaf) in dir that hold
 * no process and were made (mtime: a cgroup folder's does not change when
 * processes come and go) at least min_age_s ago. */
static int sweep_dir(const char *dir, int64_t min_age_s)
{
    DIR *d = dir ? opendir(dir) : NULL;
    struct dirent *de;
    time_t now = time(NULL);
    int n = 0;
    while (d && (de = readdir(d)) != NULL) {
        char path[MLQ_MAX_PATH];
        struct stat st;
        if (strncmp(de->d_name, "mlq-", 4) != 0 || strcmp(de->d_name, MLQ_CGL_WORKER_LEAF) == 0 ||
            snprintf(path, sizeof path, "%s/%s", dir, de->d_name) >= (int)sizeof path)
            continue;
        if (stat(path, &st) != 0 || !S_ISDIR(st.st_mode) || now - st.st_mtime < min_age_s)
            continue;
        char *procs = read_file(path, "cgroup.procs");
        bool empty = procs && procs[0] == '\0';
        free(procs);
        if (empty && rmdir(path) == 0)
            n++;
    }
    if (d)
        closedir(d);
    return n;
}

int mlq_cglimit_sweep(enum mlq_cglimit_hier h, int64_t min_age_s)
{
    if (h == MLQ_CGL_V2)
        return sweep_dir(getenv(MLQ_CGL_ENV_PARENT), min_age_s);
    if (h != MLQ_CGL_V1)
        return 0;
    static const char *const ctl[] = {"memory", "cpu", "cpuacct"};
    char *seen[3] = {NULL, NULL, NULL};
    int n = 0;
    for (int i = 0; i < 3; i++) {
        seen[i] = v1_own_dir(ctl[i]);
        bool again = (i > 0 && seen[i] && seen[i - 1] && strcmp(seen[i], seen[i - 1]) == 0);
        if (!again)
            n += sweep_dir(seen[i], min_age_s);
    }
    for (int i = 0; i < 3; i++)
        free(seen[i]);
    return n;
}

/* ---- one job ---- */

static enum mlq_cglimit_mode env_mode(void)
{
    int m = mlq_cglimit_mode_parse(getenv(MLQ_CGL_ENV_MODE));
    return m < 0 ? MLQ_CGL_OFF : (enum mlq_cglimit_mode)m;
}

static const char *const v1_ctl[MAX_JOIN] = {"memory", "cpu", "cpuacct"};
/* This process's own v1 folders, found once by mlq_cglimit_warm. */
static char *v1_warm_dir[MAX_JOIN];
static bool v1_warmed;

/* The pool: one job's v1 cgroups, made ahead of need so that no mkdir is
 * on a job's start path (a mkdir in the memory hierarchy costs some
 * 0.1 ms, a rename 0.01 ms). The standby shim makes the first set when it
 * warms up, <own v1 folder>/mlq-pool-<its pid> in each hierarchy; each
 * shim it forks claims the set by renaming it to mlq-<attempt> (atomic: of
 * two shims only one gets a folder, the other makes its own), and once its
 * job runs makes the next set under the same name, off the start path.
 * A pool folder never holds a process, so a claimed one starts with
 * counters at zero like a new one. The standby removes the set at exit;
 * one left by a killed standby is an empty mlq-... folder for the sweep. */
static pid_t pool_owner; /* the standby shim whose pool it is; 0: none */

static int pool_path(int i, char *buf, size_t len)
{
    if (!pool_owner || !v1_warm_dir[i])
        return -1;
    int n = snprintf(buf, len, "%s/" MLQ_CGL_POOL_PREFIX "%ld", v1_warm_dir[i], (long)pool_owner);
    return n > 0 && (size_t)n < len ? 0 : -1;
}

/* cpuacct shares the cpu folder when they are one mount ("cpu,cpuacct"). */
static bool v1_shared(int i, char *const own[MAX_JOIN])
{
    return i == 2 && own[2] && own[1] && strcmp(own[2], own[1]) == 0;
}

static void pool_each(bool make)
{
    char path[MLQ_MAX_PATH];
    for (int i = 0; i < MAX_JOIN; i++) {
        if (v1_shared(i, v1_warm_dir) || pool_path(i, path, sizeof path) < 0)
            continue;
        if (make)
            mkdir(path, 0755); /* EEXIST: the set is there already */
        else
            rmdir(path);
    }
}

static void pool_remove_at_exit(void)
{
    if (pool_owner == getpid()) /* the shims it forked run this too */
        pool_each(false);
}

void mlq_cglimit_pool_refill(void)
{
    /* Not for a standby that is gone: nobody would claim it. */
    if (pool_owner && kill(pool_owner, 0) == 0)
        pool_each(true);
}

/* Claims the pool's folder of hierarchy i as path: renamed, its time
 * made now (the sweep leaves young empty job cgroups alone). */
static bool pool_take(int i, const char *path)
{
    char from[MLQ_MAX_PATH];
    if (pool_path(i, from, sizeof from) < 0 || rename(from, path) != 0)
        return false;
    utimensat(AT_FDCWD, path, NULL, 0);
    return true;
}

/* Makes <parent>/mlq-<name> (from the pool when it has one) and opens its
 * cgroup.procs into slot i. */
static int make_dir(struct mlq_cglimit *c, int i, const char *parent, const char *name,
                    struct mlq_err *err)
{
    char file[MLQ_MAX_PATH];
    if (asprintf(&c->dir[i], "%s/mlq-%s", parent, name) < 0) {
        c->dir[i] = NULL;
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    }
    if (strlen(c->dir[i]) > MLQ_MAX_PATH - 64)
        return mlq_err_set(err, MLQ_EINVAL, "cgroup path too long");
    if (!(c->hier == MLQ_CGL_V1 && pool_take(i, c->dir[i])) && mkdir(c->dir[i], 0755) != 0 &&
        errno != EEXIST)
        return mlq_err_set(err, MLQ_EIO, "cannot create cgroup %s: %s", c->dir[i], strerror(errno));
    snprintf(file, sizeof file, "%s/cgroup.procs", c->dir[i]);
    c->procs_fd[i] = open(file, O_WRONLY | O_CLOEXEC);
    if (c->procs_fd[i] < 0)
        return mlq_err_set(err, MLQ_EIO, "cannot open %s: %s", file, strerror(errno));
    return 0;
}

static int create_v2(struct mlq_cglimit *c, const char *name, struct mlq_err *err)
{
    const char *parent = getenv(MLQ_CGL_ENV_PARENT);
    if (!parent || !*parent)
        return mlq_err_set(err, MLQ_EINVAL, "%s is not set", MLQ_CGL_ENV_PARENT);
    return make_dir(c, 0, parent, name, err);
}

void mlq_cglimit_warm(void)
{
    if (v1_warmed || mlq_cglimit_hier_from_env() != MLQ_CGL_V1 || cgroups_off())
        return;
    for (int i = 0; i < MAX_JOIN; i++)
        v1_warm_dir[i] = v1_own_dir(v1_ctl[i]);
    v1_warmed = true;
    if (!v1_warm_dir[0] || !v1_warm_dir[1] || atexit(pool_remove_at_exit) != 0)
        return;
    pool_owner = getpid();
    pool_each(true);
}

static char *v1_own_dir_warm(int i)
{
    if (!v1_warmed)
        return v1_own_dir(v1_ctl[i]);
    return v1_warm_dir[i] ? strdup(v1_warm_dir[i]) : NULL;
}

/* memory, cpu and cpuacct; cpuacct shares the cpu folder when they are one
 * mount ("cpu,cpuacct"). */
static int create_v1(struct mlq_cglimit *c, const char *name, struct mlq_err *err)
{
    char *own[MAX_JOIN] = {NULL, NULL, NULL};
    int rc = 0;
    for (int i = 0; i < MAX_JOIN; i++)
        own[i] = v1_own_dir_warm(i);
    if (!own[0] || !own[1])
        rc = mlq_err_set(err, MLQ_EUNAVAIL, "cgroup v1 memory or cpu hierarchy is gone");
    for (int i = 0; rc == 0 && i < MAX_JOIN; i++) {
        if (own[i] && !v1_shared(i, own))
            rc = make_dir(c, i, own[i], name, err);
    }
    for (int i = 0; i < MAX_JOIN; i++)
        free(own[i]);
    return rc;
}

static int apply(struct mlq_cglimit *c, int64_t mem, int64_t cpus_m, struct mlq_err *err)
{
    if (c->hier == MLQ_CGL_V2)
        return mlq_cglimit_v2_apply(c->dir[0], mem, cpus_m, err);
    return mlq_cglimit_v1_apply(c->dir[0], c->dir[1], mem, cpus_m, err);
}

int mlq_cglimit_create(const char *name, int64_t mem, int64_t cpus_m, struct mlq_cglimit **out,
                       struct mlq_err *err)
{
    *out = NULL;
    enum mlq_cglimit_mode mode = env_mode();
    enum mlq_cglimit_hier hier = mlq_cglimit_hier_from_env();
    if (mode == MLQ_CGL_OFF || hier == MLQ_CGL_NONE || cgroups_off())
        return 0;
    if (!name || !*name || name[0] == '.' || strchr(name, '/') || strlen(name) > MLQ_MAX_NAME)
        return mlq_err_set(err, MLQ_EINVAL, "invalid cgroup name");
    struct mlq_cglimit *c = calloc(1, sizeof *c);
    if (!c)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    c->hier = hier;
    for (int i = 0; i < MAX_JOIN; i++)
        c->procs_fd[i] = -1;
    int rc = hier == MLQ_CGL_V2 ? create_v2(c, name, err) : create_v1(c, name, err);
    if (rc == 0 && mode == MLQ_CGL_ENFORCE)
        rc = apply(c, mem, cpus_m, err);
    if (rc < 0) {
        mlq_cglimit_destroy(&c);
        return rc;
    }
    c->mem_enforced = mode == MLQ_CGL_ENFORCE && mem > 0;
    *out = c;
    return 0;
}

int mlq_cglimit_join(const struct mlq_cglimit *c)
{
    for (int i = 0; c && i < MAX_JOIN; i++) {
        if (c->procs_fd[i] >= 0 && write(c->procs_fd[i], "0", 1) != 1)
            return -errno;
    }
    return 0;
}

void mlq_cglimit_read(const struct mlq_cglimit *c, struct mlq_cglimit_usage *u)
{
    *u = (struct mlq_cglimit_usage){-1, -1, -1, -1};
    if (!c)
        return;
    if (c->hier == MLQ_CGL_V2)
        mlq_cglimit_v2_read(c->dir[0], u);
    else
        mlq_cglimit_v1_read(c->dir[0], c->dir[2] ? c->dir[2] : c->dir[1], u);
}

enum mlq_cglimit_hier mlq_cglimit_hier(const struct mlq_cglimit *c)
{
    return c ? c->hier : MLQ_CGL_NONE;
}

bool mlq_cglimit_mem_enforced(const struct mlq_cglimit *c)
{
    return c && c->mem_enforced;
}

const char *mlq_cglimit_path(const struct mlq_cglimit *c)
{
    return c ? c->dir[0] : NULL;
}

void mlq_cglimit_destroy(struct mlq_cglimit **cp)
{
    if (!cp || !*cp)
        return;
    struct mlq_cglimit *c = *cp;
    for (int i = 0; i < MAX_JOIN; i++) {
        if (c->procs_fd[i] >= 0)
            close(c->procs_fd[i]);
        if (c->dir[i])
            remove_dir(c->dir[i]);
        free(c->dir[i]);
    }
    free(c);
    *cp = NULL;
}

/* ---- a dead shim's v1 cgroups ---- */

int mlq_cglimit_v1_note(const struct mlq_cglimit *c, char *buf, size_t len)
{
    size_t used = 0;
    if (!c || c->hier != MLQ_CGL_V1 || len == 0)
        return -1;
    buf[0] = '\0';
    for (int i = 0; i < MAX_JOIN; i++) {
        if (!c->dir[i])
            continue;
        if (strchr(c->dir[i], ' '))
            return -1;
        int n = snprintf(buf + used, len - used, "%s%s", used ? " " : "", c->dir[i]);
        if (n < 0 || (size_t)n >= len - used)
            return -1;
        used += (size_t)n;
    }
    return used ? 0 : -1;
}

/* A folder this module could have made: absolute, no "..", last component
 * mlq-..., on a cgroup v1 file system (or gone already). */
static bool v1_job_dir(const char *path)
{
    const char *base = strrchr(path, '/');
    struct statfs sf;
    if (path[0] != '/' || strstr(path, "/..") || !base || strncmp(base + 1, "mlq-", 4) != 0 ||
        strlen(path) >= MLQ_MAX_PATH - 32)
        return false;
    if (statfs(path, &sf) != 0)
        return errno == ENOENT;
    return sf.f_type == CGROUP_SUPER_MAGIC;
}

/* SIGKILL to every process listed in dir; how many there were. */
static int kill_listed(const char *dir)
{
    char *buf = read_file(dir, "cgroup.procs");
    int n = 0;
    char *save = NULL;
    for (char *t = buf ? strtok_r(buf, "\n", &save) : NULL; t; t = strtok_r(NULL, "\n", &save)) {
        long pid = strtol(t, NULL, 10);
        if (pid > 1 && kill((pid_t)pid, SIGKILL) == 0)
            n++;
    }
    free(buf);
    return n;
}

int mlq_cglimit_kill_v1(const char *note, int64_t max_ms, struct mlq_err *err)
{
    char copy[3 * MLQ_MAX_PATH], *dirs[MAX_JOIN];
    int nd = 0;
    if (!note || strlen(note) >= sizeof copy)
        return mlq_err_set(err, MLQ_EINVAL, "malformed cgroup note");
    snprintf(copy, sizeof copy, "%s", note);
    char *save = NULL;
    for (char *t = strtok_r(copy, " ", &save); t; t = strtok_r(NULL, " ", &save)) {
        if (nd == MAX_JOIN || !v1_job_dir(t))
            return mlq_err_set(err, MLQ_EINVAL, "%.200s is not a job cgroup", t);
        dirs[nd++] = t;
    }
    int64_t end = mlq_clock_mono_ms() + max_ms;
    for (;;) {
        int left = 0;
        for (int i = 0; i < nd; i++)
            left += kill_listed(dirs[i]);
        for (int i = 0; left == 0 && i < nd; i++) {
            if (rmdir(dirs[i]) != 0 && errno != ENOENT)
                left++;
        }
        if (left == 0)
            return 0;
        if (mlq_clock_mono_ms() >= end)
            return mlq_err_set(err, MLQ_EUNAVAIL, "cgroup %s still has processes", dirs[0]);
        sleep_ms(10);
    }
}
