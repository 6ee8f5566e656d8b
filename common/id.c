/* id: see id.h. Ids are random (v4) UUIDs in lowercase canonical text, so a
 * prefix typed by a user can be matched with a plain string comparison. */
#include "id.h"

#include <pthread.h>
#include <string.h>
#include <sys/random.h>
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
