/* placement: see placement.h. */
#include "placement.h"

#include <stdio.h>
#include <string.h>

#include "err.h"
#include "res.h"

struct mlq_request mlq_place_request(const struct mlq_jobspec *spec)
{
    struct mlq_request r = {
        .cpus_m = spec->cpus_m,
        .mem = spec->mem,
        .gpus = spec->gpus,
        .gpu_type = spec->gpu_type,
        .pool = spec->pool,
        .require = spec->require,
        .nrequire = spec->nrequire,
    };
    return r;
}

bool mlq_place_eligible(const struct mlq_worker *w, const struct mlq_request *r)
{
    if (strcmp(w->pool, r->pool && r->pool[0] ? r->pool : "default") != 0)
        return false;
    for (uint32_t i = 0; i < r->nrequire; i++)
        if (!mlq_worker_has_label(w, r->require[i]))
            return false;
    return true;
}

bool mlq_place_open(const struct mlq_worker *w)
{
    return w->state == MLQ_WORKER_UP && !w->drained && !w->draining && !w->unhealthy;
}

static int32_t count_gpus(const struct mlq_worker *w, const char *type, bool free_only)
{
    if (!type && !free_only)
        return w->gpus;
    if (!type)
        return w->gpus - __builtin_popcountll(w->gpu_used);
    int32_t n = 0;
    for (int i = 0; i < w->gpus && i < MLQ_MAX_GPUS; i++)
        if ((!free_only || !(w->gpu_used & (1ULL << i))) &&
            strcmp(mlq_worker_gpu_type(w, i), type) == 0)
            n++;
    return n;
}

int32_t mlq_place_gpus_free(const struct mlq_worker *w, const char *type)
{
    return count_gpus(w, type, true);
}

int32_t mlq_place_gpus_total(const struct mlq_worker *w, const char *type)
{
    return count_gpus(w, type, false);
}

bool mlq_place_fits_now(const struct mlq_worker *w, const struct mlq_request *r)
{
    return mlq_place_eligible(w, r) && w->running < MLQ_MAX_WORKER_ATTEMPTS &&
           w->cpus_m - w->cpus_used_m >= r->cpus_m && w->mem - w->mem_used >= r->mem &&
           (r->gpus == 0 || mlq_place_gpus_free(w, r->gpu_type) >= r->gpus);
}

bool mlq_place_fits_ever(const struct mlq_worker *w, const struct mlq_request *r)
{
    return mlq_place_eligible(w, r) && w->cpus_m >= r->cpus_m && w->mem >= r->mem &&
           (r->gpus == 0 || mlq_place_gpus_total(w, r->gpu_type) >= r->gpus);
}

/* Negative when a is the better (tighter) fit for r than b. */
int mlq_place_fit_compare(const struct mlq_worker *a, const struct mlq_worker *b,
                          const struct mlq_request *r)
{
    int64_t ga = mlq_place_gpus_free(a, NULL) - r->gpus,
            gb = mlq_place_gpus_free(b, NULL) - r->gpus;
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

struct mlq_worker *mlq_place_best(struct mlq_workers *ws, const struct mlq_request *r,
                                  const struct mlq_worker *avoid)
{
    struct mlq_worker *best = NULL;
    for (size_t i = 0; i < mlq_workers_count(ws); i++) {
        struct mlq_worker *w = mlq_workers_at(ws, i);
        if (w == avoid || !mlq_place_open(w) || !mlq_place_fits_now(w, r))
            continue;
        if (!best || mlq_place_fit_compare(w, best, r) < 0)
            best = w;
    }
    return best;
}

struct mlq_worker *mlq_place_best_where(struct mlq_workers *ws, const struct mlq_request *r,
                                        bool (*ok)(const struct mlq_worker *w, void *arg),
                                        void *arg)
{
    struct mlq_worker *best = NULL;
    for (size_t i = 0; i < mlq_workers_count(ws); i++) {
        struct mlq_worker *w = mlq_workers_at(ws, i);
        if (!mlq_place_open(w) || !mlq_place_fits_now(w, r) || !ok(w, arg))
            continue;
        if (!best || mlq_place_fit_compare(w, best, r) < 0)
            best = w;
    }
    return best;
}

int mlq_place_pick_gpus(const struct mlq_worker *w, int32_t n, const char *type, uint64_t *mask)
{
    uint64_t m = 0;
    int32_t got = 0;
    for (int32_t i = 0; i < w->gpus && i < MLQ_MAX_GPUS && got < n; i++) {
        if (w->gpu_used & (1ULL << i))
            continue;
        if (type && strcmp(mlq_worker_gpu_type(w, i), type) != 0)
            continue;
        m |= 1ULL << i;
        got++;
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
