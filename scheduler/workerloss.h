/* workerloss: finds the live attempts whose worker no longer has them, and
 * loses them (jobops_int.h: the job is requeued after the fencing delay, or
 * fails after MLQ_MAX_NODE_FAILURES).
 *
 * - Lease checks, every tick: a worker silent for longer than its lease is
 *   LOST (one that said goodbye stays DOWN) and its attempts are lost; so
 *   are attempts recovered after a restart that their worker did not
 *   confirm within one lease. Their processes may remain: their resources
 *   stay booked (leftover.h).
 * - Reconciliation, when a worker registers: it names the attempts it
 *   holds. The current ones are confirmed (and killed again when their job
 *   was cancelled meanwhile); the others are fenced (KILL, resources booked
 *   until gone); attempts placed on it that it does not name are lost. */
#ifndef MLQ_WORKERLOSS_H
#define MLQ_WORKERLOSS_H

#include <stddef.h>

#include "ctx.h"
#include "err.h"
#include "proto.h"

/* Lease checks: workers silent too long and unconfirmed attempts. */
int mlq_workerloss_check_leases(struct mlq_ctx *c, struct mlq_err *err);
/* A worker registered holding these attempts: confirm, fence or lose. */
int mlq_workerloss_reconcile(struct mlq_ctx *c, struct mlq_worker *w,
                             const struct mlq_held_attempt *held, size_t n, struct mlq_err *err);

#endif
