/* sched: the scheduler process's core: one ZeroMQ ROUTER, one SQLite store,
 * one event loop. See DESIGN.md "Processes" and "Durability rules".
 *
 * Each loop iteration: wait for messages (or the next timer), handle up to a
 * batch of them, run a scheduling pass if something changed, check leases,
 * commit the iteration's transaction once, then send the replies and
 * assignments the iteration queued. */
#ifndef MLQ_SCHED_H
#define MLQ_SCHED_H

#include <stdint.h>

#include "err.h"

struct mlq_sched_opts {
    const char *listen;    /* ZeroMQ endpoint to bind */
    const char *state_dir; /* holds mlq.db */
    int64_t heartbeat_ms;
    int64_t lease_ms;
    int64_t kill_grace_ms;
    int64_t age_step_ms;            /* waiting this long = one priority point */
    int64_t default_limit_ms;       /* assumed time limit for backfill */
    int64_t fairshare_half_life_ms; /* decay of recent use */
    double time_scale;              /* tests only: wall clock speed-up; 0 = real */
    int64_t time_offset_ms;         /* tests only: wall clock shift */
};

struct mlq_sched;

/* Opens the store, recovers its jobs and binds the socket. */
int mlq_sched_create(const struct mlq_sched_opts *opts, struct mlq_sched **out,
                     struct mlq_err *err);
/* Runs until stop_fd becomes readable (the signal pipe), then returns 0 after
 * finishing and committing the current iteration. */
int mlq_sched_run(struct mlq_sched *s, int stop_fd, struct mlq_err *err);
void mlq_sched_destroy(struct mlq_sched **s);

#endif
