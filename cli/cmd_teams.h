/* cmd_teams: teams, for admins:
 *   mlq admin team add NAME [--json]
 *   mlq admin team rm NAME
 *   mlq admin teams [--json]
 *   mlq admin user set NAME --team T | --no-team
 * (`mlq admin user add NAME --key F --team T` is in cmd_admin.) */
#ifndef MLQ_CLI_CMD_TEAMS_H
#define MLQ_CLI_CMD_TEAMS_H

#include "client.h"

/* argv[1] is "team", "teams" or "user" (then argv[2] "set"); argv[0]
 * "admin". Returns the exit code. */
int mlq_cmd_admin_team(struct mlq_cli *cli, int argc, char **argv);
/* MLQ_EINVAL naming the text unless it is a valid team name. */
int mlq_cli_team_name_check(const char *name, struct mlq_err *err);

#endif
