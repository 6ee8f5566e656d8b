/* cmd_backup: `mlq admin backup FILE` (admins only). The scheduler writes a
 * checked, consistent copy of its database to FILE, an absolute path on the
 * scheduler's host, while it keeps serving (docs/admin.md "Backup and
 * restore"). */
#ifndef MLQ_CLI_CMD_BACKUP_H
#define MLQ_CLI_CMD_BACKUP_H

#include "client.h"

/* argv[1] is "backup" (argv[0] "admin"); returns the exit code. */
int mlq_cmd_admin_backup(struct mlq_cli *cli, int argc, char **argv);

#endif
