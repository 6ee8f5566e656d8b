/* restore: `mlq-scheduler --restore FILE --state-dir DIR`, run while no
 * scheduler uses DIR (it takes DIR/scheduler.lock as a scheduler does, and
 * refuses when one holds it).
 *
 * FILE must pass PRAGMA integrity_check and carry a schema version from 1 to
 * MLQ_STORE_SCHEMA_VERSION (an older one is migrated forward when the
 * scheduler next starts; a newer one needs a newer mlq). It is copied into
 * DIR beside the database (dbcopy.h: checked and fsynced), the current
 * database is kept as DIR/mlq.db.before-restore-STAMP (its WAL merged into
 * it first, or moved beside it as STAMP-wal when that cannot be done), and
 * the copy is renamed over DIR/mlq.db: at every moment DIR/mlq.db is either
 * the old database or the restored one. */
#ifndef MLQ_RESTORE_H
#define MLQ_RESTORE_H

#include <stddef.h>

#include "err.h"

/* Restores file into state_dir; on success writes one line for the admin
 * into msg (what was installed and where the old database went). */
int mlq_restore_run(const char *file, const char *state_dir, char *msg, size_t msg_len,
                    struct mlq_err *err);

#endif
