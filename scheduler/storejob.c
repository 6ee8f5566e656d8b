/* storejob: the rows of the jobs table (and the submit order they are
 * given): insert, save, the events of a job's steps, and the reads the
 * scheduler runs on (by id, by prefix, every active job). The CLI's views
 * of jobs are in storejobinfo.c. See store.h for the API; the invariants of
 * store.c hold here. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpk.h"
#include "protospec.h"
#include "storeint.h"

enum jstmt { J_INSERT, J_MAX_SEQ, J_SAVE, J_GET, J_RESOLVE, J_ACTIVE, J_RESPEC, J_COUNT };

/* Column order shared by every statement that returns a job row; the
 * indexes are enum job_col. */
#define JOB_COLS                                                                                   \
    "id, seq, state, reason, spec, submit_ms, start_ms, end_ms, attempts, node_failures,"          \
    " current_attempt, exit_code, signal, not_before_ms, array_id, array_index, env_id"
enum job_col {
    JC_ID,
    JC_SEQ,
    JC_STATE,
    JC_REASON,
    JC_SPEC,
    JC_SUBMIT,
    JC_START,
    JC_END,
    JC_ATTEMPTS,
    JC_NODE_FAIL,
    JC_CUR_ATT,
    JC_EXIT,
    JC_SIGNAL,
    JC_NOT_BEFORE,
    JC_ARRAY_ID,
    JC_ARRAY_INDEX,
    JC_ENV_ID
};

static const char *const jsql[J_COUNT] = {
    [J_INSERT] =
        "INSERT INTO jobs (id, seq, name, owner, state, reason, spec, cpus_m, mem, gpus, workdir,"
        " argv0, submit_ms, start_ms, end_ms, attempts, node_failures, current_attempt, exit_code,"
        " signal, not_before_ms, array_id, array_index, team, project, pool, gpu_type, env_id)"
        " VALUES (?1, ?23, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17,"
        " ?18, ?19, ?20, ?21, ?22, ?24, ?25, ?26, ?27, ?28)",
    [J_MAX_SEQ] = "SELECT COALESCE(MAX(seq), 0) FROM jobs",
    [J_SAVE] = "UPDATE jobs SET state = ?2, reason = ?3, submit_ms = ?4, start_ms = ?5,"
               " end_ms = ?6, attempts = ?7, node_failures = ?8, current_attempt = ?9,"
               " exit_code = ?10, signal = ?11, not_before_ms = ?12"
               " WHERE seq = ?13 AND id = ?1", /* seq: the rowid */
    [J_GET] = "SELECT " JOB_COLS " FROM jobs WHERE id = ?1",
    /* ?2 is the prefix followed by '~', which sorts after every id character. */
    [J_RESOLVE] = "SELECT id FROM jobs WHERE id >= ?1 AND id < ?2 ORDER BY id LIMIT 2",
    [J_ACTIVE] = "SELECT " JOB_COLS " FROM jobs WHERE state IN (?1, ?2, ?3) ORDER BY seq",
    [J_RESPEC] = "UPDATE jobs SET spec = ?2, cpus_m = ?3, mem = ?4, gpus = ?5 WHERE id = ?1",
};

struct mlq_storejob {
    sqlite3_stmt *stmt[J_COUNT];
    /* Where a row's spec blob is packed, kept from row to row: a batch of
     * 100,000 inserts allocates it once rather than once a row. */
    struct mlq_mpk_out blob;
};

int mlq_storejob_open(sqlite3 *db, struct mlq_storejob **out, struct mlq_err *err)
{
    struct mlq_storejob *p = calloc(1, sizeof *p);
    *out = NULL;
    if (!p)
        return mlq_err_set(err, MLQ_ENOMEM, "preparing statements: out of memory");
    int rc = mlq_storei_prepare(db, jsql, J_COUNT, p->stmt, err);
    if (rc < 0) {
        free(p);
        return rc;
    }
    mlq_mpk_out_init(&p->blob, MLQ_MAX_MSG);
    *out = p;
    return 0;
}

void mlq_storejob_close(struct mlq_storejob **pp)
{
    if (!pp || !*pp)
        return;
    mlq_storei_finalize((*pp)->stmt, J_COUNT);
    msgpack_sbuffer_destroy(&(*pp)->blob.sb);
    free(*pp);
    *pp = NULL;
}

static sqlite3_stmt *stmt(struct mlq_store *st, enum jstmt i)
{
    return mlq_storei_job(st)->stmt[i];
}

static const char *job_state_str(int s)
{
    return mlq_job_state_name((enum mlq_job_state)s);
}

/* ---- writes ------------------------------------------------------------ */

/* The current attempt's id as text (a copy: the text lives only here), or
 * NULL when none. */
static int bind_cur_att(sqlite3_stmt *s, int i, const struct mlq_store_job *j)
{
    char t[MLQ_ID_LEN + 1];
    mlq_store_job_cur_att(j, t);
    return t[0] ? sqlite3_bind_text(s, i, t, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(s, i);
}

static int bind_job_insert(sqlite3_stmt *s, const struct mlq_store_job *j, const char *blob,
                           size_t blob_len)
{
    const struct mlq_jobspec *sp = &j->spec;
    int rc = sqlite3_bind_text(s, 1, j->id, -1, SQLITE_STATIC);
    rc |= mlq_storei_bind_opt(s, 2, sp->name);
    rc |= mlq_storei_bind_opt(s, 3, sp->owner);
    rc |= sqlite3_bind_int(s, 4, (int)j->state);
    rc |= mlq_storei_bind_opt(s, 5, j->reason);
    rc |= sqlite3_bind_blob64(s, 6, blob, blob_len, SQLITE_STATIC);
    rc |= sqlite3_bind_int64(s, 7, sp->cpus_m);
    rc |= sqlite3_bind_int64(s, 8, sp->mem);
    rc |= sqlite3_bind_int(s, 9, sp->gpus);
    rc |= mlq_storei_bind_opt(s, 10, sp->workdir);
    rc |= mlq_storei_bind_opt(s, 11, sp->argc > 0 && sp->argv ? sp->argv[0] : NULL);
    rc |= sqlite3_bind_int64(s, 12, j->submit_ms);
    rc |= sqlite3_bind_int64(s, 13, j->start_ms);
    rc |= sqlite3_bind_int64(s, 14, j->end_ms);
    rc |= sqlite3_bind_int(s, 15, j->attempts);
    rc |= sqlite3_bind_int(s, 16, j->node_failures);
    rc |= bind_cur_att(s, 17, j);
    rc |= sqlite3_bind_int(s, 18, j->exit_code);
    rc |= sqlite3_bind_int(s, 19, j->signal);
    rc |= sqlite3_bind_int64(s, 20, j->not_before_ms);
    /* "" = not a task: both columns NULL */
    rc |= mlq_storei_bind_opt(s, 21, j->task_of);
    rc |= j->task_of ? sqlite3_bind_int(s, 22, j->array_index) : sqlite3_bind_null(s, 22);
    /* copies of the spec's, for the grouping of usage reports */
    rc |= mlq_storei_bind_opt(s, 24, sp->team);
    rc |= mlq_storei_bind_opt(s, 25, sp->project);
    rc |= mlq_storei_bind_opt(s, 26, sp->pool);
    rc |= mlq_storei_bind_opt(s, 27, sp->gpu_type);
    rc |= j->env_id > 0 ? sqlite3_bind_int64(s, 28, j->env_id) : sqlite3_bind_null(s, 28);
    return rc;
}

/* The submit order is counted here rather than by a MAX() subquery and a
 * RETURNING clause (which buffers its row in a temporary table): both cost
 * more than the insert itself. Any rollback makes the count re-read. */
static int last_seq(struct mlq_store *st, struct mlq_err *err)
{
    int64_t *cached = mlq_storei_last_seq(st);
    if (*cached >= 0)
        return 0;
    sqlite3_stmt *s = stmt(st, J_MAX_SEQ);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *cached = sqlite3_column_int64(s, 0);
    mlq_storei_finish(s);
    return rc == SQLITE_ROW ? 0 : mlq_storei_db_err(st, err, "reading the last job seq");
}

int mlq_storei_peek_seq(struct mlq_store *st, int64_t *last, struct mlq_err *err)
{
    int rc = last_seq(st, err);
    if (rc == 0)
        *last = *mlq_storei_last_seq(st);
    return rc;
}

int mlq_store_job_reserve_seq(struct mlq_store *st, int64_t *seq, struct mlq_err *err)
{
    int rc = last_seq(st, err);
    if (rc == 0)
        *seq = ++*mlq_storei_last_seq(st);
    return rc;
}

static int job_row_insert(struct mlq_store *st, struct mlq_store_job *job, const char *blob,
                          size_t blob_len, struct mlq_err *err)
{
    int64_t seq = job->seq;
    int rc = seq > 0 ? 0 : mlq_store_job_reserve_seq(st, &seq, err);
    if (rc < 0)
        return rc;
    sqlite3_stmt *s = stmt(st, J_INSERT);
    rc = bind_job_insert(s, job, blob, blob_len);
    rc |= sqlite3_bind_int64(s, 23, seq);
    rc = mlq_storei_exec_bound(st, s, rc, "inserting job", err);
    if (rc == 0)
        job->seq = seq;
    return rc;
}

static int check_job(const struct mlq_store_job *job, struct mlq_err *err)
{
    if (!mlq_storei_fixed_ok(job->id, sizeof job->id) || strlen(job->id) != MLQ_ID_LEN ||
        !mlq_storei_id_chars_ok(job->id, MLQ_ID_LEN))
        return mlq_err_set(err, MLQ_EINVAL, "job row without a valid id");
    if ((unsigned)job->state >= MLQ_JOB_STATE_COUNT)
        return mlq_err_set(err, MLQ_EINVAL, "job %s: state %d out of range", job->id,
                           (int)job->state);
    if (job->task_of && (strnlen(job->task_of, MLQ_ID_LEN + 1) != MLQ_ID_LEN ||
                         !mlq_storei_id_chars_ok(job->task_of, MLQ_ID_LEN)))
        return mlq_err_set(err, MLQ_EINVAL, "job %s: invalid array id", job->id);
    if (job->task_of && job->array_index < 0)
        return mlq_err_set(err, MLQ_EINVAL, "job %s: a task needs an index", job->id);
    return 0;
}

/* The spec's stored form (mlq_proto_jobspec_pack_stored) in the store's
 * blob buffer, valid until the next call. */
static int pack_spec(struct mlq_store *st, const struct mlq_jobspec *spec, const char **blob,
                     size_t *len, struct mlq_err *err)
{
    struct mlq_mpk_out *o = &mlq_storei_job(st)->blob;
    o->sb.size = 0;
    o->failed = 0;
    mlq_protospec_put_stored(&o->pk, spec);
    if (o->failed)
        return mlq_err_set(err, o->failed, "packing a job spec: %s",
                           o->failed == MLQ_ETOOBIG ? "too large" : "out of memory");
    *blob = o->sb.data;
    *len = o->sb.size;
    return 0;
}

/* Packs the spec and inserts the row, no event. */
static int job_insert_row(struct mlq_store *st, struct mlq_store_job *job, struct mlq_err *err)
{
    int rc = check_job(job, err);
    const char *blob = NULL;
    size_t blob_len = 0;
    if (rc == 0)
        rc = pack_spec(st, &job->spec, &blob, &blob_len, err);
    return rc < 0 ? rc : job_row_insert(st, job, blob, blob_len, err);
}

int mlq_store_job_insert_row(struct mlq_store *st, struct mlq_store_job *job, struct mlq_err *err)
{
    int rc = mlq_storei_hot_begin(st, err);
    if (rc == 0)
        rc = job_insert_row(st, job, err);
    return mlq_storei_hot_end(st, rc, err);
}

/* The job's "submit" (from < 0) or "state" event; none when from is its
 * state already. */
static int job_event(struct mlq_store *st, const struct mlq_store_job *job, int from,
                     struct mlq_err *err)
{
    if (from == (int)job->state)
        return 0;
    int rc = from < 0 ? mlq_storei_batch_take(st, job->seq, err) : 0;
    if (rc != 0)
        return rc < 0 ? rc : 0; /* the batch's row is its submit event */
    char att[MLQ_ID_LEN + 1];
    mlq_store_job_cur_att(job, att);
    struct mlq_storei_event ev = {.kind = from < 0 ? "submit" : "state",
                                  .job_id = job->id,
                                  .job_seq = job->seq,
                                  .attempt_id = from < 0 || !att[0] ? NULL : att,
                                  .from = from < 0 ? NULL : job_state_str(from),
                                  .to = job_state_str(job->state),
                                  .detail = job->reason};
    return mlq_storei_event_insert(st, &ev, err);
}

int mlq_store_job_note(struct mlq_store *st, const struct mlq_store_job *job, int from,
                       struct mlq_err *err)
{
    if (from >= MLQ_JOB_STATE_COUNT)
        return mlq_err_set(err, MLQ_EINVAL, "job %s: state %d out of range", job->id, from);
    int rc = mlq_storei_tx_check(st, err);
    return rc < 0 ? rc : job_event(st, job, from, err);
}

int mlq_store_job_insert(struct mlq_store *st, struct mlq_store_job *job, struct mlq_err *err)
{
    int rc = mlq_storei_hot_begin(st, err);
    if (rc == 0)
        rc = job_insert_row(st, job, err);
    if (rc == 0)
        rc = job_event(st, job, -1, err);
    return mlq_storei_hot_end(st, rc, err);
}

static int job_row_update(struct mlq_store *st, const struct mlq_store_job *j, struct mlq_err *err)
{
    sqlite3_stmt *s = stmt(st, J_SAVE);
    int rc = sqlite3_bind_text(s, 1, j->id, -1, SQLITE_STATIC);
    rc |= sqlite3_bind_int(s, 2, (int)j->state);
    rc |= mlq_storei_bind_opt(s, 3, j->reason);
    rc |= sqlite3_bind_int64(s, 4, j->submit_ms);
    rc |= sqlite3_bind_int64(s, 5, j->start_ms);
    rc |= sqlite3_bind_int64(s, 6, j->end_ms);
    rc |= sqlite3_bind_int(s, 7, j->attempts);
    rc |= sqlite3_bind_int(s, 8, j->node_failures);
    rc |= bind_cur_att(s, 9, j);
    rc |= sqlite3_bind_int(s, 10, j->exit_code);
    rc |= sqlite3_bind_int(s, 11, j->signal);
    rc |= sqlite3_bind_int64(s, 12, j->not_before_ms);
    rc |= sqlite3_bind_int64(s, 13, j->seq);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "saving job");
    }
    rc = mlq_storei_exec_stmt(st, s, "saving job", err);
    if (rc == 0 && sqlite3_changes(mlq_storei_db(st)) == 0)
        rc = mlq_err_set(err, MLQ_ENOTFOUND, "no job %s", j->id);
    return rc;
}

int mlq_store_job_save(struct mlq_store *st, const struct mlq_store_job *job,
                       enum mlq_job_state from, struct mlq_err *err)
{
    int rc = check_job(job, err);
    if (rc < 0)
        return rc;
    rc = mlq_storei_hot_begin(st, err);
    if (rc < 0)
        return rc;
    rc = job_row_update(st, job, err);
    if (rc == 0)
        rc = job_event(st, job, (int)from, err);
    return mlq_storei_hot_end(st, rc, err);
}

/* The spec blob and the resource columns that copy it, in one statement. */
static int job_spec_update(struct mlq_store *st, const struct mlq_store_job *job,
                           struct mlq_err *err)
{
    char *blob = NULL;
    size_t blob_len = 0;
    int rc = mlq_proto_jobspec_pack_stored(&job->spec, &blob, &blob_len, err);
    if (rc < 0)
        return rc;
    sqlite3_stmt *s = stmt(st, J_RESPEC);
    int b = sqlite3_bind_text(s, 1, job->id, -1, SQLITE_STATIC);
    b |= sqlite3_bind_blob64(s, 2, blob, blob_len, SQLITE_STATIC);
    b |= sqlite3_bind_int64(s, 3, job->spec.cpus_m);
    b |= sqlite3_bind_int64(s, 4, job->spec.mem);
    b |= sqlite3_bind_int(s, 5, job->spec.gpus);
    if (b != SQLITE_OK) {
        mlq_storei_finish(s);
        free(blob);
        return mlq_storei_bind_err(b, err, "saving job spec");
    }
    rc = mlq_storei_exec_stmt(st, s, "saving job spec", err);
    free(blob);
    return rc;
}

int mlq_store_job_event(struct mlq_store *st, const struct mlq_store_job *job, const char *kind,
                        const char *detail, struct mlq_err *err)
{
    int rc = mlq_storei_tx_check(st, err);
    struct mlq_storei_event ev = {
        .kind = kind, .job_id = job->id, .job_seq = job->seq, .detail = detail};
    return rc < 0 ? rc : mlq_storei_event_insert(st, &ev, err);
}

int mlq_store_job_respec(struct mlq_store *st, const struct mlq_store_job *job, const char *kind,
                         const char *detail, struct mlq_err *err)
{
    int rc = mlq_storei_hot_begin(st, err);
    if (rc < 0)
        return rc;
    rc = job_spec_update(st, job, err);
    struct mlq_storei_event ev = {
        .kind = kind, .job_id = job->id, .job_seq = job->seq, .detail = detail};
    if (rc == 0)
        rc = mlq_storei_event_insert(st, &ev, err);
    return mlq_storei_hot_end(st, rc, err);
}

/* ---- reads ------------------------------------------------------------- */

int mlq_storei_spec_from_col(sqlite3_stmt *s, int i, struct mlq_jobspec *spec, const char *id,
                             struct mlq_err *err)
{
    const void *blob = sqlite3_column_blob(s, i);
    int len = sqlite3_column_bytes(s, i);
    if (!blob && len > 0)
        return mlq_err_set(err, MLQ_ENOMEM, "job %s: out of memory", id);
    struct mlq_err e = {0};
    if (mlq_proto_jobspec_unpack(blob ? blob : "", (size_t)len, spec, &e) < 0)
        return mlq_err_set(err, MLQ_EDB, "job %s: stored spec unreadable: %s", id, e.msg);
    return 0;
}

static int job_from_row(sqlite3_stmt *s, struct mlq_store_job *j, struct mlq_err *err)
{
    memset(j, 0, sizeof *j);
    char att[MLQ_ID_LEN + 1];
    int rc = mlq_storei_col_fixed(s, JC_ID, j->id, sizeof j->id);
    rc = rc ? rc : mlq_storei_col_fixed(s, JC_CUR_ATT, att, sizeof att);
    if (rc == 0 && !mlq_idbin_set(&j->cur_att, att))
        rc = MLQ_EDB; /* attempt ids are generated canonical (id.h) */
    rc = rc ? rc : mlq_storei_col_dup(s, JC_REASON, &j->reason);
    int state = sqlite3_column_int(s, JC_STATE);
    if (rc == 0 && (state < 0 || state >= MLQ_JOB_STATE_COUNT))
        rc = MLQ_EDB;
    if (rc < 0) {
        mlq_store_job_free(j);
        return mlq_storei_row_err(rc, err, "reading job");
    }
    j->seq = sqlite3_column_int64(s, JC_SEQ);
    j->state = (enum mlq_job_state)state;
    j->submit_ms = sqlite3_column_int64(s, JC_SUBMIT);
    j->start_ms = sqlite3_column_int64(s, JC_START);
    j->end_ms = sqlite3_column_int64(s, JC_END);
    j->attempts = sqlite3_column_int(s, JC_ATTEMPTS);
    j->node_failures = sqlite3_column_int(s, JC_NODE_FAIL);
    j->exit_code = sqlite3_column_int(s, JC_EXIT);
    j->signal = sqlite3_column_int(s, JC_SIGNAL);
    j->not_before_ms = sqlite3_column_int64(s, JC_NOT_BEFORE);
    j->array_index = -1;
    rc = mlq_storei_col_dup(s, JC_ARRAY_ID, &j->task_of);
    if (rc < 0) {
        mlq_store_job_free(j);
        return mlq_storei_row_err(rc, err, "reading job");
    }
    if (j->task_of && !j->task_of[0]) { /* "" was never written: as NULL */
        free(j->task_of);
        j->task_of = NULL;
    }
    if (j->task_of)
        j->array_index = sqlite3_column_int(s, JC_ARRAY_INDEX);
    j->env_id = sqlite3_column_int64(s, JC_ENV_ID); /* NULL reads as 0 */
    rc = mlq_storei_spec_from_col(s, JC_SPEC, &j->spec, j->id, err);
    if (rc < 0)
        mlq_store_job_free(j);
    return rc;
}

int mlq_store_job_get(struct mlq_store *st, const char *id, struct mlq_store_job *out,
                      struct mlq_err *err)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *s = stmt(st, J_GET);
    int rc = mlq_storei_step_key(st, s, id, "job", NULL, err);
    if (rc == 1) {
        rc = job_from_row(s, out, err);
        mlq_storei_finish(s);
    }
    return rc;
}

int mlq_store_job_resolve(struct mlq_store *st, const char *prefix, char out[MLQ_ID_LEN + 1],
                          struct mlq_err *err)
{
    char shown[48];
    mlq_storei_quote_safe(shown, sizeof shown, prefix);
    out[0] = '\0';
    if (!prefix || !mlq_storei_id_chars_ok(prefix, MLQ_ID_LEN))
        return mlq_err_set(err, MLQ_EINVAL, "invalid job id \"%s\"", shown);
    char upper[MLQ_ID_LEN + 2];
    snprintf(upper, sizeof upper, "%s~", prefix);
    sqlite3_stmt *s = stmt(st, J_RESOLVE);
    int rc = sqlite3_bind_text(s, 1, prefix, -1, SQLITE_STATIC);
    rc |= sqlite3_bind_text(s, 2, upper, -1, SQLITE_STATIC);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "resolving job id");
    }
    int found = 0;
    bool bad = false;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        if (found++ == 0 && mlq_storei_col_fixed(s, 0, out, MLQ_ID_LEN + 1) < 0)
            bad = true;
    if (rc != SQLITE_DONE)
        rc = mlq_storei_db_err(st, err, "resolving job id");
    else if (bad)
        rc = mlq_err_set(err, MLQ_EDB, "resolving job id: corrupt row");
    else if (found == 0)
        rc = mlq_err_set(err, MLQ_ENOTFOUND, "no job matches \"%s\"", shown);
    else if (found > 1)
        rc = mlq_err_set(err, MLQ_EAMBIG, "\"%s\" matches several jobs; give more characters",
                         shown);
    else
        rc = 0;
    mlq_storei_finish(s);
    if (rc < 0)
        out[0] = '\0';
    return rc;
}

int mlq_store_each_active_job(struct mlq_store *st, mlq_store_job_fn fn, void *ctx,
                              struct mlq_err *err)
{
    sqlite3_stmt *s = stmt(st, J_ACTIVE);
    int rc = mlq_storei_walk_start(s, err);
    if (rc < 0)
        return rc;
    rc = sqlite3_bind_int(s, 1, MLQ_JOB_PENDING);
    rc |= sqlite3_bind_int(s, 2, MLQ_JOB_ASSIGNED);
    rc |= sqlite3_bind_int(s, 3, MLQ_JOB_RUNNING);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "loading active jobs");
    }
    int ret = 0;
    while (ret == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct mlq_store_job job;
        ret = job_from_row(s, &job, err);
        if (ret == 0) {
            ret = fn(&job, ctx);
            mlq_store_job_free(&job);
        }
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = mlq_storei_db_err(st, err, "loading active jobs");
    mlq_storei_finish(s);
    return ret;
}

void mlq_store_job_free(struct mlq_store_job *job)
{
    if (!job)
        return;
    free(job->reason);
    job->reason = NULL;
    free(job->task_of);
    job->task_of = NULL;
    mlq_proto_jobspec_free(&job->spec);
}
