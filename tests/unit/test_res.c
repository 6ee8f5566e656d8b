/* Unit tests for common/res: every parser with good and bad input, every
 * formatter, and parse(fmt(x)) == x where the text is exact. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "bounds.h"
#include "res.h"

struct good64 {
    const char *in;
    int64_t want;
};

struct bad {
    const char *in;
    const char *msg_part; /* substring the message must contain */
};

static void check_bad(int (*parse)(const char *, int64_t *, struct mlq_err *), const struct bad *t,
                      size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct mlq_err err = {0};
        int64_t out = 12345;
        int rc = parse(t[i].in, &out, &err);
        if (rc != MLQ_EINVAL || !strstr(err.msg, t[i].msg_part))
            fail_msg("input \"%s\": rc %d, message \"%s\", wanted \"%s\"", t[i].in, rc, err.msg,
                     t[i].msg_part);
        assert_int_equal(err.code, MLQ_EINVAL);
        assert_int_equal(out, 12345); /* untouched on failure */
    }
}

static void check_good(int (*parse)(const char *, int64_t *, struct mlq_err *),
                       const struct good64 *t, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        struct mlq_err err = {0};
        int64_t out = -1;
        int rc = parse(t[i].in, &out, &err);
        if (rc != 0 || out != t[i].want)
            fail_msg("input \"%s\": rc %d (%s), got %lld, wanted %lld", t[i].in, rc, err.msg,
                     (long long)out, (long long)t[i].want);
    }
}

#define N(a) (sizeof(a) / sizeof((a)[0]))

static void test_cpus_good(void **state)
{
    (void)state;
    static const struct good64 t[] = {
        {"1", 1000},       {"2", 2000},           {"0.5", 500},     {"1.25", 1250},  {"0.001", 1},
        {"0.1", 100},      {"16", 16000},         {"1.0", 1000},    {"1.500", 1500}, {"007", 7000},
        {"1024", 1024000}, {"1023.999", 1023999}, {"0000.25", 250}, {"3.14", 3140},
    };
    check_good(mlq_res_parse_cpus, t, N(t));
}

static void test_cpus_bad(void **state)
{
    (void)state;
    static const struct bad t[] = {
        {"", "expected a number"},        {"0", "more than 0"},
        {"0.0", "more than 0"},           {"0.000", "more than 0"},
        {"-1", "expected a number"},      {"+1", "expected a number"},
        {" 1", "expected a number"},      {"1 ", "expected a number"},
        {"1.", "expected a number"},      {".5", "expected a number"},
        {"1.2.3", "expected a number"},   {"0.0001", "at most 3 decimals"},
        {"1.2345", "at most 3 decimals"}, {"1024.001", "at most 1024"},
        {"1025", "at most 1024"},         {"99999999999999999999999999", "at most 1024"},
        {"nan", "expected a number"},     {"inf", "expected a number"},
        {"0x10", "expected a number"},    {"1e3", "expected a number"},
        {"2cpus", "expected a number"},   {"1,5", "expected a number"},
    };
    check_bad(mlq_res_parse_cpus, t, N(t));
}

static void test_mem_good(void **state)
{
    (void)state;
    const int64_t K = 1024, M = K * K, G = M * K, T = G * K;
    const struct good64 t[] = {
        {"1", 1},        {"1023", 1023},       {"1024", 1024},      {"1K", K},
        {"1k", K},       {"512M", 512 * M},    {"512m", 512 * M},   {"4G", 4 * G},
        {"4g", 4 * G},   {"4GiB", 4 * G},      {"4GB", 4 * G},      {"4Gi", 4 * G},
        {"4gib", 4 * G}, {"4gb", 4 * G},       {"1.5G", G + G / 2}, {"0.5K", 512},
        {"2T", 2 * T},   {"1024T", 1024 * T},  {"100B", 100},       {"100b", 100},
        {"0.001K", 1},   {"1.25M", M + M / 4}, {"16G", 16 * G},     {"1125899906842624", 1024 * T},
    };
    check_good(mlq_res_parse_mem, t, N(t));
}

static void test_mem_bad(void **state)
{
    (void)state;
    static const struct bad t[] = {
        {"", "expected a size"},
        {"0", "more than 0"},
        {"0G", "more than 0"},
        {"0.0001K", "at most 3 decimals"},
        {"0.5", "whole number"},
        {"-1G", "expected a size"},
        {"+1G", "expected a size"},
        {" 1G", "expected a size"},
        {"1G ", "expected a size"},
        {"1 G", "expected a size"},
        {"5Q", "unknown suffix \"Q\" (use K, M, G or T)"},
        {"5P", "unknown suffix \"P\""},
        {"5KK", "unknown suffix \"KK\""},
        {"5Gibi", "unknown suffix \"Gibi\""},
        {"5iB", "unknown suffix \"iB\""},
        {"1025T", "at most 1024T"},
        {"1024.001T", "at most 1024T"},
        {"1125899906842625", "at most 1024T"},
        {"99999999999999999999999G", "at most 1024T"},
        {"1.2345G", "at most 3 decimals"},
        {"G", "expected a size"},
        {"nan", "expected a size"},
        {"0x10", "expected a size"},
        {"1e9", "expected a size"},
        {"1.5e3G", "expected a size"},
    };
    check_bad(mlq_res_parse_mem, t, N(t));
}

static void test_mem_suffix_message(void **state)
{
    (void)state;
    struct mlq_err err = {0};
    int64_t out;
    assert_int_equal(mlq_res_parse_mem("5Q", &out, &err), MLQ_EINVAL);
    assert_string_equal(err.msg,
                        "invalid memory size \"5Q\": unknown suffix \"Q\" (use K, M, G or T)");
}

static void test_gpus(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int32_t want;
    } good[] = {{"0", 0}, {"1", 1}, {"8", 8}, {"64", 64}, {"00", 0}, {"08", 8}};
    for (size_t i = 0; i < N(good); i++) {
        int32_t out = -1;
        struct mlq_err err = {0};
        assert_int_equal(mlq_res_parse_gpus(good[i].in, &out, &err), 0);
        assert_int_equal(out, good[i].want);
    }
    static const char *const bad[] = {
        "", "-1", "+1", "65", "1.0", "0.5", " 1", "1 ", "one", "1g", "0x1", "99999999999999999999",
    };
    for (size_t i = 0; i < N(bad); i++) {
        int32_t out = 77;
        struct mlq_err err = {0};
        assert_int_equal(mlq_res_parse_gpus(bad[i], &out, &err), MLQ_EINVAL);
        assert_int_equal(out, 77);
        assert_non_null(strstr(err.msg, "must be a whole number from 0 to 64"));
    }
    struct mlq_err err = {0};
    int32_t out;
    mlq_res_parse_gpus("-1", &out, &err);
    assert_string_equal(err.msg, "invalid GPU count \"-1\": must be a whole number from 0 to 64");
}

/* --gpus amounts: whole numbers are whole GPUs, 0 < f < 1 with at most two
 * decimals a share in hundredths; everything else is refused untouched. */
static void test_gpu_amount(void **state)
{
    (void)state;
    static const struct {
        const char *in;
        int32_t gpus, frac;
    } good[] = {{"0", 0, 0},    {"2", 2, 0},     {"64", 64, 0},  {"0.25", 0, 25},
                {"0.5", 0, 50}, {"0.50", 0, 50}, {"0.01", 0, 1}, {"0.99", 0, 99}};
    for (size_t i = 0; i < N(good); i++) {
        int32_t g = -1, f = -1;
        struct mlq_err err = {0};
        assert_int_equal(mlq_res_parse_gpu_amount(good[i].in, &g, &f, &err), 0);
        assert_int_equal(g, good[i].gpus);
        assert_int_equal(f, good[i].frac);
    }
    static const struct {
        const char *in, *msg;
    } bad[] = {
        {"1.5", "invalid GPU share \"1.5\": a share must be more than 0 and less than 1"},
        {"1.0", "a share must be more than 0 and less than 1"},
        {"0.0", "a share must be more than 0 and less than 1"},
        {"0.001", "invalid GPU share \"0.001\": at most two decimals"},
        {"0.255", "invalid GPU share \"0.255\": at most two decimals"},
        {"0.500", "at most two decimals"},
        {".5", "expected a whole number of GPUs or a share"},
        {"0.", "expected a whole number of GPUs or a share"},
        {"-0.5", "expected a whole number of GPUs or a share"},
        {"0.5x", "expected a whole number of GPUs or a share"},
        {"", "expected a whole number of GPUs or a share"},
        {"65", "must be a whole number from 0 to 64"},
    };
    for (size_t i = 0; i < N(bad); i++) {
        int32_t g = 77, f = 77;
        struct mlq_err err = {0};
        assert_int_equal(mlq_res_parse_gpu_amount(bad[i].in, &g, &f, &err), MLQ_EINVAL);
        assert_int_equal(g, 77);
        assert_int_equal(f, 77);
        if (!strstr(err.msg, bad[i].msg))
            fail_msg("'%s': \"%s\", wanted \"%s\"", bad[i].in, err.msg, bad[i].msg);
    }
    char buf[64];
    assert_string_equal(mlq_res_fmt_gpu_share(25, buf, sizeof buf), "0.25");
    assert_string_equal(mlq_res_fmt_gpu_share(50, buf, sizeof buf), "0.5");
    assert_string_equal(mlq_res_fmt_gpu_share(5, buf, sizeof buf), "0.05");
    assert_string_equal(mlq_res_fmt_gpu_request(0, 25, NULL, buf, sizeof buf), "0.25");
    assert_string_equal(mlq_res_fmt_gpu_request(2, 0, "a100|h100", buf, sizeof buf), "a100|h100:2");
    assert_string_equal(mlq_res_fmt_gpu_request(0, 50, "h100", buf, sizeof buf), "h100:0.5");
    assert_string_equal(mlq_res_fmt_gpu_request(1, 0, NULL, buf, sizeof buf), "1");
}

static void test_duration_good(void **state)
{
    (void)state;
    static const struct good64 t[] = {
        {"1", 1000},
        {"45", 45000},
        {"30s", 30000},
        {"250ms", 250},
        {"1ms", 1},
        {"5m", 300000},
        {"2h", 7200000},
        {"1d", 86400000},
        {"1.5h", 5400000},
        {"0.5s", 500},
        {"0.001s", 1},
        {"1.5ms", 1},
        {"365d", 365LL * 86400000},
        {"8760h", 365LL * 86400000},
        {"31536000", 31536000000LL},
        {"3.2s", 3200},
    };
    check_good(mlq_res_parse_duration, t, N(t));
}

static void test_duration_bad(void **state)
{
    (void)state;
    static const struct bad t[] = {
        {"", "expected a duration"},
        {"0", "at least 1ms"},
        {"0s", "at least 1ms"},
        {"0.5ms", "at least 1ms"},
        {"-1s", "expected a duration"},
        {"+1s", "expected a duration"},
        {" 1s", "expected a duration"},
        {"1s ", "expected a duration"},
        {"1 s", "expected a duration"},
        {"5x", "unknown suffix \"x\" (use ms, s, m, h or d)"},
        {"5M", "unknown suffix \"M\""},
        {"5H", "unknown suffix \"H\""},
        {"1h30m", "expected a duration"},
        {"5min", "unknown suffix \"min\""},
        {"366d", "at most 365d"},
        {"365.001d", "at most 365d"},
        {"31536001", "at most 365d"},
        {"99999999999999999999999d", "at most 365d"},
        {"1.0001s", "at most 3 decimals"},
        {"s", "expected a duration"},
        {"inf", "expected a duration"},
        {"1e3", "expected a duration"},
    };
    check_bad(mlq_res_parse_duration, t, N(t));
}

static void test_null_and_long_input(void **state)
{
    (void)state;
    struct mlq_err err = {0};
    int64_t v;
    int32_t g;
    assert_int_equal(mlq_res_parse_cpus(NULL, &v, &err), MLQ_EINVAL);
    assert_int_equal(mlq_res_parse_mem(NULL, &v, &err), MLQ_EINVAL);
    assert_int_equal(mlq_res_parse_gpus(NULL, &g, &err), MLQ_EINVAL);
    assert_int_equal(mlq_res_parse_duration(NULL, &v, &err), MLQ_EINVAL);
    /* A NULL err is allowed. */
    assert_int_equal(mlq_res_parse_mem("bad", &v, NULL), MLQ_EINVAL);

    /* Long and hostile input is quoted shortened and with control bytes
     * replaced, so a message never carries terminal escapes. */
    char big[600];
    memset(big, 'x', sizeof big - 1);
    big[0] = '1';
    big[1] = '\033';
    big[sizeof big - 1] = '\0';
    assert_int_equal(mlq_res_parse_mem(big, &v, &err), MLQ_EINVAL);
    assert_null(strchr(err.msg, '\033'));
    assert_non_null(strstr(err.msg, "..."));
    assert_true(strlen(err.msg) < MLQ_ERR_MSG_MAX);
}

static void test_fmt_cpus(void **state)
{
    (void)state;
    static const struct {
        int64_t in;
        const char *want;
    } t[] = {
        {500, "0.5"}, {2000, "2"},     {1250, "1.25"},    {1, "0.001"},    {10, "0.01"},
        {0, "0"},     {1001, "1.001"}, {1024000, "1024"}, {-1500, "-1.5"}, {123456, "123.456"},
    };
    char buf[32];
    for (size_t i = 0; i < N(t); i++)
        assert_string_equal(mlq_res_fmt_cpus(t[i].in, buf, sizeof buf), t[i].want);
    assert_string_equal(mlq_res_fmt_cpus(INT64_MIN, buf, sizeof buf), "-9223372036854775.808");
}

static void test_fmt_mem(void **state)
{
    (void)state;
    const int64_t K = 1024, M = K * K, G = M * K, T = G * K;
    const struct {
        int64_t in;
        const char *want;
    } t[] = {
        {512 * M, "512M"},
        {G + G / 2, "1.5G"},
        {1023, "1023"},
        {16 * G, "16G"},
        {0, "0"},
        {K, "1K"},
        {1536, "1.5K"},
        {M + M / 4, "1.25M"},
        {2 * G - 1, "1.99G"},
        {1000 * M, "1000M"},
        {1024 * T, "1024T"},
        {3 * T, "3T"},
        {K + 10, "1K"},
        {-K, "-1K"},
        {1, "1"},
    };
    char buf[32];
    for (size_t i = 0; i < N(t); i++)
        assert_string_equal(mlq_res_fmt_mem(t[i].in, buf, sizeof buf), t[i].want);
}

static void test_fmt_duration(void **state)
{
    (void)state;
    static const struct {
        int64_t in;
        const char *want;
    } t[] = {
        {250, "250ms"},
        {0, "0ms"},
        {999, "999ms"},
        {1000, "1s"},
        {3200, "3.2s"},
        {3250, "3.2s"},
        {59999, "59.9s"},
        {60000, "1m00s"},
        {303000, "5m03s"},
        {3599999, "59m59s"},
        {3600000, "1h00m"},
        {3720000, "1h02m"},
        {86399999, "23h59m"},
        {86400000, "1d00h"},
        {2 * 86400000 + 3 * 3600000, "2d03h"},
        {365LL * 86400000, "365d00h"},
        {-1500, "-1.5s"},
    };
    char buf[32];
    for (size_t i = 0; i < N(t); i++)
        assert_string_equal(mlq_res_fmt_duration(t[i].in, buf, sizeof buf), t[i].want);
}

static void test_fmt_small_buffer(void **state)
{
    (void)state;
    char buf[4] = "zzz";
    assert_string_equal(mlq_res_fmt_mem(512LL << 20, buf, 3), "51");
    assert_string_equal(mlq_res_fmt_cpus(1250, buf, 2), "1");
    assert_string_equal(mlq_res_fmt_duration(303000, buf, 1), "");
    buf[0] = 'q';
    mlq_res_fmt_duration(303000, buf, 0); /* writes nothing */
    assert_int_equal(buf[0], 'q');
}

/* parse(fmt(x)) == x for values whose text is exact. */
static void test_round_trip(void **state)
{
    (void)state;
    char buf[32];
    int64_t v;
    static const int64_t cpus[] = {1, 10, 100, 500, 999, 1000, 1250, 2000, 123456, MLQ_MAX_CPUS_M};
    for (size_t i = 0; i < N(cpus); i++) {
        assert_int_equal(mlq_res_parse_cpus(mlq_res_fmt_cpus(cpus[i], buf, sizeof buf), &v, NULL),
                         0);
        assert_int_equal(v, cpus[i]);
    }
    /* Every millicore value round-trips, not just a few. */
    for (int64_t m = 1; m <= 4000; m++) {
        assert_int_equal(mlq_res_parse_cpus(mlq_res_fmt_cpus(m, buf, sizeof buf), &v, NULL), 0);
        assert_int_equal(v, m);
    }
    static const int64_t mem[] = {
        1,         1023,       1024,      1536,        512 << 20,
        3LL << 29, 16LL << 30, 5LL << 40, MLQ_MAX_MEM, (1LL << 30) / 4 * 5};
    for (size_t i = 0; i < N(mem); i++) {
        assert_int_equal(mlq_res_parse_mem(mlq_res_fmt_mem(mem[i], buf, sizeof buf), &v, NULL), 0);
        assert_int_equal(v, mem[i]);
    }
    static const int64_t dur[] = {1, 250, 999, 1000, 3200, 45000, 59900};
    for (size_t i = 0; i < N(dur); i++) {
        assert_int_equal(
            mlq_res_parse_duration(mlq_res_fmt_duration(dur[i], buf, sizeof buf), &v, NULL), 0);
        assert_int_equal(v, dur[i]);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_cpus_good),    cmocka_unit_test(test_gpu_amount),
        cmocka_unit_test(test_cpus_bad),     cmocka_unit_test(test_mem_good),
        cmocka_unit_test(test_mem_bad),      cmocka_unit_test(test_mem_suffix_message),
        cmocka_unit_test(test_gpus),         cmocka_unit_test(test_duration_good),
        cmocka_unit_test(test_duration_bad), cmocka_unit_test(test_null_and_long_input),
        cmocka_unit_test(test_fmt_cpus),     cmocka_unit_test(test_fmt_mem),
        cmocka_unit_test(test_fmt_duration), cmocka_unit_test(test_fmt_small_buffer),
        cmocka_unit_test(test_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
