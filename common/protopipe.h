/* protopipe: the pipelines half of the wire protocol (pipelines), private to
 * proto.c: job arrays (arrayinfo), the dependency and array keys of a
 * jobinfo, and the four schedule messages (scheduleinfo).
 *
 * proto.c keeps the dispatch table; the encoders, decoders and freers it
 * points at for schedule_add, schedule_cmd, schedules and schedule_list live
 * here. The public entry points stay in proto.h. */
#ifndef MLQ_PROTOPIPE_H
#define MLQ_PROTOPIPE_H

#include <stdint.h>

#include "mpk.h"
#include "proto.h"

/* Keys mlq_protopipe_put_jobinfo() writes: array_id, array_index, deps. */
#define MLQ_PROTOPIPE_JOBINFO_KEYS 3

void mlq_protopipe_put_jobinfo(msgpack_packer *pk, const struct mlq_jobinfo *j);
/* Reads the optional pipeline keys of a jobinfo (absent: not a task, no
 * dependencies). On failure the caller frees *j. */
int mlq_protopipe_read_jobinfo(const struct mlq_mpk_map *m, struct mlq_jobinfo *j);

/* The "arrays" key of job_list (always written, empty when there are none)
 * and its reader (absent or nil: none; at most MLQ_MAX_IDS entries). */
void mlq_protopipe_put_arrays(msgpack_packer *pk, const struct mlq_arrayinfo *a, uint32_t n);
int mlq_protopipe_read_arrays(const struct mlq_mpk_map *m, struct mlq_arrayinfo **out, uint32_t *n);

/* The assign keys array_id (nil when not a task), array_index, array_size. */
#define MLQ_PROTOPIPE_ASSIGN_KEYS 3
void mlq_protopipe_put_assign(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protopipe_read_assign(const struct mlq_mpk_map *mp, struct mlq_msg *m);

/* Message rows of proto.c's table. */
void mlq_protopipe_enc_schedule_add(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protopipe_dec_schedule_add(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_protopipe_free_schedule_add(struct mlq_msg *m);
void mlq_protopipe_enc_schedule_cmd(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protopipe_dec_schedule_cmd(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_protopipe_free_schedule_cmd(struct mlq_msg *m);
void mlq_protopipe_enc_schedules(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protopipe_dec_schedules(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_protopipe_free_schedules(struct mlq_msg *m);
void mlq_protopipe_enc_schedule_list(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protopipe_dec_schedule_list(const struct mlq_mpk_map *mp, struct mlq_msg *m);
void mlq_protopipe_free_schedule_list(struct mlq_msg *m);

#endif
