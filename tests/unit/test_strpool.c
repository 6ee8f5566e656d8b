/* strpool: one shared copy per distinct string (and vector of strings),
 * counted references, growth past the first buckets, and private strings
 * released with free(). */
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

/* A vector of pooled strings, taken as the job table takes an argv. */
static char **pooled_vec(struct mlq_strpool *p, const char *x, const char *y)
{
    char **v = malloc(2 * sizeof *v);
    assert_non_null(v);
    v[0] = strdup(x);
    v[1] = strdup(y);
    mlq_strpool_take(p, &v[0]);
    mlq_strpool_take(p, &v[1]);
    mlq_strpool_take_vec(p, &v, 2);
    return v;
}

/* Equal vectors share one array, which holds one reference to each of its
 * strings: the strings outlive every vector but the last, and the array
 * and strings go with it. A private array (its copy failed) is freed. */
static void test_vectors(void **state)
{
    (void)state;
    struct mlq_strpool *p = mlq_strpool_create();
    char **a = pooled_vec(p, "python", "train.py");
    char **b = pooled_vec(p, "python", "train.py");
    char **c = pooled_vec(p, "python", "eval.py");
    assert_ptr_equal(a, b);
    assert_ptr_not_equal(a, c);
    assert_ptr_equal(a[0], c[0]); /* the strings are shared across vectors */
    assert_int_equal(mlq_strpool_vec_count(p), 2);
    assert_int_equal(mlq_strpool_count(p), 3);
    mlq_strpool_put_vec(p, a, 2);
    assert_string_equal(b[1], "train.py");
    assert_int_equal(mlq_strpool_vec_count(p), 2);
    mlq_strpool_put_vec(p, b, 2);
    assert_int_equal(mlq_strpool_vec_count(p), 1);
    assert_int_equal(mlq_strpool_count(p), 2); /* python (in c), eval.py */
    assert_string_equal(c[0], "python");
    mlq_strpool_put_vec(p, c, 2);
    assert_int_equal(mlq_strpool_vec_count(p), 0);
    assert_int_equal(mlq_strpool_count(p), 0);
    /* Private arrays and strings are released with free(); NULL and empty
     * vectors are accepted. */
    char **priv = malloc(sizeof *priv);
    priv[0] = strdup("private");
    mlq_strpool_put_vec(p, priv, 1);
    mlq_strpool_put_vec(p, NULL, 0);
    char **none = NULL;
    mlq_strpool_take_vec(p, &none, 0);
    assert_null(none);
    /* Growth past the first buckets keeps every vector found. */
    enum { N = 1000 };
    char **v[N];
    for (int i = 0; i < N; i++) {
        char arg[16];
        snprintf(arg, sizeof arg, "%d", i);
        v[i] = pooled_vec(p, "run", arg);
    }
    assert_int_equal(mlq_strpool_vec_count(p), N);
    for (int i = 0; i < N; i++) {
        char arg[16];
        snprintf(arg, sizeof arg, "%d", i);
        char **again = pooled_vec(p, "run", arg);
        assert_ptr_equal(again, v[i]);
        mlq_strpool_put_vec(p, again, 2);
        mlq_strpool_put_vec(p, v[i], 2);
    }
    assert_int_equal(mlq_strpool_vec_count(p), 0);
    assert_int_equal(mlq_strpool_count(p), 0);
    mlq_strpool_destroy(p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_shared_and_counted),
        cmocka_unit_test(test_growth_and_long_strings),
        cmocka_unit_test(test_vectors),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
