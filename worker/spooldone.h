/* spooldone: which done attempts the spool's journal keeps in memory, and
 * a filter over the ones it does not.
 *
 * A done record (spooljournal.h) makes a late duplicate `assign` of an
 * attempt "already seen" for as long as the journal keeps it (7 days).
 * Only the most recent ones (`recent`, in the order they became done) stay
 * in the journal's table; an older one leaves memory for a Bloom filter
 * (16 bits an attempt, at most MLQ_SPOOLDONE_MAX_BITS) and stays in the
 * journal file, which a lookup reads only when the filter says "maybe".
 * So the memory of the done records is bounded (the recent ones, and the
 * filter), however many attempts a worker finishes in a week, and no
 * answer changes: the filter never says "no" for an attempt it holds. */
#ifndef MLQ_SPOOLDONE_H
#define MLQ_SPOOLDONE_H

#include <stdbool.h>
#include <stddef.h>

#include "bounds.h"

#define MLQ_SPOOLDONE_RECENT   4096      /* done attempts kept in memory */
#define MLQ_SPOOLDONE_MIN_BITS (1 << 16) /* the filter's smallest size (8 KiB) */
#define MLQ_SPOOLDONE_MAX_BITS (1 << 26) /* and its largest (8 MiB, 4M attempts) */

struct mlq_spooldone;
/* A Bloom filter of attempt ids. */
struct mlq_donefilter;

/* A set that keeps recent attempts in memory, and a filter sized for
 * expected older ones. NULL when out of memory. */
struct mlq_spooldone *mlq_spooldone_create(size_t recent, size_t expected);
void mlq_spooldone_destroy(struct mlq_spooldone **d);

/* Attempt id became done in memory. When that pushes the oldest recent one
 * out, its id is written to out (MLQ_ID_LEN + 1 bytes) and true returned:
 * the caller drops it from memory and calls mlq_spooldone_forget. */
bool mlq_spooldone_push(struct mlq_spooldone *d, const char *id, char *out);
/* Id left memory: it goes into the filter. */
void mlq_spooldone_forget(struct mlq_spooldone *d, const char *id);
/* False when id was never forgotten; true when it may have been. */
bool mlq_spooldone_maybe(const struct mlq_spooldone *d, const char *id);
/* Ids forgotten since the filter was made. */
size_t mlq_spooldone_forgotten(const struct mlq_spooldone *d);
/* True when the filter holds more ids than it is sized for and could grow:
 * time for the journal to rebuild it (a compaction). */
bool mlq_spooldone_crowded(const struct mlq_spooldone *d);
/* Bytes of memory the set and its filter take. */
size_t mlq_spooldone_bytes(const struct mlq_spooldone *d);

/* A fresh filter sized for expected ids (NULL when out of memory), filled
 * with mlq_donefilter_add, then put in place of the set's own (which is
 * freed) with mlq_spooldone_replace, or freed. */
struct mlq_donefilter *mlq_donefilter_create(size_t expected);
void mlq_donefilter_add(struct mlq_donefilter *f, const char *id);
void mlq_donefilter_free(struct mlq_donefilter *f);
void mlq_spooldone_replace(struct mlq_spooldone *d, struct mlq_donefilter *f);

#endif
