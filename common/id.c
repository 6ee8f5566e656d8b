/* id: see id.h. Job ids are random (v4) UUIDs in lowercase canonical text, so a
 * prefix typed by a user can be matched with a plain string comparison.
 * Attempt ids are time-ordered (v7) UUIDs in the same text form. */
#include "id.h"

#include <pthread.h>
#include <string.h>
#include <sys/random.h>
#include <time.h>
#include <uuid/uuid.h>

/* Random bytes for ids, drawn from getrandom() a page at a time: one system
 * call per id (what uuid_generate_random does) was a visible share of the
 * scheduler's time per job. Per thread, and emptied in a forked child so
 * that parent and child never hand out the same bytes. */
#define POOL_BYTES 4096
static _Thread_local struct {
    unsigned char b[POOL_BYTES];
    size_t used; /* POOL_BYTES: empty */
    bool init;
} pool;
static pthread_once_t atfork_once = PTHREAD_ONCE_INIT;

static void pool_forget(void)
{
    explicit_bzero(pool.b, sizeof pool.b);
    pool.used = POOL_BYTES;
}

static void register_atfork(void)
{
    pthread_atfork(NULL, NULL, pool_forget);
}

static bool pool_take(unsigned char *dst, size_t n)
{
    if (!pool.init) {
        pthread_once(&atfork_once, register_atfork);
        pool.used = POOL_BYTES;
        pool.init = true;
    }
    if (pool.used + n > POOL_BYTES) {
        size_t got = 0;
        while (got < POOL_BYTES) {
            ssize_t r = getrandom(pool.b + got, POOL_BYTES - got, 0);
            if (r <= 0)
                return false;
            got += (size_t)r;
        }
        pool.used = 0;
    }
    memcpy(dst, pool.b + pool.used, n);
    explicit_bzero(pool.b + pool.used, n);
    pool.used += n;
    return true;
}

void mlq_id_new(char out[MLQ_ID_LEN + 1])
{
    uuid_t u;
    if (pool_take(u, sizeof u)) {
        u[6] = (unsigned char)((u[6] & 0x0f) | 0x40); /* version 4 */
        u[8] = (unsigned char)((u[8] & 0x3f) | 0x80); /* RFC 4122 variant */
    } else {
        uuid_generate_random(u); /* getrandom failing: libuuid's own fallbacks */
    }
    uuid_unparse_lower(u, out);
}

/* The time and counter of the last time-ordered id, per thread: ids made
 * by one thread increase strictly, also within one millisecond and when
 * the clock steps back (the last time is kept until the clock passes it). */
static _Thread_local struct {
    uint64_t ms;
    uint32_t seq; /* the 12 bits after the version: a counter within ms */
} ordered;

#define SEQ_BITS      12
#define SEQ_SEED_MASK 0x7ffu /* a new millisecond starts at a random 0..2047 */

/* Advances the per-thread time and counter to now_ms; a counter that
 * runs out borrows the next millisecond. */
static void ordered_step(uint64_t now_ms, uint16_t seed)
{
    if (now_ms > ordered.ms) {
        ordered.ms = now_ms;
        ordered.seq = seed & SEQ_SEED_MASK;
    } else if (++ordered.seq >> SEQ_BITS) {
        ordered.ms++;
        ordered.seq = 0;
    }
}

void mlq_id_new_ordered_at(char out[MLQ_ID_LEN + 1], uint64_t now_ms)
{
    uuid_t u;
    if (!pool_take(u, sizeof u))
        uuid_generate_random(u); /* getrandom failing: libuuid's own fallbacks */
    ordered_step(now_ms & 0xffffffffffffull, (uint16_t)(u[6] << 8 | u[7]));
    for (int i = 0; i < 6; i++)
        u[i] = (unsigned char)(ordered.ms >> (40 - 8 * i));
    u[6] = (unsigned char)(0x70 | (ordered.seq >> 8)); /* version 7 */
    u[7] = (unsigned char)ordered.seq;
    u[8] = (unsigned char)((u[8] & 0x3f) | 0x80); /* RFC 9562 variant */
    uuid_unparse_lower(u, out);
}

void mlq_id_new_ordered(char out[MLQ_ID_LEN + 1])
{
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    mlq_id_new_ordered_at(out, (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u);
}

/* Whether c may stand at position i of a canonical UUID. */
static bool id_char_ok(size_t i, char c)
{
    if (i == 8 || i == 13 || i == 18 || i == 23)
        return c == '-';
    return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}

/* Length of the canonical-UUID-shaped prefix of s, looking at no more than
 * MLQ_ID_LEN + 1 bytes; MLQ_ID_LEN + 1 means "too long". */
static size_t id_shaped_len(const char *s)
{
    size_t i = 0;
    for (; i < MLQ_ID_LEN && s[i]; i++)
        if (!id_char_ok(i, s[i]))
            return 0;
    return (i == MLQ_ID_LEN && s[i]) ? MLQ_ID_LEN + 1 : i;
}

bool mlq_id_valid(const char *s)
{
    return s && id_shaped_len(s) == MLQ_ID_LEN;
}

bool mlq_id_prefix_valid(const char *s)
{
    if (!s)
        return false;
    size_t n = id_shaped_len(s);
    return n >= 1 && n <= MLQ_ID_LEN;
}

void mlq_id_short(const char *id, char out[MLQ_SHORT_ID_LEN + 1])
{
    size_t n = strnlen(id, MLQ_SHORT_ID_LEN);
    memcpy(out, id, n);
    out[n] = '\0';
}

bool mlq_idbin_none(const struct mlq_idbin *id)
{
    static const struct mlq_idbin nil;
    return memcmp(id->b, nil.b, sizeof nil.b) == 0;
}

bool mlq_idbin_set(struct mlq_idbin *out, const char *text)
{
    struct mlq_idbin v = {0};
    if (text && text[0]) {
        if (!mlq_id_valid(text) || uuid_parse(text, v.b) != 0 || mlq_idbin_none(&v))
            return false;
    }
    *out = v;
    return true;
}

void mlq_idbin_text(const struct mlq_idbin *id, char out[MLQ_ID_LEN + 1])
{
    if (mlq_idbin_none(id))
        out[0] = '\0';
    else
        uuid_unparse_lower(id->b, out);
}

bool mlq_idbin_is(const struct mlq_idbin *id, const char *text)
{
    char t[MLQ_ID_LEN + 1];
    mlq_idbin_text(id, t);
    return strcmp(t, text) == 0;
}
