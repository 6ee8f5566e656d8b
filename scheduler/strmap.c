/* strmap: see strmap.h. Chained buckets, doubled when the load reaches 1. */
#include "strmap.h"

#include <stdlib.h>
#include <string.h>

#include "err.h"

struct entry {
    char *key;
    void *value;
    struct entry *next;
};

struct mlq_strmap {
    struct entry **b;
    size_t nb, n;
};

static size_t hash(const char *s)
{
    size_t h = 1469598103934665603ULL;
    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return h;
}

struct mlq_strmap *mlq_strmap_create(void)
{
    struct mlq_strmap *m = calloc(1, sizeof *m);
    if (m && !(m->b = calloc(m->nb = 64, sizeof *m->b))) {
        free(m);
        return NULL;
    }
    return m;
}

void mlq_strmap_destroy(struct mlq_strmap **mp, void (*free_value)(void *))
{
    if (!mp || !*mp)
        return;
    struct mlq_strmap *m = *mp;
    for (size_t i = 0; i < m->nb; i++) {
        for (struct entry *e = m->b[i], *next; e; e = next) {
            next = e->next;
            if (free_value)
                free_value(e->value);
            free(e->key);
            free(e);
        }
    }
    free(m->b);
    free(m);
    *mp = NULL;
}

static struct entry **slot(const struct mlq_strmap *m, const char *key)
{
    struct entry **pp = &m->b[hash(key) & (m->nb - 1)];
    while (*pp && strcmp((*pp)->key, key) != 0)
        pp = &(*pp)->next;
    return pp;
}

void *mlq_strmap_get(const struct mlq_strmap *m, const char *key)
{
    struct entry *e = *slot(m, key);
    return e ? e->value : NULL;
}

static void grow(struct mlq_strmap *m)
{
    size_t nb = m->nb * 2;
    struct entry **b = calloc(nb, sizeof *b);
    if (!b)
        return; /* keep the old, slower table */
    for (size_t i = 0; i < m->nb; i++) {
        for (struct entry *e = m->b[i], *next; e; e = next) {
            next = e->next;
            size_t k = hash(e->key) & (nb - 1);
            e->next = b[k];
            b[k] = e;
        }
    }
    free(m->b);
    m->b = b;
    m->nb = nb;
}

int mlq_strmap_put(struct mlq_strmap *m, const char *key, void *value)
{
    struct entry **pp = slot(m, key);
    if (*pp) {
        (*pp)->value = value;
        return 0;
    }
    struct entry *e = calloc(1, sizeof *e);
    if (!e || !(e->key = strdup(key))) {
        free(e);
        return MLQ_ENOMEM;
    }
    e->value = value;
    *pp = e;
    if (++m->n > m->nb)
        grow(m);
    return 0;
}

void *mlq_strmap_take(struct mlq_strmap *m, const char *key)
{
    struct entry **pp = slot(m, key), *e = *pp;
    if (!e)
        return NULL;
    *pp = e->next;
    void *v = e->value;
    free(e->key);
    free(e);
    m->n--;
    return v;
}

size_t mlq_strmap_count(const struct mlq_strmap *m)
{
    return m->n;
}
