/* slab: see slab.h. */
#include "slab.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#if defined(__SANITIZE_ADDRESS__)
#define SLAB_PLAIN_MALLOC 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define SLAB_PLAIN_MALLOC 1
#endif
#endif

struct block {
    struct block *next;
    _Alignas(16) unsigned char obj[]; /* MLQ_SLAB_PER_BLOCK objects */
};

struct mlq_slab {
    size_t size;          /* of one object, a multiple of 8 */
    struct block *blocks; /* newest first */
    size_t fresh;         /* objects of blocks never handed out yet */
    void *free;           /* freed objects, linked through their first bytes */
    size_t count;
};

struct mlq_slab *mlq_slab_create(size_t size)
{
    struct mlq_slab *s = calloc(1, sizeof *s);
    if (!s)
        return NULL;
    if (size < sizeof(void *))
        size = sizeof(void *);
    s->size = (size + 7) & ~(size_t)7;
    return s;
}

void mlq_slab_destroy(struct mlq_slab *s)
{
    if (!s)
        return;
    for (struct block *b = s->blocks, *next; b; b = next) {
        next = b->next;
        free(b);
    }
    free(s);
}

#ifdef SLAB_PLAIN_MALLOC
void *mlq_slab_alloc(struct mlq_slab *s)
{
    void *p = calloc(1, s->size);
    s->count += p != NULL;
    return p;
}

void mlq_slab_free(struct mlq_slab *s, void *p)
{
    s->count -= p != NULL;
    free(p);
}
#else
void *mlq_slab_alloc(struct mlq_slab *s)
{
    void *p = s->free;
    if (p) {
        memcpy(&s->free, p, sizeof s->free);
    } else {
        if (s->fresh == 0) {
            /* malloc's memory, not calloc's: the objects are zeroed one
             * by one as they are handed out, so pages are touched only
             * when used */
            struct block *b = malloc(sizeof *b + MLQ_SLAB_PER_BLOCK * s->size);
            if (!b)
                return NULL;
            b->next = s->blocks;
            s->blocks = b;
            s->fresh = MLQ_SLAB_PER_BLOCK;
        }
        p = s->blocks->obj + (MLQ_SLAB_PER_BLOCK - s->fresh) * s->size;
        s->fresh--;
    }
    memset(p, 0, s->size);
    s->count++;
    return p;
}

void mlq_slab_free(struct mlq_slab *s, void *p)
{
    if (!p)
        return;
    memcpy(p, &s->free, sizeof s->free);
    s->free = p;
    s->count--;
}
#endif

size_t mlq_slab_count(const struct mlq_slab *s)
{
    return s->count;
}
