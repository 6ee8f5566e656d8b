/* ckpt: WAL checkpoints on a thread of their own.
 *
 * SQLite's automatic checkpoint runs inside the COMMIT that crosses its
 * threshold: it copies the WAL into the database file and fsyncs it, and
 * the scheduler's single loop stands still meanwhile (tens of ms under
 * load, every few thousand jobs). Here the store turns that off and a
 * thread with its own connection to the same file runs PASSIVE checkpoints
 * instead, when the store nudges it after a commit that left the WAL past
 * the threshold, and every few seconds anyway. A PASSIVE checkpoint never
 * waits for the writer and never makes it wait; the writer starts the WAL
 * over once a checkpoint has caught up with it. */
#ifndef MLQ_CKPT_H
#define MLQ_CKPT_H

#include "err.h"

#define MLQ_CKPT_PAGES 8000 /* WAL frames (32 MiB) that call for a checkpoint */

struct mlq_ckpt;

/* Opens its own connection to the database at path (which must exist, in
 * WAL mode) and starts the thread. */
int mlq_ckpt_create(const char *path, struct mlq_ckpt **out, struct mlq_err *err);
/* Asks for a checkpoint soon. Cheap; callable from the writer's thread
 * (e.g. its WAL hook). */
void mlq_ckpt_nudge(struct mlq_ckpt *ck);
/* Checkpoints run so far (for tests and logs). */
unsigned long mlq_ckpt_count(struct mlq_ckpt *ck);
/* Stops the thread and closes its connection. Accepts NULL. */
void mlq_ckpt_destroy(struct mlq_ckpt **ck);

#endif
