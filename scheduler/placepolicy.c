/* placepolicy: see placepolicy.h. */
#include "placepolicy.h"

#include <string.h>

#include "err.h"
#include "gpushare.h"
#include "packscore.h"

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

/* GPUs j and k of v are of the same type. */
static bool same_type(const struct mlq_ps_view *v, int j, int k)
{
    return v->tid[j] == v->tid[k] &&
           (v->tid[j] != MLQ_PS_OTHER || strcmp(v->tstr[j], v->tstr[k]) == 0);
}

/* Whole GPUs of v free and of the type of GPU k. */
static int32_t free_like(const struct mlq_ps_view *v, int k)
{
    int32_t n = 0;
    for (int j = 0; j < v->n; j++)
        n += v->free_h[j] == 100 && same_type(v, j, k);
    return n;
}

/* Hundredths r would take of GPU k of v (on worker w), or -1 when it cannot
 * go there. A job's whole GPUs are all of one type: once one is taken
 * (like: its position, else -1), only that type; before, only a type with
 * enough free. */
static int32_t take_of(const struct mlq_worker *w, const struct mlq_ps *ps,
                       const struct mlq_ps_view *v, int k, const struct mlq_request *r, int like)
{
    if (mlq_place_is_share(r))
        return mlq_place_share_fits_gpu(w, r, v->idx[k])
                   ? mlq_gpushare_need(r->gpu_frac, r->gpu_mem, mlq_worker_gpu_mem(w, v->idx[k]))
                   : -1;
    if (v->free_h[k] != 100 || !mlq_ps_wanted(ps, v, k))
        return -1;
    if (like >= 0 ? !same_type(v, like, k) : free_like(v, k) < r->gpus)
        return -1;
    return 100;
}

/* GPU k of v is worth trying: r can take it and no GPU before it looks the
 * same (type, free share, what r takes). */
static bool worth_trying(const struct mlq_ps_view *v, const int32_t *take, int k)
{
    if (take[k] < 0)
        return false;
    for (int j = 0; j < k; j++)
        if (take[j] == take[k] && v->free_h[j] == v->free_h[k] && same_type(v, j, k))
            return false;
    return true;
}

/* Pack: takes r's GPUs (or its share) from v one at a time, each time the
 * one whose loss leaves v least fragmented for the mix, and among those the
 * type that typed requests want least; fills mask (worker indices) and
 * frag (the fragmentation of v after). */
static int pack_gpus(const struct mlq_worker *w, const struct mlq_ps *ps, struct mlq_ps_view *v,
                     const struct mlq_request *r, uint64_t *mask, double *frag)
{
    *mask = 0;
    int like = -1;
    int32_t want = mlq_place_is_share(r) ? 1 : r->gpus, take[MLQ_MAX_GPUS];
    if (want <= 0) /* takes no GPU: v as it is */
        *frag = mlq_ps_frag(ps, v);
    for (int32_t got = 0; got < want; got++) {
        int best = -1;
        double best_f = 0, best_t = 0;
        for (int k = 0; k < v->n; k++)
            take[k] = take_of(w, ps, v, k, r, like);
        for (int k = 0; k < v->n; k++) {
            if (!worth_trying(v, take, k))
                continue;
            v->free_h[k] -= take[k];
            double f = mlq_ps_frag(ps, v), t = ps->typed[v->tid[k]];
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
        *frag = best_f;
        like = best;
        *mask |= 1ULL << v->idx[best];
    }
    return 0;
}

/* What placing r on w costs pack (lower is better): the fragmentation it
 * adds for the mix, plus the placeable typed GPUs it takes at their
 * type's cost. */
static double pack_cost(struct mlq_ps *ps, const struct mlq_worker *w, const struct mlq_request *r)
{
    struct mlq_ps_view before, after;
    uint64_t mask;
    double frag;
    mlq_ps_view(ps, w, &before);
    after = before;
    after.cpus_free -= r->cpus_m;
    after.mem_free -= r->mem;
    if (pack_gpus(w, ps, &after, r, &mask, &frag) < 0)
        return 1e300;
    return frag - mlq_ps_frag(ps, &before) + mlq_ps_type_cost(ps, &before, &after);
}

struct cand {
    struct mlq_worker *w;
    double score; /* pack's cost (pack_cost); 0 for the others */
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

/* Prepares pack's decision for r: the mix, then how many places each
 * shape and each GPU type has, counted over the open workers or kept from
 * a recent decision (packscore.h). */
static void pack_prepare(struct mlq_ps *ps, struct mlq_placer *p, struct mlq_workers *ws,
                         const struct mlq_request *r)
{
    mlq_ps_begin(ps, &p->mix, r);
    if (!mlq_ps_recall(ps, &p->memo, &p->mix)) {
        size_t open = 0;
        for (size_t i = 0; i < mlq_workers_count(ws); i++) {
            const struct mlq_worker *w = mlq_workers_at(ws, i);
            if (!mlq_place_open(w))
                continue;
            struct mlq_ps_view v;
            mlq_ps_view(ps, w, &v);
            mlq_ps_count(ps, &v);
            open++;
        }
        mlq_ps_remember(ps, &p->memo, &p->mix, mlq_ps_refresh_every(open));
    }
    mlq_ps_finish(ps);
}

struct mlq_worker *mlq_pp_choose(struct mlq_placer *p, struct mlq_workers *ws,
                                 const struct mlq_request *r, const struct mlq_worker *avoid,
                                 bool (*ok)(const struct mlq_worker *w, void *arg), void *arg)
{
    /* Every entry, by its weight: a rare request still counts a little. */
    bool pack = p->policy == MLQ_PLACE_PACK && p->mix.n > 0;
    struct mlq_ps ps;
    if (pack)
        pack_prepare(&ps, p, ws, r);
    struct cand best = {0};
    for (size_t i = 0; i < mlq_workers_count(ws); i++) {
        struct cand c = {mlq_workers_at(ws, i), 0, false};
        if (c.w == avoid || !mlq_place_open(c.w) || !mlq_place_fits_now(c.w, r) ||
            (ok && !ok(c.w, arg)))
            continue;
        if (pack) {
            c.idle = c.w->running == 0 && c.w->cpus_used_m == 0 && c.w->mem_used == 0;
            if (best.w && !best.idle && c.idle)
                continue; /* an idle worker loses to any used one (score_of) */
            c.score = pack_cost(&ps, c.w, r);
        }
        if (!best.w || score_of(p->policy, &c, &best, r) < 0)
            best = c;
    }
    return best.w;
}

int mlq_pp_pick_gpus(const struct mlq_placer *p, const struct mlq_worker *w,
                     const struct mlq_request *r, uint64_t *mask)
{
    if (p->policy != MLQ_PLACE_PACK || p->mix.n == 0)
        return mlq_place_pick(w, r, mask);
    struct mlq_ps ps;
    struct mlq_ps_view v;
    mlq_ps_begin(&ps, &p->mix, r);
    mlq_ps_view(&ps, w, &v);
    v.cpus_free -= r->cpus_m;
    v.mem_free -= r->mem;
    double frag;
    return pack_gpus(w, &ps, &v, r, mask, &frag);
}
