/* prototeam: the teams-and-accounting half of the wire protocol, private to
 * proto.c: team_cmd, team_list, user_set, acct and acct_report (see
 * docs/protocol.md). proto.c keeps the dispatch table; the encoders,
 * decoders and freers it points at for those messages live here. */
#ifndef MLQ_PROTOTEAM_H
#define MLQ_PROTOTEAM_H

#include "mpk.h"
#include "proto.h"

/* Members listed per team at most (more are counted out of the reply). */
#define MLQ_MAX_TEAM_MEMBERS 1000

void mlq_prototeam_enc_cmd(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_prototeam_dec_cmd(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_prototeam_enc_list(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_prototeam_dec_list(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_prototeam_free_list(struct mlq_msg *m);
void mlq_prototeam_enc_user_set(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_prototeam_dec_user_set(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_prototeam_enc_acct(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_prototeam_dec_acct(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_prototeam_enc_report(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_prototeam_dec_report(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_prototeam_free_report(struct mlq_msg *m);

#endif
