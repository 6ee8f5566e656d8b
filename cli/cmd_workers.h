/* cmd_workers: `mlq workers [--json] [--gpus]`, the workers, their pools,
 * labels, resources and GPUs. */
#ifndef MLQ_CLI_CMD_WORKERS_H
#define MLQ_CLI_CMD_WORKERS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "client.h"
#include "proto.h"

/* Writes the workers table to f (colours when colour), then one line per
 * admin-drained worker ("w1 drained: REASON") and, with gpus, one line per
 * GPU ("w1 gpu0 h100 GPU-xxxx job 1a2b3c4d" or "... free"). Untrusted text
 * has its control characters replaced. 0, MLQ_ENOMEM or MLQ_EIO. */
int mlq_cli_workers_print(FILE *f, const struct mlq_workerinfo *w, uint32_t n, bool colour,
                          bool gpus);

/* Returns the exit code. */
int mlq_cmd_workers(struct mlq_cli *cli, int argc, char **argv);

#endif
