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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_need),
        cmocka_unit_test(test_book_unbook),
        cmocka_unit_test(test_share_one_worker),
        cmocka_unit_test(test_share_memory_and_types),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
