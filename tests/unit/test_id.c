/* Unit tests for common/id: generation, validity and prefix rules. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "id.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))
#define MANY 2000

static int cmp_id(const void *a, const void *b)
{
    return strcmp(a, b);
}

static void test_new_valid_and_unique(void **state)
{
    (void)state;
    static char ids[MANY][MLQ_ID_LEN + 1];
    for (int i = 0; i < MANY; i++) {
        mlq_id_new(ids[i]);
        assert_int_equal(strlen(ids[i]), MLQ_ID_LEN);
        assert_true(mlq_id_valid(ids[i]));
        assert_true(mlq_id_prefix_valid(ids[i]));
        assert_int_equal(ids[i][14], '4'); /* version 4: random */
        assert_non_null(strchr("89ab", ids[i][19]));
    }
    qsort(ids, MANY, sizeof ids[0], cmp_id);
    for (int i = 1; i < MANY; i++)
        assert_string_not_equal(ids[i - 1], ids[i]);
}

/* Attempt ids: canonical version 7 UUIDs whose first 48 bits are the
 * time, each one above the one before as text, also within a millisecond
 * and past the 4,096 ids one millisecond's counter holds. */
static void test_ordered_format_and_order(void **state)
{
    (void)state;
    static char ids[MANY * 3][MLQ_ID_LEN + 1];
    const uint64_t ms = 0x0190a1b2c3d4ull;
    for (int i = 0; i < MANY * 3; i++) {
        mlq_id_new_ordered_at(ids[i], ms);
        assert_true(mlq_id_valid(ids[i]));
        assert_int_equal(ids[i][14], '7');
        assert_non_null(strchr("89ab", ids[i][19]));
        struct mlq_idbin b;
        assert_true(mlq_idbin_set(&b, ids[i]));
        assert_true(mlq_idbin_is(&b, ids[i]));
        if (i > 0 && strcmp(ids[i - 1], ids[i]) >= 0)
            fail_msg("id %d (%s) is not above id %d (%s)", i, ids[i], i - 1, ids[i - 1]);
    }
    /* the first of the millisecond carries its time; the counter ran out
     * and the last ones borrowed the next millisecond */
    assert_memory_equal(ids[0], "0190a1b2-c3d4-7", 15);
    assert_memory_equal(ids[MANY * 3 - 1], "0190a1b2-c3d5-7", 15);
}

/* A clock that steps back never makes a smaller id; a later time starts
 * from its own millisecond; mlq_id_new_ordered reads the real clock. The
 * times lie between the test above's and today's (the last id's time is
 * per thread). */
static void test_ordered_clock_steps(void **state)
{
    (void)state;
    char a[MLQ_ID_LEN + 1], b[MLQ_ID_LEN + 1], c[MLQ_ID_LEN + 1], d[MLQ_ID_LEN + 1];
    mlq_id_new_ordered_at(a, 0x019100000000ull);
    mlq_id_new_ordered_at(b, 0x019000000000ull); /* the clock stepped back */
    assert_true(strcmp(a, b) < 0);
    assert_memory_equal(b, "01910000-0000-7", 15);
    mlq_id_new_ordered_at(c, 0x019100000001ull);
    assert_true(strcmp(b, c) < 0);
    assert_memory_equal(c, "01910000-0001-7", 15);
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    mlq_id_new_ordered(d);
    assert_true(strcmp(c, d) < 0);
    char now[32];
    uint64_t ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    snprintf(now, sizeof now, "%08llx-%04llx", (unsigned long long)(ms >> 16),
             (unsigned long long)(ms & 0xffff));
    assert_true(strncmp(d, now, 13) >= 0);
}

/* Ids come from a pool of random bytes: a forked child must not hand out
 * what its parent hands out next. */
static void test_fork_does_not_repeat(void **state)
{
    (void)state;
    char first[MLQ_ID_LEN + 1], mine[MLQ_ID_LEN + 1], theirs[MLQ_ID_LEN + 1] = "";
    mlq_id_new(first); /* fills the pool */
    int p[2];
    assert_int_equal(pipe(p), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char id[MLQ_ID_LEN + 1];
        mlq_id_new(id);
        _exit(write(p[1], id, MLQ_ID_LEN) == MLQ_ID_LEN ? 0 : 1);
    }
    mlq_id_new(mine);
    assert_int_equal(read(p[0], theirs, MLQ_ID_LEN), MLQ_ID_LEN);
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    close(p[0]);
    close(p[1]);
    assert_true(mlq_id_valid(theirs));
    assert_string_not_equal(mine, theirs);
    assert_string_not_equal(first, theirs);
}

static void test_valid_table(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        bool ok;
    } t[] = {
        {"1a2b3c4d-0000-4000-8000-00000000abcd", true},
        {"00000000-0000-0000-0000-000000000000", true},
        {"ffffffff-ffff-ffff-ffff-ffffffffffff", true},
        {"1A2B3C4D-0000-4000-8000-00000000ABCD", false},  /* uppercase */
        {"1a2b3c4d-0000-4000-8000-00000000abc", false},   /* short */
        {"1a2b3c4d-0000-4000-8000-00000000abcde", false}, /* long */
        {"1a2b3c4d00000-4000-8000-00000000abcd", false},  /* dash missing */
        {"1a2b3c4d-0000-4000-8000-00000000abcg", false},  /* not hex */
        {"1a2b3c4d-0000-4000-8000_00000000abcd", false},
        {"{1a2b3c4d-0000-4000-8000-00000000abc}", false},
        {"", false},
    };
    for (size_t i = 0; i < N(t); i++)
        if (mlq_id_valid(t[i].s) != t[i].ok)
            fail_msg("mlq_id_valid(\"%s\") != %d", t[i].s, t[i].ok);
    assert_false(mlq_id_valid(NULL));
}

static void test_prefix_table(void **state)
{
    (void)state;
    static const struct {
        const char *s;
        bool ok;
    } t[] = {
        {"1", true},
        {"1a2b", true},
        {"1a2b3c4d", true},
        {"1a2b3c4d-", true},
        {"1a2b3c4d-0", true},
        {"1a2b3c4d-0000-4", true},
        {"1a2b3c4d-0000-4000-8000-00000000abcd", true},
        {"", false},
        {"-", false},
        {"1a2b3c4d0", false}, /* position 8 must be '-' */
        {"1a2b-", false},     /* '-' at position 4 */
        {"1A2B", false},      /* uppercase refused */
        {"1a2g", false},
        {"1a2b3c4d-0000-4000-8000-00000000abcd0", false}, /* 37 chars */
        {"1a2b3c4d-0000-40000", false},
        {"1a2b ", false},
        {" 1a2b", false},
        {"%", false},
    };
    for (size_t i = 0; i < N(t); i++)
        if (mlq_id_prefix_valid(t[i].s) != t[i].ok)
            fail_msg("mlq_id_prefix_valid(\"%s\") != %d", t[i].s, t[i].ok);
    assert_false(mlq_id_prefix_valid(NULL));
}

/* Every prefix of a generated id is a valid prefix. */
static void test_every_prefix_of_new_id(void **state)
{
    (void)state;
    char id[MLQ_ID_LEN + 1];
    mlq_id_new(id);
    for (size_t n = 1; n <= MLQ_ID_LEN; n++) {
        char p[MLQ_ID_LEN + 1];
        memcpy(p, id, n);
        p[n] = '\0';
        assert_true(mlq_id_prefix_valid(p));
        assert_int_equal(mlq_id_valid(p), n == MLQ_ID_LEN);
    }
}

static void test_short(void **state)
{
    (void)state;
    char out[MLQ_SHORT_ID_LEN + 1];
    mlq_id_short("1a2b3c4d-0000-4000-8000-00000000abcd", out);
    assert_string_equal(out, "1a2b3c4d");
    mlq_id_short("abc", out);
    assert_string_equal(out, "abc");
    mlq_id_short("", out);
    assert_string_equal(out, "");
}

/* An id held in 16 bytes gives back its text; "" and NULL mean none;
 * text that is not a canonical lowercase id, and the nil id (which would
 * read as none), are refused and leave the value as it was. */
static void test_idbin_round_trip(void **state)
{
    (void)state;
    struct mlq_idbin b = {0};
    char t[MLQ_ID_LEN + 1] = "x";
    assert_true(mlq_idbin_none(&b));
    mlq_idbin_text(&b, t);
    assert_string_equal(t, "");
    assert_true(mlq_idbin_is(&b, ""));
    for (int i = 0; i < MANY; i++) {
        char id[MLQ_ID_LEN + 1];
        mlq_id_new(id);
        assert_true(mlq_idbin_set(&b, id));
        assert_false(mlq_idbin_none(&b));
        mlq_idbin_text(&b, t);
        assert_string_equal(t, id);
        assert_true(mlq_idbin_is(&b, id));
        assert_false(mlq_idbin_is(&b, ""));
    }
    assert_true(mlq_idbin_set(&b, "0123abcd-4567-4890-abcd-ef0123456789"));
    const char *bad[] = {"0123ABCD-4567-4890-abcd-ef0123456789", "0123abcd", "not-an-id",
                         "0123abcd-4567-4890-abcd-ef01234567890",
                         "00000000-0000-0000-0000-000000000000"};
    for (size_t i = 0; i < N(bad); i++)
        assert_false(mlq_idbin_set(&b, bad[i]));
    assert_true(mlq_idbin_is(&b, "0123abcd-4567-4890-abcd-ef0123456789"));
    assert_true(mlq_idbin_set(&b, NULL));
    assert_true(mlq_idbin_none(&b));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_new_valid_and_unique),
        cmocka_unit_test(test_fork_does_not_repeat),
        cmocka_unit_test(test_ordered_format_and_order),
        cmocka_unit_test(test_ordered_clock_steps),
        cmocka_unit_test(test_valid_table),
        cmocka_unit_test(test_prefix_table),
        cmocka_unit_test(test_every_prefix_of_new_id),
        cmocka_unit_test(test_short),
        cmocka_unit_test(test_idbin_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
