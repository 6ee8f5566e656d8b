/* workerset: what an admin sets on a worker without restarting anything
 * (`mlq admin worker set`): its pool, labels, and the CPUs, memory and GPUs
 * it offers. The override is kept in the database (worker_overrides) and
 * wins over what the worker reports, also when it registers again, until
 * `--reset`. Resources may only be reduced below what the worker reports:
 * an admin cannot offer what the node does not have. Running attempts keep
 * what they hold; a reduction below what is in use takes effect as they end
 * (nothing new is placed over the new offer). Same handler contract as
 * client.h (admins only, by the loop's handler table). */
#ifndef MLQ_WORKERSET_H
#define MLQ_WORKERSET_H

#include "client.h"

int mlq_workerset_on_set(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                         struct mlq_err *err);
/* `mlq workers --summary`: one row per pool, computed here in one pass
 * over the workers (workersum.c). Any user. */
int mlq_workerset_on_summary(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                             struct mlq_err *err);
/* Gives w the override read from the database (at start-up) and applies
 * its pool and labels; the resources are applied by the caller once the
 * worker's attempts are booked (mlq_workers_apply_res). */
int mlq_workerset_load(struct mlq_worker *w, const struct mlq_store_override *o,
                       struct mlq_err *err);

#endif
