/* GPU shares: the per-GPU booking module (gpushare), share placement on a
 * worker (whole and shared GPUs never overlap), type alternatives, and a
 * randomized run of place/release sequences checked after every step
 * against an independent recount of the live bookings. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "gpushare.h"
#include "leftover.h"
#include "placement.h"

#define G (1024LL * 1024 * 1024)

static struct mlq_worker *add(struct mlq_workers *ws, const char *name, int32_t gpus,
                              const char *const *types, const int64_t *mems)
{
    struct mlq_worker *w = mlq_workers_add(ws, name);
    assert_non_null(w);
    w->state = MLQ_WORKER_UP;
    w->cpus_m = w->rep_cpus_m = 64000;
    w->mem = w->rep_mem = 512 * G;
    w->gpus = gpus;
    struct mlq_gpuinfo g[MLQ_MAX_GPUS];
    memset(g, 0, sizeof g);
    for (int i = 0; i < gpus; i++) {
        g[i].index = i;
        g[i].type = (char *)(types ? types[i] : "fake");
        g[i].mem = mems ? mems[i] : 0;
    }
    assert_int_equal(mlq_workers_describe(w, NULL, NULL, 0, g, (uint32_t)gpus, NULL), 0);
    return w;
}

static struct mlq_request share(int32_t frac, int64_t gmem, const char *type)
{
    struct mlq_request r = {.cpus_m = 100, .mem = G, .gpu_type = type};
    r.gpu_frac = frac;
    r.gpu_mem = gmem;
    return r;
}

static void test_need(void **state)
{
    (void)state;
    assert_int_equal(mlq_gpushare_need(25, 0, 0), 25);
    assert_int_equal(mlq_gpushare_need(25, 0, 80 * G), 25);
    assert_int_equal(mlq_gpushare_need(25, 40 * G, 80 * G), 50); /* memory is more */
    assert_int_equal(mlq_gpushare_need(75, 40 * G, 80 * G), 75); /* the share is more */
    assert_int_equal(mlq_gpushare_need(0, 10 * G, 80 * G), 13);  /* 12.5 rounded up */
    assert_int_equal(mlq_gpushare_need(0, 80 * G, 80 * G), 100);
    assert_int_equal(mlq_gpushare_need(0, 80 * G + 1, 80 * G), -1); /* more than the GPU */
    assert_int_equal(mlq_gpushare_need(50, 1, 0), -1);              /* memory unknown */
    assert_int_equal(mlq_gpushare_need(101, 0, 0), -1);
}

static void test_book_unbook(void **state)
{
    (void)state;
    struct mlq_gpushare s;
    memset(&s, 0, sizeof s);
    int64_t mems[MLQ_MAX_GPUS] = {80 * G};
    for (int i = 0; i < 4; i++) {
        assert_true(mlq_gpushare_fits(&s, 0, 25, 0, mems[0]));
        assert_int_equal(mlq_gpushare_book(&s, 0, 25, 0, mems[0]), 0);
    }
    assert_false(mlq_gpushare_fits(&s, 0, 1, 0, mems[0]));
    assert_int_equal(mlq_gpushare_free(&s, 0), 0);
    assert_true(mlq_gpushare_unbook(&s, 0, 25, 0, mems));
    assert_false(mlq_gpushare_unbook(&s, 0, 30, 0, mems)); /* no such booking */
    assert_int_equal(mlq_gpushare_free(&s, 0), 25);
    assert_false(mlq_gpushare_fits(&s, 0, 0, 40 * G, mems[0])); /* 50 hundredths */
    assert_true(mlq_gpushare_fits(&s, 0, 0, 20 * G, mems[0]));
    assert_int_equal(mlq_gpushare_book(&s, 0, 0, 20 * G, mems[0]), 0);
    assert_int_equal(s.share[0], 100);
    assert_int_equal(s.mem[0], 20 * G);
    assert_int_equal(s.n[0], 4);
    /* booked while the memory was unknown (recovery), then learnt */
    struct mlq_gpushare r;
    memset(&r, 0, sizeof r);
    assert_int_equal(mlq_gpushare_book(&r, 1, 10, 40 * G, 0), 0);
    assert_int_equal(r.share[1], 10);
    int64_t known[MLQ_MAX_GPUS] = {0, 80 * G};
    mlq_gpushare_retotal(&r, known);
    assert_int_equal(r.share[1], 50);
    assert_true(mlq_gpushare_unbook(&r, 1, 10, 40 * G, known));
    assert_int_equal(r.share[1], 0);
    assert_int_equal(r.mem[1], 0);
    assert_int_equal(r.n[1], 0);
    assert_int_equal(mlq_gpushare_book(&r, MLQ_MAX_GPUS, 10, 0, 0), MLQ_EINVAL);
    mlq_gpushare_clear(&s);
    mlq_gpushare_clear(&r);
}

/* Four quarter shares go to one GPU; a whole GPU job does not get it. */
static void test_share_one_worker(void **state)
{
    (void)state;
    struct mlq_workers *ws = mlq_workers_create();
    struct mlq_worker *w = add(ws, "w1", 2, NULL, NULL);
    struct mlq_request q = share(25, 0, NULL);
    struct mlq_request whole = {.cpus_m = 100, .mem = G, .gpus = 1};
    struct mlq_request two = {.cpus_m = 100, .mem = G, .gpus = 2};
    uint64_t mask = 0;
    for (int i = 0; i < 4; i++) {
        assert_ptr_equal(mlq_place_best(ws, &q, NULL), w);
        assert_int_equal(mlq_place_pick(w, &q, &mask), 0);
        assert_int_equal(mask, 1); /* shares gather on GPU 0 */
        mlq_place_reserve(w, &q, mask);
    }
    assert_int_equal(w->gpu_used, 0);
    assert_int_equal(w->gshare.share[0], 100);
    int32_t free_sh[MLQ_MAX_GPUS];
    assert_int_equal(mlq_place_gpu_free_shares(w, free_sh), 2);
    assert_int_equal(free_sh[0], 0);
    assert_int_equal(free_sh[1], 100);
    assert_int_equal(free_sh[2], -1);
    /* the fifth quarter takes GPU 1; then no whole GPU is left */
    assert_int_equal(mlq_place_pick(w, &q, &mask), 0);
    assert_int_equal(mask, 2);
    mlq_place_reserve(w, &q, mask);
    assert_false(mlq_place_fits_now(w, &whole));
    assert_true(mlq_place_fits_ever(w, &whole));
    assert_int_equal(mlq_place_gpus_used_hundredths(w), 125);
    mlq_place_release(w, &q, 2);
    assert_true(mlq_place_fits_now(w, &whole));
    assert_false(mlq_place_fits_now(w, &two));
    assert_int_equal(mlq_place_pick(w, &whole, &mask), 0);
    assert_int_equal(mask, 2); /* never the shared GPU 0 */
    mlq_place_reserve(w, &whole, mask);
    assert_false(mlq_place_fits_now(w, &q)); /* GPU 0 full, GPU 1 whole */
    mlq_place_release(w, &q, 1);
    assert_true(mlq_place_fits_now(w, &q));
    assert_int_equal(mlq_place_pick(w, &q, &mask), 0);
    assert_int_equal(mask, 1); /* never the whole GPU 1 */
    mlq_workers_destroy(&ws);
}

/* GPU memory: booked as max(share, mem/total); unknown memory never holds
 * a memory request; type alternatives. */
static void test_share_memory_and_types(void **state)
{
    (void)state;
    struct mlq_workers *ws = mlq_workers_create();
    const char *types[] = {"a100", "h100", "fake"};
    const int64_t mems[] = {40 * G, 80 * G, 0};
    struct mlq_worker *w = add(ws, "w1", 3, types, mems);
    struct mlq_request m = share(0, 50 * G, NULL);
    uint64_t mask = 0;
    assert_true(mlq_place_fits_ever(w, &m));
    assert_int_equal(mlq_place_pick(w, &m, &mask), 0);
    assert_int_equal(mask, 2); /* only the h100 has 50G */
    mlq_place_reserve(w, &m, mask);
    assert_int_equal(w->gshare.share[1], 63); /* 50/80 rounded up */
    struct mlq_request big = share(0, 100 * G, NULL);
    assert_false(mlq_place_fits_ever(w, &big));
    struct mlq_request a_or_h = share(50, 0, "a100|h100");
    assert_int_equal(mlq_place_pick(w, &a_or_h, &mask), 0);
    assert_int_equal(mask, 1); /* h100 has 37 left: the a100 */
    struct mlq_request typed = share(50, 0, "v100");
    assert_false(mlq_place_fits_ever(w, &typed));
    struct mlq_request fake = share(50, 0, "fake");
    assert_int_equal(mlq_place_pick(w, &fake, &mask), 0);
    assert_int_equal(mask, 4);
    struct mlq_request fake_mem = share(50, G, "fake");
    assert_false(mlq_place_fits_ever(w, &fake_mem));
    /* whole GPUs of alternatives: all of one type, the first that has them */
    struct mlq_request two = {.cpus_m = 100, .mem = G, .gpus = 1, .gpu_type = "h100|a100"};
    assert_int_equal(mlq_place_pick(w, &two, &mask), 0);
    assert_int_equal(mask, 1); /* the h100 is shared: the a100 */
    two.gpus = 2;
    assert_false(mlq_place_fits_ever(w, &two));
    mlq_place_release(w, &m, 2);
    assert_int_equal(w->gshare.share[1], 0);
    mlq_workers_destroy(&ws);
}

/* A lost attempt's share stays booked until its worker says it is gone,
 * then is given back exactly; a whole GPU the same way. */
static void test_leftover_share(void **state)
{
    (void)state;
    struct mlq_workers *ws = mlq_workers_create();
    const int64_t mems[] = {80 * G, 80 * G};
    struct mlq_worker *w = add(ws, "w1", 2, NULL, mems);
    struct mlq_request q = share(30, 40 * G, NULL), whole = {.cpus_m = 100, .mem = G, .gpus = 1};
    mlq_place_reserve(w, &q, 1);
    mlq_place_release(w, &q, 1);
    assert_int_equal(mlq_leftover_keep(w, "a1", "j1", &q, 1), 0);
    assert_int_equal(mlq_leftover_keep(w, "a2", "j2", &whole, 2), 0);
    assert_int_equal(w->gshare.share[0], 50);
    assert_int_equal(w->gshare.mem[0], 40 * G);
    assert_int_equal(w->gpu_used, 2);
    assert_false(mlq_place_fits_now(w, &whole)); /* GPU 0 shared, GPU 1 held */
    struct mlq_request half = share(50, 0, NULL);
    assert_true(mlq_place_fits_now(w, &half));
    assert_true(mlq_leftover_release(w, "a1"));
    assert_int_equal(w->gshare.share[0], 0);
    assert_int_equal(w->gshare.n[0], 0);
    assert_true(mlq_place_fits_now(w, &whole));
    assert_true(mlq_leftover_release(w, "a2"));
    assert_int_equal(w->gpu_used, 0);
    assert_int_equal(w->cpus_used_m, 0);
    mlq_workers_destroy(&ws);
}

/* ---- randomized place / release, checked by an independent recount ---- */

#define RW_WORKERS 4
#define RW_LIVE    512

struct live {
    int w;
    int32_t gpus, frac;
    int64_t gmem;
    const char *type;
    uint64_t mask;
};

struct world {
    struct mlq_workers *ws;
    struct mlq_worker *w[RW_WORKERS];
    int nw;
    struct live live[RW_LIVE];
    int nlive;
    unsigned seed;
};

static const char *const rw_types[] = {"a100", "h100", "fake"};

static int64_t rw_gpu_mem(struct world *x, int w, int g)
{
    for (uint32_t k = 0; k < x->w[w]->ngpu_list; k++)
        if (x->w[w]->gpu_list[k].index == g)
            return x->w[w]->gpu_list[k].mem;
    return 0;
}

static const char *rw_gpu_type(struct world *x, int w, int g)
{
    for (uint32_t k = 0; k < x->w[w]->ngpu_list; k++)
        if (x->w[w]->gpu_list[k].index == g)
            return x->w[w]->gpu_list[k].type;
    return "";
}

/* The hundredths a share takes, by the rule in the docs, counted up rather
 * than divided so as not to share code with gpushare.c. -1: never fits. */
static int32_t rw_need(int32_t frac, int64_t gmem, int64_t total)
{
    if (gmem == 0)
        return frac;
    if (total <= 0 || gmem > total)
        return -1;
    int32_t h = 0;
    while ((int64_t)h * total < gmem * 100)
        h++;
    return h > frac ? h : frac;
}

static bool rw_type_ok(const char *want, const char *have)
{
    if (!want)
        return true;
    char buf[64];
    snprintf(buf, sizeof buf, "%s", want);
    for (char *save = NULL, *t = strtok_r(buf, "|", &save); t; t = strtok_r(NULL, "|", &save))
        if (strcmp(t, have) == 0)
            return true;
    return false;
}

/* Per GPU of worker w, from the list of live bookings alone. */
struct recount {
    int whole[MLQ_MAX_GPUS], nshare[MLQ_MAX_GPUS];
    int32_t share[MLQ_MAX_GPUS];
    int64_t mem[MLQ_MAX_GPUS], cpus;
    int running;
};

static void rw_recount(struct world *x, int w, struct recount *r)
{
    memset(r, 0, sizeof *r);
    for (int i = 0; i < x->nlive; i++) {
        const struct live *l = &x->live[i];
        if (l->w != w)
            continue;
        r->running++;
        r->cpus += 100;
        for (int g = 0; g < MLQ_MAX_GPUS; g++) {
            if (!((l->mask >> g) & 1))
                continue;
            if (l->gpus > 0) {
                r->whole[g]++;
                continue;
            }
            r->nshare[g]++;
            r->share[g] += rw_need(l->frac, l->gmem, rw_gpu_mem(x, w, g));
            r->mem[g] += l->gmem;
        }
    }
}

static void rw_check(struct world *x, int step)
{
    for (int w = 0; w < x->nw; w++) {
        struct recount r;
        rw_recount(x, w, &r);
        const struct mlq_worker *wk = x->w[w];
        for (int g = 0; g < wk->gpus; g++) {
            int64_t total = rw_gpu_mem(x, w, g);
            if (r.whole[g] > 1 || (r.whole[g] && r.nshare[g]) || r.share[g] > 100 ||
                (total > 0 && r.mem[g] > total) ||
                ((wk->gpu_used >> g) & 1) != (uint64_t)r.whole[g] ||
                wk->gshare.share[g] != r.share[g] || wk->gshare.mem[g] != r.mem[g] ||
                wk->gshare.n[g] != r.nshare[g])
                fail_msg("seed %u step %d worker %d gpu %d: whole %d shares %d share %d mem "
                         "%lld/%lld; placement says used %d share %d mem %lld n %d",
                         x->seed, step, w, g, r.whole[g], r.nshare[g], r.share[g],
                         (long long)r.mem[g], (long long)total, (int)((wk->gpu_used >> g) & 1),
                         wk->gshare.share[g], (long long)wk->gshare.mem[g], wk->gshare.n[g]);
        }
        if (wk->cpus_used_m != r.cpus || wk->running != r.running)
            fail_msg("seed %u step %d worker %d: cpus %lld running %d, recount %lld %d", x->seed,
                     step, w, (long long)wk->cpus_used_m, wk->running, (long long)r.cpus,
                     r.running);
    }
}

/* Whether l could go on worker w now, judged from the recount alone. */
static bool rw_fits(struct world *x, int w, const struct live *l)
{
    struct recount r;
    rw_recount(x, w, &r);
    if (l->gpus > 0) { /* untyped: any free; typed: enough of one alternative */
        for (int t = -1; t < 3; t++) {
            int n = 0;
            if ((t < 0) != (l->type == NULL) || (t >= 0 && !rw_type_ok(l->type, rw_types[t])))
                continue;
            for (int g = 0; g < x->w[w]->gpus; g++)
                n += !r.whole[g] && !r.nshare[g] &&
                     (t < 0 || strcmp(rw_gpu_type(x, w, g), rw_types[t]) == 0);
            if (n >= l->gpus)
                return true;
        }
        return false;
    }
    for (int g = 0; g < x->w[w]->gpus; g++) {
        int64_t total = rw_gpu_mem(x, w, g);
        int32_t need = rw_need(l->frac, l->gmem, total);
        if (!r.whole[g] && need >= 0 && r.share[g] + need <= 100 &&
            (l->gmem == 0 || r.mem[g] + l->gmem <= total) &&
            rw_type_ok(l->type, rw_gpu_type(x, w, g)))
            return true;
    }
    return false;
}

static void rw_make_workers(struct world *x)
{
    static const int64_t mems[] = {0, 16 * G, 40 * G, 80 * G};
    x->ws = mlq_workers_create();
    x->nw = 1 + rand() % RW_WORKERS;
    for (int i = 0; i < x->nw; i++) {
        char name[16];
        const char *types[8];
        int64_t m[8];
        int n = 1 + rand() % 8;
        for (int g = 0; g < n; g++) {
            types[g] = rw_types[rand() % 3];
            m[g] = mems[rand() % 4];
        }
        snprintf(name, sizeof name, "w%d", i);
        x->w[i] = add(x->ws, name, n, types, m);
    }
}

static struct live rw_request(void)
{
    static const char *const alts[] = {NULL, "a100", "h100", "fake", "a100|h100", "h100|fake"};
    struct live l = {.type = alts[rand() % 6]};
    switch (rand() % 4) {
    case 0:
        l.gpus = 1 + rand() % 3;
        break;
    case 1:
        l.frac = 1 + rand() % 99;
        break;
    case 2:
        l.gmem = (1 + rand() % 60) * G;
        break;
    default:
        l.frac = 1 + rand() % 99;
        l.gmem = (1 + rand() % 40) * G / 2;
    }
    return l;
}

static void rw_place(struct world *x, int step)
{
    struct live l = rw_request();
    struct mlq_request r = {.cpus_m = 100, .mem = 1, .gpus = l.gpus, .gpu_type = l.type};
    r.gpu_frac = l.frac;
    r.gpu_mem = l.gmem;
    struct mlq_worker *w = mlq_place_best(x->ws, &r, NULL);
    if (!w) {
        for (int i = 0; i < x->nw; i++)
            if (rw_fits(x, i, &l))
                fail_msg("seed %u step %d: placement found no room, but worker %d fits", x->seed,
                         step, i);
        return;
    }
    int wi = (int)mlq_workers_index(x->ws, w);
    if (!rw_fits(x, wi, &l))
        fail_msg("seed %u step %d: placed on worker %d, where it does not fit", x->seed, step, wi);
    assert_int_equal(mlq_place_pick(w, &r, &l.mask), 0);
    assert_int_equal(__builtin_popcountll(l.mask), l.gpus > 0 ? l.gpus : 1);
    l.w = wi;
    mlq_place_reserve(w, &r, l.mask);
    x->live[x->nlive++] = l;
}

static void rw_release(struct world *x)
{
    int i = rand() % x->nlive;
    struct live l = x->live[i];
    struct mlq_request r = {.cpus_m = 100, .mem = 1, .gpus = l.gpus, .gpu_type = l.type};
    r.gpu_frac = l.frac;
    r.gpu_mem = l.gmem;
    mlq_place_release(x->w[l.w], &r, l.mask);
    x->live[i] = x->live[--x->nlive];
}

/* The worker registers again with the same GPUs (a scheduler restart
 * rebuilds bookings before the GPU memory is known). */
static void rw_reregister(struct world *x)
{
    struct mlq_worker *w = x->w[rand() % x->nw];
    struct mlq_gpuinfo g[8];
    uint32_t n = w->ngpu_list;
    memcpy(g, w->gpu_list, n * sizeof *g);
    for (uint32_t k = 0; k < n; k++)
        g[k].type = strdup(g[k].type);
    assert_int_equal(mlq_workers_describe(w, NULL, NULL, 0, g, n, NULL), 0);
    for (uint32_t k = 0; k < n; k++)
        free(g[k].type);
}

static void test_randomized(void **state)
{
    (void)state;
    const char *env = getenv("MLQ_SHARE_FUZZ_ROUNDS");
    int rounds = env ? atoi(env) : 20, steps = 400;
    for (int round = 0; round < rounds; round++) {
        struct world x;
        memset(&x, 0, sizeof x);
        x.seed = 12345u + (unsigned)round;
        srand(x.seed);
        rw_make_workers(&x);
        for (int step = 0; step < steps; step++) {
            int roll = rand() % 100;
            if (roll < 2)
                rw_reregister(&x);
            else if (x.nlive > 0 && (roll < 45 || x.nlive == RW_LIVE))
                rw_release(&x);
            else
                rw_place(&x, step);
            rw_check(&x, step);
        }
        while (x.nlive > 0)
            rw_release(&x);
        rw_check(&x, steps);
        mlq_workers_destroy(&x.ws);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_need),
        cmocka_unit_test(test_book_unbook),
        cmocka_unit_test(test_share_one_worker),
        cmocka_unit_test(test_share_memory_and_types),
        cmocka_unit_test(test_leftover_share),
        cmocka_unit_test(test_randomized),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
