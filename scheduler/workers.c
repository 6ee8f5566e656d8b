/* workers: see workers.h. A flat array with linear lookups: a cluster has at
 * most a few thousand workers and lookups happen per message, not per job. */
#include "workers.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct mlq_workers {
    struct mlq_worker *items;
    size_t n, cap;
};

struct mlq_workers *mlq_workers_create(void)
{
    return calloc(1, sizeof(struct mlq_workers));
}

void mlq_workers_destroy(struct mlq_workers **ws)
{
    if (!ws || !*ws)
        return;
    free((*ws)->items);
    free(*ws);
    *ws = NULL;
}

struct mlq_worker *mlq_workers_get(struct mlq_workers *ws, const char *name)
{
    for (size_t i = 0; i < ws->n; i++)
        if (strcmp(ws->items[i].name, name) == 0)
            return &ws->items[i];
    return NULL;
}

struct mlq_worker *mlq_workers_add(struct mlq_workers *ws, const char *name)
{
    struct mlq_worker *w = mlq_workers_get(ws, name);
    if (w)
        return w;
    if (ws->n == MLQ_MAX_WORKERS || strlen(name) > MLQ_MAX_NAME)
        return NULL;
    if (ws->n == ws->cap) {
        size_t cap = ws->cap ? ws->cap * 2 : 16;
        struct mlq_worker *items = realloc(ws->items, cap * sizeof *items);
        if (!items)
            return NULL;
        ws->items = items;
        ws->cap = cap;
    }
    w = &ws->items[ws->n++];
    memset(w, 0, sizeof *w);
    snprintf(w->name, sizeof w->name, "%s", name);
    w->state = MLQ_WORKER_DOWN;
    return w;
}

struct mlq_worker *mlq_workers_by_peer(struct mlq_workers *ws, const struct mlq_peer *peer)
{
    for (size_t i = 0; i < ws->n; i++) {
        struct mlq_worker *w = &ws->items[i];
        if (w->state == MLQ_WORKER_UP && w->peer.len == peer->len &&
            memcmp(w->peer.id, peer->id, peer->len) == 0)
            return w;
    }
    return NULL;
}

size_t mlq_workers_count(const struct mlq_workers *ws)
{
    return ws->n;
}

struct mlq_worker *mlq_workers_at(struct mlq_workers *ws, size_t i)
{
    return i < ws->n ? &ws->items[i] : NULL;
}

const char *mlq_worker_state_name(enum mlq_worker_state s)
{
    switch (s) {
    case MLQ_WORKER_DOWN:
        return "DOWN";
    case MLQ_WORKER_UP:
        return "UP";
    case MLQ_WORKER_LOST:
        return "LOST";
    }
    return "?";
}
