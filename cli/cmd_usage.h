/* cmd_usage: `mlq usage [--since WHEN] [--until WHEN] [--by GROUP]
 * [--json|--csv]`: what ran, per user, team, project, pool or GPU type:
 * allocated CPU- and GPU-hours, runs by outcome, mean queue wait, and the
 * idle share of GPU time where workers measured it. Users see their own
 * jobs' usage; admins everyone's. */
#ifndef MLQ_CLI_CMD_USAGE_H
#define MLQ_CLI_CMD_USAGE_H

#include "client.h"

int mlq_cmd_usage(struct mlq_cli *cli, int argc, char **argv);

#endif
