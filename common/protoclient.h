/* protoclient: the messages a client (`mlq`, the HTTP bridge) exchanges with
 * the scheduler about jobs and workers (see proto.h and docs/protocol.md):
 * submit/submitted, jobs/job_list, cancel, workers/worker_list,
 * logs/log_data, drain, resume and why/why_reply. One encoder, decoder and
 * freer per message, for proto.c's message table `kinds[]`; the jobinfo and
 * workerinfo maps inside the lists are protojobinfo's and protoworkerinfo's.
 *
 * Same invariants as proto.c: decoders start from a zeroed message, decoded
 * strings and arrays are owned by the message, counts are set as soon as an
 * array is allocated. Private to the proto* modules. */
#ifndef MLQ_PROTOCLIENT_H
#define MLQ_PROTOCLIENT_H

#include <msgpack.h>

#include "mpk.h"
#include "proto.h"

void mlq_protoclient_enc_submit(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protoclient_dec_submit(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_protoclient_free_submit(struct mlq_msg *m);

void mlq_protoclient_enc_submitted(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protoclient_dec_submitted(const struct mlq_mpk_map *mp, struct mlq_msg *m);

void mlq_protoclient_enc_jobs(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protoclient_dec_jobs(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_protoclient_free_jobs(struct mlq_msg *m);

void mlq_protoclient_enc_job_list(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protoclient_dec_job_list(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_protoclient_free_job_list(struct mlq_msg *m);

void mlq_protoclient_enc_cancel(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protoclient_dec_cancel(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_protoclient_free_cancel(struct mlq_msg *m);

void mlq_protoclient_enc_workers(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protoclient_dec_workers(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_protoclient_free_workers(struct mlq_msg *m);

void mlq_protoclient_enc_worker_list(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protoclient_dec_worker_list(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_protoclient_free_worker_list(struct mlq_msg *m);

void mlq_protoclient_enc_logs(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protoclient_dec_logs(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_protoclient_free_logs(struct mlq_msg *m);

void mlq_protoclient_enc_log_data(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protoclient_dec_log_data(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_protoclient_free_log_data(struct mlq_msg *m);

void mlq_protoclient_enc_drain(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protoclient_dec_drain(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_protoclient_free_drain(struct mlq_msg *m);

/* resume fills u.drain too; mlq_protoclient_free_drain frees it. */
void mlq_protoclient_enc_resume(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protoclient_dec_resume(const struct mlq_mpk_map *mp, struct mlq_msg *m);

void mlq_protoclient_enc_why(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protoclient_dec_why(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_protoclient_free_why(struct mlq_msg *m);

void mlq_protoclient_enc_why_reply(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protoclient_dec_why_reply(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_protoclient_free_why_reply(struct mlq_msg *m);

/* "job_spec" is encoded like "why" (one key, job). */
void mlq_protoclient_enc_job_spec_reply(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protoclient_dec_job_spec_reply(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_protoclient_free_job_spec_reply(struct mlq_msg *m);

#endif
