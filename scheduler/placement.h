/* placement: does a job fit a worker, which worker is best, which GPUs.
 *
 * Pure functions over worker records; the scheduler calls reserve/release
 * exactly once per attempt so that a worker's usage is always the sum of its
 * live attempts. */
#ifndef MLQ_PLACEMENT_H
#define MLQ_PLACEMENT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "workers.h"

struct mlq_request {
    int64_t cpus_m, mem;
    int32_t gpus;
};

/* The request fits the worker's free resources right now. */
bool mlq_place_fits_now(const struct mlq_worker *w, const struct mlq_request *r);
/* The request fits the worker's totals (it could run there once idle). */
bool mlq_place_fits_ever(const struct mlq_worker *w, const struct mlq_request *r);
/* Best fit among UP workers that fit now: fewest GPUs left over, then fewest
 * CPUs, then least memory; ties go to the first registered. NULL if none. */
struct mlq_worker *mlq_place_best(struct mlq_workers *ws, const struct mlq_request *r);
/* Lowest free GPU indices on w; writes the mask. MLQ_EINVAL if not enough. */
int mlq_place_pick_gpus(const struct mlq_worker *w, int32_t n, uint64_t *mask);
/* Adds / removes an attempt's resources to / from w's usage. */
void mlq_place_reserve(struct mlq_worker *w, const struct mlq_request *r, uint64_t gpu_mask);
void mlq_place_release(struct mlq_worker *w, const struct mlq_request *r, uint64_t gpu_mask);
/* Why a pending request has not started, as one line for `mlq status`. */
void mlq_place_explain(struct mlq_workers *ws, const struct mlq_request *r, char *buf, size_t len);

/* "0,1,3" <-> mask. parse returns MLQ_EINVAL on junk or indices >= 64. */
void mlq_place_gpus_fmt(uint64_t mask, char *buf, size_t len);
int mlq_place_gpus_parse(const char *s, uint64_t *mask);

#endif
