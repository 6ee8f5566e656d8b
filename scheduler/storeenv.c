/* storeenv: the rows of the envs table (schema v20), environments that
 * many jobs share. See store.h for the API; the invariants of store.c hold
 * here.
 *
 * A row holds one environment as its entries, each followed by a NUL byte
 * (no entry holds a NUL: the wire refuses them), under the SHA-256 of those
 * bytes. Putting an environment that is already stored adds references to
 * the row instead of a copy; the stored bytes are compared too, so two
 * environments with the same hash can never be confused (the second one is
 * refused and its jobs keep their own copies). refs counts the job rows
 * naming the row (jobs.env_id); retention takes one off per purged job and
 * deletes the row with the last. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "mpk.h"
#include "storeint.h"
#include "tokens.h"

enum estmt { E_PUT, E_GET, E_RELEASE, E_GC, E_REFS, E_COUNT };

static const char *const esql[E_COUNT] = {
    /* The WHERE makes a hash collision return no row rather than the other
     * environment's id. */
    [E_PUT] = "INSERT INTO envs (hash, env, refs) VALUES (?1, ?2, ?3)"
              " ON CONFLICT (hash) DO UPDATE SET refs = refs + excluded.refs"
              " WHERE env = excluded.env RETURNING id",
    [E_GET] = "SELECT env FROM envs WHERE id = ?1",
    [E_RELEASE] = "UPDATE envs SET refs = refs - 1 WHERE id = ?1",
    [E_GC] = "DELETE FROM envs WHERE id = ?1 AND refs <= 0",
    [E_REFS] = "SELECT refs FROM envs WHERE id = ?1",
};

struct mlq_storeenv {
    sqlite3_stmt *stmt[E_COUNT];
};

int mlq_storeenv_open(sqlite3 *db, struct mlq_storeenv **out, struct mlq_err *err)
{
    struct mlq_storeenv *p = calloc(1, sizeof *p);
    *out = NULL;
    if (!p)
        return mlq_err_set(err, MLQ_ENOMEM, "preparing statements: out of memory");
    int rc = mlq_storei_prepare(db, esql, E_COUNT, p->stmt, err);
    if (rc < 0) {
        free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void mlq_storeenv_close(struct mlq_storeenv **pp)
{
    if (!pp || !*pp)
        return;
    mlq_storei_finalize((*pp)->stmt, E_COUNT);
    free(*pp);
    *pp = NULL;
}

static sqlite3_stmt *stmt(struct mlq_store *st, enum estmt i)
{
    return mlq_storei_env(st)->stmt[i];
}

/* The entries of env, each followed by a NUL, in one malloc'd buffer. */
static int env_bytes(char *const *env, uint32_t envc, char **out, size_t *len, struct mlq_err *err)
{
    size_t n = 0;
    for (uint32_t i = 0; i < envc; i++)
        n += strlen(env[i]) + 1;
    char *b = malloc(n ? n : 1);
    if (!b)
        return mlq_err_set(err, MLQ_ENOMEM, "storing an environment: out of memory");
    size_t off = 0;
    for (uint32_t i = 0; i < envc; i++) {
        size_t l = strlen(env[i]) + 1;
        memcpy(b + off, env[i], l);
        off += l;
    }
    *out = b;
    *len = n;
    return 0;
}

static int put_row(struct mlq_store *st, const char *hash, const char *b, size_t len, uint32_t refs,
                   int64_t *id, struct mlq_err *err)
{
    sqlite3_stmt *s = stmt(st, E_PUT);
    int rc = sqlite3_bind_text(s, 1, hash, -1, SQLITE_STATIC);
    rc |= sqlite3_bind_blob64(s, 2, b, len, SQLITE_STATIC);
    rc |= sqlite3_bind_int64(s, 3, refs);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "storing an environment");
    }
    rc = sqlite3_step(s);
    *id = rc == SQLITE_ROW ? sqlite3_column_int64(s, 0) : 0;
    if (rc == SQLITE_ROW)
        rc = 0;
    else if (rc == SQLITE_DONE)
        rc = mlq_err_set(err, MLQ_ESTATE, "another environment is stored under hash %.16s", hash);
    else
        rc = mlq_storei_db_err(st, err, "storing an environment");
    mlq_storei_finish(s);
    return rc;
}

int mlq_store_env_put(struct mlq_store *st, char *const *env, uint32_t envc, uint32_t refs,
                      int64_t *id, struct mlq_err *err)
{
    *id = 0;
    int rc = mlq_storei_tx_check(st, err);
    if (rc < 0)
        return rc;
    char *b = NULL;
    size_t len = 0;
    if ((rc = env_bytes(env, envc, &b, &len, err)) < 0)
        return rc;
    char hash[MLQ_TOKEN_HASH_HEX + 1];
    if (mlq_tokens_hash(b, len, hash) < 0)
        rc = mlq_err_set(err, MLQ_EIO, "storing an environment: hashing failed");
    if (rc == 0)
        rc = put_row(st, hash, b, len, refs, id, err);
    free(b);
    return rc;
}

/* Splits a stored environment into a vector, within the bounds a job's
 * environment has on the wire. */
static int env_split(const char *b, size_t len, char ***out, uint32_t *n, struct mlq_err *err)
{
    if (len > MLQ_MAX_ENV_BYTES + MLQ_MAX_ENVC || (len > 0 && b[len - 1] != '\0'))
        return mlq_err_set(err, MLQ_EDB, "stored environment unreadable");
    uint32_t count = 0;
    for (size_t i = 0; i < len; i++)
        count += b[i] == '\0';
    if (count > MLQ_MAX_ENVC)
        return mlq_err_set(err, MLQ_EDB, "stored environment has %u entries", count);
    char **v = count ? calloc(count, sizeof *v) : NULL;
    if (count && !v)
        return mlq_err_set(err, MLQ_ENOMEM, "loading an environment: out of memory");
    size_t off = 0;
    for (uint32_t i = 0; i < count; i++) {
        size_t l = strlen(b + off);
        if (l > MLQ_MAX_ENV_ENTRY || !(v[i] = strdup(b + off))) {
            mlq_mpk_strv_free(v, i);
            return l > MLQ_MAX_ENV_ENTRY
                       ? mlq_err_set(err, MLQ_EDB, "stored environment entry too long")
                       : mlq_err_set(err, MLQ_ENOMEM, "loading an environment: out of memory");
        }
        off += l + 1;
    }
    *out = v;
    *n = count;
    return 0;
}

int mlq_store_env_get(struct mlq_store *st, int64_t id, char ***env, uint32_t *envc,
                      struct mlq_err *err)
{
    *env = NULL;
    *envc = 0;
    char none[64];
    snprintf(none, sizeof none, "no stored environment %lld", (long long)id);
    sqlite3_stmt *s = stmt(st, E_GET);
    int rc = mlq_storei_step_int(st, s, id, "loading an environment", none, err);
    if (rc <= 0)
        return rc;
    const char *b = sqlite3_column_blob(s, 0);
    size_t len = (size_t)sqlite3_column_bytes(s, 0);
    rc = !b && len > 0 ? mlq_err_set(err, MLQ_ENOMEM, "loading an environment: out of memory")
                       : env_split(b, len, env, envc, err);
    mlq_storei_finish(s);
    return rc;
}

static int exec_id(struct mlq_store *st, enum estmt i, int64_t id, const char *what,
                   struct mlq_err *err)
{
    sqlite3_stmt *s = stmt(st, i);
    return mlq_storei_exec_bound(st, s, sqlite3_bind_int64(s, 1, id), what, err);
}

int mlq_storei_env_release(struct mlq_store *st, int64_t id, struct mlq_err *err)
{
    int rc = exec_id(st, E_RELEASE, id, "releasing an environment", err);
    return rc < 0 ? rc : exec_id(st, E_GC, id, "deleting an environment", err);
}

int mlq_store_env_refs(struct mlq_store *st, int64_t id, int64_t *refs, struct mlq_err *err)
{
    *refs = 0;
    sqlite3_stmt *s = stmt(st, E_REFS);
    int rc = mlq_storei_step_int(st, s, id, "reading an environment", "no stored environment", err);
    if (rc <= 0)
        return rc;
    *refs = sqlite3_column_int64(s, 0);
    mlq_storei_finish(s);
    return 0;
}
