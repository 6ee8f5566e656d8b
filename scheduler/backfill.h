/* backfill: the reservation of the highest-priority job that cannot start,
 * and the rule that lets lower jobs start only when they cannot delay it.
 *
 * The reservation goes to the open worker where the job will fit soonest,
 * judging by when the attempts running there are expected to end (their
 * --time-limit, else the scheduler's default limit). A lower job may then
 * use that worker only if it is expected to end before the reserved start,
 * or if what remains free at that start still fits the reserved job. */
#ifndef MLQ_BACKFILL_H
#define MLQ_BACKFILL_H

#include <stdbool.h>
#include <stdint.h>

#include "ctx.h"
#include "placement.h"

struct mlq_resv {
    bool on;
    char job_id[MLQ_ID_LEN + 1];
    struct mlq_worker *w;
    int64_t at_ms;           /* expected start (wall clock) */
    struct mlq_request need; /* the reserved job's request */
    int64_t cpus_m, mem;     /* free on w at at_ms, after backfilled jobs */
    int32_t gpus;            /* free GPUs of the needed type at at_ms */
    /* A gang's reservation (gang.h): the workers in set (by registry
     * index) are held for it; w is the first of them. */
    bool gang;
    uint8_t set[MLQ_MAX_WORKERS / 8];
};

/* Expected end of job's live attempt, or of job when it would start now. */
int64_t mlq_backfill_expected_end(const struct mlq_ctx *c, const struct mlq_job *job);
/* GPUs of type (any when NULL) that mask, a running job's GPUs on w, frees
 * for whole-GPU use when the job ends (for a share: only a GPU where it is
 * the last share; a GPU an admin withheld never). */
int32_t mlq_backfill_gpus_freed(const struct mlq_worker *w, const struct mlq_job *job,
                                uint64_t mask, const char *type);
/* When (wall ms) r fits on w, by the expected ends of what runs there; -1
 * when it never does (or out of memory). */
int64_t mlq_backfill_soonest(const struct mlq_ctx *c, struct mlq_worker *w,
                             const struct mlq_request *r);
/* Finds where job fits soonest and fills *rv (rv->on false when no open
 * worker could ever run it). */
int mlq_backfill_reserve(struct mlq_ctx *c, const struct mlq_job *job, struct mlq_resv *rv);
/* Whether starting k on rv->w now leaves the reservation intact. */
bool mlq_backfill_allows(const struct mlq_ctx *c, const struct mlq_resv *rv,
                         const struct mlq_job *k);
/* Records that k started on rv->w. */
void mlq_backfill_account(const struct mlq_ctx *c, struct mlq_resv *rv, const struct mlq_job *k);

#endif
