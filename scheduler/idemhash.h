/* idemhash: the canonical hash of a submit request, stored with its
 * idempotency key so that the key reused with a different request is
 * refused instead of answered with the first job.
 *
 * What counts as the request: the spec as the client sent it, less what
 * does not change what would run: the owner (keys are per owner anyway),
 * the key itself, and when a hold was asked for, who and when (a hold is
 * part of the request, its stamp is not). The environment is a set: its
 * entries are sorted, so the order of --env options does not matter.
 * Everything else counts, as sent: command, workdir, name, resources,
 * limits, placement, dependencies as typed, array spec. */
#ifndef MLQ_IDEMHASH_H
#define MLQ_IDEMHASH_H

#include "err.h"
#include "proto.h"
#include "store.h"

/* SHA-256 of the canonical spec, lower-case hex. */
int mlq_idemhash_spec(const struct mlq_jobspec *spec, char out[MLQ_STORE_HASH_HEX + 1],
                      struct mlq_err *err);

#endif
