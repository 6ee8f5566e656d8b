/* jobusage: see jobusage.h. */
#include "jobusage.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include "cglimit.h"
#include "gpuload.h"
#include "protousage.h"
#include "res.h"

#define GPU_SAMPLE_MS 1000

struct mlq_jobusage {
    struct mlq_cglimit *cg; /* NULL: no cgroups */
    int64_t mem_asked;      /* bytes, 0 none */
    struct mlq_gpuload_probe *gpu;
    uint64_t gpu_mask; /* bit i: the job has GPU i */
    int64_t next_sample;
    int64_t gpu_peak; /* bytes, -1 none read */
    int64_t util_sum; /* of per-sample means */
    int64_t nsamples;
};

/* The job's GPUs by index, when the worker reads GPUs through NVML. */
static void open_gpus(struct mlq_jobusage *u, const struct mlq_msg *assign)
{
    const char *how = getenv(MLQ_JOBUSAGE_GPU_ENV);
    uint32_t top = 0;
    for (uint32_t i = 0; i < assign->u.assign.ngpu_ids; i++) {
        int32_t g = assign->u.assign.gpu_ids[i];
        if (g >= 0 && g < MLQ_MAX_GPUS) {
            u->gpu_mask |= 1ULL << g;
            top = (uint32_t)g + 1 > top ? (uint32_t)g + 1 : top;
        }
    }
    if (u->gpu_mask && how && *how)
        u->gpu = mlq_gpuload_open(how, top);
}

int mlq_jobusage_create(const struct mlq_msg *assign, struct mlq_jobusage **out,
                        struct mlq_err *err)
{
    *out = NULL;
    struct mlq_jobusage *u = calloc(1, sizeof *u);
    if (!u)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    const struct mlq_jobspec *spec = &assign->u.assign.spec;
    u->mem_asked = spec->mem > 0 ? spec->mem : 0;
    u->gpu_peak = -1;
    int rc =
        mlq_cglimit_create(assign->u.assign.attempt_id, u->mem_asked, spec->cpus_m, &u->cg, err);
    if (rc < 0) {
        free(u);
        return rc;
    }
    open_gpus(u, assign);
    *out = u;
    return 0;
}

int mlq_jobusage_join(const struct mlq_jobusage *u)
{
    return u ? mlq_cglimit_join(u->cg) : 0;
}

void mlq_jobusage_started(const struct mlq_jobusage *u)
{
    if (u && u->cg)
        mlq_cglimit_pool_refill();
}

void mlq_jobusage_tick(struct mlq_jobusage *u, int64_t now_ms)
{
    if (!u || !u->gpu || now_ms < u->next_sample)
        return;
    u->next_sample = now_ms + GPU_SAMPLE_MS;
    struct mlq_gpuload load[MLQ_MAX_GPUS];
    uint32_t n = mlq_gpuload_read(u->gpu, load, MLQ_MAX_GPUS);
    int64_t mem = 0, util = 0, k = 0;
    for (uint32_t i = 0; i < n; i++) {
        if (load[i].index < 0 || load[i].index >= MLQ_MAX_GPUS ||
            !(u->gpu_mask & (1ULL << load[i].index)))
            continue;
        mem += load[i].mem_used;
        util += load[i].util;
        k++;
    }
    if (k == 0)
        return;
    if (mem > u->gpu_peak)
        u->gpu_peak = mem;
    u->util_sum += util / k;
    u->nsamples++;
}

/* CPU time and largest-process peak of every reaped process of the job. */
static void from_rusage(struct mlq_usage *out)
{
    struct rusage ru;
    if (getrusage(RUSAGE_CHILDREN, &ru) != 0)
        return;
    out->cpu_us = (int64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000 +
                  ru.ru_utime.tv_usec + ru.ru_stime.tv_usec;
    out->mem_peak = (int64_t)ru.ru_maxrss * 1024;
    snprintf(out->source, sizeof out->source, "proc");
}

/* v2 counts OOM kills itself; v1 kernels without oom_kill in oom_control
 * only say the limit was hit (failcnt): that and a SIGKILL the shim did not
 * send is the OOM killer's. */
static bool oom_killed(const struct mlq_cglimit_usage *cu, const struct mlq_status *st,
                       bool killed_by_shim)
{
    if (cu->oom_kills >= 0)
        return cu->oom_kills > 0;
    return cu->failcnt > 0 && st->signal == SIGKILL && !killed_by_shim;
}

static void note_oom(const struct mlq_jobusage *u, struct mlq_status *st)
{
    char lim[32], peak[32], d[MLQ_SPOOL_DETAIL_MAX];
    bool failed =
        st->outcome == MLQ_OUT_SIGNALED || (st->outcome == MLQ_OUT_EXITED && st->exit_code != 0);
    if (!failed)
        return;
    mlq_res_fmt_mem(u->mem_asked, lim, sizeof lim);
    if (st->usage.mem_peak >= 0)
        mlq_res_fmt_mem(st->usage.mem_peak, peak, sizeof peak);
    else
        snprintf(peak, sizeof peak, "unknown");
    snprintf(d, sizeof d, "out of memory (limit %s, peak %s)", lim, peak);
    mlq_spool_set_detail(st, d);
}

void mlq_jobusage_finish(struct mlq_jobusage *u, struct mlq_status *st, bool killed_by_shim)
{
    mlq_usage_clear(&st->usage);
    from_rusage(&st->usage);
    if (st->start_ms > 0 && st->end_ms >= st->start_ms)
        st->usage.wall_ms = st->end_ms - st->start_ms;
    if (!u)
        return;
    if (u->gpu_peak >= 0) {
        st->usage.gpu_mem_peak = u->gpu_peak;
        st->usage.gpu_util = (int32_t)(u->util_sum / u->nsamples);
    }
    if (!u->cg)
        return;
    struct mlq_cglimit_usage cu;
    mlq_cglimit_read(u->cg, &cu);
    bool v2 = mlq_cglimit_hier(u->cg) == MLQ_CGL_V2;
    /* The source names where the peak came from: a kernel without
     * memory.peak (v2 before 5.19) leaves the largest process's, "proc". */
    if (cu.mem_peak >= 0) {
        snprintf(st->usage.source, sizeof st->usage.source, v2 ? "cgroup2" : "cgroup1");
        st->usage.mem_peak = cu.mem_peak;
    }
    if (cu.cpu_us >= 0)
        st->usage.cpu_us = cu.cpu_us;
    if (mlq_cglimit_mem_enforced(u->cg) && oom_killed(&cu, st, killed_by_shim))
        note_oom(u, st);
}

int mlq_jobusage_v1_note(const struct mlq_jobusage *u, char *buf, size_t len)
{
    return u ? mlq_cglimit_v1_note(u->cg, buf, len) : -1;
}

const char *mlq_jobusage_cgroup(const struct mlq_jobusage *u)
{
    return u ? mlq_cglimit_path(u->cg) : NULL;
}

void mlq_jobusage_destroy(struct mlq_jobusage **up)
{
    if (!up || !*up)
        return;
    mlq_cglimit_destroy(&(*up)->cg);
    mlq_gpuload_close(&(*up)->gpu);
    free(*up);
    *up = NULL;
}
