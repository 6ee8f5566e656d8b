/* gpumix: the recent mix of GPU requests and how fragmented a worker is for
 * it (docs/architecture.md, "Placement policies").
 *
 * The mix is a decayed histogram of the last few hundred GPU requests, one
 * entry per (GPU amount, GPU type) with the mean CPUs and memory asked with
 * it. A worker's fragmentation for the mix is the expected amount of its
 * free GPU capacity that a request drawn from the mix could not use where
 * it is (the idea of "Beware of Fragmentation", ATC'23), GPUs of types it
 * does not want aside. Pure functions, no
 * I/O; the scheduler keeps one mix in its context. */
#ifndef MLQ_GPUMIX_H
#define MLQ_GPUMIX_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounds.h"
#include "placement.h"

/* Distinct (amount, type) entries kept; the lightest one makes room. */
#define MLQ_MIX_MAX 32
/* Each request multiplies the older weights by 1 - 1/MLQ_MIX_HORIZON, so
 * the mix reflects about the last MLQ_MIX_HORIZON GPU requests. */
#define MLQ_MIX_HORIZON 256
/* An entry is "typical" while it holds at least this share of the weight
 * (percent): rare shapes do not make capacity usable. */
#define MLQ_MIX_TYPICAL_PCT 2
/* Longest GPU type text of an entry (alternatives "a|b" included). */
#define MLQ_MIX_TYPE_LEN ((MLQ_MAX_GPU_TYPE + 1) * 8)

struct mlq_mix_entry {
    int32_t gpu_h;                   /* hundredths of a GPU: 25 = a quarter share, 200 = 2 GPUs */
    char type[MLQ_MIX_TYPE_LEN + 1]; /* "" = any type */
    double weight;
    double cpus_m, mem; /* means of the requests in this entry */
};

struct mlq_mix {
    struct mlq_mix_entry e[MLQ_MIX_MAX];
    size_t n;
    double total;    /* sum of the weights */
    uint64_t shapes; /* bumped whenever an entry's (amount, type) changes */
};

/* GPUs a request asks for, in hundredths (0 for a CPU-only request). */
int32_t mlq_mix_request_h(const struct mlq_request *r);
/* Adds one request (CPU-only requests are ignored). */
void mlq_mix_observe(struct mlq_mix *m, const struct mlq_request *r);
/* Copies the typical entries to out (at most MLQ_MIX_MAX); their count. */
size_t mlq_mix_typical(const struct mlq_mix *m, struct mlq_mix_entry *out);

/* True when a GPU of type have satisfies want ("" / NULL: any; else one of
 * the '|'-separated alternatives). */
bool mlq_mix_type_ok(const char *want, const char *have);

/* A worker's free resources as placement sees them, GPU by GPU. */
struct mlq_wview {
    int64_t cpus_free, mem_free;
    int n;                          /* offered GPUs */
    int idx[MLQ_MAX_GPUS];          /* their indices on the worker */
    int32_t free_h[MLQ_MAX_GPUS];   /* free share, hundredths: 100 = whole GPU free */
    const char *type[MLQ_MAX_GPUS]; /* "" when unknown */
    /* Cache of mlq_mix_frag: bit k of ok[i] says GPU k has the type entry i
     * of mix_for wants (types do not change while a view is scored). */
    const struct mlq_mix_entry *mix_for;
    uint64_t ok[MLQ_MIX_MAX];
};

void mlq_mix_view(const struct mlq_worker *w, struct mlq_wview *v);
/* Free GPU capacity on v, in hundredths. */
int64_t mlq_mix_free_h(const struct mlq_wview *v);
/* Free capacity on v (hundredths) of GPUs of d's type that request-like
 * entry d cannot use: all of it when d does not fit v (CPUs, memory, whole
 * GPUs), else the free part of GPUs too small for it (shared ones for a
 * whole-GPU request, less than its share left for a share). */
int64_t mlq_mix_unusable_h(const struct mlq_wview *v, const struct mlq_mix_entry *d);
/* Expected unusable capacity for a request drawn from mix (weights of the
 * n entries of mix): the fragmentation of v. */
double mlq_mix_frag(struct mlq_wview *v, const struct mlq_mix_entry *mix, size_t n);
/* True when GPU k of v (its position in v, not its index) has free
 * capacity that d could use where it is. */
bool mlq_mix_gpu_usable(const struct mlq_wview *v, int k, const struct mlq_mix_entry *d);
/* The request r as a mix entry (weight 1). */
void mlq_mix_entry_of(const struct mlq_request *r, struct mlq_mix_entry *d);

#endif
