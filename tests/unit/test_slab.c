/* Unit tests for scheduler/slab: objects packed back to back, zeroed,
 * distinct, reused after free. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "slab.h"

#define SIZE 484 /* rounds up to 488, like struct mlq_job */
#define N    (3 * MLQ_SLAB_PER_BLOCK + 5)

static bool all_zero(const unsigned char *p, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (p[i])
            return false;
    return true;
}

/* Every object is zeroed and its own: writing one changes no other. */
static void test_distinct_and_zeroed(void **state)
{
    (void)state;
    struct mlq_slab *s = mlq_slab_create(SIZE);
    assert_non_null(s);
    static unsigned char *p[N];
    for (size_t i = 0; i < N; i++) {
        p[i] = mlq_slab_alloc(s);
        assert_non_null(p[i]);
        assert_int_equal((uintptr_t)p[i] % 8, 0);
        assert_true(all_zero(p[i], SIZE));
        memset(p[i], (int)(i % 251) + 1, SIZE);
    }
    assert_int_equal(mlq_slab_count(s), N);
    for (size_t i = 0; i < N; i++)
        for (size_t k = 0; k < SIZE; k++)
            assert_int_equal(p[i][k], (i % 251) + 1);
#if !defined(__SANITIZE_ADDRESS__)
    /* no per-object header: within a block, one object right after another */
    assert_int_equal(p[1] - p[0], 488);
#endif
    mlq_slab_destroy(s);
}

/* A freed object comes back zeroed; the count follows. */
static void test_reuse(void **state)
{
    (void)state;
    struct mlq_slab *s = mlq_slab_create(SIZE);
    static unsigned char *p[N];
    for (size_t i = 0; i < N; i++) {
        p[i] = mlq_slab_alloc(s);
        memset(p[i], 0xa5, SIZE);
    }
    for (size_t i = 0; i < N; i += 2)
        mlq_slab_free(s, p[i]);
    mlq_slab_free(s, NULL);
    assert_int_equal(mlq_slab_count(s), N / 2);
    for (size_t i = 0; i < N; i += 2) {
        p[i] = mlq_slab_alloc(s);
        assert_non_null(p[i]);
        assert_true(all_zero(p[i], SIZE));
    }
    assert_int_equal(mlq_slab_count(s), N);
    for (size_t i = 1; i < N; i += 2) /* the others are untouched */
        for (size_t k = 0; k < SIZE; k++)
            assert_int_equal(p[i][k], 0xa5);
    mlq_slab_destroy(s);
    mlq_slab_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_distinct_and_zeroed),
        cmocka_unit_test(test_reuse),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
