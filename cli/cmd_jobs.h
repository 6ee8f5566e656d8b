/* cmd_jobs: commands about jobs the user already submitted: `mlq status`,
 * `mlq list` and `mlq cancel` (`mlq wait` is in cmd_wait). Each returns the
 * exit code. */
#ifndef MLQ_CLI_CMD_JOBS_H
#define MLQ_CLI_CMD_JOBS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "client.h"
#include "proto.h"

int mlq_cmd_status(struct mlq_cli *cli, int argc, char **argv);
int mlq_cmd_list(struct mlq_cli *cli, int argc, char **argv);
int mlq_cmd_cancel(struct mlq_cli *cli, int argc, char **argv);

/* The table `mlq list` prints, in the order given: ID, NAME, STATE, WORKER,
 * NODES (only when a job of more than one node is among them), CPUS, MEM,
 * GPUS, SUBMITTED, EXIT. 0, MLQ_ENOMEM or MLQ_EIO. */
int mlq_cmd_list_print(FILE *f, const struct mlq_jobinfo *jobs, uint32_t n, bool colour);

#endif
