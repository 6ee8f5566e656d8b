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

#include "proto.h"
#include "workers.h"

/* What a job needs from a worker. Strings point into the job's spec. */
struct mlq_request {
    int64_t cpus_m, mem;
    int32_t gpus;
    const char *gpu_type; /* NULL: any type; else "a100" or "a100|h100" */
    const char *pool;     /* NULL: "default" */
    char *const *require; /* "k=v" labels the worker must carry */
    uint32_t nrequire;
    int32_t gpu_frac; /* a share of one GPU in hundredths (gpus is 0) */
    int64_t gpu_mem;  /* GPU memory wanted on that GPU; alone: a share */
};

/* The job's request as placement sees it. */
struct mlq_request mlq_place_request(const struct mlq_jobspec *spec);
/* The request is for a share of one GPU (gpu_frac or gpu_mem). */
bool mlq_place_is_share(const struct mlq_request *r);
/* Pool and labels match (whatever the worker's state and load). */
bool mlq_place_eligible(const struct mlq_worker *w, const struct mlq_request *r);
/* UP, neither drained by an admin nor draining itself, and healthy. */
bool mlq_place_open(const struct mlq_worker *w);
/* GPUs of the requested type (any when NULL) on w: free now / in all. With
 * alternatives ("a100|h100") the most of any one of them, as a job's GPUs
 * are all of one type. Free means neither held whole nor shared. */
int32_t mlq_place_gpus_free(const struct mlq_worker *w, const char *type);
int32_t mlq_place_gpus_total(const struct mlq_worker *w, const char *type);
/* Eligible, and the request fits the worker's free resources right now
 * (including its MLQ_MAX_WORKER_ATTEMPTS live attempts at most). */
bool mlq_place_fits_now(const struct mlq_worker *w, const struct mlq_request *r);
/* Eligible, and the request fits the worker's totals (once idle). */
bool mlq_place_fits_ever(const struct mlq_worker *w, const struct mlq_request *r);
/* Best fit among open workers that fit now, other than avoid (may be NULL):
 * fewest GPUs left over, then fewest CPUs, then least memory; ties go to the
 * first registered. NULL if none. */
struct mlq_worker *mlq_place_best(struct mlq_workers *ws, const struct mlq_request *r,
                                  const struct mlq_worker *avoid);
/* Negative when a is the better (tighter) fit for r than b, as above. */
int mlq_place_fit_compare(const struct mlq_worker *a, const struct mlq_worker *b,
                          const struct mlq_request *r);
/* mlq_place_best among the workers ok accepts. */
struct mlq_worker *mlq_place_best_where(struct mlq_workers *ws, const struct mlq_request *r,
                                        bool (*ok)(const struct mlq_worker *w, void *arg),
                                        void *arg);
/* Lowest free GPU indices of the requested type on w; writes the mask.
 * With alternatives, of the first alternative (in the job's order) that
 * has n free. MLQ_EINVAL if not enough. */
int mlq_place_pick_gpus(const struct mlq_worker *w, int32_t n, const char *type, uint64_t *mask);
/* The GPUs for r on w: pick_gpus for whole GPUs; for a share, the one GPU
 * where it fits leaving the least share free (ties: lowest index), so that
 * shares gather and whole GPUs stay whole. MLQ_EINVAL if none. */
int mlq_place_pick(const struct mlq_worker *w, const struct mlq_request *r, uint64_t *mask);
/* Share request r fits GPU i of w now (offered, of its type, not held
 * whole, enough share and memory left). */
bool mlq_place_share_fits_gpu(const struct mlq_worker *w, const struct mlq_request *r, int i);
/* Free share in hundredths of each GPU of w, by index: 0..100 for an
 * offered GPU (0 when held whole), -1 for a GPU not offered or beyond
 * w->gpus. Returns w->gpus (at most MLQ_MAX_GPUS). */
int mlq_place_gpu_free_shares(const struct mlq_worker *w, int32_t out[MLQ_MAX_GPUS]);
/* GPUs in use on w in hundredths: whole GPUs count 100, shared GPUs what
 * their shares book (at most 100 each). */
int64_t mlq_place_gpus_used_hundredths(const struct mlq_worker *w);
/* Hundredths of a GPU that r books on w with gpu_mask: 100 per whole GPU;
 * for a share, what it books of its GPU (a share asked as memory depends on
 * that GPU's). What usage and fair share charge the attempt per node. */
int32_t mlq_place_gpu_h(const struct mlq_worker *w, const struct mlq_request *r, uint64_t gpu_mask);
/* Adds / removes an attempt's resources to / from w's usage. */
void mlq_place_reserve(struct mlq_worker *w, const struct mlq_request *r, uint64_t gpu_mask);
void mlq_place_release(struct mlq_worker *w, const struct mlq_request *r, uint64_t gpu_mask);
/* Only the GPU part of reserve / release (whole GPUs or a share); the
 * bookings of lost attempts use it (leftover.h). */
void mlq_place_book_gpus(struct mlq_worker *w, const struct mlq_request *r, uint64_t gpu_mask);
void mlq_place_unbook_gpus(struct mlq_worker *w, const struct mlq_request *r, uint64_t gpu_mask);

/* "0,1,3" <-> mask. parse returns MLQ_EINVAL on junk or indices >= 64. */
void mlq_place_gpus_fmt(uint64_t mask, char *buf, size_t len);
int mlq_place_gpus_parse(const char *s, uint64_t *mask);

#endif
