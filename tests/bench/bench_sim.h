/* bench_sim: many simulated workers in one thread.
 *
 * Each simulated worker is a real DEALER connected to the scheduler that
 * speaks the worker protocol (docs/protocol.md): it registers holding no
 * attempts, heartbeats at the interval the scheduler asks for, and answers
 * every `assign` with `report` started. In the default mode it then reports
 * finished at once (outcome exited, exit code 0); in hold mode the attempt
 * stays running until bsim_finish() names its worker. Log uploads are not
 * simulated (they are optional for the scheduler). Not thread-safe: one
 * thread owns a fleet. */
#ifndef BENCH_SIM_H
#define BENCH_SIM_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "keys.h"
#include "proto.h"

/* One simulated worker's resources (trace replay, tests/bench/trace.h). */
struct bsim_node {
    const char *name; /* NULL: PREFIX-NNNN */
    int64_t cpus_m, mem;
    int32_t gpus;         /* fake GPUs 0..gpus-1 */
    const char *gpu_type; /* their type; NULL: untyped */
};

struct bsim_opts {
    const char *endpoint;
    const char *prefix; /* worker names are PREFIX-0000, PREFIX-0001, ... */
    int nworkers;
    int64_t cpus_m, mem;           /* declared by every worker */
    bool hold;                     /* keep attempts running until bsim_finish() */
    int32_t rdv_lo, rdv_hi;        /* gang rendezvous ports offered in register; 0 = none */
    const struct bsim_node *nodes; /* nworkers of them; NULL: cpus_m, mem, no GPUs */
    /* Set: every assign is passed here and its attempt stays running until
     * bsim_report_finished() (hold is then ignored). */
    void (*on_assign)(void *arg, int idx, const struct mlq_msg *assign);
    void *arg;
    /* Register one worker at a time, each once the one before it got
     * `registered`: the scheduler then lists them in this order, and
     * placement, which breaks ties by that order, decides alike on every
     * run of the same trace. Otherwise all register at once, in whatever
     * order their connections come up. */
    bool in_order;
    /* With keys (both set): each worker gets a key pair of its own, which
     * bsim_create() registers as that worker's (`user_add`, role worker)
     * through admin, an admin's connected DEALER, before the worker
     * connects with CURVE to the scheduler's public key server_pub, as a
     * real worker does. NULL: plain TCP. */
    void *admin;
    const char *server_pub;
};

struct bsim_stats {
    uint64_t registered;     /* workers that got `registered` */
    uint64_t assigned;       /* `assign` messages received */
    uint64_t started_acked;  /* started reports acknowledged as accepted */
    uint64_t finished_acked; /* finished reports acknowledged as accepted */
    uint64_t fenced;         /* reports acknowledged with accepted: false */
    uint64_t errors;         /* `error` replies and undecodable messages */
    uint64_t kills;          /* `kill` messages (not expected) */
    uint64_t gang_assigned;  /* `assign`s that carried a gang map (a node part) */
    uint64_t batches;        /* `batch` messages (each counted in the above too) */
    uint64_t batches_sent;   /* `batch` messages the workers sent (reports, heartbeats) */
    int64_t last_assign_ns;  /* CLOCK_MONOTONIC when the last assign was read */
    int last_assign_worker;  /* its worker's index */
    char last_error[MLQ_ERR_MSG_MAX];
};

struct bsim;

/* Creates the sockets and sends every `register`. zctx must allow
 * nworkers + a few sockets (ZMQ_MAX_SOCKETS). */
int bsim_create(void *zctx, const struct bsim_opts *o, struct bsim **out, struct mlq_err *err);
/* Closes every socket; sets *s to NULL; accepts NULL. */
void bsim_destroy(struct bsim **s);

/* Waits up to timeout_ms for traffic, then handles every queued message and
 * sends the heartbeats that are due. Returns the number of messages handled
 * or a negative MLQ_E* code when a socket fails. */
int bsim_poll(struct bsim *s, int timeout_ms, struct mlq_err *err);

/* Hold mode: reports the oldest attempt held by worker idx finished
 * (exited 0). MLQ_ENOTFOUND when it holds none. */
int bsim_finish(struct bsim *s, int idx, struct mlq_err *err);

const struct bsim_stats *bsim_stats(const struct bsim *s);

/* Reports attempt_id, held by worker idx, finished (exited 0). */
int bsim_report_finished(struct bsim *s, int idx, const char *attempt_id, struct mlq_err *err);

#endif
