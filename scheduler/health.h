/* health: a worker that keeps refusing assignments (full or broken spool,
 * wrong GPUs, ...) is the problem, not the jobs it refuses.
 *
 * Refusals are counted per worker; after MLQ_UNHEALTHY_REFUSALS in a row
 * the worker is unhealthy: nothing is placed on it (placement.h
 * mlq_place_open) until it proves healthy again: a started report from
 * it, an admin's `mlq resume`, or the end of a cool-down of
 * MLQ_UNHEALTHY_COOLDOWN_MS, after which it is on probation (one more
 * refusal makes it unhealthy again). A refused job is requeued without
 * counting a node failure (jobops.c). */
#ifndef MLQ_HEALTH_H
#define MLQ_HEALTH_H

#include "ctx.h"
#include "err.h"

#define MLQ_UNHEALTHY_REFUSALS    3
#define MLQ_UNHEALTHY_COOLDOWN_MS (5 * 60 * 1000)

/* w refused an assignment, saying detail (not counted while w is
 * draining). Records an event when w turns unhealthy. */
int mlq_health_refused(struct mlq_ctx *c, struct mlq_worker *w, const char *detail,
                       struct mlq_err *err);
/* w started an attempt: healthy again. */
void mlq_health_ok(struct mlq_ctx *c, struct mlq_worker *w);
/* Ends the cool-downs that are over (probation). */
void mlq_health_tick(struct mlq_ctx *c);

#endif
