/* res: see res.h.
 *
 * All parsers share one hand-written scanner for "digits[.digits]" so that
 * strtod's extras (signs, spaces, hex, exponents, inf/nan, locale) can never
 * slip in, and so values are exact: amounts are computed in integers from the
 * whole part and at most three decimals, never through a double. */
#include "res.h"

#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "bounds.h"

#define RES_MAX_DECIMALS 3
#define RES_WHOLE_CAP    1000000000000000000ULL /* 1e18: far above every bound */
#define RES_MAX_DUR_MS   (365LL * 24 * 3600 * 1000)
#define RES_SHOW_MAX     40 /* bytes of bad input quoted in a message */

/* A scanned unsigned decimal: whole part plus up to RES_MAX_DECIMALS decimals
 * expressed in thousandths. */
struct res_num {
    uint64_t whole;      /* saturates at RES_WHOLE_CAP (then overflow is set) */
    uint64_t thousandth; /* fractional part, 0..999 */
    int decimals;        /* fraction digits written (may exceed the maximum) */
    bool overflow;
};

/* Scans [0-9]+ ('.' [0-9]+)? at s. Returns the first byte after the number,
 * or NULL when s does not start with one. */
static const char *res_scan(const char *s, struct res_num *n)
{
    memset(n, 0, sizeof *n);
    if (*s < '0' || *s > '9')
        return NULL;
    for (; *s >= '0' && *s <= '9'; s++) {
        unsigned d = (unsigned)(*s - '0');
        if (n->whole > (RES_WHOLE_CAP - d) / 10)
            n->overflow = true;
        else
            n->whole = n->whole * 10 + d;
    }
    if (*s != '.')
        return s;
    s++;
    if (*s < '0' || *s > '9')
        return NULL; /* "5." is a typo, not a number */
    uint64_t scale = 100;
    for (; *s >= '0' && *s <= '9'; s++) {
        if (n->decimals < RES_MAX_DECIMALS)
            n->thousandth += (uint64_t)(*s - '0') * scale;
        scale /= 10;
        n->decimals++;
    }
    return s;
}

/* Copies at most RES_SHOW_MAX bytes of untrusted text into out for quoting in
 * a message, replacing control, non-ASCII and quote bytes with '?'. */
static const char *res_show(const char *s, char *out, size_t len)
{
    size_t i = 0;
    for (; s[i] && i < RES_SHOW_MAX && i + 4 < len; i++) {
        unsigned char c = (unsigned char)s[i];
        out[i] = (c < 0x20 || c >= 0x7f || c == '"') ? '?' : (char)c;
    }
    if (s[i])
        memcpy(out + i, "...", 3), i += 3;
    out[i] = '\0';
    return out;
}

static bool res_all_alpha(const char *s)
{
    for (; *s; s++)
        if (!((*s >= 'a' && *s <= 'z') || (*s >= 'A' && *s <= 'Z')))
            return false;
    return true;
}

/* Whole and thousandths times mult, checked against max. Returns -1 when the
 * result would exceed max. */
static int64_t res_scale(const struct res_num *n, int64_t mult, int64_t max)
{
    if (n->overflow || n->whole > (uint64_t)(max / mult))
        return -1;
    int64_t v = (int64_t)n->whole * mult + (int64_t)n->thousandth * mult / 1000;
    return v > max ? -1 : v;
}

int mlq_res_parse_cpus(const char *s, int64_t *out_m, struct mlq_err *err)
{
    char q[64];
    struct res_num n;
    const char *end = s ? res_scan(s, &n) : NULL;
    if (!end || *end)
        return mlq_err_set(err, MLQ_EINVAL,
                           "invalid CPU count \"%s\": expected a number like 2 or 0.5",
                           s ? res_show(s, q, sizeof q) : "");
    if (n.decimals > RES_MAX_DECIMALS)
        return mlq_err_set(err, MLQ_EINVAL, "invalid CPU count \"%s\": at most 3 decimals",
                           res_show(s, q, sizeof q));
    int64_t m = res_scale(&n, 1000, MLQ_MAX_CPUS_M);
    if (m < 0)
        return mlq_err_set(err, MLQ_EINVAL, "invalid CPU count \"%s\": must be at most %d",
                           res_show(s, q, sizeof q), MLQ_MAX_CPUS_M / 1000);
    if (m == 0)
        return mlq_err_set(err, MLQ_EINVAL, "invalid CPU count \"%s\": must be more than 0",
                           res_show(s, q, sizeof q));
    *out_m = m;
    return 0;
}

/* Multiplier for a memory suffix: K/M/G/T in either case, each optionally
 * followed by "i", "B" or "iB" (any case); "" and "B" mean bytes. Returns 0
 * for anything else. */
static int64_t res_mem_mult(const char *sfx)
{
    static const char units[] = "kmgt";
    if (*sfx == '\0' || strcasecmp(sfx, "b") == 0)
        return 1;
    const char *u = strchr(units, sfx[0] | 0x20);
    if (!u)
        return 0;
    const char *rest = sfx + 1;
    if (*rest && strcasecmp(rest, "i") && strcasecmp(rest, "b") && strcasecmp(rest, "ib"))
        return 0;
    return (int64_t)1 << (10 * (u - units + 1));
}

int mlq_res_parse_mem(const char *s, int64_t *out, struct mlq_err *err)
{
    char q[64], qs[64];
    struct res_num n;
    const char *end = s ? res_scan(s, &n) : NULL;
    if (!end || !res_all_alpha(end))
        return mlq_err_set(err, MLQ_EINVAL,
                           "invalid memory size \"%s\": expected a size like 512M or 4G",
                           s ? res_show(s, q, sizeof q) : "");
    int64_t mult = res_mem_mult(end);
    if (mult == 0)
        return mlq_err_set(err, MLQ_EINVAL,
                           "invalid memory size \"%s\": unknown suffix \"%s\" (use K, M, G or T)",
                           res_show(s, q, sizeof q), res_show(end, qs, sizeof qs));
    if (n.decimals > RES_MAX_DECIMALS || (mult == 1 && n.decimals > 0))
        return mlq_err_set(err, MLQ_EINVAL, "invalid memory size \"%s\": %s",
                           res_show(s, q, sizeof q),
                           mult == 1 ? "bytes must be a whole number" : "at most 3 decimals");
    int64_t v = res_scale(&n, mult, MLQ_MAX_MEM);
    if (v < 0)
        return mlq_err_set(err, MLQ_EINVAL, "invalid memory size \"%s\": must be at most 1024T",
                           res_show(s, q, sizeof q));
    if (v == 0)
        return mlq_err_set(err, MLQ_EINVAL, "invalid memory size \"%s\": must be more than 0",
                           res_show(s, q, sizeof q));
    *out = v;
    return 0;
}

int mlq_res_parse_gpus(const char *s, int32_t *out, struct mlq_err *err)
{
    char q[64];
    struct res_num n;
    const char *end = s ? res_scan(s, &n) : NULL;
    if (!end || *end || n.decimals || n.overflow || n.whole > MLQ_MAX_GPUS)
        return mlq_err_set(err, MLQ_EINVAL,
                           "invalid GPU count \"%s\": must be a whole number from 0 to %d",
                           s ? res_show(s, q, sizeof q) : "", MLQ_MAX_GPUS);
    *out = (int32_t)n.whole;
    return 0;
}

int mlq_res_parse_gpu_amount(const char *s, int32_t *gpus, int32_t *frac, struct mlq_err *err)
{
    char q[64];
    struct res_num n;
    const char *end = s ? res_scan(s, &n) : NULL;
    if (end && *end == '\0' && n.decimals == 0)
        return mlq_res_parse_gpus(s, gpus, err) < 0 ? MLQ_EINVAL : (*frac = 0, 0);
    if (!end || *end)
        return mlq_err_set(err, MLQ_EINVAL,
                           "invalid GPU count \"%s\": expected a whole number of GPUs or a "
                           "share of one GPU such as 0.25",
                           s ? res_show(s, q, sizeof q) : "");
    if (n.whole != 0 || n.overflow || n.thousandth == 0)
        return mlq_err_set(err, MLQ_EINVAL,
                           "invalid GPU share \"%s\": a share must be more than 0 and less "
                           "than 1 (whole GPUs are whole numbers)",
                           res_show(s, q, sizeof q));
    if (n.decimals > 2)
        return mlq_err_set(err, MLQ_EINVAL,
                           "invalid GPU share \"%s\": at most two decimals (0.01 of a GPU)",
                           res_show(s, q, sizeof q));
    *gpus = 0;
    *frac = (int32_t)(n.thousandth / 10);
    return 0;
}

char *mlq_res_fmt_gpu_share(int32_t hundredths, char *buf, size_t len)
{
    if (len == 0)
        return buf;
    if (hundredths <= 0 || hundredths >= 100)
        snprintf(buf, len, "%d", hundredths <= 0 ? 0 : hundredths / 100);
    else if (hundredths % 10 == 0)
        snprintf(buf, len, "0.%d", hundredths / 10);
    else
        snprintf(buf, len, "0.%02d", hundredths);
    return buf;
}

char *mlq_res_fmt_gpu_request(int32_t gpus, int32_t frac, const char *type, char *buf, size_t len)
{
    char amount[16];
    if (frac > 0)
        mlq_res_fmt_gpu_share(frac, amount, sizeof amount);
    else
        snprintf(amount, sizeof amount, "%d", gpus);
    if (len > 0)
        snprintf(buf, len, "%s%s%s", type ? type : "", type ? ":" : "", amount);
    return buf;
}

char *mlq_res_fmt_gpu_ask(int32_t gpus, int32_t frac, int64_t gpu_mem, const char *type, char *buf,
                          size_t len)
{
    char req[MLQ_MAX_GPU_TYPES + 24], mem[32];
    if (len == 0)
        return buf;
    if (gpu_mem <= 0) {
        mlq_res_fmt_gpu_request(gpus, frac, type, buf, len);
        return buf;
    }
    mlq_res_fmt_mem(gpu_mem, mem, sizeof mem);
    if (frac > 0)
        snprintf(buf, len, "%s, %s GPU memory",
                 mlq_res_fmt_gpu_request(gpus, frac, type, req, sizeof req), mem);
    else
        snprintf(buf, len, "%s%sa share with %s GPU memory", type ? type : "", type ? ": " : "",
                 mem);
    return buf;
}

/* Milliseconds per unit for a duration suffix; a bare number is seconds.
 * Returns 0 for an unknown suffix. Case matters: "M" could mean months. */
static int64_t res_dur_mult(const char *sfx)
{
    static const struct {
        const char *name;
        int64_t ms;
    } units[] = {
        {"", 1000}, {"ms", 1}, {"s", 1000}, {"m", 60000}, {"h", 3600000}, {"d", 86400000},
    };
    for (size_t i = 0; i < sizeof units / sizeof units[0]; i++)
        if (strcmp(sfx, units[i].name) == 0)
            return units[i].ms;
    return 0;
}

int mlq_res_parse_duration(const char *s, int64_t *out_ms, struct mlq_err *err)
{
    char q[64], qs[64];
    struct res_num n;
    const char *end = s ? res_scan(s, &n) : NULL;
    if (!end || !res_all_alpha(end))
        return mlq_err_set(err, MLQ_EINVAL,
                           "invalid duration \"%s\": expected a duration like 30s, 5m, 2h or 1d",
                           s ? res_show(s, q, sizeof q) : "");
    int64_t mult = res_dur_mult(end);
    if (mult == 0)
        return mlq_err_set(err, MLQ_EINVAL,
                           "invalid duration \"%s\": unknown suffix \"%s\" (use ms, s, m, h or d)",
                           res_show(s, q, sizeof q), res_show(end, qs, sizeof qs));
    if (n.decimals > RES_MAX_DECIMALS)
        return mlq_err_set(err, MLQ_EINVAL, "invalid duration \"%s\": at most 3 decimals",
                           res_show(s, q, sizeof q));
    int64_t v = res_scale(&n, mult, RES_MAX_DUR_MS);
    if (v < 0)
        return mlq_err_set(err, MLQ_EINVAL, "invalid duration \"%s\": must be at most 365d",
                           res_show(s, q, sizeof q));
    if (v == 0)
        return mlq_err_set(err, MLQ_EINVAL, "invalid duration \"%s\": must be at least 1ms",
                           res_show(s, q, sizeof q));
    *out_ms = v;
    return 0;
}

/* Magnitude of v as unsigned (INT64_MIN included) and its sign prefix. */
static uint64_t res_mag(int64_t v, const char **sign)
{
    *sign = v < 0 ? "-" : "";
    return v < 0 ? (uint64_t)0 - (uint64_t)v : (uint64_t)v;
}

char *mlq_res_fmt_cpus(int64_t cpus_m, char *buf, size_t len)
{
    const char *sign;
    uint64_t u = res_mag(cpus_m, &sign);
    uint64_t frac = u % 1000;
    int digits = 3;
    while (frac && frac % 10 == 0)
        frac /= 10, digits--;
    if (len == 0)
        return buf;
    if (frac)
        snprintf(buf, len, "%s%" PRIu64 ".%0*" PRIu64, sign, u / 1000, digits, frac);
    else
        snprintf(buf, len, "%s%" PRIu64, sign, u / 1000);
    return buf;
}

/* Largest binary unit not above the value, with up to two decimals
 * (truncated, so a value never reads larger than it is). */
char *mlq_res_fmt_mem(int64_t bytes, char *buf, size_t len)
{
    static const char names[] = "KMGT";
    const char *sign;
    uint64_t u = res_mag(bytes, &sign);
    if (len == 0)
        return buf;
    int i = 3;
    while (i >= 0 && u < (1ULL << (10 * (i + 1))))
        i--;
    if (i < 0) {
        snprintf(buf, len, "%s%" PRIu64, sign, u);
        return buf;
    }
    uint64_t unit = 1ULL << (10 * (i + 1));
    uint64_t hundredths = (u % unit) * 100 / unit;
    if (hundredths == 0)
        snprintf(buf, len, "%s%" PRIu64 "%c", sign, u / unit, names[i]);
    else if (hundredths % 10 == 0)
        snprintf(buf, len, "%s%" PRIu64 ".%" PRIu64 "%c", sign, u / unit, hundredths / 10,
                 names[i]);
    else
        snprintf(buf, len, "%s%" PRIu64 ".%02" PRIu64 "%c", sign, u / unit, hundredths, names[i]);
    return buf;
}

/* Two most significant units, fixed width for the second so columns line up:
 * "250ms", "3.2s", "5m03s", "1h02m", "2d03h". */
char *mlq_res_fmt_duration(int64_t ms, char *buf, size_t len)
{
    const char *sign;
    uint64_t u = res_mag(ms, &sign);
    if (len == 0)
        return buf;
    if (u < 1000)
        snprintf(buf, len, "%s%" PRIu64 "ms", sign, u);
    else if (u < 60000 && (u % 1000) / 100)
        snprintf(buf, len, "%s%" PRIu64 ".%" PRIu64 "s", sign, u / 1000, (u % 1000) / 100);
    else if (u < 60000)
        snprintf(buf, len, "%s%" PRIu64 "s", sign, u / 1000);
    else if (u < 3600000)
        snprintf(buf, len, "%s%" PRIu64 "m%02" PRIu64 "s", sign, u / 60000, u / 1000 % 60);
    else if (u < 86400000)
        snprintf(buf, len, "%s%" PRIu64 "h%02" PRIu64 "m", sign, u / 3600000, u / 60000 % 60);
    else
        snprintf(buf, len, "%s%" PRIu64 "d%02" PRIu64 "h", sign, u / 86400000, u / 3600000 % 24);
    return buf;
}
