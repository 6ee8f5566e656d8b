/* protofield: the field spellings and checks that more than one message
 * module of the wire protocol reads (see proto.h and docs/protocol.md):
 * the job state and log stream names, and the optional pool name. Private
 * to the proto* modules; the public entry points stay in proto.h. */
#ifndef MLQ_PROTOFIELD_H
#define MLQ_PROTOFIELD_H

#include "mpk.h"
#include "proto.h"

#define MLQ_PROTOFIELD_NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

/* Same spelling as mlq_job_state_name(); test_proto checks they agree. */
extern const char *const mlq_protofield_job_states[MLQ_JOB_STATE_COUNT];
/* Indexed by enum mlq_stream. */
#define MLQ_PROTOFIELD_STREAMS 2
extern const char *const mlq_protofield_streams[MLQ_PROTOFIELD_STREAMS];

/* names[v], or "?" when v is not in 0..n-1. */
const char *mlq_protofield_name(const char *const *names, int n, int v);

/* The optional "pool" (nil: the default pool), checked like user input. */
int mlq_protofield_read_pool(const struct mlq_mpk_map *m, char **pool);

#endif
