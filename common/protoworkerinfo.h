/* protoworkerinfo: a worker as the scheduler reports it (struct
 * mlq_workerinfo, proto.h) on the wire, and the pieces of it that a worker
 * also sends about itself in `register`: its GPU list (struct mlq_gpuinfo)
 * and its limits. The keys of an admin's overrides are protoworker's and
 * the GPU utilisation keys protometrics'; this module calls them.
 *
 * Same invariants as proto.c: decoded strings and arrays are owned by the
 * caller's struct, counts are set as soon as an array is allocated, so that
 * mlq_proto_workerinfo_free() and mlq_proto_gpuinfo_free() (defined here,
 * with mlq_proto_limits_check()) clean up after any failure. Private to the
 * proto* modules; the public entry points stay in proto.h. */
#ifndef MLQ_PROTOWORKERINFO_H
#define MLQ_PROTOWORKERINFO_H

#include <msgpack.h>

#include "mpk.h"
#include "proto.h"

/* Packs w as one map. */
void mlq_protoworkerinfo_put(msgpack_packer *pk, const struct mlq_workerinfo *w);
/* Reads a workerinfo map into the zeroed w; on failure the caller frees w. */
int mlq_protoworkerinfo_read(const struct mlq_mpk_map *m, struct mlq_workerinfo *w);

/* The "gpu_list" array (n entries of g; NULL g: an empty array). */
void mlq_protoworkerinfo_put_gpu_list(msgpack_packer *pk, const struct mlq_gpuinfo *g, uint32_t n);
/* The optional "gpu_list" (absent, nil or empty: none): at most
 * MLQ_MAX_GPUS entries with distinct indexes. Sets *n as soon as *out is
 * allocated; on failure the caller frees both. */
int mlq_protoworkerinfo_read_gpu_list(const struct mlq_mpk_map *m, struct mlq_gpuinfo **out,
                                      uint32_t *n);
void mlq_protoworkerinfo_free_gpu_list(struct mlq_gpuinfo *g, uint32_t n);

/* The optional "limits" of a worker, checked by mlq_proto_limits_check(). */
int mlq_protoworkerinfo_read_limits(const struct mlq_mpk_map *m, char **out);

#endif
