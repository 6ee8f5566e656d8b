/* cmd_jobs: commands about jobs the user already submitted: `mlq status`,
 * `mlq list` and `mlq cancel` (`mlq wait` is in cmd_wait). Each returns the
 * exit code. */
#ifndef MLQ_CLI_CMD_JOBS_H
#define MLQ_CLI_CMD_JOBS_H

#include "client.h"

int mlq_cmd_status(struct mlq_cli *cli, int argc, char **argv);
int mlq_cmd_list(struct mlq_cli *cli, int argc, char **argv);
int mlq_cmd_cancel(struct mlq_cli *cli, int argc, char **argv);

#endif
