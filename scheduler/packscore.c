/* packscore: see packscore.h. */
#include "packscore.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "gpushare.h"

void mlq_ps_begin(struct mlq_ps *ps, const struct mlq_mix *m, const struct mlq_request *r)
{
    memset(ps, 0, sizeof *ps);
    ps->n = m->n < MLQ_MIX_MAX ? m->n : MLQ_MIX_MAX;
    ps->total = m->total;
    ps->src = m->e;
    for (size_t i = 0; i < ps->n; i++) {
        const struct mlq_mix_entry *s = &m->e[i];
        ps->e[i] = (struct mlq_ps_entry){
            s->gpu_h, s->cpus_m, s->mem, s->weight, s->type[0] != 0, s->type[0] ? 0 : ~0ULL, 0};
    }
    ps->want = r->gpu_type && *r->gpu_type ? r->gpu_type : NULL;
    ps->want_takes = ps->want ? 0 : ~0ULL;
    ps->type[0] = "";
    ps->ntypes = 1;
}

/* CPUs and memory per GPU of the whole-GPU entries that take type id t
 * (typed ones; all whole-GPU ones when no typed one does). */
static void per_gpu_needs(struct mlq_ps *ps, int t)
{
    for (int pass = 0; pass < 2; pass++) {
        double w = 0, c = 0, m = 0;
        for (size_t i = 0; i < ps->n; i++) {
            const struct mlq_ps_entry *e = &ps->e[i];
            if (e->gpu_h < 100 || !((e->takes >> t) & 1) || (pass == 0 && !e->typed))
                continue;
            w += e->weight;
            c += e->weight * e->cpus * 100 / e->gpu_h;
            m += e->weight * e->mem * 100 / e->gpu_h;
        }
        if (w > 0) {
            ps->cpg[t] = c / w;
            ps->mpg[t] = m / w;
            return;
        }
    }
}

/* The id of GPU type s, added on first sight with the entries that take it. */
static int tid_of(struct mlq_ps *ps, const char *s)
{
    if (!*s)
        return 0;
    for (int t = 1; t < ps->ntypes; t++)
        if (strcmp(ps->type[t], s) == 0)
            return t;
    if (ps->ntypes == MLQ_PS_OTHER)
        return MLQ_PS_OTHER;
    int t = ps->ntypes++;
    ps->type[t] = s;
    for (size_t i = 0; i < ps->n; i++)
        if (ps->e[i].typed && mlq_mix_type_ok(ps->src[i].type, s)) {
            ps->e[i].takes |= 1ULL << t;
            ps->typed[t] += ps->e[i].weight;
        }
    if (ps->want && mlq_mix_type_ok(ps->want, s))
        ps->want_takes |= 1ULL << t;
    per_gpu_needs(ps, t);
    return t;
}

/* Type ids of w's offered GPUs, position by position. */
static void view_gpus(struct mlq_ps *ps, const struct mlq_worker *w, struct mlq_ps_view *v)
{
    const char *ts[MLQ_MAX_GPUS] = {0};
    for (uint32_t k = 0; k < w->ngpu_list; k++) {
        int i = w->gpu_list[k].index;
        if (i >= 0 && i < MLQ_MAX_GPUS)
            ts[i] = w->gpu_list[k].type ? w->gpu_list[k].type : "";
    }
    const char *last = NULL;
    int last_tid = 0;
    for (int i = 0; i < w->gpus && i < MLQ_MAX_GPUS; i++) {
        if (!mlq_worker_gpu_offered(w, i))
            continue;
        const char *s = ts[i] ? ts[i] : "";
        int t = last && (last == s || strcmp(last, s) == 0) ? last_tid : tid_of(ps, s);
        last = s;
        last_tid = t;
        v->idx[v->n] = i;
        v->free_h[v->n] = ((w->gpu_used >> i) & 1) ? 0 : mlq_gpushare_free(&w->gshare, i);
        v->tid[v->n] = (uint8_t)t;
        v->tstr[v->n++] = s;
        v->types |= 1ULL << t;
    }
}

void mlq_ps_view(struct mlq_ps *ps, const struct mlq_worker *w, struct mlq_ps_view *v)
{
    v->cpus_free = w->cpus_m > w->cpus_used_m ? w->cpus_m - w->cpus_used_m : 0;
    v->mem_free = w->mem > w->mem_used ? w->mem - w->mem_used : 0;
    v->n = 0;
    v->types = 0;
    view_gpus(ps, w, v);
    memset(v->ok, 0, sizeof v->ok);
    for (uint64_t ts = v->types; ts; ts &= ts - 1) {
        int t = __builtin_ctzll(ts);
        uint64_t gm = 0;
        for (int k = 0; k < v->n; k++)
            gm |= (uint64_t)(v->tid[k] == t) << k;
        for (size_t i = 0; i < ps->n; i++)
            if ((ps->e[i].takes >> t) & 1)
                v->ok[i] |= gm;
    }
}

static bool host_fits(const struct mlq_ps_view *v, const struct mlq_ps_entry *e)
{
    return e->cpus <= (double)v->cpus_free && e->mem <= (double)v->mem_free;
}

/* Set bits of x; inline, where __builtin_popcountll without a popcount
 * instruction is a library call on the hottest path of a decision. */
static inline int bits(uint64_t x)
{
    x -= (x >> 1) & 0x5555555555555555ULL;
    x = (x & 0x3333333333333333ULL) + ((x >> 2) & 0x3333333333333333ULL);
    x = (x + (x >> 4)) & 0x0f0f0f0f0f0f0f0fULL;
    return (int)((x * 0x0101010101010101ULL) >> 56);
}

/* v's whole free GPUs and its partly free ones, as masks of positions. */
struct free_masks {
    uint64_t whole, part;
};

static struct free_masks masks_of(const struct mlq_ps_view *v)
{
    struct free_masks m = {0, 0};
    for (int k = 0; k < v->n; k++) {
        m.whole |= (uint64_t)(v->free_h[k] == 100) << k;
        m.part |= (uint64_t)(v->free_h[k] > 0 && v->free_h[k] < 100) << k;
    }
    return m;
}

/* Free capacity of entry i's GPUs on v it cannot use (mlq_mix_unusable_h);
 * *all gets their free capacity. Whole free GPUs suit every request that
 * fits the host, so only the partly free ones are looked at one by one. */
static int64_t unusable(const struct mlq_ps *ps, const struct mlq_ps_view *v,
                        const struct free_masks *fm, size_t i, int64_t *all)
{
    const struct mlq_ps_entry *e = &ps->e[i];
    int whole = bits(v->ok[i] & fm->whole);
    int64_t bad = 0, part = 0;
    for (uint64_t m = v->ok[i] & fm->part; m; m &= m - 1) {
        int32_t f = v->free_h[__builtin_ctzll(m)];
        part += f;
        bad += e->gpu_h >= 100 || f < e->gpu_h ? f : 0;
    }
    *all = 100 * (int64_t)whole + part;
    if (!host_fits(v, e) || (e->gpu_h >= 100 && whole * 100 < e->gpu_h))
        return *all;
    return bad;
}

int64_t mlq_ps_placeable(const struct mlq_ps *ps, const struct mlq_ps_view *v, int t)
{
    int64_t n = 0;
    for (int k = 0; k < v->n; k++)
        n += v->tid[k] == t && v->free_h[k] == 100;
    if (ps->cpg[t] >= 1 && (double)n * ps->cpg[t] > (double)v->cpus_free)
        n = (int64_t)((double)v->cpus_free / ps->cpg[t]);
    if (ps->mpg[t] >= 1 && (double)n * ps->mpg[t] > (double)v->mem_free)
        n = (int64_t)((double)v->mem_free / ps->mpg[t]);
    return n;
}

void mlq_ps_count(struct mlq_ps *ps, const struct mlq_ps_view *v)
{
    struct free_masks fm = masks_of(v);
    for (size_t i = 0; i < ps->n; i++) {
        int64_t all, bad = unusable(ps, v, &fm, i, &all);
        ps->e[i].hosts += all > 0 && bad < all;
    }
    for (int t = 1; t < ps->ntypes; t++)
        if ((v->types >> t) & 1)
            ps->placeable[t] += mlq_ps_placeable(ps, v, t);
    for (int k = 0; k < v->n; k++)
        ps->gpus[v->tid[k]]++;
}

/* Each entry's weight over the square root of the workers it fits on
 * (plus one): spoiling the last few places a shape fits costs more than
 * spoiling one of hundreds.
 *
 * A placeable whole GPU lost, of a type some typed request wants, costs
 * the typed requests' share of the mix times how much less of that type
 * is placeable (as a share of its GPUs) than of the mean type. Flexible
 * requests then use the types evenly, and each type keeps room for the
 * requests that need it in proportion to its size. (Keeping room in
 * proportion to the typed demand for each type instead spent first the
 * types that few typed requests want, and their rare multi-GPU requests
 * then found no node: README.md, "Placement and fragmentation".) */
void mlq_ps_finish(struct mlq_ps *ps)
{
    for (size_t i = 0; i < ps->n; i++)
        ps->e[i].weight /= sqrt((double)ps->e[i].hosts + 1);
    double typed = 0, mean = 0, share[MLQ_PS_TYPES] = {0};
    int types = 0;
    for (int t = 1; t < ps->ntypes; t++) {
        typed += ps->typed[t];
        if (ps->gpus[t] > 0) {
            share[t] = (double)ps->placeable[t] / (double)ps->gpus[t];
            mean += share[t];
            types++;
        }
    }
    if (ps->total <= 0 || types == 0)
        return;
    mean /= types;
    for (int t = 1; t < ps->ntypes; t++)
        if (ps->typed[t] > 0)
            ps->cost[t] = 100.0 * typed / ps->total * mean / (share[t] > 0.001 ? share[t] : 0.001);
}

bool mlq_ps_wanted(const struct mlq_ps *ps, const struct mlq_ps_view *v, int k)
{
    if (!ps->want)
        return true;
    if (v->tid[k] == MLQ_PS_OTHER)
        return mlq_mix_type_ok(ps->want, v->tstr[k]);
    return (ps->want_takes >> v->tid[k]) & 1;
}

double mlq_ps_frag(const struct mlq_ps *ps, const struct mlq_ps_view *v)
{
    double f = 0, total = 0;
    struct free_masks fm = masks_of(v);
    for (size_t i = 0; i < ps->n; i++) {
        int64_t all;
        f += ps->e[i].weight * (double)unusable(ps, v, &fm, i, &all);
        total += ps->e[i].weight;
    }
    return total > 0 ? f / total : 0;
}

double mlq_ps_type_cost(const struct mlq_ps *ps, const struct mlq_ps_view *before,
                        const struct mlq_ps_view *after)
{
    double c = 0;
    for (int t = 1; t < ps->ntypes; t++)
        if (ps->cost[t] > 0 && ((before->types >> t) & 1))
            c += ps->cost[t] *
                 (double)(mlq_ps_placeable(ps, before, t) - mlq_ps_placeable(ps, after, t));
    return c;
}

int mlq_ps_refresh_every(size_t n)
{
    return n < 128 ? 1 : (int)(n / 64);
}

bool mlq_ps_recall(struct mlq_ps *ps, struct mlq_ps_memo *memo, const struct mlq_mix *m)
{
    if (memo->left <= 0 || memo->shapes != m->shapes || (size_t)memo->ntypes > MLQ_PS_TYPES)
        return false;
    memo->left--;
    for (size_t i = 0; i < ps->n; i++)
        ps->e[i].hosts = memo->hosts[i];
    /* In the memo's order: a fresh ps gives them the same ids. */
    for (int t = 1; t < memo->ntypes; t++) {
        int id = tid_of(ps, memo->type[t]);
        ps->placeable[id] += memo->placeable[t];
        ps->gpus[id] += memo->gpus[t];
    }
    return true;
}

void mlq_ps_remember(const struct mlq_ps *ps, struct mlq_ps_memo *memo, const struct mlq_mix *m,
                     int n)
{
    memo->shapes = m->shapes;
    memo->left = n - 1;
    for (size_t i = 0; i < ps->n; i++)
        memo->hosts[i] = ps->e[i].hosts;
    memo->ntypes = ps->ntypes;
    for (int t = 1; t < ps->ntypes; t++) {
        snprintf(memo->type[t], sizeof memo->type[t], "%s", ps->type[t]);
        memo->placeable[t] = ps->placeable[t];
        memo->gpus[t] = ps->gpus[t];
    }
}
