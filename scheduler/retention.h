/* retention: deleting what the scheduler no longer needs to keep, so that
 * its database and log store stop growing with every job ever run.
 *
 * - Finished jobs, with their attempts, events and stored logs, once they
 *   ended longer ago than the jobs setting. Never a job that is still in
 *   memory (not terminal, or terminal with a process not yet confirmed
 *   gone), one with a live attempt, one a held job depends on (nor the
 *   tasks of an array one depends on), a task of an array that still has a
 *   live task, one named by a valid idempotency key (nor the tasks of an
 *   array named by one), nor the newest job (its seq is never reused).
 * - Events older than the events setting (the newest event always stays).
 * - The log store's oldest complete logs while it is over the size cap.
 *
 * Work is done in small bounded batches at the end of a loop iteration,
 * after its commit and after its messages are sent, in a transaction of its
 * own (so a batch never delays a reply or an assignment, and a failed batch
 * rolls back alone): at most MLQ_RETENTION_BATCH jobs deleted out of
 * a window of MLQ_RETENTION_WINDOW job seqs, at most
 * MLQ_RETENTION_EVENTS_BATCH events and MLQ_RETENTION_LOGS_BATCH log files,
 * once per MLQ_RETENTION_EVERY_MS, or once per MLQ_RETENTION_BEHIND_MS while
 * a batch came back full (retention is behind). Log files of deleted jobs are
 * removed only once the deletion is committed. */
#ifndef MLQ_RETENTION_H
#define MLQ_RETENTION_H

#include <stdint.h>

#include "ctx.h"

#define MLQ_RETENTION_DEFAULT_JOBS_MS    (30LL * 24 * 3600 * 1000)
#define MLQ_RETENTION_DEFAULT_EVENTS_MS  (90LL * 24 * 3600 * 1000)
#define MLQ_RETENTION_DEFAULT_LOGS_BYTES (20LL << 30)
#define MLQ_RETENTION_BATCH              128
#define MLQ_RETENTION_WINDOW             4000
#define MLQ_RETENTION_EVENTS_BATCH       1000
#define MLQ_RETENTION_LOGS_BATCH         256
#define MLQ_RETENTION_EVERY_MS           1000
#define MLQ_RETENTION_BEHIND_MS          100 /* while batches come back full */

struct mlq_retention_opts {
    int64_t jobs_ms;    /* finished jobs kept this long after their end; 0 = forever */
    int64_t events_ms;  /* events kept this long; 0 = forever */
    int64_t logs_bytes; /* the log store's cap; 0 = none */
};

struct mlq_retention;

int mlq_retention_create(const struct mlq_retention_opts *o, struct mlq_retention **out,
                         struct mlq_err *err);
/* Replaces the settings (SIGHUP reload); the cursor is kept. */
int mlq_retention_set(struct mlq_retention *r, const struct mlq_retention_opts *o,
                      struct mlq_err *err);
/* Accepts NULL; nulls *r. */
void mlq_retention_destroy(struct mlq_retention **r);

/* Runs one batch when one is due at c->now_mono, in a transaction opened
 * here; the caller commits it. MLQ_EDB on a database error: the caller
 * rolls it back (then calls mlq_retention_rolled_back). Nothing in memory
 * is touched. */
int mlq_retention_tick(struct mlq_retention *r, struct mlq_ctx *c, struct mlq_err *err);
/* The batch committed: the logs of the jobs it deleted go now. */
void mlq_retention_committed(struct mlq_retention *r, struct mlq_ctx *c);
/* The batch was rolled back: its jobs are back, so are their logs. */
void mlq_retention_rolled_back(struct mlq_retention *r);

/* Totals since start (for logs and tests). */
struct mlq_retention_stats {
    uint64_t jobs, events, log_files;
};
void mlq_retention_stats(const struct mlq_retention *r, struct mlq_retention_stats *out);

#endif
