/* protospec: the job spec half of the wire protocol, private to the proto* modules.
 *
 * proto.c grew past what one file should hold; the job spec (its encoding,
 * decoding, copies) and the "k=v" label lists that specs and workers share
 * live here, the checks of its values in speccheck.c (which also reads the
 * label lists). The public entry points are in jobspec.h, included by
 * proto.h (mlq_proto_jobspec_*, mlq_proto_*_check); this header is for the
 * proto* modules only. */
#ifndef MLQ_PROTOSPEC_H
#define MLQ_PROTOSPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "mpk.h"
#include "proto.h"

/* Packs spec as one map (every key, optional ones included). */
void mlq_protospec_put(msgpack_packer *pk, const struct mlq_jobspec *spec);
/* Packs spec as the store keeps it: the optional keys only where they are
 * not at their default (mlq_protospec_read reads both forms the same). */
void mlq_protospec_put_stored(msgpack_packer *pk, const struct mlq_jobspec *spec);
/* The keys of a job spec, in wire order, from one table that both packers
 * use (tests: every key is in both forms). NULL past the last. */
size_t mlq_protospec_key_count(void);
const char *mlq_protospec_key_name(size_t i);
/* Reads a spec map and applies mlq_proto_jobspec_check(); a violation is
 * MLQ_EPROTO. On failure the caller frees *spec (it may be half filled). */
int mlq_protospec_read(const struct mlq_mpk_map *m, struct mlq_jobspec *spec);
/* The spec nested under key (submit, assign); freed again on failure. */
int mlq_protospec_read_at(const struct mlq_mpk_map *m, const char *key, struct mlq_jobspec *spec);
/* Reads the optional array of "k=v" labels under key (absent or nil: none),
 * each checked by mlq_proto_label_check(). Allocates *out (NULL when
 * empty); frees it again on failure. */
int mlq_protospec_read_labels(const struct mlq_mpk_map *m, const char *key, char ***out,
                              uint32_t *n);

/* The "deps" array: [{target, kind}]. With full, every target must be a
 * full id (jobinfo); otherwise what a user may type (mlq_proto_dep_target_ok).
 * Absent or nil: none. Allocates *out (NULL when empty); frees it on failure. */
void mlq_protospec_put_deps(msgpack_packer *pk, const char *key, const struct mlq_dep *d,
                            uint32_t n);
int mlq_protospec_read_deps(const struct mlq_mpk_map *m, const char *key, bool full,
                            struct mlq_dep **out, uint32_t *n);

#endif
