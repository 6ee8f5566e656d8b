/* storequota: the quotas table (schema v17). See store.h for the API and
 * storeint.h for what it shares with store.c, whose invariants hold here.
 *
 * Only what an admin set is stored, never the use: the scheduler derives
 * that from the live jobs (quota.h). A quota names an existing team; the
 * team's removal removes its quotas with it (storeteam.c), which cannot
 * strand a job since a team is removed only without live jobs. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storeint.h"

enum qstmt { Q_SET, Q_DEL, Q_DEL_TEAM, Q_ALL, Q_COUNT };

#define COLS                                                                                       \
    "team, pool, gpus_h, cpus_m, mem, borrow_gpus_h, borrow_cpus_m, borrow_mem, "                  \
    "user_max_running, user_max_gpus_h, gpu_types"

static const char *const qsql[Q_COUNT] = {
    [Q_SET] = "INSERT INTO quotas (" COLS ", updated_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
              " ?9, ?10, ?11, ?12) ON CONFLICT (team, pool) DO UPDATE SET gpus_h = ?3,"
              " cpus_m = ?4, mem = ?5, borrow_gpus_h = ?6, borrow_cpus_m = ?7, borrow_mem = ?8,"
              " user_max_running = ?9, user_max_gpus_h = ?10, gpu_types = ?11, updated_ms = ?12",
    [Q_DEL] = "DELETE FROM quotas WHERE team = ?1 AND pool = ?2",
    [Q_DEL_TEAM] = "DELETE FROM quotas WHERE team = ?1",
    [Q_ALL] = "SELECT " COLS " FROM quotas ORDER BY team, pool",
};

struct mlq_storequota {
    sqlite3_stmt *stmt[Q_COUNT];
};

int mlq_storequota_open(sqlite3 *db, struct mlq_storequota **out, struct mlq_err *err)
{
    struct mlq_storequota *p = calloc(1, sizeof *p);
    *out = NULL;
    if (!p)
        return mlq_err_set(err, MLQ_ENOMEM, "preparing statements: out of memory");
    int rc = mlq_storei_prepare(db, qsql, Q_COUNT, p->stmt, err);
    if (rc < 0) {
        free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void mlq_storequota_close(struct mlq_storequota **pp)
{
    if (!pp || !*pp)
        return;
    mlq_storei_finalize((*pp)->stmt, Q_COUNT);
    free(*pp);
    *pp = NULL;
}

static sqlite3_stmt *stmt(struct mlq_store *st, enum qstmt i)
{
    return mlq_storei_quota(st)->stmt[i];
}

static const char *pool_name(const char *pool)
{
    return pool && pool[0] ? pool : "default";
}

/* The stored amounts, in column order from ?3 / column 2. */
static int64_t *amounts(struct mlq_quotainfo *q, int i)
{
    int64_t *v[] = {&q->gpus_h,           &q->cpus_m,         &q->mem,
                    &q->borrow_gpus_h,    &q->borrow_cpus_m,  &q->borrow_mem,
                    &q->user_max_running, &q->user_max_gpus_h};
    return v[i];
}
#define NAMOUNTS 8

static int quota_write(struct mlq_store *st, const struct mlq_quotainfo *q, int64_t now_ms,
                       struct mlq_err *err)
{
    sqlite3_stmt *s = stmt(st, Q_SET);
    int rc = sqlite3_bind_text(s, 1, q->team, -1, SQLITE_STATIC);
    rc |= sqlite3_bind_text(s, 2, pool_name(q->pool), -1, SQLITE_STATIC);
    for (int i = 0; i < NAMOUNTS; i++)
        rc |= sqlite3_bind_int64(s, 3 + i, *amounts((struct mlq_quotainfo *)q, i));
    rc |= mlq_storei_bind_opt(s, 11, q->gpu_types);
    rc |= sqlite3_bind_int64(s, 12, now_ms);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "setting a quota");
    }
    return mlq_storei_exec_stmt(st, s, "setting a quota", err);
}

int mlq_store_quota_set(struct mlq_store *st, const struct mlq_quotainfo *q, int64_t now_ms,
                        struct mlq_err *err)
{
    bool exists = false;
    int rc = mlq_store_team_exists(st, q->team, &exists, err);
    if (rc == 0 && !exists)
        rc = mlq_err_set(err, MLQ_ENOTFOUND, "no team named %s", q->team);
    if (rc < 0)
        return rc;
    char detail[2 * MLQ_MAX_NAME + 8];
    snprintf(detail, sizeof detail, "%s %s", q->team, pool_name(q->pool));
    rc = mlq_storei_op_begin(st, err);
    if (rc < 0)
        return rc;
    rc = quota_write(st, q, now_ms, err);
    if (rc == 0)
        rc = mlq_store_event_add(st, "quota_set", NULL, NULL, NULL, detail, err);
    return mlq_storei_op_end(st, rc, err);
}

/* Runs a delete bound to (team[, pool]); *n gets the rows it removed. */
static int delete_rows(struct mlq_store *st, enum qstmt i, const char *team, const char *pool,
                       int *n, struct mlq_err *err)
{
    sqlite3_stmt *s = stmt(st, i);
    int rc = sqlite3_bind_text(s, 1, team, -1, SQLITE_STATIC);
    if (pool)
        rc |= sqlite3_bind_text(s, 2, pool, -1, SQLITE_STATIC);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "removing a quota");
    }
    rc = mlq_storei_exec_stmt(st, s, "removing a quota", err);
    *n = rc == 0 ? sqlite3_changes(mlq_storei_db(st)) : 0;
    return rc;
}

int mlq_store_quota_rm(struct mlq_store *st, const char *team, const char *pool,
                       struct mlq_err *err)
{
    char detail[2 * MLQ_MAX_NAME + 8];
    snprintf(detail, sizeof detail, "%s %s", team, pool_name(pool));
    int rc = mlq_storei_op_begin(st, err), n = 0;
    if (rc < 0)
        return rc;
    rc = delete_rows(st, Q_DEL, team, pool_name(pool), &n, err);
    if (rc == 0 && n == 0)
        rc = mlq_err_set(err, MLQ_ENOTFOUND, "team %s has no quota in pool %s", team,
                         pool_name(pool));
    if (rc == 0)
        rc = mlq_store_event_add(st, "quota_removed", NULL, NULL, NULL, detail, err);
    return mlq_storei_op_end(st, rc, err);
}

int mlq_storequota_rm_team(struct mlq_store *st, const char *team, struct mlq_err *err)
{
    int n = 0;
    return delete_rows(st, Q_DEL_TEAM, team, NULL, &n, err);
}

static int quota_from_row(sqlite3_stmt *s, struct mlq_quotainfo *q)
{
    memset(q, 0, sizeof *q);
    int rc = mlq_storei_col_fixed(s, 0, q->team, sizeof q->team);
    if (rc == 0)
        rc = mlq_storei_col_fixed(s, 1, q->pool, sizeof q->pool);
    for (int i = 0; i < NAMOUNTS; i++)
        *amounts(q, i) = sqlite3_column_int64(s, 2 + i);
    if (rc == 0)
        rc = mlq_storei_col_fixed(s, 2 + NAMOUNTS, q->gpu_types, sizeof q->gpu_types);
    return rc;
}

int mlq_store_quota_each(struct mlq_store *st, mlq_store_quota_fn fn, void *ctx,
                         struct mlq_err *err)
{
    sqlite3_stmt *s = stmt(st, Q_ALL);
    int rc = mlq_storei_walk_start(s, err), step = SQLITE_DONE, r = 0;
    if (rc < 0)
        return rc;
    while (rc == 0 && r == 0 && (step = sqlite3_step(s)) == SQLITE_ROW) {
        struct mlq_quotainfo q;
        rc = quota_from_row(s, &q);
        if (rc < 0)
            rc = mlq_storei_row_err(rc, err, "reading quotas");
        else
            r = fn(&q, ctx);
    }
    if (rc == 0 && r == 0 && step != SQLITE_DONE)
        rc = mlq_storei_db_err(st, err, "reading quotas");
    mlq_storei_finish(s);
    return rc < 0 ? rc : r;
}
