/* lease: the lease file written and read back, from the spool and from an
 * attempt folder; a missing file is "no lease", a damaged or torn one is
 * expired; renewal rewrites the same file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "clock.h"
#include "fsutil.h"
#include "lease.h"
#include "testdir.h"

struct fx {
    char root[64];
    char att[128];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (testdir_make(f->root, sizeof f->root, "lease") < 0)
        return -1;
    char attempts[96];
    snprintf(attempts, sizeof attempts, "%s/attempts", f->root);
    snprintf(f->att, sizeof f->att, "%s/attempts/a1", f->root);
    if (mkdir(attempts, 0700) != 0 || mkdir(f->att, 0700) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    testdir_remove(f->root);
    free(f);
    return 0;
}

static void put(struct fx *f, const char *text)
{
    char path[128];
    struct mlq_err e;
    snprintf(path, sizeof path, "%s/%s", f->root, MLQ_LEASE_FILE);
    assert_int_equal(mlq_fs_write_replace(path, text, strlen(text), &e), 0);
}

static void test_missing_is_no_lease(void **state)
{
    struct fx *f = *state;
    int64_t until = 7;
    assert_int_equal(mlq_lease_read(f->root, &until), 0);
    assert_int_equal(mlq_lease_read_for_attempt(f->att, &until), 0);
}

static void test_write_read(void **state)
{
    struct fx *f = *state;
    struct mlq_err e;
    int64_t now = mlq_clock_boot_ms(), until = 0;
    assert_int_equal(mlq_lease_write(f->root, now + 5000, &e), 0);
    assert_int_equal(mlq_lease_read(f->root, &until), 1);
    assert_int_equal(until, now + 5000);
    until = 0;
    assert_int_equal(mlq_lease_read_for_attempt(f->att, &until), 1);
    assert_int_equal(until, now + 5000);
    assert_false(mlq_lease_expired(until, now));
    assert_false(mlq_lease_expired(until, now + 4999));
    assert_true(mlq_lease_expired(until, now + 5000));
    /* Renewed in place: the same file (no new one, so no free space
     * needed on a full spool). */
    char path[128];
    struct stat before, after;
    snprintf(path, sizeof path, "%s/%s", f->root, MLQ_LEASE_FILE);
    assert_int_equal(stat(path, &before), 0);
    assert_int_equal(mlq_lease_write(f->root, now + 9000, &e), 0);
    assert_int_equal(stat(path, &after), 0);
    assert_true(before.st_ino == after.st_ino);
    assert_int_equal(mlq_lease_read(f->root, &until), 1);
    assert_int_equal(until, now + 9000);
}

/* A read that caught an in-place write half done sees two copies that
 * differ: never trusted (read again, and expired if it stays so). */
static void test_torn_is_expired(void **state)
{
    struct fx *f = *state;
    int64_t until = 42;
    put(f, "00000000000000009000 00000000000000001000\n");
    assert_int_equal(mlq_lease_read(f->root, &until), 1);
    assert_int_equal(until, 0);
    put(f, "00000000000000009000 00000000000000009000\n");
    assert_int_equal(mlq_lease_read(f->root, &until), 1);
    assert_int_equal(until, 9000);
}

static void test_damaged_is_expired(void **state)
{
    struct fx *f = *state;
    const char *bad[] = {"", "\n", "abc\n", "12x\n", "-5\n", "99999999999999999999999\n"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int64_t until = 42;
        put(f, bad[i]);
        assert_int_equal(mlq_lease_read(f->root, &until), 1);
        assert_int_equal(until, 0);
        assert_true(mlq_lease_expired(until, mlq_clock_boot_ms()));
    }
    char big[200];
    memset(big, '1', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    int64_t until = 42;
    put(f, big);
    assert_int_equal(mlq_lease_read_for_attempt(f->att, &until), 1);
    assert_int_equal(until, 0);
}

static void test_boot_clock_moves(void **state)
{
    (void)state;
    int64_t a = mlq_clock_boot_ms();
    assert_true(a > 0);
    assert_true(mlq_clock_boot_ms() >= a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_missing_is_no_lease, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damaged_is_expired, setup, teardown),
        cmocka_unit_test_setup_teardown(test_torn_is_expired, setup, teardown),
        cmocka_unit_test(test_boot_clock_moves),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
