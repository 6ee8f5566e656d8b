/* outpath: -o/-e file templates: which placeholders are known and how a
 * template expands (relative to the workdir, %j %a %A %%). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>
#include <cmocka.h>

#include "outpath.h"

static void test_check(void **state)
{
    (void)state;
    struct mlq_err err = {0};
    assert_int_equal(mlq_outpath_check("--stdout", "out-%j-%a-%A-100%%.log", &err), 0);
    assert_int_equal(mlq_outpath_check("--stdout", "x-%q.log", &err), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "--stdout: unknown placeholder %q"));
    assert_int_equal(mlq_outpath_check("--stderr", "trailing%", &err), MLQ_EINVAL);
    assert_int_equal(mlq_outpath_check("--stderr", "", &err), MLQ_EINVAL);
    assert_int_equal(mlq_outpath_check("--stderr", "a\nb", &err), MLQ_EINVAL);
}

static void test_expand(void **state)
{
    (void)state;
    char buf[256];
    assert_int_equal(
        mlq_outpath_expand("logs/%j.%a.%A-%%.txt", "/work", "abc", 7, 2, buf, sizeof buf), 0);
    assert_string_equal(buf, "/work/logs/abc.7.2-%.txt");
    assert_int_equal(mlq_outpath_expand("/abs/%a.log", "/work", "abc", -1, 1, buf, sizeof buf), 0);
    assert_string_equal(buf, "/abs/.log"); /* not a task: %a is empty */
    assert_int_equal(mlq_outpath_expand("%j%j%j", "/w", "0123456789", 0, 1, buf, 20), MLQ_ETOOBIG);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_check),
        cmocka_unit_test(test_expand),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
