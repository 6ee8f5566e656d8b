/* arrayspec: the index specs of job arrays (`mlq submit --array`).
 *
 * A spec is a comma list of items, each an index "N", a range "A-B" or a
 * stepped range "A-B:S" (A, A+S, ... up to B): "0-999", "0-99:10", "1,5,7",
 * "0-9,20-29:2,100". Indices run 0..MLQ_ARRAYSPEC_MAX_INDEX; a spec names at
 * most MLQ_MAX_ARRAY distinct indices (common/bounds.h). The reverse,
 * mlq_arrayspec_format(), renders an index list as runs ("0-3,7,9-11"), which
 * parses back to the same list. */
#ifndef MLQ_ARRAYSPEC_H
#define MLQ_ARRAYSPEC_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define MLQ_ARRAYSPEC_MAX_INDEX 1000000 /* highest index a spec may name */
#define MLQ_ARRAYSPEC_MAX_LEN   1024    /* bytes of spec text */

/* Parses s into a sorted list of distinct indices: *indices (caller frees
 * it with free()) and its length *n, at least 1. Refuses, with a one-line
 * message, empty or over-long text, empty items, signs, blanks or other
 * junk, indices above MLQ_ARRAYSPEC_MAX_INDEX, reversed ranges, steps of 0 or
 * without a range, and more than MLQ_MAX_ARRAY indices (repeats count
 * towards a work bound of four times that), all as MLQ_EINVAL. On failure
 * *indices and *n are left untouched. */
int mlq_arrayspec_parse(const char *s, uint32_t **indices, uint32_t *n, struct mlq_err *err);

/* Renders the n indices of v (sorted, distinct) into buf as runs, e.g.
 * "0-3,7,9-11". When that does not fit in len bytes, writes as many whole
 * items as fit followed by ",..." (or just "..." if none fits). Always
 * NUL-terminates when len > 0; returns buf. */
char *mlq_arrayspec_format(const uint32_t *v, uint32_t n, char *buf, size_t len);

#endif
