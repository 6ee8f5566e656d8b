/* gpushare: see gpushare.h. A worker holds few share bookings: a plain
 * array, searched linearly. */
#include "gpushare.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

int32_t mlq_gpushare_need(int32_t frac, int64_t mem, int64_t total)
{
    if (frac < 0 || frac > MLQ_GPUSHARE_WHOLE || mem < 0)
        return -1;
    if (mem == 0)
        return frac;
    if (total <= 0 || mem > total)
        return -1;
    /* mem <= total <= 2^50 (bounds.h), so mem * 100 cannot overflow */
    int64_t by_mem = (mem * MLQ_GPUSHARE_WHOLE + total - 1) / total;
    return by_mem > frac ? (int32_t)by_mem : frac;
}

static bool index_ok(int gpu)
{
    return gpu >= 0 && gpu < MLQ_MAX_GPUS;
}

bool mlq_gpushare_fits(const struct mlq_gpushare *s, int gpu, int32_t frac, int64_t mem,
                       int64_t total)
{
    int32_t need = mlq_gpushare_need(frac, mem, total);
    if (!index_ok(gpu) || need < 0 || need > MLQ_GPUSHARE_WHOLE - s->share[gpu])
        return false;
    return mem == 0 || s->mem[gpu] + mem <= total;
}

int32_t mlq_gpushare_free(const struct mlq_gpushare *s, int gpu)
{
    if (!index_ok(gpu) || s->share[gpu] >= MLQ_GPUSHARE_WHOLE)
        return 0;
    return MLQ_GPUSHARE_WHOLE - s->share[gpu];
}

/* What one booking counts, also where the need is unknown (see book). */
static int32_t counted(int32_t frac, int64_t mem, int64_t total)
{
    int32_t need = mlq_gpushare_need(frac, mem, total);
    if (need < 0)
        need = frac > MLQ_GPUSHARE_WHOLE ? MLQ_GPUSHARE_WHOLE : frac;
    return need > 0 ? need : 1;
}

static void add(struct mlq_gpushare *s, const struct mlq_gpushare_entry *e, int64_t total)
{
    s->share[e->gpu] += counted(e->frac, e->mem, total);
    s->mem[e->gpu] += e->mem;
    s->n[e->gpu]++;
}

int mlq_gpushare_book(struct mlq_gpushare *s, int gpu, int32_t frac, int64_t mem, int64_t total)
{
    if (!index_ok(gpu))
        return MLQ_EINVAL;
    if (s->nv == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        struct mlq_gpushare_entry *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return MLQ_ENOMEM;
        s->v = v;
        s->cap = cap;
    }
    struct mlq_gpushare_entry *e = &s->v[s->nv++];
    *e = (struct mlq_gpushare_entry){.gpu = gpu, .frac = frac, .mem = mem};
    add(s, e, total);
    return 0;
}

bool mlq_gpushare_unbook(struct mlq_gpushare *s, int gpu, int32_t frac, int64_t mem,
                         const int64_t totals[MLQ_MAX_GPUS])
{
    for (size_t i = 0; index_ok(gpu) && i < s->nv; i++) {
        struct mlq_gpushare_entry *e = &s->v[i];
        if (e->gpu != gpu || e->frac != frac || e->mem != mem)
            continue;
        /* recomputed rather than subtracted: exact even when a GPU's
         * memory became known after the booking */
        s->v[i] = s->v[--s->nv];
        mlq_gpushare_retotal(s, totals);
        return true;
    }
    return false;
}

void mlq_gpushare_retotal(struct mlq_gpushare *s, const int64_t totals[MLQ_MAX_GPUS])
{
    memset(s->share, 0, sizeof s->share);
    memset(s->mem, 0, sizeof s->mem);
    memset(s->n, 0, sizeof s->n);
    for (size_t i = 0; i < s->nv; i++)
        add(s, &s->v[i], totals[s->v[i].gpu]);
}

void mlq_gpushare_clear(struct mlq_gpushare *s)
{
    free(s->v);
    memset(s, 0, sizeof *s);
}
