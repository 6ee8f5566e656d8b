/* Unit tests for common/sdnotify: the datagram reaches a socket bound at
 * the path (or abstract name) in NOTIFY_SOCKET, the variable is gone from
 * the environment afterwards, and bad addresses are refused. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "sdnotify.h"

/* Binds a unix datagram socket at name ("@x": abstract); returns its fd. */
static int bind_dgram(const char *name)
{
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    assert_true(fd >= 0);
    struct sockaddr_un a = {.sun_family = AF_UNIX};
    size_t len = strlen(name);
    memcpy(a.sun_path, name, len);
    if (name[0] == '@')
        a.sun_path[0] = '\0';
    socklen_t alen = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    assert_int_equal(bind(fd, (struct sockaddr *)&a, alen), 0);
    return fd;
}

/* The one datagram waiting on fd, NUL-terminated in buf. */
static void recv_one(int fd, char *buf, size_t len)
{
    ssize_t n = recv(fd, buf, len - 1, MSG_DONTWAIT);
    assert_true(n > 0);
    buf[n] = '\0';
}

static void test_unset_sends_nothing(void **state)
{
    (void)state;
    unsetenv("NOTIFY_SOCKET");
    struct mlq_sdnotify n;
    assert_int_equal(mlq_sdnotify_open(&n, NULL), 0);
    assert_false(n.on);
    assert_int_equal(mlq_sdnotify_send(&n, "READY=1", NULL), 0);
    setenv("NOTIFY_SOCKET", "", 1);
    assert_int_equal(mlq_sdnotify_open(&n, NULL), 0);
    assert_false(n.on);
    assert_null(getenv("NOTIFY_SOCKET"));
}

static void test_path_socket(void **state)
{
    (void)state;
    char dir[] = "/tmp/mlq-test-sdnotify-XXXXXX", path[128], buf[256];
    assert_non_null(mkdtemp(dir));
    snprintf(path, sizeof path, "%s/notify", dir);
    int fd = bind_dgram(path);
    setenv("NOTIFY_SOCKET", path, 1);
    struct mlq_sdnotify n;
    assert_int_equal(mlq_sdnotify_open(&n, NULL), 0);
    assert_true(n.on);
    assert_null(getenv("NOTIFY_SOCKET")); /* children never see it */
    assert_int_equal(mlq_sdnotify_send(&n, "READY=1\nSTATUS=listening", NULL), 0);
    recv_one(fd, buf, sizeof buf);
    assert_string_equal(buf, "READY=1\nSTATUS=listening");
    assert_int_equal(mlq_sdnotify_send(&n, "STOPPING=1", NULL), 0);
    recv_one(fd, buf, sizeof buf);
    assert_string_equal(buf, "STOPPING=1");
    close(fd);
    unlink(path);
    /* Nobody listening any more: an error to log, never a crash. */
    struct mlq_err e = {0};
    assert_int_equal(mlq_sdnotify_send(&n, "STOPPING=1", &e), MLQ_EIO);
    assert_non_null(strstr(e.msg, "NOTIFY_SOCKET"));
    rmdir(dir);
}

static void test_abstract_socket(void **state)
{
    (void)state;
    char name[64], buf[64];
    snprintf(name, sizeof name, "@mlq-test-sdnotify-%ld", (long)getpid());
    int fd = bind_dgram(name);
    setenv("NOTIFY_SOCKET", name, 1);
    struct mlq_sdnotify n;
    assert_int_equal(mlq_sdnotify_open(&n, NULL), 0);
    assert_int_equal(mlq_sdnotify_send(&n, "READY=1", NULL), 0);
    recv_one(fd, buf, sizeof buf);
    assert_string_equal(buf, "READY=1");
    close(fd);
}

static void test_bad_addresses(void **state)
{
    (void)state;
    char longpath[200];
    memset(longpath, 'a', sizeof longpath - 1);
    longpath[0] = '/';
    longpath[sizeof longpath - 1] = '\0';
    const char *bad[] = {"vsock:2:1234", "relative/path", "@", longpath};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        setenv("NOTIFY_SOCKET", bad[i], 1);
        struct mlq_sdnotify n;
        struct mlq_err e = {0};
        assert_int_equal(mlq_sdnotify_open(&n, &e), MLQ_EINVAL);
        assert_false(n.on);
        assert_true(e.msg[0] != '\0');
        assert_null(getenv("NOTIFY_SOCKET"));
    }
}

static void test_message_bounds(void **state)
{
    (void)state;
    struct mlq_sdnotify n = {.on = true};
    static char big[MLQ_SDNOTIFY_MAX_MSG + 2];
    memset(big, 'x', sizeof big - 1);
    assert_int_equal(mlq_sdnotify_send(&n, big, NULL), MLQ_ETOOBIG);
    assert_int_equal(mlq_sdnotify_send(&n, "", NULL), MLQ_ETOOBIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_unset_sends_nothing), cmocka_unit_test(test_path_socket),
        cmocka_unit_test(test_abstract_socket),     cmocka_unit_test(test_bad_addresses),
        cmocka_unit_test(test_message_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
