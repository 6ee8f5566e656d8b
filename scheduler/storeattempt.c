/* storeattempt: the rows of the attempts table: saving an attempt (with its
 * event), the reads the scheduler runs on (by id, every live attempt), a
 * job's attempts as the CLI lists them, and what ran when, for fair share.
 * A gang's node parts are in storegang.c. See store.h for the API; the
 * invariants of store.c hold here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "storeint.h"
#include "storeusage.h"

enum astmt {
    T_INSERT,
    T_UPDATE,
    T_GET,
    T_LIVE,
    T_OF_JOB,
    T_USAGE_EACH,
    T_MANIFEST_PUT,
    T_MANIFEST_GET,
    T_LOG_EMPTY_SET,
    T_LOG_EMPTY_GET,
    T_COUNT
};

#define ATT_COLS                                                                                   \
    "id, job_id, num, worker, state, gpu_ids, assigned_ms, start_ms, end_ms, exit_code, signal,"   \
    " detail, usage_source, usage_mem_peak, usage_cpu_us, usage_wall_ms, usage_gpu_mem_peak,"      \
    " usage_gpu_util, gpu_h"
enum att_col {
    AC_ID,
    AC_JOB,
    AC_NUM,
    AC_WORKER,
    AC_STATE,
    AC_GPUS,
    AC_ASSIGNED,
    AC_START,
    AC_END,
    AC_EXIT,
    AC_SIGNAL,
    AC_DETAIL,
    AC_USAGE, /* the usage_* columns, in struct mlq_usage order after the source */
    AC_GPU_H = AC_USAGE + 6
};

static const char *const tsql[T_COUNT] = {
    [T_INSERT] = "INSERT INTO attempts (" ATT_COLS ", job_seq) VALUES (?1, ?2, ?3, ?4, ?5,"
                 " ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19,"
                 " COALESCE(?20, (SELECT seq FROM jobs WHERE id = ?2)))",
    [T_UPDATE] = "UPDATE attempts SET worker = ?4, state = ?5, gpu_ids = ?6,"
                 " assigned_ms = ?7, start_ms = ?8, end_ms = ?9, exit_code = ?10,"
                 " signal = ?11, detail = ?12, usage_source = ?13, usage_mem_peak = ?14,"
                 " usage_cpu_us = ?15, usage_wall_ms = ?16, usage_gpu_mem_peak = ?17,"
                 " usage_gpu_util = ?18, gpu_h = COALESCE(?19, gpu_h) WHERE id = ?1 AND job_id = "
                 "?2 AND num = ?3",
    [T_GET] = "SELECT " ATT_COLS " FROM attempts WHERE id = ?1",
    /* the literals match attempts_live (0 ASSIGNED, 1 RUNNING) so that it serves */
    [T_LIVE] = "SELECT " ATT_COLS " FROM attempts WHERE state IN (0, 1) ORDER BY rowid",
    /* The newest ?2 attempts of a job, oldest first (attempts_job serves both). */
    [T_OF_JOB] = "SELECT * FROM (SELECT " ATT_COLS " FROM attempts"
                 " WHERE job_seq = (SELECT seq FROM jobs WHERE id = ?1)"
                 " ORDER BY num DESC LIMIT ?2) ORDER BY num",
    /* attempts_live serves the live arm (end_ms is 0 exactly while live),
     * attempts_end the ended one; in no particular order (usage adds up) */
    [T_USAGE_EACH] = "SELECT j.owner, j.cpus_m, COALESCE(a.gpu_h, j.gpus * 100), a.start_ms, "
                     "a.end_ms, j.team FROM attempts a"
                     " JOIN jobs j ON j.seq = a.job_seq"
                     " WHERE a.start_ms > 0 AND (a.state IN (0, 1) OR (a.end_ms > 0"
                     " AND a.end_ms >= ?1))",
    /* only for an attempt row (not a gang's node part): retention's trigger
     * removes it with its attempt */
    [T_MANIFEST_PUT] = "INSERT OR REPLACE INTO attempt_manifests (attempt_id, json)"
                       " SELECT ?1, ?2 WHERE EXISTS (SELECT 1 FROM attempts WHERE id = ?1)",
    /* attempts_job serves the lookup of the job's attempt by number */
    [T_MANIFEST_GET] = "SELECT a.id, a.num, m.json FROM attempts a"
                       " LEFT JOIN attempt_manifests m ON m.attempt_id = a.id"
                       " WHERE a.job_seq = (SELECT seq FROM jobs WHERE id = ?1)"
                       " AND (?2 = 0 OR a.num = ?2) ORDER BY a.num DESC LIMIT 1",
    /* logs_empty: bit 1 << stream, for streams uploaded with no bytes */
    [T_LOG_EMPTY_SET] =
        "UPDATE attempts SET logs_empty = logs_empty | ?2 WHERE id = ?1 RETURNING 1",
    [T_LOG_EMPTY_GET] = "SELECT logs_empty & ?2 FROM attempts WHERE id = ?1",
};

struct mlq_storeattempt {
    sqlite3_stmt *stmt[T_COUNT];
};

int mlq_storeattempt_open(sqlite3 *db, struct mlq_storeattempt **out, struct mlq_err *err)
{
    struct mlq_storeattempt *p = calloc(1, sizeof *p);
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

void mlq_storeattempt_close(struct mlq_storeattempt **pp)
{
    if (!pp || !*pp)
        return;
    mlq_storei_finalize((*pp)->stmt, T_COUNT);
    free(*pp);
    *pp = NULL;
}

static sqlite3_stmt *stmt(struct mlq_store *st, enum astmt i)
{
    return mlq_storei_attempt(st)->stmt[i];
}

static const char *att_state_str(int s)
{
    return mlq_attempt_state_name((enum mlq_attempt_state)s);
}

/* ---- writes ------------------------------------------------------------ */

static int check_attempt(const struct mlq_store_attempt *a, struct mlq_err *err)
{
    if (!mlq_storei_fixed_ok(a->id, sizeof a->id) || !mlq_storei_id_chars_ok(a->id, MLQ_ID_LEN) ||
        !mlq_storei_fixed_ok(a->job_id, sizeof a->job_id) ||
        !mlq_storei_id_chars_ok(a->job_id, MLQ_ID_LEN))
        return mlq_err_set(err, MLQ_EINVAL, "attempt row without valid ids");
    if (!mlq_storei_fixed_ok(a->worker, sizeof a->worker) ||
        !mlq_storei_fixed_ok(a->gpu_ids, sizeof a->gpu_ids))
        return mlq_err_set(err, MLQ_EINVAL, "attempt %s: field not terminated", a->id);
    if ((unsigned)a->state >= MLQ_ATT_STATE_COUNT)
        return mlq_err_set(err, MLQ_EINVAL, "attempt %s: state %d out of range", a->id,
                           (int)a->state);
    return 0;
}

/* Insert and update share their parameter numbers. */
static int att_row_write(struct mlq_store *st, sqlite3_stmt *s, const struct mlq_store_attempt *a,
                         struct mlq_err *err)
{
    int rc = sqlite3_bind_text(s, 1, a->id, -1, SQLITE_STATIC);
    rc |= sqlite3_bind_text(s, 2, a->job_id, -1, SQLITE_STATIC);
    rc |= sqlite3_bind_int(s, 3, a->num);
    rc |= sqlite3_bind_text(s, 4, a->worker, -1, SQLITE_STATIC);
    rc |= sqlite3_bind_int(s, 5, (int)a->state);
    rc |= mlq_storei_bind_opt(s, 6, a->gpu_ids);
    rc |= sqlite3_bind_int64(s, 7, a->assigned_ms);
    rc |= sqlite3_bind_int64(s, 8, a->start_ms);
    rc |= sqlite3_bind_int64(s, 9, a->end_ms);
    rc |= sqlite3_bind_int(s, 10, a->exit_code);
    rc |= sqlite3_bind_int(s, 11, a->signal);
    rc |= mlq_storei_bind_opt(s, 12, a->detail);
    rc |= mlq_storeusage_bind(s, 13, &a->usage);
    rc |= a->gpu_h > 0 ? sqlite3_bind_int(s, 19, a->gpu_h) : sqlite3_bind_null(s, 19);
    if (s == stmt(st, T_INSERT))
        rc |= a->job_seq > 0 ? sqlite3_bind_int64(s, 20, a->job_seq) : sqlite3_bind_null(s, 20);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "saving attempt");
    }
    return mlq_storei_exec_stmt(st, s, "saving attempt", err);
}

int mlq_store_attempt_save(struct mlq_store *st, const struct mlq_store_attempt *a, int prev,
                           bool event, struct mlq_err *err)
{
    int rc = check_attempt(a, err);
    if (rc < 0)
        return rc;
    rc = mlq_storei_hot_begin(st, err);
    if (rc < 0)
        return rc;
    bool is_new = prev < 0;
    rc = att_row_write(st, stmt(st, is_new ? T_INSERT : T_UPDATE), a, err);
    if (rc == 0 && !is_new && sqlite3_changes(mlq_storei_db(st)) == 0)
        rc = mlq_err_set(err, MLQ_ENOTFOUND, "no attempt %s of job %s", a->id, a->job_id);
    if (rc == 0 && event && (is_new || prev != (int)a->state)) {
        struct mlq_storei_event ev = {.kind = is_new ? "attempt" : "attempt_state",
                                      .job_id = a->job_id,
                                      .job_seq = a->job_seq,
                                      .attempt_id = a->id,
                                      .worker = a->worker,
                                      .from = is_new ? NULL : att_state_str(prev),
                                      .to = att_state_str(a->state),
                                      .detail = a->detail};
        rc = mlq_storei_event_insert(st, &ev, err);
    }
    return mlq_storei_hot_end(st, rc, err);
}

/* ---- reads ------------------------------------------------------------- */

static int att_from_row(sqlite3_stmt *s, struct mlq_store_attempt *a, struct mlq_err *err)
{
    memset(a, 0, sizeof *a);
    int rc = mlq_storei_col_fixed(s, AC_ID, a->id, sizeof a->id);
    rc = rc ? rc : mlq_storei_col_fixed(s, AC_JOB, a->job_id, sizeof a->job_id);
    rc = rc ? rc : mlq_storei_col_fixed(s, AC_WORKER, a->worker, sizeof a->worker);
    rc = rc ? rc : mlq_storei_col_fixed(s, AC_GPUS, a->gpu_ids, sizeof a->gpu_ids);
    rc = rc ? rc : mlq_storei_col_dup(s, AC_DETAIL, &a->detail);
    int state = sqlite3_column_int(s, AC_STATE);
    if (rc == 0 && (state < 0 || state >= MLQ_ATT_STATE_COUNT))
        rc = MLQ_EDB;
    if (rc < 0) {
        mlq_store_attempt_free(a);
        return mlq_storei_row_err(rc, err, "reading attempt");
    }
    a->num = sqlite3_column_int(s, AC_NUM);
    a->state = (enum mlq_attempt_state)state;
    a->assigned_ms = sqlite3_column_int64(s, AC_ASSIGNED);
    a->start_ms = sqlite3_column_int64(s, AC_START);
    a->end_ms = sqlite3_column_int64(s, AC_END);
    a->exit_code = sqlite3_column_int(s, AC_EXIT);
    a->signal = sqlite3_column_int(s, AC_SIGNAL);
    mlq_storeusage_from_row(s, AC_USAGE, &a->usage);
    a->gpu_h = sqlite3_column_int(s, AC_GPU_H);
    return 0;
}

static int attempt_get_row(struct mlq_store *st, const char *id, struct mlq_store_attempt *out,
                           struct mlq_err *err)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *s = stmt(st, T_GET);
    int rc = mlq_storei_step_key(st, s, id, "attempt", NULL, err);
    if (rc == 1) {
        rc = att_from_row(s, out, err);
        mlq_storei_finish(s);
    }
    return rc;
}

/* An attempt by id, or a gang's node part by its part id (the attempt id
 * its worker knows): reports, log uploads and fencing look both up alike. */
int mlq_store_attempt_get(struct mlq_store *st, const char *id, struct mlq_store_attempt *out,
                          struct mlq_err *err)
{
    int rc = attempt_get_row(st, id, out, err);
    if (rc != MLQ_ENOTFOUND)
        return rc;
    struct mlq_store_part p;
    if (mlq_store_part_get(st, id, &p, NULL) < 0)
        return rc;
    *out = p.a;
    return 0;
}

int mlq_store_each_live_attempt(struct mlq_store *st, mlq_store_attempt_fn fn, void *ctx,
                                struct mlq_err *err)
{
    sqlite3_stmt *s = stmt(st, T_LIVE);
    int rc = mlq_storei_walk_start(s, err);
    if (rc < 0)
        return rc;
    _Static_assert(MLQ_ATT_ASSIGNED == 0 && MLQ_ATT_RUNNING == 1, "T_LIVE's literals");
    int ret = 0;
    while (ret == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct mlq_store_attempt a;
        ret = att_from_row(s, &a, err);
        if (ret == 0) {
            ret = fn(&a, ctx);
            mlq_store_attempt_free(&a);
        }
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = mlq_storei_db_err(st, err, "loading live attempts");
    mlq_storei_finish(s);
    return ret;
}

/* ---- a job's attempts, as the CLI lists them ----------------------------- */

/* Moves a stored attempt into its listing form (takes detail). */
static int attinfo_take(struct mlq_store_attempt *a, struct mlq_attemptinfo *out)
{
    memset(out, 0, sizeof *out);
    out->num = a->num;
    memcpy(out->id, a->id, sizeof out->id);
    out->state = a->state;
    out->start_ms = a->start_ms;
    out->end_ms = a->end_ms;
    out->exit_code = a->exit_code;
    out->signal = a->signal;
    out->detail = a->detail;
    out->usage = a->usage;
    a->detail = NULL;
    out->worker = strdup(a->worker);
    out->gpu_ids = a->gpu_ids[0] ? strdup(a->gpu_ids) : NULL;
    return out->worker && (out->gpu_ids || !a->gpu_ids[0]) ? 0 : MLQ_ENOMEM;
}

int mlq_storei_info_attempts(struct mlq_store *st, struct mlq_jobinfo *info, struct mlq_err *err)
{
    sqlite3_stmt *s = stmt(st, T_OF_JOB);
    int rc = sqlite3_bind_text(s, 1, info->id, -1, SQLITE_STATIC);
    rc |= sqlite3_bind_int(s, 2, MLQ_MAX_ATTEMPT_INFO);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "loading attempts");
    }
    int ret = 0;
    while (ret == 0 && info->nattempts < MLQ_MAX_ATTEMPT_INFO &&
           (rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (!info->attempts) {
            info->attempts = calloc(MLQ_MAX_ATTEMPT_INFO, sizeof *info->attempts);
            if (!info->attempts) {
                ret = mlq_err_set(err, MLQ_ENOMEM, "loading attempts: out of memory");
                break;
            }
        }
        struct mlq_store_attempt a;
        ret = att_from_row(s, &a, err);
        if (ret == 0 && attinfo_take(&a, &info->attempts[info->nattempts++]) < 0)
            ret = mlq_err_set(err, MLQ_ENOMEM, "loading attempts: out of memory");
        mlq_store_attempt_free(&a);
    }
    if (ret == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
        ret = mlq_storei_db_err(st, err, "loading attempts");
    mlq_storei_finish(s);
    return ret;
}

/* ---- fair share --------------------------------------------------------- */

int mlq_store_each_usage(struct mlq_store *st, int64_t since_ms, mlq_store_usage_fn fn, void *ctx,
                         struct mlq_err *err)
{
    sqlite3_stmt *s = stmt(st, T_USAGE_EACH);
    int ret = mlq_storei_walk_start(s, err);
    if (ret < 0)
        return ret;
    int rc = sqlite3_bind_int64(s, 1, since_ms);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "reading usage");
    }
    while (ret == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        const char *owner = (const char *)sqlite3_column_text(s, 0);
        struct mlq_store_usage u = {
            .owner = owner ? owner : "",
            .cpus_m = sqlite3_column_int64(s, 1),
            .gpu_h = sqlite3_column_int(s, 2),
            .start_ms = sqlite3_column_int64(s, 3),
            .end_ms = sqlite3_column_int64(s, 4),
            .team = (const char *)sqlite3_column_text(s, 5),
        };
        ret = fn(&u, ctx);
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = mlq_storei_db_err(st, err, "reading usage");
    mlq_storei_finish(s);
    return ret;
}

/* ---- run manifests ------------------------------------------------------ */

int mlq_store_manifest_put(struct mlq_store *st, const char *attempt_id, const char *json,
                           struct mlq_err *err)
{
    sqlite3_stmt *s = stmt(st, T_MANIFEST_PUT);
    int rc = sqlite3_bind_text(s, 1, attempt_id, -1, SQLITE_STATIC);
    rc |= sqlite3_bind_text(s, 2, json, -1, SQLITE_STATIC);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "saving a run manifest");
    }
    return mlq_storei_exec_stmt(st, s, "saving a run manifest", err);
}

int mlq_store_manifest_get(struct mlq_store *st, const char *job_id, int32_t num,
                           char attempt_id[MLQ_ID_LEN + 1], int32_t *num_out, char **json,
                           struct mlq_err *err)
{
    sqlite3_stmt *s = stmt(st, T_MANIFEST_GET);
    *json = NULL;
    int rc = sqlite3_bind_text(s, 1, job_id, -1, SQLITE_STATIC);
    rc |= sqlite3_bind_int(s, 2, num);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "loading a run manifest");
    }
    rc = sqlite3_step(s);
    int ret = 0;
    if (rc == SQLITE_ROW) {
        const char *id = (const char *)sqlite3_column_text(s, 0);
        const char *text = (const char *)sqlite3_column_text(s, 2);
        snprintf(attempt_id, MLQ_ID_LEN + 1, "%s", id ? id : "");
        *num_out = sqlite3_column_int(s, 1);
        if (!text)
            ret = mlq_err_set(err, MLQ_ENOTFOUND,
                              "attempt %d of job %.8s has no run manifest (it is recorded when"
                              " the attempt ends)",
                              (int)*num_out, job_id);
        else if (!(*json = strdup(text)))
            ret = mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    } else if (rc == SQLITE_DONE) {
        ret = num ? mlq_err_set(err, MLQ_ENOTFOUND, "job %.8s has no attempt %d", job_id, (int)num)
                  : mlq_err_set(err, MLQ_ENOTFOUND, "job %.8s has not run yet", job_id);
    } else {
        ret = mlq_storei_db_err(st, err, "loading a run manifest");
    }
    mlq_storei_finish(s);
    return ret;
}

int32_t mlq_store_attempt_gpu_h(const struct mlq_store_attempt *a, int32_t job_gpus)
{
    return a->gpu_h > 0 ? a->gpu_h : job_gpus * 100;
}

void mlq_store_attempt_free(struct mlq_store_attempt *a)
{
    if (!a)
        return;
    free(a->detail);
    a->detail = NULL;
}

/* ---- empty log streams -------------------------------------------------- */

/* Binds the attempt id and the stream's bit and steps once (step_key's
 * results). */
static int log_empty_step(struct mlq_store *st, enum astmt i, const char *attempt_id,
                          enum mlq_stream stream, struct mlq_err *err)
{
    sqlite3_stmt *s = stmt(st, i);
    int rc = sqlite3_bind_int(s, 2, 1 << (stream == MLQ_STREAM_STDERR));
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "an empty log stream");
    }
    return mlq_storei_step_key(st, s, attempt_id, "attempt", NULL, err);
}

int mlq_store_log_empty_set(struct mlq_store *st, const char *attempt_id, enum mlq_stream stream,
                            struct mlq_err *err)
{
    int rc = log_empty_step(st, T_LOG_EMPTY_SET, attempt_id, stream, err);
    if (rc == 1)
        mlq_storei_finish(stmt(st, T_LOG_EMPTY_SET));
    return rc == MLQ_ENOTFOUND ? 0 : rc;
}

bool mlq_store_log_empty(struct mlq_store *st, const char *attempt_id, enum mlq_stream stream)
{
    sqlite3_stmt *s = stmt(st, T_LOG_EMPTY_GET);
    bool empty = log_empty_step(st, T_LOG_EMPTY_GET, attempt_id, stream, NULL) == 1 &&
                 sqlite3_column_int(s, 0) != 0;
    mlq_storei_finish(s);
    return empty;
}
