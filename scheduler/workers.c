/* workers: see workers.h. An array of pointers with linear lookups by
 * name: a cluster has at most a few thousand workers and those happen per
 * message, not per job. Lookups by connection (routing id) go through a
 * hash index instead: the outbox asks one for each peer at every flush, so a
 * scan there would cost O(workers) per peer. Each record is allocated once and never moves, so a
 * pointer to it stays valid while the registry grows (the reservation, a pass's candidates and a
 * handler's sender all keep one across mlq_workers_add). */
#include "workers.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "leftover.h"

/* A record and its position, so that mlq_workers_index is O(1): w comes
 * first, so a struct mlq_worker * of the registry is also its record's. */
struct record {
    struct mlq_worker w;
    size_t idx;
    bool indexed;             /* in the peer index under w.peer */
    size_t peer_hash;         /* of w.peer when indexed (its bucket, however w.peer changes) */
    struct record *peer_next; /* the next one in its peer bucket */
};

/* The peer index holds each worker under the routing id of its latest
 * connection (at most one entry a worker, so it is bounded by the
 * registry); a lookup still checks that the worker is UP, so a worker lost
 * or gone is not found without the index being told. */
struct mlq_workers {
    struct record **items;
    size_t n, cap;
    struct record **buckets; /* nbuckets, a power of two */
    size_t nbuckets, nindexed;
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
        struct mlq_worker *w = &(*ws)->items[i]->w;
        free_desc(w->labels, w->nlabels, w->gpu_list, w->ngpu_list);
        free_desc(w->rep_labels, w->rep_nlabels, NULL, 0);
        mlq_workers_override_free(w->ov);
        mlq_leftover_free(w);
        free(w->gstat);
        free(w->rdv_used);
        mlq_gpushare_clear(&w->gshare);
        free((*ws)->items[i]);
    }
    free((*ws)->items);
    free((*ws)->buckets);
    free(*ws);
    *ws = NULL;
}

struct mlq_worker *mlq_workers_get(struct mlq_workers *ws, const char *name)
{
    for (size_t i = 0; i < ws->n; i++)
        if (strcmp(ws->items[i]->w.name, name) == 0)
            return &ws->items[i]->w;
    return NULL;
}

struct mlq_worker *mlq_workers_add(struct mlq_workers *ws, const char *name)
{
    struct mlq_worker *w = mlq_workers_get(ws, name);
    if (w)
        return w;
    if (ws->n == MLQ_MAX_WORKERS || strlen(name) > MLQ_MAX_NAME)
        return NULL;
    if (ws->n == ws->cap) { /* only the pointers move */
        size_t cap = ws->cap ? ws->cap * 2 : 16;
        struct record **items = realloc(ws->items, cap * sizeof *items);
        if (!items)
            return NULL;
        ws->items = items;
        ws->cap = cap;
    }
    struct record *rec = calloc(1, sizeof *rec);
    if (!rec)
        return NULL;
    rec->idx = ws->n;
    ws->items[ws->n++] = rec;
    w = &rec->w;
    snprintf(w->name, sizeof w->name, "%s", name);
    snprintf(w->pool, sizeof w->pool, "default");
    snprintf(w->rep_pool, sizeof w->rep_pool, "default");
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
    free_desc(w->rep_labels, w->rep_nlabels, w->gpu_list, w->ngpu_list);
    w->rep_labels = lab;
    w->rep_nlabels = nlabels;
    w->gpu_list = g;
    w->ngpu_list = ngpus;
    int64_t mems[MLQ_MAX_GPUS];
    mlq_worker_gpu_mems(w, mems);
    mlq_gpushare_retotal(&w->gshare, mems); /* what a share of memory takes may change */
    snprintf(w->rep_pool, sizeof w->rep_pool, "%s", pool && pool[0] ? pool : "default");
    return mlq_workers_apply_desc(w, err);
}

/* Length of the key of "k=v" (the whole string when it has no '='). */
static size_t key_len(const char *kv)
{
    return strcspn(kv, "=");
}

static bool label_key_set(const struct mlq_worker_override *ov, const char *kv)
{
    for (uint32_t i = 0; ov && i < ov->nlabels; i++)
        if (key_len(ov->labels[i]) == key_len(kv) && strncmp(ov->labels[i], kv, key_len(kv)) == 0)
            return true;
    return false;
}

int mlq_workers_apply_desc(struct mlq_worker *w, struct mlq_err *err)
{
    const struct mlq_worker_override *ov = w->ov;
    uint32_t cap = w->rep_nlabels + (ov ? ov->nlabels : 0), n = 0;
    char **lab = cap ? calloc(cap, sizeof *lab) : NULL;
    bool oom = cap && !lab;
    /* The worker's own labels, less those the admin dropped or replaced. */
    for (uint32_t i = 0; !oom && i < w->rep_nlabels; i++)
        if (!(ov && (ov->clear_labels || label_key_set(ov, w->rep_labels[i]))))
            lab[n++] = dup_or_null(w->rep_labels[i], &oom);
    for (uint32_t i = 0; !oom && ov && i < ov->nlabels; i++)
        lab[n++] = dup_or_null(ov->labels[i], &oom);
    if (oom) {
        free_desc(lab, lab ? n : 0, NULL, 0);
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory describing worker %s", w->name);
    }
    free_desc(w->labels, w->nlabels, NULL, 0);
    w->labels = lab;
    w->nlabels = n;
    snprintf(w->pool, sizeof w->pool, "%s", ov && ov->pool[0] ? ov->pool : w->rep_pool);
    return 0;
}

/* GPUs not offered under a cap of n GPUs of type (NULL: of any type):
 * the ones in use first, then the lowest indices, are kept, so that what
 * is in use never counts twice against the cap. */
static uint64_t withheld_for(const struct mlq_worker *w, int32_t n, const char *type)
{
    uint64_t mine = 0, keep = 0;
    for (int i = 0; i < w->gpus && i < MLQ_MAX_GPUS; i++)
        if (!type || strcmp(mlq_worker_gpu_type(w, i), type) == 0)
            mine |= 1ULL << i;
    int32_t kept = 0;
    for (int pass = 0; pass < 2; pass++)
        for (int i = 0; i < w->gpus && i < MLQ_MAX_GPUS && kept < n; i++) {
            uint64_t bit = 1ULL << i;
            bool used = mlq_worker_gpu_busy(w, i);
            if ((mine & bit) && !(keep & bit) && used == (pass == 0)) {
                keep |= bit;
                kept++;
            }
        }
    return mine & ~keep;
}

void mlq_workers_apply_res(struct mlq_worker *w)
{
    const struct mlq_worker_override *ov = w->ov;
    w->cpus_m = ov && ov->cpus_m > 0 && ov->cpus_m < w->rep_cpus_m ? ov->cpus_m : w->rep_cpus_m;
    w->mem = ov && ov->mem > 0 && ov->mem < w->rep_mem ? ov->mem : w->rep_mem;
    w->gpu_withheld = 0;
    if (ov && ov->gpus >= 0)
        w->gpu_withheld = withheld_for(w, ov->gpus, ov->gpu_type[0] ? ov->gpu_type : NULL);
}

void mlq_workers_override_free(struct mlq_worker_override *ov)
{
    if (!ov)
        return;
    free_desc(ov->labels, ov->nlabels, NULL, 0);
    free(ov);
}

bool mlq_worker_gpu_offered(const struct mlq_worker *w, int i)
{
    return i >= 0 && i < w->gpus && i < MLQ_MAX_GPUS && !((w->gpu_withheld >> i) & 1);
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

int64_t mlq_worker_gpu_mem(const struct mlq_worker *w, int i)
{
    for (uint32_t k = 0; k < w->ngpu_list; k++)
        if (w->gpu_list[k].index == i)
            return w->gpu_list[k].mem > 0 ? w->gpu_list[k].mem : 0;
    return 0;
}

void mlq_worker_gpu_mems(const struct mlq_worker *w, int64_t out[MLQ_MAX_GPUS])
{
    memset(out, 0, MLQ_MAX_GPUS * sizeof *out);
    for (uint32_t k = 0; k < w->ngpu_list; k++) {
        int i = w->gpu_list[k].index;
        if (i >= 0 && i < MLQ_MAX_GPUS && w->gpu_list[k].mem > 0)
            out[i] = w->gpu_list[k].mem;
    }
}

bool mlq_worker_gpu_busy(const struct mlq_worker *w, int i)
{
    return i >= 0 && i < MLQ_MAX_GPUS && (((w->gpu_used >> i) & 1) || w->gshare.n[i] > 0);
}

/* FNV-1a of the routing id. */
static size_t peer_hash(const struct mlq_peer *peer)
{
    uint64_t h = 14695981039346656037ULL;
    for (size_t i = 0; i < peer->len && i < sizeof peer->id; i++)
        h = (h ^ peer->id[i]) * 1099511628211ULL;
    return (size_t)h;
}

static bool same_peer(const struct mlq_peer *a, const struct mlq_peer *b)
{
    return a->len == b->len && a->len <= sizeof a->id && memcmp(a->id, b->id, a->len) == 0;
}

static struct record **bucket_of(struct mlq_workers *ws, size_t hash)
{
    return &ws->buckets[hash & (ws->nbuckets - 1)];
}

static void unindex(struct mlq_workers *ws, struct record *rec)
{
    if (!rec->indexed)
        return;
    for (struct record **pp = bucket_of(ws, rec->peer_hash); *pp; pp = &(*pp)->peer_next)
        if (*pp == rec) {
            *pp = rec->peer_next;
            break;
        }
    rec->indexed = false;
    rec->peer_next = NULL;
    ws->nindexed--;
}

/* Doubles the buckets once there are as many entries as buckets, so that
 * chains stay short; out of memory, the buckets stay (longer chains). */
static void grow_index(struct mlq_workers *ws)
{
    if (ws->nbuckets && ws->nindexed < ws->nbuckets)
        return;
    size_t nb = ws->nbuckets ? ws->nbuckets * 2 : 64;
    struct record **b = calloc(nb, sizeof *b);
    if (!b)
        return;
    free(ws->buckets);
    ws->buckets = b;
    ws->nbuckets = nb;
    for (size_t i = 0; i < ws->n; i++) {
        struct record *rec = ws->items[i];
        if (!rec->indexed)
            continue;
        struct record **head = bucket_of(ws, rec->peer_hash);
        rec->peer_next = *head;
        *head = rec;
    }
}

int mlq_workers_connect(struct mlq_workers *ws, struct mlq_worker *w, const struct mlq_peer *peer)
{
    struct record *rec = (struct record *)w;
    unindex(ws, rec);
    struct mlq_worker *other = ws->nbuckets ? mlq_workers_peer_owner(ws, peer) : NULL;
    if (other) /* a routing id names one connection: the latest holder has it */
        unindex(ws, (struct record *)other);
    w->peer = *peer;
    grow_index(ws);
    if (!ws->nbuckets)
        return MLQ_ENOMEM;
    rec->peer_hash = peer_hash(peer);
    struct record **head = bucket_of(ws, rec->peer_hash);
    rec->peer_next = *head;
    *head = rec;
    rec->indexed = true;
    ws->nindexed++;
    return 0;
}

struct mlq_worker *mlq_workers_peer_owner(struct mlq_workers *ws, const struct mlq_peer *peer)
{
    if (!ws->nbuckets)
        return NULL;
    for (struct record *rec = *bucket_of(ws, peer_hash(peer)); rec; rec = rec->peer_next)
        if (same_peer(&rec->w.peer, peer))
            return &rec->w;
    return NULL;
}

struct mlq_worker *mlq_workers_by_peer(struct mlq_workers *ws, const struct mlq_peer *peer)
{
    struct mlq_worker *w = mlq_workers_peer_owner(ws, peer);
    return w && w->state == MLQ_WORKER_UP ? w : NULL;
}

size_t mlq_workers_count(const struct mlq_workers *ws)
{
    return ws->n;
}

size_t mlq_workers_index(const struct mlq_workers *ws, const struct mlq_worker *w)
{
    (void)ws;
    return ((const struct record *)w)->idx;
}

struct mlq_worker *mlq_workers_at(struct mlq_workers *ws, size_t i)
{
    return i < ws->n ? &ws->items[i]->w : NULL;
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
