/* cmd_workerset: `mlq admin worker set NAME [--pool P] [--label K=V ...]
 * [--clear-labels] [--cpus N] [--mem SIZE] [--gpus N|TYPE:N] [--reset]`:
 * an admin changes a worker's pool, labels and offered resources while it
 * runs (scheduler/workerset.h says what the scheduler does with them). */
#ifndef MLQ_CLI_CMD_WORKERSET_H
#define MLQ_CLI_CMD_WORKERSET_H

#include "client.h"

/* Runs it with argv[0] = "set"; returns the exit code. */
int mlq_cmd_admin_worker_set(struct mlq_cli *cli, int argc, char **argv);

#endif
