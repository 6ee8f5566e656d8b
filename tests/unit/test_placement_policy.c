/* Placement policies: names, best-fit kept exactly, spread, pack choosing
 * the worker and the GPU that leave the least fragmentation for the
 * recent request mix, and the mix itself. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <cmocka.h>

#include "err.h"
#include "gpumix.h"
#include "packscore.h"
#include "placepolicy.h"
#include "stranded.h"

#define G (1024LL * 1024 * 1024)

static struct mlq_worker *add(struct mlq_workers *ws, const char *name, int64_t cpus_m,
                              int32_t gpus)
{
    struct mlq_worker *w = mlq_workers_add(ws, name);
    assert_non_null(w);
    w->state = MLQ_WORKER_UP;
    w->cpus_m = cpus_m;
    w->mem = 512 * G;
    w->gpus = gpus;
    return w;
}

static void observe(struct mlq_placer *p, int n, int64_t cpus_m, int32_t gpus, const char *type)
{
    struct mlq_request r = {cpus_m, G, gpus, type, NULL, NULL, 0};
    for (int i = 0; i < n; i++)
        mlq_mix_observe(&p->mix, &r);
}

static void observe_share(struct mlq_placer *p, int n, int32_t frac)
{
    struct mlq_request r = {1000, G, 0, NULL, NULL, NULL, 0, frac, 0};
    for (int i = 0; i < n; i++)
        mlq_mix_observe(&p->mix, &r);
}

static void test_names(void **state)
{
    (void)state;
    enum mlq_place_policy p;
    const char *ok[] = {"best-fit", "pack", "spread"};
    for (int i = 0; i < 3; i++) {
        assert_int_equal(mlq_pp_parse(ok[i], &p), 0);
        assert_string_equal(mlq_pp_name(p), ok[i]);
    }
    assert_int_equal(mlq_pp_parse("bestfit", &p), MLQ_EINVAL);
    assert_int_equal(mlq_pp_parse("", &p), MLQ_EINVAL);
}

/* A zeroed placer is best-fit and agrees with mlq_place_best everywhere. */
static void test_best_fit_unchanged(void **state)
{
    (void)state;
    struct mlq_workers *ws = mlq_workers_create();
    struct mlq_worker *big = add(ws, "big", 64000, 8), *half = add(ws, "half", 64000, 8);
    add(ws, "cpu", 8000, 0);
    struct mlq_request six = {1000, G, 6, NULL, NULL, NULL, 0};
    mlq_place_reserve(half, &six, 0x3f);
    struct mlq_placer p = {0};
    observe(&p, 50, 1000, 8, NULL); /* the mix does not matter to best-fit */
    struct mlq_request rs[] = {
        {1000, G, 1, NULL, NULL, NULL, 0},
        {1000, G, 8, NULL, NULL, NULL, 0},
        {1000, G, 0, NULL, NULL, NULL, 0},
        {128000, G, 0, NULL, NULL, NULL, 0},
    };
    for (size_t i = 0; i < sizeof rs / sizeof rs[0]; i++)
        assert_ptr_equal(mlq_pp_choose(&p, ws, &rs[i], NULL, NULL, NULL),
                         mlq_place_best(ws, &rs[i], NULL));
    uint64_t m1 = 0, m2 = 0;
    assert_int_equal(mlq_pp_pick_gpus(&p, half, &rs[0], &m1), 0);
    assert_int_equal(mlq_place_pick_gpus(half, 1, NULL, &m2), 0);
    assert_int_equal(m1, m2);
    assert_ptr_equal(mlq_pp_choose(&p, ws, &rs[0], half, NULL, NULL), big);
    mlq_workers_destroy(&ws);
}

static void test_spread(void **state)
{
    (void)state;
    struct mlq_workers *ws = mlq_workers_create();
    struct mlq_worker *big = add(ws, "big", 64000, 8), *half = add(ws, "half", 64000, 8);
    struct mlq_request six = {1000, G, 6, NULL, NULL, NULL, 0};
    mlq_place_reserve(big, &six, 0x3f);
    struct mlq_placer p = {.policy = MLQ_PLACE_SPREAD};
    struct mlq_request one = {1000, G, 1, NULL, NULL, NULL, 0};
    assert_ptr_equal(mlq_pp_choose(&p, ws, &one, NULL, NULL, NULL), half);
    p.policy = MLQ_PLACE_BEST_FIT;
    assert_ptr_equal(mlq_pp_choose(&p, ws, &one, NULL, NULL, NULL), big);
    mlq_workers_destroy(&ws);
}

/* Mostly 4-GPU requests: a 1-GPU job goes where 4 stay free together,
 * not to the tighter worker whose 4 free GPUs it would break up. */
static void test_pack_keeps_room_for_the_mix(void **state)
{
    (void)state;
    struct mlq_workers *ws = mlq_workers_create();
    struct mlq_worker *a = add(ws, "a", 64000, 8), *b = add(ws, "b", 64000, 8);
    struct mlq_request three = {1000, G, 3, NULL, NULL, NULL, 0},
                       four = {1000, G, 4, NULL, NULL, NULL, 0};
    mlq_place_reserve(a, &three, 0x7); /* a: 5 free */
    mlq_place_reserve(b, &four, 0xf);  /* b: 4 free */
    struct mlq_placer p = {.policy = MLQ_PLACE_PACK};
    struct mlq_request one = {1000, G, 1, NULL, NULL, NULL, 0};
    assert_ptr_equal(mlq_pp_choose(&p, ws, &one, NULL, NULL, NULL), b); /* empty mix: best fit */
    observe(&p, 100, 1000, 4, NULL);
    assert_ptr_equal(mlq_pp_choose(&p, ws, &one, NULL, NULL, NULL), a);
    p.policy = MLQ_PLACE_BEST_FIT;
    assert_ptr_equal(mlq_pp_choose(&p, ws, &one, NULL, NULL, NULL), b);
    mlq_workers_destroy(&ws);
}

/* A CPU-only job under pack does not take the CPUs a typical GPU job needs
 * next to a free GPU. */
static void test_pack_cpu_only(void **state)
{
    (void)state;
    struct mlq_workers *ws = mlq_workers_create();
    struct mlq_worker *x = add(ws, "x", 16000, 2), *y = add(ws, "y", 16000, 2);
    struct mlq_request sixc = {6000, G, 1, NULL, NULL, NULL, 0},
                       fourc = {4000, G, 1, NULL, NULL, NULL, 0};
    mlq_place_reserve(x, &sixc, 1);  /* x: 10 CPUs, 1 GPU free */
    mlq_place_reserve(y, &fourc, 1); /* y: 12 CPUs, 1 GPU free */
    struct mlq_placer p = {.policy = MLQ_PLACE_PACK};
    observe(&p, 100, 8000, 1, NULL);
    struct mlq_request cpu = {4000, G, 0, NULL, NULL, NULL, 0};
    assert_ptr_equal(mlq_pp_choose(&p, ws, &cpu, NULL, NULL, NULL), y);
    p.policy = MLQ_PLACE_BEST_FIT;
    assert_ptr_equal(mlq_pp_choose(&p, ws, &cpu, NULL, NULL, NULL), x);
    mlq_workers_destroy(&ws);
}

/* Inside a worker: an untyped request takes the GPU type the mix needs
 * least; a typed one only its type. */
static void test_pack_picks_gpu(void **state)
{
    (void)state;
    struct mlq_workers *ws = mlq_workers_create();
    struct mlq_worker *w = add(ws, "w", 64000, 2);
    struct mlq_gpuinfo gi[2] = {{0, NULL, NULL, "h100", 0, NULL}, {1, NULL, NULL, "a100", 0, NULL}};
    assert_int_equal(mlq_workers_describe(w, NULL, NULL, 0, gi, 2, NULL), 0);
    struct mlq_placer p = {.policy = MLQ_PLACE_PACK};
    observe(&p, 100, 1000, 1, "h100");
    struct mlq_request any = {1000, G, 1, NULL, NULL, NULL, 0},
                       h100 = {1000, G, 1, "h100", NULL, NULL, 0};
    uint64_t mask = 0;
    assert_int_equal(mlq_pp_pick_gpus(&p, w, &any, &mask), 0);
    assert_int_equal(mask, 0x2);
    assert_int_equal(mlq_pp_pick_gpus(&p, w, &h100, &mask), 0);
    assert_int_equal(mask, 0x1);
    p.policy = MLQ_PLACE_BEST_FIT;
    assert_int_equal(mlq_pp_pick_gpus(&p, w, &any, &mask), 0);
    assert_int_equal(mask, 0x1);
    mlq_workers_destroy(&ws);
}

/* Shares: with typical half-GPU requests, a quarter goes to the free GPU
 * (0.75 and 0.5 left, both usable) rather than filling the half-used one
 * to a useless quarter; best-fit takes the tightest GPU. */
static void test_pack_share_gpu(void **state)
{
    (void)state;
    struct mlq_workers *ws = mlq_workers_create();
    struct mlq_worker *w = add(ws, "w", 64000, 2);
    struct mlq_request half = {1000, G, 0, NULL, NULL, NULL, 0, 50, 0},
                       quarter = {1000, G, 0, NULL, NULL, NULL, 0, 25, 0};
    mlq_place_reserve(w, &half, 0x1);
    struct mlq_placer p = {.policy = MLQ_PLACE_PACK};
    observe_share(&p, 100, 50);
    uint64_t mask = 0;
    assert_int_equal(mlq_pp_pick_gpus(&p, w, &quarter, &mask), 0);
    assert_int_equal(mask, 0x2);
    p.policy = MLQ_PLACE_BEST_FIT;
    assert_int_equal(mlq_pp_pick_gpus(&p, w, &quarter, &mask), 0);
    assert_int_equal(mask, 0x1);
    mlq_workers_destroy(&ws);
}

/* The only fully free worker is the only place a typical 4-GPU request
 * fits. Each of the 2-GPU workers loses the CPUs a typical 1-GPU request
 * needs when a half share lands there, but there are many of them: pack
 * puts the share on one of those rather than breaking up the scarce one
 * (best-fit does the same by fewest GPUs left). */
static void test_pack_keeps_scarce_worker(void **state)
{
    (void)state;
    struct mlq_workers *ws = mlq_workers_create();
    add(ws, "f", 64000, 4);
    for (int i = 0; i < 20; i++) {
        char name[8];
        snprintf(name, sizeof name, "q%d", i);
        add(ws, name, 9000, 2);
    }
    /* the registry grows by moving its records: look f up once all are in */
    struct mlq_worker *f = mlq_workers_get(ws, "f");
    struct mlq_placer p = {.policy = MLQ_PLACE_PACK};
    observe_share(&p, 60, 50);
    observe(&p, 35, 8500, 1, NULL);
    observe(&p, 4, 1000, 4, NULL);
    struct mlq_request half = {1000, G, 0, NULL, NULL, NULL, 0, 50, 0},
                       four = {1000, G, 4, NULL, NULL, NULL, 0};
    struct mlq_worker *w = mlq_pp_choose(&p, ws, &half, NULL, NULL, NULL);
    assert_ptr_not_equal(w, f);
    uint64_t mask = 0;
    assert_int_equal(mlq_pp_pick_gpus(&p, w, &half, &mask), 0);
    mlq_place_reserve(w, &half, mask);
    assert_ptr_equal(mlq_pp_choose(&p, ws, &four, NULL, NULL, NULL), f);
    mlq_workers_destroy(&ws);
}

/* Across workers: with typed requests asking for h100, an untyped job takes
 * the a100 worker and leaves the h100 one to them; best-fit takes the
 * first registered. */
static void test_pack_leaves_wanted_type(void **state)
{
    (void)state;
    struct mlq_workers *ws = mlq_workers_create();
    struct mlq_worker *h = add(ws, "h", 64000, 2), *a = add(ws, "a", 64000, 2);
    struct mlq_gpuinfo gh[2] = {{0, NULL, NULL, "h100", 0, NULL}, {1, NULL, NULL, "h100", 0, NULL}},
                       ga[2] = {{0, NULL, NULL, "a100", 0, NULL}, {1, NULL, NULL, "a100", 0, NULL}};
    assert_int_equal(mlq_workers_describe(h, NULL, NULL, 0, gh, 2, NULL), 0);
    assert_int_equal(mlq_workers_describe(a, NULL, NULL, 0, ga, 2, NULL), 0);
    struct mlq_request used = {1000, G, 0, NULL, NULL, NULL, 0};
    mlq_place_reserve(h, &used, 0); /* neither is idle */
    mlq_place_reserve(a, &used, 0);
    struct mlq_placer p = {.policy = MLQ_PLACE_PACK};
    observe(&p, 50, 1000, 1, NULL);
    observe(&p, 50, 1000, 1, "h100");
    struct mlq_request any = {1000, G, 1, NULL, NULL, NULL, 0};
    assert_ptr_equal(mlq_pp_choose(&p, ws, &any, NULL, NULL, NULL), a);
    p.policy = MLQ_PLACE_BEST_FIT;
    assert_ptr_equal(mlq_pp_choose(&p, ws, &any, NULL, NULL, NULL), h);
    mlq_workers_destroy(&ws);
}

/* Eight GPUs of one type on a used worker, the first `used` of them taken. */
static struct mlq_worker *typed_worker(struct mlq_workers *ws, const char *name, const char *type,
                                       int used)
{
    struct mlq_worker *w = add(ws, name, 64000, 8);
    struct mlq_gpuinfo gi[8];
    for (int g = 0; g < 8; g++)
        gi[g] = (struct mlq_gpuinfo){g, NULL, NULL, (char *)type, 0, NULL};
    assert_int_equal(mlq_workers_describe(w, NULL, NULL, 0, gi, 8, NULL), 0);
    struct mlq_request r = {1000 * used, G, used, NULL, NULL, NULL, 0};
    mlq_place_reserve(w, &r, (1ULL << used) - 1);
    return w;
}

/* A flexible request goes to the type with the most of its GPUs still
 * placeable, even when typed requests want that type more: the type few
 * typed requests want keeps room for them. Best-fit, and pack when it kept
 * room in proportion to the typed demand, take v's last GPUs. */
static void test_pack_uses_types_evenly(void **state)
{
    (void)state;
    struct mlq_workers *ws = mlq_workers_create();
    struct mlq_worker *v = typed_worker(ws, "v", "v100", 5), *a = typed_worker(ws, "a", "a100", 2);
    struct mlq_placer p = {.policy = MLQ_PLACE_PACK};
    observe(&p, 55, 1000, 1, NULL);
    observe(&p, 40, 1000, 1, "a100");
    observe(&p, 5, 1000, 1, "v100|t4");
    struct mlq_request any = {1000, G, 1, NULL, NULL, NULL, 0};
    assert_ptr_equal(mlq_pp_choose(&p, ws, &any, NULL, NULL, NULL), a);
    p.policy = MLQ_PLACE_BEST_FIT;
    assert_ptr_equal(mlq_pp_choose(&p, ws, &any, NULL, NULL, NULL), v);
    /* once a100 is the scarcer type, flexible requests turn to v100 */
    struct mlq_request five = {5000, 0, 5, NULL, NULL, NULL, 0};
    mlq_place_reserve(a, &five, 0x7cULL); /* a: 1 GPU free, v: 3 */
    p.policy = MLQ_PLACE_PACK;
    assert_ptr_equal(mlq_pp_choose(&p, ws, &any, NULL, NULL, NULL), v);
    mlq_workers_destroy(&ws);
}

/* A whole free GPU is room for a typed request only with the CPUs such a
 * request asks per GPU beside it. */
static void test_pack_placeable_needs_cpus(void **state)
{
    (void)state;
    struct mlq_workers *ws = mlq_workers_create();
    struct mlq_worker *w = typed_worker(ws, "w", "a100", 2); /* 62 CPUs, 6 GPUs free */
    struct mlq_placer p = {.policy = MLQ_PLACE_PACK};
    observe(&p, 10, 8000, 1, "a100"); /* 8 CPUs per GPU */
    struct mlq_request one = {1000, G, 1, NULL, NULL, NULL, 0};
    struct mlq_ps ps;
    struct mlq_ps_view v;
    mlq_ps_begin(&ps, &p.mix, &one);
    mlq_ps_view(&ps, w, &v);
    assert_int_equal(mlq_ps_placeable(&ps, &v, v.tid[0]), 6);
    struct mlq_request cpus = {40000, 0, 0, NULL, NULL, NULL, 0};
    mlq_place_reserve(w, &cpus, 0); /* 22 CPUs left: room for 2 */
    mlq_ps_view(&ps, w, &v);
    assert_int_equal(mlq_ps_placeable(&ps, &v, v.tid[0]), 2);
    mlq_workers_destroy(&ws);
}

/* Pack's counts are kept for the decisions mlq_ps_refresh_every allows,
 * and dropped at once when the mix's shapes change. */
static void test_pack_counts_kept(void **state)
{
    (void)state;
    assert_int_equal(mlq_ps_refresh_every(50), 1);
    assert_int_equal(mlq_ps_refresh_every(1000), 15);
    struct mlq_workers *ws = mlq_workers_create();
    struct mlq_worker *w = typed_worker(ws, "w", "a100", 2);
    struct mlq_placer p = {.policy = MLQ_PLACE_PACK};
    observe(&p, 10, 1000, 1, "a100");
    struct mlq_request one = {1000, G, 1, NULL, NULL, NULL, 0};
    struct mlq_ps ps;
    struct mlq_ps_view v;
    mlq_ps_begin(&ps, &p.mix, &one);
    assert_false(mlq_ps_recall(&ps, &p.memo, &p.mix));
    mlq_ps_view(&ps, w, &v);
    mlq_ps_count(&ps, &v);
    assert_int_equal(ps.placeable[1], 6);
    mlq_ps_remember(&ps, &p.memo, &p.mix, 3);
    for (int i = 0; i < 2; i++) {
        mlq_ps_begin(&ps, &p.mix, &one);
        assert_true(mlq_ps_recall(&ps, &p.memo, &p.mix));
        assert_int_equal(ps.e[0].hosts, 1);
        assert_string_equal(ps.type[1], "a100");
        assert_int_equal(ps.placeable[1], 6);
        assert_int_equal(ps.gpus[1], 8);
    }
    mlq_ps_begin(&ps, &p.mix, &one);
    assert_false(mlq_ps_recall(&ps, &p.memo, &p.mix)); /* served its 3 decisions */
    mlq_ps_remember(&ps, &p.memo, &p.mix, 3);
    observe(&p, 1, 1000, 2, NULL); /* a shape the counts do not know */
    mlq_ps_begin(&ps, &p.mix, &one);
    assert_false(mlq_ps_recall(&ps, &p.memo, &p.mix));
    mlq_workers_destroy(&ws);
}

/* Stranded: a free share smaller than every typical share; free GPUs on a
 * worker whose CPUs are gone; nothing without demand. */
static void test_stranded(void **state)
{
    (void)state;
    struct mlq_workers *ws = mlq_workers_create();
    struct mlq_worker *a = add(ws, "a", 16000, 2), *b = add(ws, "b", 16000, 2);
    struct mlq_request big_share = {1000, G, 0, NULL, NULL, NULL, 0, 80, 0},
                       cpus = {16000, G, 0, NULL, NULL, NULL, 0};
    mlq_place_reserve(a, &big_share, 0x1); /* a: GPU 0 has 0.2 free, GPU 1 whole */
    mlq_place_reserve(b, &cpus, 0);        /* b: no CPUs left, 2 GPUs free */
    struct mlq_demand d = {0};
    int32_t per[MLQ_MAX_GPUS];
    assert_int_equal(mlq_stranded_worker(a, &d, per), 0);
    struct mlq_placer p = {0};
    observe_share(&p, 10, 50);
    d.nmix = mlq_mix_typical(&p.mix, d.mix);
    assert_int_equal(mlq_stranded_worker(a, &d, per), 20);
    assert_int_equal(per[0], 20);
    assert_int_equal(per[1], 0);
    assert_int_equal(mlq_stranded_worker(b, &d, per), 200);
    observe_share(&p, 10, 10); /* tenths are typical too: the 0.2 is usable */
    d.nmix = mlq_mix_typical(&p.mix, d.mix);
    assert_int_equal(mlq_stranded_worker(a, &d, per), 0);
    b->drained = true; /* closed workers strand nothing */
    assert_int_equal(mlq_stranded_worker(b, &d, per), 0);
    mlq_workers_destroy(&ws);
}

static void test_mix(void **state)
{
    (void)state;
    struct mlq_placer p = {0};
    struct mlq_mix_entry e[MLQ_MIX_MAX];
    observe(&p, 10, 1000, 0, NULL); /* CPU-only requests are not in the mix */
    assert_int_equal(mlq_mix_typical(&p.mix, e), 0);
    observe(&p, 3, 2000, 2, NULL);
    observe(&p, 1, 4000, 2, NULL);
    assert_int_equal(mlq_mix_typical(&p.mix, e), 1);
    assert_int_equal(e[0].gpu_h, 200);
    assert_true(e[0].cpus_m > 2400 && e[0].cpus_m < 2600); /* mean 2500 */
    /* More distinct shapes than entries: the lightest makes room. */
    for (int i = 1; i <= MLQ_MIX_MAX + 4; i++)
        observe(&p, 1, 1000, i, NULL);
    assert_int_equal(p.mix.n, MLQ_MIX_MAX);
    /* Old requests fade: after many 1-GPU requests the 2-GPU ones are no
     * longer typical. */
    observe(&p, 4 * MLQ_MIX_HORIZON, 1000, 1, "a100|h100");
    assert_int_equal(mlq_mix_typical(&p.mix, e), 1);
    assert_string_equal(e[0].type, "a100|h100");
    assert_true(mlq_mix_type_ok("a100|h100", "h100"));
    assert_false(mlq_mix_type_ok("a100|h100", "h10"));
    assert_true(mlq_mix_type_ok("", "v100"));
}

/* CPU time of this thread: on a shared machine the wall clock also counts
 * the time other work holds the CPU. */
static double now_us(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e6 + (double)ts.tv_nsec / 1e3;
}

/* The cost of one decision with every worker a candidate: W workers of 8
 * GPUs (two types, some in use), a mix of 10 typical entries. Small by
 * default; MLQ_PLACE_BENCH=1 runs 1,000 workers and prints the time per
 * decision of each policy (docs/architecture.md, "Placement policies"). */
static void test_decision_cost(void **state)
{
    (void)state;
    bool bench = getenv("MLQ_PLACE_BENCH") != NULL;
    int nw = bench ? 1000 : 50, reps = bench ? 200 : 5;
    struct mlq_workers *ws = mlq_workers_create();
    struct mlq_gpuinfo gi[8];
    for (int g = 0; g < 8; g++)
        gi[g] = (struct mlq_gpuinfo){g, NULL, NULL, g < 4 ? "a100" : "h100", 0, NULL};
    for (int i = 0; i < nw; i++) {
        char name[16];
        snprintf(name, sizeof name, "w%04d", i);
        struct mlq_worker *w = add(ws, name, 128000, 8);
        assert_int_equal(mlq_workers_describe(w, NULL, NULL, 0, gi, 8, NULL), 0);
        struct mlq_request used = {1000 * (i % 7), G, i % 5, NULL, NULL, NULL, 0};
        mlq_place_reserve(w, &used, (1ULL << (i % 5)) - 1);
    }
    struct mlq_placer p = {0};
    const int32_t shapes[] = {1, 2, 4, 8, 1, 1, 2};
    for (int i = 0; i < 7; i++)
        observe(&p, 20, 4000 * shapes[i], shapes[i], i == 4 ? "a100" : i == 5 ? "h100" : NULL);
    observe_share(&p, 30, 25);
    observe_share(&p, 30, 50);
    observe_share(&p, 10, 10);
    struct mlq_request one = {4000, G, 1, NULL, NULL, NULL, 0};
    /* The least of several rounds, the policies taking turns: on a shared
     * machine the others' load only ever adds time. */
    double least[2] = {1e300, 1e300};
    for (int round = 0; round < (bench ? 5 : 1); round++)
        for (int k = 0; k < 2; k++) {
            p.policy = k ? MLQ_PLACE_PACK : MLQ_PLACE_BEST_FIT;
            double t0 = now_us();
            for (int i = 0; i < reps; i++)
                assert_non_null(mlq_pp_choose(&p, ws, &one, NULL, NULL, NULL));
            double us = (now_us() - t0) / reps;
            least[k] = us < least[k] ? us : least[k];
        }
    if (bench)
        printf("placement decision, %d workers of 8 GPUs (least of 5 rounds): best-fit %.1f us, "
               "pack %.1f us (%.1fx)\n",
               nw, least[0], least[1], least[1] / least[0]);
    mlq_workers_destroy(&ws);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names),
        cmocka_unit_test(test_best_fit_unchanged),
        cmocka_unit_test(test_spread),
        cmocka_unit_test(test_pack_keeps_room_for_the_mix),
        cmocka_unit_test(test_pack_cpu_only),
        cmocka_unit_test(test_pack_picks_gpu),
        cmocka_unit_test(test_pack_share_gpu),
        cmocka_unit_test(test_pack_keeps_scarce_worker),
        cmocka_unit_test(test_pack_leaves_wanted_type),
        cmocka_unit_test(test_pack_uses_types_evenly),
        cmocka_unit_test(test_pack_placeable_needs_cpus),
        cmocka_unit_test(test_pack_counts_kept),
        cmocka_unit_test(test_stranded),
        cmocka_unit_test(test_mix),
        cmocka_unit_test(test_decision_cost),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
