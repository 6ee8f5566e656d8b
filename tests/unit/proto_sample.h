/* proto_sample: a filled-in sample of every message type for the unit tests
 * of common/proto*, with every optional field set so that a round trip
 * compares them all. Tests may change the sample arrays between calls:
 * fill_sample() fills them again. Linked into test_proto and the
 * test_proto_* tests that share it (tests/CMakeLists.txt). */
#ifndef MLQ_PROTO_SAMPLE_H
#define MLQ_PROTO_SAMPLE_H

#include "proto.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* A full lower-case job id. */
extern const char ID1[];
/* The argv of the sample spec (its last entry is empty). */
extern char *spec_argv[4];
extern struct mlq_jobinfo sample_jobs[2];
extern struct mlq_attemptinfo sample_attempts[3];
extern struct mlq_workerinfo sample_workers[2];
/* Eight GPUs in a shuffled index order; the first two busy. */
extern struct mlq_gpuinfo sample_gpu_list[8];
extern struct mlq_gpuload sample_gpu_load[3];

/* A spec with every field set. */
void fill_spec(struct mlq_jobspec *s);
/* The sample of message type t in *m; it points into static storage. */
void fill_sample(enum mlq_msg_type t, struct mlq_msg *m);

#endif
