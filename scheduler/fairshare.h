/* fairshare: each user's recent resource use, turned into a priority
 * penalty so that one user's big array does not lock out a colleague.
 *
 * Use is counted in weighted core-seconds: a CPU-second counts 1, a
 * GPU-second MLQ_FS_GPU_WEIGHT. GPUs are given in hundredths (gpu_h: 100 a
 * whole GPU), so a share of one GPU is charged its fraction. Finished use
 * decays exponentially with the configured half-life; running attempts
 * count for the time they have run so far. The penalty is
 * MLQ_FS_POINTS_PER_HOUR priority points per weighted core-hour, so it
 * compares directly with --priority and ageing. */
#ifndef MLQ_FAIRSHARE_H
#define MLQ_FAIRSHARE_H

#include <stdint.h>

#include "bounds.h"
#include "err.h"

#define MLQ_FS_GPU_WEIGHT      10
#define MLQ_FS_POINTS_PER_HOUR 60 /* one weighted core-hour = an hour of waiting */

struct mlq_fairshare;

struct mlq_fairshare *mlq_fairshare_create(int64_t half_life_ms);
void mlq_fairshare_destroy(struct mlq_fairshare **fs);

/* An attempt of owner's ran from start_ms to end_ms (wall clock). */
int mlq_fairshare_add(struct mlq_fairshare *fs, const char *owner, int64_t cpus_m, int32_t gpu_h,
                      int64_t start_ms, int64_t end_ms, int64_t now_ms);
/* An attempt started / stopped running (counted while it runs). */
int mlq_fairshare_start(struct mlq_fairshare *fs, const char *owner, int64_t cpus_m, int32_t gpu_h,
                        int64_t start_ms);
void mlq_fairshare_stop(struct mlq_fairshare *fs, const char *owner, int64_t cpus_m, int32_t gpu_h,
                        int64_t start_ms);
/* The owner's penalty in priority points at now_ms (>= 0). */
double mlq_fairshare_penalty(const struct mlq_fairshare *fs, const char *owner, int64_t now_ms);

/* ---- by team --------------------------------------------------------------
 * A job's use is booked on its owner and on its team's account (a user in
 * no team is a team of their own: the two are one account then). Its
 * penalty is its team's plus MLQ_FS_USER_SHARE of its owner's: teams take
 * turns first, users within a team next (docs/architecture.md). team NULL
 * or "": none. */
#define MLQ_FS_USER_SHARE 0.1
#define MLQ_FS_KEY_MAX    (MLQ_MAX_NAME + 2)

int mlq_fairshare_add_job(struct mlq_fairshare *fs, const char *owner, const char *team,
                          int64_t cpus_m, int32_t gpu_h, int64_t start_ms, int64_t end_ms,
                          int64_t now_ms);
int mlq_fairshare_start_job(struct mlq_fairshare *fs, const char *owner, const char *team,
                            int64_t cpus_m, int32_t gpu_h, int64_t start_ms);
void mlq_fairshare_stop_job(struct mlq_fairshare *fs, const char *owner, const char *team,
                            int64_t cpus_m, int32_t gpu_h, int64_t start_ms);
double mlq_fairshare_job_penalty(const struct mlq_fairshare *fs, const char *owner,
                                 const char *team, int64_t now_ms);

/* Calls fn for every owner (user, not team) with use on record: its decayed weighted
 * core-seconds at now_ms (running attempts included) and its penalty. Stops
 * at fn's first non-zero, which it returns. */
typedef int (*mlq_fairshare_fn)(const char *owner, double core_s, double penalty, void *ctx);
int mlq_fairshare_each(const struct mlq_fairshare *fs, int64_t now_ms, mlq_fairshare_fn fn,
                       void *ctx);

#endif
