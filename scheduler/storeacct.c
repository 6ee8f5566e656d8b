/* storeacct: usage reports (`mlq usage`) computed from the attempts that
 * ran, plus what retention folded into usage_daily before it pruned them
 * (schema v12). See store.h for the API and storeint.h for what it shares
 * with store.c, whose invariants hold here.
 *
 * One figure per ended attempt, in allocated resource time:
 * - node_ms: its wall time (start to end; 0 when it never started) times
 *   its nodes (a gang's parts; 1 otherwise);
 * - cpu_ms = node_ms x cpus, gpu_ms = node_ms x GPUs, where a share of one
 *   GPU counts its fraction (a quarter of a GPU: 0.25 x node_ms);
 * - where its worker measured GPU utilisation, gpu_known_ms = gpu_ms and
 *   gpu_idle_ms = gpu_ms x (100 - util) / 100;
 * - a job's first attempt carries its queue wait (start - submit).
 * A report sums them over the attempts that ended in the window and the
 * folded days that overlap it, in one query that reads attempts through
 * their end-time index. Folding and reporting share the expressions below,
 * so a prune changes no report. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storeint.h"

#define DAY_MS INT64_C(86400000)

/* The GPUs an attempt books per node, in hundredths of a GPU: each whole
 * GPU counts 100, a share its part; attempts from before the column was
 * kept count their job's whole GPUs. */
#define GPU_HUNDREDTHS "COALESCE(a.gpu_h, j.gpus * 100)"

/* One row per ended attempt (states 2.. : SUCCEEDED, FAILED, CANCELLED,
 * TIMED_OUT, LOST), with its job's grouping keys; WHERE is appended. NODES
 * is the attempt's node count: its gang parts, 1 when it has none. A fold
 * (one job) counts them per attempt; a report (many attempts, few of them
 * gangs) joins them counted once, which spares a lookup per attempt for
 * each use of node_ms (about a third of the report's time). */
#define NODES_PER_ATTEMPT "MAX(1, (SELECT count(*) FROM attempt_parts p WHERE p.attempt_id = a.id))"
#define NODES_JOINED      "COALESCE(p.n, 1)"
#define PARTS_JOIN                                                                                 \
    " LEFT JOIN (SELECT attempt_id, count(*) AS n FROM attempt_parts GROUP BY attempt_id) p"       \
    " ON p.attempt_id = a.id"
#define RUNS_SELECT(NODES, JOIN)                                                                   \
    "SELECT COALESCE(j.owner, '') AS user, COALESCE(j.team, '') AS team,"                          \
    " COALESCE(j.project, '') AS project, COALESCE(j.pool, 'default') AS pool,"                    \
    " CASE WHEN j.gpus > 0 OR a.gpu_h > 0 THEN COALESCE(j.gpu_type, 'any') ELSE '' END"            \
    " AS gpu_type,"                                                                                \
    " a.state AS st, a.end_ms AS end_ms,"                                                          \
    " CASE WHEN a.start_ms > 0 AND a.end_ms > a.start_ms THEN a.end_ms - a.start_ms ELSE 0 END"    \
    " * " NODES " AS node_ms,"                                                                     \
    " j.cpus_m AS cpus_m, " GPU_HUNDREDTHS " AS gpu_c, a.usage_gpu_util AS util,"                  \
    " CASE WHEN a.num = 1 AND a.start_ms > 0 AND a.start_ms >= j.submit_ms"                        \
    " THEN a.start_ms - j.submit_ms END AS wait"                                                   \
    " FROM attempts a JOIN jobs j ON j.seq = a.job_seq" JOIN                                       \
    " WHERE a.state >= 2 AND a.end_ms > 0 AND "

/* The summed figures of a set of runs, in usage_daily's column order. */
#define RUN_SUMS                                                                                   \
    "sum(st = 2) AS succeeded, sum(st = 3) AS failed, sum(st = 5) AS timed_out,"                   \
    " sum(st = 4) AS cancelled, sum(st = 6) AS lost, sum(node_ms * cpus_m / 1000) AS cpu_ms,"      \
    " sum(node_ms * gpu_c / 100) AS gpu_ms,"                                                       \
    " sum(CASE WHEN util IS NOT NULL THEN node_ms * gpu_c / 100 ELSE 0 END) AS gpu_known_ms,"      \
    " sum(CASE WHEN util IS NOT NULL THEN node_ms * gpu_c * (100 - util) / 10000 ELSE 0 END)"      \
    " AS gpu_idle_ms, sum(COALESCE(wait, 0)) AS wait_ms, sum(wait IS NOT NULL) AS n_waits"

#define DAILY_COLS                                                                                 \
    "succeeded, failed, timed_out, cancelled, lost, cpu_ms, gpu_ms, gpu_known_ms, gpu_idle_ms,"    \
    " wait_ms, n_waits"

enum cstmt { C_FOLD, C_REPORT, C_COUNT };

/* C_REPORT: ?1 ?2 the window (ms), ?3 the grouping (enum mlq_acct_by),
 * ?4 ?5 the folded days overlapping it, ?6 only this user (NULL: all),
 * ?7 the row limit. */
static const char *const csql[C_COUNT] = {
    [C_FOLD] =
        "INSERT INTO usage_daily (day, user, team, project, pool, gpu_type, " DAILY_COLS ")"
        " SELECT end_ms / 86400000, user, team, project, pool, gpu_type, " RUN_SUMS
        " FROM (" RUNS_SELECT(
            NODES_PER_ATTEMPT,
            "") "a.job_seq = ?1) WHERE true"
                " GROUP BY end_ms / 86400000, user, team, project, pool, gpu_type"
                " ON CONFLICT (day, user, team, project, pool, gpu_type) DO UPDATE SET"
                " succeeded = succeeded + excluded.succeeded, failed = failed + excluded.failed,"
                " timed_out = timed_out + excluded.timed_out,"
                " cancelled = cancelled + excluded.cancelled, lost = lost + excluded.lost,"
                " cpu_ms = cpu_ms + excluded.cpu_ms, gpu_ms = gpu_ms + excluded.gpu_ms,"
                " gpu_known_ms = gpu_known_ms + excluded.gpu_known_ms,"
                " gpu_idle_ms = gpu_idle_ms + excluded.gpu_idle_ms,"
                " wait_ms = wait_ms + excluded.wait_ms, n_waits = n_waits + excluded.n_waits",
    [C_REPORT] =
        "SELECT CASE ?3 WHEN 0 THEN user WHEN 1 THEN team WHEN 2 THEN project"
        " WHEN 3 THEN pool ELSE gpu_type END AS g,"
        " sum(succeeded), sum(failed), sum(timed_out), sum(cancelled), sum(lost),"
        " sum(cpu_ms), sum(gpu_ms), sum(gpu_known_ms), sum(gpu_idle_ms), sum(wait_ms),"
        " sum(n_waits) FROM ("
        " SELECT user, team, project, pool, gpu_type, " RUN_SUMS " FROM (" RUNS_SELECT(
            NODES_JOINED,
            PARTS_JOIN) "a.end_ms >= ?1 AND a.end_ms < ?2) GROUP BY user, team, project, pool, "
                        "gpu_type"
                        " UNION ALL SELECT user, team, project, pool, gpu_type, " DAILY_COLS
                        " FROM usage_daily WHERE day >= ?4 AND day < ?5)"
                        " WHERE ?6 IS NULL OR user = ?6 GROUP BY g ORDER BY g LIMIT ?7",
};

struct mlq_storeacct {
    sqlite3_stmt *stmt[C_COUNT];
};

int mlq_storeacct_open(sqlite3 *db, struct mlq_storeacct **out, struct mlq_err *err)
{
    struct mlq_storeacct *p = calloc(1, sizeof *p);
    *out = NULL;
    if (!p)
        return mlq_err_set(err, MLQ_ENOMEM, "preparing statements: out of memory");
    int rc = mlq_storei_prepare(db, csql, C_COUNT, p->stmt, err);
    if (rc < 0) {
        free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void mlq_storeacct_close(struct mlq_storeacct **pp)
{
    if (!pp || !*pp)
        return;
    mlq_storei_finalize((*pp)->stmt, C_COUNT);
    free(*pp);
    *pp = NULL;
}

static sqlite3_stmt *stmt(struct mlq_store *st, enum cstmt i)
{
    return mlq_storei_acct(st)->stmt[i];
}

int mlq_storeacct_fold_job(struct mlq_store *st, int64_t seq, struct mlq_err *err)
{
    sqlite3_stmt *s = stmt(st, C_FOLD);
    int rc = sqlite3_bind_int64(s, 1, seq);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "folding a job's usage");
    }
    return mlq_storei_exec_stmt(st, s, "folding a job's usage", err);
}

static int row_from(sqlite3_stmt *s, struct mlq_acctrow *r)
{
    memset(r, 0, sizeof *r);
    const unsigned char *k = sqlite3_column_text(s, 0);
    snprintf(r->key, sizeof r->key, "%s", k ? (const char *)k : "");
    for (int i = 0; i < MLQ_ACCT_OUTCOMES; i++)
        r->runs[i] = sqlite3_column_int64(s, 1 + i);
    int c = 1 + MLQ_ACCT_OUTCOMES;
    r->cpu_ms = sqlite3_column_int64(s, c++);
    r->gpu_ms = sqlite3_column_int64(s, c++);
    r->gpu_known_ms = sqlite3_column_int64(s, c++);
    r->gpu_idle_ms = sqlite3_column_int64(s, c++);
    r->wait_ms = sqlite3_column_int64(s, c++);
    r->n_waits = sqlite3_column_int64(s, c);
    return 0;
}

static int bind_report(sqlite3_stmt *s, int64_t since, int64_t until, enum mlq_acct_by by,
                       const char *only_user)
{
    int rc = sqlite3_bind_int64(s, 1, since);
    rc |= sqlite3_bind_int64(s, 2, until);
    rc |= sqlite3_bind_int(s, 3, (int)by);
    rc |= sqlite3_bind_int64(s, 4, since / DAY_MS);
    rc |= sqlite3_bind_int64(s, 5, (until + DAY_MS - 1) / DAY_MS);
    rc |= mlq_storei_bind_opt(s, 6, only_user);
    rc |= sqlite3_bind_int(s, 7, MLQ_MAX_LIST);
    return rc;
}

/* Runs the prepared report statement s; the caller resets it. */
static int run_report(sqlite3 *db, sqlite3_stmt *s, const struct mlq_acct_query *q,
                      struct mlq_acctrow **out, uint32_t *n, struct mlq_err *err)
{
    *out = NULL;
    *n = 0;
    if ((unsigned)q->by >= MLQ_ACCT_BY_COUNT || q->since_ms < 0 || q->until_ms <= q->since_ms)
        return mlq_err_set(err, MLQ_EINVAL, "usage: the window must end after it starts");
    struct mlq_acctrow *v = calloc(MLQ_MAX_LIST, sizeof *v);
    if (!v)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory reporting usage");
    if (bind_report(s, q->since_ms, q->until_ms, q->by, q->only_user[0] ? q->only_user : NULL) !=
        SQLITE_OK) {
        free(v);
        return mlq_err_set(err, MLQ_EDB, "reporting usage: cannot bind");
    }
    int step;
    while ((step = sqlite3_step(s)) == SQLITE_ROW && *n < MLQ_MAX_LIST)
        row_from(s, &v[(*n)++]);
    if (step != SQLITE_DONE && step != SQLITE_ROW) {
        free(v);
        *n = 0;
        return mlq_err_set(err, MLQ_EDB, "reporting usage: %s", sqlite3_errmsg(db));
    }
    *out = v;
    return 0;
}

int mlq_store_acct_report(struct mlq_store *st, const struct mlq_acct_query *q,
                          struct mlq_acctrow **out, uint32_t *n, struct mlq_err *err)
{
    sqlite3_stmt *s = stmt(st, C_REPORT);
    int rc = run_report(mlq_storei_db(st), s, q, out, n, err);
    mlq_storei_finish(s);
    return rc;
}

int mlq_store_acct_report_file(const char *path, const struct mlq_acct_query *q,
                               struct mlq_acctrow **out, uint32_t *n, struct mlq_err *err)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    *out = NULL;
    *n = 0;
    int rc = 0;
    if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READONLY | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK ||
        sqlite3_busy_timeout(db, 5000) != SQLITE_OK ||
        sqlite3_prepare_v2(db, csql[C_REPORT], -1, &s, NULL) != SQLITE_OK)
        rc = mlq_err_set(err, db ? MLQ_EDB : MLQ_ENOMEM, "reporting usage: %s",
                         db ? sqlite3_errmsg(db) : "out of memory");
    if (rc == 0)
        rc = run_report(db, s, q, out, n, err);
    sqlite3_finalize(s);
    sqlite3_close(db);
    return rc;
}
