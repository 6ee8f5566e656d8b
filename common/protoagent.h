/* protoagent: the messages between a worker's agent and the scheduler (see
 * proto.h and docs/protocol.md): register/registered, heartbeat/hb_ack,
 * goodbye, assign, kill, report/report_ack, and the log traffic log_read,
 * log_chunk, log_upload, log_upload_ack. One encoder, decoder and freer per
 * message, for proto.c's message table `kinds[]`; the pipeline, key, gang
 * and metrics keys of these messages are protopipe's, protoauth's,
 * protogang's and protometrics'.
 *
 * Same invariants as proto.c: decoders start from a zeroed message, decoded
 * strings and arrays are owned by the message, counts are set as soon as an
 * array is allocated. Private to the proto* modules. */
#ifndef MLQ_PROTOAGENT_H
#define MLQ_PROTOAGENT_H

#include <msgpack.h>

#include "mpk.h"
#include "proto.h"

void mlq_protoagent_enc_register(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protoagent_dec_register(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_protoagent_free_register(struct mlq_msg *m);

void mlq_protoagent_enc_heartbeat(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protoagent_dec_heartbeat(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_protoagent_free_heartbeat(struct mlq_msg *m);

void mlq_protoagent_enc_goodbye(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protoagent_dec_goodbye(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_protoagent_free_goodbye(struct mlq_msg *m);

void mlq_protoagent_enc_report(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protoagent_dec_report(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_protoagent_free_report(struct mlq_msg *m);

void mlq_protoagent_enc_log_chunk(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protoagent_dec_log_chunk(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_protoagent_free_log_chunk(struct mlq_msg *m);

void mlq_protoagent_enc_registered(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protoagent_dec_registered(const struct mlq_mpk_map *mp, struct mlq_msg *m);

void mlq_protoagent_enc_assign(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protoagent_dec_assign(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_protoagent_free_assign(struct mlq_msg *m);

void mlq_protoagent_enc_kill(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protoagent_dec_kill(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_protoagent_free_kill(struct mlq_msg *m);

void mlq_protoagent_enc_report_ack(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protoagent_dec_report_ack(const struct mlq_mpk_map *mp, struct mlq_msg *m);

void mlq_protoagent_enc_log_read(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protoagent_dec_log_read(const struct mlq_mpk_map *mp, struct mlq_msg *m);

void mlq_protoagent_enc_log_upload(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protoagent_dec_log_upload(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_protoagent_free_log_upload(struct mlq_msg *m);

void mlq_protoagent_enc_log_upload_ack(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protoagent_dec_log_upload_ack(const struct mlq_mpk_map *mp, struct mlq_msg *m);

#endif
