/* cmd_cluster: `mlq up` and `mlq down`, a whole local cluster (scheduler and
 * workers) on this machine. Each returns the exit code. */
#ifndef MLQ_CLI_CMD_CLUSTER_H
#define MLQ_CLI_CMD_CLUSTER_H

#include "client.h"

int mlq_cmd_up(struct mlq_cli *cli, int argc, char **argv);
int mlq_cmd_down(struct mlq_cli *cli, int argc, char **argv);

#endif
