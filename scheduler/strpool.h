/* strpool: reference-counted shared copies of strings that many jobs repeat.
 *
 * A million pending jobs mostly share a handful of owners, teams, pools,
 * work directories, commands and environment entries; each separate copy
 * costs a malloc chunk (32 bytes or more) per job. The job table (jobtab.c)
 * swaps such strings of every job it holds for the pool's shared copy and
 * hands them back when the job leaves. A pooled string must never be
 * written to or freed with free(); mlq_strpool_put tells pooled strings
 * from private ones by address, so it releases either kind. */
#ifndef MLQ_STRPOOL_H
#define MLQ_STRPOOL_H

#include <stddef.h>
#include <stdint.h>

struct mlq_strpool;

struct mlq_strpool *mlq_strpool_create(void); /* NULL on allocation failure */
/* Frees the pool; strings still taken from it become invalid. Accepts NULL. */
void mlq_strpool_destroy(struct mlq_strpool *pool);

/* Swaps *s (a malloc'd string, or NULL) for the pool's shared copy, freeing
 * the private one. On allocation failure *s is kept as it is (private):
 * still correct, only not shared. */
void mlq_strpool_take(struct mlq_strpool *pool, char **s);
/* Releases s: one reference less if it is the pool's copy (freed with the
 * last), free(s) otherwise. Accepts NULL. */
void mlq_strpool_put(struct mlq_strpool *pool, char *s);

/* Vectors of strings (a command's argv, an environment) shared whole: the
 * pointer array of a million jobs with the same command or environment is
 * one array instead of a malloc chunk each (32 bytes for a one-word
 * command, 8 bytes an entry for an environment). *v holds n strings
 * already taken from the pool (mlq_strpool_take) and is malloc'd; it is
 * swapped for the shared array, which holds one reference to each of its
 * strings (the caller's references pass to it, or are released when an
 * equal array is already shared). On allocation failure *v stays
 * private. NULL or n 0: nothing. Never write to or free a shared array. */
void mlq_strpool_take_vec(struct mlq_strpool *pool, char ***v, uint32_t n);
/* Releases v (n strings), shared or private, and each of its strings. */
void mlq_strpool_put_vec(struct mlq_strpool *pool, char **v, uint32_t n);

/* Distinct strings held (tests). */
size_t mlq_strpool_count(const struct mlq_strpool *pool);
/* Distinct vectors held (tests). */
size_t mlq_strpool_vec_count(const struct mlq_strpool *pool);

#endif
