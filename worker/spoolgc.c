/* spoolgc: see spoolgc.h. */
#include "spoolgc.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bounds.h"
#include "fsutil.h"
#include "id.h"
#include "spooljournal.h"
#include "spoolpool.h"

#define TRASH_PREFIX "trash-"
#define DONE_DIR     "done"

static int path_of(char *buf, size_t len, const char *a, const char *b, const char *c)
{
    int n = snprintf(buf, len, "%s/%s%s", a, b, c);
    return n < 0 || (size_t)n >= len ? MLQ_ETOOBIG : 0;
}

/* Removes a flat folder (attempt folders never nest). */
static void remove_flat(const char *dir)
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

static int write_done_record(struct mlq_spool *sp, const char *id, struct mlq_err *err)
{
    char done[MLQ_MAX_PATH], rec[MLQ_MAX_PATH];
    if (path_of(done, sizeof done, mlq_spool_root(sp), DONE_DIR, "") < 0 ||
        path_of(rec, sizeof rec, done, id, "") < 0)
        return mlq_err_set(err, MLQ_ETOOBIG, "spool path too long");
    int rc = mlq_fs_mkdirs(done, 0750, err);
    if (rc < 0)
        return rc;
    int fd = open(rec, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd < 0)
        return mlq_err_set(err, MLQ_EIO, "%s: %s", rec, strerror(errno));
    close(fd);
    return mlq_fs_sync_path(done, err);
}

/* Frees the space of the logs without losing the attempt's record. */
static void drop_logs(const char *dir)
{
    char path[MLQ_MAX_PATH];
    if (path_of(path, sizeof path, dir, "stdout", "") == 0)
        unlink(path);
    if (path_of(path, sizeof path, dir, "stderr", "") == 0)
        unlink(path);
}

/* The folder out of the way: into the pool, else renamed to trash and
 * removed. */
static int recycle(struct mlq_spool *sp, const char *dir, const char *trash, struct mlq_err *err)
{
    if (mlq_spoolpool_put(mlq_spool_pool(sp), dir))
        return 0;
    if (rename(dir, trash) != 0) {
        if (errno == ENOENT)
            return 0;
        return mlq_err_set(err, MLQ_EIO, "%s: %s", dir, strerror(errno));
    }
    remove_flat(trash);
    return 0;
}

static int trash_of(struct mlq_spool *sp, const char *dir, char *trash, size_t len)
{
    const char *slash = strrchr(dir, '/');
    return path_of(trash, len, mlq_spool_attempts(sp), "." TRASH_PREFIX, slash ? slash + 1 : dir);
}

void mlq_spoolgc_flush(struct mlq_spool *sp)
{
    size_t n = 0;
    char **dirs = mlq_spoolpool_take_deferred(mlq_spool_pool(sp), &n);
    struct mlq_err e = {0};
    /* One sync for the batch: no folder leaves before its done record is
     * durable, or a power loss could bring back neither and let a late
     * assign run again. A failed sync leaves the folders where they are:
     * the start-up sweep recycles them. */
    bool synced = n > 0 && mlq_spooljournal_sync(mlq_spool_journal(sp), &e) == 0;
    char trash[MLQ_MAX_PATH];
    for (size_t i = 0; i < n; i++) {
        if (synced && trash_of(sp, dirs[i], trash, sizeof trash) == 0)
            recycle(sp, dirs[i], trash, NULL);
        free(dirs[i]);
    }
    free(dirs);
}

int mlq_spoolgc_remove(struct mlq_spool *sp, const char *attempt_id, struct mlq_err *err)
{
    char dir[MLQ_MAX_PATH], trash[MLQ_MAX_PATH];
    int rc = mlq_spool_attempt_dir(sp, attempt_id, dir, sizeof dir, err);
    if (rc < 0)
        return rc;
    if (path_of(trash, sizeof trash, mlq_spool_attempts(sp), "." TRASH_PREFIX, attempt_id) < 0)
        return mlq_err_set(err, MLQ_ETOOBIG, "spool path too long");
    struct mlq_spooljournal *j = mlq_spool_journal(sp);
    rc = j ? mlq_spooljournal_set(j, attempt_id, MLQ_SJ_DONE, NULL, err)
           : write_done_record(sp, attempt_id, err);
    if (rc < 0) {
        drop_logs(dir);
        return rc;
    }
    if (j && mlq_spoolpool_defer(mlq_spool_pool(sp), dir))
        return 0; /* moved by mlq_spoolgc_flush, after the journal's sync */
    if (j && (rc = mlq_spooljournal_sync(j, err)) < 0)
        return rc;
    return recycle(sp, dir, trash, err);
}

bool mlq_spoolgc_is_done(const char *dir)
{
    return mlq_spool_is_acked(dir, MLQ_PHASE_FINISHED) && mlq_spool_is_uploaded(dir);
}

bool mlq_spoolgc_was_removed(const struct mlq_spool *sp, const char *attempt_id)
{
    char rec[MLQ_MAX_PATH];
    struct stat st;
    if (mlq_spooljournal_get(mlq_spool_journal(sp), attempt_id, NULL, NULL) & MLQ_SJ_DONE)
        return true;
    if (!mlq_id_valid(attempt_id) ||
        path_of(rec, sizeof rec, mlq_spool_root(sp), DONE_DIR "/", attempt_id) < 0)
        return false;
    return lstat(rec, &st) == 0;
}

/* One entry of attempts/: 1 when an attempt folder was removed. */
static int sweep_attempt(struct mlq_spool *sp, const char *name)
{
    char dir[MLQ_MAX_PATH];
    if (strncmp(name, "." TRASH_PREFIX, strlen("." TRASH_PREFIX)) == 0) {
        if (path_of(dir, sizeof dir, mlq_spool_attempts(sp), name, "") == 0)
            remove_flat(dir);
        return 0;
    }
    if (mlq_spool_attempt_dir(sp, name, dir, sizeof dir, NULL) < 0 || !mlq_spoolgc_is_done(dir))
        return 0;
    return mlq_spoolgc_remove(sp, name, NULL) == 0 ? 1 : 0;
}

void mlq_spoolgc_prune(struct mlq_spool *sp, long keep_s)
{
    char done[MLQ_MAX_PATH];
    struct mlq_spooljournal *j = mlq_spool_journal(sp);
    if (j)
        mlq_spooljournal_compact(j, keep_s, NULL); /* best effort: retried hourly */
    if (path_of(done, sizeof done, mlq_spool_root(sp), DONE_DIR, "") < 0)
        return;
    DIR *d = opendir(done);
    if (!d)
        return;
    time_t cutoff = time(NULL) - keep_s;
    struct dirent *de;
    struct stat st;
    while ((de = readdir(d)) != NULL) {
        if (mlq_id_valid(de->d_name) &&
            fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_mtime < cutoff)
            unlinkat(dirfd(d), de->d_name, 0);
    }
    closedir(d);
}

int mlq_spoolgc_sweep(struct mlq_spool *sp, long keep_s)
{
    int removed = 0;
    DIR *d = opendir(mlq_spool_attempts(sp));
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL)
            removed += sweep_attempt(sp, de->d_name);
        closedir(d);
    }
    mlq_spoolgc_flush(sp);
    mlq_spoolgc_prune(sp, keep_s);
    return removed;
}
