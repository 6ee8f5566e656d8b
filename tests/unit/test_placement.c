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
    struct mlq_worker w = {.state = MLQ_WORKER_UP, .cpus_m = 2000, .mem = 2 * G, .gpus = 2};
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
    assert_ptr_equal(mlq_place_best(ws, &one_gpu), half); /* pack partly used node */
    struct mlq_request eight = {1000, G, 8};
    assert_ptr_equal(mlq_place_best(ws, &eight), big); /* whole node stays whole */
    struct mlq_request cpu_only = {1000, G, 0};
    assert_ptr_equal(mlq_place_best(ws, &cpu_only), cpu); /* keeps GPU nodes free */
    struct mlq_request huge = {128000, G, 0};
    assert_null(mlq_place_best(ws, &huge));
    cpu->state = MLQ_WORKER_LOST;
    assert_ptr_not_equal(mlq_place_best(ws, &cpu_only), cpu);
    mlq_workers_destroy(&ws);
    assert_null(ws);
}

static void test_gpu_pick_by_index(void **state)
{
    (void)state;
    struct mlq_worker w = {.state = MLQ_WORKER_UP, .gpus = 4, .gpu_used = 0x5}; /* 0, 2 used */
    uint64_t mask = 0;
    assert_int_equal(mlq_place_pick_gpus(&w, 2, &mask), 0);
    assert_int_equal(mask, 0xa); /* 1 and 3 */
    assert_int_equal(mlq_place_pick_gpus(&w, 3, &mask), MLQ_EINVAL);
    assert_int_equal(mlq_place_pick_gpus(&w, 0, &mask), 0);
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

static void test_explain(void **state)
{
    (void)state;
    struct mlq_workers *ws = mlq_workers_create();
    char buf[256];
    struct mlq_request r = {1000, G, 4};
    mlq_place_explain(ws, &r, buf, sizeof buf);
    assert_non_null(strstr(buf, "no worker"));
    struct mlq_worker *w = add(ws, "w1", 4000, 8 * G, 2);
    mlq_place_explain(ws, &r, buf, sizeof buf);
    assert_non_null(strstr(buf, "can never fit: needs 4 GPUs, the largest worker has 2"));
    struct mlq_request r2 = {1000, G, 2};
    mlq_place_reserve(w, &r2, 0x3);
    mlq_place_explain(ws, &r2, buf, sizeof buf);
    assert_non_null(strstr(buf, "waiting for resources"));
    struct mlq_request r3 = {1000, 16 * G, 0};
    mlq_place_explain(ws, &r3, buf, sizeof buf);
    assert_non_null(strstr(buf, "memory"));
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
    a->peer.len = 3;
    memcpy(a->peer.id, "xyz", 3);
    struct mlq_peer p = {.len = 3};
    memcpy(p.id, "xyz", 3);
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
        cmocka_unit_test(test_explain),
        cmocka_unit_test(test_registry),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
