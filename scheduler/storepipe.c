/* storepipe: the pipelines half of the store (schema v4): job arrays, the
 * resolver of what users type (job and array prefixes, "ARRAY/N"),
 * idempotency keys, schedules and their runs. See store.h for the API and
 * storeint.h for what it shares with store.c, whose invariants hold here too.
 *
 * A task is an ordinary job row with array_id and array_index set; the
 * arrays table holds one row per array and never changes after insert, so
 * an array's state is always computed from its tasks. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrayspec.h"
#include "storeint.h"

#define IDEM_TTL_MS     (7LL * 24 * 3600 * 1000)
#define RUNS_KEPT       100 /* schedule_runs rows kept per schedule */
#define FAILED_TEXT_MAX MLQ_MAX_STR

enum pstmt {
    P_ARRAY_INSERT,
    P_ARRAY_GET,
    P_ARRAY_COUNTS,
    P_ARRAY_FAILED,
    P_ARRAY_ACTIVE,
    P_ARRAY_RESOLVE,
    P_JOB_RESOLVE,
    P_TASK_GET,
    P_IDEM_GET,
    P_IDEM_PUT,
    P_IDEM_PURGE,
    P_JOB_SEQ,
    P_SEQ_RANGE,
    P_SCHED_SAVE,
    P_SCHED_GET,
    P_SCHED_EACH,
    P_SCHED_DELETE,
    P_RUNS_DELETE,
    P_RUN_ADD,
    P_RUN_TRIM,
    P_RUN_LIST,
    P_COUNT
};

#define SCHED_COLS                                                                                 \
    "name, cron, timezone, spec, concurrency, catch_up_ms, paused, next_fire_ms, last_fire_ms,"    \
    " last_job, created_ms"
enum sched_col {
    SC_NAME,
    SC_CRON,
    SC_TZ,
    SC_SPEC,
    SC_CONC,
    SC_CATCH_UP,
    SC_PAUSED,
    SC_NEXT,
    SC_LAST,
    SC_LAST_JOB,
    SC_CREATED
};

static const char *const psql[P_COUNT] = {
    [P_ARRAY_INSERT] = "INSERT INTO arrays (id, name, owner, spec, size, max_running, submit_ms)"
                       " VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7)",
    [P_ARRAY_GET] = "SELECT id, spec, size, max_running, submit_ms FROM arrays WHERE id = ?1",
    [P_ARRAY_COUNTS] = "SELECT state, COUNT(*) FROM jobs WHERE array_id = ?1 GROUP BY state",
    /* ?2..?4: FAILED, CANCELLED, TIMED_OUT */
    [P_ARRAY_FAILED] = "SELECT array_index FROM jobs WHERE array_id = ?1 AND state IN (?2, ?3, ?4)"
                       " ORDER BY array_index",
    [P_ARRAY_ACTIVE] = "SELECT id FROM jobs WHERE array_id = ?1 AND state IN (?2, ?3, ?4)"
                       " ORDER BY array_index",
    /* ?2 is the prefix followed by '~', which sorts after every id character. */
    [P_ARRAY_RESOLVE] = "SELECT id FROM arrays WHERE id >= ?1 AND id < ?2 ORDER BY id LIMIT 2",
    [P_JOB_RESOLVE] = "SELECT id FROM jobs WHERE id >= ?1 AND id < ?2 ORDER BY id LIMIT 2",
    [P_TASK_GET] = "SELECT id FROM jobs WHERE array_id = ?1 AND array_index = ?2",
    [P_IDEM_GET] = "SELECT id, request_hash FROM idempotency WHERE owner = ?1 AND key = ?2"
                   " AND created_ms > ?3",
    [P_IDEM_PUT] = "INSERT INTO idempotency (owner, key, id, created_ms, request_hash)"
                   " VALUES (?1, ?2, ?3, ?4, ?5)"
                   " ON CONFLICT(owner, key) DO UPDATE SET id = excluded.id,"
                   " created_ms = excluded.created_ms, request_hash = excluded.request_hash",
    [P_IDEM_PURGE] = "DELETE FROM idempotency WHERE created_ms < ?1",
    [P_JOB_SEQ] = "SELECT seq FROM jobs WHERE id = ?1",
    [P_SEQ_RANGE] = "SELECT id FROM jobs WHERE seq >= ?1 AND seq <= ?2 ORDER BY seq",
    [P_SCHED_SAVE] = "INSERT INTO schedules (" SCHED_COLS ") VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7,"
                     " ?8, ?9, ?10, ?11) ON CONFLICT(name) DO UPDATE SET cron = excluded.cron,"
                     " timezone = excluded.timezone, spec = excluded.spec,"
                     " concurrency = excluded.concurrency, catch_up_ms = excluded.catch_up_ms,"
                     " paused = excluded.paused, next_fire_ms = excluded.next_fire_ms,"
                     " last_fire_ms = excluded.last_fire_ms, last_job = excluded.last_job,"
                     " created_ms = excluded.created_ms",
    [P_SCHED_GET] = "SELECT " SCHED_COLS " FROM schedules WHERE name = ?1",
    [P_SCHED_EACH] = "SELECT " SCHED_COLS " FROM schedules ORDER BY name",
    [P_SCHED_DELETE] = "DELETE FROM schedules WHERE name = ?1",
    [P_RUNS_DELETE] = "DELETE FROM schedule_runs WHERE name = ?1",
    [P_RUN_ADD] = "INSERT INTO schedule_runs (name, fire_ms, job_id) VALUES (?1, ?2, ?3)",
    [P_RUN_TRIM] = "DELETE FROM schedule_runs WHERE name = ?1 AND rowid NOT IN (SELECT rowid"
                   " FROM schedule_runs WHERE name = ?1 ORDER BY fire_ms DESC, rowid DESC"
                   " LIMIT ?2)",
    /* A run whose job is an array (or gone) reads as PENDING. */
    [P_RUN_LIST] = "SELECT r.fire_ms, r.job_id, COALESCE(j.state, 0) FROM schedule_runs r"
                   " LEFT JOIN jobs j ON j.id = r.job_id WHERE r.name = ?1"
                   " ORDER BY r.fire_ms DESC, r.rowid DESC LIMIT ?2",
};

struct mlq_storepipe {
    sqlite3_stmt *stmt[P_COUNT];
};

int mlq_storepipe_open(sqlite3 *db, struct mlq_storepipe **out, struct mlq_err *err)
{
    struct mlq_storepipe *p = calloc(1, sizeof *p);
    *out = NULL;
    if (!p)
        return mlq_err_set(err, MLQ_ENOMEM, "preparing statements: out of memory");
    int rc = mlq_storei_prepare(db, psql, P_COUNT, p->stmt, err);
    if (rc < 0) {
        free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void mlq_storepipe_close(struct mlq_storepipe **pp)
{
    if (!pp || !*pp)
        return;
    mlq_storei_finalize((*pp)->stmt, P_COUNT);
    free(*pp);
    *pp = NULL;
}

static sqlite3_stmt *stmt(struct mlq_store *st, enum pstmt i)
{
    return mlq_storei_pipe(st)->stmt[i];
}

static bool full_id_ok(const char *id)
{
    return id && strnlen(id, MLQ_ID_LEN + 1) == MLQ_ID_LEN &&
           mlq_storei_id_chars_ok(id, MLQ_ID_LEN);
}

/* Runs a statement that yields at most one text column into out ("" when
 * no row). *found tells whether there was one. */
static int one_id(struct mlq_store *st, sqlite3_stmt *s, char out[MLQ_ID_LEN + 1], bool *found,
                  const char *what, struct mlq_err *err)
{
    out[0] = '\0';
    *found = false;
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        *found = true;
        rc = mlq_storei_col_fixed(s, 0, out, MLQ_ID_LEN + 1) < 0
                 ? mlq_err_set(err, MLQ_EDB, "%s: corrupt row", what)
                 : 0;
    } else {
        rc = rc == SQLITE_DONE ? 0 : mlq_storei_db_err(st, err, what);
    }
    mlq_storei_finish(s);
    return rc;
}

/* ---- arrays ------------------------------------------------------------ */

static int bind_array(sqlite3_stmt *s, const struct mlq_store_array *a, const char *blob,
                      size_t len)
{
    int rc = sqlite3_bind_text(s, 1, a->id, -1, SQLITE_STATIC);
    rc |= mlq_storei_bind_opt(s, 2, a->spec.name);
    rc |= mlq_storei_bind_opt(s, 3, a->spec.owner);
    rc |= sqlite3_bind_blob64(s, 4, blob, len, SQLITE_STATIC);
    rc |= sqlite3_bind_int64(s, 5, a->size);
    rc |= sqlite3_bind_int64(s, 6, a->max_running);
    rc |= sqlite3_bind_int64(s, 7, a->submit_ms);
    return rc;
}

int mlq_store_array_insert(struct mlq_store *st, const struct mlq_store_array *a,
                           struct mlq_err *err)
{
    if (!full_id_ok(a->id))
        return mlq_err_set(err, MLQ_EINVAL, "array row without a valid id");
    if (a->size < 1 || a->size > MLQ_MAX_ARRAY)
        return mlq_err_set(err, MLQ_EINVAL, "array %s: size %u out of range", a->id, a->size);
    char *blob = NULL;
    size_t len = 0;
    int rc = mlq_proto_jobspec_pack(&a->spec, &blob, &len, err);
    if (rc == 0)
        rc = mlq_storei_op_begin(st, err);
    if (rc < 0) {
        free(blob);
        return rc;
    }
    sqlite3_stmt *s = stmt(st, P_ARRAY_INSERT);
    rc = bind_array(s, a, blob, len);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        rc = mlq_storei_bind_err(rc, err, "inserting array");
    } else {
        rc = mlq_storei_exec_stmt(st, s, "inserting array", err);
    }
    free(blob);
    if (rc == 0)
        rc = mlq_store_event_add(st, "array_submit", a->id, NULL, NULL, a->spec.array, err);
    return mlq_storei_op_end(st, rc, err);
}

static int array_from_row(sqlite3_stmt *s, struct mlq_store_array *a, struct mlq_err *err)
{
    int rc = mlq_storei_col_fixed(s, 0, a->id, sizeof a->id);
    if (rc < 0)
        return mlq_storei_row_err(rc, err, "reading array");
    a->size = (uint32_t)sqlite3_column_int64(s, 2);
    a->max_running = (uint32_t)sqlite3_column_int64(s, 3);
    a->submit_ms = sqlite3_column_int64(s, 4);
    return mlq_storei_spec_from_col(s, 1, &a->spec, a->id, err);
}

int mlq_store_array_get(struct mlq_store *st, const char *id, struct mlq_store_array *out,
                        struct mlq_err *err)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *s = stmt(st, P_ARRAY_GET);
    int rc = mlq_storei_step_key(st, s, id, "array", NULL, err);
    if (rc == 1) {
        rc = array_from_row(s, out, err);
        mlq_storei_finish(s);
    }
    if (rc < 0)
        mlq_store_array_free(out);
    return rc;
}

void mlq_store_array_free(struct mlq_store_array *a)
{
    if (a)
        mlq_proto_jobspec_free(&a->spec);
}

static int array_counts(struct mlq_store *st, const char *id, uint32_t counts[],
                        struct mlq_err *err)
{
    sqlite3_stmt *s = stmt(st, P_ARRAY_COUNTS);
    int rc = sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "counting tasks");
    }
    while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
        int state = sqlite3_column_int(s, 0);
        if (state >= 0 && state < MLQ_JOB_STATE_COUNT)
            counts[state] = (uint32_t)sqlite3_column_int64(s, 1);
    }
    rc = rc == SQLITE_DONE ? 0 : mlq_storei_db_err(st, err, "counting tasks");
    mlq_storei_finish(s);
    return rc;
}

static int bind_id_states(sqlite3_stmt *s, const char *id, int a, int b, int c)
{
    int rc = sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    rc |= sqlite3_bind_int(s, 2, a);
    rc |= sqlite3_bind_int(s, 3, b);
    rc |= sqlite3_bind_int(s, 4, c);
    return rc;
}

/* The indices of the tasks that ended without success, as runs ("3,17-19"),
 * cut short with ",..." past FAILED_TEXT_MAX bytes; NULL when none. */
static int array_failed(struct mlq_store *st, const char *id, uint32_t nfailed, char **out,
                        struct mlq_err *err)
{
    *out = NULL;
    if (nfailed == 0)
        return 0;
    uint32_t *v = calloc(nfailed, sizeof *v);
    char *text = malloc(FAILED_TEXT_MAX + 1);
    if (!v || !text) {
        free(v);
        free(text);
        return mlq_err_set(err, MLQ_ENOMEM, "listing failed tasks: out of memory");
    }
    sqlite3_stmt *s = stmt(st, P_ARRAY_FAILED);
    int rc = bind_id_states(s, id, MLQ_JOB_FAILED, MLQ_JOB_CANCELLED, MLQ_JOB_TIMED_OUT);
    uint32_t n = 0;
    if (rc != SQLITE_OK)
        rc = mlq_storei_bind_err(rc, err, "listing failed tasks");
    else {
        while (n < nfailed && (rc = sqlite3_step(s)) == SQLITE_ROW)
            v[n++] = (uint32_t)sqlite3_column_int64(s, 0);
        rc = (rc == SQLITE_DONE || rc == SQLITE_ROW) ? 0
                                                     : mlq_storei_db_err(st, err, "listing tasks");
    }
    mlq_storei_finish(s);
    if (rc == 0 && n > 0)
        *out = mlq_arrayspec_format(v, n, text, FAILED_TEXT_MAX + 1);
    if (!*out)
        free(text);
    free(v);
    return rc;
}

/* Name, owner and argv of the array's spec, moved into info. */
static void info_take_spec(struct mlq_store_array *a, struct mlq_arrayinfo *info)
{
    info->name = a->spec.name;
    info->owner = a->spec.owner;
    info->argv = a->spec.argv;
    info->argc = a->spec.argc;
    a->spec.name = a->spec.owner = NULL;
    a->spec.argv = NULL;
    a->spec.argc = 0;
}

int mlq_store_array_info(struct mlq_store *st, const char *id, struct mlq_arrayinfo *out,
                         struct mlq_err *err)
{
    struct mlq_store_array a;
    memset(out, 0, sizeof *out);
    int rc = mlq_store_array_get(st, id, &a, err);
    if (rc < 0)
        return rc;
    memcpy(out->id, a.id, sizeof out->id);
    out->size = a.size;
    out->max_running = a.max_running;
    out->submit_ms = a.submit_ms;
    info_take_spec(&a, out);
    mlq_store_array_free(&a);
    rc = array_counts(st, out->id, out->counts, err);
    uint32_t nfailed = out->counts[MLQ_JOB_FAILED] + out->counts[MLQ_JOB_CANCELLED] +
                       out->counts[MLQ_JOB_TIMED_OUT];
    if (rc == 0)
        rc = array_failed(st, out->id, nfailed, &out->failed, err);
    if (rc < 0)
        mlq_proto_arrayinfo_free(out);
    return rc;
}

int mlq_store_array_active_tasks(struct mlq_store *st, const char *id, char (**out)[MLQ_ID_LEN + 1],
                                 uint32_t *n, struct mlq_err *err)
{
    *out = NULL;
    *n = 0;
    sqlite3_stmt *s = stmt(st, P_ARRAY_ACTIVE);
    int rc = bind_id_states(s, id, MLQ_JOB_PENDING, MLQ_JOB_ASSIGNED, MLQ_JOB_RUNNING);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "listing active tasks");
    }
    uint32_t cap = 0;
    int ret = 0;
    while (ret == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        if (*n == cap) {
            uint32_t ncap = cap ? cap * 2 : 64;
            void *p = realloc(*out, (size_t)ncap * sizeof **out);
            if (!p) {
                ret = mlq_err_set(err, MLQ_ENOMEM, "listing active tasks: out of memory");
                break;
            }
            *out = p;
            cap = ncap;
        }
        if (mlq_storei_col_fixed(s, 0, (*out)[*n], MLQ_ID_LEN + 1) < 0)
            ret = mlq_err_set(err, MLQ_EDB, "listing active tasks: corrupt row");
        else
            (*n)++;
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = mlq_storei_db_err(st, err, "listing active tasks");
    mlq_storei_finish(s);
    if (ret < 0) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return ret;
}

/* ---- resolving what users type ------------------------------------------ */

/* Counts (0, 1 or 2 = "several") the ids of table s starting with prefix;
 * the first lands in out. */
static int prefix_matches(struct mlq_store *st, sqlite3_stmt *s, const char *prefix,
                          char out[MLQ_ID_LEN + 1], int *found, struct mlq_err *err)
{
    char upper[MLQ_ID_LEN + 2];
    snprintf(upper, sizeof upper, "%s~", prefix);
    *found = 0;
    int rc = sqlite3_bind_text(s, 1, prefix, -1, SQLITE_STATIC);
    rc |= sqlite3_bind_text(s, 2, upper, -1, SQLITE_TRANSIENT);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "resolving id");
    }
    bool bad = false;
    while ((rc = sqlite3_step(s)) == SQLITE_ROW)
        if ((*found)++ == 0 && mlq_storei_col_fixed(s, 0, out, MLQ_ID_LEN + 1) < 0)
            bad = true;
    if (rc != SQLITE_DONE)
        rc = mlq_storei_db_err(st, err, "resolving id");
    else
        rc = bad ? mlq_err_set(err, MLQ_EDB, "resolving id: corrupt row") : 0;
    mlq_storei_finish(s);
    return rc;
}

/* A prefix naming exactly one job or array. */
static int resolve_plain(struct mlq_store *st, const char *ref, const char *shown,
                         char out[MLQ_ID_LEN + 1], bool *is_array, struct mlq_err *err)
{
    char job[MLQ_ID_LEN + 1], arr[MLQ_ID_LEN + 1];
    int nj = 0, na = 0;
    int rc = prefix_matches(st, stmt(st, P_JOB_RESOLVE), ref, job, &nj, err);
    if (rc == 0)
        rc = prefix_matches(st, stmt(st, P_ARRAY_RESOLVE), ref, arr, &na, err);
    if (rc < 0)
        return rc;
    if (nj + na == 0)
        return mlq_err_set(err, MLQ_ENOTFOUND, "no job or array matches \"%s\"", shown);
    if (nj + na > 1)
        return mlq_err_set(err, MLQ_EAMBIG,
                           "\"%s\" matches several jobs or arrays; give more characters", shown);
    *is_array = na == 1;
    memcpy(out, na == 1 ? arr : job, MLQ_ID_LEN + 1);
    return 0;
}

/* "PREFIX/N": task N of the one array PREFIX names. */
static int resolve_task(struct mlq_store *st, const char *ref, const char *slash, const char *shown,
                        char out[MLQ_ID_LEN + 1], struct mlq_err *err)
{
    char prefix[MLQ_ID_LEN + 1], arr[MLQ_ID_LEN + 1];
    size_t plen = (size_t)(slash - ref);
    const char *digits = slash + 1;
    size_t nd = strlen(digits);
    if (plen == 0 || plen > MLQ_ID_LEN || nd == 0 || nd > 7 || strspn(digits, "0123456789") != nd)
        return mlq_err_set(err, MLQ_EINVAL, "invalid task reference \"%s\" (want ARRAY/N)", shown);
    memcpy(prefix, ref, plen);
    prefix[plen] = '\0';
    if (!mlq_storei_id_chars_ok(prefix, MLQ_ID_LEN))
        return mlq_err_set(err, MLQ_EINVAL, "invalid array id in \"%s\"", shown);
    int na = 0;
    int rc = prefix_matches(st, stmt(st, P_ARRAY_RESOLVE), prefix, arr, &na, err);
    if (rc < 0)
        return rc;
    if (na == 0)
        return mlq_err_set(err, MLQ_ENOTFOUND, "no array matches \"%s\"", shown);
    if (na > 1)
        return mlq_err_set(err, MLQ_EAMBIG, "\"%s\" matches several arrays; give more characters",
                           shown);
    sqlite3_stmt *s = stmt(st, P_TASK_GET);
    rc = sqlite3_bind_text(s, 1, arr, -1, SQLITE_TRANSIENT);
    rc |= sqlite3_bind_int64(s, 2, strtoll(digits, NULL, 10));
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "resolving task");
    }
    bool found;
    rc = one_id(st, s, out, &found, "resolving task", err);
    if (rc == 0 && !found)
        rc = mlq_err_set(err, MLQ_ENOTFOUND, "array %.8s has no task %s", arr, digits);
    return rc;
}

int mlq_store_resolve(struct mlq_store *st, const char *ref, char out[MLQ_ID_LEN + 1],
                      bool *is_array, struct mlq_err *err)
{
    char shown[48];
    mlq_storei_quote_safe(shown, sizeof shown, ref);
    out[0] = '\0';
    *is_array = false;
    if (!ref || strnlen(ref, MLQ_MAX_REF + 1) > MLQ_MAX_REF)
        return mlq_err_set(err, MLQ_EINVAL, "invalid job id \"%s\"", shown);
    const char *slash = strchr(ref, '/');
    int rc;
    if (slash)
        rc = resolve_task(st, ref, slash, shown, out, err);
    else if (!mlq_storei_id_chars_ok(ref, MLQ_ID_LEN))
        rc = mlq_err_set(err, MLQ_EINVAL, "invalid job id \"%s\"", shown);
    else
        rc = resolve_plain(st, ref, shown, out, is_array, err);
    if (rc < 0) {
        out[0] = '\0';
        *is_array = false;
    }
    return rc;
}

/* ---- idempotency keys --------------------------------------------------- */

int mlq_store_idem_lookup(struct mlq_store *st, const char *owner, const char *key, int64_t now_ms,
                          char out[MLQ_ID_LEN + 1], char hash[MLQ_STORE_HASH_HEX + 1],
                          struct mlq_err *err)
{
    out[0] = '\0';
    hash[0] = '\0';
    sqlite3_stmt *s = stmt(st, P_IDEM_GET);
    int rc = sqlite3_bind_text(s, 1, owner, -1, SQLITE_STATIC);
    rc |= sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
    rc |= sqlite3_bind_int64(s, 3, now_ms - IDEM_TTL_MS);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "looking up idempotency key");
    }
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW) {
        const unsigned char *h = sqlite3_column_text(s, 1);
        rc = mlq_storei_col_fixed(s, 0, out, MLQ_ID_LEN + 1) < 0 ||
                     (h && strlen((const char *)h) > MLQ_STORE_HASH_HEX)
                 ? mlq_err_set(err, MLQ_EDB, "looking up idempotency key: corrupt row")
                 : 0;
        if (rc == 0 && h)
            snprintf(hash, MLQ_STORE_HASH_HEX + 1, "%s", (const char *)h);
    } else if (rc == SQLITE_DONE) {
        rc = mlq_err_set(err, MLQ_ENOTFOUND, "idempotency key not used");
    } else {
        rc = mlq_storei_db_err(st, err, "looking up idempotency key");
    }
    mlq_storei_finish(s);
    return rc;
}

int mlq_store_idem_get(struct mlq_store *st, const char *owner, const char *key, int64_t now_ms,
                       char out[MLQ_ID_LEN + 1], struct mlq_err *err)
{
    char hash[MLQ_STORE_HASH_HEX + 1];
    return mlq_store_idem_lookup(st, owner, key, now_ms, out, hash, err);
}

/* The seq of job id (0 when there is no such job). */
static int job_seq(struct mlq_store *st, const char *id, int64_t *seq, struct mlq_err *err)
{
    sqlite3_stmt *s = stmt(st, P_JOB_SEQ);
    *seq = 0;
    if (sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC) != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(SQLITE_ERROR, err, "looking up a job");
    }
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        *seq = sqlite3_column_int64(s, 0);
    rc = rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 : mlq_storei_db_err(st, err, "looking up a job");
    mlq_storei_finish(s);
    return rc;
}

/* The ids of the jobs with seq first..last, which must be n. */
static int ids_by_seq(struct mlq_store *st, int64_t first, int64_t last, uint32_t n,
                      char (*ids)[MLQ_ID_LEN + 1], struct mlq_err *err)
{
    sqlite3_stmt *s = stmt(st, P_SEQ_RANGE);
    int rc = sqlite3_bind_int64(s, 1, first);
    rc |= sqlite3_bind_int64(s, 2, last);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "listing jobs");
    }
    uint32_t got = 0;
    bool corrupt = false;
    while (!corrupt && (rc = sqlite3_step(s)) == SQLITE_ROW && got < n)
        corrupt = mlq_storei_col_fixed(s, 0, ids[got++], MLQ_ID_LEN + 1) < 0;
    rc = corrupt ? mlq_err_set(err, MLQ_EDB, "listing jobs: corrupt row")
         : rc == SQLITE_DONE || rc == SQLITE_ROW ? 0
                                                 : mlq_storei_db_err(st, err, "listing jobs");
    mlq_storei_finish(s);
    if (rc == 0 && got != n)
        rc = mlq_err_set(err, MLQ_EINVAL,
                         "the jobs first submitted with this idempotency key are no longer all "
                         "kept");
    return rc;
}

int mlq_store_idem_many_get(struct mlq_store *st, const char *owner, const char *key,
                            int64_t now_ms, uint32_t n, char (*ids)[MLQ_ID_LEN + 1],
                            struct mlq_err *err)
{
    char first[MLQ_ID_LEN + 1], last[MLQ_ID_LEN + 1], last_key[MLQ_MAX_IDEM_KEY + 8];
    snprintf(last_key, sizeof last_key, "%s" MLQ_STORE_IDEM_LAST, key);
    int64_t a = 0, b = 0;
    int rc = mlq_store_idem_get(st, owner, key, now_ms, first, err);
    if (rc == 0 && mlq_store_idem_get(st, owner, last_key, now_ms, last, NULL) < 0)
        rc = mlq_err_set(err, MLQ_EINVAL, "idempotency key already used for a single submit");
    if (rc == 0)
        rc = job_seq(st, first, &a, err);
    if (rc == 0)
        rc = job_seq(st, last, &b, err);
    if (rc == 0 && (a == 0 || b < a))
        rc = mlq_err_set(err, MLQ_EINVAL,
                         "the jobs first submitted with this idempotency key are no longer all "
                         "kept");
    if (rc == 0 && b - a + 1 != (int64_t)n)
        rc = mlq_err_set(err, MLQ_EINVAL,
                         "idempotency key first used for %lld jobs, not %u: nothing submitted",
                         (long long)(b - a + 1), n);
    return rc == 0 ? ids_by_seq(st, a, b, n, ids, err) : rc;
}

int mlq_store_idem_put(struct mlq_store *st, const char *owner, const char *key, const char *id,
                       const char *hash, int64_t now_ms, struct mlq_err *err)
{
    if (!owner || !*owner || !key || !*key || !full_id_ok(id))
        return mlq_err_set(err, MLQ_EINVAL, "idempotency entry without owner, key or id");
    sqlite3_stmt *s = stmt(st, P_IDEM_PUT);
    int rc = sqlite3_bind_text(s, 1, owner, -1, SQLITE_STATIC);
    rc |= sqlite3_bind_text(s, 2, key, -1, SQLITE_STATIC);
    rc |= sqlite3_bind_text(s, 3, id, -1, SQLITE_STATIC);
    rc |= sqlite3_bind_int64(s, 4, now_ms);
    rc |= mlq_storei_bind_opt(s, 5, hash);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "saving idempotency key");
    }
    return mlq_storei_exec_stmt(st, s, "saving idempotency key", err);
}

int mlq_store_idem_purge(struct mlq_store *st, int64_t before_ms, struct mlq_err *err)
{
    sqlite3_stmt *s = stmt(st, P_IDEM_PURGE);
    int rc = sqlite3_bind_int64(s, 1, before_ms);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "purging idempotency keys");
    }
    return mlq_storei_exec_stmt(st, s, "purging idempotency keys", err);
}

/* ---- schedules ------------------------------------------------------------ */

static int check_schedule(const struct mlq_store_schedule *sc, struct mlq_err *err)
{
    if (strnlen(sc->name, sizeof sc->name) == sizeof sc->name ||
        mlq_proto_schedule_name_check(sc->name, err) < 0)
        return mlq_err_set(err, MLQ_EINVAL, "schedule row without a valid name");
    if (!sc->cron || !*sc->cron)
        return mlq_err_set(err, MLQ_EINVAL, "schedule %s: no cron expression", sc->name);
    if ((unsigned)sc->concurrency > MLQ_CONC_REPLACE)
        return mlq_err_set(err, MLQ_EINVAL, "schedule %s: concurrency out of range", sc->name);
    if (strnlen(sc->last_job, sizeof sc->last_job) == sizeof sc->last_job)
        return mlq_err_set(err, MLQ_EINVAL, "schedule %s: last job not terminated", sc->name);
    return 0;
}

static int bind_schedule(sqlite3_stmt *s, const struct mlq_store_schedule *sc, const char *blob,
                         size_t len)
{
    int rc = sqlite3_bind_text(s, 1, sc->name, -1, SQLITE_STATIC);
    rc |= sqlite3_bind_text(s, 2, sc->cron, -1, SQLITE_STATIC);
    rc |= mlq_storei_bind_opt(s, 3, sc->timezone);
    rc |= sqlite3_bind_blob64(s, 4, blob, len, SQLITE_STATIC);
    rc |= sqlite3_bind_int(s, 5, (int)sc->concurrency);
    rc |= sqlite3_bind_int64(s, 6, sc->catch_up_ms);
    rc |= sqlite3_bind_int(s, 7, sc->paused ? 1 : 0);
    rc |= sqlite3_bind_int64(s, 8, sc->next_fire_ms);
    rc |= sqlite3_bind_int64(s, 9, sc->last_fire_ms);
    rc |= mlq_storei_bind_opt(s, 10, sc->last_job);
    rc |= sqlite3_bind_int64(s, 11, sc->created_ms);
    return rc;
}

/* The event row names the schedule in its detail: "NAME: what happened". */
static int schedule_event(struct mlq_store *st, const char *name, const char *detail,
                          struct mlq_err *err)
{
    char text[MLQ_MAX_NAME + 2 + 256];
    snprintf(text, sizeof text, "%s: %s", name, detail ? detail : "saved");
    return mlq_store_event_add(st, "schedule", NULL, NULL, NULL, text, err);
}

int mlq_store_schedule_save(struct mlq_store *st, const struct mlq_store_schedule *sc,
                            const char *event_detail, struct mlq_err *err)
{
    int rc = check_schedule(sc, err);
    char *blob = NULL;
    size_t len = 0;
    if (rc == 0)
        rc = mlq_proto_jobspec_pack(&sc->spec, &blob, &len, err);
    if (rc == 0)
        rc = mlq_storei_op_begin(st, err);
    if (rc < 0) {
        free(blob);
        return rc;
    }
    sqlite3_stmt *s = stmt(st, P_SCHED_SAVE);
    rc = bind_schedule(s, sc, blob, len);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        rc = mlq_storei_bind_err(rc, err, "saving schedule");
    } else {
        rc = mlq_storei_exec_stmt(st, s, "saving schedule", err);
    }
    free(blob);
    if (rc == 0)
        rc = schedule_event(st, sc->name, event_detail, err);
    return mlq_storei_op_end(st, rc, err);
}

static int schedule_from_row(sqlite3_stmt *s, struct mlq_store_schedule *sc, struct mlq_err *err)
{
    memset(sc, 0, sizeof *sc);
    int rc = mlq_storei_col_fixed(s, SC_NAME, sc->name, sizeof sc->name);
    rc = rc ? rc : mlq_storei_col_dup(s, SC_CRON, &sc->cron);
    rc = rc ? rc : mlq_storei_col_dup(s, SC_TZ, &sc->timezone);
    rc = rc ? rc : mlq_storei_col_fixed(s, SC_LAST_JOB, sc->last_job, sizeof sc->last_job);
    int conc = sqlite3_column_int(s, SC_CONC);
    if (rc == 0 && (conc < 0 || conc > MLQ_CONC_REPLACE || !sc->cron))
        rc = MLQ_EDB;
    if (rc < 0) {
        mlq_store_schedule_free(sc);
        return mlq_storei_row_err(rc, err, "reading schedule");
    }
    sc->concurrency = (enum mlq_concurrency)conc;
    sc->catch_up_ms = sqlite3_column_int64(s, SC_CATCH_UP);
    sc->paused = sqlite3_column_int(s, SC_PAUSED) != 0;
    sc->next_fire_ms = sqlite3_column_int64(s, SC_NEXT);
    sc->last_fire_ms = sqlite3_column_int64(s, SC_LAST);
    sc->created_ms = sqlite3_column_int64(s, SC_CREATED);
    rc = mlq_storei_spec_from_col(s, SC_SPEC, &sc->spec, sc->name, err);
    if (rc < 0)
        mlq_store_schedule_free(sc);
    return rc;
}

int mlq_store_schedule_get(struct mlq_store *st, const char *name, struct mlq_store_schedule *out,
                           struct mlq_err *err)
{
    char shown[48];
    memset(out, 0, sizeof *out);
    mlq_storei_quote_safe(shown, sizeof shown, name);
    sqlite3_stmt *s = stmt(st, P_SCHED_GET);
    int rc = mlq_storei_step_key(st, s, name, "schedule", shown, err);
    if (rc == 1) {
        rc = schedule_from_row(s, out, err);
        mlq_storei_finish(s);
    }
    return rc;
}

static int delete_by_name(struct mlq_store *st, enum pstmt i, const char *name, struct mlq_err *err)
{
    sqlite3_stmt *s = stmt(st, i);
    int rc = sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "removing schedule");
    }
    return mlq_storei_exec_stmt(st, s, "removing schedule", err);
}

/* Removes the schedule and its runs (their jobs stay). */
int mlq_store_schedule_delete(struct mlq_store *st, const char *name, struct mlq_err *err)
{
    char shown[48];
    mlq_storei_quote_safe(shown, sizeof shown, name);
    int rc = mlq_storei_op_begin(st, err);
    if (rc < 0)
        return rc;
    rc = delete_by_name(st, P_SCHED_DELETE, name, err);
    if (rc == 0 && sqlite3_changes(mlq_storei_db(st)) == 0)
        rc = mlq_err_set(err, MLQ_ENOTFOUND, "no schedule %s", shown);
    if (rc == 0)
        rc = delete_by_name(st, P_RUNS_DELETE, name, err);
    if (rc == 0)
        rc = schedule_event(st, name, "removed", err);
    return mlq_storei_op_end(st, rc, err);
}

int mlq_store_each_schedule(struct mlq_store *st, mlq_store_schedule_fn fn, void *ctx,
                            struct mlq_err *err)
{
    sqlite3_stmt *s = stmt(st, P_SCHED_EACH);
    int ret = mlq_storei_walk_start(s, err);
    if (ret < 0)
        return ret;
    int rc = SQLITE_DONE;
    while (ret == 0 && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        struct mlq_store_schedule sc;
        ret = schedule_from_row(s, &sc, err);
        if (ret == 0) {
            ret = fn(&sc, ctx);
            mlq_store_schedule_free(&sc);
        }
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = mlq_storei_db_err(st, err, "loading schedules");
    mlq_storei_finish(s);
    return ret;
}

void mlq_store_schedule_free(struct mlq_store_schedule *sc)
{
    if (!sc)
        return;
    free(sc->cron);
    free(sc->timezone);
    sc->cron = sc->timezone = NULL;
    mlq_proto_jobspec_free(&sc->spec);
}

/* ---- schedule runs ---------------------------------------------------------- */

static int trim_runs(struct mlq_store *st, const char *name, struct mlq_err *err)
{
    sqlite3_stmt *s = stmt(st, P_RUN_TRIM);
    int rc = sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    rc |= sqlite3_bind_int(s, 2, RUNS_KEPT);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "trimming schedule runs");
    }
    return mlq_storei_exec_stmt(st, s, "trimming schedule runs", err);
}

/* Keeps the newest RUNS_KEPT runs of the schedule: a minutely schedule
 * would otherwise add half a million rows a year. */
int mlq_store_schedrun_add(struct mlq_store *st, const char *name, int64_t fire_ms,
                           const char *job_id, struct mlq_err *err)
{
    if (!name || !*name || !full_id_ok(job_id))
        return mlq_err_set(err, MLQ_EINVAL, "schedule run without a name or job id");
    int rc = mlq_storei_op_begin(st, err);
    if (rc < 0)
        return rc;
    sqlite3_stmt *s = stmt(st, P_RUN_ADD);
    rc = sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    rc |= sqlite3_bind_int64(s, 2, fire_ms);
    rc |= sqlite3_bind_text(s, 3, job_id, -1, SQLITE_STATIC);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        rc = mlq_storei_bind_err(rc, err, "adding schedule run");
    } else {
        rc = mlq_storei_exec_stmt(st, s, "adding schedule run", err);
    }
    if (rc == 0)
        rc = trim_runs(st, name, err);
    return mlq_storei_op_end(st, rc, err);
}

static int run_from_row(sqlite3_stmt *s, struct mlq_schedrun *r)
{
    r->fire_ms = sqlite3_column_int64(s, 0);
    int state = sqlite3_column_int(s, 2);
    r->state =
        state >= 0 && state < MLQ_JOB_STATE_COUNT ? (enum mlq_job_state)state : MLQ_JOB_PENDING;
    return mlq_storei_col_fixed(s, 1, r->job_id, sizeof r->job_id);
}

int mlq_store_schedrun_list(struct mlq_store *st, const char *name, uint32_t limit,
                            struct mlq_schedrun **out, uint32_t *n, struct mlq_err *err)
{
    *out = NULL;
    *n = 0;
    if (limit == 0)
        return 0;
    if (limit > RUNS_KEPT)
        limit = RUNS_KEPT;
    struct mlq_schedrun *v = calloc(limit, sizeof *v);
    if (!v)
        return mlq_err_set(err, MLQ_ENOMEM, "listing schedule runs: out of memory");
    sqlite3_stmt *s = stmt(st, P_RUN_LIST);
    int rc = sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    rc |= sqlite3_bind_int64(s, 2, limit);
    int ret = rc != SQLITE_OK ? mlq_storei_bind_err(rc, err, "listing schedule runs") : 0;
    while (ret == 0 && *n < limit && (rc = sqlite3_step(s)) == SQLITE_ROW)
        if (run_from_row(s, &v[(*n)++]) < 0)
            ret = mlq_err_set(err, MLQ_EDB, "listing schedule runs: corrupt row");
    if (ret == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
        ret = mlq_storei_db_err(st, err, "listing schedule runs");
    mlq_storei_finish(s);
    if (ret < 0 || *n == 0) {
        free(v);
        v = NULL;
        *n = ret < 0 ? 0 : *n;
    }
    *out = v;
    return ret;
}
