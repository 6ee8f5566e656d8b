/* strmap: a small string-keyed hash map of pointers, for the scheduler's
 * indexes keyed by id (arrays, dependency waiters). The map copies keys;
 * values belong to the caller. */
#ifndef MLQ_STRMAP_H
#define MLQ_STRMAP_H

#include <stddef.h>

struct mlq_strmap;

struct mlq_strmap *mlq_strmap_create(void);
/* Frees the map and its keys, calling free_value on each value when given. */
void mlq_strmap_destroy(struct mlq_strmap **m, void (*free_value)(void *));
void *mlq_strmap_get(const struct mlq_strmap *m, const char *key);
/* Sets key to value (replacing silently). MLQ_ENOMEM on allocation failure. */
int mlq_strmap_put(struct mlq_strmap *m, const char *key, void *value);
/* Removes key and returns its value (NULL when absent). */
void *mlq_strmap_take(struct mlq_strmap *m, const char *key);
size_t mlq_strmap_count(const struct mlq_strmap *m);

#endif
