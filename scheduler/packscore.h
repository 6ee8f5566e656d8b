/* packscore: what pack (placepolicy.h) computes for one decision, prepared
 * once per decision so that scoring a worker costs a few hundred integer
 * operations and no string comparison (docs/architecture.md, "Placement
 * policies").
 *
 * A decision starts with mlq_ps_begin (the mix's entries, their GPU types
 * as bit masks over the GPU types seen), one pass over the open workers
 * with mlq_ps_count (how many workers each entry fits on, how many GPUs of
 * each type there are and are placeable) or those counts taken from a
 * recent decision (mlq_ps_recall), then mlq_ps_finish (the weights and
 * costs that follow from them). Workers are then scored with mlq_ps_view
 * and mlq_ps_frag / mlq_ps_type_cost. Everything lives in struct mlq_ps, on
 * the caller's stack: no allocation. Pure functions, no I/O. */
#ifndef MLQ_PACKSCORE_H
#define MLQ_PACKSCORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "gpumix.h"
#include "placement.h"

/* GPU types told apart in one decision; id 0 is "no type". Types past the
 * table share the last id, which only untyped entries take (a cluster with
 * that many types is not one pack is tuned for; fits are still exact). */
#define MLQ_PS_TYPES 64
#define MLQ_PS_OTHER (MLQ_PS_TYPES - 1)

struct mlq_ps_entry {
    int32_t gpu_h;    /* hundredths asked */
    double cpus, mem; /* mean CPUs (millicores) and memory asked with it */
    double weight;    /* the mix's weight; after mlq_ps_finish, over its scarcity */
    bool typed;
    uint64_t takes; /* bit t: a GPU of type id t suits the entry */
    int hosts;      /* open workers the entry fits on now */
};

struct mlq_ps {
    size_t n;
    struct mlq_ps_entry e[MLQ_MIX_MAX];
    double total; /* of the mix's weights */
    const struct mlq_mix_entry *src;
    int ntypes;
    const char *type[MLQ_PS_TYPES];
    /* per type id: typed demand (the mix's typed weight it serves), CPUs
     * and memory a typed whole GPU of it comes with, its placeable whole
     * GPUs and all its offered GPUs over the open workers, and the cost of
     * losing a placeable one (mlq_ps_finish) */
    double typed[MLQ_PS_TYPES], cpg[MLQ_PS_TYPES], mpg[MLQ_PS_TYPES];
    int64_t placeable[MLQ_PS_TYPES], gpus[MLQ_PS_TYPES];
    double cost[MLQ_PS_TYPES];
    const char *want; /* the request's GPU type (NULL any) */
    uint64_t want_takes;
};

/* The counts of mlq_ps_count kept from one decision to the next (in the
 * placer, by value): on a big cluster one placement barely moves them, so
 * they are recounted every mlq_ps_refresh_every decisions, and whenever
 * the mix's shapes change. */
struct mlq_ps_memo {
    uint64_t shapes; /* the mix's shapes they were counted for */
    int left;        /* decisions they still serve; 0: recount */
    int hosts[MLQ_MIX_MAX];
    int ntypes;
    char type[MLQ_PS_TYPES][MLQ_MAX_GPU_TYPE + 1];
    int64_t placeable[MLQ_PS_TYPES], gpus[MLQ_PS_TYPES];
};

/* Decisions one count serves on a cluster of n open workers: one per 64
 * workers (a small cluster is recounted every time). */
int mlq_ps_refresh_every(size_t n);
/* Takes the counts from memo when it still serves m (true), else false. */
bool mlq_ps_recall(struct mlq_ps *ps, struct mlq_ps_memo *memo, const struct mlq_mix *m);
/* Keeps the counts of ps in memo for the next n - 1 decisions. */
void mlq_ps_remember(const struct mlq_ps *ps, struct mlq_ps_memo *memo, const struct mlq_mix *m,
                     int n);

/* A worker's free resources, GPU by GPU, with type ids. */
struct mlq_ps_view {
    int64_t cpus_free, mem_free;
    int n; /* offered GPUs */
    int idx[MLQ_MAX_GPUS];
    int32_t free_h[MLQ_MAX_GPUS];
    uint8_t tid[MLQ_MAX_GPUS];
    const char *tstr[MLQ_MAX_GPUS];
    uint64_t ok[MLQ_MIX_MAX]; /* bit k: GPU k suits entry i */
    uint64_t types;           /* bit t: the worker has GPUs of type id t */
};

void mlq_ps_begin(struct mlq_ps *ps, const struct mlq_mix *m, const struct mlq_request *r);
void mlq_ps_view(struct mlq_ps *ps, const struct mlq_worker *w, struct mlq_ps_view *v);
/* Adds open worker v to the counts. */
void mlq_ps_count(struct mlq_ps *ps, const struct mlq_ps_view *v);
void mlq_ps_finish(struct mlq_ps *ps);

/* GPU k of v suits the request given to mlq_ps_begin by its type. */
bool mlq_ps_wanted(const struct mlq_ps *ps, const struct mlq_ps_view *v, int k);
/* Expected unusable free capacity of v (hundredths) for a request drawn
 * from the scarcity-weighted mix. */
double mlq_ps_frag(const struct mlq_ps *ps, const struct mlq_ps_view *v);
/* Whole GPUs of type id t on v that a typed whole-GPU request could take
 * with the CPUs and memory that come with it. */
int64_t mlq_ps_placeable(const struct mlq_ps *ps, const struct mlq_ps_view *v, int t);
/* What going from before to after costs the typed requests: the placeable
 * GPUs lost per type, each at its type's cost (hundredths per request). */
double mlq_ps_type_cost(const struct mlq_ps *ps, const struct mlq_ps_view *before,
                        const struct mlq_ps_view *after);

#endif
