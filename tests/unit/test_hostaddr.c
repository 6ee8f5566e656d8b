/* Unit tests for common/hostaddr: which advertised addresses pass, why the
 * others fail, and the default found from the route to the scheduler. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "hostaddr.h"

static void test_good(void **state)
{
    (void)state;
    static const char *const good[] = {"10.213.4.11",
                                       "127.0.0.1",
                                       "::1",
                                       "fd00::11",
                                       "2001:db8::1:2",
                                       "gpu1",
                                       "gpu-1",
                                       "GPU1A",
                                       "gpu1.cluster.example.org",
                                       "1a.example",
                                       "a"};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        struct mlq_err err = {0};
        int rc = mlq_hostaddr_check(good[i], &err);
        if (rc != 0)
            fail_msg("%s refused: %s", good[i], err.msg);
    }
    char longest[MLQ_MAX_HOST + 1];
    memset(longest, 'h', MLQ_MAX_HOST);
    longest[MLQ_MAX_HOST] = '\0';
    for (size_t i = 63; i < MLQ_MAX_HOST; i += 64)
        longest[i] = '.';
    assert_int_equal(mlq_hostaddr_check(longest, NULL), 0);
}

static void test_bad(void **state)
{
    (void)state;
    static const struct {
        const char *in, *why;
    } bad[] = {
        {"", "empty address"},
        {"gpu 1", "neither an IP address nor a host name"},
        {"-gpu", "neither"},
        {"gpu-", "neither"},
        {"a..b", "neither"},
        {".a", "neither"},
        {"node7.lan.", "neither"},
        {"gpu_1", "neither"},
        {"10.0.0.1:7710", "neither"},
        {"[::1]", "neither"},
        {"fe80::1%eth0", "neither"},
        {"tcp://10.0.0.1", "neither"},
        {"host\n", "neither"},
        {"10.0.0.300", "not a valid IPv4 address"},
        {"10.0.0", "not a valid IPv4 address"},
        {"7710", "not a valid IPv4 address"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct mlq_err err = {0};
        if (mlq_hostaddr_check(bad[i].in, &err) != MLQ_EINVAL)
            fail_msg("'%s' accepted", bad[i].in);
        if (!strstr(err.msg, bad[i].why))
            fail_msg("'%s': message [%s] lacks [%s]", bad[i].in, err.msg, bad[i].why);
    }
    char label[70], name[MLQ_MAX_HOST + 2];
    memset(label, 'l', 64);
    label[64] = '\0';
    assert_int_equal(mlq_hostaddr_check(label, NULL), MLQ_EINVAL); /* a label of 64 */
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    for (size_t i = 50; i < sizeof name - 1; i += 51)
        name[i] = '.';
    struct mlq_err err = {0};
    assert_int_equal(mlq_hostaddr_check(name, &err), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "longer than 253 bytes"));
    assert_int_equal(mlq_hostaddr_check(NULL, NULL), MLQ_EINVAL);
}

/* The default: the source address of the route to the scheduler. */
static void test_route(void **state)
{
    (void)state;
    char buf[MLQ_MAX_HOST + 1];
    struct mlq_err err = {0};
    assert_int_equal(mlq_hostaddr_route("tcp://127.0.0.1:7710", buf, sizeof buf, &err), 0);
    assert_string_equal(buf, "127.0.0.1");
    assert_int_equal(mlq_hostaddr_route("tcp://127.0.0.9:1", buf, sizeof buf, &err), 0);
    assert_string_equal(buf, "127.0.0.1"); /* the route's source, not the destination */
    assert_int_equal(mlq_hostaddr_route("tcp://localhost:7710", buf, sizeof buf, &err), 0);
    assert_int_equal(mlq_hostaddr_check(buf, NULL), 0);
    assert_int_equal(mlq_hostaddr_route("ipc:///tmp/mlq.sock", buf, sizeof buf, &err), MLQ_EINVAL);
    assert_int_equal(mlq_hostaddr_route("tcp://127.0.0.1", buf, sizeof buf, &err), MLQ_EINVAL);
    assert_int_equal(mlq_hostaddr_route("tcp://:7710", buf, sizeof buf, &err), MLQ_EINVAL);
    assert_int_equal(mlq_hostaddr_route("tcp://[::1:7710", buf, sizeof buf, &err), MLQ_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),
        cmocka_unit_test(test_bad),
        cmocka_unit_test(test_route),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
