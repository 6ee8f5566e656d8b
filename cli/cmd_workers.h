/* cmd_workers: `mlq workers [--json]`, the workers and their resources. */
#ifndef MLQ_CLI_CMD_WORKERS_H
#define MLQ_CLI_CMD_WORKERS_H

#include "client.h"

/* Returns the exit code. */
int mlq_cmd_workers(struct mlq_cli *cli, int argc, char **argv);

#endif
