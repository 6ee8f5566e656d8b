/* Unit tests for common/fsutil, run in a fresh mkdtemp directory. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <ftw.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "fsutil.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct fx {
    char dir[64];
};

static int setup(void **state)
{
    struct fx *fx = calloc(1, sizeof *fx);
    if (!fx)
        return -1;
    snprintf(fx->dir, sizeof fx->dir, "/tmp/mlq-test-fsutil-XXXXXX");
    if (!mkdtemp(fx->dir)) {
        free(fx);
        return -1;
    }
    *state = fx;
    return 0;
}

static int rm_one(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static int teardown(void **state)
{
    struct fx *fx = *state;
    nftw(fx->dir, rm_one, 16, FTW_DEPTH | FTW_PHYS);
    free(fx);
    return 0;
}

static void path_in(const struct fx *fx, const char *name, char *out, size_t len)
{
    snprintf(out, len, "%s/%s", fx->dir, name);
}

/* Number of directory entries other than "." and "..". */
static int count_entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
            n++;
    closedir(d);
    return n;
}

static void test_mkdirs(void **state)
{
    struct fx *fx = *state;
    char p[256];
    struct stat st;
    struct mlq_err err = {0};
    path_in(fx, "a/b//c/", p, sizeof p);
    assert_int_equal(mlq_fs_mkdirs(p, 0755, &err), 0);
    assert_int_equal(stat(p, &st), 0);
    assert_true(S_ISDIR(st.st_mode));
    assert_int_equal(mlq_fs_mkdirs(p, 0755, &err), 0); /* already there */

    path_in(fx, "file", p, sizeof p);
    assert_int_equal(mlq_fs_write_atomic(p, "x", 1, &err), 0);
    path_in(fx, "file/sub", p, sizeof p);
    assert_true(mlq_fs_mkdirs(p, 0755, &err) < 0);
    path_in(fx, "file", p, sizeof p);
    assert_int_equal(mlq_fs_mkdirs(p, 0755, &err), MLQ_EIO);
    assert_non_null(strstr(err.msg, "not a directory"));
    assert_int_equal(mlq_fs_mkdirs("", 0755, &err), MLQ_EINVAL);
}

static void test_write_read(void **state)
{
    struct fx *fx = *state;
    char p[256];
    struct mlq_err err = {0};
    char *data = NULL;
    size_t len = 99;
    path_in(fx, "f", p, sizeof p);
    assert_int_equal(mlq_fs_write_atomic(p, "hello\0world", 11, &err), 0);
    assert_int_equal(mlq_fs_read_all(p, 100, &data, &len, &err), 0);
    assert_int_equal(len, 11);
    assert_memory_equal(data, "hello\0world", 12); /* NUL-terminated too */
    free(data);

    assert_int_equal(mlq_fs_write_atomic(p, "second", 6, &err), 0);
    assert_int_equal(mlq_fs_read_all(p, 6, &data, &len, &err), 0); /* exactly max */
    assert_string_equal(data, "second");
    free(data);
    assert_int_equal(count_entries(fx->dir), 1); /* no temp file left */

    assert_int_equal(mlq_fs_read_all(p, 5, &data, &len, &err), MLQ_ETOOBIG);
    assert_int_equal(err.code, MLQ_ETOOBIG);

    assert_int_equal(mlq_fs_write_atomic(p, "", 0, &err), 0);
    assert_int_equal(mlq_fs_read_all(p, 0, &data, &len, &err), 0);
    assert_int_equal(len, 0);
    assert_string_equal(data, "");
    free(data);
}

static void test_write_keeps_mode(void **state)
{
    struct fx *fx = *state;
    char p[256];
    struct stat st;
    path_in(fx, "secret", p, sizeof p);
    assert_int_equal(mlq_fs_write_atomic(p, "a", 1, NULL), 0);
    assert_int_equal(chmod(p, 0600), 0);
    assert_int_equal(mlq_fs_write_atomic(p, "b", 1, NULL), 0);
    assert_int_equal(stat(p, &st), 0);
    assert_int_equal(st.st_mode & 0777, 0600);
}

static void test_write_read_errors(void **state)
{
    struct fx *fx = *state;
    char p[256];
    struct mlq_err err = {0};
    char *data = NULL;
    path_in(fx, "missing/f", p, sizeof p);
    assert_int_equal(mlq_fs_write_atomic(p, "x", 1, &err), MLQ_ENOTFOUND);
    assert_non_null(strstr(err.msg, fx->dir));
    assert_int_equal(mlq_fs_read_all(p, 10, &data, NULL, &err), MLQ_ENOTFOUND);
    assert_null(data);
    assert_int_equal(mlq_fs_write_atomic("", "x", 1, &err), MLQ_EINVAL);
}

/* /proc files report size 0: the size check must come from reading. */
static void test_read_proc(void **state)
{
    (void)state;
    char *data = NULL;
    size_t len = 0;
    assert_int_equal(mlq_fs_read_all("/proc/self/stat", 4096, &data, &len, NULL), 0);
    assert_true(len > 20);
    assert_int_equal(strlen(data), len);
    free(data);
    assert_int_equal(mlq_fs_read_all("/proc/self/stat", 10, &data, &len, NULL), MLQ_ETOOBIG);
}

static void test_pidfile_good(void **state)
{
    struct fx *fx = *state;
    char p[256];
    pid_t pid = 0;
    struct mlq_err err = {0};
    path_in(fx, "pid", p, sizeof p);
    assert_int_equal(mlq_fs_write_pidfile(p, getpid(), &err), 0);
    assert_int_equal(mlq_fs_read_pidfile(p, &pid, &err), 0);
    assert_int_equal(pid, getpid());

    static const struct {
        const char *text;
        pid_t want;
    } t[] = {{"1", 1}, {"123\n", 123}, {"4194304", 4194304}, {"4194304\n", 4194304}};
    for (size_t i = 0; i < N(t); i++) {
        assert_int_equal(mlq_fs_write_atomic(p, t[i].text, strlen(t[i].text), NULL), 0);
        assert_int_equal(mlq_fs_read_pidfile(p, &pid, &err), 0);
        assert_int_equal(pid, t[i].want);
    }
}

static void test_pidfile_bad(void **state)
{
    struct fx *fx = *state;
    char p[256];
    struct mlq_err err = {0};
    static const char *const bad[] = {
        "",        "\n",          "abc",
        "-1",      "+1",          "0",
        "0\n",     "0123",        "123 \n",
        "123\n\n", " 123",        "12a",
        "4194305", "99999999999", "1\r\n",
        "1.0",     "123\nxyz",    "123456789012345678901234567890123456789",
    };
    path_in(fx, "pid", p, sizeof p);
    for (size_t i = 0; i < N(bad); i++) {
        pid_t pid = 77;
        assert_int_equal(mlq_fs_write_atomic(p, bad[i], strlen(bad[i]), NULL), 0);
        if (mlq_fs_read_pidfile(p, &pid, &err) != MLQ_EINVAL)
            fail_msg("pid file \"%s\" accepted", bad[i]);
        assert_int_equal(pid, 77);
        assert_non_null(strstr(err.msg, "malformed pid file"));
    }
    /* An embedded NUL must not hide garbage after it. */
    pid_t pid = 77;
    assert_int_equal(mlq_fs_write_atomic(p,
                                         "12\0"
                                         "34",
                                         5, NULL),
                     0);
    assert_int_equal(mlq_fs_read_pidfile(p, &pid, &err), MLQ_EINVAL);

    path_in(fx, "nope", p, sizeof p);
    assert_int_equal(mlq_fs_read_pidfile(p, &pid, &err), MLQ_ENOTFOUND);
    assert_int_equal(mlq_fs_write_pidfile(p, 0, &err), MLQ_EINVAL);
    assert_int_equal(mlq_fs_write_pidfile(p, -5, &err), MLQ_EINVAL);
}

static void test_pid_alive_and_starttime(void **state)
{
    (void)state;
    assert_true(mlq_fs_pid_alive(getpid()));
    assert_true(mlq_fs_pid_alive(1)); /* exists; EPERM counts as alive */
    assert_false(mlq_fs_pid_alive(0));
    assert_false(mlq_fs_pid_alive(-1));
    unsigned long long self = mlq_fs_pid_starttime(getpid());
    assert_true(self > 0);
    assert_int_equal(mlq_fs_pid_starttime(getpid()), self); /* stable */
    assert_int_equal(mlq_fs_pid_starttime(0), 0);
    assert_int_equal(mlq_fs_pid_starttime(-1), 0);

    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(0);
    /* Wait for the exit without reaping: the child is now a zombie. */
    siginfo_t si;
    assert_int_equal(waitid(P_PID, (id_t)child, &si, WEXITED | WNOWAIT), 0);
    assert_false(mlq_fs_pid_alive(child));
    assert_true(mlq_fs_pid_starttime(child) >= self);
    assert_int_equal(waitpid(child, NULL, 0), child);
    assert_false(mlq_fs_pid_alive(child));
    assert_int_equal(mlq_fs_pid_starttime(child), 0);
}

/* mlq_fs_pid_alive_since: alive and still the process that started then. */
static void test_pid_alive_since(void **state)
{
    (void)state;
    unsigned long long self = mlq_fs_pid_starttime(getpid());
    assert_true(mlq_fs_pid_alive_since(getpid(), self));
    assert_false(mlq_fs_pid_alive_since(getpid(), self + 1)); /* a reused pid */
    assert_false(mlq_fs_pid_alive_since(0, 0));
    assert_false(mlq_fs_pid_alive_since(-1, 0));
    assert_true(mlq_fs_pid_alive_since(1, mlq_fs_pid_starttime(1)));

    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0)
        _exit(0);
    siginfo_t si;
    assert_int_equal(waitid(P_PID, (id_t)child, &si, WEXITED | WNOWAIT), 0);
    unsigned long long start = mlq_fs_pid_starttime(child);
    assert_false(mlq_fs_pid_alive_since(child, start)); /* a zombie */
    assert_int_equal(waitpid(child, NULL, 0), child);
    assert_false(mlq_fs_pid_alive_since(child, start));
    assert_false(mlq_fs_pid_alive_since(child, 0));
}

/* A process may name itself anything, ") R 1 2 3" included: the parser must
 * take the last ')' as the end of the name. */
static void test_starttime_hostile_comm(void **state)
{
    (void)state;
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t child = fork();
    assert_true(child >= 0);
    if (child == 0) {
        /* Never outlive a failed test run. */
        prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0);
        alarm(30);
        prctl(PR_SET_NAME, "x) Z 1 2 (y) 9", 0, 0, 0);
        if (write(fds[1], "r", 1) != 1)
            _exit(1);
        pause();
        _exit(0);
    }
    char c;
    assert_int_equal(read(fds[0], &c, 1), 1);
    unsigned long long start = mlq_fs_pid_starttime(child);
    assert_true(start >= mlq_fs_pid_starttime(getpid()));
    double uptime = 0;
    FILE *f = fopen("/proc/uptime", "r");
    assert_non_null(f);
    assert_int_equal(fscanf(f, "%lf", &uptime), 1);
    fclose(f);
    assert_true(start <= (unsigned long long)((uptime + 1) * (double)sysconf(_SC_CLK_TCK)));
    assert_true(mlq_fs_pid_alive(child)); /* the fake " Z " is in the name */
    kill(child, SIGKILL);
    waitpid(child, NULL, 0);
    close(fds[0]);
    close(fds[1]);
}

static void test_abspath_absolute(void **state)
{
    (void)state;
    static const struct {
        const char *in, *want;
    } t[] = {
        {"/", "/"},           {"/a/b", "/a/b"},         {"/a/b/", "/a/b"},
        {"//a//b//", "/a/b"}, {"/a/./b/.", "/a/b"},     {"/a/b/../c", "/a/c"},
        {"/..", "/"},         {"/../../x", "/x"},       {"/a/..", "/"},
        {"/a/b/../..", "/"},  {"/.hidden", "/.hidden"}, {"/a/...", "/a/..."},
        {"/a/..b", "/a/..b"},
    };
    for (size_t i = 0; i < N(t); i++) {
        char *got = mlq_fs_abspath(t[i].in);
        assert_non_null(got);
        if (strcmp(got, t[i].want))
            fail_msg("abspath(\"%s\") = \"%s\", wanted \"%s\"", t[i].in, got, t[i].want);
        free(got);
    }
    assert_null(mlq_fs_abspath(""));
    assert_null(mlq_fs_abspath(NULL));
}

static void test_abspath_relative(void **state)
{
    struct fx *fx = *state;
    char *old = getcwd(NULL, 0);
    assert_non_null(old);
    char sub[256];
    path_in(fx, "d1/d2", sub, sizeof sub);
    assert_int_equal(mlq_fs_mkdirs(sub, 0755, NULL), 0);
    assert_int_equal(chdir(sub), 0);
    char *cwd = getcwd(NULL, 0); /* the real path, in case /tmp is a link */
    assert_non_null(cwd);

    char want[512];
    char *got = mlq_fs_abspath(".");
    assert_string_equal(got, cwd);
    free(got);
    snprintf(want, sizeof want, "%s/x/y", cwd);
    got = mlq_fs_abspath("x/y");
    assert_string_equal(got, want);
    free(got);
    got = mlq_fs_abspath("./x/../y/");
    snprintf(want, sizeof want, "%s/y", cwd);
    assert_string_equal(got, want);
    free(got);
    got = mlq_fs_abspath("..");
    snprintf(want, sizeof want, "%.*s", (int)(strrchr(cwd, '/') - cwd), cwd);
    assert_string_equal(got, want);
    free(got);
    got = mlq_fs_abspath("../../../../../../../../../../../..");
    assert_string_equal(got, "/");
    free(got);

    assert_int_equal(chdir(old), 0);
    free(cwd);
    free(old);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_mkdirs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_read, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_keeps_mode, setup, teardown),
        cmocka_unit_test_setup_teardown(test_write_read_errors, setup, teardown),
        cmocka_unit_test(test_read_proc),
        cmocka_unit_test_setup_teardown(test_pidfile_good, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pidfile_bad, setup, teardown),
        cmocka_unit_test(test_pid_alive_and_starttime),
        cmocka_unit_test(test_pid_alive_since),
        cmocka_unit_test(test_starttime_hostile_comm),
        cmocka_unit_test(test_abspath_absolute),
        cmocka_unit_test_setup_teardown(test_abspath_relative, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
