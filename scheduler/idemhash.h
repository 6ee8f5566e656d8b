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
 * limits, placement, dependencies as typed, array spec.
 *
 * A submit_many request is its jobs in order, each as its stored spec
 * would be (the shared environment merged into its own): a chain of the
 * jobs' hashes, so that the same batch hashes the same however its
 * environment was split between shared and per-job entries. */
#ifndef MLQ_IDEMHASH_H
#define MLQ_IDEMHASH_H

#include "err.h"
#include "proto.h"
#include "store.h"

/* SHA-256 of the canonical spec, lower-case hex. */
int mlq_idemhash_spec(const struct mlq_jobspec *spec, char out[MLQ_STORE_HASH_HEX + 1],
                      struct mlq_err *err);

/* Folds spec's hash into acc (start from ""): acc = SHA-256(acc, spec's
 * hash), so the order of the jobs counts. */
int mlq_idemhash_chain(char acc[MLQ_STORE_HASH_HEX + 1], const struct mlq_jobspec *spec,
                       struct mlq_err *err);

/* 1 when owner used key before for the request with this hash (id set to
 * the first job it made), 0 when the key is unused; a different request is
 * MLQ_EINVAL ("key ... was used for a different request"). A key stored
 * without a hash (before hashes were kept) matches any request. */
int mlq_idemhash_seen(struct mlq_store *st, const char *owner, const char *key, int64_t now_ms,
                      const char *hash, char id[MLQ_ID_LEN + 1], struct mlq_err *err);

#endif
