/* preempt: which running jobs to preempt so that a pending job that cannot
 * be placed can start (docs/architecture.md, "Preemption").
 *
 * Two reasons allow it:
 * - reclaim: the waiting job stays within its team's nominal quota in its
 *   pool, and the victims belong to other teams that borrow in that pool
 *   (over their nominal quota); a team gives up jobs only while it is still
 *   over nominal once the victims chosen so far are taken off its use;
 * - priority: the waiting job's team enables preemption within the team
 *   (`mlq admin team set TEAM --preempt-within on`), and the victims are
 *   running jobs of that same team with a lower priority.
 * Victims go lowest priority first, then most recently started first; on
 * each worker the choice stops as soon as the waiting job would fit there,
 * and the worker whose victims have the lowest top priority (then the
 * fewest victims) is taken, so that nothing is preempted on a worker the
 * job does not get. Nothing is chosen when the job would not fit even
 * with every eligible victim gone. A job that
 * ran less than its minimum run time is never a victim, nor one that asked
 * for --no-preempt while its team is within its nominal quota. A gang is a
 * victim as a whole.
 *
 * This module only chooses (pure, testable with fake quota functions and a
 * fake fit test); preemptrun.c gathers the candidates, asks the placement
 * code whether the waiting job fits, and carries the decision out. */
#ifndef MLQ_PREEMPT_H
#define MLQ_PREEMPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "quota.h"

struct mlq_ctx;
struct mlq_job;

/* The quota functions the policy calls (quota.h's contract), through a
 * table so that tests can give fakes. */
struct mlq_preempt_quota {
    bool (*over_nominal)(struct mlq_ctx *c, const char *team, const char *pool,
                         const struct mlq_quota_amount *minus);
    bool (*job_within_nominal)(struct mlq_ctx *c, const struct mlq_job *job);
    void (*job_amount)(const struct mlq_job *job, struct mlq_quota_amount *out);
};

/* quota.h's functions. */
extern const struct mlq_preempt_quota mlq_preempt_quota_real;

enum mlq_preempt_why {
    MLQ_PREEMPT_RECLAIM = 1, /* to reclaim borrowed quota */
    MLQ_PREEMPT_PRIORITY,    /* for a higher-priority job of the same team */
};

/* One chosen victim. */
struct mlq_preempt_victim {
    struct mlq_job *job;
    enum mlq_preempt_why why;
};

/* Whether the waiting job would fit once the resources of v[0..n-1] are
 * free (the placement code's answer, on the victims' workers). */
typedef bool (*mlq_preempt_fit_fn)(void *arg, const struct mlq_preempt_victim *v, size_t n);

struct mlq_preempt_in {
    struct mlq_ctx *c; /* handed to the quota functions */
    const struct mlq_preempt_quota *q;
    const struct mlq_job *waiting;
    bool within_team;               /* the waiting job's team enables preemption within it */
    int64_t now_ms;                 /* wall clock */
    int64_t min_runtime_ms;         /* the admin's default minimum run time */
    struct mlq_job *const *running; /* the jobs that run now (any pool) */
    size_t nrunning;
    mlq_preempt_fit_fn fits;
    void *fit_arg;
};

/* Chooses the victims for in->waiting into out (room for in->nrunning).
 * Returns how many; 0 when nothing may or need be preempted. */
size_t mlq_preempt_choose(const struct mlq_preempt_in *in, struct mlq_preempt_victim *out);

/* Where the running jobs of the waiting job's pool stand, for `mlq why`:
 * each counted under the first rule that keeps it from being a victim
 * (in the order of the fields), or as eligible. */
struct mlq_preempt_census {
    size_t in_pool;         /* running in its pool (not being preempted) */
    size_t young;           /* ran less than their minimum run time */
    int64_t young_until_ms; /* wall ms: the first of those may be preempted */
    size_t protected_jobs;  /* --no-preempt, their team within its nominal quota */
    size_t not_borrowing;   /* of other teams within their nominal quota */
    size_t other_team;      /* of other teams, while the job cannot reclaim */
    size_t team_off;        /* of its team, which does not preempt within itself */
    size_t not_lower;       /* of its team, priority not below its own */
    size_t eligible;        /* may be preempted for it */
    bool reclaims;          /* it keeps its team within its nominal quota */
    bool fits_all;          /* it fits with every eligible one gone */
};

/* Fills out for in->waiting (in->fits is called once, with every eligible
 * job, when there are any). */
void mlq_preempt_census(const struct mlq_preempt_in *in, struct mlq_preempt_census *out);

/* The text a victim's status, events and `mlq show` carry: "preempted by
 * job 0123abcd of team nlp to reclaim borrowed quota", "preempted by
 * higher-priority job 0123abcd". */
void mlq_preempt_note(const struct mlq_job *waiting, enum mlq_preempt_why why, char *buf,
                      size_t len);

#endif
