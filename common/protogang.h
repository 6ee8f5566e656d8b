/* protogang: the gang half of the wire protocol (gang jobs, `--nodes N`),
 * private to proto.c: the assign's "gang" map, the register's "rdv_ports",
 * the jobinfo's "nodes" and "parts" and the logs request's "node".
 *
 * Same invariants as proto.c: decoded strings and arrays are owned by the
 * message, counts are set as soon as an array is allocated, and every key is
 * optional so that peers that predate gangs still interoperate. The public
 * entry points stay in proto.h. */
#ifndef MLQ_PROTOGANG_H
#define MLQ_PROTOGANG_H

#include <msgpack.h>

#include "mpk.h"
#include "proto.h"

/* Keys mlq_protogang_put_jobinfo() writes: nodes, plus parts when there
 * are any (see mlq_protogang_jobinfo_keys). */
uint32_t mlq_protogang_jobinfo_keys(const struct mlq_jobinfo *j);
void mlq_protogang_put_jobinfo(msgpack_packer *pk, const struct mlq_jobinfo *j);
int mlq_protogang_read_jobinfo(const struct mlq_mpk_map *m, struct mlq_jobinfo *j);
void mlq_protogang_free_jobinfo(struct mlq_jobinfo *j);

/* The assign key "gang" (nil when not a gang). */
#define MLQ_PROTOGANG_ASSIGN_KEYS 1
void mlq_protogang_put_assign(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protogang_read_assign(const struct mlq_mpk_map *mp, struct mlq_msg *m);

/* The register key "rdv_ports": [lo, hi], nil when none is offered. */
#define MLQ_PROTOGANG_REGISTER_KEYS 1
void mlq_protogang_put_register(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protogang_read_register(const struct mlq_mpk_map *mp, struct mlq_msg *m);

/* The logs key "node" (a rank; absent: 0). */
#define MLQ_PROTOGANG_LOGS_KEYS 1
void mlq_protogang_put_logs(msgpack_packer *pk, const struct mlq_msg *m);
int mlq_protogang_read_logs(const struct mlq_mpk_map *mp, struct mlq_msg *m);

#endif
