/* uphttp: the HTTP part of `mlq up`: waits for the URL the scheduler wrote
 * (DIR/http.url, its --http port chosen by the kernel) and makes an admin
 * token for the user, replacing the one an earlier `up` made. */
#ifndef MLQ_CLI_UPHTTP_H
#define MLQ_CLI_UPHTTP_H

#include <stddef.h>

#include "client.h"
#include "proto.h"

/* url: 128 bytes; token: MLQ_TOKEN_SECRET_LEN + 1 bytes. */
int mlq_uphttp_token(struct mlq_cli *cli, const char *dir, const char *user, char *url,
                     size_t url_len, char *token, struct mlq_err *err);

#endif
