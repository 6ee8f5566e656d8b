/* protoworker: the wire pieces of worker administration (see proto.h and
 * docs/protocol.md): the `worker_set` request, the `worker_summary` reply,
 * and the keys of a workerinfo that say what the worker itself reports
 * where an admin's override differs. Same invariants as proto.c: decoded
 * strings and arrays are owned by the message, counts are set as soon as an
 * array is allocated. */
#ifndef MLQ_PROTOWORKER_H
#define MLQ_PROTOWORKER_H

#include <msgpack.h>

#include "mpk.h"
#include "proto.h"

#define MLQ_PROTOWORKER_WORKERINFO_KEYS 2 /* set_by_admin, reported */

void mlq_protoworker_enc_set(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protoworker_dec_set(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_protoworker_free_set(struct mlq_msg *m);

void mlq_protoworker_enc_summary(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protoworker_dec_summary(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_protoworker_free_summary(struct mlq_msg *m);

/* A workerinfo's "set_by_admin" and "reported" keys (optional on decode). */
void mlq_protoworker_put_workerinfo(msgpack_packer *pk, const struct mlq_workerinfo *w);
int mlq_protoworker_read_workerinfo(const struct mlq_mpk_map *mp, struct mlq_workerinfo *w);
void mlq_protoworker_free_workerinfo(struct mlq_workerinfo *w);

#endif
