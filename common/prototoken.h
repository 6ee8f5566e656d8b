/* prototoken: the messages the HTTP API added to the wire protocol: bearer
 * tokens (token_create, token_rm, tokens, token_list) and fair-share use
 * (usage, usage_list); see docs/protocol.md. The rows of proto.c's message
 * table, as protoauth.h's are. */
#ifndef MLQ_PROTOTOKEN_H
#define MLQ_PROTOTOKEN_H

#include <msgpack.h>

#include "mpk.h"
#include "proto.h"

void mlq_prototoken_enc_create(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_prototoken_dec_create(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_prototoken_enc_rm(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_prototoken_dec_rm(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_prototoken_enc_list(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_prototoken_dec_list(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_prototoken_free_list(struct mlq_msg *m);
void mlq_prototoken_enc_usage(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_prototoken_dec_usage(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_prototoken_free_usage(struct mlq_msg *m);

#endif
