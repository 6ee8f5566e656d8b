/* mlq-placesim: the fill of mlq-replay (replay_fill.c) run in one process
 * against the scheduler's placement code alone, no scheduler, no sockets:
 * seconds instead of minutes, for tuning a policy on many seeds. The
 * figures to publish come from mlq-replay, which runs the real scheduler.
 *
 * usage: mlq-placesim TASKS.csv NODES.csv POLICY[,POLICY...] [SEED]
 * Prints one line per policy: allocation at the first failure and at full
 * demand, stranded GPUs (the mix's typical entries as demand, as the
 * scheduler counts them with an empty queue), tasks placed and failed,
 * and the CPU time per decision. */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "placepolicy.h"
#include "stranded.h"
#include "trace.h"
#include "workers.h"

/* replay_fill.c's xorshift64*: the same seed samples the same tasks as
 * mlq-replay once the file is exhausted. */
static uint64_t next_rand(uint64_t *s)
{
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 2685821657736338717ULL;
}

static struct mlq_workers *cluster(const struct trace_node *nv, size_t n)
{
    struct mlq_workers *ws = mlq_workers_create();
    struct mlq_gpuinfo gi[MLQ_MAX_GPUS];
    for (size_t i = 0; ws && i < n; i++) {
        struct mlq_worker *w = mlq_workers_add(ws, nv[i].name);
        if (!w)
            exit(1);
        w->state = MLQ_WORKER_UP;
        w->rep_cpus_m = nv[i].cpus_m;
        w->rep_mem = nv[i].mem;
        w->gpus = nv[i].gpus;
        for (int g = 0; g < nv[i].gpus; g++)
            gi[g] = (struct mlq_gpuinfo){.index = g, .type = (char *)nv[i].gpu_type};
        if (mlq_workers_describe(w, NULL, NULL, 0, gi, nv[i].gpu_type[0] ? (uint32_t)nv[i].gpus : 0,
                                 NULL) < 0)
            exit(1);
        mlq_workers_apply_res(w);
    }
    return ws;
}

/* Where the first failed whole-GPU task could have gone, by what it
 * lacked (PLACESIM_WHY set): workers with its GPUs free, and of those with
 * its CPUs, its memory, both. */
static void why(struct mlq_workers *ws, const struct trace_task *t)
{
    int gpus = 0, cpus = 0, mem = 0, all = 0;
    for (size_t i = 0; i < mlq_workers_count(ws); i++) {
        const struct mlq_worker *w = mlq_workers_at(ws, i);
        int32_t nfree = 0;
        for (int g = 0; g < w->gpus && g < MLQ_MAX_GPUS; g++)
            nfree += !((w->gpu_used >> g) & 1) && w->gshare.share[g] == 0 &&
                     mlq_mix_type_ok(t->gpu_types, mlq_worker_gpu_type(w, g));
        if (nfree < t->gpus || t->gpus == 0)
            continue;
        bool c = w->cpus_m - w->cpus_used_m >= t->cpus_m, m = w->mem - w->mem_used >= t->mem;
        gpus++;
        cpus += c;
        mem += m;
        all += c && m;
    }
    fprintf(stderr,
            "first failure: %s gpus=%d frac=%d types=%s cpus_m=%lld: %d workers with the GPUs, %d "
            "also the CPUs, %d also the memory, %d all\n",
            t->name, t->gpus, t->frac, t->gpu_types, (long long)t->cpus_m, gpus, cpus, mem, all);
}

static void fill(const char *policy, const struct trace_node *nv, size_t nn,
                 const struct trace_task *tv, size_t nt, unsigned seed_arg)
{
    struct mlq_placer p = {0};
    if (mlq_pp_parse(policy, &p.policy) < 0)
        exit(2);
    struct mlq_workers *ws = cluster(nv, nn);
    int64_t cluster_h = 0, demand_h = 0, alloc_h = 0;
    for (size_t i = 0; i < nn; i++)
        cluster_h += nv[i].gpus * 100;
    uint64_t seed = seed_arg ? seed_arg : 1;
    double first = -1, t0 = (double)clock();
    unsigned long placed = 0, failed = 0;
    for (size_t i = 0; i < TRACE_MAX_TASKS; i++) {
        const struct trace_task *t = i < nt ? &tv[i] : &tv[next_rand(&seed) % nt];
        if (demand_h + trace_task_h(t) > cluster_h)
            break;
        demand_h += trace_task_h(t);
        struct mlq_request r = {t->cpus_m, t->mem, t->gpus, t->gpu_types[0] ? t->gpu_types : NULL,
                                NULL,      NULL,   0,       t->frac,
                                0};
        mlq_mix_observe(&p.mix, &r);
        struct mlq_worker *w = mlq_pp_choose(&p, ws, &r, NULL, NULL, NULL);
        uint64_t mask = 0;
        if (w && mlq_pp_pick_gpus(&p, w, &r, &mask) == 0) {
            mlq_place_reserve(w, &r, mask);
            alloc_h += trace_task_h(t);
            placed++;
        } else {
            failed++;
            if (first < 0) {
                first = 100.0 * (double)alloc_h / (double)cluster_h;
                if (getenv("PLACESIM_WHY"))
                    why(ws, t);
            }
        }
    }
    struct mlq_demand d = {0};
    d.nmix = mlq_mix_typical(&p.mix, d.mix);
    int64_t stranded = 0;
    for (size_t i = 0; i < mlq_workers_count(ws); i++)
        stranded += mlq_stranded_worker(mlq_workers_at(ws, i), &d, NULL);
    printf("%-9s first_fail=%6.2f end_alloc=%6.2f stranded=%7.2f placed=%lu failed=%lu "
           "ms_per_decision=%.3f\n",
           policy, first, 100.0 * (double)alloc_h / (double)cluster_h, (double)stranded / 100,
           placed, failed,
           ((double)clock() - t0) / CLOCKS_PER_SEC * 1000 / (double)(placed + failed));
    mlq_workers_destroy(&ws);
}

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: mlq-placesim TASKS.csv NODES.csv POLICY[,POLICY...] [SEED]\n");
        return 2;
    }
    struct mlq_err err = {0};
    struct trace_node *nv = NULL;
    struct trace_task *tv = NULL;
    size_t nn, nt;
    if (trace_read_nodes(argv[2], &nv, &nn, &err) < 0 ||
        trace_read_tasks(argv[1], &tv, &nt, &err) < 0) {
        fprintf(stderr, "mlq-placesim: %s\n", err.msg);
        return 2;
    }
    unsigned seed = argc > 4 ? (unsigned)strtoul(argv[4], NULL, 10) : 1;
    for (char *save = NULL, *pol = strtok_r(argv[3], ",", &save); pol;
         pol = strtok_r(NULL, ",", &save))
        fill(pol, nv, nn, tv, nt, seed);
    free(nv);
    free(tv);
    return 0;
}
