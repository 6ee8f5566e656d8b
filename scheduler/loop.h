/* loop: the scheduler process's core: one ZeroMQ ROUTER, one SQLite store,
 * one event loop. See DESIGN.md "Processes" and "Durability rules".
 *
 * Each loop iteration: wait for messages (or the next timer), handle up to a
 * batch of them, run a scheduling pass if something changed, check leases,
 * commit the iteration's transaction once, then send the replies and
 * assignments the iteration queued. */
#ifndef MLQ_LOOP_H
#define MLQ_LOOP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

struct mlq_loop_opts {
    const char *listen;    /* ZeroMQ endpoint to bind */
    const char *state_dir; /* holds mlq.db */
    int64_t heartbeat_ms;
    int64_t lease_ms;
    int64_t kill_grace_ms;
    /* Preemption (preempt.h): a job's grace when it names none, the most it
     * may name, and the run time before which no job is preempted. */
    int64_t preempt_grace_default_ms, preempt_grace_max_ms, preempt_min_runtime_ms;
    int64_t age_step_ms;            /* waiting this long = one priority point */
    int64_t default_limit_ms;       /* assumed time limit for backfill */
    int64_t fairshare_half_life_ms; /* decay of recent use */
    bool insecure;                  /* plain TCP (loopback only), no identities */
    const char *key_path;           /* the scheduler's CURVE secret key file */
    const char *const *authorize;   /* "ROLE:NAME:FILE.pub" registered at start */
    size_t nauthorize;
    bool allow_root;        /* jobs may run as root on workers */
    int placement;          /* enum mlq_place_policy (placepolicy.h) */
    double time_scale;      /* tests only: wall clock speed-up; 0 = real */
    int64_t time_offset_ms; /* tests only: wall clock shift */
    /* Retention (retention.h): 0 keeps forever / sets no cap. */
    int64_t retain_jobs_ms;
    int64_t retain_events_ms;
    int64_t retain_logs_bytes;
};

struct mlq_loop;

/* Opens the store, recovers its jobs and binds the socket. */
int mlq_loop_create(const struct mlq_loop_opts *opts, struct mlq_loop **out, struct mlq_err *err);
/* Runs until stop_fd (the signal pipe, one byte per signal number) brings a
 * signal other than SIGHUP, then returns 0 after finishing and committing
 * the current iteration. A SIGHUP calls the reload hook. */
int mlq_loop_run(struct mlq_loop *s, int stop_fd, struct mlq_err *err);
void mlq_loop_destroy(struct mlq_loop **s);

/* Called on the loop's thread, inside an iteration, for each SIGHUP. */
typedef void (*mlq_loop_reload_fn)(struct mlq_loop *s, void *arg);
void mlq_loop_on_reload(struct mlq_loop *s, mlq_loop_reload_fn fn, void *arg);
/* From a reload: registers "ROLE:NAME:FILE.pub" as --authorize does at
 * start (committed with the iteration). */
int mlq_loop_authorize(struct mlq_loop *s, const char *spec, struct mlq_err *err);
/* From a reload: the retention settings (retention.h; 0 = keep / no cap). */
int mlq_loop_set_retention(struct mlq_loop *s, int64_t jobs_ms, int64_t events_ms,
                           int64_t logs_bytes, struct mlq_err *err);

/* From a reload: the placement policy (enum mlq_place_policy). */
void mlq_loop_set_placement(struct mlq_loop *s, int policy);

/* In-process endpoint where the loop takes requests from its HTTP threads
 * (http.h): frames ["" delimiter][SHA-256 hex of the bearer token][body];
 * the reply is ["" delimiter][body], as on the ROUTER. */
#define MLQ_LOOP_API_ENDPOINT "inproc://mlq-api"
/* The loop's ZeroMQ context, for connecting to MLQ_LOOP_API_ENDPOINT. */
void *mlq_loop_zctx(struct mlq_loop *s);

#endif
