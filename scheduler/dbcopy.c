/* dbcopy: see dbcopy.h. Runs on whatever thread calls it (the backup thread,
 * or main() for a restore) and uses only connections it opens itself. */
#include "dbcopy.h"

#include <errno.h>
#include <fcntl.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "bounds.h"
#include "clock.h"
#include "fsutil.h"
#include "protobackup.h"

#define BUSY_TIMEOUT_MS 5000
#define BUSY_RETRIES    100 /* a step refused for a lock: retried this often, 10 ms apart */
#define PARTIAL_SUFFIX  ".partial-XXXXXX"

static int db_err(sqlite3 *db, struct mlq_err *err, const char *what, const char *path)
{
    return mlq_err_set(err, MLQ_EDB, "%s %.80s: %s", what, path,
                       db ? sqlite3_errmsg(db) : "out of memory");
}

static int open_db(const char *path, int flags, sqlite3 **db, struct mlq_err *err)
{
    *db = NULL;
    if (sqlite3_open_v2(path, db, flags | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
        int rc = db_err(*db, err, "opening", path);
        sqlite3_close(*db);
        *db = NULL;
        return rc;
    }
    sqlite3_extended_result_codes(*db, 1);
    sqlite3_busy_timeout(*db, BUSY_TIMEOUT_MS);
    return 0;
}

/* The first column of the first row of sql as an integer. */
static int pragma_int(sqlite3 *db, const char *sql, int64_t *out)
{
    sqlite3_stmt *s = NULL;
    int rc = sqlite3_prepare_v2(db, sql, -1, &s, NULL);
    if (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        *out = sqlite3_column_int64(s, 0);
        rc = SQLITE_OK;
    }
    sqlite3_finalize(s);
    return rc == SQLITE_OK ? 0 : -1;
}

/* PRAGMA integrity_check: "ok", or its findings joined with "; ". */
static int integrity(sqlite3 *db, char *out, size_t cap)
{
    sqlite3_stmt *s = NULL;
    size_t used = 0;
    out[0] = '\0';
    int rc = sqlite3_prepare_v2(db, "PRAGMA integrity_check(20)", -1, &s, NULL);
    while (rc == SQLITE_OK && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *t = (const char *)sqlite3_column_text(s, 0);
        int n = snprintf(out + used, cap - used, "%s%s", used ? "; " : "", t ? t : "?");
        used = n < 0 || (size_t)n >= cap - used ? cap - 1 : used + (size_t)n;
        rc = SQLITE_OK;
    }
    sqlite3_finalize(s);
    return rc == SQLITE_DONE ? 0 : -1;
}

static int describe(sqlite3 *db, const char *path, struct mlq_dbcopy_info *info,
                    struct mlq_err *err)
{
    int64_t ver = 0;
    if (integrity(db, info->integrity, sizeof info->integrity) < 0 ||
        pragma_int(db, "PRAGMA user_version", &ver) < 0 ||
        pragma_int(db, "PRAGMA page_count", &info->pages) < 0 ||
        pragma_int(db, "PRAGMA page_size", &info->page_size) < 0)
        return db_err(db, err, "checking", path);
    info->schema = (int32_t)ver;
    return 0;
}

int mlq_dbcopy_check(const char *path, struct mlq_dbcopy_info *info, struct mlq_err *err)
{
    memset(info, 0, sizeof *info);
    struct stat st;
    if (stat(path, &st) < 0 || !S_ISREG(st.st_mode))
        return mlq_err_set(err, errno == ENOENT ? MLQ_ENOTFOUND : MLQ_EIO,
                           "%.80s: not a readable file (%s)", path,
                           errno ? strerror(errno) : "not a regular file");
    info->size = (int64_t)st.st_size;
    sqlite3 *db;
    int rc = open_db(path, SQLITE_OPEN_READONLY, &db, err);
    if (rc == 0)
        rc = describe(db, path, info, err);
    sqlite3_close(db);
    return rc;
}

/* ---- copy -------------------------------------------------------------- */

/* dest: a valid absolute path, in an existing folder, naming nothing yet. */
static int check_dest(const char *dest, struct mlq_err *err)
{
    int rc = mlq_protobackup_path_check(dest, err);
    if (rc < 0)
        return rc;
    struct stat st;
    if (lstat(dest, &st) == 0)
        return mlq_err_set(err, MLQ_EINVAL, "%.100s already exists; backups never overwrite", dest);
    char dir[MLQ_MAX_PATH + 1];
    snprintf(dir, sizeof dir, "%s", dest);
    char *slash = strrchr(dir, '/');
    slash[slash == dir ? 1 : 0] = '\0';
    if (stat(dir, &st) < 0 || !S_ISDIR(st.st_mode))
        return mlq_err_set(err, MLQ_EINVAL, "%.100s is not an existing folder", dir);
    return 0;
}

/* Copies every page in steps, inside one read transaction on src. */
static int copy_pages(sqlite3 *src, sqlite3 *dst, atomic_bool *stop, int64_t *pages,
                      struct mlq_err *err)
{
    if (sqlite3_exec(src, "BEGIN; SELECT count(*) FROM sqlite_master;", NULL, NULL, NULL) !=
        SQLITE_OK)
        return db_err(src, err, "reading", "the database");
    sqlite3_backup *b = sqlite3_backup_init(dst, "main", src, "main");
    if (!b) {
        sqlite3_exec(src, "ROLLBACK", NULL, NULL, NULL);
        return db_err(dst, err, "starting the copy to", "the backup file");
    }
    int rc = SQLITE_OK, busy = 0;
    while (rc == SQLITE_OK || rc == SQLITE_BUSY || rc == SQLITE_LOCKED) {
        if (stop && atomic_load(stop))
            break;
        rc = sqlite3_backup_step(b, MLQ_DBCOPY_STEP_PAGES);
        if ((rc & 0xff) == SQLITE_BUSY || (rc & 0xff) == SQLITE_LOCKED) {
            if (++busy > BUSY_RETRIES)
                break;
            nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
            rc = SQLITE_BUSY;
        }
    }
    *pages = sqlite3_backup_pagecount(b);
    sqlite3_backup_finish(b);
    sqlite3_exec(src, "ROLLBACK", NULL, NULL, NULL);
    if (rc == SQLITE_DONE)
        return 0;
    if (stop && atomic_load(stop))
        return mlq_err_set(err, MLQ_ESTATE, "backup stopped: the scheduler is shutting down");
    if ((rc & 0xff) == SQLITE_FULL)
        return mlq_err_set(err, MLQ_EIO, "writing the backup: no space left on the device");
    return mlq_err_set(err, MLQ_EDB, "copying the database: %s", sqlite3_errstr(rc));
}

/* Copies src into the empty file tmp and checks the result. */
static int copy_into(const char *src, const char *tmp, atomic_bool *stop,
                     struct mlq_dbcopy_info *info, struct mlq_err *err)
{
    sqlite3 *s = NULL, *d = NULL;
    int rc = open_db(src, SQLITE_OPEN_READONLY, &s, err);
    if (rc == 0)
        rc = open_db(tmp, SQLITE_OPEN_READWRITE, &d, err);
    /* No journal: a failed copy is thrown away whole; durability comes from
     * the fsync before the link. */
    if (rc == 0 && sqlite3_exec(d, "PRAGMA journal_mode = OFF; PRAGMA synchronous = OFF;", NULL,
                                NULL, NULL) != SQLITE_OK)
        rc = db_err(d, err, "preparing", tmp);
    int64_t pages = 0;
    if (rc == 0)
        rc = copy_pages(s, d, stop, &pages, err);
    sqlite3_close(s);
    /* The copy carries the source's WAL flag; a backup is one plain file
     * (the scheduler turns WAL back on when it opens a restored one). */
    if (rc == 0 && sqlite3_exec(d, "PRAGMA journal_mode = DELETE", NULL, NULL, NULL) != SQLITE_OK)
        rc = db_err(d, err, "finishing", tmp);
    if (rc == 0)
        rc = describe(d, tmp, info, err);
    if (sqlite3_close(d) != SQLITE_OK && rc == 0)
        rc = mlq_err_set(err, MLQ_EDB, "closing the backup file failed");
    if (rc == 0 && strcmp(info->integrity, "ok") != 0)
        rc = mlq_err_set(err, MLQ_EDB, "the copy failed its integrity check: %.100s",
                         info->integrity);
    return rc;
}

/* fsync tmp, link it to dest (never replacing), fsync the folder. */
static int publish(const char *tmp, const char *dest, struct mlq_dbcopy_info *info,
                   struct mlq_err *err)
{
    struct stat st;
    int rc = mlq_fs_sync_path(tmp, err);
    if (rc == 0 && stat(tmp, &st) == 0)
        info->size = (int64_t)st.st_size;
    bool linked = false;
    if (rc == 0 && !(linked = link(tmp, dest) == 0))
        rc = mlq_err_set(err, errno == EEXIST ? MLQ_EINVAL : MLQ_EIO, "creating %.100s: %s", dest,
                         errno == EEXIST ? "it appeared during the backup" : strerror(errno));
    unlink(tmp);
    char dir[MLQ_MAX_PATH + 1];
    snprintf(dir, sizeof dir, "%s", dest);
    char *slash = strrchr(dir, '/');
    slash[slash == dir ? 1 : 0] = '\0';
    if (rc == 0)
        rc = mlq_fs_sync_path(dir, err);
    if (rc < 0 && linked)
        unlink(dest); /* linked but not durable: no half-promised backup */
    return rc;
}

int mlq_dbcopy_backup(const char *src, const char *dest, atomic_bool *stop,
                      struct mlq_dbcopy_info *info, struct mlq_err *err)
{
    memset(info, 0, sizeof *info);
    int64_t t0 = mlq_clock_mono_ms();
    int rc = check_dest(dest, err);
    if (rc < 0)
        return rc;
    char tmp[MLQ_MAX_PATH + sizeof PARTIAL_SUFFIX];
    snprintf(tmp, sizeof tmp, "%s%s", dest, PARTIAL_SUFFIX);
    int fd = mkstemp(tmp);
    if (fd < 0)
        return mlq_err_set(err, MLQ_EIO, "creating a file beside %.100s: %s", dest,
                           strerror(errno));
    fchmod(fd, 0600);
    close(fd);
    rc = copy_into(src, tmp, stop, info, err);
    if (rc == 0)
        rc = publish(tmp, dest, info, err);
    unlink(tmp);
    info->duration_ms = mlq_clock_mono_ms() - t0;
    return rc;
}
