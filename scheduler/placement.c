/* placement: see placement.h. */
#include "placement.h"

#include <stdio.h>
#include <string.h>

#include "err.h"
#include "res.h"

static int32_t gpus_free(const struct mlq_worker *w)
{
    return w->gpus - __builtin_popcountll(w->gpu_used);
}

bool mlq_place_fits_now(const struct mlq_worker *w, const struct mlq_request *r)
{
    return w->cpus_m - w->cpus_used_m >= r->cpus_m && w->mem - w->mem_used >= r->mem &&
           gpus_free(w) >= r->gpus;
}

bool mlq_place_fits_ever(const struct mlq_worker *w, const struct mlq_request *r)
{
    return w->cpus_m >= r->cpus_m && w->mem >= r->mem && w->gpus >= r->gpus;
}

/* Negative when a is the better (tighter) fit for r than b. */
static int fit_compare(const struct mlq_worker *a, const struct mlq_worker *b,
                       const struct mlq_request *r)
{
    int64_t ga = gpus_free(a) - r->gpus, gb = gpus_free(b) - r->gpus;
    if (ga != gb)
        return ga < gb ? -1 : 1;
    int64_t ca = a->cpus_m - a->cpus_used_m, cb = b->cpus_m - b->cpus_used_m;
    if (ca != cb)
        return ca < cb ? -1 : 1;
    int64_t ma = a->mem - a->mem_used, mb = b->mem - b->mem_used;
    if (ma != mb)
        return ma < mb ? -1 : 1;
    return 0;
}

struct mlq_worker *mlq_place_best(struct mlq_workers *ws, const struct mlq_request *r)
{
    struct mlq_worker *best = NULL;
    for (size_t i = 0; i < mlq_workers_count(ws); i++) {
        struct mlq_worker *w = mlq_workers_at(ws, i);
        if (w->state != MLQ_WORKER_UP || w->draining || !mlq_place_fits_now(w, r))
            continue;
        if (!best || fit_compare(w, best, r) < 0)
            best = w;
    }
    return best;
}

int mlq_place_pick_gpus(const struct mlq_worker *w, int32_t n, uint64_t *mask)
{
    uint64_t m = 0;
    int32_t got = 0;
    for (int32_t i = 0; i < w->gpus && i < MLQ_MAX_GPUS && got < n; i++) {
        if (!(w->gpu_used & (1ULL << i))) {
            m |= 1ULL << i;
            got++;
        }
    }
    if (got < n)
        return MLQ_EINVAL;
    *mask = m;
    return 0;
}

void mlq_place_reserve(struct mlq_worker *w, const struct mlq_request *r, uint64_t gpu_mask)
{
    w->cpus_used_m += r->cpus_m;
    w->mem_used += r->mem;
    w->gpu_used |= gpu_mask;
    w->running++;
}

void mlq_place_release(struct mlq_worker *w, const struct mlq_request *r, uint64_t gpu_mask)
{
    /* Clamped at zero: totals may have changed when the worker re-registered. */
    w->cpus_used_m = w->cpus_used_m > r->cpus_m ? w->cpus_used_m - r->cpus_m : 0;
    w->mem_used = w->mem_used > r->mem ? w->mem_used - r->mem : 0;
    w->gpu_used &= ~gpu_mask;
    w->running = w->running > 0 ? w->running - 1 : 0;
}

/* Names what the largest UP worker lacks for r. */
static void explain_never(struct mlq_workers *ws, const struct mlq_request *r, char *buf,
                          size_t len)
{
    int64_t max_cpus = 0, max_mem = 0;
    int32_t max_gpus = 0;
    for (size_t i = 0; i < mlq_workers_count(ws); i++) {
        const struct mlq_worker *w = mlq_workers_at(ws, i);
        if (w->state != MLQ_WORKER_UP)
            continue;
        max_cpus = w->cpus_m > max_cpus ? w->cpus_m : max_cpus;
        max_mem = w->mem > max_mem ? w->mem : max_mem;
        max_gpus = w->gpus > max_gpus ? w->gpus : max_gpus;
    }
    char a[32], b[32];
    if (r->gpus > max_gpus)
        snprintf(buf, len, "can never fit: needs %d GPUs, the largest worker has %d", r->gpus,
                 max_gpus);
    else if (r->cpus_m > max_cpus)
        snprintf(buf, len, "can never fit: needs %s CPUs, the largest worker has %s",
                 mlq_res_fmt_cpus(r->cpus_m, a, sizeof a), mlq_res_fmt_cpus(max_cpus, b, sizeof b));
    else if (r->mem > max_mem)
        snprintf(buf, len, "can never fit: needs %s memory, the largest worker has %s",
                 mlq_res_fmt_mem(r->mem, a, sizeof a), mlq_res_fmt_mem(max_mem, b, sizeof b));
    else
        snprintf(buf, len, "can never fit on any single worker (CPUs, memory and GPUs together)");
}

void mlq_place_explain(struct mlq_workers *ws, const struct mlq_request *r, char *buf, size_t len)
{
    size_t up = 0, ever = 0, now = 0;
    for (size_t i = 0; i < mlq_workers_count(ws); i++) {
        const struct mlq_worker *w = mlq_workers_at(ws, i);
        if (w->state != MLQ_WORKER_UP)
            continue;
        up++;
        ever += mlq_place_fits_ever(w, r);
        now += mlq_place_fits_now(w, r);
    }
    if (up == 0)
        snprintf(buf, len, "no worker is connected");
    else if (ever == 0)
        explain_never(ws, r, buf, len);
    else if (now == 0)
        snprintf(buf, len, "waiting for resources: %zu of %zu workers could run it once free", ever,
                 up);
    else
        snprintf(buf, len, "about to be placed");
}

void mlq_place_gpus_fmt(uint64_t mask, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (int i = 0; i < MLQ_MAX_GPUS && used < len; i++) {
        if (mask & (1ULL << i)) {
            int n = snprintf(buf + used, len - used, "%s%d", used ? "," : "", i);
            if (n < 0)
                break;
            used += (size_t)n;
        }
    }
}

int mlq_place_gpus_parse(const char *s, uint64_t *mask)
{
    uint64_t m = 0;
    while (*s) {
        if (*s < '0' || *s > '9')
            return MLQ_EINVAL;
        int v = 0;
        while (*s >= '0' && *s <= '9' && v < MLQ_MAX_GPUS)
            v = v * 10 + (*s++ - '0');
        if (v >= MLQ_MAX_GPUS)
            return MLQ_EINVAL;
        m |= 1ULL << v;
        if (*s == ',')
            s++;
        else if (*s)
            return MLQ_EINVAL;
    }
    *mask = m;
    return 0;
}
