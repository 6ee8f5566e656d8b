/* Fuzz target for the resource and duration parsers (common/res).
 *
 * The input, NUL-terminated, goes to every parser. None may crash; a
 * refusal must carry a printable message; an accepted value must be in range
 * and, where the text form is exact, survive format-then-parse unchanged. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "res.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_DUR_MS (365LL * 24 * 3600 * 1000)

/* The oracle failed: crash so that the fuzzer (or the replay test) notices. */
static void oracle(int ok)
{
    if (!ok)
        abort();
}

static void check_refusal(int rc, const struct mlq_err *err)
{
    oracle(rc == MLQ_EINVAL && err->code == rc && err->msg[0] != '\0');
    for (const char *p = err->msg; *p; p++)
        oracle((unsigned char)*p >= 0x20 && (unsigned char)*p < 0x7f);
}

static void fuzz_cpus(const char *s)
{
    struct mlq_err err = {0};
    int64_t v, again;
    char buf[32];
    int rc = mlq_res_parse_cpus(s, &v, &err);
    if (rc != 0) {
        check_refusal(rc, &err);
        return;
    }
    oracle(v > 0 && v <= MLQ_MAX_CPUS_M);
    oracle(mlq_res_parse_cpus(mlq_res_fmt_cpus(v, buf, sizeof buf), &again, NULL) == 0);
    oracle(again == v);
}

static void fuzz_mem(const char *s)
{
    struct mlq_err err = {0};
    int64_t v, again;
    char buf[32];
    int rc = mlq_res_parse_mem(s, &v, &err);
    if (rc != 0) {
        check_refusal(rc, &err);
        return;
    }
    oracle(v > 0 && v <= MLQ_MAX_MEM);
    /* The text keeps two decimals, truncated: never more, at most 1% less. */
    oracle(mlq_res_parse_mem(mlq_res_fmt_mem(v, buf, sizeof buf), &again, NULL) == 0);
    oracle(again <= v && v - again <= v / 100 + 1);
}

static void fuzz_gpus(const char *s)
{
    struct mlq_err err = {0};
    int32_t v;
    int rc = mlq_res_parse_gpus(s, &v, &err);
    if (rc != 0)
        check_refusal(rc, &err);
    else
        oracle(v >= 0 && v <= MLQ_MAX_GPUS);
}

static void fuzz_duration(const char *s)
{
    struct mlq_err err = {0};
    int64_t v;
    char buf[32];
    int rc = mlq_res_parse_duration(s, &v, &err);
    if (rc != 0) {
        check_refusal(rc, &err);
        return;
    }
    oracle(v > 0 && v <= FUZZ_MAX_DUR_MS);
    oracle(strlen(mlq_res_fmt_duration(v, buf, sizeof buf)) > 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    fuzz_cpus(s);
    fuzz_mem(s);
    fuzz_gpus(s);
    fuzz_duration(s);
    free(s);
    return 0;
}
