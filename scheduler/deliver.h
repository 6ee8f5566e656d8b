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
 *   an attempt they are already ending).
 * A worker that is not UP is not sent anything: it re-registers with the
 * attempts it holds, and the reconciliation decides. */
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
/* Queues a KILL of attempt_id to w (nothing when w is not UP). When job is
 * given (its live attempt is attempt_id) the KILL is resent until the
 * attempt's end is reported. */
void mlq_deliver_kill(struct mlq_ctx *c, struct mlq_job *job, const struct mlq_worker *w,
                      const char *attempt_id, const char *reason);
/* Sends what is due again and loses attempts past their ASSIGNED deadline. */
int mlq_deliver_tick(struct mlq_ctx *c, struct mlq_err *err);

#endif
