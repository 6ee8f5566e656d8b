/* metrics: the scheduler's Prometheus metrics (docs/admin.md lists them).
 *
 * Two halves. Counters and histograms are bumped on the hot path by the
 * hooks below: integer increments into fixed arrays, never an allocation
 * per event (the per-user GPU-seconds table grows once per new user, up to
 * MLQ_METRICS_MAX_USERS). Everything else (jobs by state, workers,
 * resources, stranded GPUs, per-GPU utilisation) is computed when a scrape
 * asks, by mlq_metrics_render() on the loop thread, from the loop's own
 * state; its cost is one walk of the active jobs and the workers, and its
 * output is bounded by the series caps below.
 *
 * Every hook accepts m == NULL (contexts built by tests without metrics). */
#ifndef MLQ_METRICS_H
#define MLQ_METRICS_H

#include <stddef.h>
#include <stdint.h>

#include "bounds.h"
#include "err.h"
#include "jobstate.h"

struct mlq_ctx;
struct mlq_job;

/* Series caps (documented in docs/admin.md): beyond them the rest is summed
 * into a label value "(other)", which no real name can take. */
#define MLQ_METRICS_MAX_USERS      1000 /* per-user series */
#define MLQ_METRICS_MAX_POOLS      64   /* pools (x GPU types) */
#define MLQ_METRICS_MAX_GPU_SERIES 4096 /* per-worker-GPU series */
#define MLQ_METRICS_MAX_SHAPES     4096 /* pending shapes examined for stranded GPUs */
#define MLQ_METRICS_CACHE_MS       1000 /* a rendering is served again for this long */
#define MLQ_METRICS_MAX_TEXT       MLQ_MAX_METRICS_TEXT /* rendered bytes, < MLQ_MAX_MSG */

#define MLQ_HIST_MAX 16
struct mlq_hist {
    const int64_t *bounds;             /* upper bounds, in units, increasing */
    int n;                             /* number of bounds (+Inf is implicit) */
    int64_t per_second;                /* units in one second (1000: ms, 1000000: us) */
    uint64_t bucket[MLQ_HIST_MAX + 1]; /* not cumulative; [n] is +Inf */
    uint64_t count;
    int64_t sum; /* units */
};

void mlq_hist_observe(struct mlq_hist *h, int64_t v);

struct mlq_metrics;

/* state_dir: where mlq.db lives (for the file sizes); may be NULL. */
struct mlq_metrics *mlq_metrics_create(const char *state_dir);
void mlq_metrics_destroy(struct mlq_metrics **m);

/* ---- hooks (hot path) ---- */
/* A job was accepted into the queue (submit, array task, schedule fire). */
void mlq_metrics_submitted(struct mlq_metrics *m);
/* A submit request was refused (bad input, permissions, limits). */
void mlq_metrics_rejected(struct mlq_metrics *m);
/* job moves from -> to at now_wall; called before the row's times change. */
void mlq_metrics_transition(struct mlq_metrics *m, struct mlq_job *job, enum mlq_job_state from,
                            enum mlq_job_state to, int64_t now_wall);
/* An attempt of owner's holding gpus GPUs since from_ms ended at to_ms. */
void mlq_metrics_gpu_time(struct mlq_metrics *m, const char *owner, int32_t gpus, int64_t from_ms,
                          int64_t to_ms);
/* The same in hundredths of a GPU: a share of one GPU counts its fraction. */
void mlq_metrics_gpu_share_time(struct mlq_metrics *m, const char *owner, int64_t hundredths,
                                int64_t from_ms, int64_t to_ms);
/* The loop's own timings, in microseconds. */
void mlq_metrics_commit_us(struct mlq_metrics *m, int64_t us);
void mlq_metrics_iteration_us(struct mlq_metrics *m, int64_t us);
/* A monotonic clock in microseconds, for the two above. */
int64_t mlq_metrics_now_us(void);

/* Counters read by tests. */
struct mlq_metrics_counts {
    uint64_t submitted, rejected, dispatched, started, requeued;
    uint64_t completed[MLQ_JOB_STATE_COUNT]; /* terminal states only */
};
void mlq_metrics_counts(const struct mlq_metrics *m, struct mlq_metrics_counts *out);

/* ---- rendering (on scrape) ---- */
/* The whole exposition (text format 0.0.4) into a malloc'd, NUL-terminated
 * buffer of at most MLQ_METRICS_MAX_TEXT bytes. c->metrics may be NULL (the
 * counters are then absent). */
int mlq_metrics_render(struct mlq_ctx *c, char **out, size_t *len, struct mlq_err *err);

/* The `metrics` request: replies metrics_text with the rendering, the one
 * made less than MLQ_METRICS_CACHE_MS ago when there is one. */
struct mlq_peer;
struct mlq_msg;
int mlq_metrics_on_request(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                           struct mlq_err *err);

/* Label value escaping of the text format: \ " and newline get a
 * backslash. Writes at most cap bytes including the NUL; returns the
 * length it needed (truncates like snprintf). */
size_t mlq_metrics_escape(const char *in, char *out, size_t cap);

#endif
