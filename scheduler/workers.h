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
#include "transport.h"

enum mlq_worker_state {
    MLQ_WORKER_DOWN = 0, /* known from the database, not connected since start */
    MLQ_WORKER_UP,       /* registered, heartbeating */
    MLQ_WORKER_LOST,     /* missed its lease */
};

struct mlq_worker {
    char name[MLQ_MAX_NAME + 1];
    enum mlq_worker_state state;
    struct mlq_peer peer; /* valid when state == UP */
    int64_t cpus_m, mem;
    int32_t gpus;
    int64_t cpus_used_m, mem_used;
    uint64_t gpu_used; /* bit i set: GPU i is held by an attempt */
    int32_t running;   /* live attempts placed here */
    bool draining;     /* takes no new jobs */
    int64_t last_seen_mono, last_seen_wall, first_seen_wall;
};

struct mlq_workers;

struct mlq_workers *mlq_workers_create(void);
void mlq_workers_destroy(struct mlq_workers **ws);

/* The worker with this name, or NULL. */
struct mlq_worker *mlq_workers_get(struct mlq_workers *ws, const char *name);
/* The worker with this name, created (state DOWN, no resources) when absent;
 * NULL when the registry is full (MLQ_MAX_WORKERS). */
struct mlq_worker *mlq_workers_add(struct mlq_workers *ws, const char *name);
/* The UP worker connected through peer, or NULL. */
struct mlq_worker *mlq_workers_by_peer(struct mlq_workers *ws, const struct mlq_peer *peer);
size_t mlq_workers_count(const struct mlq_workers *ws);
struct mlq_worker *mlq_workers_at(struct mlq_workers *ws, size_t i);
const char *mlq_worker_state_name(enum mlq_worker_state s);

#endif
