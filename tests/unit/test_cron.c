/* Unit tests for common/cron: the parser's accepted and refused forms, next
 * fire times in UTC (steps, ranges, lists, names, the day-of-month /
 * day-of-week rule, leap years, month ends, year rollover, macros), the time
 * zone check, and daylight-saving changes in Europe/Paris and
 * America/New_York for fixed-time and wildcard expressions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cron.h"

#define N(a)       (sizeof(a) / sizeof((a)[0]))
#define MAX_FIRES  8
#define PARIS      "Europe/Paris"
#define NEW_YORK   "America/New_York"
#define PARIS_FILE MLQ_CRON_ZONEDIR "/" PARIS
#define NY_FILE    MLQ_CRON_ZONEDIR "/" NEW_YORK

/* "2026-03-29T01:00:00Z" (always UTC) -> Unix seconds. */
static int64_t utc(const char *iso)
{
    struct tm tm = {0};
    const char *end = strptime(iso, "%Y-%m-%dT%H:%M:%SZ", &tm);
    if (!end || *end)
        fail_msg("bad test time \"%s\"", iso);
    return (int64_t)timegm(&tm);
}

static void show(int64_t t, char *buf, size_t len)
{
    time_t tt = (time_t)t;
    struct tm tm;
    gmtime_r(&tt, &tm);
    strftime(buf, len, "%Y-%m-%dT%H:%M:%SZ", &tm);
}

static struct mlq_cron *parse_ok(const char *expr)
{
    struct mlq_cron *c = NULL;
    struct mlq_err err = {0};
    if (mlq_cron_parse(expr, &c, &err) != 0)
        fail_msg("cron \"%s\" refused: %s", expr, err.msg);
    assert_non_null(c);
    return c;
}

/* A run of consecutive fire times from `after`, in UTC, NULL-terminated. */
struct seq {
    const char *expr, *tz, *after;
    const char *fires[MAX_FIRES + 1];
};

static void check_seq(const struct seq *t)
{
    struct mlq_cron *c = parse_ok(t->expr);
    int64_t at = utc(t->after);
    for (int i = 0; t->fires[i]; i++) {
        struct mlq_err err = {0};
        int64_t next = -1;
        char got[32] = "-";
        if (mlq_cron_next(c, t->tz, at, &next, &err) != 0)
            fail_msg("cron \"%s\" in %s after %s: %s", t->expr, t->tz ? t->tz : "UTC", t->after,
                     err.msg);
        show(next, got, sizeof got);
        if (next != utc(t->fires[i]))
            fail_msg("cron \"%s\" in %s from %s: fire %d is %s, wanted %s", t->expr,
                     t->tz ? t->tz : "UTC", t->after, i, got, t->fires[i]);
        at = next;
    }
    mlq_cron_destroy(&c);
    assert_null(c);
}

static void check_seqs(const struct seq *t, size_t n)
{
    for (size_t i = 0; i < n; i++)
        check_seq(&t[i]);
}

static void test_parse_good(void **state)
{
    (void)state;
    static const char *const good[] = {
        "* * * * *",
        "0 0 1 1 *",
        "59 23 31 12 7",
        "*/1 * * * *",
        "*/60 */24 */31 */12 */7",
        "0-59/30 0-23/6 1-31/10 1-12/3 0-7/2",
        "1,2,3 4,5 6,7 8,9 0,1",
        "0 0 * JAN-DEC SUN-SAT",
        "0 0 * jan,Feb,MAR mon,TUE,wed",
        "0 0 * * 7",
        "  0   0\t* * *  ",
        "0 0 29 2 *",
        "0 0 31 1,2 *",
        "0 0 30 2 1",
        "@hourly",
        "@DAILY",
        "@midnight",
        "@weekly",
        "@monthly",
        "@yearly",
        "@annually",
        " @daily ",
        "007 02 1 1 *",
        "0 0 * * 5-7",
    };
    for (size_t i = 0; i < N(good); i++) {
        struct mlq_cron *c = parse_ok(good[i]);
        mlq_cron_destroy(&c);
    }
    mlq_cron_destroy(NULL); /* harmless */
}

struct bad {
    const char *in, *msg_part;
};

static void test_parse_bad(void **state)
{
    (void)state;
    static const struct bad bad[] = {
        {"", "empty expression"},
        {"   \t ", "empty expression"},
        {"61 * * * *", "cron \"61 * * * *\": minute 61 out of range 0-59"},
        {"* 24 * * *", "hour 24 out of range 0-23"},
        {"* * 0 * *", "day-of-month 0 out of range 1-31"},
        {"* * 32 * *", "day-of-month 32 out of range 1-31"},
        {"* * * 13 *", "month 13 out of range 1-12"},
        {"* * * 0 *", "month 0 out of range 1-12"},
        {"* * * * 8", "day-of-week 8 out of range 0-7"},
        {"99999999999999999999 * * * *", "minute 100000 out of range"},
        {"* * * *", "expected 5 fields"},
        {"* * * * * *", "got 6"},
        {"* * * * * /bin/true", "got 6"},
        {"1,,2 * * * *", "empty item in minute"},
        {",1 * * * *", "empty item in minute"},
        {"* 1, * * *", "empty item in hour"},
        {"*/0 * * * *", "minute step 0 out of range 1-60"},
        {"*/61 * * * *", "minute step 61 out of range 1-60"},
        {"* * * * */8", "day-of-week step 8 out of range 1-7"},
        {"5-3 * * * *", "minute range 5-3 is reversed"},
        {"* * * * FRI-MON", "day-of-week range 5-1 is reversed"},
        {"5/10 * * * *", "minute step needs a range or *"},
        {"1-5/ * * * *", "minute value missing"},
        {"1- * * * *", "minute value missing"},
        {"-5 * * * *", "unexpected \"-\" in minute"},
        {"1x * * * *", "unexpected \"x\" in minute"},
        {"** * * * *", "unexpected \"*\" in minute"},
        {"jan * * * *", "unexpected \"j\" in minute"},
        {"* * * FOO *", "unknown month name \"FOO\""},
        {"* * * JANUARY *", "unknown month name \"JANUARY\""},
        {"* * * * MONDAY", "unknown day-of-week name"},
        {"* * * * JAN", "unknown day-of-week name \"JAN\""},
        {"* * * MON *", "unknown month name \"MON\""},
        {"* * * * 1\x01", "unexpected byte 0x01 in day-of-week"},
        {"* * 1\xc3\xa9 * *", "unexpected byte 0xc3 in day-of-month"},
        {"@reboot", "unknown macro"},
        {"@daily x", "unknown macro"},
        {"0 0 30 2 *", "never fires"},
        {"0 0 31 4,6,9,11 *", "never fires"},
    };
    for (size_t i = 0; i < N(bad); i++) {
        struct mlq_cron *c = (struct mlq_cron *)&bad; /* must stay untouched */
        struct mlq_err err = {0};
        int rc = mlq_cron_parse(bad[i].in, &c, &err);
        if (rc != MLQ_EINVAL || !strstr(err.msg, bad[i].msg_part))
            fail_msg("cron \"%s\": rc %d, message \"%s\", wanted \"%s\"", bad[i].in, rc, err.msg,
                     bad[i].msg_part);
        assert_ptr_equal(c, (struct mlq_cron *)&bad);
        assert_null(strchr(err.msg, '\n'));
    }
}

static void test_parse_length(void **state)
{
    (void)state;
    char text[MLQ_CRON_MAX_EXPR + 2];
    struct mlq_cron *c = NULL;
    struct mlq_err err = {0};
    /* exactly the bound, padded with blanks, is fine */
    memset(text, ' ', MLQ_CRON_MAX_EXPR);
    memcpy(text, "* * * * *", 9);
    text[MLQ_CRON_MAX_EXPR] = '\0';
    assert_int_equal(mlq_cron_parse(text, &c, &err), 0);
    mlq_cron_destroy(&c);
    text[MLQ_CRON_MAX_EXPR] = ' ';
    text[MLQ_CRON_MAX_EXPR + 1] = '\0';
    assert_int_equal(mlq_cron_parse(text, &c, &err), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "longer than 256 characters"));
    assert_true(strlen(err.msg) < 100); /* the text is quoted only in part */
    assert_int_equal(mlq_cron_parse(NULL, &c, &err), MLQ_EINVAL);
}

static void test_next_utc(void **state)
{
    (void)state;
    static const struct seq t[] = {
        {"* * * * *",
         NULL,
         "2026-01-01T00:00:00Z",
         {"2026-01-01T00:01:00Z", "2026-01-01T00:02:00Z"}},
        {"* * * * *", "", "2026-01-01T00:00:30Z", {"2026-01-01T00:01:00Z"}},
        {"*/15 * * * *",
         NULL,
         "2026-01-01T23:14:59Z",
         {"2026-01-01T23:15:00Z", "2026-01-01T23:30:00Z", "2026-01-01T23:45:00Z",
          "2026-01-02T00:00:00Z"}},
        {"10-50/20 * * * *",
         NULL,
         "2026-01-01T00:31:00Z",
         {"2026-01-01T00:50:00Z", "2026-01-01T01:10:00Z", "2026-01-01T01:30:00Z"}},
        {"0 9-17/4 * * *",
         NULL,
         "2026-01-01T09:00:00Z",
         {"2026-01-01T13:00:00Z", "2026-01-01T17:00:00Z", "2026-01-02T09:00:00Z"}},
        {"0 0,12 1,15 * *",
         NULL,
         "2026-01-01T12:00:00Z",
         {"2026-01-15T00:00:00Z", "2026-01-15T12:00:00Z", "2026-02-01T00:00:00Z"}},
        /* 2026-01-02 is a Friday */
        {"0 9 * * MON-FRI",
         NULL,
         "2026-01-02T09:00:00Z",
         {"2026-01-05T09:00:00Z", "2026-01-06T09:00:00Z"}},
        {"30 4 * jan,Jul *",
         NULL,
         "2026-01-31T05:00:00Z",
         {"2026-07-01T04:30:00Z", "2026-07-02T04:30:00Z"}},
        {"0 0 * * sun",
         NULL,
         "2026-01-01T00:00:00Z",
         {"2026-01-04T00:00:00Z", "2026-01-11T00:00:00Z"}},
        {"0 0 * * 7", NULL, "2026-01-01T00:00:00Z", {"2026-01-04T00:00:00Z"}},
        {"0 0 * * 0", NULL, "2026-01-01T00:00:00Z", {"2026-01-04T00:00:00Z"}},
        {"0 0 * * 5-7",
         NULL,
         "2026-01-01T00:00:00Z",
         {"2026-01-02T00:00:00Z", "2026-01-03T00:00:00Z", "2026-01-04T00:00:00Z",
          "2026-01-09T00:00:00Z"}},
        /* both restricted: the 13th OR a Friday */
        {"0 0 13 * 5",
         NULL,
         "2026-01-01T00:00:00Z",
         {"2026-01-02T00:00:00Z", "2026-01-09T00:00:00Z", "2026-01-13T00:00:00Z",
          "2026-01-16T00:00:00Z"}},
        {"0 0 1 * MON",
         NULL,
         "2026-01-26T00:00:00Z",
         {"2026-02-01T00:00:00Z", "2026-02-02T00:00:00Z", "2026-02-09T00:00:00Z"}},
        /* one starts with '*': odd days AND Mondays */
        {"0 0 */2 * 1",
         NULL,
         "2026-01-01T00:00:00Z",
         {"2026-01-05T00:00:00Z", "2026-01-19T00:00:00Z", "2026-02-09T00:00:00Z"}},
        {"0 0 1 * */7",
         NULL,
         "2026-01-01T00:00:00Z",
         {"2026-02-01T00:00:00Z", "2026-03-01T00:00:00Z", "2026-11-01T00:00:00Z"}},
        /* leap years, 2100 is not one */
        {"0 0 29 2 *",
         NULL,
         "2026-01-01T00:00:00Z",
         {"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z"}},
        {"0 0 29 2 *", NULL, "2096-03-01T00:00:00Z", {"2104-02-29T00:00:00Z"}},
        {"0 0 29 2 */7", NULL, "2026-01-01T00:00:00Z", {"2032-02-29T00:00:00Z"}},
        /* month ends */
        {"0 0 31 * *",
         NULL,
         "2026-01-31T00:00:00Z",
         {"2026-03-31T00:00:00Z", "2026-05-31T00:00:00Z", "2026-07-31T00:00:00Z",
          "2026-08-31T00:00:00Z"}},
        {"0 0 30 * *", NULL, "2026-01-30T00:00:00Z", {"2026-03-30T00:00:00Z"}},
        {"0 0 28-31 2 *",
         NULL,
         "2027-02-28T00:00:00Z",
         {"2028-02-28T00:00:00Z", "2028-02-29T00:00:00Z"}},
        /* year rollover */
        {"59 23 31 12 *", NULL, "2026-12-31T23:59:00Z", {"2027-12-31T23:59:00Z"}},
        {"0 0 1 1 *",
         NULL,
         "2026-12-31T23:59:59Z",
         {"2027-01-01T00:00:00Z", "2028-01-01T00:00:00Z"}},
        {"* * * * *", NULL, "2026-12-31T23:59:00Z", {"2027-01-01T00:00:00Z"}},
        /* macros */
        {"@hourly", NULL, "2026-01-01T00:00:00Z", {"2026-01-01T01:00:00Z"}},
        {"@daily", NULL, "2026-01-01T00:00:00Z", {"2026-01-02T00:00:00Z"}},
        {"@weekly", NULL, "2026-01-01T00:00:00Z", {"2026-01-04T00:00:00Z"}},
        {"@monthly", NULL, "2026-01-01T00:00:00Z", {"2026-02-01T00:00:00Z"}},
        {"@yearly", NULL, "2026-01-01T00:00:00Z", {"2027-01-01T00:00:00Z"}},
        /* the epoch and the far end of the accepted range */
        {"0 0 * * *", NULL, "1970-01-01T00:00:00Z", {"1970-01-02T00:00:00Z"}},
    };
    check_seqs(t, N(t));
}

static void test_next_errors(void **state)
{
    (void)state;
    struct mlq_cron *c = parse_ok("* * * * *");
    struct mlq_err err = {0};
    int64_t next = 42;
    assert_int_equal(mlq_cron_next(c, NULL, -1, &next, &err), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "out of range"));
    assert_int_equal(mlq_cron_next(c, NULL, MLQ_CRON_MAX_TIME + 1, &next, &err), MLQ_EINVAL);
    /* the last accepted time still has a next fire: 10000-01-01T00:00:00Z */
    assert_int_equal(mlq_cron_next(c, NULL, MLQ_CRON_MAX_TIME, &next, &err), 0);
    assert_int_equal(next, MLQ_CRON_MAX_TIME + 1);
    next = 42;
    assert_int_equal(mlq_cron_next(c, "Mars/Olympus_Mons", 0, &next, &err), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "unknown time zone \"Mars/Olympus_Mons\""));
    assert_int_equal(mlq_cron_next(NULL, NULL, 0, &next, &err), MLQ_EINVAL);
    assert_int_equal(next, 42);
    mlq_cron_destroy(&c);
}

static void test_check_tz(void **state)
{
    (void)state;
    static const char *const bad[] = {
        "Mars/Olympus",  "../../etc/passwd", "/etc/passwd",      "Europe/../Europe/Paris",
        "Europe",        "leapseconds",      "zone.tab",         "Europe/Paris ",
        " Europe/Paris", "Europe/Paris\n",   "-Europe",          "Etc/",
        "Europe/Paris/", "Europe//Paris",    "EUROPE/PARIS\x01",
    };
    struct mlq_err err = {0};
    assert_int_equal(mlq_cron_check_tz(NULL, &err), 0);
    assert_int_equal(mlq_cron_check_tz("", &err), 0);
    assert_int_equal(mlq_cron_check_tz("UTC", &err), 0);
    for (size_t i = 0; i < N(bad); i++) {
        int rc = mlq_cron_check_tz(bad[i], &err);
        if (rc != MLQ_EINVAL || !strstr(err.msg, "unknown time zone"))
            fail_msg("zone \"%s\": rc %d, message \"%s\"", bad[i], rc, err.msg);
    }
    char longname[MLQ_CRON_MAX_TZ + 2];
    memset(longname, 'A', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_int_equal(mlq_cron_check_tz(longname, &err), MLQ_EINVAL);
    assert_true(strlen(err.msg) < 100);
}

/* Skips a DST test, loudly, only when the zone file is missing. */
static int have_zone(const char *path)
{
    if (access(path, R_OK) == 0)
        return 1;
    print_message("SKIPPED: %s missing; install tzdata (deploy/install-deps.sh)\n", path);
    return 0;
}

/* Paris 2026: 03-29 01:00Z clocks go 02:00 CET -> 03:00 CEST (02:xx never
 * happens); 10-25 01:00Z clocks go 03:00 CEST -> 02:00 CET (02:xx twice). */
static void test_dst_paris(void **state)
{
    (void)state;
    if (!have_zone(PARIS_FILE))
        skip();
    static const struct seq t[] = {
        /* fixed time in the gap: once, at the first instant after it */
        {"30 2 * * *",
         PARIS,
         "2026-03-27T12:00:00Z",
         {"2026-03-28T01:30:00Z", "2026-03-29T01:00:00Z", "2026-03-30T00:30:00Z"}},
        {"0,30 2 * * *",
         PARIS,
         "2026-03-28T12:00:00Z",
         {"2026-03-29T01:00:00Z", "2026-03-30T00:00:00Z"}},
        /* 03:00 exists: the gap's fire and 03:00 are the same instant */
        {"30 2,3 * * *",
         PARIS,
         "2026-03-28T12:00:00Z",
         {"2026-03-29T01:00:00Z", "2026-03-29T01:30:00Z", "2026-03-30T00:30:00Z"}},
        /* wildcard: follows the wall clock, nothing in the gap */
        {"*/30 2 * * *",
         PARIS,
         "2026-03-28T12:00:00Z",
         {"2026-03-30T00:00:00Z", "2026-03-30T00:30:00Z"}},
        {"0 * * * *",
         PARIS,
         "2026-03-28T22:30:00Z",
         {"2026-03-28T23:00:00Z", "2026-03-29T00:00:00Z", "2026-03-29T01:00:00Z",
          "2026-03-29T02:00:00Z"}},
        /* fixed time in the overlap: once, at its first occurrence */
        {"30 2 * * *",
         PARIS,
         "2026-10-24T12:00:00Z",
         {"2026-10-25T00:30:00Z", "2026-10-26T01:30:00Z"}},
        {"0,30 2 * * *",
         PARIS,
         "2026-10-24T12:00:00Z",
         {"2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z", "2026-10-26T01:00:00Z"}},
        /* between the two occurrences: the first has passed, so none */
        {"30 2 * * *", PARIS, "2026-10-25T00:45:00Z", {"2026-10-26T01:30:00Z"}},
        /* wildcard: both occurrences */
        {"*/30 2 * * *",
         PARIS,
         "2026-10-24T12:00:00Z",
         {"2026-10-25T00:00:00Z", "2026-10-25T00:30:00Z", "2026-10-25T01:00:00Z",
          "2026-10-25T01:30:00Z", "2026-10-26T01:00:00Z"}},
        {"0 * * * *",
         PARIS,
         "2026-10-24T22:30:00Z",
         {"2026-10-24T23:00:00Z", "2026-10-25T00:00:00Z", "2026-10-25T01:00:00Z",
          "2026-10-25T02:00:00Z"}},
        /* daily at midnight: unaffected, one offset each side */
        {"0 0 * * *",
         PARIS,
         "2026-03-27T12:00:00Z",
         {"2026-03-27T23:00:00Z", "2026-03-28T23:00:00Z", "2026-03-29T22:00:00Z"}},
        {"0 0 * * *",
         PARIS,
         "2026-10-24T12:00:00Z",
         {"2026-10-24T22:00:00Z", "2026-10-25T23:00:00Z"}},
    };
    check_seqs(t, N(t));
}

/* New York 2026: 03-08 07:00Z clocks go 02:00 EST -> 03:00 EDT; 11-01 06:00Z
 * clocks go 02:00 EDT -> 01:00 EST (01:xx twice). */
static void test_dst_new_york(void **state)
{
    (void)state;
    if (!have_zone(NY_FILE))
        skip();
    static const struct seq t[] = {
        {"30 2 * * *",
         NEW_YORK,
         "2026-03-07T12:00:00Z",
         {"2026-03-08T07:00:00Z", "2026-03-09T06:30:00Z"}},
        {"30 2 * * *",
         NEW_YORK,
         "2026-10-31T12:00:00Z",
         {"2026-11-01T07:30:00Z", "2026-11-02T07:30:00Z"}},
        {"30 1 * * *",
         NEW_YORK,
         "2026-10-31T12:00:00Z",
         {"2026-11-01T05:30:00Z", "2026-11-02T06:30:00Z"}},
        {"0 * * * *",
         NEW_YORK,
         "2026-03-08T05:30:00Z",
         {"2026-03-08T06:00:00Z", "2026-03-08T07:00:00Z", "2026-03-08T08:00:00Z"}},
        {"0 * * * *",
         NEW_YORK,
         "2026-11-01T03:30:00Z",
         {"2026-11-01T04:00:00Z", "2026-11-01T05:00:00Z", "2026-11-01T06:00:00Z",
          "2026-11-01T07:00:00Z"}},
        {"@weekly",
         NEW_YORK,
         "2026-03-01T12:00:00Z",
         {"2026-03-08T05:00:00Z", "2026-03-15T04:00:00Z"}},
    };
    check_seqs(t, N(t));
}

/* Counts the fires in (start, end), failing when two are not `spacing`
 * seconds apart (0: any spacing). */
static int count_fires(const char *expr, const char *tz, int64_t start, int64_t end,
                       int64_t spacing)
{
    struct mlq_cron *c = parse_ok(expr);
    int64_t at = start, next;
    int n = 0;
    for (;; n++, at = next) {
        assert_int_equal(mlq_cron_next(c, tz, at, &next, NULL), 0);
        assert_true(next > at);
        if (next >= end)
            break;
        if (spacing && at != start && next - at != spacing)
            fail_msg("%s: %lld s between fires at %lld", expr, (long long)(next - at),
                     (long long)next);
    }
    mlq_cron_destroy(&c);
    return n;
}

/* A whole year in Paris: a wildcard hourly job keeps real-time spacing across
 * both changes (every hour once), a fixed 02:30 job fires once every day, and
 * a fixed job every minute of 02:xx loses 59 minutes in spring (the gap fires
 * once) and gains none in autumn (first occurrences only). */
static void test_dst_year(void **state)
{
    (void)state;
    if (!have_zone(PARIS_FILE))
        skip();
    int64_t start = utc("2026-01-01T00:00:00Z"), end = utc("2027-01-01T00:00:00Z");
    assert_int_equal(count_fires("0 * * * *", PARIS, start, end, 3600), 365 * 24 - 1);
    assert_int_equal(count_fires("30 2 * * *", PARIS, start, end, 0), 365);
    assert_int_equal(count_fires("0-59 2 * * *", PARIS, start, end, 0), 365 * 60 - 59);
    assert_int_equal(count_fires("* 2 * * *", PARIS, start, end, 0), 365 * 60 - 60 + 60);
}

/* In Paris, March 28 is a Sunday only when it is the last Sunday, the day
 * 02:xx is skipped: a wildcard job at 02:xx on such days never fires there
 * (since 1996), while the fixed-time one fires as each gap ends. */
static void test_dst_never(void **state)
{
    (void)state;
    if (!have_zone(PARIS_FILE))
        skip();
    struct mlq_cron *wild = parse_ok("*/4 2 28 3 */7");
    struct mlq_err err = {0};
    int64_t next = 42;
    assert_int_equal(mlq_cron_next(wild, PARIS, utc("2026-01-01T00:00:00Z"), &next, &err),
                     MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "never fires in Europe/Paris"));
    assert_int_equal(next, 42);
    assert_int_equal(mlq_cron_next(wild, NULL, utc("2026-01-01T00:00:00Z"), &next, &err), 0);
    assert_int_equal(next, utc("2027-03-28T02:00:00Z"));
    /* no daylight saving in France in 1971 */
    assert_int_equal(mlq_cron_next(wild, PARIS, 0, &next, &err), 0);
    assert_int_equal(next, utc("1971-03-28T01:00:00Z"));
    mlq_cron_destroy(&wild);
    static const struct seq t[] = {
        {"0 2 28 3 */7",
         PARIS,
         "2026-01-01T00:00:00Z",
         {"2027-03-28T01:00:00Z", "2032-03-28T01:00:00Z"}},
    };
    check_seqs(t, N(t));
}

/* TZ is put back exactly as it was, set or unset. */
static void test_tz_restored(void **state)
{
    (void)state;
    if (!have_zone(PARIS_FILE))
        skip();
    struct mlq_cron *c = parse_ok("0 0 * * *");
    int64_t next;
    char *old = getenv("TZ") ? strdup(getenv("TZ")) : NULL;
    assert_int_equal(setenv("TZ", "America/New_York", 1), 0);
    assert_int_equal(mlq_cron_next(c, PARIS, 0, &next, NULL), 0);
    assert_string_equal(getenv("TZ"), "America/New_York");
    assert_int_equal(unsetenv("TZ"), 0);
    assert_int_equal(mlq_cron_next(c, PARIS, 0, &next, NULL), 0);
    assert_null(getenv("TZ"));
    assert_int_equal(next, utc("1970-01-01T23:00:00Z")); /* Paris was UTC+1 in 1970 */
    if (old)
        setenv("TZ", old, 1);
    free(old);
    mlq_cron_destroy(&c);
}

/* Fire times as a schedule's runs see them (MLQ_SCHEDULED_TIME): wall time
 * in the zone with its offset, or UTC with Z. */
static void test_format_iso(void **state)
{
    (void)state;
    char buf[MLQ_CRON_ISO_LEN];
    struct mlq_err err;
    const int64_t t = 1796605200; /* 2026-12-07T01:00:00Z */
    assert_int_equal(mlq_cron_format(PARIS, t, buf, sizeof buf, &err), 0);
    assert_string_equal(buf, "2026-12-07T02:00:00+01:00");
    assert_int_equal(mlq_cron_format(NULL, t, buf, sizeof buf, &err), 0);
    assert_string_equal(buf, "2026-12-07T01:00:00Z");
    assert_int_equal(mlq_cron_format(NEW_YORK, t, buf, sizeof buf, &err), 0);
    assert_string_equal(buf, "2026-12-06T20:00:00-05:00");
    assert_int_equal(mlq_cron_format(PARIS, 1785974400, buf, sizeof buf, &err), 0);
    assert_string_equal(buf, "2026-08-06T02:00:00+02:00"); /* summer time */
    assert_int_equal(mlq_cron_format("Mars/Olympus", t, buf, sizeof buf, &err), MLQ_EINVAL);
    assert_int_equal(mlq_cron_format(PARIS, t, buf, 10, &err), MLQ_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_parse_good),   cmocka_unit_test(test_parse_bad),
        cmocka_unit_test(test_parse_length), cmocka_unit_test(test_next_utc),
        cmocka_unit_test(test_next_errors),  cmocka_unit_test(test_check_tz),
        cmocka_unit_test(test_dst_paris),    cmocka_unit_test(test_dst_new_york),
        cmocka_unit_test(test_dst_year),     cmocka_unit_test(test_dst_never),
        cmocka_unit_test(test_tz_restored),  cmocka_unit_test(test_format_iso),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
