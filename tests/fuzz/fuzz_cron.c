/* Fuzz target for cron expressions (common/cron).
 *
 * The input, NUL-terminated, is parsed. A refusal must carry a printable
 * one-line message. An accepted expression must have a next fire time in
 * UTC after a few starting times, strictly later, within the search horizon,
 * and self-consistent: the fire after next-minus-one second is next itself.
 * The same holds in Europe/Paris, where daylight saving is exercised (when
 * that zone is installed), except that a wildcard job whose times all fall in
 * spring-forward gaps may never fire there. */
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cron.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_HORIZON (402LL * 366 * 86400)

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

static void check_next(const struct mlq_cron *c, const char *tz, int64_t after)
{
    struct mlq_err err = {0};
    int64_t next, again, later;
    int rc = mlq_cron_next(c, tz, after, &next, &err);
    if (tz && rc == MLQ_EINVAL && strstr(err.msg, "never fires"))
        return; /* a wildcard job whose times all fall in gaps; see cron.c */
    oracle(rc == 0);
    oracle(next > after && next - after <= FUZZ_HORIZON);
    if (next > MLQ_CRON_MAX_TIME)
        return; /* past the accepted range: no further questions */
    oracle(mlq_cron_next(c, tz, next - 1, &again, &err) == 0 && again == next);
    oracle(mlq_cron_next(c, tz, next, &later, &err) == 0 && later > next);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    /* the spring-forward and fall-back instants of Paris in 2026, the epoch
     * and the last accepted time */
    static const int64_t afters[] = {0, 1774745999, 1792889999, 1700000000, MLQ_CRON_MAX_TIME};
    struct mlq_cron *c = NULL;
    struct mlq_err err = {0};
    char *s = malloc(size + 1);
    if (!s)
        return 0;
    memcpy(s, data, size);
    s[size] = '\0';
    int rc = mlq_cron_parse(s, &c, &err);
    free(s);
    if (rc != 0) {
        check_refusal(rc, &err);
        return 0;
    }
    int paris = access(MLQ_CRON_ZONEDIR "/Europe/Paris", R_OK) == 0;
    for (size_t i = 0; i < sizeof afters / sizeof afters[0]; i++) {
        check_next(c, NULL, afters[i]);
        if (paris)
            check_next(c, "Europe/Paris", afters[i]);
    }
    mlq_cron_destroy(&c);
    oracle(c == NULL);
    return 0;
}
