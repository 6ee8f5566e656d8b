/* Unit tests for common/config: parsing, limits, loading, default path. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "config.h"
#include "fsutil.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

static struct mlq_config *parse_ok(const char *text)
{
    struct mlq_config *cfg = NULL;
    struct mlq_err err = {0};
    int rc = mlq_config_parse(text, strlen(text), "t", &cfg, &err);
    if (rc != 0)
        fail_msg("parse failed: %s", err.msg);
    assert_non_null(cfg);
    return cfg;
}

static void test_good(void **state)
{
    (void)state;
    struct mlq_config *cfg = parse_ok("# comment\n"
                                      "\n"
                                      "scheduler = tcp://127.0.0.1:7710\n"
                                      "   indented\t=\tvalue with  spaces  \n"
                                      "empty =\n"
                                      "   # indented comment\n"
                                      "server_key = a#b=c # not a comment\n"
                                      "k2=v2\r\n"
                                      "last_line_no_newline = yes");
    assert_string_equal(mlq_config_get(cfg, "scheduler"), "tcp://127.0.0.1:7710");
    assert_string_equal(mlq_config_get(cfg, "indented"), "value with  spaces");
    assert_string_equal(mlq_config_get(cfg, "empty"), "");
    assert_string_equal(mlq_config_get(cfg, "server_key"), "a#b=c # not a comment");
    assert_string_equal(mlq_config_get(cfg, "k2"), "v2");
    assert_string_equal(mlq_config_get(cfg, "last_line_no_newline"), "yes");
    assert_null(mlq_config_get(cfg, "missing"));
    assert_null(mlq_config_get(cfg, "Scheduler"));
    assert_null(mlq_config_get(cfg, NULL));
    mlq_config_destroy(&cfg);
    assert_null(cfg);
    mlq_config_destroy(&cfg); /* NULL is fine */
    mlq_config_destroy(NULL);
    assert_null(mlq_config_get(NULL, "x"));
}

static void test_empty_inputs(void **state)
{
    (void)state;
    static const char *const texts[] = {"", "\n", "\n\n\n", "# only a comment", "  \t \n"};
    for (size_t i = 0; i < N(texts); i++) {
        struct mlq_config *cfg = parse_ok(texts[i]);
        assert_null(mlq_config_get(cfg, "a"));
        mlq_config_destroy(&cfg);
    }
    struct mlq_config *cfg = NULL;
    assert_int_equal(mlq_config_parse(NULL, 0, "t", &cfg, NULL), 0);
    mlq_config_destroy(&cfg);
}

static void test_override(void **state)
{
    (void)state;
    struct mlq_config *cfg = parse_ok("a = 1\nb = 2\na = 3\na =\n");
    assert_string_equal(mlq_config_get(cfg, "a"), "");
    assert_string_equal(mlq_config_get(cfg, "b"), "2");
    mlq_config_destroy(&cfg);
}

static void test_bad(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        const char *msg;
    } t[] = {
        {"novalue\n", "f:1: expected \"key = value\""},
        {"a = 1\n\n= v\n", "f:3: expected \"key = value\""},
        {"Key = v", "f:1: expected \"key = value\""},
        {"key-x = v", "f:1: expected \"key = value\""},
        {"key value", "f:1: expected \"key = value\""},
        {"k\xc3\xa9 = v", "f:1: expected \"key = value\""},
        {"a = 1\nb = x\x1b[31m\n", "f:2: control character in value"},
        {"a = x\ry\n", "f:1: control character in value"},
        {"[section]\n", "f:1: expected \"key = value\""},
    };
    for (size_t i = 0; i < N(t); i++) {
        struct mlq_config *cfg = NULL;
        struct mlq_err err = {0};
        assert_int_equal(mlq_config_parse(t[i].text, strlen(t[i].text), "f", &cfg, &err),
                         MLQ_EINVAL);
        assert_null(cfg);
        if (strcmp(err.msg, t[i].msg))
            fail_msg("text %zu: message \"%s\", wanted \"%s\"", i, err.msg, t[i].msg);
    }
}

static void test_nul_byte(void **state)
{
    (void)state;
    struct mlq_config *cfg = NULL;
    struct mlq_err err = {0};
    static const char text[] = "a = 1\nb = x\0y\n";
    assert_int_equal(mlq_config_parse(text, sizeof text - 1, "f", &cfg, &err), MLQ_EINVAL);
    assert_string_equal(err.msg, "f:2: NUL byte in line");
    /* Only len bytes are read: text after len is never looked at. */
    assert_int_equal(mlq_config_parse("a = 1\nbad line", 6, "f", &cfg, &err), 0);
    assert_string_equal(mlq_config_get(cfg, "a"), "1");
    mlq_config_destroy(&cfg);
}

/* Builds "k = vvv...v" whose length is exactly n bytes. */
static char *line_of(size_t n)
{
    char *s = malloc(n + 2);
    assert_non_null(s);
    memcpy(s, "k = ", 4);
    memset(s + 4, 'v', n - 4);
    s[n] = '\n';
    s[n + 1] = '\0';
    return s;
}

static void test_line_limit(void **state)
{
    (void)state;
    char *s = line_of(4096);
    struct mlq_config *cfg = parse_ok(s);
    assert_int_equal(strlen(mlq_config_get(cfg, "k")), 4092);
    mlq_config_destroy(&cfg);
    free(s);

    s = line_of(4097);
    struct mlq_err err = {0};
    assert_int_equal(mlq_config_parse(s, strlen(s), "f", &cfg, &err), MLQ_ETOOBIG);
    assert_string_equal(err.msg, "f:1: line longer than 4096 bytes");
    free(s);
}

static void test_key_limit(void **state)
{
    (void)state;
    char text[64 * 16 + 64];
    size_t n = 0;
    for (int i = 0; i < 64; i++)
        n += (size_t)snprintf(text + n, sizeof text - n, "k%d = %d\n", i, i);
    /* Overriding a key does not count as a new one. */
    n += (size_t)snprintf(text + n, sizeof text - n, "k0 = again\n");
    struct mlq_config *cfg = parse_ok(text);
    assert_string_equal(mlq_config_get(cfg, "k63"), "63");
    assert_string_equal(mlq_config_get(cfg, "k0"), "again");
    mlq_config_destroy(&cfg);

    snprintf(text + n, sizeof text - n, "k64 = 64\n");
    struct mlq_err err = {0};
    assert_int_equal(mlq_config_parse(text, strlen(text), "f", &cfg, &err), MLQ_ETOOBIG);
    assert_string_equal(err.msg, "f:66: too many keys (at most 64)");
    assert_null(cfg);
}

static void test_load(void **state)
{
    (void)state;
    char dir[] = "/tmp/mlq-test-config-XXXXXX";
    assert_non_null(mkdtemp(dir));
    char path[128];
    snprintf(path, sizeof path, "%s/config", dir);

    struct mlq_config *cfg = NULL;
    struct mlq_err err = {0};
    assert_int_equal(mlq_config_load(path, &cfg, &err), MLQ_ENOTFOUND);
    assert_null(cfg);

    const char *good = "scheduler = tcp://127.0.0.1:7711\n";
    assert_int_equal(mlq_fs_write_atomic(path, good, strlen(good), NULL), 0);
    assert_int_equal(mlq_config_load(path, &cfg, &err), 0);
    assert_string_equal(mlq_config_get(cfg, "scheduler"), "tcp://127.0.0.1:7711");
    mlq_config_destroy(&cfg);

    /* Errors name the file, with $HOME shortened to "~". */
    const char *bad = "# mlq\n\nnot a pair\n";
    assert_int_equal(mlq_fs_write_atomic(path, bad, strlen(bad), NULL), 0);
    char *old_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
    setenv("HOME", dir, 1);
    assert_int_equal(mlq_config_load(path, &cfg, &err), MLQ_EINVAL);
    assert_string_equal(err.msg, "~/config:3: expected \"key = value\"");
    setenv("HOME", "/nonexistent-home", 1);
    assert_int_equal(mlq_config_load(path, &cfg, &err), MLQ_EINVAL);
    char want[200];
    snprintf(want, sizeof want, "%s:3: expected \"key = value\"", path);
    assert_string_equal(err.msg, want);
    if (old_home)
        setenv("HOME", old_home, 1);
    else
        unsetenv("HOME");
    free(old_home);

    unlink(path);
    rmdir(dir);
}

static void check_default(const char *mlq, const char *xdg, const char *home, const char *want)
{
    mlq ? setenv("MLQ_CONFIG", mlq, 1) : unsetenv("MLQ_CONFIG");
    xdg ? setenv("XDG_CONFIG_HOME", xdg, 1) : unsetenv("XDG_CONFIG_HOME");
    home ? setenv("HOME", home, 1) : unsetenv("HOME");
    char *got = mlq_config_default_path();
    if (!want) {
        assert_null(got);
        return;
    }
    assert_non_null(got);
    assert_string_equal(got, want);
    free(got);
}

static void test_default_path(void **state)
{
    (void)state;
    char *old_home = getenv("HOME") ? strdup(getenv("HOME")) : NULL;
    check_default("/etc/mlq.conf", "/x", "/h", "/etc/mlq.conf");
    check_default("", "/x", "/h", "/x/mlq/config");
    check_default(NULL, "/x", "/h", "/x/mlq/config");
    check_default(NULL, "", "/h", "/h/.config/mlq/config");
    check_default(NULL, "relative", "/h", "/h/.config/mlq/config");
    check_default(NULL, NULL, "/h", "/h/.config/mlq/config");
    check_default(NULL, NULL, "", NULL);
    check_default(NULL, NULL, NULL, NULL);
    unsetenv("MLQ_CONFIG");
    unsetenv("XDG_CONFIG_HOME");
    if (old_home)
        setenv("HOME", old_home, 1);
    free(old_home);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_good),         cmocka_unit_test(test_empty_inputs),
        cmocka_unit_test(test_override),     cmocka_unit_test(test_bad),
        cmocka_unit_test(test_nul_byte),     cmocka_unit_test(test_line_limit),
        cmocka_unit_test(test_key_limit),    cmocka_unit_test(test_load),
        cmocka_unit_test(test_default_path),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
