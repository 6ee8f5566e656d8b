/* cmd_why: `mlq why JOB [--json]`, why a job is (still) pending. */
#ifndef MLQ_CLI_CMD_WHY_H
#define MLQ_CLI_CMD_WHY_H

#include <jansson.h>
#include <stdio.h>

#include "client.h"
#include "proto.h"

/* Writes the human form of a why_reply to f:
 *   "1a2b3c4d PENDING: <text>"
 *   "closest worker: W (lacks: L)"   when the scheduler named one
 *   "ahead: N jobs"                  while the job is PENDING
 * Untrusted text has its control characters replaced. 0 or MLQ_EIO. */
int mlq_cli_why_print(FILE *f, const struct mlq_msg *reply);
/* The why_reply as JSON: job_id, state, blocker, text, closest_worker, lacks
 * (null when none), ahead. New reference; NULL when out of memory. */
json_t *mlq_cli_why_json(const struct mlq_msg *reply);

/* Runs `mlq why`; returns the exit code. */
int mlq_cmd_why(struct mlq_cli *cli, int argc, char **argv);

#endif
