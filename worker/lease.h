/* lease: the worker's lease as a file its shims can read.
 *
 *   SPOOL/lease_until   "UNTIL UNTIL": a CLOCK_BOOTTIME deadline (ms, 20
 *                       digits, written twice) up to which the scheduler
 *                       still counts this worker alive
 *
 * The worker renews it only from the scheduler's answers to the worker's own
 * messages (a heartbeat's ack, "registered" for a register, a database
 * error after which the scheduler rebuilt its state), dated from the
 * moment the worker SENT the answered message: the scheduler heard that
 * message after it was sent, so the deadline is never later than the moment
 * the scheduler may declare the worker lost (its last word from the worker
 * plus the lease). Every shim reads the file and ends its job once the
 * deadline has passed (shim.h), whether the worker daemon is alive or not.
 *
 * Made once by rename, then overwritten in place (the same bytes of the same
 * file, so renewing needs no free space on a full spool); a reader that
 * catches a write half done sees two copies that differ and reads again.
 * Not fsynced: CLOCK_BOOTTIME means nothing after a reboot, and a reboot
 * ends every job anyway. A missing file means no lease to keep (a shim run
 * without a worker, as unit tests do, or a spool of an older worker): the
 * worker writes it before it registers, so every shim it starts has one.
 * An unreadable or malformed file counts as expired: fencing early is safe,
 * running on is not. */
#ifndef MLQ_LEASE_H
#define MLQ_LEASE_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

#define MLQ_LEASE_FILE "lease_until"

/* Replaces SPOOL/lease_until with until_ms (CLOCK_BOOTTIME). */
int mlq_lease_write(const char *spool_root, int64_t until_ms, struct mlq_err *err);
/* 1 with *until_ms when the file holds a deadline; 0 when there is no file;
 * 1 with *until_ms = 0 (long past) when it exists but cannot be read or
 * parsed. */
int mlq_lease_read(const char *spool_root, int64_t *until_ms);
/* The same for a shim, from its attempt folder (SPOOL/attempts/ID). */
int mlq_lease_read_for_attempt(const char *attempt_dir, int64_t *until_ms);
/* The deadline has passed at now_ms (CLOCK_BOOTTIME). */
bool mlq_lease_expired(int64_t until_ms, int64_t now_ms);

#endif
