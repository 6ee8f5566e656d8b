/* protojobinfo: a job as the scheduler reports it (struct mlq_jobinfo,
 * proto.h) on the wire: the jobinfo map of a `job_list` reply and the
 * attemptinfo maps of its optional "attempts" array. The pipeline and gang
 * keys of a jobinfo are protopipe's and protogang's; this module calls them.
 *
 * Same invariants as proto.c: decoded strings and arrays are owned by the
 * jobinfo, counts are set as soon as an array is allocated, so that
 * mlq_proto_jobinfo_free() (defined here) cleans up after any failure.
 * Private to the proto* modules; the public entry points stay in proto.h. */
#ifndef MLQ_PROTOJOBINFO_H
#define MLQ_PROTOJOBINFO_H

#include <msgpack.h>

#include "mpk.h"
#include "proto.h"

/* Packs j as one map ("attempts" only when there are any). */
void mlq_protojobinfo_put(msgpack_packer *pk, const struct mlq_jobinfo *j);
/* Reads a jobinfo map into the zeroed j; on failure the caller frees j. */
int mlq_protojobinfo_read(const struct mlq_mpk_map *m, struct mlq_jobinfo *j);

#endif
