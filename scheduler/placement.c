/* placement: see placement.h. */
#include "placement.h"

#include <stdio.h>
#include <string.h>

#include "err.h"
#include "log.h"
#include "res.h"

struct mlq_request mlq_place_request(const struct mlq_jobspec *spec)
{
    struct mlq_request r = {
        .cpus_m = spec->cpus_m,
        .mem = spec->mem,
        .gpus = spec->gpus,
        .gpu_frac = spec->gpu_frac,
        .gpu_mem = spec->gpu_mem,
        .gpu_type = spec->gpu_type,
        .pool = spec->pool,
        .require = spec->require,
        .nrequire = spec->nrequire,
    };
    return r;
}

bool mlq_place_is_share(const struct mlq_request *r)
{
    return r->gpu_frac > 0 || r->gpu_mem > 0;
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

/* GPUs of one type (len bytes at type; NULL: any) on w. GPUs an admin
 * withheld (workers.h) count neither as free nor in all. */
static int32_t count_one(const struct mlq_worker *w, const char *type, size_t len, bool free_only)
{
    int32_t n = 0;
    for (int i = 0; i < w->gpus && i < MLQ_MAX_GPUS; i++) {
        const char *t = mlq_worker_gpu_type(w, i);
        if (mlq_worker_gpu_offered(w, i) && (!free_only || !mlq_worker_gpu_busy(w, i)) &&
            (!type || (strlen(t) == len && memcmp(t, type, len) == 0)))
            n++;
    }
    return n;
}

/* The most GPUs of any one of the '|' alternatives in types. */
static int32_t count_gpus(const struct mlq_worker *w, const char *types, bool free_only)
{
    if (!types)
        return count_one(w, NULL, 0, free_only);
    int32_t best = 0;
    for (const char *p = types;;) {
        size_t len = strcspn(p, "|");
        int32_t n = count_one(w, p, len, free_only);
        best = n > best ? n : best;
        if (!p[len])
            return best;
        p += len + 1;
    }
}

int32_t mlq_place_gpus_free(const struct mlq_worker *w, const char *type)
{
    return count_gpus(w, type, true);
}

int32_t mlq_place_gpus_total(const struct mlq_worker *w, const char *type)
{
    return count_gpus(w, type, false);
}

bool mlq_place_share_fits_gpu(const struct mlq_worker *w, const struct mlq_request *r, int i)
{
    return mlq_worker_gpu_offered(w, i) && !((w->gpu_used >> i) & 1) &&
           mlq_proto_gpu_type_matches(r->gpu_type, mlq_worker_gpu_type(w, i)) &&
           mlq_gpushare_fits(&w->gshare, i, r->gpu_frac, r->gpu_mem, mlq_worker_gpu_mem(w, i));
}

/* The GPU where share request r fits leaving the least free share, or -1;
 * *left gets that share left (hundredths). */
static int best_share_gpu(const struct mlq_worker *w, const struct mlq_request *r, int32_t *left)
{
    int best = -1;
    int32_t best_left = MLQ_GPUSHARE_WHOLE + 1;
    for (int i = 0; i < w->gpus && i < MLQ_MAX_GPUS; i++) {
        if (!mlq_place_share_fits_gpu(w, r, i))
            continue;
        int32_t need = mlq_gpushare_need(r->gpu_frac, r->gpu_mem, mlq_worker_gpu_mem(w, i));
        int32_t l = mlq_gpushare_free(&w->gshare, i) - need;
        if (l < best_left)
            best = i, best_left = l;
    }
    *left = best_left;
    return best;
}

/* Some offered GPU of its type could hold share request r once idle. */
static bool share_fits_ever(const struct mlq_worker *w, const struct mlq_request *r)
{
    for (int i = 0; i < w->gpus && i < MLQ_MAX_GPUS; i++)
        if (mlq_worker_gpu_offered(w, i) &&
            mlq_proto_gpu_type_matches(r->gpu_type, mlq_worker_gpu_type(w, i)) &&
            mlq_gpushare_need(r->gpu_frac, r->gpu_mem, mlq_worker_gpu_mem(w, i)) >= 0)
            return true;
    return false;
}

static bool gpus_fit_now(const struct mlq_worker *w, const struct mlq_request *r)
{
    int32_t left;
    if (mlq_place_is_share(r))
        return best_share_gpu(w, r, &left) >= 0;
    return r->gpus == 0 || mlq_place_gpus_free(w, r->gpu_type) >= r->gpus;
}

bool mlq_place_fits_now(const struct mlq_worker *w, const struct mlq_request *r)
{
    return mlq_place_eligible(w, r) && w->running < MLQ_MAX_WORKER_ATTEMPTS &&
           w->cpus_m - w->cpus_used_m >= r->cpus_m && w->mem - w->mem_used >= r->mem &&
           gpus_fit_now(w, r);
}

bool mlq_place_fits_ever(const struct mlq_worker *w, const struct mlq_request *r)
{
    if (mlq_place_is_share(r))
        return mlq_place_eligible(w, r) && w->cpus_m >= r->cpus_m && w->mem >= r->mem &&
               share_fits_ever(w, r);
    return mlq_place_eligible(w, r) && w->cpus_m >= r->cpus_m && w->mem >= r->mem &&
           (r->gpus == 0 || mlq_place_gpus_total(w, r->gpu_type) >= r->gpus);
}

/* Negative when a is the better (tighter) fit for r than b. A share goes
 * first where it leaves the least share free on its GPU. */
int mlq_place_fit_compare(const struct mlq_worker *a, const struct mlq_worker *b,
                          const struct mlq_request *r)
{
    if (mlq_place_is_share(r)) {
        int32_t la, lb;
        best_share_gpu(a, r, &la);
        best_share_gpu(b, r, &lb);
        if (la != lb)
            return la < lb ? -1 : 1;
    }
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

/* n free GPUs of one type (len bytes at type; NULL: any), lowest first. */
static int pick_one(const struct mlq_worker *w, int32_t n, const char *type, size_t len,
                    uint64_t *mask)
{
    uint64_t m = 0;
    int32_t got = 0;
    for (int32_t i = 0; i < w->gpus && i < MLQ_MAX_GPUS && got < n; i++) {
        if (mlq_worker_gpu_busy(w, i) || !mlq_worker_gpu_offered(w, i))
            continue;
        const char *t = mlq_worker_gpu_type(w, i);
        if (type && (strlen(t) != len || memcmp(t, type, len) != 0))
            continue;
        m |= 1ULL << i;
        got++;
    }
    if (got < n)
        return MLQ_EINVAL;
    *mask = m;
    return 0;
}

int mlq_place_pick_gpus(const struct mlq_worker *w, int32_t n, const char *type, uint64_t *mask)
{
    if (!type)
        return pick_one(w, n, NULL, 0, mask);
    for (const char *p = type;;) {
        size_t len = strcspn(p, "|");
        if (pick_one(w, n, p, len, mask) == 0)
            return 0;
        if (!p[len])
            return MLQ_EINVAL;
        p += len + 1;
    }
}

int mlq_place_pick(const struct mlq_worker *w, const struct mlq_request *r, uint64_t *mask)
{
    if (!mlq_place_is_share(r))
        return mlq_place_pick_gpus(w, r->gpus, r->gpu_type, mask);
    int32_t left;
    int g = best_share_gpu(w, r, &left);
    if (g < 0)
        return MLQ_EINVAL;
    *mask = 1ULL << g;
    return 0;
}

int mlq_place_gpu_free_shares(const struct mlq_worker *w, int32_t out[MLQ_MAX_GPUS])
{
    for (int i = 0; i < MLQ_MAX_GPUS; i++) {
        if (!mlq_worker_gpu_offered(w, i))
            out[i] = -1;
        else if ((w->gpu_used >> i) & 1)
            out[i] = 0;
        else
            out[i] = mlq_gpushare_free(&w->gshare, i);
    }
    return w->gpus < MLQ_MAX_GPUS ? w->gpus : MLQ_MAX_GPUS;
}

int64_t mlq_place_gpus_used_hundredths(const struct mlq_worker *w)
{
    int64_t n = 0;
    for (int i = 0; i < w->gpus && i < MLQ_MAX_GPUS; i++) {
        int32_t sh = w->gshare.share[i];
        n += ((w->gpu_used >> i) & 1) ? MLQ_GPUSHARE_WHOLE : sh > 100 ? 100 : sh;
    }
    return n;
}

void mlq_place_book_gpus(struct mlq_worker *w, const struct mlq_request *r, uint64_t gpu_mask)
{
    if (!mlq_place_is_share(r)) {
        w->gpu_used |= gpu_mask;
        return;
    }
    for (int i = 0; i < MLQ_MAX_GPUS; i++)
        if (((gpu_mask >> i) & 1) &&
            mlq_gpushare_book(&w->gshare, i, r->gpu_frac, r->gpu_mem, mlq_worker_gpu_mem(w, i)) < 0)
            mlq_warn("out of memory: a share of GPU %d on %s is not booked", i, w->name);
}

void mlq_place_unbook_gpus(struct mlq_worker *w, const struct mlq_request *r, uint64_t gpu_mask)
{
    if (!mlq_place_is_share(r)) {
        w->gpu_used &= ~gpu_mask;
        return;
    }
    int64_t mems[MLQ_MAX_GPUS];
    mlq_worker_gpu_mems(w, mems);
    for (int i = 0; i < MLQ_MAX_GPUS; i++)
        if ((gpu_mask >> i) & 1)
            mlq_gpushare_unbook(&w->gshare, i, r->gpu_frac, r->gpu_mem, mems);
}

int32_t mlq_place_gpu_h(const struct mlq_worker *w, const struct mlq_request *r, uint64_t gpu_mask)
{
    if (!mlq_place_is_share(r))
        return r->gpus * 100;
    for (int i = 0; i < MLQ_MAX_GPUS; i++)
        if (gpu_mask & (1ULL << i)) {
            int32_t need = mlq_gpushare_need(r->gpu_frac, r->gpu_mem, mlq_worker_gpu_mem(w, i));
            return need > 0 ? need : r->gpu_frac;
        }
    return r->gpu_frac;
}

void mlq_place_reserve(struct mlq_worker *w, const struct mlq_request *r, uint64_t gpu_mask)
{
    w->cpus_used_m += r->cpus_m;
    w->mem_used += r->mem;
    mlq_place_book_gpus(w, r, gpu_mask);
    w->running++;
}

void mlq_place_release(struct mlq_worker *w, const struct mlq_request *r, uint64_t gpu_mask)
{
    /* Clamped at zero: totals may have changed when the worker re-registered. */
    w->cpus_used_m = w->cpus_used_m > r->cpus_m ? w->cpus_used_m - r->cpus_m : 0;
    w->mem_used = w->mem_used > r->mem ? w->mem_used - r->mem : 0;
    mlq_place_unbook_gpus(w, r, gpu_mask);
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
