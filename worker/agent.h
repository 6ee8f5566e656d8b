/* agent: the worker's event loop and its side of the protocol
 * (docs/protocol.md, "Worker <-> scheduler").
 *
 * One thread, one zmq_poll over the DEALER socket and the signal pipe, with
 * timers: register (every 2 s until "registered"), heartbeat, report re-send
 * (each unacknowledged report about once a second), job watch and log
 * uploads (every 200 ms) and self-fencing. Everything the agent learns about
 * an attempt is in the spool before it is reported, so a worker killed at
 * any point re-adopts its attempts on start (mlq_spool_scan) and every
 * outcome reaches the scheduler exactly once; after an accepted finished
 * report it uploads the attempt's logs (logupload.h).
 *
 * Self-fencing: the worker keeps a lease file in the spool (lease.h),
 * renewed only by the scheduler's answers to its own registers and
 * heartbeats and dated from when those were sent. Once its deadline has
 * passed the scheduler may have declared this worker lost and requeued its
 * jobs, so every running attempt is ended (SIGTERM to its whole tree,
 * SIGKILL after its grace) and recorded as lost; each shim does the same on
 * its own from the same file, so this holds while the daemon is down. A
 * restarted worker reads the deadline back: a restart does not renew it.
 *
 * Draining (SIGUSR2): heartbeats say draining, new assignments are refused,
 * and the loop ends once no attempt is held any more (all finished,
 * reported, acknowledged and uploaded). An assignment the spool cannot hold
 * (disk full, read-only) is refused too, and the worker carries on.
 *
 * Handshakes are watched (transport.h): when the scheduler refuses this
 * worker's key, or the security settings differ, the agent logs it once
 * ("not authorized ..."), drops the connection (libzmq would otherwise retry
 * every 100 ms) and tries a fresh one every few seconds, since an admin may
 * add the key at any time; it keeps logging at most once a minute while the
 * refusal lasts. */
#ifndef MLQ_AGENT_H
#define MLQ_AGENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "proto.h"
#include "spool.h"
#include "transport.h"

struct mlq_gpuload_probe;

struct mlq_agent_config {
    const char *endpoint;  /* scheduler, e.g. tcp://127.0.0.1:7710 */
    const char *name;      /* worker name, <= MLQ_MAX_NAME */
    const char *shim_path; /* mlq-shim executable */
    int64_t cpus_m;        /* declared totals */
    int64_t mem;
    int32_t gpus; /* GPU indices 0..gpus-1 */
    /* Sent in "register" (borrowed like the strings above). */
    const struct mlq_gpuinfo *gpu_list; /* gpus entries, [i].index == i; NULL: none sent */
    struct mlq_gpuload_probe *gpuload;  /* GPU load for heartbeats (borrowed); NULL: none */
    const char *pool;                   /* NULL: "default" */
    const char *const *labels;          /* "k=v", nlabels <= MLQ_MAX_LABELS */
    uint32_t nlabels;
    int64_t heartbeat_ms;
    int64_t log_cap;      /* bytes of each stream uploaded (the tail); 0: 16 MiB */
    int32_t max_attempts; /* attempts run at once; 0: MLQ_MAX_WORKER_ATTEMPTS */
    /* Read end of a non-blocking pipe carrying one byte per caught signal
     * (the signal number): SIGTERM/SIGINT stop the loop, SIGUSR2 starts
     * draining, SIGCHLD reaps. -1 when there is none. */
    int signal_fd;
    void *zctx; /* ZeroMQ context to use; NULL: the agent makes its own */
    /* Keys for CURVE (copied at create); NULL: plain TCP (--insecure). */
    const struct mlq_curve *curve;
    const char *addr; /* advertised in "register" (hostaddr.h); NULL: none */
    /* Gang rendezvous ports offered in "register" (rdv_ports); 0 0: none
     * sent (the scheduler then uses its default range). */
    int32_t rdv_lo, rdv_hi;
};

struct mlq_agent;

/* Loads the attempts held in spool (which must stay open and locked while
 * the agent lives) and connects to the scheduler. The strings in cfg are
 * borrowed and must outlive the agent. Caller owns *out. */
int mlq_agent_create(const struct mlq_agent_config *cfg, struct mlq_spool *spool,
                     struct mlq_agent **out, struct mlq_err *err);
/* Closes the connection; running jobs keep running under their shims.
 * Accepts NULL; nulls *a. */
void mlq_agent_destroy(struct mlq_agent **a);

/* One loop iteration: waits at most max_wait_ms for a message, a signal or
 * the next timer, then handles what is due. */
int mlq_agent_step(struct mlq_agent *a, int max_wait_ms, struct mlq_err *err);
/* Steps until SIGTERM or SIGINT arrives on the signal pipe, or until a
 * drain is complete; then, when registered, says goodbye to the scheduler
 * (waiting at most a second for its answer). */
int mlq_agent_run(struct mlq_agent *a, struct mlq_err *err);

/* For tests and logs. */
bool mlq_agent_registered(const struct mlq_agent *a);
bool mlq_agent_stopped(const struct mlq_agent *a);
bool mlq_agent_draining(const struct mlq_agent *a);
/* The last handshake failed (refused key, security mismatch); cleared once
 * the scheduler answers a registration. */
bool mlq_agent_refused(const struct mlq_agent *a);
/* The loop stopped because a drain completed (exit 0, nothing left). */
bool mlq_agent_drained(const struct mlq_agent *a);
/* Attempts held (running, finished and not yet acknowledged, or uploading
 * their logs). */
size_t mlq_agent_held(const struct mlq_agent *a);

#endif
