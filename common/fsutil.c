/* fsutil: see fsutil.h.
 *
 * Durability rule: a file that must survive a crash is written to a temporary
 * name unique to this process, fsynced, renamed over the target and then the
 * directory is fsynced, so a reader sees either the old or the new content,
 * never a torn mix, and the rename itself is on disk when we return.
 * mlq_fs_write_replace keeps the atomicity without the two fsyncs, for files
 * that only mean something while the machine stays up (a pid, a cgroup). */
#include "fsutil.h"

#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bounds.h"

#define FS_PID_MAX      4194304 /* PID_MAX_LIMIT on 64-bit Linux */
#define FS_PIDFILE_MAX  32
#define FS_PROCSTAT_MAX 4096 /* comm is at most 16 bytes; 52 numeric fields */

/* MLQ_E* code for an errno from open() and friends. */
static int fs_code(int e)
{
    switch (e) {
    case ENOENT:
    case ENOTDIR:
        return MLQ_ENOTFOUND;
    case EACCES:
    case EPERM:
    case EROFS:
        return MLQ_EPERM;
    case ENOMEM:
        return MLQ_ENOMEM;
    default:
        return MLQ_EIO;
    }
}

static int fs_fail(struct mlq_err *err, const char *what, const char *path)
{
    int e = errno;
    return mlq_err_set(err, fs_code(e), "%s %s: %s", what, path, strerror(e));
}

/* mkdir that treats an existing directory as success. */
static int fs_mkdir_one(const char *path, mode_t mode, struct mlq_err *err)
{
    struct stat st;
    if (mkdir(path, mode) == 0)
        return 0;
    if (errno == EEXIST && stat(path, &st) == 0) {
        if (S_ISDIR(st.st_mode))
            return 0;
        return mlq_err_set(err, MLQ_EIO, "cannot create directory %s: not a directory", path);
    }
    return fs_fail(err, "cannot create directory", path);
}

int mlq_fs_mkdirs(const char *path, mode_t mode, struct mlq_err *err)
{
    size_t n = path ? strlen(path) : 0;
    if (n == 0 || n >= MLQ_MAX_PATH)
        return mlq_err_set(err, MLQ_EINVAL, "invalid directory path (empty or too long)");
    char buf[MLQ_MAX_PATH];
    memcpy(buf, path, n + 1);
    /* Create each ancestor in turn by cutting the string at every '/'. */
    for (size_t i = 1; i <= n; i++) {
        if (buf[i] != '/' && buf[i] != '\0')
            continue;
        if (buf[i - 1] == '/')
            continue; /* "a//b" or a trailing '/' */
        char saved = buf[i];
        buf[i] = '\0';
        int rc = fs_mkdir_one(buf, mode, err);
        buf[i] = saved;
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Writes all len bytes, retrying short writes and EINTR. */
static int fs_write_full(int fd, const void *data, size_t len)
{
    const char *p = data;
    while (len > 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno == EINTR)
            continue;
        if (w < 0)
            return -1;
        p += w;
        len -= (size_t)w;
    }
    return 0;
}

/* fsync of the directory that holds path, so a rename into it is durable. */
static int fs_sync_parent(const char *path, struct mlq_err *err)
{
    char dir[MLQ_MAX_PATH];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    if (!slash)
        snprintf(dir, sizeof dir, ".");
    else if (slash == dir)
        dir[1] = '\0';
    else
        *slash = '\0';
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return fs_fail(err, "cannot open directory", dir);
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    return rc < 0 ? fs_fail(err, "cannot sync directory", dir) : 0;
}

/* Mode for the new file: keep the mode of the file being replaced (so a 0600
 * file stays private), else 0644 minus the umask. */
static mode_t fs_keep_mode(const char *path)
{
    struct stat st;
    if (stat(path, &st) == 0 && S_ISREG(st.st_mode))
        return st.st_mode & 07777;
    return 0644;
}

/* Temp file, (fsync when durable,) rename over path, (fsync of the folder). */
static int fs_write_replace(const char *path, const void *data, size_t len, bool durable,
                            struct mlq_err *err)
{
    char tmp[MLQ_MAX_PATH + 32];
    if (!path || !*path || strlen(path) >= MLQ_MAX_PATH)
        return mlq_err_set(err, MLQ_EINVAL, "invalid file path (empty or too long)");
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, fs_keep_mode(path));
    if (fd < 0)
        return fs_fail(err, "cannot create", tmp);
    if (fs_write_full(fd, data, len) < 0 || (durable && fsync(fd) < 0)) {
        int rc = fs_fail(err, "cannot write", tmp);
        close(fd);
        unlink(tmp);
        return rc;
    }
    if (close(fd) < 0 || rename(tmp, path) < 0) {
        int rc = fs_fail(err, "cannot replace", path);
        unlink(tmp);
        return rc;
    }
    return durable ? fs_sync_parent(path, err) : 0;
}

int mlq_fs_write_atomic(const char *path, const void *data, size_t len, struct mlq_err *err)
{
    return fs_write_replace(path, data, len, true, err);
}

int mlq_fs_write_replace(const char *path, const void *data, size_t len, struct mlq_err *err)
{
    return fs_write_replace(path, data, len, false, err);
}

int mlq_fs_sync_path(const char *path, struct mlq_err *err)
{
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return fs_fail(err, "cannot open", path);
    int rc = fsync(fd);
    int e = errno;
    close(fd);
    errno = e;
    return rc < 0 ? fs_fail(err, "cannot sync", path) : 0;
}

/* Reads fd to the end into a growing buffer, failing once more than max bytes
 * arrive. st_size is not trusted: /proc files report 0 and files grow. */
static int fs_read_fd(int fd, size_t max, char **out, size_t *out_len)
{
    size_t cap = 4096, n = 0;
    char *buf = malloc(cap);
    int rc = buf ? 0 : MLQ_ENOMEM;
    while (rc == 0) {
        if (n + 1 >= cap) {
            char *nb = cap > SIZE_MAX / 2 ? NULL : realloc(buf, cap * 2);
            if (!nb) {
                rc = MLQ_ENOMEM;
                break;
            }
            buf = nb, cap *= 2;
        }
        ssize_t r = read(fd, buf + n, cap - n - 1);
        if (r < 0 && errno == EINTR)
            continue;
        if (r <= 0) {
            rc = r < 0 ? MLQ_EIO : 1;
            break;
        }
        n += (size_t)r;
        if (n > max)
            rc = MLQ_ETOOBIG;
    }
    if (rc < 0) {
        free(buf);
        return rc;
    }
    buf[n] = '\0';
    *out = buf;
    if (out_len)
        *out_len = n;
    return 0;
}

int mlq_fs_read_all(const char *path, size_t max, char **out, size_t *out_len, struct mlq_err *err)
{
    if (!path || !out)
        return mlq_err_set(err, MLQ_EINVAL, "no file to read");
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return fs_fail(err, "cannot open", path);
    struct stat st;
    if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && (uint64_t)st.st_size > max) {
        close(fd);
        return mlq_err_set(err, MLQ_ETOOBIG, "%s is larger than %zu bytes", path, max);
    }
    int rc = fs_read_fd(fd, max, out, out_len);
    int e = errno;
    close(fd);
    if (rc == MLQ_ETOOBIG)
        return mlq_err_set(err, rc, "%s is larger than %zu bytes", path, max);
    if (rc == MLQ_ENOMEM)
        return mlq_err_set(err, rc, "out of memory reading %s", path);
    if (rc < 0)
        return mlq_err_set(err, rc, "cannot read %s: %s", path, strerror(e));
    return 0;
}

int mlq_fs_write_pidfile(const char *path, pid_t pid, struct mlq_err *err)
{
    char line[FS_PIDFILE_MAX];
    if (pid <= 0 || pid > FS_PID_MAX)
        return mlq_err_set(err, MLQ_EINVAL, "invalid pid %ld", (long)pid);
    int n = snprintf(line, sizeof line, "%ld\n", (long)pid);
    return mlq_fs_write_atomic(path, line, (size_t)n, err);
}

/* Parses "PID" or "PID\n" in canonical decimal (no sign, no leading zero). */
static pid_t fs_parse_pid(const char *s, size_t len)
{
    if (len > 0 && s[len - 1] == '\n')
        len--;
    if (len == 0 || len > 7 || s[0] == '0')
        return 0;
    long v = 0;
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9')
            return 0;
        v = v * 10 + (s[i] - '0');
    }
    return v <= FS_PID_MAX ? (pid_t)v : 0;
}

int mlq_fs_read_pidfile(const char *path, pid_t *out, struct mlq_err *err)
{
    char *text = NULL;
    size_t len = 0;
    int rc = mlq_fs_read_all(path, FS_PIDFILE_MAX, &text, &len, err);
    if (rc == MLQ_ETOOBIG)
        return mlq_err_set(err, MLQ_EINVAL, "malformed pid file %s: too long", path);
    if (rc < 0)
        return rc;
    pid_t pid = fs_parse_pid(text, len);
    free(text);
    if (pid == 0)
        return mlq_err_set(err, MLQ_EINVAL, "malformed pid file %s: expected a process id", path);
    *out = pid;
    return 0;
}

/* Reads /proc/PID/stat and returns the text after the comm field's closing
 * parenthesis (starting at the state letter), or NULL. comm may itself hold
 * spaces and ')', so the last ')' is the one that ends it. *buf must be freed. */
static const char *fs_proc_stat(pid_t pid, char **buf)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/stat", (long)pid);
    *buf = NULL;
    if (mlq_fs_read_all(path, FS_PROCSTAT_MAX, buf, NULL, NULL) < 0)
        return NULL;
    const char *close_paren = strrchr(*buf, ')');
    if (!close_paren || close_paren[1] != ' ')
        return NULL;
    return close_paren + 2;
}

bool mlq_fs_pid_alive(pid_t pid)
{
    if (pid <= 0)
        return false; /* 0 and negatives name process groups to kill() */
    int k = kill(pid, 0);
    if (k < 0 && errno != EPERM)
        return false;
    bool eperm = k < 0;
    char *buf;
    const char *rest = fs_proc_stat(pid, &buf);
    bool alive;
    if (rest)
        alive = *rest != 'Z' && *rest != 'X';
    else /* gone since kill(), unless /proc hides it from us or is absent */
        alive = eperm || access("/proc/self/stat", F_OK) != 0;
    free(buf);
    return alive;
}

/* The start time in /proc/PID/stat's text after comm (rest, at field 3). */
static unsigned long long fs_stat_starttime(const char *p)
{
    /* p is at field 3 (state); starttime is field 22, 19 fields further. */
    for (int field = 3; p && field < 22; field++) {
        p = strchr(p, ' ');
        if (p)
            p++;
    }
    return p && *p >= '0' && *p <= '9' ? strtoull(p, NULL, 10) : 0;
}

unsigned long long mlq_fs_pid_starttime(pid_t pid)
{
    if (pid <= 0)
        return 0;
    char *buf;
    unsigned long long start = fs_stat_starttime(fs_proc_stat(pid, &buf));
    free(buf);
    return start;
}

bool mlq_fs_pid_alive_since(pid_t pid, unsigned long long starttime)
{
    if (pid <= 0)
        return false;
    int k = kill(pid, 0);
    if (k < 0 && errno != EPERM)
        return false;
    char *buf;
    const char *rest = fs_proc_stat(pid, &buf);
    bool alive;
    if (rest) /* one read for both: a watch of many processes costs half */
        alive = *rest != 'Z' && *rest != 'X' && fs_stat_starttime(rest) == starttime;
    else /* as mlq_fs_pid_alive, and no start time to read */
        alive = (k < 0 || access("/proc/self/stat", F_OK) != 0) && starttime == 0;
    free(buf);
    return alive;
}

/* Appends component c (length n) to the normalised absolute path in out,
 * applying "." and ".." lexically. */
static void fs_push(char *out, size_t *len, const char *c, size_t n)
{
    if (n == 0 || (n == 1 && c[0] == '.'))
        return;
    if (n == 2 && c[0] == '.' && c[1] == '.') {
        while (*len > 0 && out[*len - 1] != '/')
            (*len)--;
        if (*len > 0)
            (*len)--; /* drop the '/', leaving "" for the root */
        out[*len] = '\0';
        return;
    }
    out[(*len)++] = '/';
    memcpy(out + *len, c, n);
    *len += n;
    out[*len] = '\0';
}

/* Splits s on '/' and pushes every component. */
static void fs_push_all(char *out, size_t *len, const char *s)
{
    while (*s) {
        const char *slash = strchr(s, '/');
        size_t n = slash ? (size_t)(slash - s) : strlen(s);
        fs_push(out, len, s, n);
        s += n;
        if (*s == '/')
            s++;
    }
}

char *mlq_fs_abspath(const char *path)
{
    if (!path || !*path)
        return NULL;
    char *cwd = NULL;
    if (path[0] != '/' && !(cwd = getcwd(NULL, 0)))
        return NULL;
    /* The result is never longer than cwd + '/' + path. */
    size_t cap = (cwd ? strlen(cwd) : 0) + strlen(path) + 3;
    char *out = malloc(cap);
    if (!out) {
        free(cwd);
        return NULL;
    }
    size_t len = 0;
    out[0] = '\0';
    if (cwd)
        fs_push_all(out, &len, cwd);
    fs_push_all(out, &len, path);
    free(cwd);
    if (len == 0)
        strcpy(out, "/");
    return out;
}
