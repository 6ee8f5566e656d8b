/* Unit tests for common/arrayspec: specs that parse (with the exact index
 * lists they give), specs that are refused (with their messages), the size
 * bounds, and the compact formatter with and without truncation. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "arrayspec.h"
#include "bounds.h"

#define N(a)     (sizeof(a) / sizeof((a)[0]))
#define MAX_WANT 16

struct good {
    const char *in;
    uint32_t n; /* expected count */
    uint32_t want[MAX_WANT];
};

static void test_parse_good(void **state)
{
    (void)state;
    static const struct good t[] = {
        {"0", 1, {0}},
        {"7", 1, {7}},
        {"1,5,7", 3, {1, 5, 7}},
        {"7,5,1", 3, {1, 5, 7}},
        {"0-3", 4, {0, 1, 2, 3}},
        {"3-3", 1, {3}},
        {"0-9:3", 4, {0, 3, 6, 9}},
        {"0-10:3", 4, {0, 3, 6, 9}},
        {"5-6:100", 1, {5}},
        {"0-3,2-5", 6, {0, 1, 2, 3, 4, 5}},
        {"1,1,1", 1, {1}},
        {"0-4,20-29:3,100", 10, {0, 1, 2, 3, 4, 20, 23, 26, 29, 100}},
        {"1000000", 1, {1000000}},
        {"999999-1000000", 2, {999999, 1000000}},
        {"007", 1, {7}},
    };
    for (size_t i = 0; i < N(t); i++) {
        uint32_t *v = NULL, n = 0;
        struct mlq_err err = {0};
        if (mlq_arrayspec_parse(t[i].in, &v, &n, &err) != 0)
            fail_msg("spec \"%s\" refused: %s", t[i].in, err.msg);
        if (n != t[i].n)
            fail_msg("spec \"%s\": %u indices, wanted %u", t[i].in, n, t[i].n);
        assert_memory_equal(v, t[i].want, n * sizeof *v);
        free(v);
    }
}

static void test_parse_ranges(void **state)
{
    (void)state;
    uint32_t *v = NULL, n = 0;
    assert_int_equal(mlq_arrayspec_parse("0-999", &v, &n, NULL), 0);
    assert_int_equal(n, 1000);
    for (uint32_t i = 0; i < n; i++)
        assert_int_equal(v[i], i);
    free(v);
    assert_int_equal(mlq_arrayspec_parse("0-99:10", &v, &n, NULL), 0);
    assert_int_equal(n, 10);
    for (uint32_t i = 0; i < n; i++)
        assert_int_equal(v[i], i * 10);
    free(v);
    /* exactly the bound, even spread over overlapping items */
    assert_int_equal(mlq_arrayspec_parse("0-99999", &v, &n, NULL), 0);
    assert_int_equal(n, MLQ_MAX_ARRAY);
    assert_int_equal(v[n - 1], MLQ_MAX_ARRAY - 1);
    free(v);
    assert_int_equal(mlq_arrayspec_parse("0-59999,40000-99999,5", &v, &n, NULL), 0);
    assert_int_equal(n, MLQ_MAX_ARRAY);
    free(v);
    assert_int_equal(mlq_arrayspec_parse("0-999999:10", &v, &n, NULL), 0);
    assert_int_equal(n, MLQ_MAX_ARRAY);
    assert_int_equal(v[n - 1], 999990);
    free(v);
}

struct bad {
    const char *in, *msg_part;
};

static void test_parse_bad(void **state)
{
    (void)state;
    static const struct bad t[] = {
        {"", "empty"},
        {",", "empty item"},
        {"1,,2", "empty item"},
        {"1,", "empty item"},
        {",1", "empty item"},
        {"-1", "negative index"},
        {"0--1", "negative index"},
        {"+1", "unexpected \"+\""},
        {" 1", "unexpected \" \""},
        {"1 ", "unexpected \" \""},
        {"1-", "number missing"},
        {"1-5:", "number missing"},
        {"a", "unexpected \"a\""},
        {"1x", "unexpected \"x\""},
        {"0x10", "unexpected \"x\""},
        {"1.5", "unexpected \".\""},
        {"1-2-3", "unexpected \"-\""},
        {"1-5:2:3", "unexpected \":\""},
        {"1\n", "unexpected byte 0x0a"},
        {"1\xff", "unexpected byte 0xff"},
        {"9-0", "array spec \"9-0\": range 9-0 is reversed"},
        {"0-9:0", "step 0"},
        {"5:2", "a step needs a range"},
        {"1000001", "index 1000001 out of range 0-1000000"},
        {"99999999999999999999999", "out of range 0-1000000"},
        {"0-1000001", "out of range"},
        {"0-100000", "more than 100000 indices"},
        {"0-1000000", "more than 100000 indices"},
        {"0-59999,40000-100000", "more than 100000 indices"},
        {"0-1000000:10", "more than 100000 indices"},
        {"0-1000000:9", "more than 100000 indices"},
        /* repeats count towards the work bound */
        {"0-99999,0-99999,0-99999,0-99999,0", "more than 100000 indices"},
    };
    for (size_t i = 0; i < N(t); i++) {
        uint32_t sentinel = 77, *v = &sentinel, n = 99;
        struct mlq_err err = {0};
        int rc = mlq_arrayspec_parse(t[i].in, &v, &n, &err);
        if (rc != MLQ_EINVAL || !strstr(err.msg, t[i].msg_part))
            fail_msg("spec \"%s\": rc %d, message \"%s\", wanted \"%s\"", t[i].in, rc, err.msg,
                     t[i].msg_part);
        assert_ptr_equal(v, &sentinel); /* untouched on failure */
        assert_int_equal(n, 99);
        assert_null(strchr(err.msg, '\n'));
    }
    uint32_t *v = NULL, n = 0;
    assert_int_equal(mlq_arrayspec_parse(NULL, &v, &n, NULL), MLQ_EINVAL);
}

static void test_parse_length(void **state)
{
    (void)state;
    char text[MLQ_ARRAYSPEC_MAX_LEN + 2];
    uint32_t *v = NULL, n = 0;
    struct mlq_err err = {0};
    /* "1,1,...,1,11": exactly the bound is fine */
    for (size_t i = 0; i < MLQ_ARRAYSPEC_MAX_LEN; i++)
        text[i] = i % 2 ? ',' : '1';
    text[MLQ_ARRAYSPEC_MAX_LEN - 1] = '1';
    text[MLQ_ARRAYSPEC_MAX_LEN] = '\0';
    assert_int_equal(mlq_arrayspec_parse(text, &v, &n, &err), 0);
    assert_int_equal(n, 2);
    assert_int_equal(v[1], 11);
    free(v);
    text[MLQ_ARRAYSPEC_MAX_LEN] = ',';
    text[MLQ_ARRAYSPEC_MAX_LEN + 1] = '\0';
    assert_int_equal(mlq_arrayspec_parse(text, &v, &n, &err), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "longer than 1024 characters"));
    assert_true(strlen(err.msg) < 100);
}

struct fmt {
    const char *spec;
    size_t len; /* buffer size */
    const char *want;
};

static void test_format(void **state)
{
    (void)state;
    static const struct fmt t[] = {
        {"0-3,7,9-11", 64, "0-3,7,9-11"},
        {"0,1", 64, "0-1"},
        {"5", 64, "5"},
        {"0-99:10", 64, "0,10,20,30,40,50,60,70,80,90"},
        {"0-999", 64, "0-999"},
        {"0-3,7,9-11", 11, "0-3,7,9-11"}, /* exactly fits */
        {"0-3,7,9-11", 10, "0-3,7,..."},  /* one byte short */
        {"0-3,7,9-11", 9, "0-3,..."},     /* "0-3,7,..." needs 10 */
        {"0-3,7,9-11", 8, "0-3,..."},
        {"0-3,7,9-11", 7, "..."}, /* "0-3,..." needs 8 */
        {"0-3,7,9-11", 4, "..."},
        {"0-3,7,9-11", 3, ".."},
        {"0-3,7,9-11", 1, ""},
        {"1000000", 8, "1000000"},
        {"1000000", 7, "..."},
    };
    for (size_t i = 0; i < N(t); i++) {
        uint32_t *v = NULL, n = 0;
        char buf[128];
        memset(buf, 'X', sizeof buf);
        assert_int_equal(mlq_arrayspec_parse(t[i].spec, &v, &n, NULL), 0);
        assert_ptr_equal(mlq_arrayspec_format(v, n, buf, t[i].len), buf);
        if (strcmp(buf, t[i].want) != 0)
            fail_msg("format \"%s\" in %zu bytes: \"%s\", wanted \"%s\"", t[i].spec, t[i].len, buf,
                     t[i].want);
        assert_int_equal(buf[t[i].len], 'X'); /* nothing written past len */
        free(v);
    }
    char buf[8] = "XXXXXXX";
    assert_string_equal(mlq_arrayspec_format(NULL, 0, buf, sizeof buf), "");
    assert_null(mlq_arrayspec_format(NULL, 0, NULL, 0));
    static const uint32_t top[] = {UINT32_MAX - 1, UINT32_MAX};
    char big[32];
    assert_string_equal(mlq_arrayspec_format(top, 2, big, sizeof big), "4294967294-4294967295");
}

/* format then parse gives the list back, for a large scattered one too. */
static void test_round_trip(void **state)
{
    (void)state;
    static const char *const specs[] = {"0-999", "0-99:10,500-600:7,1000000", "3,1,2,9-12,20"};
    for (size_t i = 0; i < N(specs); i++) {
        uint32_t *v = NULL, *w = NULL, n = 0, m = 0;
        size_t len = 16 * 1024;
        char *buf = malloc(len);
        assert_non_null(buf);
        assert_int_equal(mlq_arrayspec_parse(specs[i], &v, &n, NULL), 0);
        mlq_arrayspec_format(v, n, buf, len);
        assert_null(strstr(buf, "..."));
        assert_int_equal(mlq_arrayspec_parse(buf, &w, &m, NULL), 0);
        assert_int_equal(m, n);
        assert_memory_equal(v, w, n * sizeof *v);
        free(v);
        free(w);
        free(buf);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good), cmocka_unit_test(test_parse_ranges),
        cmocka_unit_test(test_parse_bad),  cmocka_unit_test(test_parse_length),
        cmocka_unit_test(test_format),     cmocka_unit_test(test_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
