/* dbcopy: consistent copies of the scheduler's database as whole files, for
 * `mlq admin backup` (backup.h) and `mlq-scheduler --restore` (restore.h).
 *
 * A copy is made with SQLite's online backup API from a read-only
 * connection of its own that holds one read transaction for the whole copy:
 * in WAL mode that pins one snapshot (the copy is the database as of one
 * commit) without blocking the scheduler's writes, and the copy never
 * restarts however busy the scheduler is. Pages move MLQ_DBCOPY_STEP_PAGES
 * at a time, so a stop request is seen within one step. The copy goes to a
 * private temporary file beside the destination (DEST.partial-XXXXXX, mode
 * 0600), is checked (PRAGMA integrity_check), fsynced, and only then linked
 * to DEST, which must not exist (an existing file is never replaced); the
 * directory is fsynced after. On any failure the temporary file is removed:
 * DEST either does not exist or is a whole, checked copy. */
#ifndef MLQ_DBCOPY_H
#define MLQ_DBCOPY_H

#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"

#define MLQ_DBCOPY_STEP_PAGES 256 /* pages per sqlite3_backup_step: 1 MiB at 4 KiB */
#define MLQ_DBCOPY_CHECK_MAX  255 /* bytes of integrity_check text kept */

/* What a finished copy, or a checked file, is. */
struct mlq_dbcopy_info {
    int64_t size;      /* bytes of the file */
    int64_t pages;     /* PRAGMA page_count */
    int64_t page_size; /* PRAGMA page_size */
    int32_t schema;    /* PRAGMA user_version */
    int64_t duration_ms;
    char integrity[MLQ_DBCOPY_CHECK_MAX + 1]; /* "ok", else SQLite's first findings */
};

/* Copies the database at src to the file dest, which must not exist (see above). stop, when
 * non-NULL, is polled between steps: set, the copy ends with MLQ_ESTATE and
 * nothing at dest. Errors: MLQ_EINVAL (bad dest: relative, exists, no such
 * folder), MLQ_EIO (file system: no space, permission), MLQ_EDB (SQLite,
 * including a copy that fails its integrity check). */
int mlq_dbcopy_backup(const char *src, const char *dest, atomic_bool *stop,
                      struct mlq_dbcopy_info *info, struct mlq_err *err);
/* Opens path read-only and fills info (integrity, schema, pages, size).
 * Returns 0 when the file could be examined, even when integrity is not
 * "ok"; MLQ_EDB when it is not a readable SQLite database. */
int mlq_dbcopy_check(const char *path, struct mlq_dbcopy_info *info, struct mlq_err *err);

#endif
