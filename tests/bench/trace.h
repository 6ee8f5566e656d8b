/* trace: the CSV files of a trace replay (README.md, "Placement and
 * fragmentation").
 *
 * NODES.csv, header `name,cpus,mem,gpus,gpu_type`: one simulated worker per
 * line; cpus as `mlq submit --cpus` ("8", "0.5"), mem as `--mem` ("64G"),
 * gpus a whole count 0..64, gpu_type one normalised type or empty.
 * TASKS.csv, header `name,arrival_s,duration_s,cpus,mem,gpus,gpu_types`:
 * one job per line; arrival_s seconds from the start (not decreasing),
 * duration_s seconds it runs (> 0), gpus "0", a count "2" or a share
 * "0.25", gpu_types empty or "a100|h100". No quoting: a field holds no
 * comma. Blank lines and lines starting with # are skipped; node names are
 * unique. Every error names the file, line and column. */
#ifndef TRACE_H
#define TRACE_H

#include <stddef.h>
#include <stdint.h>

#include "bounds.h"
#include "err.h"

#define TRACE_MAX_NODES 10000
#define TRACE_MAX_TASKS 2000000
#define TRACE_MAX_LINE  1024
#define TRACE_MAX_SECS  1e9 /* arrival and duration */

struct trace_node {
    char name[MLQ_MAX_NAME + 1]; /* unique in the file */
    size_t line;                 /* where it was read */
    int64_t cpus_m, mem;
    int32_t gpus;
    char gpu_type[MLQ_MAX_GPU_TYPE + 1]; /* "" untyped */
};

struct trace_task {
    char name[MLQ_MAX_NAME + 1];
    double arrival_s, duration_s;
    int64_t cpus_m, mem;
    int32_t gpus, frac; /* whole GPUs, or a share in hundredths (gpus 0) */
    char gpu_types[MLQ_MAX_GPU_TYPES + 1];
};

/* Read and check a whole file; *v is malloc'd (free it). */
int trace_read_nodes(const char *path, struct trace_node **v, size_t *n, struct mlq_err *err);
int trace_read_tasks(const char *path, struct trace_task **v, size_t *n, struct mlq_err *err);
/* GPUs a task asks for, in hundredths. */
int32_t trace_task_h(const struct trace_task *t);

#endif
