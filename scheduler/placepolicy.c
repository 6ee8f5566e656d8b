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
                     const struct mlq_mix_entry *mix, size_t n, uint64_t *mask, const char **took)
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
        *took = type;
        *mask |= 1ULL << v->idx[best];
    }
    return 0;
}

/* Fragmentation placing r on w adds for the mix (lower is better); took:
 * the type of the GPUs r would take there (unchanged without GPUs). */
static double pack_delta(const struct mlq_worker *w, const struct mlq_request *r,
                         const struct mlq_mix_entry *mix, size_t n, const char **took)
{
    struct mlq_wview v;
    uint64_t mask;
    mlq_mix_view(w, &v);
    double before = mlq_mix_frag(&v, mix, n);
    v.cpus_free -= r->cpus_m;
    v.mem_free -= r->mem;
    if (pack_gpus(w, &v, r, mix, n, &mask, took) < 0)
        return 1e300;
    return mlq_mix_frag(&v, mix, n) - before;
}

struct cand {
    struct mlq_worker *w;
    double score; /* pack's added fragmentation; 0 for the others */
    bool idle;    /* pack: nothing placed on w (see score_of) */
};

/* The fitness function: negative when a is the better place for r. */
static int score_of(enum mlq_place_policy p, const struct cand *a, const struct cand *b,
                    const struct mlq_request *r)
{
    if (p == MLQ_PLACE_SPREAD)
        return spread_compare(a->w, b->w);
    /* Pack opens an idle worker last: the added fragmentation is local to
     * one worker, so it cannot see that a fully free worker is the only kind
     * of place a rare big or typed request fits, and small jobs that spoil
     * each used worker a little would otherwise break them all up. */
    if (p == MLQ_PLACE_PACK && a->idle != b->idle)
        return a->idle ? 1 : -1;
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

/* Whole free GPUs (in hundredths) of each GPU type over the open workers. */
#define TYPE_FREE_MAX 32
struct type_free {
    int n;
    const char *type[TYPE_FREE_MAX];
    int64_t free_h[TYPE_FREE_MAX];
};

static int type_slot(struct type_free *tf, const char *t)
{
    for (int i = 0; i < tf->n; i++)
        if (strcmp(tf->type[i], t) == 0)
            return i;
    if (tf->n == TYPE_FREE_MAX) /* more types than slots: the rest share none */
        return -1;
    tf->type[tf->n] = t;
    tf->free_h[tf->n] = 0;
    return tf->n++;
}

static void type_free_count(struct mlq_workers *ws, struct type_free *tf)
{
    for (size_t i = 0; i < mlq_workers_count(ws); i++) {
        const struct mlq_worker *w = mlq_workers_at(ws, i);
        if (!mlq_place_open(w))
            continue;
        struct mlq_wview v;
        mlq_mix_view(w, &v);
        for (int k = 0; k < v.n; k++) {
            int s = type_slot(tf, v.type[k]);
            if (s >= 0) /* whole GPUs: what a typed whole-GPU request needs */
                tf->free_h[s] += v.free_h[k] == 100 ? 100 : 0;
        }
    }
}

/* What taking a GPU of type t costs the typed requests that want t, in
 * the unit of the fragmentation (hundredths of a GPU per request): their
 * share of the mix, times how much scarcer t is than the mean type. An
 * untyped job then leaves a type typed requests need to them while the
 * others have room, and spreads over the types as they fill. */
static double type_pressure(struct type_free *tf, const char *t, const struct mlq_mix *m)
{
    int s = type_slot(tf, t);
    int64_t free_h = s >= 0 ? tf->free_h[s] : 0, all = 0;
    for (int i = 0; i < tf->n; i++)
        all += tf->free_h[i];
    if (m->total <= 0 || tf->n == 0)
        return 0;
    double mean = (double)all / tf->n;
    return typed_demand(t, m->e, m->n) / m->total * mean / (double)(free_h > 100 ? free_h : 100);
}

struct mlq_worker *mlq_pp_choose(const struct mlq_placer *p, struct mlq_workers *ws,
                                 const struct mlq_request *r, const struct mlq_worker *avoid,
                                 bool (*ok)(const struct mlq_worker *w, void *arg), void *arg)
{
    /* Every entry, by its weight: a rare request still counts a little. */
    struct mlq_mix_entry mix[MLQ_MIX_MAX];
    size_t n = p->policy == MLQ_PLACE_PACK ? p->mix.n : 0;
    struct type_free tf = {0};
    if (n > 0) {
        scarcity_mix(ws, &p->mix, mix);
        type_free_count(ws, &tf);
    }
    struct cand best = {0};
    for (size_t i = 0; i < mlq_workers_count(ws); i++) {
        struct cand c = {mlq_workers_at(ws, i), 0, false};
        if (c.w == avoid || !mlq_place_open(c.w) || !mlq_place_fits_now(c.w, r) ||
            (ok && !ok(c.w, arg)))
            continue;
        if (n > 0) {
            const char *took = NULL;
            c.score = pack_delta(c.w, r, mix, n, &took);
            if (took)
                c.score += mlq_mix_request_h(r) * type_pressure(&tf, took, &p->mix);
            c.idle = c.w->running == 0 && c.w->cpus_used_m == 0 && c.w->mem_used == 0;
        }
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
    const char *took = NULL;
    return pack_gpus(w, &v, r, mix, n, mask, &took);
}
