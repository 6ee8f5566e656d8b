/* why: what keeps a PENDING job from starting, for `mlq why` and the
 * reason `mlq status` shows. The first constraint that holds is reported,
 * hard ones first (pool, labels, GPU type, size, drained workers), then the
 * team's quota, then the reservation, then priority and free resources, with the closest candidate
 * worker and what it lacks. */
#ifndef MLQ_WHY_H
#define MLQ_WHY_H

#include <stdbool.h>
#include <stddef.h>

#include "ctx.h"

struct mlq_why {
    const char *blocker; /* static: "none", "retry_wait", "pool", ... */
    char text[320];
    char closest[MLQ_MAX_NAME + 1]; /* "" when none */
    char lacks[160];                /* "" when none */
    size_t ahead;                   /* only when asked for: walks the queue */
};

void mlq_why_explain(struct mlq_ctx *c, const struct mlq_job *job, bool count_ahead,
                     struct mlq_why *out);

#endif
