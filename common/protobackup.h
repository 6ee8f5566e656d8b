/* protobackup: the online backup request of `mlq admin backup` and its
 * answer (backup, backup_done); see docs/protocol.md. Rows of proto.c's
 * message table, as prototoken.h's are. */
#ifndef MLQ_PROTOBACKUP_H
#define MLQ_PROTOBACKUP_H

#include <msgpack.h>

#include "mpk.h"
#include "proto.h"

#define MLQ_BACKUP_INTEGRITY_MAX 255 /* first line(s) of PRAGMA integrity_check */

/* A backup path: absolute, 2..MLQ_MAX_PATH bytes, printable ASCII, no "."
 * or ".." component, not ending in '/'. 0 or MLQ_EINVAL with a message. */
int mlq_protobackup_path_check(const char *path, struct mlq_err *err);

void mlq_protobackup_enc_req(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protobackup_dec_req(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_protobackup_free_req(struct mlq_msg *m);
void mlq_protobackup_enc_done(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protobackup_dec_done(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_protobackup_free_done(struct mlq_msg *m);

#endif
