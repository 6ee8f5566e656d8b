/* jobops: every change of a job's state, each one persisted through the
 * store before anything is sent (the outbox holds messages until commit).
 *
 * The functions move jobs through the table in fsm.c, keep worker resource
 * usage equal to the sum of live attempts, and keep the pending queue and the
 * job table in step. A negative return means the store refused a write; the
 * loop then rolls back the iteration and reloads state from the database.
 *
 * Two concerns live in modules of their own, built on jobops_int.h:
 * rebuilding memory from the store (recover.h) and losing the attempts of
 * workers that are gone or no longer hold them (workerloss.h). */
#ifndef MLQ_JOBOPS_H
#define MLQ_JOBOPS_H

#include <stddef.h>

#include "ctx.h"
#include "err.h"
#include "proto.h"

/* A job is requeued after losing its worker at most this many times. */
#define MLQ_MAX_NODE_FAILURES 3
/* Retry backoff: the first delay when a job names none, and the cap of the
 * doubling. */
#define MLQ_DEFAULT_BACKOFF_MS (30 * 1000)
#define MLQ_MAX_BACKOFF_MS     (3600 * 1000)
/* Fencing budget (docs/architecture.md, "Recovery and fencing"): how late
 * after its worker's lease deadline a shim may notice it, and the margin on
 * top of the kill grace before a lost job may start again. */
#define MLQ_FENCE_CHECK_MS  250
#define MLQ_FENCE_MARGIN_MS 1000

/* Writes the job and attempt rows this iteration left for later (see
 * jobops.c, "rows written late"). Before any read of jobs from the store
 * and before the commit. */
int mlq_jobops_flush(struct mlq_ctx *c, struct mlq_err *err);
/* Forgets those rows (memory is being rebuilt after a rollback). */
void mlq_jobops_forget_late(struct mlq_ctx *c);
/* Stores row as a new PENDING job (times and defaults filled here, and a
 * new id unless row->id is set: a batch hands out its own, see
 * submitmany.c) and adds it to the table, taking row's strings; not yet
 * queued. */
int mlq_jobops_add(struct mlq_ctx *c, struct mlq_store_job *row, struct mlq_job **out,
                   struct mlq_err *err);
/* Queues a new PENDING job, or holds it on its dependencies, or cancels it
 * when one can never be met. */
int mlq_jobops_admit(struct mlq_ctx *c, struct mlq_job *job, struct mlq_err *err);
/* Looks again at the jobs waiting on whatever ended since the last call. */
int mlq_jobops_settle(struct mlq_ctx *c, struct mlq_err *err);
/* Stores a new PENDING job; on success the spec's contents are moved into the
 * job (spec is zeroed) and id holds the new job id. */
int mlq_jobops_submit(struct mlq_ctx *c, struct mlq_jobspec *spec, char id[MLQ_ID_LEN + 1],
                      struct mlq_err *err);
/* Places queued jobs on workers that fit, in submit order. */
int mlq_jobops_schedule(struct mlq_ctx *c, struct mlq_err *err);
/* The worker confirmed the live attempt is running. */
int mlq_jobops_started(struct mlq_ctx *c, struct mlq_job *job, struct mlq_err *err);
/* The live attempt ended as the report says; may free the job. */
int mlq_jobops_finished(struct mlq_ctx *c, struct mlq_job *job, const struct mlq_msg *report,
                        struct mlq_err *err);
/* Cancels job with the given reason ("cancelled by user"). May free it. */
/* A finished report about an attempt that is not current (from worker w):
 * when it is the real outcome of a LOST attempt whose job has not started
 * again, it becomes the job's outcome (*taken true). Otherwise nothing
 * changes. */
int mlq_jobops_late_outcome(struct mlq_ctx *c, const struct mlq_worker *w,
                            const struct mlq_msg *rep, bool *taken, struct mlq_err *err);
/* Makes rep the outcome of job's LOST attempt a, the job still waiting to
 * run again (the rule above; gang.h applies it to a gang's lost part). */
int mlq_jobops_take_late(struct mlq_ctx *c, struct mlq_job *job, const struct mlq_store_attempt *a,
                         const struct mlq_msg *rep, struct mlq_err *err);
int mlq_jobops_cancel(struct mlq_ctx *c, struct mlq_job *job, const char *reason,
                      struct mlq_err *err);
/* The live attempt is lost (not acknowledged in time, gone with its
 * worker): the job is requeued after the lost-run delay, or fails after
 * MLQ_MAX_NODE_FAILURES. May free the job. */
int mlq_jobops_lose(struct mlq_ctx *c, struct mlq_job *job, const char *why, struct mlq_err *err);
/* The fair-share part of a job's queue key (ms), for queue.h. */
/* How long after its attempt was declared lost a job may start again: the
 * latest moment the old run can still exist. */
int64_t mlq_jobops_fence_delay(int64_t kill_grace_ms);
int64_t mlq_jobops_bias(const struct mlq_job *job, void *ctx);
/* Why a PENDING job waits, for `mlq status`. */
void mlq_jobops_pending_reason(struct mlq_ctx *c, const struct mlq_job *job, char *buf, size_t len);

#endif
