/* jobops_int: the few jobops.c helpers that jobend.c (the part of jobops
 * that ends attempts) and the scheduler's other modules which change jobs
 * (recover.c, workerloss.c, jobedit.c) build on. For those modules
 * only; nobody else includes it. Each function keeps jobops.c's invariants
 * (see there) and persists what it changes, as the public ones do. */
#ifndef MLQ_JOBOPS_INT_H
#define MLQ_JOBOPS_INT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "ctx.h"
#include "err.h"
#include "fsm.h"
#include "jobtab.h"

/* How an attempt was lost (mlq_jobops_lose_attempt's flags). */
enum mlq_lose_how {
    MLQ_LOSE_NODE_FAULT = 1, /* counts as one of the job's node failures (a refusal
                              * does not: the job never ran) */
    MLQ_LOSE_LINGER = 2,     /* its processes may remain (not reported gone by the
                              * worker): its booking stays, see leftover.h */
};

/* The live attempt is gone with its worker: requeue the job or fail it
 * (how: enum mlq_lose_how). May free the job. */
int mlq_jobops_lose_attempt(struct mlq_ctx *c, struct mlq_job *job, const char *why, unsigned how,
                            struct mlq_err *err);
/* Moves job through the state machine (fsm.c) and persists the new row. */
int mlq_jobops_transition(struct mlq_ctx *c, struct mlq_job *job, enum mlq_fsm_event ev,
                          const char *reason, enum mlq_fsm_action *act, struct mlq_err *err);
/* Into the pending queue, behind older jobs. */
int mlq_jobops_enqueue(struct mlq_ctx *c, struct mlq_job *job, struct mlq_err *err);
/* Sends (and resends) a KILL of attempt_id on w; job: the job whose live
 * attempt it is, NULL for an attempt no longer current. */
void mlq_jobops_push_kill(struct mlq_ctx *c, struct mlq_job *job, const struct mlq_worker *w,
                          const char *attempt_id, const char *reason);

/* Writes job's row now (inserted when fresh, else updated) with its
 * "state" event when from, the state it was last saved in, differs. */
int mlq_jobops_persist(struct mlq_ctx *c, struct mlq_job *job, enum mlq_job_state from,
                       struct mlq_err *err);
/* Saves attempt a of job (prev: its state as last saved, -1 new). job_moves:
 * the job's own transition is saved next and its event names the attempt,
 * so the attempt's step gets no event of its own. */
int mlq_jobops_save_attempt(struct mlq_ctx *c, struct mlq_job *job,
                            const struct mlq_store_attempt *a, int prev, bool job_moves,
                            struct mlq_err *err);
/* Takes the live attempt off its worker and out of the table; with linger
 * its resources stay booked until the worker says its processes are gone. */
void mlq_jobops_release_attempt(struct mlq_ctx *c, struct mlq_job *job, bool linger);
/* Drops a job from memory once nothing about it can change any more. */
void mlq_jobops_forget_if_done(struct mlq_ctx *c, struct mlq_job *job);

/* Collects the jobs matching pred first: losing an attempt may free a job,
 * which must not happen while walking the table. */
struct mlq_job_pick {
    struct mlq_job **v;
    size_t n, cap;
    /* for workerloss.c's pick: */
    const char *worker; /* NULL: unconfirmed past deadline */
    int64_t now;
    size_t unconfirmed; /* live attempts still waiting for their worker */
};

/* Fills p->v with the jobs visit picks (visit gets p; the caller frees
 * p->v). Returns MLQ_ENOMEM when out of memory. */
int mlq_jobops_collect(struct mlq_ctx *c, struct mlq_job_pick *p, mlq_jobtab_fn visit);

#endif
