/* logrelay: see logrelay.h. A small array; requests live for milliseconds. */
#include "logrelay.h"

#include <stdlib.h>

#include "err.h"

struct mlq_logrelay {
    struct mlq_logreq items[MLQ_LOGRELAY_MAX];
    size_t n;
    uint64_t next_token;
};

struct mlq_logrelay *mlq_logrelay_create(void)
{
    struct mlq_logrelay *lr = calloc(1, sizeof *lr);
    if (lr)
        lr->next_token = 1;
    return lr;
}

void mlq_logrelay_destroy(struct mlq_logrelay **lr)
{
    if (!lr || !*lr)
        return;
    free(*lr);
    *lr = NULL;
}

uint64_t mlq_logrelay_add(struct mlq_logrelay *lr, const struct mlq_logreq *req)
{
    if (lr->n == MLQ_LOGRELAY_MAX)
        return 0;
    struct mlq_logreq *r = &lr->items[lr->n++];
    *r = *req;
    r->token = lr->next_token++;
    return r->token;
}

static void remove_at(struct mlq_logrelay *lr, size_t i, struct mlq_logreq *out)
{
    *out = lr->items[i];
    lr->items[i] = lr->items[--lr->n];
}

int mlq_logrelay_take(struct mlq_logrelay *lr, uint64_t token, struct mlq_logreq *out)
{
    for (size_t i = 0; i < lr->n; i++) {
        if (lr->items[i].token == token) {
            remove_at(lr, i, out);
            return 0;
        }
    }
    return MLQ_ENOTFOUND;
}

int mlq_logrelay_take_expired(struct mlq_logrelay *lr, int64_t now_mono, struct mlq_logreq *out)
{
    for (size_t i = 0; i < lr->n; i++) {
        if (lr->items[i].deadline_mono <= now_mono) {
            remove_at(lr, i, out);
            return 1;
        }
    }
    return 0;
}
