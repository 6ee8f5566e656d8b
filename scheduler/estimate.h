/* estimate: when a pending job (or a dry run's request) could start, for
 * `mlq why` and `mlq submit --dry-run`.
 *
 * A simulation on a copy of the bookings of the open workers that could
 * ever run the job: the running attempts end at their start plus their own
 * --time-limit (one without a limit never ends, as far as anyone can say),
 * and the ready jobs ahead of it in queue order are placed one after the
 * other, each as soon as it fits, holding what it takes until its own time
 * limit runs out. The job starts when it fits after all of them. The work is
 * bounded: at most MLQ_ESTIMATE_MAX_STEPS jobs ahead and attempt ends, past
 * which the answer is "not before" the time reached (docs/architecture.md). */
#ifndef MLQ_ESTIMATE_H
#define MLQ_ESTIMATE_H

#include <stdbool.h>
#include <stdint.h>

#include "ctx.h"
#include "why.h"

#define MLQ_ESTIMATE_MAX_STEPS 2000

struct mlq_estimate {
    bool fits_ever;                /* why found no hard constraint */
    char worker[MLQ_MAX_NAME + 1]; /* would start now there; "" otherwise */
    char gpus[96];                 /* its GPUs there ("0,1"); "" none */
    const char *kind;              /* static: "latest", "not_before", "unknown"; NULL: none */
    int64_t at_ms;                 /* wall clock; 0 with "unknown" */
    char why[320];                 /* "if running jobs use their full time limits" */
    uint32_t steps;                /* jobs ahead and attempt ends looked at */
};

/* Whether a why blocker says the job can never run on the workers there
 * are ("pool", "labels", "gpu_type", "never_fits", "admin_limit",
 * "no_workers"). */
bool mlq_estimate_never(const char *blocker);

/* Estimates when job (PENDING; a dry run's job need not be queued, its
 * qkey and spec set) starts, given its why answer. */
void mlq_estimate_job(struct mlq_ctx *c, const struct mlq_job *job, const struct mlq_why *why,
                      struct mlq_estimate *out);

#endif
