/* storegang: the rows of gang node parts (table attempt_parts, schema v9).
 *
 * Gang traffic is rare next to ordinary attempts, so the statements are
 * prepared when used rather than kept. Writes run inside the loop's
 * transaction (or a savepoint of their own), like every other write. */
#include "store.h"
#include "storeint.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define PART_COLS                                                                                  \
    "part_id, attempt_id, job_id, rank, worker, gpu_ids, state, assigned_ms, start_ms, end_ms, "   \
    "exit_code, signal, detail, rdv_port"

static int prepare(struct mlq_store *st, const char *sql, sqlite3_stmt **s, struct mlq_err *err)
{
    if (sqlite3_prepare_v2(mlq_storei_db(st), sql, -1, s, NULL) != SQLITE_OK)
        return mlq_storei_db_err(st, err, "preparing a gang statement");
    return 0;
}

int mlq_store_part_save(struct mlq_store *st, const struct mlq_store_part *p, struct mlq_err *err)
{
    sqlite3_stmt *s;
    int rc = mlq_storei_op_begin(st, err);
    if (rc < 0)
        return rc;
    rc = prepare(st,
                 "INSERT OR REPLACE INTO attempt_parts (" PART_COLS ")"
                 " VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                 &s, err);
    if (rc == 0) {
        int b = sqlite3_bind_text(s, 1, p->a.id, -1, SQLITE_STATIC);
        b |= sqlite3_bind_text(s, 2, p->attempt_id, -1, SQLITE_STATIC);
        b |= sqlite3_bind_text(s, 3, p->a.job_id, -1, SQLITE_STATIC);
        b |= sqlite3_bind_int(s, 4, p->rank);
        b |= sqlite3_bind_text(s, 5, p->a.worker, -1, SQLITE_STATIC);
        b |= mlq_storei_bind_opt(s, 6, p->a.gpu_ids);
        b |= sqlite3_bind_int(s, 7, (int)p->a.state);
        b |= sqlite3_bind_int64(s, 8, p->a.assigned_ms);
        b |= sqlite3_bind_int64(s, 9, p->a.start_ms);
        b |= sqlite3_bind_int64(s, 10, p->a.end_ms);
        b |= sqlite3_bind_int(s, 11, p->a.exit_code);
        b |= sqlite3_bind_int(s, 12, p->a.signal);
        b |= mlq_storei_bind_opt(s, 13, p->a.detail);
        b |= sqlite3_bind_int(s, 14, p->rdv_port);
        rc = b != SQLITE_OK                   ? mlq_storei_bind_err(b, err, "saving a gang part")
             : sqlite3_step(s) != SQLITE_DONE ? mlq_storei_db_err(st, err, "saving a gang part")
                                              : 0;
        sqlite3_finalize(s);
    }
    return mlq_storei_op_end(st, rc, err);
}

/* The attempt number is the gang attempt's, from attempts. */
static int part_from_row(struct mlq_store *st, sqlite3_stmt *s, struct mlq_store_part *p,
                         struct mlq_err *err)
{
    memset(p, 0, sizeof *p);
    int rc = mlq_storei_col_fixed(s, 0, p->a.id, sizeof p->a.id);
    if (rc == 0)
        rc = mlq_storei_col_fixed(s, 1, p->attempt_id, sizeof p->attempt_id);
    if (rc == 0)
        rc = mlq_storei_col_fixed(s, 2, p->a.job_id, sizeof p->a.job_id);
    if (rc == 0)
        rc = mlq_storei_col_fixed(s, 4, p->a.worker, sizeof p->a.worker);
    if (rc == 0)
        rc = mlq_storei_col_fixed(s, 5, p->a.gpu_ids, sizeof p->a.gpu_ids);
    if (rc == 0)
        rc = mlq_storei_col_dup(s, 12, &p->a.detail);
    int state = sqlite3_column_int(s, 6);
    if (rc == 0 && (state < 0 || state >= MLQ_ATT_STATE_COUNT))
        rc = MLQ_EDB;
    if (rc < 0) {
        mlq_store_attempt_free(&p->a);
        (void)st;
        return mlq_storei_row_err(rc, err, "reading a gang part");
    }
    p->rank = sqlite3_column_int(s, 3);
    p->a.state = (enum mlq_attempt_state)state;
    p->a.assigned_ms = sqlite3_column_int64(s, 7);
    p->a.start_ms = sqlite3_column_int64(s, 8);
    p->a.end_ms = sqlite3_column_int64(s, 9);
    p->a.exit_code = sqlite3_column_int(s, 10);
    p->a.signal = sqlite3_column_int(s, 11);
    p->rdv_port = sqlite3_column_int(s, 13);
    p->a.num = sqlite3_column_int(s, 14);
    return 0;
}

#define SELECT_PARTS                                                                               \
    "SELECT " PART_COLS ", COALESCE((SELECT num FROM attempts a WHERE a.id = attempt_id), 0)"      \
    " FROM attempt_parts "

int mlq_store_part_get(struct mlq_store *st, const char *part_id, struct mlq_store_part *out,
                       struct mlq_err *err)
{
    sqlite3_stmt *s;
    memset(out, 0, sizeof *out);
    int rc = prepare(st, SELECT_PARTS "WHERE part_id = ?", &s, err);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(s, 1, part_id, -1, SQLITE_STATIC);
    int step = sqlite3_step(s);
    if (step == SQLITE_ROW)
        rc = part_from_row(st, s, out, err);
    else if (step == SQLITE_DONE)
        rc = mlq_err_set(err, MLQ_ENOTFOUND, "no gang part %.36s", part_id);
    else
        rc = mlq_storei_db_err(st, err, "loading a gang part");
    sqlite3_finalize(s);
    return rc;
}

int mlq_store_each_part(struct mlq_store *st, const char *attempt_id, mlq_store_part_fn fn,
                        void *ctx, struct mlq_err *err)
{
    sqlite3_stmt *s;
    int rc = prepare(st, SELECT_PARTS "WHERE attempt_id = ? ORDER BY rank", &s, err);
    if (rc < 0)
        return rc;
    sqlite3_bind_text(s, 1, attempt_id, -1, SQLITE_STATIC);
    int step;
    while (rc == 0 && (step = sqlite3_step(s)) == SQLITE_ROW) {
        struct mlq_store_part p;
        rc = part_from_row(st, s, &p, err);
        if (rc == 0) {
            rc = fn(&p, ctx);
            mlq_store_attempt_free(&p.a);
        }
    }
    if (rc == 0 && step != SQLITE_DONE)
        rc = mlq_storei_db_err(st, err, "loading gang parts");
    sqlite3_finalize(s);
    return rc;
}
