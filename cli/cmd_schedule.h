/* cmd_schedule: `mlq schedule add|list|show|pause|resume|rm|run-now`:
 * recurring submissions on a cron expression, kept by the scheduler. */
#ifndef MLQ_CLI_CMD_SCHEDULE_H
#define MLQ_CLI_CMD_SCHEDULE_H

#include "client.h"
#include "cmd_submit.h"
#include "err.h"
#include "proto.h"

/* Parses `schedule add NAME --cron EXPR [--timezone TZ] [--catch-up DUR]
 * [--concurrency allow|skip|replace] [submit options] [--] CMD...`; argv[0]
 * is NAME. Fills *out (free with mlq_proto_scheduleinfo_free()): the cron
 * expression and time zone are checked here with the parsers the scheduler
 * uses (MLQ_EINVAL with their message), catch-up defaults to 1h,
 * concurrency to skip. --idempotency-key is refused (every run would be the
 * first one). MLQ_CLI_EUSAGE for a missing NAME, --cron or command. */
int mlq_cli_schedule_parse_add(int argc, char **argv, struct mlq_scheduleinfo *out,
                               struct mlq_cli_submit_opts *opts, struct mlq_err *err);

int mlq_cmd_schedule(struct mlq_cli *cli, int argc, char **argv);

#endif
