/* placepolicy: see placepolicy.h. */
#include "placepolicy.h"

#include <math.h>
#include <string.h>

#include "err.h"
#include "gpushare.h"

static const char *const names[] = {"best-fit", "pack", "spread"};

int mlq_pp_parse(const char *s, enum mlq_place_policy *out)
{
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++)
        if (strcmp(s, names[i]) == 0) {
            *out = (enum mlq_place_policy)i;
            return 0;
        }
    return MLQ_EINVAL;
}

const char *mlq_pp_name(enum mlq_place_policy p)
{
    return (unsigned)p < sizeof names / sizeof names[0] ? names[p] : "?";
}

/* Negative when a has more left free than b (spread). */
static int spread_compare(const struct mlq_worker *a, const struct mlq_worker *b)
{
    int64_t ga = mlq_place_gpus_free(a, NULL), gb = mlq_place_gpus_free(b, NULL);
    if (ga != gb)
        return ga > gb ? -1 : 1;
    int64_t ca = a->cpus_m - a->cpus_used_m, cb = b->cpus_m - b->cpus_used_m;
    if (ca != cb)
        return ca > cb ? -1 : 1;
    int64_t ma = a->mem - a->mem_used, mb = b->mem - b->mem_used;
    return (ma < mb) - (ma > mb);
}

/* Whole GPUs of v free and of type t. */
static int32_t free_of_type(const struct mlq_wview *v, const char *t)
{
    int32_t n = 0;
    for (int k = 0; k < v->n; k++)
        n += v->free_h[k] == 100 && strcmp(v->type[k], t) == 0;
    return n;
}

/* Hundredths r would take of GPU k of v (on worker w), or -1 when it cannot
 * go there. A job's whole GPUs are all of one type: once one is taken
 * (type), only that type; before, only a type with enough free. */
static int32_t take_of(const struct mlq_worker *w, const struct mlq_wview *v, int k,
                       const struct mlq_request *r, const char *type)
{
    if (mlq_place_is_share(r))
        return mlq_place_share_fits_gpu(w, r, v->idx[k])
                   ? mlq_gpushare_need(r->gpu_frac, r->gpu_mem, mlq_worker_gpu_mem(w, v->idx[k]))
                   : -1;
    if (v->free_h[k] != 100 || !mlq_mix_type_ok(r->gpu_type, v->type[k]))
        return -1;
    if (type ? strcmp(type, v->type[k]) != 0 : free_of_type(v, v->type[k]) < r->gpus)
        return -1;
    return 100;
}

/* Weight of the typed requests of mix that a GPU of type t serves. */
static double typed_demand(const char *t, const struct mlq_mix_entry *mix, size_t n)
{
    double w = 0;
    for (size_t i = 0; i < n; i++)
        if (mix[i].type[0] && mlq_mix_type_ok(mix[i].type, t))
            w += mix[i].weight;
    return w;
}

/* Pack: takes r's GPUs (or its share) from v one at a time, each time the
 * one whose loss leaves v least fragmented for mix, and among those the
 * type that typed requests want least; fills mask (worker indices). GPUs
 * that look the same (type, free share, what r takes) are tried once. */
static int pack_gpus(const struct mlq_worker *w, struct mlq_wview *v, const struct mlq_request *r,
                     const struct mlq_mix_entry *mix, size_t n, uint64_t *mask)
{
    *mask = 0;
    const char *type = NULL;
    int32_t want = mlq_place_is_share(r) ? 1 : r->gpus, take[MLQ_MAX_GPUS];
    for (int32_t got = 0; got < want; got++) {
        int best = -1;
        double best_f = 0, best_t = 0;
        for (int k = 0; k < v->n; k++)
            take[k] = take_of(w, v, k, r, type);
        for (int k = 0; k < v->n; k++) {
            bool seen = false;
            for (int j = 0; j < k && !seen && take[k] >= 0; j++)
                seen = take[j] == take[k] && v->free_h[j] == v->free_h[k] &&
                       strcmp(v->type[j], v->type[k]) == 0;
            if (take[k] < 0 || seen)
                continue;
            v->free_h[k] -= take[k];
            double f = mlq_mix_frag(v, mix, n), t = typed_demand(v->type[k], mix, n);
            v->free_h[k] += take[k];
            if (best < 0 || f < best_f - 0.01 || (f <= best_f + 0.01 && t < best_t)) {
                best = k;
                best_f = f;
                best_t = t;
            }
        }
        if (best < 0)
            return MLQ_EINVAL;
        v->free_h[best] -= take[best];
        type = v->type[best];
        *mask |= 1ULL << v->idx[best];
    }
    return 0;
}

/* Fragmentation placing r on w adds for the mix (lower is better). */
static double pack_delta(const struct mlq_worker *w, const struct mlq_request *r,
                         const struct mlq_mix_entry *mix, size_t n)
{
    struct mlq_wview v;
    uint64_t mask;
    mlq_mix_view(w, &v);
    double before = mlq_mix_frag(&v, mix, n);
    v.cpus_free -= r->cpus_m;
    v.mem_free -= r->mem;
    if (pack_gpus(w, &v, r, mix, n, &mask) < 0)
        return 1e300;
    return mlq_mix_frag(&v, mix, n) - before;
}

struct cand {
    struct mlq_worker *w;
    double score; /* pack's added fragmentation; 0 for the others */
};

/* The fitness function: negative when a is the better place for r. */
static int score_of(enum mlq_place_policy p, const struct cand *a, const struct cand *b,
                    const struct mlq_request *r)
{
    if (p == MLQ_PLACE_SPREAD)
        return spread_compare(a->w, b->w);
    /* Differences below a hundredth of a GPU are rounding, not a choice. */
    if (p == MLQ_PLACE_PACK && (a->score < b->score - 0.01 || a->score > b->score + 0.01))
        return a->score < b->score ? -1 : 1;
    return mlq_place_fit_compare(a->w, b->w, r);
}

/* Copies mix to out with each entry's weight divided by the square root of
 * the number of open workers where it fits now (plus one): spoiling the
 * last few places a request shape fits costs more than spoiling one of
 * hundreds. Without it pack breaks up the few fully free big workers for
 * small jobs whose other places each cost a little more, and the rare
 * 8-GPU request then finds none. */
static void scarcity_mix(struct mlq_workers *ws, const struct mlq_mix *m, struct mlq_mix_entry *out)
{
    int hosts[MLQ_MIX_MAX] = {0};
    for (size_t i = 0; i < mlq_workers_count(ws); i++) {
        const struct mlq_worker *w = mlq_workers_at(ws, i);
        if (!mlq_place_open(w))
            continue;
        struct mlq_wview v;
        mlq_mix_view(w, &v);
        int64_t all = mlq_mix_free_h(&v);
        for (size_t e = 0; e < m->n; e++)
            hosts[e] += all > 0 && mlq_mix_unusable_h(&v, &m->e[e]) < all;
    }
    for (size_t e = 0; e < m->n; e++) {
        out[e] = m->e[e];
        out[e].weight /= sqrt((double)hosts[e] + 1);
    }
}

struct mlq_worker *mlq_pp_choose(const struct mlq_placer *p, struct mlq_workers *ws,
                                 const struct mlq_request *r, const struct mlq_worker *avoid,
                                 bool (*ok)(const struct mlq_worker *w, void *arg), void *arg)
{
    /* Every entry, by its weight: a rare request still counts a little. */
    struct mlq_mix_entry mix[MLQ_MIX_MAX];
    size_t n = p->policy == MLQ_PLACE_PACK ? p->mix.n : 0;
    if (n > 0)
        scarcity_mix(ws, &p->mix, mix);
    struct cand best = {0};
    for (size_t i = 0; i < mlq_workers_count(ws); i++) {
        struct cand c = {mlq_workers_at(ws, i), 0};
        if (c.w == avoid || !mlq_place_open(c.w) || !mlq_place_fits_now(c.w, r) ||
            (ok && !ok(c.w, arg)))
            continue;
        if (n > 0)
            c.score = pack_delta(c.w, r, mix, n);
        if (!best.w || score_of(p->policy, &c, &best, r) < 0)
            best = c;
    }
    return best.w;
}

int mlq_pp_pick_gpus(const struct mlq_placer *p, const struct mlq_worker *w,
                     const struct mlq_request *r, uint64_t *mask)
{
    const struct mlq_mix_entry *mix = p->mix.e;
    size_t n = p->policy == MLQ_PLACE_PACK ? p->mix.n : 0;
    if (n == 0)
        return mlq_place_pick(w, r, mask);
    struct mlq_wview v;
    mlq_mix_view(w, &v);
    v.cpus_free -= r->cpus_m;
    v.mem_free -= r->mem;
    return pack_gpus(w, &v, r, mix, n, mask);
}
