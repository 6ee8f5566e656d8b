/* protometrics: the wire pieces of metrics and GPU utilisation (see
 * proto.h and docs/protocol.md): the `metrics` request's reply, the
 * heartbeat's optional "gpu_load" and the utilisation keys of a gpuinfo.
 * Same invariants as proto.c: decoded strings and arrays are owned by the
 * message, counts are set as soon as an array is allocated. */
#ifndef MLQ_PROTOMETRICS_H
#define MLQ_PROTOMETRICS_H

#include <msgpack.h>

#include "mpk.h"
#include "proto.h"

#define MLQ_PROTOMETRICS_GPUINFO_KEYS 3 /* util, mem_used, idle_ms */

void mlq_protometrics_enc_text(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protometrics_dec_text(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_protometrics_free_text(struct mlq_msg *m);

/* The heartbeat's "gpu_load" array (always written, maybe empty; optional
 * on decode). */
void mlq_protometrics_put_gpu_load(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protometrics_read_gpu_load(const struct mlq_mpk_map *mp, struct mlq_msg *m);

/* A gpuinfo's utilisation keys (optional on decode; "util" nil = unknown). */
void mlq_protometrics_put_gpuinfo(msgpack_packer *pk, const struct mlq_gpuinfo *g);
int mlq_protometrics_read_gpuinfo(const struct mlq_mpk_map *mp, struct mlq_gpuinfo *g);

#endif
