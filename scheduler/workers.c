/* workers: see workers.h. A flat array with linear lookups: a cluster has at
 * most a few thousand workers and lookups happen per message, not per job. */
#include "workers.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leftover.h"

struct mlq_workers {
    struct mlq_worker *items;
    size_t n, cap;
};

struct mlq_workers *mlq_workers_create(void)
{
    return calloc(1, sizeof(struct mlq_workers));
}

static void free_desc(char **labels, uint32_t nlabels, struct mlq_gpuinfo *gpus, uint32_t ngpus)
{
    for (uint32_t i = 0; i < nlabels; i++)
        free(labels[i]);
    free(labels);
    for (uint32_t i = 0; i < ngpus; i++)
        mlq_proto_gpuinfo_free(&gpus[i]);
    free(gpus);
}

void mlq_workers_destroy(struct mlq_workers **ws)
{
    if (!ws || !*ws)
        return;
    for (size_t i = 0; i < (*ws)->n; i++) {
        struct mlq_worker *w = &(*ws)->items[i];
        free_desc(w->labels, w->nlabels, w->gpu_list, w->ngpu_list);
        mlq_leftover_free(w);
        free(w->gstat);
        free(w->rdv_used);
    }
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
    snprintf(w->pool, sizeof w->pool, "default");
    w->state = MLQ_WORKER_DOWN;
    return w;
}

static char *dup_or_null(const char *s, bool *oom)
{
    if (!s)
        return NULL;
    char *d = strdup(s);
    *oom |= !d;
    return d;
}

/* Deep copies of the register message's lists. */
static bool copy_desc(char *const *labels, uint32_t nlabels, const struct mlq_gpuinfo *gpus,
                      uint32_t ngpus, char ***lab_out, struct mlq_gpuinfo **gpu_out)
{
    bool oom = false;
    char **lab = nlabels ? calloc(nlabels, sizeof *lab) : NULL;
    struct mlq_gpuinfo *g = ngpus ? calloc(ngpus, sizeof *g) : NULL;
    oom = (nlabels && !lab) || (ngpus && !g);
    for (uint32_t i = 0; !oom && i < nlabels; i++)
        lab[i] = dup_or_null(labels[i], &oom);
    for (uint32_t i = 0; !oom && i < ngpus; i++) {
        g[i].index = gpus[i].index;
        g[i].mem = gpus[i].mem;
        g[i].uuid = dup_or_null(gpus[i].uuid, &oom);
        g[i].model = dup_or_null(gpus[i].model, &oom);
        g[i].type = dup_or_null(gpus[i].type, &oom);
    }
    if (oom) {
        free_desc(lab, lab ? nlabels : 0, g, g ? ngpus : 0);
        return false;
    }
    *lab_out = lab;
    *gpu_out = g;
    return true;
}

int mlq_workers_describe(struct mlq_worker *w, const char *pool, char *const *labels,
                         uint32_t nlabels, const struct mlq_gpuinfo *gpus, uint32_t ngpus,
                         struct mlq_err *err)
{
    char **lab = NULL;
    struct mlq_gpuinfo *g = NULL;
    if (!copy_desc(labels, nlabels, gpus, ngpus, &lab, &g))
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory describing worker %s", w->name);
    free_desc(w->labels, w->nlabels, w->gpu_list, w->ngpu_list);
    w->labels = lab;
    w->nlabels = nlabels;
    w->gpu_list = g;
    w->ngpu_list = ngpus;
    snprintf(w->pool, sizeof w->pool, "%s", pool && pool[0] ? pool : "default");
    return 0;
}

bool mlq_worker_has_label(const struct mlq_worker *w, const char *kv)
{
    for (uint32_t i = 0; i < w->nlabels; i++)
        if (strcmp(w->labels[i], kv) == 0)
            return true;
    return false;
}

const char *mlq_worker_gpu_type(const struct mlq_worker *w, int i)
{
    for (uint32_t k = 0; k < w->ngpu_list; k++)
        if (w->gpu_list[k].index == i)
            return w->gpu_list[k].type ? w->gpu_list[k].type : "";
    return "";
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

size_t mlq_workers_index(const struct mlq_workers *ws, const struct mlq_worker *w)
{
    return (size_t)(w - ws->items);
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
