/* Unit tests for common/optconf: one getopt table drives the command line
 * and the config file; strict file checks; the command line wins; what a
 * reload sees as changed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "optconf.h"

enum { O_LEASE = 256, O_LABEL, O_FLAG, O_LEVEL, O_CONFIG, O_HELP = 'h' };

static const struct option k_table[] = {
    {"lease", required_argument, NULL, O_LEASE},
    {"label", required_argument, NULL, O_LABEL},
    {"insecure", no_argument, NULL, O_FLAG},
    {"log-level", required_argument, NULL, O_LEVEL},
    {"config", required_argument, NULL, O_CONFIG},
    {"help", no_argument, NULL, O_HELP},
    {NULL, 0, NULL, 0},
};
static const int k_repeat[] = {O_LABEL, 0};
static const int k_not_keys[] = {O_CONFIG, O_HELP, 0};
static const struct mlq_optconf_spec k_spec = {"prog", k_table, "h", k_repeat, k_not_keys};

/* What apply saw, as "name=value;" (flags as "name;"). */
struct seen {
    char text[512];
    int fail_code; /* apply fails for this code */
};

static int record(void *ctx, int code, const char *value, struct mlq_err *err)
{
    struct seen *s = ctx;
    if (code == s->fail_code)
        return mlq_err_set(err, MLQ_EINVAL, "expected something else");
    size_t n = strlen(s->text);
    snprintf(s->text + n, sizeof s->text - n, "%s%s%s;", mlq_optconf_name(&k_spec, code),
             value ? "=" : "", value ? value : "");
    return 0;
}

static char k_path[64];

static void write_file(const char *text)
{
    snprintf(k_path, sizeof k_path, "/tmp/test_optconf.%d", (int)getpid());
    FILE *f = fopen(k_path, "w");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

static int load(const char *text, struct mlq_optconf *out, struct mlq_err *err)
{
    write_file(text);
    int rc = mlq_optconf_file(&k_spec, k_path, out, err);
    unlink(k_path);
    return rc;
}

/* The file's error names FILE:LINE, the key and what is expected. */
static void expect_file_error(const char *text, const char *want)
{
    struct mlq_optconf f;
    struct mlq_err err = {0};
    assert_true(load(text, &f, &err) < 0);
    char full[256];
    snprintf(full, sizeof full, "%s:%s", k_path, want);
    if (!strstr(err.msg, full))
        fail_msg("got \"%s\", wanted \"%s\"", err.msg, full);
    assert_null(f.set);
}

static void test_file_strict(void **state)
{
    (void)state;
    expect_file_error("lease = 1s\nbogus = 2\n", "2: unknown key \"bogus\"");
    expect_file_error("help = true\n", "1: unknown key \"help\"");
    expect_file_error("config = /x\n", "1: unknown key \"config\"");
    expect_file_error("\n# c\nlease = 1s\nlease = 2s\n", "4: lease: already set on line 3");
    expect_file_error("insecure = yes\n", "1: insecure: expected true or false");
    expect_file_error("lease =\n", "1: lease: expected a value");
    expect_file_error("lease 5s\n", "1: expected \"key = value\"");
    expect_file_error("Lease = 5s\n", "1: expected \"key = value\"");
    expect_file_error("lease = a\x01b\n", "1: control character in value");
    char long_line[5000];
    memset(long_line, 'x', sizeof long_line - 1);
    long_line[sizeof long_line - 1] = '\0';
    memcpy(long_line, "lease = ", 8);
    expect_file_error(long_line, "1: line longer than 4096 bytes");
    /* More settings than the bound. */
    size_t cap = (MLQ_OPTCONF_MAX + 1) * 16;
    char *many = malloc(cap);
    size_t used = 0;
    for (int i = 0; i <= MLQ_OPTCONF_MAX; i++)
        used += (size_t)snprintf(many + used, cap - used, "label = k%d=v\n", i);
    expect_file_error(many, "513: too many settings");
    free(many);
    struct mlq_optconf f;
    struct mlq_err err = {0};
    assert_int_equal(mlq_optconf_file(&k_spec, "/nonexistent/x.conf", &f, &err), MLQ_ENOTFOUND);
}

static void test_file_and_argv(void **state)
{
    (void)state;
    struct mlq_optconf file, cmd;
    struct mlq_err err = {0};
    assert_int_equal(load("# daemon\nlease = 30s\nlabel = a=1\n  label=b=2  \ninsecure = true\n"
                          "log-level = debug\n",
                          &file, &err),
                     0);
    assert_int_equal(file.n, 5);
    assert_string_equal(mlq_optconf_get(&file, O_LABEL), "b=2");
    char *argv[] = {"prog", "--lease", "5s", "--config", "/c", NULL};
    assert_int_equal(mlq_optconf_argv(&k_spec, 5, argv, &cmd, &err), 0);
    assert_string_equal(mlq_optconf_get(&cmd, O_CONFIG), "/c");
    struct seen s = {.fail_code = -1};
    assert_int_equal(mlq_optconf_apply(&k_spec, &file, &cmd, record, &s, &err), 0);
    /* The file first, without what the command line sets; then the line. */
    assert_string_equal(s.text, "label=a=1;label=b=2;insecure;log-level=debug;lease=5s;config=/c;");
    mlq_optconf_clear(&cmd);

    /* A label on the command line replaces all of the file's. */
    char *argv2[] = {"prog", "--label", "c=3", NULL};
    assert_int_equal(mlq_optconf_argv(&k_spec, 3, argv2, &cmd, &err), 0);
    s.text[0] = '\0';
    assert_int_equal(mlq_optconf_apply(&k_spec, &file, &cmd, record, &s, &err), 0);
    assert_string_equal(s.text, "lease=30s;insecure;log-level=debug;label=c=3;");

    /* Errors name where the value came from. */
    s.fail_code = O_LEVEL;
    assert_true(mlq_optconf_apply(&k_spec, &file, &cmd, record, &s, &err) < 0);
    char want[128];
    snprintf(want, sizeof want, "%s:6: log-level: expected something else", k_path);
    assert_string_equal(err.msg, want);
    s.fail_code = O_LABEL;
    assert_true(mlq_optconf_apply(&k_spec, &file, &cmd, record, &s, &err) < 0);
    assert_string_equal(err.msg, "--label: expected something else");
    mlq_optconf_clear(&cmd);
    mlq_optconf_clear(&file);

    /* A flag set to false is not applied; an operand is an error. */
    assert_int_equal(load("insecure = false\n", &file, &err), 0);
    s = (struct seen){.fail_code = -1};
    assert_int_equal(mlq_optconf_apply(&k_spec, &file, NULL, record, &s, &err), 0);
    assert_string_equal(s.text, "");
    mlq_optconf_clear(&file);
    char *argv3[] = {"prog", "extra", NULL};
    assert_true(mlq_optconf_argv(&k_spec, 2, argv3, &cmd, &err) < 0);
    assert_non_null(strstr(err.msg, "unexpected argument \"extra\""));
    mlq_optconf_clear(&cmd);
}

/* What a reload compares: values in order, the command line masking. */
static void test_changed(void **state)
{
    (void)state;
    struct mlq_optconf a, b, cmd;
    struct mlq_err err = {0};
    assert_int_equal(load("lease = 30s\nlabel = x=1\nlabel = y=2\n", &a, &err), 0);
    assert_int_equal(load("label = x=1\nlabel = y=2\nlease = 30s\nlog-level = debug\n", &b, &err),
                     0);
    assert_false(mlq_optconf_changed(&a, &b, NULL, O_LEASE));
    assert_false(mlq_optconf_changed(&a, &b, NULL, O_LABEL));
    assert_true(mlq_optconf_changed(&a, &b, NULL, O_LEVEL));
    assert_true(mlq_optconf_changed(NULL, &b, NULL, O_LEASE));
    mlq_optconf_clear(&b);
    assert_int_equal(load("label = y=2\nlabel = x=1\nlease = 31s\n", &b, &err), 0);
    assert_true(mlq_optconf_changed(&a, &b, NULL, O_LABEL)); /* order counts */
    assert_true(mlq_optconf_changed(&a, &b, NULL, O_LEASE));
    char *argv[] = {"prog", "--lease", "1m", NULL};
    assert_int_equal(mlq_optconf_argv(&k_spec, 3, argv, &cmd, &err), 0);
    assert_false(mlq_optconf_changed(&a, &b, &cmd, O_LEASE)); /* the command line's stays */
    mlq_optconf_clear(&a);
    mlq_optconf_clear(&b);
    mlq_optconf_clear(&cmd);
    mlq_optconf_clear(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_strict),
        cmocka_unit_test(test_file_and_argv),
        cmocka_unit_test(test_changed),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
