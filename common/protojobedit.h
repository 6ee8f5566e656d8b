/* protojobedit: the messages that change a job before it starts, private to
 * proto.c: "hold" (hold or release jobs and arrays) and "update" (new
 * resources, priority, time limit or retries for a job that has not
 * started). Same invariants as proto.c; the public entry points stay in
 * proto.h. */
#ifndef MLQ_PROTOJOBEDIT_H
#define MLQ_PROTOJOBEDIT_H

#include <msgpack.h>

#include "mpk.h"
#include "proto.h"

void mlq_protojobedit_enc_hold(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protojobedit_dec_hold(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_protojobedit_free_hold(struct mlq_msg *m);

/* job, then one key per field of struct mlq_jobchange (nil: unchanged). */
#define MLQ_PROTOJOBEDIT_UPDATE_KEYS 7
void mlq_protojobedit_enc_update(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protojobedit_dec_update(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_protojobedit_free_update(struct mlq_msg *m);

#endif
