/* deliver: the ASSIGN and KILL messages of live attempts reach their worker
 * (DESIGN.md rule 8), and no attempt waits in ASSIGNED forever.
 *
 * - An ASSIGN is sent at dispatch and again while the worker is UP and has
 *   not acknowledged it (a started, finished or refused report, or a
 *   register naming the attempt): first after one heartbeat interval, then
 *   doubling up to MLQ_RESEND_CAP_MS. An attempt still unacknowledged one
 *   lease after its dispatch is lost and its job requeued (the lose path of
 *   jobops.c).
 * - A KILL of a cancelled job's live attempt is sent again on the same
 *   schedule until the attempt's end is reported (workers ignore a KILL of
 *   an attempt they are already ending). So is the KILL of an attempt a
 *   worker holds that is no longer current (fencing), until the worker
 *   reports its end or registers again (the reconciliation then sends a
 *   new KILL for what it still holds).
 * A worker that is not UP is not sent anything: it re-registers with the
 * attempts it holds, and the reconciliation decides. A register that
 * comes over the same connection as the worker's previous one may have
 * crossed an ASSIGN sent after that one: such an attempt is not lost by
 * it but left to its resend and deadline (workerloss.c). */
#ifndef MLQ_DELIVER_H
#define MLQ_DELIVER_H

#include "ctx.h"
#include "err.h"

/* The longest wait between two sends of the same message. */
#define MLQ_RESEND_CAP_MS (30 * 1000)

/* Queues the ASSIGN of job's live attempt to w and arms its resend and its
 * deadline. */
int mlq_deliver_assign(struct mlq_ctx *c, struct mlq_job *job, const struct mlq_worker *w,
                       struct mlq_err *err);
/* Queues a KILL of attempt_id to w (nothing when w is not UP), resent
 * until the attempt's end is reported: job is the job whose live attempt
 * it is, or NULL for an attempt that is no longer current (fencing), whose
 * KILL is resent while w stays on the connection it named it from. */
void mlq_deliver_kill(struct mlq_ctx *c, struct mlq_job *job, const struct mlq_worker *w,
                      const char *attempt_id, const char *reason);
/* Arms the resend and the deadline of a gang part's ASSIGN (gang.h). */
void mlq_deliver_arm_part(struct mlq_ctx *c, const char *part_id);
/* A worker reported the end of attempt_id, which is not current: its KILL
 * is not resent any more. */
void mlq_deliver_fence_ended(struct mlq_ctx *c, const char *attempt_id);
/* Sends what is due again and loses attempts past their ASSIGNED deadline. */
int mlq_deliver_tick(struct mlq_ctx *c, struct mlq_err *err);

#endif
