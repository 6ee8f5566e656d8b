/* storejobinfo: the CLI's views of jobs (struct mlq_jobinfo): one job joined
 * with its current (or last) attempt, with its attempts when asked, and the
 * paged listings of `mlq list`. See store.h for the API; the invariants of
 * store.c hold here. */
#include <stdlib.h>
#include <string.h>

#include "storeint.h"

#define DEFAULT_LIST_LIMIT 100

enum istmt { I_INFO, I_LIST_ALL, I_LIST_STATE, I_LIST_FILTER, I_BY_NAME, I_COUNT };

/* A job joined with its current attempt, or its last one when none is
 * current (a job waiting for a retry still shows where it last ran). */
#define INFO_SELECT                                                                                \
    "SELECT j.id, j.state, j.reason, j.spec, j.submit_ms, j.start_ms, j.end_ms, j.exit_code,"      \
    " j.signal, a.num, a.id, a.worker, a.gpu_ids, j.node_failures, j.not_before_ms,"               \
    " j.array_id, j.array_index, j.seq"                                                            \
    " FROM jobs j LEFT JOIN attempts a ON a.id ="                                                  \
    " COALESCE(j.current_attempt,"                                                                 \
    " (SELECT id FROM attempts WHERE job_seq = j.seq ORDER BY num DESC LIMIT 1)) "
enum info_col {
    IC_ID,
    IC_STATE,
    IC_REASON,
    IC_SPEC,
    IC_SUBMIT,
    IC_START,
    IC_END,
    IC_EXIT,
    IC_SIGNAL,
    IC_ATT_NUM,
    IC_ATT_ID,
    IC_WORKER,
    IC_GPUS,
    IC_NODE_FAIL,
    IC_NOT_BEFORE,
    IC_ARRAY_ID,
    IC_ARRAY_INDEX,
    IC_SEQ
};

static const char *const isql[I_COUNT] = {
    [I_INFO] = INFO_SELECT "WHERE j.id = ?1",
    [I_LIST_ALL] = INFO_SELECT "WHERE j.seq < ?2 ORDER BY j.seq DESC LIMIT ?1",
    [I_LIST_STATE] = INFO_SELECT "WHERE j.state = ?1 AND j.seq < ?3"
                                 " ORDER BY j.seq DESC LIMIT ?2",
    /* Each filter is off when its parameter is NULL (or 0 for the state
     * set); the plain listings above keep their own indexed statements. */
    [I_LIST_FILTER] = INFO_SELECT "WHERE j.seq < ?2 AND (?3 = 0 OR ((1 << j.state) & ?3) != 0)"
                                  " AND (?4 IS NULL OR j.name = ?4)"
                                  " AND (?5 IS NULL OR j.owner = ?5)"
                                  " AND (?6 IS NULL OR j.array_id = ?6)"
                                  " AND j.submit_ms >= ?7 ORDER BY j.seq DESC LIMIT ?1",
    /* Jobs (not tasks) and arrays called ?1 of owner ?2 (any when NULL)
     * in a state of the set ?3 (an array: while one of its tasks is). */
    [I_BY_NAME] = "SELECT id, 0 FROM jobs WHERE name = ?1 AND array_id IS NULL"
                  " AND (?2 IS NULL OR owner = ?2) AND ((1 << state) & ?3) != 0"
                  " UNION ALL SELECT a.id, 1 FROM arrays a WHERE a.name = ?1"
                  " AND (?2 IS NULL OR a.owner = ?2) AND EXISTS (SELECT 1 FROM jobs t"
                  " WHERE t.array_id = a.id AND ((1 << t.state) & ?3) != 0) LIMIT ?4",
};

struct mlq_storejobinfo {
    sqlite3_stmt *stmt[I_COUNT];
};

int mlq_storejobinfo_open(sqlite3 *db, struct mlq_storejobinfo **out, struct mlq_err *err)
{
    struct mlq_storejobinfo *p = calloc(1, sizeof *p);
    *out = NULL;
    if (!p)
        return mlq_err_set(err, MLQ_ENOMEM, "preparing statements: out of memory");
    int rc = mlq_storei_prepare(db, isql, I_COUNT, p->stmt, err);
    if (rc < 0) {
        free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void mlq_storejobinfo_close(struct mlq_storejobinfo **pp)
{
    if (!pp || !*pp)
        return;
    mlq_storei_finalize((*pp)->stmt, I_COUNT);
    free(*pp);
    *pp = NULL;
}

static sqlite3_stmt *stmt(struct mlq_store *st, enum istmt i)
{
    return mlq_storei_jobinfo(st)->stmt[i];
}

static int info_take_spec(sqlite3_stmt *s, struct mlq_jobinfo *info, struct mlq_err *err)
{
    struct mlq_jobspec spec = {0};
    int rc = mlq_storei_spec_from_col(s, IC_SPEC, &spec, info->id, err);
    if (rc < 0)
        return rc;
    info->name = spec.name;
    info->owner = spec.owner;
    info->argv = spec.argv;
    info->argc = spec.argc;
    info->workdir = spec.workdir;
    info->cpus_m = spec.cpus_m;
    info->mem = spec.mem;
    info->gpus = spec.gpus;
    info->retries = spec.retries;
    info->time_limit_ms = spec.time_limit_ms;
    info->deps = spec.deps; /* full ids: the scheduler resolved them at submit */
    info->ndeps = spec.ndeps;
    info->pool = spec.pool;
    info->gpu_type = spec.gpu_type;
    info->gpu_frac = spec.gpu_frac;
    info->gpu_mem = spec.gpu_mem;
    info->nodes = (int32_t)spec.nodes;
    info->gpu_type = spec.gpu_type;
    info->require = spec.require;
    info->nrequire = spec.nrequire;
    info->priority = spec.priority;
    spec.gpu_type = NULL;
    spec.require = NULL;
    spec.nrequire = 0;
    info->held_by = spec.held_by;
    info->held_ms = spec.held_ms;
    spec.held_by = NULL;
    spec.pool = NULL;
    spec.gpu_type = NULL;
    info->team = spec.team;
    info->project = spec.project;
    spec.team = spec.project = NULL;
    spec.deps = NULL;
    spec.ndeps = 0;
    spec.name = spec.owner = spec.workdir = NULL;
    spec.argv = NULL;
    spec.argc = 0;
    mlq_proto_jobspec_free(&spec);
    return 0;
}

static int info_from_row(sqlite3_stmt *s, struct mlq_jobinfo *info, struct mlq_err *err)
{
    memset(info, 0, sizeof *info);
    int rc = mlq_storei_col_fixed(s, IC_ID, info->id, sizeof info->id);
    rc = rc ? rc : mlq_storei_col_dup(s, IC_REASON, &info->reason);
    rc = rc ? rc : mlq_storei_col_dup(s, IC_ATT_ID, &info->attempt_id);
    rc = rc ? rc : mlq_storei_col_dup(s, IC_WORKER, &info->worker);
    rc = rc ? rc : mlq_storei_col_dup(s, IC_GPUS, &info->gpu_ids);
    rc = rc ? rc : mlq_storei_col_dup(s, IC_ARRAY_ID, &info->array_id);
    int state = sqlite3_column_int(s, IC_STATE);
    if (rc == 0 && (state < 0 || state >= MLQ_JOB_STATE_COUNT))
        rc = MLQ_EDB;
    rc = rc < 0 ? mlq_storei_row_err(rc, err, "reading job") : info_take_spec(s, info, err);
    if (rc < 0) {
        mlq_proto_jobinfo_free(info);
        return rc;
    }
    info->state = (enum mlq_job_state)state;
    info->submit_ms = sqlite3_column_int64(s, IC_SUBMIT);
    info->start_ms = sqlite3_column_int64(s, IC_START);
    info->end_ms = sqlite3_column_int64(s, IC_END);
    info->exit_code = sqlite3_column_int(s, IC_EXIT);
    info->signal = sqlite3_column_int(s, IC_SIGNAL);
    info->attempt = sqlite3_column_int(s, IC_ATT_NUM); /* NULL reads as 0 */
    info->node_failures = sqlite3_column_int(s, IC_NODE_FAIL);
    info->not_before_ms = sqlite3_column_int64(s, IC_NOT_BEFORE);
    info->array_index = info->array_id ? sqlite3_column_int(s, IC_ARRAY_INDEX) : -1;
    return 0;
}

int mlq_store_job_info(struct mlq_store *st, const char *id, struct mlq_jobinfo *out,
                       struct mlq_err *err)
{
    return mlq_store_job_info_full(st, id, false, out, err);
}

int mlq_store_job_info_full(struct mlq_store *st, const char *id, bool with_attempts,
                            struct mlq_jobinfo *out, struct mlq_err *err)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *s = stmt(st, I_INFO);
    int rc = mlq_storei_step_key(st, s, id, "job", NULL, err);
    if (rc == 1) {
        rc = info_from_row(s, out, err);
        mlq_storei_finish(s);
    }
    if (rc == 0 && with_attempts)
        rc = mlq_storei_info_attempts(st, out, err);
    if (rc < 0)
        mlq_proto_jobinfo_free(out);
    return rc;
}

/* Appends the current row to *arr, growing it as needed. */
static int list_push(sqlite3_stmt *s, struct mlq_jobinfo **arr, uint32_t *n, uint32_t *cap,
                     struct mlq_err *err)
{
    if (*n == *cap) {
        uint32_t ncap = *cap * 2;
        struct mlq_jobinfo *p = realloc(*arr, (size_t)ncap * sizeof *p);
        if (!p)
            return mlq_err_set(err, MLQ_ENOMEM, "listing jobs: out of memory");
        *arr = p;
        *cap = ncap;
    }
    int rc = info_from_row(s, &(*arr)[*n], err);
    if (rc == 0)
        (*n)++;
    return rc;
}

static sqlite3_stmt *filter_stmt(struct mlq_store *st, const struct mlq_store_job_filter *f,
                                 int64_t before, uint32_t limit, int *rc)
{
    sqlite3_stmt *s = stmt(st, I_LIST_FILTER);
    *rc = sqlite3_bind_int64(s, 1, limit);
    *rc |= sqlite3_bind_int64(s, 2, before);
    *rc |= sqlite3_bind_int64(s, 3, f->states);
    *rc |=
        f->name ? sqlite3_bind_text(s, 4, f->name, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(s, 4);
    *rc |= f->owner ? sqlite3_bind_text(s, 5, f->owner, -1, SQLITE_TRANSIENT)
                    : sqlite3_bind_null(s, 5);
    *rc |= f->array ? sqlite3_bind_text(s, 6, f->array, -1, SQLITE_TRANSIENT)
                    : sqlite3_bind_null(s, 6);
    *rc |= sqlite3_bind_int64(s, 7, f->since_ms);
    return s;
}

/* The state when the filter keeps exactly one state and nothing else; -1
 * when it keeps any state; -2 when it needs the filtered statement. */
static int plain_state(const struct mlq_store_job_filter *f)
{
    if (!f)
        return -1;
    if (f->name || f->owner || f->array || f->since_ms > 0)
        return -2;
    if (f->states == 0)
        return -1;
    for (int i = 0; i < MLQ_JOB_STATE_COUNT; i++)
        if (f->states == (1u << i))
            return i;
    return -2;
}

static sqlite3_stmt *list_stmt(struct mlq_store *st, int state, int64_t before, uint32_t limit,
                               int *rc)
{
    sqlite3_stmt *s = stmt(st, state < 0 ? I_LIST_ALL : I_LIST_STATE);
    if (state < 0) {
        *rc = sqlite3_bind_int64(s, 1, limit);
        *rc |= sqlite3_bind_int64(s, 2, before);
    } else {
        *rc = sqlite3_bind_int(s, 1, state);
        *rc |= sqlite3_bind_int64(s, 2, limit);
        *rc |= sqlite3_bind_int64(s, 3, before);
    }
    return s;
}

int mlq_store_job_list(struct mlq_store *st, int state, uint32_t limit, struct mlq_jobinfo **out,
                       uint32_t *n, struct mlq_err *err)
{
    return mlq_store_job_page(st, state, INT64_MAX, limit, out, n, NULL, err);
}

int mlq_store_job_page(struct mlq_store *st, int state, int64_t before, uint32_t limit,
                       struct mlq_jobinfo **out, uint32_t *n, int64_t *seqs, struct mlq_err *err)
{
    if (state >= MLQ_JOB_STATE_COUNT) {
        *out = NULL;
        *n = 0;
        return mlq_err_set(err, MLQ_EINVAL, "unknown job state %d", state);
    }
    struct mlq_store_job_filter f = {.states = state < 0 ? 0 : 1u << state};
    return mlq_store_job_page_filtered(st, &f, before, limit, out, n, seqs, err);
}

int mlq_store_job_page_filtered(struct mlq_store *st, const struct mlq_store_job_filter *f,
                                int64_t before, uint32_t limit, struct mlq_jobinfo **out,
                                uint32_t *n, int64_t *seqs, struct mlq_err *err)
{
    *out = NULL;
    *n = 0;
    if (f && f->states >> MLQ_JOB_STATE_COUNT)
        return mlq_err_set(err, MLQ_EINVAL, "unknown job state in the filter");
    if (limit == 0)
        limit = DEFAULT_LIST_LIMIT;
    if (limit > MLQ_MAX_LIST)
        limit = MLQ_MAX_LIST;
    uint32_t cap = 16;
    struct mlq_jobinfo *arr = calloc(cap, sizeof *arr);
    if (!arr)
        return mlq_err_set(err, MLQ_ENOMEM, "listing jobs: out of memory");
    int rc, state = plain_state(f);
    sqlite3_stmt *s = state >= -1 ? list_stmt(st, state, before, limit, &rc)
                                  : filter_stmt(st, f, before, limit, &rc);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        free(arr);
        return mlq_storei_bind_err(rc, err, "listing jobs");
    }
    int ret = 0;
    while (ret == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (seqs)
            seqs[*n] = sqlite3_column_int64(s, IC_SEQ);
        ret = list_push(s, &arr, n, &cap, err);
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = mlq_storei_db_err(st, err, "listing jobs");
    mlq_storei_finish(s);
    if (ret < 0) {
        mlq_store_jobinfo_array_free(&arr, *n);
        *n = 0;
        return ret;
    }
    *out = arr;
    return 0;
}

int mlq_store_jobs_named(struct mlq_store *st, const char *name, const char *owner, uint32_t states,
                         uint32_t max, char (*ids)[MLQ_ID_LEN + 1], bool *is_array, uint32_t *n,
                         struct mlq_err *err)
{
    *n = 0;
    sqlite3_stmt *s = stmt(st, I_BY_NAME);
    int rc = sqlite3_bind_text(s, 1, name, -1, SQLITE_TRANSIENT);
    rc |= owner ? sqlite3_bind_text(s, 2, owner, -1, SQLITE_TRANSIENT) : sqlite3_bind_null(s, 2);
    rc |= sqlite3_bind_int64(s, 3, states);
    rc |= sqlite3_bind_int64(s, 4, max);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "looking up a job by name");
    }
    int ret = 0;
    while (ret == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW && *n < max) {
        if (mlq_storei_col_fixed(s, 0, ids[*n], MLQ_ID_LEN + 1) < 0)
            ret = mlq_err_set(err, MLQ_EDB, "looking up a job by name: corrupt row");
        is_array[(*n)++] = sqlite3_column_int(s, 1) != 0;
    }
    if (ret == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
        ret = mlq_storei_db_err(st, err, "looking up a job by name");
    mlq_storei_finish(s);
    return ret;
}

void mlq_store_jobinfo_array_free(struct mlq_jobinfo **arr, uint32_t n)
{
    if (!arr || !*arr)
        return;
    for (uint32_t i = 0; i < n; i++)
        mlq_proto_jobinfo_free(&(*arr)[i]);
    free(*arr);
    *arr = NULL;
}
