/* idemhash: see idemhash.h. */
#include "idemhash.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tokens.h"

_Static_assert(MLQ_TOKEN_HASH_HEX == MLQ_STORE_HASH_HEX, "one SHA-256 hex length");

static int cmp_str(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

int mlq_idemhash_spec(const struct mlq_jobspec *spec, char out[MLQ_STORE_HASH_HEX + 1],
                      struct mlq_err *err)
{
    struct mlq_jobspec c;
    int rc = mlq_proto_jobspec_copy(&c, spec, err);
    if (rc < 0)
        return rc;
    free(c.owner);
    free(c.idempotency_key);
    c.owner = c.idempotency_key = NULL;
    if (c.held_by) {
        c.held_by[0] = '\0';
        c.held_ms = 0;
    }
    if (c.envc > 1)
        qsort(c.env, c.envc, sizeof *c.env, cmp_str);
    char *blob = NULL;
    size_t len = 0;
    rc = mlq_proto_jobspec_pack(&c, &blob, &len, err);
    if (rc == 0 && mlq_tokens_hash(blob, len, out) < 0)
        rc = mlq_err_set(err, MLQ_EIO, "hashing the request failed");
    free(blob);
    mlq_proto_jobspec_free(&c);
    return rc;
}

int mlq_idemhash_chain(char acc[MLQ_STORE_HASH_HEX + 1], const struct mlq_jobspec *spec,
                       struct mlq_err *err)
{
    char pair[2 * MLQ_STORE_HASH_HEX + 1];
    size_t n = (size_t)snprintf(pair, sizeof pair, "%s", acc);
    int rc = mlq_idemhash_spec(spec, pair + n, err);
    if (rc == 0 && mlq_tokens_hash(pair, strlen(pair), acc) < 0)
        rc = mlq_err_set(err, MLQ_EIO, "hashing the request failed");
    return rc;
}

int mlq_idemhash_seen(struct mlq_store *st, const char *owner, const char *key, int64_t now_ms,
                      const char *hash, char id[MLQ_ID_LEN + 1], struct mlq_err *err)
{
    char was[MLQ_STORE_HASH_HEX + 1];
    if (mlq_store_idem_lookup(st, owner, key, now_ms, id, was, NULL) < 0)
        return 0;
    if (!was[0] || strcmp(was, hash) == 0)
        return 1;
    char full[MLQ_ID_LEN + 1];
    bool is_array = false;
    mlq_store_resolve(st, id, full, &is_array, NULL);
    return mlq_err_set(err, MLQ_EINVAL, "key %.128s was used for a different request (%s %.8s)",
                       key, is_array ? "array" : "job", id);
}
