/* cmd_usage: `mlq usage [--since WHEN] [--until WHEN] [--by GROUP]
 * [--json|--csv]`: what ran, per user, team, project, pool or GPU type:
 * allocated CPU- and GPU-hours, runs by outcome, mean queue wait, and the
 * idle share of GPU time where workers measured it. Users see their own
 * jobs' usage; admins everyone's. */
#ifndef MLQ_CLI_CMD_USAGE_H
#define MLQ_CLI_CMD_USAGE_H

#include <stdint.h>

#include "client.h"

int mlq_cmd_usage(struct mlq_cli *cli, int argc, char **argv);
/* WHEN as wall-clock ms: YYYY-MM-DD (midnight UTC), YYYY-MM-DDTHH:MM[:SS][Z]
 * (UTC), or a duration ago ("7d", "12h"). MLQ_EINVAL naming the text. */
int mlq_cli_usage_parse_when(const char *s, int64_t now_ms, int64_t *out, struct mlq_err *err);

#endif
