/* cmd_keys: `mlq keygen [--out FILE] [--force]`, a CURVE key pair for a
 * user (or anyone) to talk to a scheduler that requires keys. */
#ifndef MLQ_CLI_CMD_KEYS_H
#define MLQ_CLI_CMD_KEYS_H

#include <stdbool.h>

#include "client.h"

/* Writes a fresh key pair to path (0600) and path.pub (0644), creating a
 * missing parent directory with mode 0700. Refuses a path ending in ".pub"
 * (MLQ_EINVAL) and, unless force, existing files (MLQ_ESTATE). */
int mlq_cli_keygen_write(const char *path, bool force, struct mlq_err *err);

/* Whom a key written to path is most likely for, from its file name: "worker"
 * when the name says so (worker.key, worker-gpu3.key), else "user"; that is
 * the `mlq admin KIND add` command to suggest. */
const char *mlq_cli_keygen_kind(const char *path);

/* Runs `mlq keygen`; returns the exit code. */
int mlq_cmd_keygen(struct mlq_cli *cli, int argc, char **argv);

#endif
