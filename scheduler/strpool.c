/* strpool: see strpool.h. One chained hash table of entries, each holding
 * its reference count next to its text, so that the shared string is a
 * single allocation and its entry is found again from the text; a second
 * one, alike, of vectors, each holding its pointers. */
#include "strpool.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct entry {
    struct entry *next;
    size_t refs;
    char s[];
};

/* A shared vector: its strings are the pool's, so two vectors are equal
 * when their pointers are, and the pointers are what is hashed. */
struct ventry {
    struct ventry *next;
    size_t refs;
    uint32_t n;
    char *v[];
};

struct mlq_strpool {
    struct entry **buckets;
    size_t nbuckets, count;
    struct ventry **vbuckets;
    size_t nvbuckets, vcount;
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
    p->nbuckets = p->nvbuckets = 256;
    p->buckets = calloc(p->nbuckets, sizeof *p->buckets);
    p->vbuckets = calloc(p->nvbuckets, sizeof *p->vbuckets);
    if (!p->buckets || !p->vbuckets) {
        free(p->buckets);
        free(p->vbuckets);
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
    for (size_t i = 0; i < pool->nvbuckets; i++)
        for (struct ventry *e = pool->vbuckets[i], *next; e; e = next) {
            next = e->next;
            free(e);
        }
    free(pool->buckets);
    free(pool->vbuckets);
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

/* ---- vectors ------------------------------------------------------------ */

static size_t hash_vec(char *const *v, uint32_t n)
{
    size_t h = 1469598103934665603ULL ^ n;
    for (uint32_t i = 0; i < n; i++) {
        uintptr_t p = (uintptr_t)v[i];
        h = fnv(h, (const char *)&p, sizeof p);
    }
    return h;
}

static void maybe_grow_vecs(struct mlq_strpool *pool)
{
    if (pool->vcount < pool->nvbuckets)
        return;
    size_t n = pool->nvbuckets * 2;
    struct ventry **b = calloc(n, sizeof *b);
    if (!b)
        return;
    for (size_t i = 0; i < pool->nvbuckets; i++)
        for (struct ventry *e = pool->vbuckets[i], *next; e; e = next) {
            next = e->next;
            size_t k = hash_vec(e->v, e->n) & (n - 1);
            e->next = b[k];
            b[k] = e;
        }
    free(pool->vbuckets);
    pool->vbuckets = b;
    pool->nvbuckets = n;
}

static struct ventry **find_vec(struct mlq_strpool *pool, char *const *v, uint32_t n)
{
    struct ventry **pp = &pool->vbuckets[hash_vec(v, n) & (pool->nvbuckets - 1)];
    while (*pp && ((*pp)->n != n || memcmp((*pp)->v, v, n * sizeof *v) != 0))
        pp = &(*pp)->next;
    return pp;
}

static void put_each(struct mlq_strpool *pool, char **v, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++)
        mlq_strpool_put(pool, v[i]);
}

void mlq_strpool_take_vec(struct mlq_strpool *pool, char ***v, uint32_t n)
{
    if (!*v || n == 0)
        return;
    struct ventry *e = *find_vec(pool, *v, n);
    if (e && e->v == *v)
        return; /* already the shared array: the caller holds its reference */
    if (e) {
        put_each(pool, *v, n); /* the shared array holds its own */
    } else {
        if (!(e = malloc(sizeof *e + n * sizeof *e->v)))
            return;
        memcpy(e->v, *v, n * sizeof *e->v); /* the caller's references pass to it */
        e->n = n;
        e->refs = 0;
        maybe_grow_vecs(pool);
        struct ventry **head = &pool->vbuckets[hash_vec(e->v, n) & (pool->nvbuckets - 1)];
        e->next = *head;
        *head = e;
        pool->vcount++;
    }
    e->refs++;
    free(*v);
    *v = e->v;
}

void mlq_strpool_put_vec(struct mlq_strpool *pool, char **v, uint32_t n)
{
    if (!v)
        return;
    struct ventry **pp = n ? find_vec(pool, v, n) : NULL;
    struct ventry *e = pp ? *pp : NULL;
    if (!e || e->v != v) { /* private (allocation failed when it was taken) */
        put_each(pool, v, n);
        free(v);
        return;
    }
    if (--e->refs > 0)
        return;
    *pp = e->next;
    pool->vcount--;
    put_each(pool, e->v, n);
    free(e);
}

size_t mlq_strpool_vec_count(const struct mlq_strpool *pool)
{
    return pool->vcount;
}
