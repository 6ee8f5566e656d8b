/* jobref: what a user may name a job or array by in a request. An id, an
 * id prefix or ARRAY/N first (mlq_store_resolve); when that names nothing,
 * the name of one of the asker's active (not ended) jobs or arrays. */
#ifndef MLQ_SCHED_JOBREF_H
#define MLQ_SCHED_JOBREF_H

#include <stdbool.h>

#include "ctx.h"
#include "err.h"

/* The states a job is active in, as a bit set (bit 1 << state). */
#define MLQ_JOBREF_ACTIVE                                                                          \
    ((1u << MLQ_JOB_PENDING) | (1u << MLQ_JOB_ASSIGNED) | (1u << MLQ_JOB_RUNNING))

/* Resolves ref for the asker c->who (any owner's jobs without keys).
 * MLQ_ENOTFOUND when neither an id nor a name matches; MLQ_EAMBIG when an
 * id prefix matches several, or several active jobs carry the name (the
 * message says which: the CLI lists them with a `jobs` request for the
 * name); MLQ_EINVAL for text that is neither. */
int mlq_jobref_resolve(struct mlq_ctx *c, const char *ref, char out[MLQ_ID_LEN + 1], bool *is_array,
                       struct mlq_err *err);

#endif
