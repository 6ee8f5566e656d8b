/* submitmany: the `submit_many` request (`mlq submit --from`, POST
 * /api/v1/jobs:batch): many different jobs, all stored or none.
 *
 * Every spec is checked as a single submit's is (owner, shared environment
 * added, mlq_proto_jobspec_check, dependencies resolved) before anything
 * changes, so a bad one is refused as "job N: ..." (N counts from 1) with
 * nothing stored. Then all jobs are inserted in the loop's transaction, the
 * way an array's tasks are, and the reply (their ids, in order) leaves only
 * after that transaction commits: one commit, one fsync for the request.
 * With an idempotency key, a request seen before (same owner, key and
 * jobs, within 7 days) creates nothing and gets the same ids; the key with
 * a different batch is refused as a single submit's is (idemhash.h). */
#ifndef MLQ_SUBMITMANY_H
#define MLQ_SUBMITMANY_H

#include "ctx.h"
#include "err.h"
#include "proto.h"

int mlq_submitmany_on_request(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                              struct mlq_err *err);

#endif
