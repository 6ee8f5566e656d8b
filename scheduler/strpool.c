/* strpool: see strpool.h. One chained hash table of entries, each holding
 * its reference count next to its text, so that the shared string is a
 * single allocation and its entry is found again from the text. */
#include "strpool.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    struct entry *next;
    size_t refs;
    char s[];
};

struct mlq_strpool {
    struct entry **buckets;
    size_t nbuckets, count;
};

#define HASH_ENDS 24 /* bytes hashed at each end of a longer string */

static size_t fnv(size_t h, const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++)
        h = (h ^ (unsigned char)s[i]) * 1099511628211ULL;
    return h;
}

/* FNV-1a of the length and both ends only: a `submit --from` batch hands
 * over a whole environment (often over a KiB) per job, and a byte-wise
 * hash of all of it cost more scheduler time than the rest of the pooling.
 * Strings alike at both ends but differing in the middle (long PATHs) only
 * share a chain, where strcmp tells them apart. */
static size_t hash_str(const char *s, size_t len)
{
    size_t h = 1469598103934665603ULL ^ len;
    if (len <= 2 * HASH_ENDS)
        return fnv(h, s, len);
    return fnv(fnv(h, s, HASH_ENDS), s + len - HASH_ENDS, HASH_ENDS);
}

struct mlq_strpool *mlq_strpool_create(void)
{
    struct mlq_strpool *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->nbuckets = 256;
    p->buckets = calloc(p->nbuckets, sizeof *p->buckets);
    if (!p->buckets) {
        free(p);
        return NULL;
    }
    return p;
}

void mlq_strpool_destroy(struct mlq_strpool *pool)
{
    if (!pool)
        return;
    for (size_t i = 0; i < pool->nbuckets; i++)
        for (struct entry *e = pool->buckets[i], *next; e; e = next) {
            next = e->next;
            free(e);
        }
    free(pool->buckets);
    free(pool);
}

/* Doubles the buckets when crowded; on allocation failure keeps the old
 * (slower, still correct) ones. */
static void maybe_grow(struct mlq_strpool *pool)
{
    if (pool->count < pool->nbuckets)
        return;
    size_t n = pool->nbuckets * 2;
    struct entry **b = calloc(n, sizeof *b);
    if (!b)
        return;
    for (size_t i = 0; i < pool->nbuckets; i++)
        for (struct entry *e = pool->buckets[i], *next; e; e = next) {
            next = e->next;
            size_t k = hash_str(e->s, strlen(e->s)) & (n - 1);
            e->next = b[k];
            b[k] = e;
        }
    free(pool->buckets);
    pool->buckets = b;
    pool->nbuckets = n;
}

static struct entry **find(struct mlq_strpool *pool, const char *s, size_t len)
{
    struct entry **pp = &pool->buckets[hash_str(s, len) & (pool->nbuckets - 1)];
    while (*pp && strcmp((*pp)->s, s) != 0)
        pp = &(*pp)->next;
    return pp;
}

void mlq_strpool_take(struct mlq_strpool *pool, char **s)
{
    if (!*s)
        return;
    size_t len = strlen(*s);
    struct entry *e = *find(pool, *s, len);
    if (!e) {
        if (!(e = malloc(sizeof *e + len + 1)))
            return;
        memcpy(e->s, *s, len + 1);
        e->refs = 0;
        maybe_grow(pool);
        struct entry **head = &pool->buckets[hash_str(e->s, len) & (pool->nbuckets - 1)];
        e->next = *head;
        *head = e;
        pool->count++;
    }
    if (e->s == *s)
        return; /* already the shared copy: the caller holds its reference */
    e->refs++;
    free(*s);
    *s = e->s;
}

void mlq_strpool_put(struct mlq_strpool *pool, char *s)
{
    if (!s)
        return;
    struct entry **pp = find(pool, s, strlen(s));
    struct entry *e = *pp;
    if (!e || e->s != s) {
        free(s); /* a private copy (allocation failed when it was taken) */
        return;
    }
    if (--e->refs > 0)
        return;
    *pp = e->next;
    pool->count--;
    free(e);
}

size_t mlq_strpool_count(const struct mlq_strpool *pool)
{
    return pool->count;
}
