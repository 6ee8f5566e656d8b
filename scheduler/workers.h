/* workers: the scheduler's registry of workers, by name and by connection.
 *
 * A worker record lives as long as the scheduler (workers are few); its state
 * says whether it is connected. Resource usage is the sum of the live
 * attempts placed on it, kept up to date by placement.c. */
#ifndef MLQ_WORKERS_H
#define MLQ_WORKERS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounds.h"
#include "err.h"
#include "gpushare.h"
#include "proto.h"
#include "transport.h"

enum mlq_worker_state {
    MLQ_WORKER_DOWN = 0, /* known from the database, not connected since start;
                            or stopped cleanly (it said goodbye) */
    MLQ_WORKER_UP,       /* registered, heartbeating */
    MLQ_WORKER_LOST,     /* missed its lease */
};

/* What a worker's heartbeat said about one of its GPUs (NVML); absent
 * where it has no NVML (fake GPUs in tests, nvidia-smi-only nodes). */
struct mlq_gpustat {
    bool known;                  /* reported at the last heartbeat */
    int32_t util;                /* percent busy over NVML's last sample, 0..100 */
    int64_t mem_used, mem_total; /* bytes */
    int64_t idle_since_mono;     /* allocated and at 0% since then; 0 = not idle */
};

/* What an admin set on a worker (`mlq admin worker set`; workerset.h). */
struct mlq_worker_override {
    char pool[MLQ_MAX_NAME + 1]; /* "" = the worker's own */
    bool clear_labels;           /* the worker's own labels are dropped */
    char **labels;               /* "k=v", replacing the worker's label of the same key */
    uint32_t nlabels;
    int64_t cpus_m, mem;                 /* 0 = the worker's own */
    int32_t gpus;                        /* -1 = the worker's own */
    char gpu_type[MLQ_MAX_GPU_TYPE + 1]; /* with gpus: only this type is capped */
};

struct mlq_worker {
    char name[MLQ_MAX_NAME + 1];
    enum mlq_worker_state state;
    struct mlq_peer peer; /* valid when state == UP */
    uint32_t epoch;       /* registrations since the scheduler started */
    /* The registration being handled came over the connection of the one
     * before it (same routing id: the same worker process, messages in
     * order), so an ASSIGN sent after that one may still be on its way to
     * the worker rather than gone (workerloss.c). */
    bool reg_same_conn;
    /* What placement offers: what the worker reports (rep_*) with the
     * admin's override applied (workerset.h). gpus is the worker's GPU
     * count (indices 0..gpus-1); the ones in gpu_withheld are not offered. */
    int64_t cpus_m, mem;
    int32_t gpus;
    uint64_t gpu_withheld;
    int64_t rep_cpus_m, rep_mem;
    struct mlq_worker_override *ov; /* NULL: none (owned by the registry) */
    int64_t cpus_used_m, mem_used;
    uint64_t gpu_used; /* bit i set: GPU i is held whole by an attempt */
    int32_t running;   /* live attempts placed here */
    bool draining;     /* the worker itself is draining (--drain-and-exit) */
    bool batch;        /* its connection reads "batch" messages (register) */
    bool drained;      /* an admin drained it (`mlq drain`), persisted */
    bool goodbye;      /* DOWN after a goodbye with live attempts: they stay
                          under their shims until one lease after its last
                          word (last_seen_mono), then they are lost */
    bool forgotten;    /* removed by `mlq admin worker rm`: not listed, until
                          it registers again */
    char drain_reason[256];
    /* Health (health.h): refusals in a row since its last start. */
    int32_t refusals;
    bool unhealthy;          /* not placed on until it proves healthy */
    int64_t unhealthy_until; /* monotonic ms: the cool-down's end */
    char health[256];        /* why unhealthy: the last refusal */
    int64_t last_seen_mono, last_seen_wall, first_seen_wall;
    /* Pool and labels in effect (override applied), and what the worker
     * declared in `register` (all owned by the registry). */
    char pool[MLQ_MAX_NAME + 1];
    char **labels; /* "k=v" */
    uint32_t nlabels;
    char rep_pool[MLQ_MAX_NAME + 1];
    char **rep_labels;
    uint32_t rep_nlabels;
    struct mlq_gpuinfo *gpu_list; /* NULL: untyped GPUs 0..gpus-1 */
    uint32_t ngpu_list;
    char addr[MLQ_MAX_HOST + 1]; /* where other hosts reach it; "" unknown */
    /* Its release and git description, from its last register (memory
     * only: empty when it did not say, or until it registers again). */
    char version[MLQ_MAX_VERSION + 1];
    char git[MLQ_MAX_VERSION + 1];
    /* Gang rendezvous (gang.h): the TCP ports it offers, and those booked
     * by the gangs whose node 0 runs here (in memory; rebuilt from the
     * parts' rows after a restart). */
    int32_t rdv_lo, rdv_hi;
    int32_t *rdv_used;
    uint32_t nrdv_used, cap_rdv_used;
    char limits[16]; /* "enforce/v1"... as it registered; "" unknown */
    /* Bookings of lost attempts whose processes may remain (leftover.h);
     * counted in the *_used totals, not in running. */
    struct mlq_leftovers *leftovers;
    /* GPU utilisation from heartbeats: MLQ_MAX_GPUS entries once the worker
     * reported any (NULL before; owned by the registry). */
    struct mlq_gpustat *gstat;
    /* Shares of GPUs booked by attempts that asked for a share of one GPU
     * (placement.h keeps them apart from gpu_used). */
    struct mlq_gpushare gshare;
};

struct mlq_workers;

struct mlq_workers *mlq_workers_create(void);
void mlq_workers_destroy(struct mlq_workers **ws);

/* The worker with this name, or NULL. */
struct mlq_worker *mlq_workers_get(struct mlq_workers *ws, const char *name);
/* The worker with this name, created (state DOWN, no resources) when absent;
 * NULL when the registry is full (MLQ_MAX_WORKERS). Records never move: a
 * pointer from any of these lookups stays valid until the registry is
 * destroyed, however many workers are added after it. */
struct mlq_worker *mlq_workers_add(struct mlq_workers *ws, const char *name);
/* w is connected through peer from now on (its registration): sets
 * w->peer and indexes w under it, in place of w's previous connection and
 * of any other worker that held the same routing id. O(1) on average.
 * MLQ_ENOMEM when the index cannot hold it (w->peer is set, but w is not
 * found by peer). */
int mlq_workers_connect(struct mlq_workers *ws, struct mlq_worker *w, const struct mlq_peer *peer);
/* The UP worker connected through peer, or NULL: one hash lookup. A worker
 * that is lost or gone (not UP) is not found, and neither is one that has
 * registered again over another connection since (the old routing id). */
struct mlq_worker *mlq_workers_by_peer(struct mlq_workers *ws, const struct mlq_peer *peer);
/* The worker whose latest connection is peer, whatever its state, or NULL. */
struct mlq_worker *mlq_workers_peer_owner(struct mlq_workers *ws, const struct mlq_peer *peer);
/* Replaces w's reported pool, labels and GPU descriptions with copies of
 * those given (NULL pool = "default"); the caller applies the override
 * next (mlq_workerset_apply). MLQ_ENOMEM leaves w unchanged. */
int mlq_workers_describe(struct mlq_worker *w, const char *pool, char *const *labels,
                         uint32_t nlabels, const struct mlq_gpuinfo *gpus, uint32_t ngpus,
                         struct mlq_err *err);
/* Recomputes what w offers from what it reports and its override (w->ov):
 * pool and labels (desc), CPUs, memory and the GPUs withheld (res; an
 * override above what the worker reports offers what it reports). Safe at
 * any time: running attempts keep what they hold, and a cap below what is
 * in use takes effect as they end. */
int mlq_workers_apply_desc(struct mlq_worker *w, struct mlq_err *err);
void mlq_workers_apply_res(struct mlq_worker *w);
/* Frees an override and everything in it; accepts NULL. */
void mlq_workers_override_free(struct mlq_worker_override *ov);
/* True when GPU i is offered (not withheld by an admin). */
bool mlq_worker_gpu_offered(const struct mlq_worker *w, int i);
/* True when w carries the label "k=v" exactly. */
bool mlq_worker_has_label(const struct mlq_worker *w, const char *kv);
/* Type of GPU index i ("" when the worker did not say). */
const char *mlq_worker_gpu_type(const struct mlq_worker *w, int i);
/* Memory of GPU index i in bytes (0 when the worker did not say). */
int64_t mlq_worker_gpu_mem(const struct mlq_worker *w, int i);
/* The same for every index (0 beyond the worker's GPUs). */
void mlq_worker_gpu_mems(const struct mlq_worker *w, int64_t out[MLQ_MAX_GPUS]);
/* GPU i is held whole or has a share booked. */
bool mlq_worker_gpu_busy(const struct mlq_worker *w, int i);
size_t mlq_workers_count(const struct mlq_workers *ws);
/* Position of w in the registry; stable, as workers are never removed (a
 * forgotten one is only hidden). */
size_t mlq_workers_index(const struct mlq_workers *ws, const struct mlq_worker *w);
struct mlq_worker *mlq_workers_at(struct mlq_workers *ws, size_t i);
const char *mlq_worker_state_name(enum mlq_worker_state s);

#endif
