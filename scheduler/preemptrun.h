/* preemptrun: preemption as the scheduler runs it, around the policy of
 * preempt.h.
 *
 * - At submit: a job's --preempt-grace is checked against the admin's
 *   maximum and defaults to the admin's default; what only the scheduler
 *   sets (the preemption note and count) is dropped from what a client
 *   sent.
 * - When a pending job cannot be placed, the running jobs are handed to
 *   the policy, which asks the placement code (on copies of the victims'
 *   workers, their resources freed) whether the job would fit. The
 *   decision is persisted first (the victim's spec keeps the note, with a
 *   "preempt" event, and its status reason says it), then its KILL asks
 *   the worker for a preemption (the job's --signal, its preemption grace,
 *   then SIGKILL); a gang is stopped whole. The victim stays RUNNING with
 *   its resources booked until its worker reports the end; it is then
 *   requeued (jobops.h), so that no job ever runs twice at once.
 * - While the victims drain, the worker that frees up is held for the
 *   waiting job: no other job is placed there, and no further victims are
 *   chosen for it, until it is placed or the hold runs out (the longest
 *   victim grace, plus one worker lease and the fencing margin). Holds
 *   live in memory only: after a restart the victims still drain (their
 *   note is persisted), and the waiting job competes for the room as any
 *   other. */
#ifndef MLQ_PREEMPTRUN_H
#define MLQ_PREEMPTRUN_H

#include <stdbool.h>

#include "ctx.h"
#include "err.h"
#include "proto.h"

/* The longest note saying who preempts a job and why. */
#define MLQ_PREEMPT_NOTE_MAX 256
/* Jobs a pass on a full cluster lets try to preempt. */
#define MLQ_PREEMPT_FULL_TRIES 4

/* The report ends an attempt of a job being preempted (a preemption note is
 * set) that stopped after its signal: the job is then requeued and its
 * attempt is PREEMPTED. An exit 0 before any signal, a time limit, a start
 * failure or a loss follow their own rules. */
bool mlq_preempt_ended(const struct mlq_job *job, const struct mlq_msg *rep);
/* That attempt ended (its resources are released): the job goes back to
 * the queue at its place (its submit time), at once, without using a
 * retry; its reason and a "preempted" event say who preempted it. */
int mlq_preempt_requeue(struct mlq_ctx *c, struct mlq_job *job, struct mlq_err *err);
/* Forgets job's preemption in progress, persisting its spec with a `kind`
 * event (detail: why). */
int mlq_preempt_clear(struct mlq_ctx *c, struct mlq_job *job, const char *kind, const char *detail,
                      struct mlq_err *err);

/* A worker held for a waiting job while its victims drain. */
struct mlq_preempt_hold {
    char job[MLQ_ID_LEN + 1];
    size_t widx;        /* the worker, index in the registry */
    int64_t until_mono; /* monotonic ms: the hold runs out */
    /* the victim whose grace ends last, for `mlq why` */
    char victim[MLQ_ID_LEN + 1];
    char victim_team[MLQ_MAX_NAME + 1];
    int64_t grace_end_wall; /* wall ms: its SIGKILL at the latest */
};

/* Completes the preemption fields of a job being made: drops what only the scheduler
 * sets, fills in the default grace, caps it at the maximum (a schedule's
 * spec may be older than the admin's setting). */
void mlq_preempt_spec_fill(const struct mlq_ctx *c, struct mlq_jobspec *spec);
/* Checks a submitted spec's preemption fields, then fills them in as
 * above. MLQ_EINVAL naming the maximum for a grace beyond it. */
int mlq_preempt_spec_check(struct mlq_ctx *c, struct mlq_jobspec *spec, struct mlq_err *err);
/* job (PENDING) cannot be placed: preempts what the policy chooses for
 * it, if anything. Negative when the store refused a write. */
int mlq_preempt_try(struct mlq_ctx *c, struct mlq_job *job, struct mlq_err *err);
/* Some worker is held (cheap: placement asks mlq_preempt_allows only then). */
bool mlq_preempt_any_hold(struct mlq_ctx *c);
/* job may be placed on w: w is not held for another job. */
bool mlq_preempt_allows(struct mlq_ctx *c, const struct mlq_worker *w, const struct mlq_job *job);
/* While victims drain for job: "waiting for job X (team T) to end its
 * preemption grace, at most until HH:MM:SS" into buf; false when none do. */
bool mlq_preempt_why(struct mlq_ctx *c, const struct mlq_job *job, char *buf, size_t len);
/* job (PENDING, placed nowhere now) and preemption: which rule keeps it
 * from preempting running jobs ("no preemption: it would not keep team
 * nlp within a nominal quota in pool default (nothing to reclaim), and the
 * team does not preempt within itself ...", "no preemption: of the 2 running in its
 * pool, 1 ran less than their minimum run time (the first until
 * 14:05:00), 1 have --no-preempt"), or that some may be preempted at the
 * next pass. False when there is nothing to say (out of memory). */
bool mlq_preempt_why_not(struct mlq_ctx *c, const struct mlq_job *job, char *buf, size_t len);
/* job was placed (or left the queue): its holds end. */
void mlq_preempt_release(struct mlq_ctx *c, const struct mlq_job *job);

#endif
