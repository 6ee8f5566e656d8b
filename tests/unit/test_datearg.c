/* datearg: the dates `mlq usage --since/--until` and GET /api/v1/accounting
 * take: a day (midnight UTC), a UTC time with or without seconds and Z, a
 * duration ago; anything else (days that do not exist, other spellings) is
 * refused naming the text. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "datearg.h"

#define DAY_2026_12_07 INT64_C(1796601600000) /* 2026-12-07T00:00:00Z */

static int64_t ok(const char *s, int64_t now)
{
    struct mlq_err err = {0};
    int64_t v = -1;
    if (mlq_datearg_parse(s, now, &v, &err) != 0)
        fail_msg("%s: %s", s, err.msg);
    return v;
}

static void test_forms(void **state)
{
    (void)state;
    assert_true(ok("2026-12-07", 0) == DAY_2026_12_07);
    assert_true(ok("2026-12-07T03:04:05Z", 0) == DAY_2026_12_07 + (3 * 3600 + 4 * 60 + 5) * 1000);
    assert_true(ok("2026-12-07T03:04", 0) == DAY_2026_12_07 + (3 * 3600 + 4 * 60) * 1000);
    assert_true(ok("2026-12-07 00:00:01", 0) == DAY_2026_12_07 + 1000);
    assert_true(ok("2024-02-29", 0) > 0); /* a leap day */
    assert_true(ok("7d", DAY_2026_12_07) == DAY_2026_12_07 - 7 * 86400000LL);
    assert_true(ok("12h", DAY_2026_12_07) == DAY_2026_12_07 - 12 * 3600000LL);
}

static void test_rejects(void **state)
{
    (void)state;
    const char *bad[] = {
        "2026-02-30", "2026-13-01", "2025-02-29",       "yesterday",
        "",           "2026-1-1",   "2026-12-07T25:00", "2026-12-07T03:04:05+01:00",
        "7x",         "-7d",        "1969-12-31",       "2026-12-07Tnoon"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct mlq_err err = {0};
        int64_t v = 0;
        assert_int_equal(mlq_datearg_parse(bad[i], DAY_2026_12_07, &v, &err), MLQ_EINVAL);
        assert_non_null(strstr(err.msg, bad[i]));
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_forms),
        cmocka_unit_test(test_rejects),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
