/* specreq: `job_spec`, the spec a job or array was submitted with, for
 * `mlq rerun`.
 *
 * The spec holds the job's environment, so only its owner and admins get
 * it (DESIGN.md, "Who sees what"). An array answers with the array's spec;
 * a task of one with its own, its index as the index spec ("7"); a job
 * with its own (no index spec). Dependencies are full ids. */
#ifndef MLQ_SPECREQ_H
#define MLQ_SPECREQ_H

#include "ctx.h"
#include "err.h"
#include "proto.h"
#include "transport.h"

int mlq_specreq_on_request(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                           struct mlq_err *err);

#endif
