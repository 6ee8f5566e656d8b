/* Fuzz target for job-array specs (common/arrayspec).
 *
 * The input, NUL-terminated, is parsed. A refusal must carry a printable
 * one-line message and leave the outputs alone. An accepted spec must give
 * 1..MLQ_MAX_ARRAY strictly ascending indices in range; formatting them in
 * full must parse back to the same list; formatting into small buffers must
 * stay inside them and give a prefix of the full text, ending in "...". */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "arrayspec.h"
#include "bounds.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_SMALL 48 /* small buffer sizes tried: 1..FUZZ_SMALL */

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

/* Truncated output is whole items of the full text, then "..." or ",...". */
static void check_truncated(const char *full, const uint32_t *v, uint32_t n)
{
    size_t full_len = strlen(full);
    for (size_t len = 1; len <= FUZZ_SMALL; len++) {
        char buf[FUZZ_SMALL + 1];
        memset(buf, 'X', sizeof buf);
        mlq_arrayspec_format(v, n, buf, len);
        size_t got = strlen(buf);
        oracle(got < len && buf[len] == 'X');
        if (full_len < len) {
            oracle(strcmp(buf, full) == 0);
            continue;
        }
        size_t dots = got < 3 ? got : 3;
        oracle(strspn(buf + got - dots, ".") == dots);
        size_t keep = got - dots - (got > 3 ? 1 : 0); /* drop the ',' too */
        oracle(strncmp(buf, full, keep) == 0 && (keep == 0 || full[keep] == ','));
    }
}

static void check_accepted(const uint32_t *v, uint32_t n)
{
    oracle(n >= 1 && n <= MLQ_MAX_ARRAY && v[n - 1] <= MLQ_ARRAYSPEC_MAX_INDEX);
    for (uint32_t i = 1; i < n; i++)
        oracle(v[i - 1] < v[i]);
    size_t len = (size_t)n * 16 + 1;
    char *full = malloc(len);
    uint32_t *w = NULL, m = 0;
    if (!full)
        return;
    mlq_arrayspec_format(v, n, full, len);
    oracle(strstr(full, "...") == NULL);
    oracle(mlq_arrayspec_parse(full, &w, &m, NULL) == 0 || strlen(full) > MLQ_ARRAYSPEC_MAX_LEN);
    if (w) {
        oracle(m == n && memcmp(v, w, n * sizeof *v) == 0);
        free(w);
    }
    check_truncated(full, v, n);
    free(full);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    uint32_t sentinel = 0, *v = &sentinel, n = 12345;
    struct mlq_err err = {0};
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    int rc = mlq_arrayspec_parse(s, &v, &n, &err);
    free(s);
    if (rc != 0) {
        check_refusal(rc, &err);
        oracle(v == &sentinel && n == 12345);
        return 0;
    }
    check_accepted(v, n);
    free(v);
    return 0;
}
