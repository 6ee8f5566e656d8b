/* protoquota: the quota messages of the wire protocol, private to proto.c:
 * quota_cmd and quota_list (see docs/protocol.md). proto.c keeps the
 * dispatch table; the encoders, decoders and freers it points at for those
 * messages live here. */
#ifndef MLQ_PROTOQUOTA_H
#define MLQ_PROTOQUOTA_H

#include "mpk.h"
#include "proto.h"

/* Keys of one quotainfo map. */
#define MLQ_PROTOQUOTA_INFO_KEYS 18

void mlq_protoquota_enc_cmd(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protoquota_dec_cmd(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_protoquota_enc_list(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protoquota_dec_list(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_protoquota_free_list(struct mlq_msg *m);

#endif
