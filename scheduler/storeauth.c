/* storeauth: the principals table (schema v5): the keys the scheduler
 * accepts, and whose they are. See store.h for the API and storeint.h for
 * what it shares with store.c, whose invariants hold here.
 *
 * A key belongs to at most one principal (UNIQUE in the schema). Saving a
 * key that another principal holds is refused rather than left to
 * "INSERT OR REPLACE", which would silently delete the other row. Every
 * change appends an event, which carries the actor set by the scheduler. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "keys.h"
#include "storeint.h"

enum astmt { A_SAVE, A_KEY_OWNER, A_DELETE, A_EACH, A_COUNT };

static const char *const asql[A_COUNT] = {
    [A_SAVE] = "INSERT INTO principals (kind, name, role, key, added_ms) VALUES (?1, ?2, ?3, ?4,"
               " ?5) ON CONFLICT(kind, name) DO UPDATE SET role = excluded.role,"
               " key = excluded.key, added_ms = excluded.added_ms",
    [A_KEY_OWNER] = "SELECT kind, name FROM principals WHERE key = ?1",
    [A_DELETE] = "DELETE FROM principals WHERE kind = ?1 AND name = ?2 RETURNING role",
    [A_EACH] = "SELECT kind, name, role, key, added_ms, team FROM principals ORDER BY kind, name",
};

struct mlq_storeauth {
    sqlite3_stmt *stmt[A_COUNT];
};

int mlq_storeauth_open(sqlite3 *db, struct mlq_storeauth **out, struct mlq_err *err)
{
    struct mlq_storeauth *p = calloc(1, sizeof *p);
    *out = NULL;
    if (!p)
        return mlq_err_set(err, MLQ_ENOMEM, "preparing statements: out of memory");
    int rc = mlq_storei_prepare(db, asql, A_COUNT, p->stmt, err);
    if (rc < 0) {
        free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void mlq_storeauth_close(struct mlq_storeauth **pp)
{
    if (!pp || !*pp)
        return;
    mlq_storei_finalize((*pp)->stmt, A_COUNT);
    free(*pp);
    *pp = NULL;
}

static sqlite3_stmt *stmt(struct mlq_store *st, enum astmt i)
{
    return mlq_storei_auth(st)->stmt[i];
}

/* ---- principals ------------------------------------------------------- */

static bool kind_ok(const char *kind)
{
    return strcmp(kind, "user") == 0 || strcmp(kind, "worker") == 0;
}

/* kind "user" holds users and admins, kind "worker" workers only. */
static bool role_fits(const char *kind, const char *role)
{
    if (strcmp(kind, "worker") == 0)
        return strcmp(role, "worker") == 0;
    return strcmp(role, "user") == 0 || strcmp(role, "admin") == 0;
}

static int check_principal(const struct mlq_store_principal *p, struct mlq_err *err)
{
    struct mlq_err e;
    if (!memchr(p->kind, '\0', sizeof p->kind) || !kind_ok(p->kind))
        return mlq_err_set(err, MLQ_EINVAL, "principal kind must be user or worker");
    if (!memchr(p->role, '\0', sizeof p->role) || !role_fits(p->kind, p->role))
        return mlq_err_set(err, MLQ_EINVAL, "role of a %s must be %s", p->kind,
                           strcmp(p->kind, "worker") == 0 ? "worker" : "user or admin");
    if (!memchr(p->name, '\0', sizeof p->name))
        return mlq_err_set(err, MLQ_EINVAL, "principal name: longer than %zu bytes",
                           sizeof p->name - 1);
    if (mlq_proto_principal_name_check(p->name, &e) < 0)
        return mlq_err_set(err, MLQ_EINVAL, "principal name: %s", e.msg);
    if (!memchr(p->key, '\0', sizeof p->key) || !mlq_keys_z85_valid(p->key))
        return mlq_err_set(err, MLQ_EINVAL, "key of %s %s is not a z85 public key", p->kind,
                           p->name);
    return 0;
}

/* Refuses a key that another principal holds already. */
static int check_key_free(struct mlq_store *st, const struct mlq_store_principal *p,
                          struct mlq_err *err)
{
    sqlite3_stmt *s = stmt(st, A_KEY_OWNER);
    int rc = sqlite3_bind_text(s, 1, p->key, -1, SQLITE_STATIC);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "saving key");
    }
    int ret = 0;
    char kind[8], name[MLQ_MAX_NAME + 1];
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        int crc = mlq_storei_col_fixed(s, 0, kind, sizeof kind);
        if (crc == 0)
            crc = mlq_storei_col_fixed(s, 1, name, sizeof name);
        if (crc < 0)
            ret = mlq_storei_row_err(crc, err, "saving key");
        else if (strcmp(kind, p->kind) != 0 || strcmp(name, p->name) != 0)
            ret =
                mlq_err_set(err, MLQ_EINVAL, "this key is already registered to %s %s", kind, name);
    } else if (rc != SQLITE_DONE) {
        ret = mlq_storei_db_err(st, err, "saving key");
    }
    mlq_storei_finish(s);
    return ret;
}

static int principal_write(struct mlq_store *st, const struct mlq_store_principal *p,
                           struct mlq_err *err)
{
    sqlite3_stmt *s = stmt(st, A_SAVE);
    int64_t added = p->added_ms > 0 ? p->added_ms : mlq_clock_wall_ms();
    int rc = sqlite3_bind_text(s, 1, p->kind, -1, SQLITE_STATIC);
    rc |= sqlite3_bind_text(s, 2, p->name, -1, SQLITE_STATIC);
    rc |= sqlite3_bind_text(s, 3, p->role, -1, SQLITE_STATIC);
    rc |= sqlite3_bind_text(s, 4, p->key, -1, SQLITE_STATIC);
    rc |= sqlite3_bind_int64(s, 5, added);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "saving key");
    }
    return mlq_storei_exec_stmt(st, s, "saving key", err);
}

int mlq_store_principal_save(struct mlq_store *st, const struct mlq_store_principal *p,
                             struct mlq_err *err)
{
    int rc = check_principal(p, err);
    if (rc < 0)
        return rc;
    char detail[sizeof p->role + sizeof p->name + 1];
    snprintf(detail, sizeof detail, "%s %s", p->role, p->name);
    rc = mlq_storei_op_begin(st, err);
    if (rc < 0)
        return rc;
    rc = check_key_free(st, p, err);
    if (rc == 0)
        rc = principal_write(st, p, err);
    if (rc == 0)
        rc = mlq_store_event_add(st, "key_added", NULL, NULL,
                                 strcmp(p->kind, "worker") == 0 ? p->name : NULL, detail, err);
    return mlq_storei_op_end(st, rc, err);
}

/* Deletes the row; *role receives its role. */
static int principal_unlink(struct mlq_store *st, const char *kind, const char *name, char role[8],
                            struct mlq_err *err)
{
    sqlite3_stmt *s = stmt(st, A_DELETE);
    int rc = sqlite3_bind_text(s, 1, kind, -1, SQLITE_STATIC);
    rc |= sqlite3_bind_text(s, 2, name, -1, SQLITE_STATIC);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "removing key");
    }
    int ret = 0;
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        int crc = mlq_storei_col_fixed(s, 0, role, 8);
        ret = crc < 0 ? mlq_storei_row_err(crc, err, "removing key") : 0;
        rc = sqlite3_step(s); /* completes the DELETE */
    } else if (rc == SQLITE_DONE) {
        ret = mlq_err_set(err, MLQ_ENOTFOUND, "no %s named %s", kind, name);
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = mlq_storei_db_err(st, err, "removing key");
    mlq_storei_finish(s);
    return ret;
}

int mlq_store_principal_delete(struct mlq_store *st, const char *kind, const char *name,
                               struct mlq_err *err)
{
    struct mlq_err e;
    char role[8] = "", detail[8 + MLQ_MAX_NAME + 2];
    if (!kind || !kind_ok(kind))
        return mlq_err_set(err, MLQ_EINVAL, "principal kind must be user or worker");
    if (!name || mlq_proto_principal_name_check(name, &e) < 0)
        return mlq_err_set(err, MLQ_EINVAL, "principal name: %s", name ? e.msg : "missing");
    int rc = mlq_storei_op_begin(st, err);
    if (rc < 0)
        return rc;
    rc = principal_unlink(st, kind, name, role, err);
    snprintf(detail, sizeof detail, "%s %s", role, name);
    if (rc == 0)
        rc = mlq_store_event_add(st, "key_removed", NULL, NULL,
                                 strcmp(kind, "worker") == 0 ? name : NULL, detail, err);
    return mlq_storei_op_end(st, rc, err);
}

static int principal_from_row(sqlite3_stmt *s, struct mlq_store_principal *p, struct mlq_err *err)
{
    memset(p, 0, sizeof *p);
    int rc = mlq_storei_col_fixed(s, 0, p->kind, sizeof p->kind);
    if (rc == 0)
        rc = mlq_storei_col_fixed(s, 1, p->name, sizeof p->name);
    if (rc == 0)
        rc = mlq_storei_col_fixed(s, 2, p->role, sizeof p->role);
    if (rc == 0)
        rc = mlq_storei_col_fixed(s, 3, p->key, sizeof p->key);
    p->added_ms = sqlite3_column_int64(s, 4);
    if (rc == 0)
        rc = mlq_storei_col_fixed(s, 5, p->team, sizeof p->team);
    return rc < 0 ? mlq_storei_row_err(rc, err, "loading keys") : 0;
}

int mlq_store_each_principal(struct mlq_store *st, mlq_store_principal_fn fn, void *ctx,
                             struct mlq_err *err)
{
    sqlite3_stmt *s = stmt(st, A_EACH);
    int ret = mlq_storei_walk_start(s, err);
    if (ret < 0)
        return ret;
    int rc = SQLITE_DONE;
    while (ret == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct mlq_store_principal p;
        ret = principal_from_row(s, &p, err);
        if (ret == 0)
            ret = fn(&p, ctx);
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = mlq_storei_db_err(st, err, "loading keys");
    mlq_storei_finish(s);
    return ret;
}
