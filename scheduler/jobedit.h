/* jobedit: changes to a job before it starts: `hold` / `release` (a user
 * hold, kept in the job's spec as held_by/held_ms: the job stays PENDING and
 * is never placed while held) and `update` (resources, priority, time limit,
 * retries of a PENDING job, checked like a submit). Each change rewrites the
 * spec blob and appends an event ("hold", "release", "update" with old ->
 * new) in the iteration's transaction.
 *
 * Only the owner or an admin (MLQ_EPERM); a job that is not PENDING is
 * MLQ_EINVAL naming its state. Every reference is checked before anything
 * changes. */
#ifndef MLQ_JOBEDIT_H
#define MLQ_JOBEDIT_H

#include "ctx.h"
#include "err.h"
#include "proto.h"
#include "transport.h"

int mlq_jobedit_on_hold(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                        struct mlq_err *err);
int mlq_jobedit_on_update(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                          struct mlq_err *err);
/* Submit: a spec that asks for a hold (any held_by) is held by the
 * submitter from now. */
int mlq_jobedit_hold_on_submit(struct mlq_ctx *c, struct mlq_jobspec *spec, struct mlq_err *err);
/* After such a submit of job id (not an array): its "hold" event. */
int mlq_jobedit_note_submit_hold(struct mlq_ctx *c, const char *id, struct mlq_err *err);
/* "held by bob at 2026-12-07 14:20:05 CET" for a held job, else false. */
bool mlq_jobedit_held_text(const struct mlq_job *job, char *buf, size_t len);

#endif
