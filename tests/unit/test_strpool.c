/* strpool: one shared copy per distinct string, counted references, growth
 * past the first buckets, and private strings released with free(). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "strpool.h"

static void test_shared_and_counted(void **state)
{
    (void)state;
    struct mlq_strpool *p = mlq_strpool_create();
    assert_non_null(p);
    char *a = strdup("PATH=/usr/bin"), *b = strdup("PATH=/usr/bin"), *c = strdup("HOME=/root");
    char *a0 = a;
    mlq_strpool_take(p, &a);
    mlq_strpool_take(p, &b);
    mlq_strpool_take(p, &c);
    assert_ptr_not_equal(a, a0); /* the private copy was swapped (and freed) */
    assert_ptr_equal(a, b);
    assert_string_equal(a, "PATH=/usr/bin");
    assert_int_equal(mlq_strpool_count(p), 2);
    mlq_strpool_put(p, a); /* b still holds it */
    assert_int_equal(mlq_strpool_count(p), 2);
    assert_string_equal(b, "PATH=/usr/bin");
    mlq_strpool_put(p, b);
    assert_int_equal(mlq_strpool_count(p), 1);
    /* A string the pool does not hold (its copy failed) is simply freed;
     * NULL is accepted. */
    mlq_strpool_put(p, strdup("HOME=/root"));
    assert_int_equal(mlq_strpool_count(p), 1);
    mlq_strpool_put(p, NULL);
    char *none = NULL;
    mlq_strpool_take(p, &none);
    assert_null(none);
    mlq_strpool_put(p, c);
    assert_int_equal(mlq_strpool_count(p), 0);
    mlq_strpool_destroy(p);
}

/* Many distinct strings, among them long ones alike at both ends (only
 * their middle differs, which the hash does not read). */
static void test_growth_and_long_strings(void **state)
{
    (void)state;
    struct mlq_strpool *p = mlq_strpool_create();
    enum { N = 2000 };
    char *s[N];
    char pad[64];
    memset(pad, 'x', sizeof pad - 1);
    pad[sizeof pad - 1] = '\0';
    for (int i = 0; i < N; i++) {
        assert_true(asprintf(&s[i], "%s%05d%s", pad, i, pad) > 0);
        mlq_strpool_take(p, &s[i]);
    }
    assert_int_equal(mlq_strpool_count(p), N);
    for (int i = 0; i < N; i++) {
        char *again;
        assert_true(asprintf(&again, "%s%05d%s", pad, i, pad) > 0);
        mlq_strpool_take(p, &again);
        assert_ptr_equal(again, s[i]);
        mlq_strpool_put(p, again);
    }
    for (int i = 0; i < N; i++)
        mlq_strpool_put(p, s[i]);
    assert_int_equal(mlq_strpool_count(p), 0);
    mlq_strpool_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_and_counted),
        cmocka_unit_test(test_growth_and_long_strings),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
