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
 *   1. SPOOL/done/<attempt_id>, an empty file (fsynced folder): the attempt
 *      is known here and finished, so a late duplicate assign of it is
 *      never run again;
 *   2. attempts/<id> renamed to attempts/.trash-<id> (one atomic step: the
 *      attempt is gone for the scan, which skips dot-names);
 *   3. the trash folder's files and the folder removed.
 * A crash after 1 leaves a done folder that the next start removes; after
 * 2, a trash folder that the next start removes. The done records are kept
 * MLQ_SPOOLGC_DONE_KEEP_S (far longer than any assign can be late) and
 * pruned at start and hourly. When the record cannot be written (full spool) only the
 * log files are removed, which frees the space; the folder and its markers
 * stay for the next start. */
#ifndef MLQ_SPOOLGC_H
#define MLQ_SPOOLGC_H

#include <stdbool.h>

#include "err.h"
#include "spool.h"

#define MLQ_SPOOLGC_DONE_KEEP_S (7 * 24 * 3600)

/* Removes the attempt's folder as above. The caller has checked that the
 * attempt is done (see mlq_spoolgc_is_done). MLQ_EINVAL for a bad id. */
int mlq_spoolgc_remove(struct mlq_spool *sp, const char *attempt_id, struct mlq_err *err);
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
