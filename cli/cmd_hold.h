/* cmd_hold: `mlq hold`, `mlq release` and `mlq update`: changes to jobs
 * that have not started (see docs/user-guide.md, "Holding and updating a
 * pending job"). */
#ifndef MLQ_CMD_HOLD_H
#define MLQ_CMD_HOLD_H

#include "client.h"

int mlq_cmd_hold(struct mlq_cli *cli, int argc, char **argv);
int mlq_cmd_release(struct mlq_cli *cli, int argc, char **argv);
int mlq_cmd_update(struct mlq_cli *cli, int argc, char **argv);

#endif
