/* protobatch: several encoded messages to one worker in one body ("batch",
 * docs/protocol.md), private to proto.c. The scheduler sends what one loop
 * iteration has for a worker that registered with "batch" as one message:
 * one CURVE box, one send and one receive instead of one each. */
#ifndef MLQ_PROTOBATCH_H
#define MLQ_PROTOBATCH_H

#include "mpk.h"
#include "proto.h"

void mlq_protobatch_enc(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protobatch_dec(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_protobatch_free(struct mlq_msg *m);

#endif
