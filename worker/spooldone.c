/* spooldone: see spooldone.h. The recent ids are a ring in the order they
 * became done; the filter probes 8 bits of a power-of-two bit array from
 * two hashes of the id (double hashing). */
#include "spooldone.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#define PROBES      8
#define BITS_PER_ID 16

struct mlq_donefilter {
    uint64_t *bits;
    size_t nbits; /* a power of two */
    size_t n;     /* ids added */
};

struct mlq_spooldone {
    char (*ring)[MLQ_ID_LEN + 1];
    size_t cap, head, len;
    struct mlq_donefilter *f;
};

struct mlq_donefilter *mlq_donefilter_create(size_t expected)
{
    size_t nbits = MLQ_SPOOLDONE_MIN_BITS;
    while (nbits < MLQ_SPOOLDONE_MAX_BITS && nbits < expected * BITS_PER_ID)
        nbits *= 2;
    struct mlq_donefilter *f = calloc(1, sizeof *f);
    if (f && !(f->bits = calloc(nbits / 64, sizeof *f->bits))) {
        free(f);
        return NULL;
    }
    if (f)
        f->nbits = nbits;
    return f;
}

void mlq_donefilter_free(struct mlq_donefilter *f)
{
    if (f)
        free(f->bits);
    free(f);
}

/* FNV-1a, and a second hash from it (splitmix64's finaliser), made odd so
 * that the probes of an id are distinct. */
static void hashes(const char *id, uint64_t *h1, uint64_t *h2)
{
    uint64_t h = 1469598103934665603ull;
    for (size_t i = 0; i < MLQ_ID_LEN && id[i]; i++)
        h = (h ^ (unsigned char)id[i]) * 1099511628211ull;
    uint64_t z = h + 0x9e3779b97f4a7c15ull;
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
    *h1 = h;
    *h2 = (z ^ (z >> 31)) | 1;
}

void mlq_donefilter_add(struct mlq_donefilter *f, const char *id)
{
    uint64_t h1, h2;
    hashes(id, &h1, &h2);
    for (int i = 0; i < PROBES; i++) {
        size_t b = (size_t)(h1 + (uint64_t)i * h2) & (f->nbits - 1);
        f->bits[b / 64] |= 1ull << (b % 64);
    }
    f->n++;
}

static bool filter_has(const struct mlq_donefilter *f, const char *id)
{
    if (!f->n)
        return false;
    uint64_t h1, h2;
    hashes(id, &h1, &h2);
    for (int i = 0; i < PROBES; i++) {
        size_t b = (size_t)(h1 + (uint64_t)i * h2) & (f->nbits - 1);
        if (!(f->bits[b / 64] & (1ull << (b % 64))))
            return false;
    }
    return true;
}

struct mlq_spooldone *mlq_spooldone_create(size_t recent, size_t expected)
{
    struct mlq_spooldone *d = calloc(1, sizeof *d);
    if (!d)
        return NULL;
    d->cap = recent ? recent : 1;
    d->ring = calloc(d->cap, sizeof *d->ring);
    d->f = mlq_donefilter_create(expected);
    if (!d->ring || !d->f) {
        mlq_spooldone_destroy(&d);
        return NULL;
    }
    return d;
}

void mlq_spooldone_destroy(struct mlq_spooldone **d)
{
    if (!d || !*d)
        return;
    free((*d)->ring);
    mlq_donefilter_free((*d)->f);
    free(*d);
    *d = NULL;
}

bool mlq_spooldone_push(struct mlq_spooldone *d, const char *id, char *out)
{
    size_t tail = (d->head + d->len) % d->cap;
    bool full = d->len == d->cap;
    if (full) /* the slot of the oldest: it leaves */
        memcpy(out, d->ring[tail], MLQ_ID_LEN + 1);
    memcpy(d->ring[tail], id, MLQ_ID_LEN);
    d->ring[tail][MLQ_ID_LEN] = '\0';
    if (full)
        d->head = (d->head + 1) % d->cap;
    else
        d->len++;
    return full;
}

void mlq_spooldone_forget(struct mlq_spooldone *d, const char *id)
{
    mlq_donefilter_add(d->f, id);
}

bool mlq_spooldone_maybe(const struct mlq_spooldone *d, const char *id)
{
    return filter_has(d->f, id);
}

size_t mlq_spooldone_forgotten(const struct mlq_spooldone *d)
{
    return d->f->n;
}

bool mlq_spooldone_crowded(const struct mlq_spooldone *d)
{
    return d->f->nbits < MLQ_SPOOLDONE_MAX_BITS && d->f->n * BITS_PER_ID > d->f->nbits;
}

size_t mlq_spooldone_bytes(const struct mlq_spooldone *d)
{
    return sizeof *d + d->cap * sizeof *d->ring + sizeof *d->f + d->f->nbits / 8;
}

void mlq_spooldone_replace(struct mlq_spooldone *d, struct mlq_donefilter *f)
{
    mlq_donefilter_free(d->f);
    d->f = f;
}
