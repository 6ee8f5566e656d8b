/* protobulk: the wire half of many jobs in one request, private to proto.c:
 * submit_many (a shared environment and a list of job specs) and its reply
 * submitted_many (the new ids, in order). These two bodies alone may be up
 * to MLQ_MAX_BULK_MSG; docs/protocol.md describes them. */
#ifndef MLQ_PROTOBULK_H
#define MLQ_PROTOBULK_H

#include <stdbool.h>

#include "mpk.h"
#include "proto.h"

/* True for the types whose bodies may exceed MLQ_MAX_MSG. */
bool mlq_protobulk_is_bulk(enum mlq_msg_type t);

void mlq_protobulk_enc_submit_many(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protobulk_dec_submit_many(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_protobulk_free_submit_many(struct mlq_msg *m);
void mlq_protobulk_enc_submitted_many(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protobulk_dec_submitted_many(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_protobulk_free_submitted_many(struct mlq_msg *m);

#endif
