/* cmd_admin: key registry commands for admins:
 *   mlq admin user add NAME --key FILE.pub [--admin]
 *   mlq admin user rm NAME
 *   mlq admin worker add NAME --key FILE.pub
 *   mlq admin worker rm NAME
 *   mlq admin users [--json]
 * The scheduler refuses them unless the caller's key has the admin role. */
#ifndef MLQ_CLI_CMD_ADMIN_H
#define MLQ_CLI_CMD_ADMIN_H

#include <jansson.h>
#include <stdbool.h>
#include <stdio.h>

#include "client.h"
#include "proto.h"

/* Reads the public key file an admin was given. A path without ".pub"
 * that has a PATH.pub beside it is refused (MLQ_EINVAL): it is almost
 * certainly someone's secret key. */
int mlq_cli_admin_read_pub(const char *path, char out[MLQ_KEY_Z85_LEN + 1], struct mlq_err *err);

/* The table of `mlq admin users`: NAME, ROLE, KEY, ADDED (local time),
 * users sorted by role then name. 0 or MLQ_EIO / MLQ_ENOMEM. */
int mlq_cli_users_print(FILE *f, struct mlq_userinfo *u, uint32_t n, bool colour);
/* {"users": [{"name", "role", "key", "added" (ISO 8601 UTC or null)}]}.
 * New reference; NULL when out of memory. */
json_t *mlq_cli_users_json(const struct mlq_userinfo *u, uint32_t n);

/* Runs `mlq admin ...`; returns the exit code. */
int mlq_cmd_admin(struct mlq_cli *cli, int argc, char **argv);

#endif
