/* queue: the PENDING jobs, organised for the placement pass.
 *
 * Jobs that ask for the same things (a "shape": resources, GPU type, pool,
 * labels, owner) are interchangeable for placement: if the first of them
 * does not fit anywhere, none of them does.
 * So pending jobs sit in one heap per shape, ordered by their queue key, and
 * a pass only looks at the head of each shape: its cost grows with the
 * number of distinct shapes and the number of jobs it starts, never with the
 * length of the queue. Jobs waiting for a not-before time (retry backoff,
 * fencing delay) sit in a separate heap ordered by that time until due.
 *
 * The queue stores pointers to jobs owned by the job table; a job must be
 * removed from the queue before the table frees it. */
#ifndef MLQ_QUEUE_H
#define MLQ_QUEUE_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "jobtab.h"

struct mlq_queue;

struct mlq_queue *mlq_queue_create(void);
/* Frees the queue (not the jobs); sets *q to NULL; accepts NULL. */
void mlq_queue_destroy(struct mlq_queue **q);

/* Adds job (no-op when already queued): to its shape's heap when it may run
 * at now_wall, else to the waiting heap. Lower job->qkey runs first. */
int mlq_queue_add(struct mlq_queue *q, struct mlq_job *job, int64_t now_wall);
/* Removes job when queued. */
void mlq_queue_remove(struct mlq_queue *q, struct mlq_job *job);
size_t mlq_queue_count(const struct mlq_queue *q);

/* Moves waiting jobs whose time has come into their shapes and returns how
 * many moved; *next_due gets the earliest not-before time still waiting (0
 * when none). */
size_t mlq_queue_release_due(struct mlq_queue *q, int64_t now_wall, int64_t *next_due);

/* Extra key (ms) added to a shape's head when comparing across shapes:
 * the owner's fair-share penalty. Constant within a shape. */
typedef int64_t (*mlq_queue_bias_fn)(const struct mlq_job *job, void *ctx);

/* A placement pass: pass_next returns the ready job with the lowest key
 * (qkey + bias) among shapes not skipped in this pass (NULL when none);
 * pass_skip(job) takes the job's whole shape out of the rest of the pass
 * (it does not fit now, so neither does anything of the same shape). */
void mlq_queue_pass_begin(struct mlq_queue *q);
struct mlq_job *mlq_queue_pass_next(struct mlq_queue *q, mlq_queue_bias_fn bias, void *ctx);
void mlq_queue_pass_skip(struct mlq_queue *q, struct mlq_job *job);

/* Number of shapes with ready jobs, and the ready job with the lowest key
 * across all of them (NULL when none). */
size_t mlq_queue_nshapes(const struct mlq_queue *q);
/* The first ready job of shape i, 0 <= i < mlq_queue_nshapes(q): a walk over
 * the shapes that costs one step per shape (metrics.c). */
struct mlq_job *mlq_queue_shape_head(const struct mlq_queue *q, size_t i);
struct mlq_job *mlq_queue_first(const struct mlq_queue *q, mlq_queue_bias_fn bias, void *ctx);
/* How many ready jobs go before job (for `mlq why`; walks the whole queue). */
size_t mlq_queue_count_ahead(const struct mlq_queue *q, const struct mlq_job *job,
                             mlq_queue_bias_fn bias, void *ctx);
/* The same walk, calling fn for each job that goes before job with its key
 * (qkey plus bias; ties go by seq), in no particular order. job need not be
 * queued (a dry run's job is not). Returns how many. */
typedef void (*mlq_queue_ahead_fn)(struct mlq_job *ahead, int64_t key, void *arg);
size_t mlq_queue_each_ahead(const struct mlq_queue *q, const struct mlq_job *job,
                            mlq_queue_bias_fn bias, void *ctx, mlq_queue_ahead_fn fn, void *arg);

#endif
