/* bench_figs: the scenarios behind each printed figure (README.md,
 * "Benchmarks", says what each one measures and how).
 *
 * Every scenario starts its own scheduler on a fresh state dir, prints its
 * figures on stdout as `name: value unit` and notes on stderr as `# ...`,
 * and returns 0 or a negative MLQ_E* code with err filled. */
#ifndef BENCH_FIGS_H
#define BENCH_FIGS_H

#include <stdbool.h>
#include <stdint.h>

#include "bench_env.h"
#include "err.h"

struct bfig_cfg {
    int reps;                    /* runs of each throughput figure (median printed) */
    uint64_t single_jobs;        /* submit_single_per_s */
    uint64_t bulk_jobs;          /* submit_bulk_per_s */
    uint64_t dispatch_jobs;      /* dispatch_per_s */
    int dispatch_workers;        /* simulated workers for dispatch_per_s */
    int latency_jobs;            /* submit_to_start_* samples */
    uint64_t rss_small, rss_big; /* pending jobs for the two RSS figures; big 0 = skipped */
    uint64_t place_pending;      /* jobs that fit nowhere, for placement_us */
    int place_workers;           /* simulated workers for placement_us */
    int place_reps;              /* placement decisions timed */
    uint32_t place_shapes;       /* sizes of those jobs for placement_shapes_us; <= 1 = skipped */
    int gang_workers;            /* simulated workers (1 CPU each) for the gang figures */
    uint32_t gang_nodes;         /* nodes of every gang */
    uint64_t gang_jobs;          /* gangs submitted for gang_place_per_s */
    int gang_lat;                /* single gangs timed for gang_place_ms */
};

int bfig_submit_single(struct benv *e, const struct bfig_cfg *c, struct mlq_err *err);
int bfig_submit_bulk(struct benv *e, const struct bfig_cfg *c, struct mlq_err *err);
int bfig_dispatch(struct benv *e, const struct bfig_cfg *c, struct mlq_err *err);
int bfig_latency(struct benv *e, const struct bfig_cfg *c, struct mlq_err *err);
int bfig_rss(struct benv *e, const struct bfig_cfg *c, struct mlq_err *err);
int bfig_placement(struct benv *e, const struct bfig_cfg *c, struct mlq_err *err);
/* submit_array_10k_ms: one 10,000-task array submission, reply included. */
int bfig_array(struct benv *e, const struct bfig_cfg *c, struct mlq_err *err);
/* gang_place_per_s and gang_place_ms (bench_gang.c). */
int bfig_gang(struct benv *e, const struct bfig_cfg *c, struct mlq_err *err);

/* Prints `name: value unit` (value with `decimals` digits) and flushes. */
void bfig_print(const struct benv *e, const char *name, double value, int decimals,
                const char *unit);
/* Prints `name: skipped (why)` and flushes. */
void bfig_skip(const struct benv *e, const char *name, const char *why);

#endif
