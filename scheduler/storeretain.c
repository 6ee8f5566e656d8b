/* storeretain: the statements of retention (schema v7): finding finished
 * jobs that may go, deleting them with their attempts and events (and
 * their shared environment with the last job naming it), and deleting old
 * events. See store.h for the API and storeint.h for what it
 * shares with store.c, whose invariants hold here too. Every statement
 * reads or deletes a bounded number of rows through an index: the caller
 * runs them inside the scheduler loop's transaction. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "jobstate.h"
#include "storeint.h"

enum rstmt {
    R_CANDIDATES,
    R_MAX_SEQ,
    R_ARRAY_LIVE,
    R_ATTEMPT_IDS,
    R_DEL_EVENTS,
    R_DEL_BATCH,
    R_DEL_ATTEMPTS,
    R_DEL_JOB,
    R_DEL_ARRAY,
    R_DEL_OLD_EVENTS,
    R_COUNT
};

/* ?1 ?2: the seq window; ?3: ended before; ?4: keys created after;
 * ?5: limit; ?6: first terminal state. Attempt states 0 and 1 are live. */
static const char *const rsql[R_COUNT] = {
    [R_CANDIDATES] = "SELECT seq, id, array_id, env_id FROM jobs WHERE seq > ?1 AND seq <= ?2"
                     " AND seq < (SELECT MAX(seq) FROM jobs) AND state >= ?6"
                     " AND end_ms > 0 AND end_ms < ?3"
                     " AND NOT EXISTS (SELECT 1 FROM attempts a WHERE a.job_seq = jobs.seq"
                     " AND a.state IN (0, 1))"
                     " AND NOT EXISTS (SELECT 1 FROM idempotency i WHERE i.id = jobs.id"
                     " AND i.created_ms > ?4)"
                     " AND (array_id IS NULL OR NOT EXISTS (SELECT 1 FROM idempotency i"
                     " WHERE i.id = jobs.array_id AND i.created_ms > ?4))"
                     " ORDER BY seq LIMIT ?5",
    [R_MAX_SEQ] = "SELECT COALESCE(MAX(seq), 0) FROM jobs",
    [R_ARRAY_LIVE] = "SELECT 1 FROM jobs WHERE array_id = ?1 AND state < ?2 LIMIT 1",
    /* with a gang's node parts, whose logs are stored under their own ids */
    [R_ATTEMPT_IDS] = "SELECT id FROM attempts WHERE job_seq = ?1 UNION ALL"
                      " SELECT p.part_id FROM attempt_parts p JOIN attempts a"
                      " ON a.id = p.attempt_id WHERE a.job_seq = ?1",
    [R_DEL_EVENTS] = "DELETE FROM events WHERE job_seq = ?1",
    /* The submit batch row covering job ?1 (schema v22; events_batch finds
     * the only candidate), once no other job of its range is left; never
     * the newest event. */
    [R_DEL_BATCH] = "DELETE FROM events WHERE seq = (SELECT seq FROM events"
                    " WHERE batch_last >= ?1 AND batch_last IS NOT NULL"
                    " ORDER BY batch_last LIMIT 1) AND batch_first <= ?1"
                    " AND seq < (SELECT MAX(seq) FROM events)"
                    " AND NOT EXISTS (SELECT 1 FROM jobs WHERE jobs.seq BETWEEN"
                    " events.batch_first AND events.batch_last AND jobs.seq <> ?1)",
    [R_DEL_ATTEMPTS] = "DELETE FROM attempts WHERE job_seq = ?1",
    [R_DEL_JOB] = "DELETE FROM jobs WHERE seq = ?1",
    [R_DEL_ARRAY] = "DELETE FROM arrays WHERE id = ?1"
                    " AND NOT EXISTS (SELECT 1 FROM jobs WHERE array_id = ?1)",
    [R_DEL_OLD_EVENTS] = "DELETE FROM events WHERE seq IN (SELECT seq FROM events"
                         " WHERE time_ms < ?1 AND seq < (SELECT MAX(seq) FROM events)"
                         " ORDER BY time_ms LIMIT ?2)",
};

struct mlq_storeretain {
    sqlite3_stmt *stmt[R_COUNT];
};

int mlq_storeretain_open(sqlite3 *db, struct mlq_storeretain **out, struct mlq_err *err)
{
    struct mlq_storeretain *p = calloc(1, sizeof *p);
    *out = NULL;
    if (!p)
        return mlq_err_set(err, MLQ_ENOMEM, "preparing statements: out of memory");
    int rc = mlq_storei_prepare(db, rsql, R_COUNT, p->stmt, err);
    if (rc < 0) {
        free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void mlq_storeretain_close(struct mlq_storeretain **pp)
{
    if (!pp || !*pp)
        return;
    mlq_storei_finalize((*pp)->stmt, R_COUNT);
    free(*pp);
    *pp = NULL;
}

static sqlite3_stmt *stmt(struct mlq_store *st, enum rstmt i)
{
    return mlq_storei_retain(st)->stmt[i];
}

/* Steps s to its end, filling one candidate per row. */
static int read_candidates(struct mlq_store *st, sqlite3_stmt *s, struct mlq_store_old_job *out,
                           size_t max, size_t *n, struct mlq_err *err)
{
    int rc = 0, step = SQLITE_DONE;
    while (rc == 0 && (step = sqlite3_step(s)) == SQLITE_ROW && *n < max) {
        struct mlq_store_old_job *j = &out[*n];
        j->seq = sqlite3_column_int64(s, 0);
        rc = mlq_storei_col_fixed(s, 1, j->id, sizeof j->id);
        if (rc == 0)
            rc = mlq_storei_col_fixed(s, 2, j->array_id, sizeof j->array_id);
        j->env_id = sqlite3_column_int64(s, 3);
        if (rc < 0)
            rc = mlq_storei_row_err(rc, err, "reading old jobs");
        else
            (*n)++;
    }
    if (rc == 0 && step != SQLITE_ROW && step != SQLITE_DONE)
        rc = mlq_storei_db_err(st, err, "reading old jobs");
    mlq_storei_finish(s);
    return rc;
}

int mlq_store_retain_candidates(struct mlq_store *st, int64_t after, int64_t upto,
                                int64_t end_before, int64_t idem_after,
                                struct mlq_store_old_job *out, size_t max, size_t *n,
                                struct mlq_err *err)
{
    *n = 0;
    sqlite3_stmt *s = stmt(st, R_CANDIDATES);
    int rc = sqlite3_bind_int64(s, 1, after);
    rc |= sqlite3_bind_int64(s, 2, upto);
    rc |= sqlite3_bind_int64(s, 3, end_before);
    rc |= sqlite3_bind_int64(s, 4, idem_after);
    rc |= sqlite3_bind_int64(s, 5, (sqlite3_int64)max);
    rc |= sqlite3_bind_int(s, 6, MLQ_JOB_SUCCEEDED);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "reading old jobs");
    }
    return read_candidates(st, s, out, max, n, err);
}

int mlq_store_retain_max_seq(struct mlq_store *st, int64_t *seq, struct mlq_err *err)
{
    sqlite3_stmt *s = stmt(st, R_MAX_SEQ);
    int rc = 0;
    if (sqlite3_step(s) == SQLITE_ROW)
        *seq = sqlite3_column_int64(s, 0);
    else
        rc = mlq_storei_db_err(st, err, "reading the newest job");
    mlq_storei_finish(s);
    return rc;
}

int mlq_store_array_live(struct mlq_store *st, const char *array_id, bool *live,
                         struct mlq_err *err)
{
    sqlite3_stmt *s = stmt(st, R_ARRAY_LIVE);
    int rc = sqlite3_bind_text(s, 1, array_id, -1, SQLITE_STATIC);
    rc |= sqlite3_bind_int(s, 2, MLQ_JOB_SUCCEEDED);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "reading an array");
    }
    int step = sqlite3_step(s);
    *live = step == SQLITE_ROW;
    rc = step == SQLITE_ROW || step == SQLITE_DONE ? 0
                                                   : mlq_storei_db_err(st, err, "reading an array");
    mlq_storei_finish(s);
    return rc;
}

/* Runs a statement whose only parameter is the job's seq. */
static int exec_seq(struct mlq_store *st, enum rstmt i, int64_t seq, const char *what,
                    struct mlq_err *err)
{
    sqlite3_stmt *s = stmt(st, i);
    return mlq_storei_exec_bound(st, s, sqlite3_bind_int64(s, 1, seq), what, err);
}

static int each_attempt(struct mlq_store *st, int64_t seq, mlq_store_attempt_id_fn fn, void *ctx,
                        struct mlq_err *err)
{
    sqlite3_stmt *s = stmt(st, R_ATTEMPT_IDS);
    int rc = sqlite3_bind_int64(s, 1, seq);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "reading attempts");
    }
    char id[MLQ_ID_LEN + 1];
    int step;
    rc = 0;
    while ((step = sqlite3_step(s)) == SQLITE_ROW) {
        if (mlq_storei_col_fixed(s, 0, id, sizeof id) == 0 && fn)
            fn(ctx, id);
    }
    if (step != SQLITE_DONE)
        rc = mlq_storei_db_err(st, err, "reading attempts");
    mlq_storei_finish(s);
    return rc;
}

int mlq_store_job_delete(struct mlq_store *st, const struct mlq_store_old_job *job,
                         mlq_store_attempt_id_fn on_attempt, void *ctx, struct mlq_err *err)
{
    int rc = mlq_storei_op_begin(st, err);
    if (rc < 0)
        return rc;
    rc = each_attempt(st, job->seq, on_attempt, ctx, err);
    if (rc == 0) /* reports over old periods stay right */
        rc = mlq_storeacct_fold_job(st, job->seq, err);
    if (rc == 0)
        rc = exec_seq(st, R_DEL_EVENTS, job->seq, "deleting a job's events", err);
    if (rc == 0)
        rc = exec_seq(st, R_DEL_BATCH, job->seq, "deleting a submit batch's event", err);
    if (rc == 0)
        rc = exec_seq(st, R_DEL_ATTEMPTS, job->seq, "deleting a job's attempts", err);
    if (rc == 0)
        rc = exec_seq(st, R_DEL_JOB, job->seq, "deleting a job", err);
    if (rc == 0 && job->env_id > 0)
        rc = mlq_storei_env_release(st, job->env_id, err);
    return mlq_storei_op_end(st, rc, err);
}

int mlq_store_array_delete_if_empty(struct mlq_store *st, const char *array_id, struct mlq_err *err)
{
    sqlite3_stmt *s = stmt(st, R_DEL_ARRAY);
    int rc = sqlite3_bind_text(s, 1, array_id, -1, SQLITE_STATIC);
    return mlq_storei_exec_bound(st, s, rc, "deleting an array", err);
}

int mlq_store_events_delete_old(struct mlq_store *st, int64_t before_ms, int limit, int *deleted,
                                struct mlq_err *err)
{
    *deleted = 0;
    sqlite3_stmt *s = stmt(st, R_DEL_OLD_EVENTS);
    int rc = sqlite3_bind_int64(s, 1, before_ms);
    rc |= sqlite3_bind_int(s, 2, limit);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "deleting old events");
    }
    rc = mlq_storei_exec_stmt(st, s, "deleting old events", err);
    if (rc == 0)
        *deleted = sqlite3_changes(mlq_storei_db(st));
    return rc;
}
