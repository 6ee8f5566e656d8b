/* cmd_logs: `mlq logs JOB [-f] [--stderr]`, streaming a job's output. */
#ifndef MLQ_CLI_CMD_LOGS_H
#define MLQ_CLI_CMD_LOGS_H

#include "client.h"

/* Returns the exit code. */
int mlq_cmd_logs(struct mlq_cli *cli, int argc, char **argv);

#endif
