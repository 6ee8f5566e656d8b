/* Unit tests for common/log: the line format, levels, a log file and its
 * reopening after a rename (logrotate). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>

#include <cmocka.h>

#include <regex.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "log.h"

static char k_dir[64];

static char *slurp(const char *name)
{
    char path[128];
    char *text = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/%s", k_dir, name);
    if (mlq_fs_read_all(path, 1 << 20, &text, &len, NULL) < 0)
        return strdup("");
    return text;
}

static int count_lines(const char *s)
{
    int n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

static void test_file_and_reopen(void **state)
{
    (void)state;
    char path[128], moved[128], why[256];
    snprintf(k_dir, sizeof k_dir, "/tmp/test_log.%d", (int)getpid());
    assert_int_equal(mlq_fs_mkdirs(k_dir, 0700, NULL), 0);
    snprintf(path, sizeof path, "%s/d.log", k_dir);
    snprintf(moved, sizeof moved, "%s/d.log.1", k_dir);

    mlq_log_init("mlq-test", MLQ_LOG_INFO);
    assert_null(mlq_log_file());
    assert_int_equal(mlq_log_reopen(why, sizeof why), 0); /* stderr: nothing to do */
    assert_int_equal(mlq_log_open_file(path, why, sizeof why), 0);
    assert_string_equal(mlq_log_file(), path);
    mlq_info("first key=value");
    mlq_debug("not shown at info");
    mlq_warn("two\nlines\r");
    char *t = slurp("d.log");
    assert_int_equal(count_lines(t), 2);
    regex_t re;
    assert_int_equal(regcomp(&re,
                             "^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}\\.[0-9]{3}Z "
                             "mlq-test\\[[0-9]+\\] INFO first key=value\n",
                             REG_EXTENDED),
                     0);
    assert_int_equal(regexec(&re, t, 0, NULL, 0), 0);
    regfree(&re);
    assert_non_null(strstr(t, " WARN two lines \n")); /* one event, one line */
    free(t);

    /* logrotate moves the file; the next lines go there until the reopen. */
    assert_int_equal(rename(path, moved), 0);
    mlq_info("to the moved file");
    assert_int_equal(mlq_log_reopen(why, sizeof why), 0);
    assert_int_equal(mlq_log_set_level(MLQ_LOG_DEBUG), 0);
    assert_int_equal(mlq_log_level(), MLQ_LOG_DEBUG);
    mlq_debug("to the fresh file");
    t = slurp("d.log.1");
    assert_non_null(strstr(t, "INFO to the moved file\n"));
    assert_null(strstr(t, "fresh"));
    free(t);
    t = slurp("d.log");
    assert_non_null(strstr(t, "DEBUG to the fresh file\n"));
    assert_int_equal(count_lines(t), 1);
    free(t);

    assert_int_equal(mlq_log_set_level((enum mlq_log_level)7), -1);
    enum mlq_log_level l;
    assert_int_equal(mlq_log_parse_level("warn", &l), 0);
    assert_int_equal(l, MLQ_LOG_WARN);
    assert_int_equal(mlq_log_parse_level("loud", &l), -1);
    assert_int_equal(mlq_log_open_file("/nonexistent/dir/x.log", why, sizeof why), -1);
    assert_non_null(strstr(why, "/nonexistent/dir/x.log"));
    assert_string_equal(mlq_log_file(), path); /* a failed open changes nothing */
    unlink(path);
    unlink(moved);
    rmdir(k_dir);
}

/* Held lines: nothing is written until the flush, then every line in
 * order, whole; a WARN goes out at once behind what was held; a long
 * message is cut, still on one line; lines keep the second's stamp
 * format. */
static void test_hold_and_flush(void **state)
{
    (void)state;
    char path[128], why[256];
    snprintf(k_dir, sizeof k_dir, "/tmp/test_log_hold.%d", (int)getpid());
    assert_int_equal(mlq_fs_mkdirs(k_dir, 0700, NULL), 0);
    snprintf(path, sizeof path, "%s/h.log", k_dir);
    mlq_log_init("mlq-hold", MLQ_LOG_INFO);
    assert_int_equal(mlq_log_open_file(path, why, sizeof why), 0);
    mlq_log_hold(true);
    for (int i = 0; i < 3; i++)
        mlq_info("job %d submitted", i);
    char *t = slurp("h.log");
    assert_int_equal(count_lines(t), 0); /* held */
    free(t);
    mlq_log_flush();
    t = slurp("h.log");
    assert_int_equal(count_lines(t), 3);
    assert_true(strstr(t, "INFO job 0 submitted\n") < strstr(t, "INFO job 2 submitted\n"));
    assert_non_null(strstr(t, " mlq-hold["));
    free(t);

    mlq_info("held before a warning");
    mlq_warn("at once");
    t = slurp("h.log");
    assert_int_equal(count_lines(t), 5);
    assert_true(strstr(t, "held before a warning") < strstr(t, "WARN at once"));
    free(t);

    /* more than the hold buffer: written as it fills, no line lost or split */
    char big[3000];
    memset(big, 'x', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    for (int i = 0; i < 40; i++)
        mlq_info("%d %s", i, big);
    mlq_log_hold(false);
    t = slurp("h.log");
    assert_int_equal(count_lines(t), 45);
    for (char *p = t, *nl; (nl = strchr(p, '\n')); p = nl + 1)
        assert_true(nl - p < 2400 && nl - p > 20);
    free(t);
    mlq_info("not held");
    t = slurp("h.log");
    assert_int_equal(count_lines(t), 46);
    free(t);
    unlink(path);
    rmdir(k_dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_file_and_reopen),
        cmocka_unit_test(test_hold_and_flush),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
