/* storetoken: the tokens table (schema v8): bearer tokens of the HTTP API,
 * kept as the SHA-256 of the token only. See store.h for the API; the
 * invariants of store.c hold here (statements prepared once, bindings
 * cleared after use, multi-row writes in a savepoint). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storeint.h"

enum tstmt { T_ADD, T_DELETE, T_BY_HASH, T_EACH, T_COUNT };

static const char *const tsql[T_COUNT] = {
    [T_ADD] = "INSERT INTO tokens (name, principal, role, hash, created_ms, expires_ms)"
              " VALUES (?1, ?2, ?3, ?4, ?5, ?6) ON CONFLICT DO NOTHING RETURNING name",
    [T_DELETE] = "DELETE FROM tokens WHERE name = ?1 RETURNING principal",
    [T_BY_HASH] = "SELECT name, principal, role, hash, created_ms, expires_ms FROM tokens"
                  " WHERE hash = ?1",
    [T_EACH] = "SELECT name, principal, role, hash, created_ms, expires_ms FROM tokens"
               " ORDER BY name",
};

struct mlq_storetoken {
    sqlite3_stmt *stmt[T_COUNT];
};

int mlq_storetoken_open(sqlite3 *db, struct mlq_storetoken **out, struct mlq_err *err)
{
    struct mlq_storetoken *p = calloc(1, sizeof *p);
    *out = NULL;
    if (!p)
        return mlq_err_set(err, MLQ_ENOMEM, "preparing statements: out of memory");
    int rc = mlq_storei_prepare(db, tsql, T_COUNT, p->stmt, err);
    if (rc < 0) {
        free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void mlq_storetoken_close(struct mlq_storetoken **pp)
{
    if (!pp || !*pp)
        return;
    mlq_storei_finalize((*pp)->stmt, T_COUNT);
    free(*pp);
    *pp = NULL;
}

static sqlite3_stmt *stmt(struct mlq_store *st, enum tstmt i)
{
    return mlq_storei_token(st)->stmt[i];
}

int mlq_store_token_add(struct mlq_store *st, const struct mlq_store_token *t, struct mlq_err *err)
{
    int rc = mlq_storei_op_begin(st, err);
    if (rc < 0)
        return rc;
    sqlite3_stmt *s = stmt(st, T_ADD);
    int b = sqlite3_bind_text(s, 1, t->name, -1, SQLITE_STATIC);
    b |= sqlite3_bind_text(s, 2, t->principal, -1, SQLITE_STATIC);
    b |= sqlite3_bind_text(s, 3, t->role, -1, SQLITE_STATIC);
    b |= sqlite3_bind_text(s, 4, t->hash, -1, SQLITE_STATIC);
    b |= sqlite3_bind_int64(s, 5, t->created_ms);
    b |= sqlite3_bind_int64(s, 6, t->expires_ms);
    if (b != SQLITE_OK) {
        mlq_storei_finish(s);
        rc = mlq_storei_bind_err(b, err, "adding token");
    } else {
        int step = sqlite3_step(s);
        if (step == SQLITE_ROW)
            step = sqlite3_step(s);
        else if (step == SQLITE_DONE)
            rc = mlq_err_set(err, MLQ_ESTATE, "a token named %s exists; remove it first", t->name);
        if (rc == 0 && step != SQLITE_DONE)
            rc = mlq_storei_db_err(st, err, "adding token");
        mlq_storei_finish(s);
    }
    if (rc == 0) {
        char detail[2 * MLQ_MAX_NAME + 16];
        snprintf(detail, sizeof detail, "%s for %s %s", t->name, t->role, t->principal);
        rc = mlq_store_event_add(st, "token_added", NULL, NULL, NULL, detail, err);
    }
    return mlq_storei_op_end(st, rc, err);
}

int mlq_store_token_delete(struct mlq_store *st, const char *name, struct mlq_err *err)
{
    int rc = mlq_storei_op_begin(st, err);
    if (rc < 0)
        return rc;
    sqlite3_stmt *s = stmt(st, T_DELETE);
    if (sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC) != SQLITE_OK) {
        mlq_storei_finish(s);
        rc = mlq_storei_bind_err(SQLITE_ERROR, err, "removing token");
    } else {
        int step = sqlite3_step(s);
        if (step == SQLITE_ROW)
            step = sqlite3_step(s);
        else if (step == SQLITE_DONE)
            rc = mlq_err_set(err, MLQ_ENOTFOUND, "no token named %s", name);
        if (rc == 0 && step != SQLITE_DONE)
            rc = mlq_storei_db_err(st, err, "removing token");
        mlq_storei_finish(s);
    }
    if (rc == 0)
        rc = mlq_store_event_add(st, "token_removed", NULL, NULL, NULL, name, err);
    return mlq_storei_op_end(st, rc, err);
}

static int read_row(sqlite3_stmt *s, struct mlq_store_token *t)
{
    memset(t, 0, sizeof *t);
    int rc = mlq_storei_col_fixed(s, 0, t->name, sizeof t->name);
    if (rc == 0)
        rc = mlq_storei_col_fixed(s, 1, t->principal, sizeof t->principal);
    if (rc == 0)
        rc = mlq_storei_col_fixed(s, 2, t->role, sizeof t->role);
    if (rc == 0)
        rc = mlq_storei_col_fixed(s, 3, t->hash, sizeof t->hash);
    t->created_ms = sqlite3_column_int64(s, 4);
    t->expires_ms = sqlite3_column_int64(s, 5);
    return rc;
}

int mlq_store_token_by_hash(struct mlq_store *st, const char *hash, struct mlq_store_token *out,
                            struct mlq_err *err)
{
    sqlite3_stmt *s = stmt(st, T_BY_HASH);
    if (sqlite3_bind_text(s, 1, hash, -1, SQLITE_STATIC) != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(SQLITE_ERROR, err, "reading token");
    }
    int rc, step = sqlite3_step(s);
    if (step == SQLITE_ROW) {
        rc = read_row(s, out);
        if (rc < 0)
            rc = mlq_storei_row_err(rc, err, "reading token");
    } else if (step == SQLITE_DONE) {
        rc = mlq_err_set(err, MLQ_ENOTFOUND, "no such token");
    } else {
        rc = mlq_storei_db_err(st, err, "reading token");
    }
    mlq_storei_finish(s);
    return rc;
}

int mlq_store_token_each(struct mlq_store *st, mlq_store_token_fn fn, void *ctx,
                         struct mlq_err *err)
{
    sqlite3_stmt *s = stmt(st, T_EACH);
    int rc = mlq_storei_walk_start(s, err);
    if (rc < 0)
        return rc;
    int step;
    while (rc == 0 && (step = sqlite3_step(s)) == SQLITE_ROW) {
        struct mlq_store_token t;
        rc = read_row(s, &t);
        if (rc < 0)
            rc = mlq_storei_row_err(rc, err, "listing tokens");
        else
            rc = fn(&t, ctx);
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = mlq_storei_db_err(st, err, "listing tokens");
    mlq_storei_finish(s);
    return rc;
}
