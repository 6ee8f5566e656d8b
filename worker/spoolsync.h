/* spoolsync: the worker's background fsyncs of its spool records whose
 * loss at a power cut only costs a message sent again (the acknowledged
 * markers, the log upload's progress, logs_uploaded): re-sent reports are
 * idempotent by attempt id, and an upload starts again from its last
 * durable state. They are written atomically (rename) by the worker's loop
 * and made durable by one thread, a batch at a time (an fsync of each
 * file, then one of each folder), so the loop never waits for the disk on
 * their account. Every record queued is synced: stopping waits for the
 * queue to empty. */
#ifndef MLQ_SPOOLSYNC_H
#define MLQ_SPOOLSYNC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct mlq_spoolsync;

int mlq_spoolsync_start(struct mlq_spoolsync **out, struct mlq_err *err);
/* Queues path, a file just renamed into place, for an fsync of itself and
 * its folder; when out of memory, syncs it at once instead. */
void mlq_spoolsync_queue(struct mlq_spoolsync *s, const char *path);
/* Waits until everything queued so far is durable. */
void mlq_spoolsync_wait(struct mlq_spoolsync *s);
/* Syncs what is queued, then stops the thread. Accepts NULL. */
void mlq_spoolsync_stop(struct mlq_spoolsync **s);
/* A ticket for everything queued so far, and whether all of it is
 * durable now. */
uint64_t mlq_spoolsync_ticket(struct mlq_spoolsync *s);
bool mlq_spoolsync_done(struct mlq_spoolsync *s, uint64_t ticket);
/* Files synced so far (for tests and the log). */
size_t mlq_spoolsync_count(struct mlq_spoolsync *s);

#endif
