/* arrayspec: see arrayspec.h.
 *
 * Parsing marks indices in a bitmap of MLQ_ARRAYSPEC_MAX_INDEX + 1 bits
 * (125 KiB), which sorts and de-duplicates in one pass whatever order and
 * overlap the items have. Work is bounded before any bit is set: one item may
 * not name more than MLQ_MAX_ARRAY indices, and all items together (repeats
 * included) not more than ARRAYSPEC_MAX_WORK. */
#include "arrayspec.h"

#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"

#define ARRAYSPEC_WORDS    ((MLQ_ARRAYSPEC_MAX_INDEX + 64) / 64)
#define ARRAYSPEC_MAX_WORK (4LL * MLQ_MAX_ARRAY)
#define ARRAYSPEC_NUM_CAP  100000000 /* numbers saturate here, far above every bound */
#define ARRAYSPEC_SHOW     40        /* bytes of untrusted text quoted in a message */

struct arrayspec_parser {
    const char *text; /* the caller's spec, quoted in every message */
    const char *pos;
    struct mlq_err *err;
    uint64_t *bits;
    long long work;    /* indices named so far, repeats included */
    uint32_t distinct; /* bits set so far */
};

/* Copies at most ARRAYSPEC_SHOW bytes of untrusted text for quoting,
 * replacing control, non-ASCII and quote bytes with '?'. */
static const char *arrayspec_show(const char *s, char *out, size_t len)
{
    size_t i = 0;
    for (; s[i] && i < ARRAYSPEC_SHOW && i + 4 < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        out[i] = (ch < 0x20 || ch >= 0x7f || ch == '"') ? '?' : (char)ch;
    }
    if (s[i])
        memcpy(out + i, "...", 3), i += 3;
    out[i] = '\0';
    return out;
}

static int arrayspec_fail(const struct arrayspec_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int arrayspec_fail(const struct arrayspec_parser *p, const char *fmt, ...)
{
    char detail[MLQ_ERR_MSG_MAX], shown[ARRAYSPEC_SHOW + 8];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return mlq_err_set(p->err, MLQ_EINVAL, "array spec \"%s\": %s",
                       arrayspec_show(p->text, shown, sizeof shown), detail);
}

/* Something other than a number is at p->pos. */
static int arrayspec_unexpected(const struct arrayspec_parser *p)
{
    unsigned char ch = (unsigned char)*p->pos;
    if (ch == '\0' || ch == ',')
        return arrayspec_fail(p, "number missing");
    bool item_start = p->pos == p->text || p->pos[-1] == ',' || p->pos[-1] == '-';
    if (ch == '-' && item_start && p->pos[1] >= '0' && p->pos[1] <= '9')
        return arrayspec_fail(p, "negative index");
    if (ch < 0x20 || ch >= 0x7f || ch == '"')
        return arrayspec_fail(p, "unexpected byte 0x%02x", ch);
    return arrayspec_fail(p, "unexpected \"%c\"", ch);
}

/* Reads [0-9]+ at p->pos, saturating at ARRAYSPEC_NUM_CAP. */
static int arrayspec_number(struct arrayspec_parser *p, long long *v)
{
    long long n = 0;
    if (*p->pos < '0' || *p->pos > '9')
        return arrayspec_unexpected(p);
    for (; *p->pos >= '0' && *p->pos <= '9'; p->pos++)
        n = n < ARRAYSPEC_NUM_CAP ? n * 10 + (*p->pos - '0') : ARRAYSPEC_NUM_CAP;
    *v = n;
    return 0;
}

static int arrayspec_index(struct arrayspec_parser *p, long long *v)
{
    int rc = arrayspec_number(p, v);
    if (rc == 0 && *v > MLQ_ARRAYSPEC_MAX_INDEX)
        return arrayspec_fail(p, "index %lld out of range 0-%d", *v, MLQ_ARRAYSPEC_MAX_INDEX);
    return rc;
}

/* Sets lo, lo+step, ... <= hi, after checking the bounds on work and size. */
static int arrayspec_mark(struct arrayspec_parser *p, long long lo, long long hi, long long step)
{
    long long count = (hi - lo) / step + 1;
    p->work += count;
    if (count > MLQ_MAX_ARRAY || p->work > ARRAYSPEC_MAX_WORK)
        return arrayspec_fail(p, "more than %d indices", MLQ_MAX_ARRAY);
    for (long long v = lo; v <= hi; v += step) {
        uint64_t bit = 1ULL << (v % 64);
        if (!(p->bits[v / 64] & bit)) {
            p->bits[v / 64] |= bit;
            p->distinct++;
        }
    }
    if (p->distinct > MLQ_MAX_ARRAY)
        return arrayspec_fail(p, "more than %d indices", MLQ_MAX_ARRAY);
    return 0;
}

/* Reads one item "N", "A-B" or "A-B:S" and marks its indices. */
static int arrayspec_item(struct arrayspec_parser *p)
{
    long long lo = 0, hi = 0, step = 1;
    int rc = arrayspec_index(p, &lo);
    if (rc != 0)
        return rc;
    hi = lo;
    if (*p->pos == '-') {
        p->pos++;
        if ((rc = arrayspec_index(p, &hi)) != 0)
            return rc;
        if (hi < lo)
            return arrayspec_fail(p, "range %lld-%lld is reversed", lo, hi);
        if (*p->pos == ':') {
            p->pos++;
            if ((rc = arrayspec_number(p, &step)) != 0)
                return rc;
            if (step == 0)
                return arrayspec_fail(p, "step 0 in %lld-%lld:0", lo, hi);
        }
    } else if (*p->pos == ':') {
        return arrayspec_fail(p, "a step needs a range, as in 0-99:10");
    }
    if (*p->pos != ',' && *p->pos != '\0')
        return arrayspec_unexpected(p);
    return arrayspec_mark(p, lo, hi, step);
}

static int arrayspec_items(struct arrayspec_parser *p)
{
    for (;;) {
        if (*p->pos == ',' || *p->pos == '\0')
            return arrayspec_fail(p, "empty item");
        int rc = arrayspec_item(p);
        if (rc != 0 || *p->pos == '\0')
            return rc;
        p->pos++; /* the ',' */
    }
}

/* The set bits of p->bits, ascending, in a new array of p->distinct. */
static uint32_t *arrayspec_collect(const struct arrayspec_parser *p)
{
    uint32_t *v = malloc(p->distinct * sizeof *v), k = 0;
    if (!v)
        return NULL;
    for (uint32_t w = 0; w < ARRAYSPEC_WORDS; w++)
        for (uint64_t bits = p->bits[w]; bits; bits &= bits - 1)
            v[k++] = w * 64 + (uint32_t)__builtin_ctzll(bits);
    return v;
}

int mlq_arrayspec_parse(const char *s, uint32_t **indices, uint32_t *n, struct mlq_err *err)
{
    struct arrayspec_parser p = {.text = s ? s : "", .err = err};
    p.pos = p.text;
    if (!p.text[0])
        return arrayspec_fail(&p, "empty");
    if (strnlen(p.text, MLQ_ARRAYSPEC_MAX_LEN + 1) > MLQ_ARRAYSPEC_MAX_LEN)
        return arrayspec_fail(&p, "longer than %d characters", MLQ_ARRAYSPEC_MAX_LEN);
    if (!(p.bits = calloc(ARRAYSPEC_WORDS, sizeof *p.bits)))
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    int rc = arrayspec_items(&p);
    uint32_t *v = rc == 0 ? arrayspec_collect(&p) : NULL;
    free(p.bits);
    if (rc != 0)
        return rc;
    if (!v)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    *indices = v;
    *n = p.distinct;
    return 0;
}

/* Writes the truncation mark at buf + at: "..." alone, or ",..." after items,
 * or as many dots as fit when len is tiny. */
static void arrayspec_ellipsis(char *buf, size_t len, size_t at)
{
    const char *mark = at > 0 ? ",..." : "...";
    snprintf(buf + at, len - at, "%s", mark);
}

char *mlq_arrayspec_format(const uint32_t *v, uint32_t n, char *buf, size_t len)
{
    size_t used = 0, safe = 0; /* safe: where the mark would still fit */
    if (!buf || len == 0)
        return buf;
    buf[0] = '\0';
    for (uint32_t i = 0, j; i < n; i = j + 1) {
        char item[32];
        for (j = i; j + 1 < n && v[j] != UINT32_MAX && v[j + 1] == v[j] + 1;)
            j++;
        int k = j == i ? snprintf(item, sizeof item, "%s%u", used ? "," : "", v[i])
                       : snprintf(item, sizeof item, "%s%u-%u", used ? "," : "", v[i], v[j]);
        if (used + (size_t)k >= len) {
            arrayspec_ellipsis(buf, len, safe);
            return buf;
        }
        memcpy(buf + used, item, (size_t)k + 1);
        used += (size_t)k;
        if (used + 4 < len)
            safe = used;
    }
    return buf;
}
