/* stranded: see stranded.h. */
#include "stranded.h"

#include <stdlib.h>
#include <string.h>

#include "ctx.h"
#include "err.h"
#include "queue.h"

int mlq_stranded_demand(struct mlq_ctx *c, struct mlq_demand *d)
{
    memset(d, 0, sizeof *d);
    d->nmix = mlq_mix_typical(&c->placer.mix, d->mix);
    size_t n = mlq_queue_nshapes(c->queue);
    if (n > MLQ_STRANDED_MAX_HEADS)
        n = MLQ_STRANDED_MAX_HEADS;
    if (n == 0)
        return 0;
    if (!(d->heads = calloc(n, sizeof *d->heads)))
        return MLQ_ENOMEM;
    for (size_t i = 0; i < n; i++) {
        struct mlq_job *h = mlq_queue_shape_head(c->queue, i);
        if (!h)
            continue;
        struct mlq_request r = mlq_place_request(&h->row.spec);
        if (mlq_mix_request_h(&r) > 0)
            d->heads[d->nheads++] = r;
    }
    return 0;
}

void mlq_stranded_demand_free(struct mlq_demand *d)
{
    free(d->heads);
    d->heads = NULL;
    d->nheads = 0;
}

/* True when GPU k of v can serve some demand. */
static bool usable(const struct mlq_worker *w, const struct mlq_wview *v, int k,
                   const struct mlq_demand *d)
{
    for (size_t i = 0; i < d->nmix; i++)
        if (mlq_mix_gpu_usable(v, k, &d->mix[i]))
            return true;
    for (size_t i = 0; i < d->nheads; i++) {
        struct mlq_mix_entry e;
        mlq_mix_entry_of(&d->heads[i], &e);
        if (mlq_place_fits_now(w, &d->heads[i]) && mlq_mix_gpu_usable(v, k, &e))
            return true;
    }
    return false;
}

int64_t mlq_stranded_worker(const struct mlq_worker *w, const struct mlq_demand *d,
                            int32_t *per_gpu)
{
    if (per_gpu)
        memset(per_gpu, 0, MLQ_MAX_GPUS * sizeof *per_gpu);
    if ((d->nmix == 0 && d->nheads == 0) || !mlq_place_open(w))
        return 0;
    struct mlq_wview v;
    mlq_mix_view(w, &v);
    int64_t sum = 0;
    for (int k = 0; k < v.n; k++) {
        if (v.free_h[k] <= 0 || usable(w, &v, k, d))
            continue;
        sum += v.free_h[k];
        if (per_gpu)
            per_gpu[v.idx[k]] = v.free_h[k];
    }
    return sum;
}
