/* Placement: fit checks, best fit order, GPU picking by index, usage
 * accounting, and the pending reasons users see. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "placement.h"

#define G (1024LL * 1024 * 1024)

static struct mlq_worker *add(struct mlq_workers *ws, const char *name, int64_t cpus_m, int64_t mem,
                              int32_t gpus)
{
    struct mlq_worker *w = mlq_workers_add(ws, name);
    assert_non_null(w);
    w->state = MLQ_WORKER_UP;
    w->cpus_m = cpus_m;
    w->mem = mem;
    w->gpus = gpus;
    return w;
}

static void test_fits(void **state)
{
    (void)state;
    struct mlq_worker w = {
        .state = MLQ_WORKER_UP, .cpus_m = 2000, .mem = 2 * G, .gpus = 2, .pool = "default"};
    const struct {
        struct mlq_request r;
        bool now, ever;
    } cases[] = {
        {{1000, G, 1}, true, true},   {{2000, 2 * G, 2}, true, true},
        {{2001, G, 0}, false, false}, {{1000, 2 * G + 1, 0}, false, false},
        {{500, G, 3}, false, false},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        assert_int_equal(mlq_place_fits_now(&w, &cases[i].r), cases[i].now);
        assert_int_equal(mlq_place_fits_ever(&w, &cases[i].r), cases[i].ever);
    }
    struct mlq_request one = {1500, G, 1};
    mlq_place_reserve(&w, &one, 1);
    assert_false(mlq_place_fits_now(&w, &one)); /* only 0.5 CPU left */
    assert_true(mlq_place_fits_ever(&w, &one));
    mlq_place_release(&w, &one, 1);
    assert_int_equal(w.cpus_used_m, 0);
    assert_int_equal(w.mem_used, 0);
    assert_int_equal(w.gpu_used, 0);
    assert_int_equal(w.running, 0);
    mlq_place_release(&w, &one, 1); /* never below zero */
    assert_int_equal(w.cpus_used_m, 0);
    assert_int_equal(w.running, 0);
}

static void test_best_fit_prefers_tightest(void **state)
{
    (void)state;
    struct mlq_workers *ws = mlq_workers_create();
    struct mlq_worker *big = add(ws, "big", 64000, 512 * G, 8);
    struct mlq_worker *half = add(ws, "half", 64000, 512 * G, 8);
    struct mlq_worker *cpu = add(ws, "cpu", 8000, 32 * G, 0);
    struct mlq_request six = {1000, G, 6};
    mlq_place_reserve(half, &six, 0x3f); /* half has 2 GPUs left */

    struct mlq_request one_gpu = {1000, G, 1};
    assert_ptr_equal(mlq_place_best(ws, &one_gpu, NULL), half); /* pack partly used node */
    struct mlq_request eight = {1000, G, 8};
    assert_ptr_equal(mlq_place_best(ws, &eight, NULL), big); /* whole node stays whole */
    struct mlq_request cpu_only = {1000, G, 0};
    assert_ptr_equal(mlq_place_best(ws, &cpu_only, NULL), cpu); /* keeps GPU nodes free */
    struct mlq_request huge = {128000, G, 0};
    assert_null(mlq_place_best(ws, &huge, NULL));
    cpu->state = MLQ_WORKER_LOST;
    assert_ptr_not_equal(mlq_place_best(ws, &cpu_only, NULL), cpu);
    mlq_workers_destroy(&ws);
    assert_null(ws);
}

static void test_gpu_pick_by_index(void **state)
{
    (void)state;
    struct mlq_worker w = {.state = MLQ_WORKER_UP, .gpus = 4, .gpu_used = 0x5}; /* 0, 2 used */
    uint64_t mask = 0;
    assert_int_equal(mlq_place_pick_gpus(&w, 2, NULL, &mask), 0);
    assert_int_equal(mask, 0xa); /* 1 and 3 */
    assert_int_equal(mlq_place_pick_gpus(&w, 3, NULL, &mask), MLQ_EINVAL);
    assert_int_equal(mlq_place_pick_gpus(&w, 0, NULL, &mask), 0);
    assert_int_equal(mask, 0);

    char buf[64];
    mlq_place_gpus_fmt(0xa, buf, sizeof buf);
    assert_string_equal(buf, "1,3");
    mlq_place_gpus_fmt(0, buf, sizeof buf);
    assert_string_equal(buf, "");
    assert_int_equal(mlq_place_gpus_parse("1,3", &mask), 0);
    assert_int_equal(mask, 0xa);
    assert_int_equal(mlq_place_gpus_parse("", &mask), 0);
    assert_int_equal(mask, 0);
    assert_int_equal(mlq_place_gpus_parse("63", &mask), 0);
    assert_int_equal(mask, 1ULL << 63);
    const char *bad[] = {"64", "1,,2", "a", "1;2", "-1", "99999999999"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++)
        assert_int_equal(mlq_place_gpus_parse(bad[i], &mask), MLQ_EINVAL);
}

static void test_pools_labels_gpu_types(void **state)
{
    (void)state;
    struct mlq_workers *ws = mlq_workers_create();
    struct mlq_worker *a = add(ws, "a", 8000, 64 * G, 4), *b = add(ws, "b", 8000, 64 * G, 2);
    char *la[] = {"zone=eu", "ib=yes"}, *lb[] = {"zone=us"};
    struct mlq_gpuinfo ga[4] = {{0, NULL, NULL, "h100", 0, NULL},
                                {1, NULL, NULL, "h100", 0, NULL},
                                {2, NULL, NULL, "a100", 0, NULL},
                                {3, NULL, NULL, "a100", 0, NULL}};
    assert_int_equal(mlq_workers_describe(a, "gpu", la, 2, ga, 4, NULL), 0);
    assert_int_equal(mlq_workers_describe(b, NULL, lb, 1, NULL, 0, NULL), 0);
    assert_string_equal(b->pool, "default");

    char *need_eu[] = {"zone=eu"}, *need_both[] = {"zone=eu", "ib=no"};
    const struct {
        struct mlq_request r;
        const char *want; /* best worker, NULL = none */
    } cases[] = {
        {{1000, G, 0, NULL, NULL, NULL, 0}, "b"},        /* default pool only */
        {{1000, G, 0, NULL, "gpu", NULL, 0}, "a"},       /* pool gpu */
        {{1000, G, 1, "h100", "gpu", NULL, 0}, "a"},     /* typed GPUs */
        {{1000, G, 3, "h100", "gpu", NULL, 0}, NULL},    /* only 2 h100 */
        {{1000, G, 1, "v100", "gpu", NULL, 0}, NULL},    /* no such type */
        {{1000, G, 0, NULL, "gpu", need_eu, 1}, "a"},    /* label present */
        {{1000, G, 0, NULL, "gpu", need_both, 2}, NULL}, /* one label missing */
        {{1000, G, 0, NULL, "cpu", NULL, 0}, NULL},      /* unknown pool */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        struct mlq_worker *w = mlq_place_best(ws, &cases[i].r, NULL);
        if (cases[i].want)
            assert_string_equal(w ? w->name : "(none)", cases[i].want);
        else
            assert_null(w);
    }
    /* Typed picks take GPUs of that type only, lowest index first. */
    uint64_t mask = 0;
    assert_int_equal(mlq_place_pick_gpus(a, 2, "a100", &mask), 0);
    assert_int_equal(mask, 0xc);
    assert_int_equal(mlq_place_gpus_total(a, "h100"), 2);
    struct mlq_request two_a100 = {1000, G, 2, "a100", "gpu", NULL, 0};
    mlq_place_reserve(a, &two_a100, mask);
    assert_int_equal(mlq_place_gpus_free(a, "a100"), 0);
    assert_int_equal(mlq_place_gpus_free(a, "h100"), 2);
    assert_int_equal(mlq_place_gpus_free(a, NULL), 2);
    /* Drained or draining workers take nothing new, and avoid is honoured. */
    struct mlq_request any_gpu = {1000, G, 1, NULL, "gpu", NULL, 0};
    assert_ptr_equal(mlq_place_best(ws, &any_gpu, NULL), a);
    assert_null(mlq_place_best(ws, &any_gpu, a));
    a->drained = true;
    assert_null(mlq_place_best(ws, &any_gpu, NULL));
    assert_true(mlq_place_fits_ever(a, &any_gpu));
    mlq_workers_destroy(&ws);
}

static void test_registry(void **state)
{
    (void)state;
    struct mlq_workers *ws = mlq_workers_create();
    struct mlq_worker *a = mlq_workers_add(ws, "a");
    assert_ptr_equal(mlq_workers_add(ws, "a"), a);
    assert_int_equal(a->state, MLQ_WORKER_DOWN);
    a->state = MLQ_WORKER_UP;
    struct mlq_peer p = {.len = 3};
    memcpy(p.id, "xyz", 3);
    assert_int_equal(mlq_workers_connect(ws, a, &p), 0);
    assert_ptr_equal(mlq_workers_by_peer(ws, &p), mlq_workers_get(ws, "a"));
    p.id[0] = 'q';
    assert_null(mlq_workers_by_peer(ws, &p));
    char longname[MLQ_MAX_NAME + 2];
    memset(longname, 'n', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_null(mlq_workers_add(ws, longname));
    assert_string_equal(mlq_worker_state_name(MLQ_WORKER_LOST), "LOST");
    mlq_workers_destroy(&ws);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fits),
        cmocka_unit_test(test_best_fit_prefers_tightest),
        cmocka_unit_test(test_gpu_pick_by_index),
        cmocka_unit_test(test_pools_labels_gpu_types),
        cmocka_unit_test(test_registry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
