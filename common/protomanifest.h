/* protomanifest: the wire pieces of run manifests (see proto.h and
 * docs/protocol.md): the client's `manifest` request and its
 * `manifest_data` reply. The manifest's own text travels as one JSON
 * string: the scheduler stores and returns it as the worker recorded it.
 * Same invariants as proto.c. */
#ifndef MLQ_PROTOMANIFEST_H
#define MLQ_PROTOMANIFEST_H

#include <msgpack.h>

#include "mpk.h"
#include "proto.h"

void mlq_protomanifest_enc_req(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protomanifest_dec_req(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_protomanifest_free_req(struct mlq_msg *m);

void mlq_protomanifest_enc_data(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protomanifest_dec_data(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_protomanifest_free_data(struct mlq_msg *m);

#endif
