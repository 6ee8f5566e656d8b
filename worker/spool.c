/* spool: see spool.h for the layout.
 *
 * Invariants: an attempt directory under its final name always holds an
 * assign file (it is built as attempts/.tmp-<id> and renamed); status is only
 * ever replaced atomically, so a reader sees a whole outcome or none; the
 * acked_finished marker is written last, after which the attempt is inert. */
#include "spool.h"
#include "spooljournal.h"
#include "spoolmark.h"
#include "spoolpool.h"
#include "spoolrec.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include "clock.h"
#include "fsutil.h"
#include "id.h"
#include "protousage.h"

#define SPOOL_DIR_MODE 0750
#define TMP_PREFIX     ".tmp-"
#define STATUS_MAX     (8 * 1024)
#define SHIM_PID_MAX   256
#define NOTE_MAX       (3 * MLQ_MAX_PATH + 64) /* cgroup_v1: up to three paths */

struct mlq_spool {
    char *root;
    char *attempts;                   /* root/attempts */
    int lock_fd;                      /* -1 until mlq_spool_lock */
    struct mlq_spooljournal *journal; /* opened by mlq_spool_lock */
    struct mlq_spoolpool *pool;       /* the same */
};

/* The spool this process locked: mlq_spool_discard only knows a path. */
static struct mlq_spool *locked;

static const char *const outcome_names[] = {
    [MLQ_OUT_NONE] = "none",         [MLQ_OUT_EXITED] = "exited",
    [MLQ_OUT_SIGNALED] = "signaled", [MLQ_OUT_START_FAILED] = "start_failed",
    [MLQ_OUT_LOST] = "lost",         [MLQ_OUT_TIMED_OUT] = "timed_out",
    [MLQ_OUT_REFUSED] = "refused",
};

const char *mlq_spool_outcome_name(enum mlq_outcome o)
{
    if ((unsigned)o >= sizeof outcome_names / sizeof outcome_names[0])
        return "?";
    return outcome_names[o];
}

static int outcome_from_name(const char *s, enum mlq_outcome *out)
{
    for (size_t i = 0; i < sizeof outcome_names / sizeof outcome_names[0]; i++) {
        if (strcmp(s, outcome_names[i]) == 0) {
            *out = (enum mlq_outcome)i;
            return 0;
        }
    }
    return MLQ_EINVAL;
}

/* dir + "/" + name into buf. */
static int join(char *buf, size_t len, const char *dir, const char *name, struct mlq_err *err)
{
    int n = snprintf(buf, len, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= len)
        return mlq_err_set(err, MLQ_ETOOBIG, "path too long: %s/%s", dir, name);
    return 0;
}

int mlq_spool_open(const char *root, struct mlq_spool **out, struct mlq_err *err)
{
    *out = NULL;
    if (!root || !*root || strlen(root) > MLQ_MAX_PATH - 128)
        return mlq_err_set(err, MLQ_EINVAL, "spool path is empty or too long");
    struct mlq_spool *sp = calloc(1, sizeof *sp);
    if (!sp)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    sp->lock_fd = -1;
    sp->root = strdup(root);
    if (sp->root && asprintf(&sp->attempts, "%s/attempts", root) < 0)
        sp->attempts = NULL;
    if (!sp->root || !sp->attempts) {
        mlq_spool_close(&sp);
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    }
    int rc = mlq_fs_mkdirs(sp->attempts, SPOOL_DIR_MODE, err);
    if (rc < 0) {
        mlq_spool_close(&sp);
        return rc;
    }
    *out = sp;
    return 0;
}

void mlq_spool_close(struct mlq_spool **sp)
{
    if (!sp || !*sp)
        return;
    int saved = errno;
    if ((*sp)->lock_fd >= 0)
        close((*sp)->lock_fd);
    if (locked == *sp) {
        locked = NULL;
        mlq_spoolmark_use(NULL);
    }
    mlq_spooljournal_close(&(*sp)->journal);
    mlq_spoolpool_close(&(*sp)->pool);
    free((*sp)->root);
    free((*sp)->attempts);
    free(*sp);
    *sp = NULL;
    errno = saved;
}

const char *mlq_spool_root(const struct mlq_spool *sp)
{
    return sp->root;
}

const char *mlq_spool_attempts(const struct mlq_spool *sp)
{
    return sp->attempts;
}

struct mlq_spooljournal *mlq_spool_journal(const struct mlq_spool *sp)
{
    return sp->journal;
}

struct mlq_spoolpool *mlq_spool_pool(const struct mlq_spool *sp)
{
    return sp->pool;
}

/* The journal and the folder pool, once the spool is ours. */
static int open_records(struct mlq_spool *sp, struct mlq_err *err)
{
    int rc = mlq_spooljournal_open(sp->root, sp->attempts, &sp->journal, err);
    if (rc == 0)
        rc = mlq_spoolpool_open(sp->attempts, &sp->pool, err);
    if (rc < 0)
        return rc;
    locked = sp;
    mlq_spoolmark_use(sp->journal);
    return 0;
}

/* SPOOL/format: "mlq-spool N". Absent: a spool written before the marker,
 * which has format 1's layout. */
static int read_format(const char *path, int *format, struct mlq_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    int rc = mlq_fs_read_all(path, 64, &buf, &len, NULL);
    if (rc == MLQ_ENOTFOUND || (rc < 0 && errno == ENOENT)) {
        *format = 1;
        return 0;
    }
    if (rc < 0)
        return mlq_err_set(err, MLQ_EIO, "%s: cannot read", path);
    int n = 0;
    char extra;
    int got = sscanf(buf, "mlq-spool %d %c", &n, &extra);
    free(buf);
    if (got != 1 || n < 1)
        return mlq_err_set(err, MLQ_EINVAL, "%s: not a spool format marker", path);
    *format = n;
    return 0;
}

/* Refuses a spool laid out by a later worker (it may hold what this one
 * cannot read, and could be misread as lost jobs); marks an older one as
 * this format: nothing is converted, format 1's files (marker files, done
 * records as files, whole-file status) are read as they are. */
static int check_format(const struct mlq_spool *sp, struct mlq_err *err)
{
    char path[MLQ_MAX_PATH];
    int format = 0;
    int rc = join(path, sizeof path, sp->root, "format", err);
    if (rc == 0)
        rc = read_format(path, &format, err);
    if (rc == 0 && format > MLQ_SPOOL_FORMAT)
        return mlq_err_set(err, MLQ_ESTATE,
                           "spool %s has format %d, newer than this mlq-worker reads (%d): run "
                           "the newer worker on it, or drain it (--drain-and-exit) first",
                           sp->root, format, MLQ_SPOOL_FORMAT);
    char text[32];
    int n = snprintf(text, sizeof text, "mlq-spool %d\n", MLQ_SPOOL_FORMAT);
    if (rc == 0 && (format < MLQ_SPOOL_FORMAT || access(path, F_OK) != 0))
        rc = mlq_fs_write_atomic(path, text, (size_t)n, err);
    return rc;
}

int mlq_spool_lock(struct mlq_spool *sp, struct mlq_err *err)
{
    char path[MLQ_MAX_PATH];
    int rc = join(path, sizeof path, sp->root, "worker.lock", err);
    if (rc < 0)
        return rc;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0640);
    if (fd < 0)
        return mlq_err_set(err, MLQ_EIO, "%s: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) != 0) {
        int saved = errno;
        close(fd);
        if (saved != EWOULDBLOCK)
            return mlq_err_set(err, MLQ_EIO, "lock %s: %s", path, strerror(saved));
        pid_t other = 0;
        if (join(path, sizeof path, sp->root, "worker.pid", NULL) == 0)
            mlq_fs_read_pidfile(path, &other, NULL);
        return mlq_err_set(err, MLQ_ESTATE, "spool %s is in use by another worker (pid %ld)",
                           sp->root, (long)other);
    }
    sp->lock_fd = fd;
    if ((rc = check_format(sp, err)) < 0 || (rc = open_records(sp, err)) < 0)
        return rc;
    if ((rc = join(path, sizeof path, sp->root, "worker.pid", err)) < 0)
        return rc;
    return mlq_fs_write_pidfile(path, getpid(), err);
}

void mlq_spool_release(struct mlq_spool *sp)
{
    char path[MLQ_MAX_PATH];
    if (sp->lock_fd < 0)
        return;
    if (join(path, sizeof path, sp->root, "worker.pid", NULL) == 0)
        unlink(path);
    close(sp->lock_fd);
    sp->lock_fd = -1;
}

int mlq_spool_attempt_dir(const struct mlq_spool *sp, const char *attempt_id, char *buf, size_t len,
                          struct mlq_err *err)
{
    if (!attempt_id || !mlq_id_valid(attempt_id))
        return mlq_err_set(err, MLQ_EINVAL, "invalid attempt id");
    return join(buf, len, sp->attempts, attempt_id, err);
}

bool mlq_spool_attempt_exists(const struct mlq_spool *sp, const char *attempt_id)
{
    char dir[MLQ_MAX_PATH];
    struct stat st;
    if (mlq_spool_attempt_dir(sp, attempt_id, dir, sizeof dir, NULL) < 0)
        return false;
    return lstat(dir, &st) == 0;
}

/* Removes a flat folder (the spool never nests inside an attempt folder). */
static void remove_flat_dir(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            unlinkat(dirfd(d), de->d_name, 0);
    }
    closedir(d);
    rmdir(dir);
}

/* Writes a file of dir (not synced: see mlq_spool_sync_attempt); -errno on
 * failure. Used inside a folder that is not yet visible, so no temporary
 * name is needed; a recycled folder's file is rewritten in place. */
static int write_file(const char *dir, const char *name, const void *data, size_t len)
{
    char path[MLQ_MAX_PATH];
    if (join(path, sizeof path, dir, name, NULL) < 0)
        return -ENAMETOOLONG;
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd < 0)
        return -errno;
    const char *p = data;
    int rc = 0;
    while (len > 0 && rc == 0) {
        ssize_t w = write(fd, p, len);
        if (w < 0 && errno != EINTR)
            rc = -errno;
        else if (w > 0)
            p += w, len -= (size_t)w;
    }
    if (close(fd) != 0 && rc == 0)
        rc = -errno;
    return rc;
}

static int dir_fsync_errno(const char *dir)
{
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int rc = fsync(fd) == 0 ? 0 : -errno;
    close(fd);
    return rc;
}

/* A folder for an attempt, with its usual files, into tmp: one from the
 * pool, else tmp_name made; -errno on failure. */
static int new_folder(struct mlq_spool *sp, const char *tmp_name, char *tmp, size_t len)
{
    if (mlq_spoolpool_take(sp->pool, tmp, len))
        return 0;
    int n = snprintf(tmp, len, "%s/%s", sp->attempts, tmp_name);
    if (n < 0 || (size_t)n >= len)
        return -ENAMETOOLONG;
    remove_flat_dir(tmp); /* left over from an interrupted creation */
    if (mkdir(tmp, SPOOL_DIR_MODE) != 0)
        return -errno;
    int rc = mlq_spoolpool_fill(tmp);
    if (rc < 0)
        remove_flat_dir(tmp);
    return rc;
}

/* Undoes new_folder. */
static void drop_folder(struct mlq_spool *sp, const char *tmp)
{
    const char *slash = strrchr(tmp, '/');
    if (slash && strncmp(slash + 1, MLQ_SPOOLPOOL_PREFIX, strlen(MLQ_SPOOLPOOL_PREFIX)) == 0)
        mlq_spoolpool_give_back(sp->pool, tmp);
    else
        remove_flat_dir(tmp);
}

/* Builds attempts/.tmp-<id> with the assign file and renames it to dir;
 * -errno on failure, leaving nothing behind. Nothing is fsynced here: the
 * record is visible to a restarted worker (the rename) before any shim can
 * start, and mlq_spool_sync_attempt makes it durable before anything about
 * it is reported. */
static int build_attempt(struct mlq_spool *sp, const char *id, const char *buf, size_t len,
                         const char *dir)
{
    char tmp[MLQ_MAX_PATH], name[MLQ_ID_LEN + 8];
    snprintf(name, sizeof name, TMP_PREFIX "%s", id);
    int rc = new_folder(sp, name, tmp, sizeof tmp);
    if (rc < 0)
        return rc;
    rc = mlq_spoolrec_reserve(tmp);
    if (rc == 0)
        rc = write_file(tmp, "assign", buf, len);
    if (rc == 0 && rename(tmp, dir) != 0)
        rc = -errno;
    if (rc < 0)
        drop_folder(sp, tmp);
    return rc;
}

int mlq_spool_sync_attempt_own(const char *dir, struct mlq_err *err)
{
    char path[MLQ_MAX_PATH];
    int rc = join(path, sizeof path, dir, "assign", err);
    if (rc == 0)
        rc = mlq_fs_sync_path(path, err);
    if (rc == 0)
        rc = mlq_fs_sync_path(dir, err);
    return rc;
}

int mlq_spool_sync_attempts_dir(struct mlq_spool *sp, struct mlq_err *err)
{
    return mlq_fs_sync_path(sp->attempts, err);
}

int mlq_spool_sync_attempt(struct mlq_spool *sp, const char *dir, struct mlq_err *err)
{
    int rc = mlq_spool_sync_attempt_own(dir, err);
    return rc == 0 ? mlq_spool_sync_attempts_dir(sp, err) : rc;
}

int mlq_spool_prepare(struct mlq_spool *sp, const struct mlq_shim_id *shim, char *tmp,
                      size_t tmp_len, struct mlq_err *err)
{
    char name[64], taken[MLQ_MAX_PATH];
    snprintf(name, sizeof name, TMP_PREFIX "standby-%ld", (long)shim->pid);
    int n = snprintf(tmp, tmp_len, "%s/%s", sp->attempts, name);
    if (n < 0 || (size_t)n >= tmp_len)
        return mlq_err_set(err, MLQ_ETOOBIG, "spool path too long");
    int rc = new_folder(sp, name, taken, sizeof taken);
    if (rc == 0 && strcmp(taken, tmp) != 0 && rename(taken, tmp) != 0) {
        rc = -errno;
        drop_folder(sp, taken);
    }
    if (rc < 0)
        return mlq_err_set(err, MLQ_EIO, "spool %s: %s", sp->root, strerror(-rc));
    if (mlq_spool_write_shim(tmp, shim, err) < 0) {
        mlq_spool_discard(tmp);
        return MLQ_EIO;
    }
    return 0;
}

void mlq_spool_discard(const char *tmp)
{
    if (!locked || !mlq_spoolpool_put(locked->pool, tmp))
        remove_flat_dir(tmp);
}

/* Encodes the assign message; MLQ_ESTATE when the attempt exists. */
static int encode_new(struct mlq_spool *sp, const struct mlq_msg *assign, char *dir, size_t dir_len,
                      char **buf, size_t *len, struct mlq_err *err)
{
    const char *id = assign->u.assign.attempt_id;
    int rc = mlq_spool_attempt_dir(sp, id, dir, dir_len, err);
    if (rc < 0)
        return rc;
    if (assign->type != MLQ_MSG_ASSIGN)
        return mlq_err_set(err, MLQ_EINVAL, "not an assign message");
    if (mlq_spool_attempt_exists(sp, id))
        return mlq_err_set(err, MLQ_ESTATE, "attempt %s already exists", id);
    return mlq_proto_encode(assign, buf, len, err);
}

int mlq_spool_create_prepared(struct mlq_spool *sp, const char *tmp, const struct mlq_msg *assign,
                              char *dir, size_t dir_len, struct mlq_err *err)
{
    char *buf = NULL;
    size_t len = 0;
    int rc = encode_new(sp, assign, dir, dir_len, &buf, &len, err);
    if (rc < 0)
        return rc;
    rc = mlq_spoolrec_reserve(tmp);
    if (rc == 0)
        rc = write_file(tmp, "assign", buf, len);
    free(buf);
    if (rc == 0 && rename(tmp, dir) != 0)
        rc = -errno;
    if (rc == -ENOTEMPTY || rc == -EEXIST)
        return mlq_err_set(err, MLQ_ESTATE, "attempt %s already exists",
                           assign->u.assign.attempt_id);
    if (rc < 0)
        return mlq_err_set(err, MLQ_EIO, "spool %s: %s", sp->root, strerror(-rc));
    return 0;
}

int mlq_spool_create_attempt(struct mlq_spool *sp, const struct mlq_msg *assign, char *dir,
                             size_t dir_len, struct mlq_err *err)
{
    const char *id = assign->u.assign.attempt_id;
    char *buf = NULL;
    size_t len = 0;
    int rc = encode_new(sp, assign, dir, dir_len, &buf, &len, err);
    if (rc < 0)
        return rc;
    rc = build_attempt(sp, id, buf, len, dir);
    free(buf);
    if (rc == -ENOTEMPTY || rc == -EEXIST)
        return mlq_err_set(err, MLQ_ESTATE, "attempt %s already exists", id);
    if (rc < 0)
        return mlq_err_set(err, MLQ_EIO, "spool %s: %s", sp->root, strerror(-rc));
    return 0;
}

int mlq_spool_write_assign(const char *dir, const struct mlq_msg *assign, struct mlq_err *err)
{
    char path[MLQ_MAX_PATH];
    int rc = join(path, sizeof path, dir, "assign", err);
    if (rc < 0)
        return rc;
    if (assign->type != MLQ_MSG_ASSIGN)
        return mlq_err_set(err, MLQ_EINVAL, "not an assign message");
    char *buf = NULL;
    size_t len = 0;
    if ((rc = mlq_proto_encode(assign, &buf, &len, err)) < 0)
        return rc;
    rc = mlq_fs_write_atomic(path, buf, len, err);
    free(buf);
    return rc;
}

int mlq_spool_read_assign(const char *dir, struct mlq_msg *out, struct mlq_err *err)
{
    memset(out, 0, sizeof *out);
    char path[MLQ_MAX_PATH];
    int rc = join(path, sizeof path, dir, "assign", err);
    if (rc < 0)
        return rc;
    char *buf = NULL;
    size_t len = 0;
    if ((rc = mlq_fs_read_all(path, MLQ_MAX_MSG, &buf, &len, err)) < 0)
        return rc;
    rc = mlq_proto_decode(buf, len, out, err);
    free(buf);
    if (rc < 0)
        return rc;
    if (out->type != MLQ_MSG_ASSIGN)
        rc = mlq_err_set(err, MLQ_EINVAL, "%s: not an assign message", path);
    else
        rc = mlq_proto_jobspec_check(&out->u.assign.spec, err);
    if (rc < 0)
        mlq_proto_msg_free(out);
    return rc;
}

void mlq_spool_set_detail(struct mlq_status *st, const char *detail)
{
    snprintf(st->detail, sizeof st->detail, "%s", detail ? detail : "");
    for (char *p = st->detail; *p; p++) {
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    }
}

void mlq_spool_status_lost(struct mlq_status *st, int64_t start_ms, const char *detail)
{
    memset(st, 0, sizeof *st);
    mlq_usage_clear(&st->usage);
    st->outcome = MLQ_OUT_LOST;
    st->exit_code = -1;
    st->start_ms = start_ms;
    st->end_ms = mlq_clock_wall_ms();
    mlq_spool_set_detail(st, detail);
}

/* The attempt id a folder is named for; NULL for another folder. */
static const char *folder_attempt(const char *dir)
{
    const char *slash = strrchr(dir, '/');
    const char *id = slash ? slash + 1 : dir;
    return mlq_id_valid(id) ? id : NULL;
}

/* The usage keys of a status file (none when nothing was measured). */
static int usage_lines(const struct mlq_usage *u, char *buf, size_t len)
{
    if (!mlq_usage_any(u))
        return 0;
    return snprintf(buf, len,
                    "usage_source=%s\nusage_mem_peak=%" PRId64 "\nusage_cpu_us=%" PRId64
                    "\nusage_wall_ms=%" PRId64 "\nusage_gpu_mem_peak=%" PRId64
                    "\nusage_gpu_util=%" PRId32 "\n",
                    u->source, u->mem_peak, u->cpu_us, u->wall_ms, u->gpu_mem_peak, u->gpu_util);
}

int mlq_spool_write_status(const char *dir, const struct mlq_status *st, struct mlq_err *err)
{
    char path[MLQ_MAX_PATH];
    int rc = join(path, sizeof path, dir, "status", err);
    if (rc < 0)
        return rc;
    struct mlq_status clean = *st;
    mlq_spool_set_detail(&clean, st->detail); /* keeps it one line */
    char buf[STATUS_MAX];
    int n = snprintf(buf, sizeof buf,
                     "outcome=%s\nexit_code=%" PRId32 "\nsignal=%" PRId32 "\nstart_ms=%" PRId64
                     "\nend_ms=%" PRId64 "\ndetail=%s\n",
                     mlq_spool_outcome_name(st->outcome), st->exit_code, st->signal, st->start_ms,
                     st->end_ms, clean.detail);
    if (n < 0 || (size_t)n >= sizeof buf)
        return mlq_err_set(err, MLQ_ETOOBIG, "status too long");
    if (st->no_retry) {
        int f = snprintf(buf + n, sizeof buf - (size_t)n, "no_retry=1\n");
        if (f < 0 || (size_t)f >= sizeof buf - (size_t)n)
            return mlq_err_set(err, MLQ_ETOOBIG, "status too long");
        n += f;
    }
    int u = usage_lines(&st->usage, buf + n, sizeof buf - (size_t)n);
    if (u < 0 || (size_t)u >= sizeof buf - (size_t)n)
        return mlq_err_set(err, MLQ_ETOOBIG, "status too long");
    /* In place (one pwrite, fdatasync) into the file made with the folder,
     * whose name the folder's fsync made durable before the shim started; a
     * folder of the earlier layout has none, and gets it as it did then. */
    if (access(path, F_OK) != 0)
        return mlq_fs_write_atomic(path, buf, (size_t)(n + u), err);
    /* Named for its attempt: a recycled folder's emptied status is not
     * durable, and a power loss could bring back the previous attempt's. */
    const char *id = folder_attempt(dir);
    int a = id ? snprintf(buf + n + u, sizeof buf - (size_t)(n + u), "attempt=%s\n", id) : 0;
    if (a < 0 || (size_t)a >= sizeof buf - (size_t)(n + u))
        return mlq_err_set(err, MLQ_ETOOBIG, "status too long");
    return mlq_spoolrec_write(path, buf, (size_t)(n + u + a), true, err);
}

static int parse_i64(const char *s, int64_t *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno != 0 || end == s || *end != '\0')
        return MLQ_EINVAL;
    *out = v;
    return 0;
}

static int parse_i32(const char *s, int32_t *out)
{
    int64_t v;
    if (parse_i64(s, &v) < 0 || v < INT32_MIN || v > INT32_MAX)
        return MLQ_EINVAL;
    *out = (int32_t)v;
    return 0;
}

/* A usage_* key of a status file; -1 stands for "not measured". */
static int usage_field(struct mlq_usage *u, const char *k, const char *v)
{
    int64_t n = 0;
    if (strcmp(k, "source") == 0) {
        if (*v && !mlq_usage_source_valid(v))
            return MLQ_EINVAL;
        snprintf(u->source, sizeof u->source, "%s", v);
        return 0;
    }
    if (parse_i64(v, &n) < 0 || n < -1 || n > MLQ_MAX_MEM * 1024)
        return MLQ_EINVAL;
    if (strcmp(k, "mem_peak") == 0)
        u->mem_peak = n;
    else if (strcmp(k, "cpu_us") == 0)
        u->cpu_us = n;
    else if (strcmp(k, "wall_ms") == 0)
        u->wall_ms = n;
    else if (strcmp(k, "gpu_mem_peak") == 0)
        u->gpu_mem_peak = n;
    else if (strcmp(k, "gpu_util") == 0 && n <= 100)
        u->gpu_util = (int32_t)n;
    return 0;
}

/* One "key=value" line of a status file. Unknown keys are ignored so a later
 * version can add some. */
static int status_field(struct mlq_status *st, char *line, bool *have_outcome, const char **attempt)
{
    char *eq = strchr(line, '=');
    if (!eq)
        return MLQ_EINVAL;
    *eq = '\0';
    const char *k = line, *v = eq + 1;
    if (strcmp(k, "attempt") == 0)
        *attempt = v;
    if (strcmp(k, "outcome") == 0) {
        *have_outcome = true;
        return outcome_from_name(v, &st->outcome);
    }
    if (strcmp(k, "exit_code") == 0)
        return parse_i32(v, &st->exit_code);
    if (strcmp(k, "signal") == 0)
        return parse_i32(v, &st->signal);
    if (strcmp(k, "start_ms") == 0)
        return parse_i64(v, &st->start_ms);
    if (strcmp(k, "end_ms") == 0)
        return parse_i64(v, &st->end_ms);
    if (strcmp(k, "detail") == 0)
        mlq_spool_set_detail(st, v);
    if (strcmp(k, "no_retry") == 0)
        st->no_retry = strcmp(v, "1") == 0;
    if (strncmp(k, "usage_", 6) == 0)
        return usage_field(&st->usage, k + 6, v);
    return 0;
}

int mlq_spool_read_status(const char *dir, struct mlq_status *st, struct mlq_err *err)
{
    char path[MLQ_MAX_PATH];
    int rc = join(path, sizeof path, dir, "status", err);
    if (rc < 0)
        return rc;
    char *buf = NULL;
    size_t len = 0;
    if ((rc = mlq_spoolrec_read(path, STATUS_MAX, &buf, &len, err)) < 0)
        return rc;
    memset(st, 0, sizeof *st);
    mlq_usage_clear(&st->usage);
    st->exit_code = -1;
    bool have_outcome = false;
    const char *attempt = NULL, *id = folder_attempt(dir);
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line && rc == 0;
         line = strtok_r(NULL, "\n", &save))
        rc = status_field(st, line, &have_outcome, &attempt);
    /* Another attempt's (format 1 named none): not written for this one. */
    bool other = attempt && id && strcmp(attempt, id) != 0;
    free(buf);
    if (other)
        return mlq_err_set(err, MLQ_ENOTFOUND, "%s: not written for this attempt", path);
    if (rc < 0 || !have_outcome || st->outcome == MLQ_OUT_NONE)
        return mlq_err_set(err, MLQ_EINVAL, "%s: malformed status", path);
    return 0;
}

int mlq_spool_write_shim(const char *dir, const struct mlq_shim_id *id, struct mlq_err *err)
{
    char path[MLQ_MAX_PATH];
    int rc = join(path, sizeof path, dir, "shim.pid", err);
    if (rc < 0)
        return rc;
    char buf[SHIM_PID_MAX];
    int n = snprintf(buf, sizeof buf, "%ld %llu %" PRId64 "\n", (long)id->pid, id->starttime,
                     id->start_ms);
    /* Only means something while the machine is up: atomic, not durable. */
    return mlq_spoolrec_write(path, buf, (size_t)n, false, err);
}

int mlq_spool_read_shim(const char *dir, struct mlq_shim_id *id, struct mlq_err *err)
{
    char path[MLQ_MAX_PATH];
    int rc = join(path, sizeof path, dir, "shim.pid", err);
    if (rc < 0)
        return rc;
    char *buf = NULL;
    size_t len = 0;
    if ((rc = mlq_spoolrec_read(path, SHIM_PID_MAX, &buf, &len, err)) < 0)
        return rc;
    long pid = 0;
    unsigned long long start = 0;
    long long start_ms = 0;
    char extra;
    int n = sscanf(buf, "%ld %llu %lld %c", &pid, &start, &start_ms, &extra);
    free(buf);
    if (n != 3 || pid <= 0 || pid > INT32_MAX || start == 0)
        return mlq_err_set(err, MLQ_EINVAL, "%s: malformed", path);
    id->pid = (pid_t)pid;
    id->starttime = start;
    id->start_ms = start_ms;
    return 0;
}

static int write_note(const char *dir, const char *name, const char *text, bool durable,
                      struct mlq_err *err)
{
    char path[MLQ_MAX_PATH], buf[NOTE_MAX];
    int rc = join(path, sizeof path, dir, name, err);
    if (rc < 0)
        return rc;
    int n = snprintf(buf, sizeof buf, "%s\n", text);
    if (n < 0 || (size_t)n >= sizeof buf || strchr(text, '\n'))
        return mlq_err_set(err, MLQ_EINVAL, "%s: not one short line", path);
    return durable ? mlq_fs_write_atomic(path, buf, (size_t)n, err)
                   : mlq_spoolrec_write(path, buf, (size_t)n, false, err);
}

int mlq_spool_write_note(const char *dir, const char *name, const char *text, struct mlq_err *err)
{
    return write_note(dir, name, text, true, err);
}

int mlq_spool_write_note_volatile(const char *dir, const char *name, const char *text,
                                  struct mlq_err *err)
{
    return write_note(dir, name, text, false, err);
}

bool mlq_spool_read_note(const char *dir, const char *name, char *out, size_t len)
{
    char path[MLQ_MAX_PATH];
    char *buf = NULL;
    size_t n = 0;
    if (join(path, sizeof path, dir, name, NULL) < 0 ||
        mlq_spoolrec_read(path, NOTE_MAX, &buf, &n, NULL) < 0)
        return false;
    if (n > 0 && buf[n - 1] == '\n')
        buf[--n] = '\0';
    bool ok = n > 0 && n < len && !memchr(buf, '\0', n);
    if (ok)
        memcpy(out, buf, n + 1);
    free(buf);
    return ok;
}

int mlq_spool_write_lease(struct mlq_spool *sp, int64_t lease_ms, struct mlq_err *err)
{
    char text[32];
    snprintf(text, sizeof text, "%" PRId64, lease_ms);
    return mlq_spool_write_note(sp->root, "lease_ms", text, err);
}

int64_t mlq_spool_read_lease(const struct mlq_spool *sp)
{
    char text[32];
    int64_t v = 0;
    if (!mlq_spool_read_note(sp->root, "lease_ms", text, sizeof text) || parse_i64(text, &v) < 0 ||
        v < 0)
        return 0;
    return v;
}

bool mlq_spool_shim_alive(const struct mlq_shim_id *id)
{
    return mlq_fs_pid_alive_since(id->pid, id->starttime);
}

/* fsync of an attempt folder and its assign file (the attempts folder is
 * synced once after the scan). */
static void sync_attempt_dir(const char *dir)
{
    char path[MLQ_MAX_PATH];
    if (join(path, sizeof path, dir, "assign", NULL) == 0)
        mlq_fs_sync_path(path, NULL);
    mlq_fs_sync_path(dir, NULL);
}

/* Classifies one attempt folder; returns 1 when it is held (filled into h),
 * 0 when it is done. */
static int scan_one(const char *dir, const char *id, struct mlq_spool_held *h, struct mlq_err *err)
{
    memset(h, 0, sizeof *h);
    snprintf(h->attempt_id, sizeof h->attempt_id, "%s", id);
    if (mlq_spool_is_acked(dir, MLQ_PHASE_FINISHED)) {
        struct mlq_upload_state u;
        if (mlq_spool_is_uploaded(dir) || mlq_spool_read_upload(dir, &u, NULL) < 0)
            return 0;
        h->finished = h->acked_started = h->uploading = true;
        mlq_spool_read_shim(dir, &h->shim, NULL);
        return mlq_spool_read_status(dir, &h->status, NULL) == 0 ? 1 : 0;
    }
    h->acked_started = mlq_spool_is_acked(dir, MLQ_PHASE_STARTED);
    /* A worker that died between starting the shim and syncing the record
     * (mlq_spool_sync_attempt) left it in the page cache only: nothing has
     * been reported about it yet, so it is made durable before anything is.
     * Best effort, as when the worker itself records an outcome. */
    if (!h->acked_started)
        sync_attempt_dir(dir);
    bool have_shim = mlq_spool_read_shim(dir, &h->shim, NULL) == 0;
    int rc = mlq_spool_read_status(dir, &h->status, NULL);
    if (rc == 0) {
        h->finished = true;
        return 1;
    }
    if (have_shim && mlq_spool_shim_alive(&h->shim))
        return 1;
    /* The shim may have written its status between the two reads above. */
    if (mlq_spool_read_status(dir, &h->status, NULL) == 0) {
        h->finished = true;
        return 1;
    }
    mlq_spool_status_lost(&h->status, h->shim.start_ms,
                          have_shim ? "shim vanished" : "shim never started");
    if ((rc = mlq_spool_write_status(dir, &h->status, err)) < 0)
        return rc;
    h->finished = true;
    return 1;
}

static int scan_entry(struct mlq_spool *sp, const char *name, struct mlq_spool_held **arr,
                      size_t *n, size_t *cap, struct mlq_err *err)
{
    char dir[MLQ_MAX_PATH];
    if (strncmp(name, TMP_PREFIX, strlen(TMP_PREFIX)) == 0) {
        if (join(dir, sizeof dir, sp->attempts, name, NULL) == 0)
            remove_flat_dir(dir);
        return 0;
    }
    if (mlq_spool_attempt_dir(sp, name, dir, sizeof dir, NULL) < 0)
        return 0; /* not ours: ignore */
    if (*n == *cap) {
        size_t ncap = *cap ? *cap * 2 : 16;
        if (ncap > MLQ_MAX_ATTEMPTS_LIST)
            ncap = MLQ_MAX_ATTEMPTS_LIST;
        if (*n >= ncap)
            return mlq_err_set(err, MLQ_ETOOBIG, "more than %d attempts held in the spool",
                               MLQ_MAX_ATTEMPTS_LIST);
        struct mlq_spool_held *na = realloc(*arr, ncap * sizeof *na);
        if (!na)
            return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
        *arr = na;
        *cap = ncap;
    }
    int rc = scan_one(dir, name, &(*arr)[*n], err);
    if (rc > 0)
        (*n)++;
    return rc < 0 ? rc : 0;
}

int mlq_spool_scan(struct mlq_spool *sp, struct mlq_spool_held **out, size_t *n,
                   struct mlq_err *err)
{
    *out = NULL;
    *n = 0;
    DIR *d = opendir(sp->attempts);
    if (!d)
        return mlq_err_set(err, MLQ_EIO, "%s: %s", sp->attempts, strerror(errno));
    struct mlq_spool_held *arr = NULL;
    size_t cnt = 0, cap = 0;
    int rc = 0;
    struct dirent *de;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        if (de->d_name[0] == '.' && strncmp(de->d_name, TMP_PREFIX, strlen(TMP_PREFIX)) != 0)
            continue;
        rc = scan_entry(sp, de->d_name, &arr, &cnt, &cap, err);
    }
    closedir(d);
    if (rc < 0) {
        free(arr);
        return rc;
    }
    if (cnt > 0)
        dir_fsync_errno(sp->attempts); /* the folders synced by scan_one */
    *out = arr;
    *n = cnt;
    return 0;
}

static int open_log(const struct mlq_spool *sp, const char *attempt_id, enum mlq_stream stream,
                    struct mlq_err *err)
{
    char dir[MLQ_MAX_PATH], path[MLQ_MAX_PATH];
    int rc = mlq_spool_attempt_dir(sp, attempt_id, dir, sizeof dir, err);
    if (rc < 0)
        return rc;
    if (stream != MLQ_STREAM_STDOUT && stream != MLQ_STREAM_STDERR)
        return mlq_err_set(err, MLQ_EINVAL, "invalid stream");
    rc = join(path, sizeof path, dir, stream == MLQ_STREAM_STDOUT ? "stdout" : "stderr", err);
    if (rc < 0)
        return rc;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return mlq_err_set(err, MLQ_ENOTFOUND, "no log for attempt %s", attempt_id);
        return mlq_err_set(err, MLQ_EIO, "%s: %s", path, strerror(errno));
    }
    return fd;
}

/* Reads up to max bytes at offset; short reads only at end of file. */
static int pread_some(int fd, uint8_t *buf, uint32_t max, int64_t offset, uint32_t *got)
{
    *got = 0;
    while (*got < max) {
        ssize_t r = pread(fd, buf + *got, max - *got, (off_t)(offset + *got));
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return MLQ_EIO;
        if (r == 0)
            break;
        *got += (uint32_t)r;
    }
    return 0;
}

int mlq_spool_read_log(const struct mlq_spool *sp, const char *attempt_id, enum mlq_stream stream,
                       int64_t offset, uint32_t max, uint8_t **data, uint32_t *len, int64_t *size,
                       struct mlq_err *err)
{
    *data = NULL;
    *len = 0;
    *size = 0;
    if (offset < 0 || max > MLQ_MAX_LOG_CHUNK)
        return mlq_err_set(err, MLQ_EINVAL, "invalid log offset or size");
    int fd = open_log(sp, attempt_id, stream, err);
    if (fd < 0)
        return fd;
    struct stat st;
    int rc = 0;
    if (fstat(fd, &st) != 0 || !S_ISREG(st.st_mode))
        rc = mlq_err_set(err, MLQ_EIO, "log of attempt %s is not a regular file", attempt_id);
    *size = rc == 0 ? (int64_t)st.st_size : 0;
    int64_t avail = *size > offset ? *size - offset : 0;
    uint32_t want = avail < (int64_t)max ? (uint32_t)avail : max;
    if (rc == 0 && want > 0) {
        uint8_t *buf = malloc(want);
        if (!buf)
            rc = mlq_err_set(err, MLQ_ENOMEM, "out of memory");
        else if (pread_some(fd, buf, want, offset, len) < 0)
            rc = mlq_err_set(err, MLQ_EIO, "read log of %s: %s", attempt_id, strerror(errno));
        if (rc == 0 && *len > 0) {
            *data = buf;
        } else {
            free(buf);
            *len = 0;
        }
    }
    close(fd);
    return rc;
}
