/* health: see health.h. */
#include "health.h"

#include <stdio.h>

#include "log.h"

int mlq_health_refused(struct mlq_ctx *c, struct mlq_worker *w, const char *detail,
                       struct mlq_err *err)
{
    /* A draining worker refuses new work by design (its heartbeat saying so
     * leaves before its first such refusal): not a sign of trouble. */
    if (w->draining)
        return 0;
    w->refusals++;
    if (w->unhealthy || w->refusals < MLQ_UNHEALTHY_REFUSALS)
        return 0;
    w->unhealthy = true;
    w->unhealthy_until = c->now_mono + MLQ_UNHEALTHY_COOLDOWN_MS;
    snprintf(w->health, sizeof w->health, "refused %d assignments in a row (last: %.200s)",
             (int)w->refusals, detail);
    mlq_warn("worker %s is unhealthy: %s", w->name, w->health);
    int rc = mlq_store_begin(c->store, err);
    if (rc == 0)
        rc = mlq_store_event_add(c->store, "worker_unhealthy", NULL, NULL, w->name, w->health, err);
    return rc;
}

void mlq_health_ok(struct mlq_ctx *c, struct mlq_worker *w)
{
    w->refusals = 0;
    if (!w->unhealthy)
        return;
    w->unhealthy = false;
    w->health[0] = '\0';
    c->dirty = true;
    mlq_info("worker %s is healthy again: it started a job", w->name);
}

void mlq_health_tick(struct mlq_ctx *c)
{
    for (size_t i = 0; i < mlq_workers_count(c->workers); i++) {
        struct mlq_worker *w = mlq_workers_at(c->workers, i);
        if (!w->unhealthy || c->now_mono < w->unhealthy_until)
            continue;
        w->unhealthy = false;
        w->refusals = MLQ_UNHEALTHY_REFUSALS - 1; /* on probation */
        c->dirty = true;
        mlq_info("worker %s: cool-down over, placing on it again (%s)", w->name, w->health);
    }
}
