/* schedules: recurring submissions (`mlq schedule add NAME --cron ...`).
 *
 * Schedules live in SQLite; memory keeps each one's parsed cron expression
 * and next fire time. A fire time missed while the scheduler was down runs
 * once at start-up if it is within the schedule's catch-up window, never
 * several times. Concurrency decides what a fire does while the previous
 * run is still active: skip (default), allow, or replace (cancel it). */
#ifndef MLQ_SCHEDULES_H
#define MLQ_SCHEDULES_H

#include "client.h"

struct mlq_schedules;

struct mlq_schedules *mlq_schedules_create(void);
void mlq_schedules_destroy(struct mlq_schedules **s);

/* Loads every schedule and catches up missed fire times (start-up). */
int mlq_schedules_load(struct mlq_ctx *c, struct mlq_err *err);
/* Fires the schedules that are due at c->now_wall. */
int mlq_schedules_tick(struct mlq_ctx *c, struct mlq_err *err);

int mlq_schedules_on_add(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                         struct mlq_err *err);
int mlq_schedules_on_cmd(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                         struct mlq_err *err);
int mlq_schedules_on_list(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                          struct mlq_err *err);

#endif
