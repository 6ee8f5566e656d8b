/* slab: fixed-size objects carved from large blocks, for the one struct
 * mlq_job a scheduler holds per active job (up to a million).
 *
 * Why not malloc: each malloc chunk carries an 8-byte header and is
 * rounded up to 16 bytes, and the jobs' chunks interleave with SQLite's
 * page-cache pages; every page SQLite gives back leaves a hole among the
 * jobs that the next jobs fill only in part (about 20 MiB of holes at a
 * million jobs). A block here holds MLQ_SLAB_PER_BLOCK objects back to
 * back, is large enough that malloc maps it on its own, and is touched
 * only as its objects are handed out.
 *
 * Freed objects are kept for reuse (a free list through their first
 * bytes); blocks are given back only by mlq_slab_destroy, as malloc too
 * keeps freed job chunks. Built with AddressSanitizer, every object is
 * its own malloc chunk so that use after free is still caught. */
#ifndef MLQ_SLAB_H
#define MLQ_SLAB_H

#include <stddef.h>

#define MLQ_SLAB_PER_BLOCK 512

struct mlq_slab;

/* Objects of size bytes (at least a pointer's size, rounded up to 8).
 * NULL on allocation failure. */
struct mlq_slab *mlq_slab_create(size_t size);
/* Frees every block, with every object still out; accepts NULL. */
void mlq_slab_destroy(struct mlq_slab *s);
/* A zeroed object, or NULL on allocation failure. */
void *mlq_slab_alloc(struct mlq_slab *s);
/* Hands p (from mlq_slab_alloc on s) back; accepts NULL. */
void mlq_slab_free(struct mlq_slab *s, void *p);
/* Objects handed out and not freed (tests). */
size_t mlq_slab_count(const struct mlq_slab *s);

#endif
