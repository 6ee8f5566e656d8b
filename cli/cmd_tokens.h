/* cmd_tokens: bearer tokens of the HTTP API, for admins:
 *   mlq admin token create NAME [--admin] [--user PRINCIPAL] [--expires DUR]
 *   mlq admin token rm NAME
 *   mlq admin tokens [--json]
 * The token is printed once, by create; the scheduler keeps only its hash. */
#ifndef MLQ_CLI_CMD_TOKENS_H
#define MLQ_CLI_CMD_TOKENS_H

#include "client.h"

/* argv[1] is "token" or "tokens" (argv[0] "admin"); returns the exit code. */
int mlq_cmd_admin_token(struct mlq_cli *cli, int argc, char **argv);
/* Creates a token (principal = name when NULL) and copies it into out
 * (MLQ_TOKEN_SECRET_LEN + 1 bytes); for `mlq up`. */
int mlq_cli_token_create(struct mlq_cli *cli, const char *name, const char *principal, bool admin,
                         int64_t expires_in_ms, char *out, struct mlq_err *err);

#endif
