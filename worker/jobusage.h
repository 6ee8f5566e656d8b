/* jobusage: the shim's side of limits and usage for one attempt.
 *
 * Puts the job into its cgroups (cglimit.h) with the memory and CPU limits
 * of its spec, samples its GPUs through NVML while it runs (where the
 * worker found its GPUs with NVML, MLQ_GPU_USAGE names the NVML library it
 * used), and once the job
 * has no process left fills the attempt's usage and, when the OOM killer
 * ended it, says so in the status.
 *
 * Without cgroups the CPU time and peak come from getrusage(RUSAGE_CHILDREN)
 * of the shim, which as subreaper reaps every process of the job: CPU time
 * is the job's total, the peak is that of its largest process (ru_maxrss),
 * not of all of them together (usage source "proc"). */
#ifndef MLQ_JOBUSAGE_H
#define MLQ_JOBUSAGE_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "proto.h"
#include "spool.h"

#define MLQ_JOBUSAGE_GPU_ENV "MLQ_GPU_USAGE"

struct mlq_jobusage;

/* Before the fork: cgroups with the spec's limits (an error only when a
 * limit cannot be set), the GPU probe. Caller owns *out. */
int mlq_jobusage_create(const struct mlq_msg *assign, struct mlq_jobusage **out,
                        struct mlq_err *err);
/* In the forked job before exec (async-signal-safe): 0 or -errno. */
int mlq_jobusage_join(const struct mlq_jobusage *u);
/* In the shim once the job's exec is done: prepares the cgroups of a
 * later job (mlq_cglimit_pool_refill), off this job's start path. */
void mlq_jobusage_started(const struct mlq_jobusage *u);
/* While the job runs: samples its GPUs at most once a second. */
void mlq_jobusage_tick(struct mlq_jobusage *u, int64_t now_ms);
/* After the last process of the job is reaped: fills st->usage; an OOM kill
 * becomes the detail "out of memory (limit 64M, peak 64M)" of a failed
 * run. killed_by_shim: the shim itself sent SIGKILL (a v1 failcnt then
 * proves nothing). */
void mlq_jobusage_finish(struct mlq_jobusage *u, struct mlq_status *st, bool killed_by_shim);
/* The v1 cgroups for the spool (mlq_cglimit_v1_note); -1 when none. */
int mlq_jobusage_v1_note(const struct mlq_jobusage *u, char *buf, size_t len);
/* Path of the job's cgroup (v2, or v1 memory); NULL when none. */
const char *mlq_jobusage_cgroup(const struct mlq_jobusage *u);
void mlq_jobusage_destroy(struct mlq_jobusage **u);

#endif
