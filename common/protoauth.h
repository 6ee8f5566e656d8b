/* protoauth: the keys-and-audit half of the wire protocol (keys and audit),
 * private to proto.c: user_add, user_rm, user_list, events, event_list,
 * and the allow_root key of assign.
 *
 * proto.c keeps the dispatch table; the encoders, decoders and freers it
 * points at for those messages live here. The public entry points
 * (mlq_proto_principal_name_check, mlq_proto_eventinfo_free) stay in
 * proto.h. */
#ifndef MLQ_PROTOAUTH_H
#define MLQ_PROTOAUTH_H

#include "mpk.h"
#include "proto.h"

/* The assign key allow_root (optional: absent reads as false). */
#define MLQ_PROTOAUTH_ASSIGN_KEYS 1
void mlq_protoauth_put_assign(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protoauth_read_assign(const struct mlq_mpk_map *mp, struct mlq_msg *m);

/* Message rows of proto.c's table ("users" has no fields). */
void mlq_protoauth_enc_user_add(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protoauth_dec_user_add(const struct mlq_mpk_map *mp, struct mlq_msg *m);
/* An optional "team" key (nil or absent: "") into buf, checked as a name. */
int mlq_protoauth_read_team(const struct mlq_mpk_map *m, char buf[MLQ_MAX_NAME + 1]);
void mlq_protoauth_enc_user_rm(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protoauth_dec_user_rm(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_protoauth_enc_user_list(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protoauth_dec_user_list(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_protoauth_free_user_list(struct mlq_msg *m);
void mlq_protoauth_enc_events(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protoauth_dec_events(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_protoauth_free_events(struct mlq_msg *m);
void mlq_protoauth_enc_event_list(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protoauth_dec_event_list(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_protoauth_free_event_list(struct mlq_msg *m);

#endif
