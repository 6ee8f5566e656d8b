/* submitfrom: `mlq submit --from FILE` (or - for stdin): one job per line,
 * each a JSON object with the HTTP API's job keys (common/jsonspec.h) laid
 * over the defaults the command line gave, all sent in one submit_many.
 *
 * Every line is checked as a single submit is (mlq_cli_submit_check on the
 * job as it would be stored, its environment included) before anything is
 * sent; the first bad one fails the whole request as "FILE:LINE: message".
 * Blank lines are skipped (and counted). Bounds: a line is at most
 * MLQ_SUBMITFROM_MAX_LINE bytes, a file at most MLQ_MAX_BULK_JOBS jobs and
 * MLQ_SUBMITFROM_MAX_BYTES bytes; a larger one is refused with a message
 * saying to split it. */
#ifndef MLQ_CLI_SUBMITFROM_H
#define MLQ_CLI_SUBMITFROM_H

#include <stdbool.h>
#include <stdio.h>

#include "client.h"
#include "err.h"
#include "proto.h"

#define MLQ_SUBMITFROM_MAX_LINE  (64 * 1024)
#define MLQ_SUBMITFROM_MAX_BYTES MLQ_MAX_BULK_MSG

/* The jobs of a file, as sent: specs without the shared environment (each
 * only with its own line's "env"), and the line each came from. */
struct mlq_submitfrom {
    struct mlq_jobspec *specs;
    uint32_t *lines;
    uint32_t n, cap;
};

/* Reads f (called name in messages) over the defaults of base (whose env
 * is the environment shared by all jobs). MLQ_EINVAL "NAME:LINE: ..." for a
 * bad line, MLQ_ETOOBIG for a file past the bounds, MLQ_EIO; out then holds
 * nothing. */
int mlq_submitfrom_read(FILE *f, const char *name, const struct mlq_jobspec *base,
                        struct mlq_submitfrom *out, struct mlq_err *err);
void mlq_submitfrom_free(struct mlq_submitfrom *s);

/* Rewrites the scheduler's "job N: ..." (N counts from 1) as
 * "NAME:LINE: ..."; leaves any other message as it is. */
void mlq_submitfrom_locate(const struct mlq_submitfrom *s, const char *name, struct mlq_err *err);

/* Runs `mlq submit --from path` with the defaults of base; prints the ids
 * one per line, or {"ids": [...]} with json. Returns the exit code. */
int mlq_submitfrom_run(struct mlq_cli *cli, const struct mlq_jobspec *base, const char *path,
                       bool json);

#endif
