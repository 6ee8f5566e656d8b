/* leftover: see leftover.h. Few entries per worker (lost attempts not yet
 * confirmed gone): a plain array, searched linearly. */
#include "leftover.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

struct leftover {
    char attempt_id[MLQ_ID_LEN + 1];
    char job_id[MLQ_ID_LEN + 1];
    int64_t cpus_m, mem;
    uint64_t gpu_mask;
    int32_t gpu_frac; /* a share's request, to unbook it exactly */
    int64_t gpu_mem;
};

struct mlq_leftovers {
    struct leftover *v;
    size_t n, cap;
};

int mlq_leftover_keep(struct mlq_worker *w, const char *attempt_id, const char *job_id,
                      const struct mlq_request *r, uint64_t gpu_mask)
{
    if (!w->leftovers && !(w->leftovers = calloc(1, sizeof *w->leftovers)))
        return MLQ_ENOMEM;
    struct mlq_leftovers *l = w->leftovers;
    if (l->n == l->cap) {
        size_t cap = l->cap ? l->cap * 2 : 4;
        struct leftover *v = realloc(l->v, cap * sizeof *v);
        if (!v)
            return MLQ_ENOMEM;
        l->v = v;
        l->cap = cap;
    }
    struct leftover *e = &l->v[l->n++];
    memset(e, 0, sizeof *e);
    strncpy(e->attempt_id, attempt_id, MLQ_ID_LEN);
    strncpy(e->job_id, job_id, MLQ_ID_LEN);
    e->cpus_m = r->cpus_m;
    e->mem = r->mem;
    e->gpu_mask = gpu_mask;
    e->gpu_frac = r->gpu_frac;
    e->gpu_mem = r->gpu_mem;
    w->cpus_used_m += r->cpus_m;
    w->mem_used += r->mem;
    mlq_place_book_gpus(w, r, gpu_mask);
    return 0;
}

/* Gives entry i's resources back to w and drops it. */
static void drop(struct mlq_worker *w, size_t i)
{
    struct mlq_leftovers *l = w->leftovers;
    const struct leftover *e = &l->v[i];
    /* Clamped at zero: totals may have changed when the worker re-registered. */
    w->cpus_used_m = w->cpus_used_m > e->cpus_m ? w->cpus_used_m - e->cpus_m : 0;
    w->mem_used = w->mem_used > e->mem ? w->mem_used - e->mem : 0;
    struct mlq_request r = {.gpu_frac = e->gpu_frac, .gpu_mem = e->gpu_mem};
    mlq_place_unbook_gpus(w, &r, e->gpu_mask);
    l->v[i] = l->v[--l->n];
}

static long find(const struct mlq_worker *w, const char *attempt_id)
{
    for (size_t i = 0; w->leftovers && i < w->leftovers->n; i++)
        if (strcmp(w->leftovers->v[i].attempt_id, attempt_id) == 0)
            return (long)i;
    return -1;
}

bool mlq_leftover_has(const struct mlq_worker *w, const char *attempt_id)
{
    return find(w, attempt_id) >= 0;
}

bool mlq_leftover_release(struct mlq_worker *w, const char *attempt_id)
{
    long i = find(w, attempt_id);
    if (i >= 0)
        drop(w, (size_t)i);
    return i >= 0;
}

static int held_cmp(const void *a, const void *b)
{
    return strcmp(((const struct mlq_held_attempt *)a)->attempt_id,
                  ((const struct mlq_held_attempt *)b)->attempt_id);
}

void mlq_leftover_reconcile(struct mlq_worker *w, const struct mlq_held_attempt *held, size_t n)
{
    for (size_t i = 0; w->leftovers && i < w->leftovers->n;) {
        struct mlq_held_attempt key;
        memcpy(key.attempt_id, w->leftovers->v[i].attempt_id, sizeof key.attempt_id);
        const struct mlq_held_attempt *h =
            n ? bsearch(&key, held, n, sizeof *held, held_cmp) : NULL;
        if (!h) /* gone; one it holds as finished is freed by its report */
            drop(w, i);
        else
            i++;
    }
}

size_t mlq_leftover_count(const struct mlq_worker *w)
{
    return w->leftovers ? w->leftovers->n : 0;
}

uint64_t mlq_leftover_gpus(const struct mlq_worker *w)
{
    uint64_t m = 0;
    for (size_t i = 0; w->leftovers && i < w->leftovers->n; i++)
        m |= w->leftovers->v[i].gpu_mask;
    return m;
}

const char *mlq_leftover_gpu_job(const struct mlq_worker *w, int gpu)
{
    for (size_t i = 0; w->leftovers && i < w->leftovers->n; i++)
        if (gpu >= 0 && gpu < 64 && (w->leftovers->v[i].gpu_mask & (1ULL << gpu)))
            return w->leftovers->v[i].job_id;
    return NULL;
}

void mlq_leftover_free(struct mlq_worker *w)
{
    if (w->leftovers)
        free(w->leftovers->v);
    free(w->leftovers);
    w->leftovers = NULL;
}
