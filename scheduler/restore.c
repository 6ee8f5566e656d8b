/* restore: see restore.h. */
#include "restore.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bounds.h"
#include "dbcopy.h"
#include "fsutil.h"
#include "store.h"

#define PATH_CAP (MLQ_MAX_PATH + 64)

/* dst = a + b; MLQ_EINVAL when it does not fit. */
static int join(char dst[PATH_CAP], const char *a, const char *b, struct mlq_err *err)
{
    int n = snprintf(dst, PATH_CAP, "%s%s", a, b);
    return n < 0 || n >= PATH_CAP ? mlq_err_set(err, MLQ_EINVAL, "path too long: %.80s", a) : 0;
}

/* FILE is a whole mlq database this build can open. */
static int check_file(const char *file, struct mlq_dbcopy_info *info, struct mlq_err *err)
{
    int rc = mlq_dbcopy_check(file, info, err);
    if (rc < 0)
        return rc;
    if (strcmp(info->integrity, "ok") != 0)
        return mlq_err_set(err, MLQ_EDB, "%.60s fails its integrity check: %.80s", file,
                           info->integrity);
    if (info->schema < 1)
        return mlq_err_set(err, MLQ_EINVAL, "%.80s is not an mlq database (schema version %d)",
                           file, info->schema);
    if (info->schema > MLQ_STORE_SCHEMA_VERSION)
        return mlq_err_set(err, MLQ_EINVAL,
                           "%.60s has schema version %d, newer than this mlq-scheduler supports "
                           "(%d): restore it with a newer mlq",
                           file, info->schema, MLQ_STORE_SCHEMA_VERSION);
    return 0;
}

/* Takes the scheduler's lock on dir into *fd (held until closed). */
static int lock_dir(const char *dir, int *lock_fd, struct mlq_err *err)
{
    char path[PATH_CAP];
    int rc = mlq_fs_mkdirs(dir, 0700, err);
    if (rc == 0)
        rc = join(path, dir, "/scheduler.lock", err);
    if (rc < 0)
        return rc;
    int fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0600);
    if (fd < 0)
        return mlq_err_set(err, MLQ_EIO, "%.100s: %s", path, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        close(fd);
        return mlq_err_set(err, MLQ_ESTATE,
                           "a scheduler is running on %.80s: stop it before restoring", dir);
    }
    *lock_fd = fd;
    return 0;
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

/* Merges the old database's WAL into it (no scheduler runs: we hold the
 * lock), so that it can be kept as one file. False when it cannot. */
static bool checkpoint(const char *db_path)
{
    sqlite3 *db = NULL;
    bool ok = sqlite3_open_v2(db_path, &db, SQLITE_OPEN_READWRITE, NULL) == SQLITE_OK &&
              sqlite3_exec(db, "PRAGMA wal_checkpoint(TRUNCATE)", NULL, NULL, NULL) == SQLITE_OK;
    /* The last connection to close removes the WAL after a full checkpoint. */
    ok = sqlite3_close(db) == SQLITE_OK && ok;
    return ok;
}

/* Keeps DIR/mlq.db as aside (a hard link: DIR/mlq.db never disappears) and
 * moves its WAL out of the way, so that the restored file never meets it. */
static int set_aside(const char *dir, char aside[PATH_CAP], struct mlq_err *err)
{
    char db[PATH_CAP], wal[PATH_CAP], shm[PATH_CAP], aside_wal[PATH_CAP], stamp[64];
    aside[0] = '\0';
    int rc = join(db, dir, "/mlq.db", err);
    if (rc == 0)
        rc = join(wal, db, "-wal", err);
    if (rc == 0)
        rc = join(shm, db, "-shm", err);
    if (rc < 0 || !exists(db))
        return rc;
    time_t now = time(NULL);
    struct tm tm;
    strftime(stamp, sizeof stamp, ".before-restore-%Y%m%dT%H%M%SZ", gmtime_r(&now, &tm));
    if ((rc = join(aside, db, stamp, err)) < 0 || (rc = join(aside_wal, aside, "-wal", err)) < 0)
        return rc;
    if (exists(aside))
        return mlq_err_set(err, MLQ_ESTATE, "%.100s exists already; try again in a second", aside);
    if (exists(wal))
        checkpoint(db);
    if (link(db, aside) < 0)
        return mlq_err_set(err, MLQ_EIO, "keeping the old database as %.80s: %s", aside,
                           strerror(errno));
    if (exists(wal) && rename(wal, aside_wal) < 0)
        return mlq_err_set(err, MLQ_EIO, "moving %.80s aside: %s", wal, strerror(errno));
    unlink(shm); /* an index of the WAL only; rebuilt on open */
    return 0;
}

/* Copies file into dir (checked, fsynced), sets the old database aside and
 * renames the copy over it; dir is locked. */
static int install(const char *file, const char *state_dir, char *msg, size_t msg_len,
                   struct mlq_err *err)
{
    struct mlq_dbcopy_info info;
    char staged[PATH_CAP], db[PATH_CAP], aside[PATH_CAP] = "", abs[PATH_CAP], suffix[48];
    /* dbcopy wants absolute paths. */
    if (strlen(state_dir) >= PATH_MAX || !realpath(state_dir, abs))
        return mlq_err_set(err, MLQ_EIO, "%.100s: %s", state_dir, strerror(errno));
    snprintf(suffix, sizeof suffix, "/mlq.db.restore-%ld", (long)getpid());
    int rc = join(staged, abs, suffix, err);
    if (rc == 0)
        rc = join(db, abs, "/mlq.db", err);
    if (rc < 0)
        return rc;
    unlink(staged); /* left by a restore that died with this pid */
    rc = mlq_dbcopy_backup(file, staged, NULL, &info, err);
    if (rc == 0)
        rc = set_aside(abs, aside, err);
    if (rc == 0 && rename(staged, db) < 0)
        rc = mlq_err_set(err, MLQ_EIO, "installing %.80s: %s", db, strerror(errno));
    if (rc == 0)
        rc = mlq_fs_sync_path(abs, err);
    if (rc < 0) {
        unlink(staged);
        return rc;
    }
    snprintf(msg, msg_len,
             "restored %s (schema %d, %lld pages, integrity ok) as %s%s%s; start the scheduler",
             file, info.schema, (long long)info.pages, db,
             aside[0] ? "; the previous database is " : "", aside);
    return 0;
}

int mlq_restore_run(const char *file, const char *state_dir, char *msg, size_t msg_len,
                    struct mlq_err *err)
{
    struct mlq_dbcopy_info info;
    int lock_fd = -1;
    int rc = check_file(file, &info, err);
    if (rc == 0)
        rc = lock_dir(state_dir, &lock_fd, err);
    if (rc == 0)
        rc = install(file, state_dir, msg, msg_len, err);
    if (lock_fd >= 0)
        close(lock_fd);
    return rc;
}
