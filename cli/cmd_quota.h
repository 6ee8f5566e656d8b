/* cmd_quota: quotas per team and pool, for admins:
 *   mlq admin quota set TEAM [--pool P] [--gpus N] [--cpus N] [--mem SIZE]
 *       [--borrow-gpus N] [--borrow-cpus N] [--borrow-mem SIZE]
 *       [--user-max-running N] [--user-max-gpus N] [--json]
 *   mlq admin quota show [TEAM] [--pool P] [--json]
 *   mlq admin quota rm TEAM [--pool P] */
#ifndef MLQ_CLI_CMD_QUOTA_H
#define MLQ_CLI_CMD_QUOTA_H

#include <stdint.h>

#include "client.h"

/* argv[0] "admin", argv[1] "quota". Returns the exit code. */
int mlq_cmd_admin_quota(struct mlq_cli *cli, int argc, char **argv);
/* "2", "0.5", "2.25" -> hundredths of a GPU (0 allowed); MLQ_EINVAL naming
 * opt and the text otherwise. */
int mlq_cli_parse_quota_gpus(const char *opt, const char *s, int64_t *out, struct mlq_err *err);

#endif
