/* spoolpool: attempt folders kept for reuse, so that a steady stream of
 * jobs creates and frees no inode in the spool.
 *
 * A done attempt folder (spoolgc.h) is renamed to attempts/.pool-N and
 * cleared: its usual files (MLQ_SPOOLPOOL_KEEP: the logs, assign, status,
 * shim.pid, manifest, cgroup notes) are truncated to nothing, any other
 * file is removed. An empty record reads as absent (spoolrec.h), so a
 * cleared folder holds nothing of its previous attempt. A new attempt (or
 * a standby shim's prepared folder) takes one, writes its assign in place
 * and renames it to its final name. A folder is taken only once its
 * emptied files (logs, status, manifest) are durable (fsynced by the sync
 * thread, spoolsync.h, or at once without one), so that a power loss
 * cannot bring another job's output back into it. The shim of the previous attempt has
 * reaped every process of its job before it wrote status (it is their
 * subreaper), so nothing writes to the recycled logs any more.
 *
 * At most MLQ_SPOOLPOOL_MAX folders are kept (beyond, a done folder is
 * removed). Folders left by a crash are cleared again when the pool is
 * loaded; the scan of the spool skips them (dot-names). */
#ifndef MLQ_SPOOLPOOL_H
#define MLQ_SPOOLPOOL_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define MLQ_SPOOLPOOL_MAX    128
#define MLQ_SPOOLPOOL_PREFIX ".pool-"

struct mlq_spoolpool;

/* Loads the .pool-* folders of attempts_dir (clearing each). */
int mlq_spoolpool_open(const char *attempts_dir, struct mlq_spoolpool **out, struct mlq_err *err);
void mlq_spoolpool_close(struct mlq_spoolpool **p);

/* Takes a cleared folder: its path into buf. False when the pool is empty
 * (or p is NULL). */
bool mlq_spoolpool_take(struct mlq_spoolpool *p, char *buf, size_t len);

/* Moves the folder dir into the pool and clears it. False when the pool is
 * full or the rename failed (dir is left as it is). */
bool mlq_spoolpool_put(struct mlq_spoolpool *p, const char *dir);

/* Gives a folder taken but not used back (its files as they are are
 * cleared again). */
void mlq_spoolpool_give_back(struct mlq_spoolpool *p, const char *path);

/* Done folders waiting for their done records' sync (spoolgc.h): dir is
 * kept (copied) until mlq_spoolpool_take_deferred; false when
 * MLQ_SPOOLPOOL_MAX wait already or out of memory. */
bool mlq_spoolpool_defer(struct mlq_spoolpool *p, const char *dir);
/* The folders deferred so far, oldest first, into a malloc'd array of
 * malloc'd paths the caller frees (NULL, 0 when none). */
char **mlq_spoolpool_take_deferred(struct mlq_spoolpool *p, size_t *n);

/* Creates the usual files of an attempt folder that does not have them
 * yet (empty), so that later writes are in place. -errno on failure. */
int mlq_spoolpool_fill(const char *dir);

/* Folders in the pool (for tests). */
size_t mlq_spoolpool_count(const struct mlq_spoolpool *p);

#endif
