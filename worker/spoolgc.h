/* spoolgc: removing attempt folders the scheduler no longer needs.
 *
 * An attempt folder holds the job's whole stdout and stderr, so it goes as
 * soon as nothing depends on it: its finished report was acknowledged
 * (acked_finished) and its logs are at the scheduler (logs_uploaded, also
 * written when there is nothing to upload: a refused attempt, a report the
 * scheduler did not accept, an upload the scheduler declined). While an attempt is live its folder
 * is what re-adoption after a restart, relayed log reads and "never run twice" rely on, so it is
 * never touched before that.
 *
 * Removal is crash-safe and leaves a record:
 *   1. the attempt's done record in the spool's journal (spooljournal.h):
 *      the attempt is known here and finished, so a late duplicate assign
 *      of it is never run again;
 *   2. once the journal is synced (one fdatasync for the folders of one
 *      batch, mlq_spoolgc_flush), the folder is moved to the pool of
 *      folders for reuse (spoolpool.h), or, the pool full, renamed to
 *      attempts/.trash-<id> (one atomic step: the attempt is gone for the
 *      scan, which skips dot-names) and its files and the folder removed.
 * A crash after 1 leaves a done folder that the next start recycles; after
 * 2, a trash folder that the next start removes. The done records are kept
 * MLQ_SPOOLGC_DONE_KEEP_S (far longer than any assign can be late) and
 * dropped by the journal's compaction at start and hourly; only the recent
 * ones stay in memory (spooldone.h). A spool without
 * a journal (not locked by this process) writes the record as the empty
 * file SPOOL/done/<attempt_id> (fsynced folder) instead, as format 1 did;
 * such files are still read and pruned. When the record cannot be written
 * (full spool) only the log files are removed, which frees the space; the
 * folder and its records stay for the next start. */
#ifndef MLQ_SPOOLGC_H
#define MLQ_SPOOLGC_H

#include <stdbool.h>

#include "err.h"
#include "spool.h"

#define MLQ_SPOOLGC_DONE_KEEP_S (7 * 24 * 3600)

/* Removes the attempt's folder as above. The caller has checked that the
 * attempt is done (see mlq_spoolgc_is_done). MLQ_EINVAL for a bad id. */
int mlq_spoolgc_remove(struct mlq_spool *sp, const char *attempt_id, struct mlq_err *err);
/* Moves the folders mlq_spoolgc_remove recorded done since the last call,
 * after one sync of the journal for them all. Called once the messages at
 * hand are handled, from the worker's tick, and before it exits. */
void mlq_spoolgc_flush(struct mlq_spool *sp);
/* True when the attempt folder dir is done: acked_finished and
 * logs_uploaded (also written when there is nothing to upload). */
bool mlq_spoolgc_is_done(const char *dir);
/* True when the attempt was removed (a done record exists). */
bool mlq_spoolgc_was_removed(const struct mlq_spool *sp, const char *attempt_id);
/* At start, before the spool is scanned: removes trash folders and done
 * attempt folders left by a crash (or by a version that kept them), and
 * done records older than keep_s seconds. Returns the number of attempt
 * folders removed. */
int mlq_spoolgc_sweep(struct mlq_spool *sp, long keep_s);
/* Removes done records older than keep_s seconds. */
void mlq_spoolgc_prune(struct mlq_spool *sp, long keep_s);

#endif
