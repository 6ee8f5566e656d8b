/* storeworker: the workers table (each worker as it last registered, its
 * pool and an admin's drain; forgetting one with `mlq admin worker rm`) and
 * the worker_overrides table (schema v9): what admins set on a worker with
 * `mlq admin worker set`. See store.h for the API; the invariants of store.c
 * hold here (statements prepared once, bindings cleared after use). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storeint.h"

enum wstmt { W_ROW_SAVE, W_ROW_EACH, W_ROW_DELETE, W_SAVE, W_DELETE, W_EACH, W_COUNT };

static const char *const wsql[W_COUNT] = {
    [W_ROW_SAVE] = "INSERT INTO workers (name, cpus_m, mem, gpus, first_seen_ms,"
                   " last_seen_ms, pool, drained, drain_reason) VALUES (?1, ?2, ?3, ?4, ?5,"
                   " ?6, ?7, ?8, ?9) ON CONFLICT(name) DO UPDATE SET cpus_m = excluded.cpus_m,"
                   " mem = excluded.mem, gpus = excluded.gpus,"
                   " last_seen_ms = excluded.last_seen_ms, pool = excluded.pool,"
                   " drained = excluded.drained, drain_reason = excluded.drain_reason",
    [W_ROW_EACH] = "SELECT name, cpus_m, mem, gpus, first_seen_ms, last_seen_ms, pool,"
                   " drained, drain_reason FROM workers ORDER BY name",
    [W_ROW_DELETE] = "DELETE FROM workers WHERE name = ?1",
    [W_SAVE] = "INSERT INTO worker_overrides (worker, pool, clear_labels, labels, cpus_m, mem,"
               " gpus, gpu_type) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)"
               " ON CONFLICT (worker) DO UPDATE SET pool = ?2, clear_labels = ?3, labels = ?4,"
               " cpus_m = ?5, mem = ?6, gpus = ?7, gpu_type = ?8",
    [W_DELETE] = "DELETE FROM worker_overrides WHERE worker = ?1",
    [W_EACH] = "SELECT worker, pool, clear_labels, labels, cpus_m, mem, gpus, gpu_type"
               " FROM worker_overrides ORDER BY worker",
};

struct mlq_storeworker {
    sqlite3_stmt *stmt[W_COUNT];
};

int mlq_storeworker_open(sqlite3 *db, struct mlq_storeworker **out, struct mlq_err *err)
{
    struct mlq_storeworker *p = calloc(1, sizeof *p);
    *out = NULL;
    if (!p)
        return mlq_err_set(err, MLQ_ENOMEM, "preparing statements: out of memory");
    int rc = mlq_storei_prepare(db, wsql, W_COUNT, p->stmt, err);
    if (rc < 0) {
        free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void mlq_storeworker_close(struct mlq_storeworker **pp)
{
    if (!pp || !*pp)
        return;
    mlq_storei_finalize((*pp)->stmt, W_COUNT);
    free(*pp);
    *pp = NULL;
}

static sqlite3_stmt *stmt(struct mlq_store *st, enum wstmt i)
{
    return mlq_storei_worker(st)->stmt[i];
}

/* ---- workers ------------------------------------------------------------ */

int mlq_store_worker_save(struct mlq_store *st, const struct mlq_store_worker *w,
                          struct mlq_err *err)
{
    if (!mlq_storei_fixed_ok(w->name, sizeof w->name) || !w->name[0])
        return mlq_err_set(err, MLQ_EINVAL, "worker row without a valid name");
    if (!mlq_storei_fixed_ok(w->pool, sizeof w->pool) ||
        !mlq_storei_fixed_ok(w->drain_reason, sizeof w->drain_reason))
        return mlq_err_set(err, MLQ_EINVAL, "worker %s: unterminated pool or drain reason",
                           w->name);
    int rc = mlq_storei_tx_check(st, err);
    if (rc < 0)
        return rc;
    sqlite3_stmt *s = stmt(st, W_ROW_SAVE);
    rc = sqlite3_bind_text(s, 1, w->name, -1, SQLITE_STATIC);
    rc |= sqlite3_bind_int64(s, 2, w->cpus_m);
    rc |= sqlite3_bind_int64(s, 3, w->mem);
    rc |= sqlite3_bind_int(s, 4, w->gpus);
    rc |= sqlite3_bind_int64(s, 5, w->first_seen_ms);
    rc |= sqlite3_bind_int64(s, 6, w->last_seen_ms);
    rc |= sqlite3_bind_text(s, 7, w->pool[0] ? w->pool : "default", -1, SQLITE_STATIC);
    rc |= sqlite3_bind_int(s, 8, w->drained ? 1 : 0);
    rc |= mlq_storei_bind_opt(s, 9, w->drain_reason);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "saving worker");
    }
    return mlq_storei_exec_stmt(st, s, "saving worker", err);
}

static int read_worker_row(sqlite3_stmt *s, struct mlq_store_worker *w, struct mlq_err *err)
{
    memset(w, 0, sizeof *w);
    if (mlq_storei_col_fixed(s, 0, w->name, sizeof w->name) < 0 ||
        mlq_storei_col_fixed(s, 6, w->pool, sizeof w->pool) < 0 ||
        mlq_storei_col_fixed(s, 8, w->drain_reason, sizeof w->drain_reason) < 0)
        return mlq_err_set(err, MLQ_EDB, "reading worker: corrupt row");
    if (!w->pool[0]) /* NOT NULL DEFAULT, but an empty string may still be stored */
        snprintf(w->pool, sizeof w->pool, "default");
    w->cpus_m = sqlite3_column_int64(s, 1);
    w->mem = sqlite3_column_int64(s, 2);
    w->gpus = sqlite3_column_int(s, 3);
    w->first_seen_ms = sqlite3_column_int64(s, 4);
    w->last_seen_ms = sqlite3_column_int64(s, 5);
    w->drained = sqlite3_column_int(s, 7) != 0;
    return 0;
}

int mlq_store_each_worker(struct mlq_store *st, mlq_store_worker_fn fn, void *ctx,
                          struct mlq_err *err)
{
    sqlite3_stmt *s = stmt(st, W_ROW_EACH);
    int ret = mlq_storei_walk_start(s, err);
    if (ret < 0)
        return ret;
    int rc = SQLITE_DONE;
    while (ret == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct mlq_store_worker w;
        ret = read_worker_row(s, &w, err);
        if (ret == 0)
            ret = fn(&w, ctx);
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = mlq_storei_db_err(st, err, "loading workers");
    mlq_storei_finish(s);
    return ret;
}

int mlq_store_worker_forget(struct mlq_store *st, const char *name, const char *detail,
                            struct mlq_err *err)
{
    struct mlq_err e;
    if (!name || mlq_proto_principal_name_check(name, &e) < 0)
        return mlq_err_set(err, MLQ_EINVAL, "worker name: %s", name ? e.msg : "missing");
    int rc = mlq_storei_op_begin(st, err);
    if (rc < 0)
        return rc;
    sqlite3_stmt *s = stmt(st, W_ROW_DELETE);
    rc = sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        rc = mlq_storei_bind_err(rc, err, "removing worker");
    } else {
        rc = mlq_storei_exec_stmt(st, s, "removing worker", err);
    }
    if (rc == 0) /* a worker that comes back later starts from what it reports */
        rc = mlq_store_override_delete(st, name, err);
    if (rc == 0)
        rc = mlq_store_event_add(st, "worker_removed", NULL, NULL, name, detail, err);
    return mlq_storei_op_end(st, rc, err);
}

/* ---- overrides ---------------------------------------------------------- */

/* Every label line checked as a label; at most MLQ_MAX_LABELS of them. */
static int check_labels(const char *labels, struct mlq_err *err)
{
    char one[MLQ_MAX_LABEL_LEN + 1];
    uint32_t n = 0;
    for (const char *p = labels; p && *p;) {
        size_t len = strcspn(p, "\n");
        if (len == 0 || len > MLQ_MAX_LABEL_LEN || ++n > MLQ_MAX_LABELS)
            return mlq_err_set(err, MLQ_EINVAL, "worker override: bad label list");
        memcpy(one, p, len);
        one[len] = '\0';
        struct mlq_err e;
        if (mlq_proto_label_check(one, &e) < 0)
            return mlq_err_set(err, MLQ_EINVAL, "worker override: label: %s", e.msg);
        p += len + (p[len] == '\n');
    }
    return 0;
}

static int check_override(const struct mlq_store_override *o, struct mlq_err *err)
{
    struct mlq_err e;
    if (!o->worker[0] || !memchr(o->worker, '\0', sizeof o->worker))
        return mlq_err_set(err, MLQ_EINVAL, "worker override without a valid worker name");
    if (o->pool[0] && mlq_proto_pool_check(o->pool, &e) < 0)
        return mlq_err_set(err, MLQ_EINVAL, "worker override: pool: %s", e.msg);
    if (o->gpu_type[0] && mlq_proto_gpu_type_check(o->gpu_type, &e) < 0)
        return mlq_err_set(err, MLQ_EINVAL, "worker override: GPU type: %s", e.msg);
    if (o->cpus_m < 0 || o->cpus_m > MLQ_MAX_CPUS_M || o->mem < 0 || o->mem > MLQ_MAX_MEM ||
        o->gpus < -1 || o->gpus > MLQ_MAX_GPUS)
        return mlq_err_set(err, MLQ_EINVAL, "worker override of %s: resources out of range",
                           o->worker);
    return check_labels(o->labels, err);
}

int mlq_store_override_save(struct mlq_store *st, const struct mlq_store_override *o,
                            struct mlq_err *err)
{
    int rc = check_override(o, err);
    if (rc < 0)
        return rc;
    sqlite3_stmt *s = stmt(st, W_SAVE);
    int b = sqlite3_bind_text(s, 1, o->worker, -1, SQLITE_STATIC);
    b |= mlq_storei_bind_opt(s, 2, o->pool);
    b |= sqlite3_bind_int(s, 3, o->clear_labels ? 1 : 0);
    b |= sqlite3_bind_text(s, 4, o->labels ? o->labels : "", -1, SQLITE_STATIC);
    b |= sqlite3_bind_int64(s, 5, o->cpus_m);
    b |= sqlite3_bind_int64(s, 6, o->mem);
    b |= sqlite3_bind_int(s, 7, o->gpus);
    b |= mlq_storei_bind_opt(s, 8, o->gpu_type);
    if (b != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(b, err, "saving worker override");
    }
    return mlq_storei_exec_stmt(st, s, "saving worker override", err);
}

int mlq_store_override_delete(struct mlq_store *st, const char *worker, struct mlq_err *err)
{
    sqlite3_stmt *s = stmt(st, W_DELETE);
    int b = sqlite3_bind_text(s, 1, worker ? worker : "", -1, SQLITE_STATIC);
    if (b != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(b, err, "removing worker override");
    }
    return mlq_storei_exec_stmt(st, s, "removing worker override", err);
}

/* One row; labels point into the statement (valid during the callback). */
static int read_override(sqlite3_stmt *s, struct mlq_store_override *o)
{
    memset(o, 0, sizeof *o);
    int rc = mlq_storei_col_fixed(s, 0, o->worker, sizeof o->worker);
    if (rc == 0)
        rc = mlq_storei_col_fixed(s, 1, o->pool, sizeof o->pool);
    if (rc == 0)
        rc = mlq_storei_col_fixed(s, 7, o->gpu_type, sizeof o->gpu_type);
    o->clear_labels = sqlite3_column_int(s, 2) != 0;
    o->labels = (const char *)sqlite3_column_text(s, 3);
    o->cpus_m = sqlite3_column_int64(s, 4);
    o->mem = sqlite3_column_int64(s, 5);
    o->gpus = sqlite3_column_int(s, 6);
    return rc;
}

int mlq_store_each_override(struct mlq_store *st, mlq_store_override_fn fn, void *ctx,
                            struct mlq_err *err)
{
    sqlite3_stmt *s = stmt(st, W_EACH);
    int ret = mlq_storei_walk_start(s, err);
    if (ret < 0)
        return ret;
    int rc = SQLITE_DONE;
    while (ret == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct mlq_store_override o;
        ret = read_override(s, &o);
        /* A row edited by hand into something invalid is refused at start,
         * not half applied. */
        if (ret < 0)
            ret = mlq_err_set(err, MLQ_EDB, "reading worker overrides: corrupt row");
        else if ((ret = check_override(&o, err)) == 0)
            ret = fn(&o, ctx);
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = mlq_storei_db_err(st, err, "loading worker overrides");
    mlq_storei_finish(s);
    return ret;
}
