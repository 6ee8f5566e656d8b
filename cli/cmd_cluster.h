/* cmd_cluster: `mlq up`, `mlq down` (a whole local cluster on this machine)
 * and `mlq workers`. Each returns the exit code. */
#ifndef MLQ_CLI_CMD_CLUSTER_H
#define MLQ_CLI_CMD_CLUSTER_H

#include "client.h"

int mlq_cmd_up(struct mlq_cli *cli, int argc, char **argv);
int mlq_cmd_down(struct mlq_cli *cli, int argc, char **argv);
int mlq_cmd_workers(struct mlq_cli *cli, int argc, char **argv);

#endif
