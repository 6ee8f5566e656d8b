/* bench_util: small helpers the scenarios share: statistics, and waiting
 * on a simulated fleet while the scheduler works. */
#ifndef BENCH_UTIL_H
#define BENCH_UTIL_H

#include <stdint.h>

#include "bench_env.h"
#include "bench_load.h"
#include "bench_sim.h"
#include "err.h"

#define BU_MAX_REPS 16

/* Nanoseconds as seconds (at least 1 ns, so rates stay finite). */
double bu_secs(int64_t ns);
/* Median of v[0..n) (sorts v). */
double bu_median(double *v, int n);
/* Nearest-rank percentile p (0..100) of v[0..n) (sorts v). */
double bu_percentile(double *v, int n, double p);
/* Arithmetic mean of v[0..n). */
double bu_mean(const double *v, int n);

/* Polls sim until n workers are registered. */
int bu_await_registered(struct benv *e, struct bsim *sim, uint64_t n, struct mlq_err *err);
/* Polls sim until *counter reaches target (counter points into its stats). */
int bu_await_count(struct benv *e, struct bsim *sim, const uint64_t *counter, uint64_t target,
                   int timeout_ms, struct mlq_err *err);
/* Runs a load on its own thread while this one keeps sim answering (its
 * heartbeats must not stop while a long load runs). */
int bu_load_polling(struct benv *e, struct bsim *sim, const struct bload_opts *o,
                    struct bload_result *res, struct mlq_err *err);

#endif
