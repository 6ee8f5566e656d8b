/* tokens: bearer tokens of the HTTP API, on the loop thread.
 *
 * A token is "mlq_" and 64 hex digits (32 random bytes from getrandom);
 * the store keeps only its SHA-256 (hex), so a stolen database reveals no
 * token. `mlq admin token create` shows it once. Every HTTP request carries
 * the token's hash to the loop (the HTTP thread hashes, the loop looks up),
 * and the loop looks it up in the store each time, so a removed or expired
 * token stops working with the next request. */
#ifndef MLQ_TOKENS_H
#define MLQ_TOKENS_H

#include <stddef.h>

#include "client.h"
#include "ctx.h"

#define MLQ_TOKEN_HASH_HEX 64

/* SHA-256 of token (len bytes) as lower-case hex into out (65 bytes). */
int mlq_tokens_hash(const char *token, size_t len, char out[MLQ_TOKEN_HASH_HEX + 1]);

/* The identity ("user:alice", "admin:root") of the token with that hash,
 * into user_id (len bytes). MLQ_EAUTH when unknown or expired. */
int mlq_tokens_identity(struct mlq_ctx *c, const char *hash, char *user_id, size_t len,
                        struct mlq_err *err);

int mlq_tokens_on_create(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                         struct mlq_err *err);
int mlq_tokens_on_rm(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                     struct mlq_err *err);
int mlq_tokens_on_list(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                       struct mlq_err *err);

#endif
