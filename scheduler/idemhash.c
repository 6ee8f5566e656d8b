/* idemhash: see idemhash.h. */
#include "idemhash.h"

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
