/* storeevent: the events history: every job and attempt state change, and
 * whatever else the scheduler records (workers coming and going, keys,
 * schedules), each stamped with the actor who caused it, and the listing
 * behind `mlq events`. Events are never changed (a trigger refuses it);
 * retention (storeretain.c) drops old ones. See store.h for the API; the
 * invariants of store.c hold here. */
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "jobstate.h"
#include "storeint.h"

#define EVENTS_DEFAULT_LIMIT 100

enum estmt { E_ADD, E_ADD_BATCH, E_LIST_ALL, E_LIST_JOB, E_COUNT };

/* Column order of both event listings; the indexes are enum ev_col. */
#define EV_COLS                                                                                    \
    "seq, time_ms, kind, job_id, attempt_id, worker, actor, from_state, to_state, detail"
enum ev_col {
    EC_SEQ,
    EC_TIME,
    EC_KIND,
    EC_JOB,
    EC_ATT,
    EC_WORKER,
    EC_ACTOR,
    EC_FROM,
    EC_TO,
    EC_DETAIL
};

static const char *const esql[E_COUNT] = {
    /* job_seq is NULL for ids of no job (arrays) */
    [E_ADD] = "INSERT INTO events (time_ms, kind, job_id, attempt_id, worker, from_state,"
              " to_state, detail, actor, job_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
              " ?9, COALESCE(?10, (SELECT seq FROM jobs WHERE id = ?3)))",
    [E_ADD_BATCH] = "INSERT INTO events (time_ms, kind, to_state, actor, batch_first, batch_last)"
                    " VALUES (?1, 'submit', ?2, ?3, ?4, ?5)",
    /* The newest ?2 events, oldest first: the inner scan walks seq backwards
     * and stops after ?2 rows. A batch row stands for each of its jobs that
     * is still stored (its id, the row's seq and time), newest first. */
    [E_LIST_ALL] = "SELECT * FROM (SELECT e.seq, e.time_ms, e.kind, COALESCE(j.id, e.job_id),"
                   " e.attempt_id, e.worker, e.actor, e.from_state, e.to_state, e.detail,"
                   " j.seq AS jseq FROM events e LEFT JOIN jobs j ON e.batch_last IS NOT NULL"
                   " AND j.seq BETWEEN e.batch_first AND e.batch_last"
                   " WHERE e.time_ms >= ?1 AND (e.batch_last IS NULL OR j.seq IS NOT NULL)"
                   " ORDER BY e.seq DESC, j.seq DESC LIMIT ?2) ORDER BY seq, jseq",
    /* events_job serves a job's events, events_other an array's,
     * events_batch the batch row of its submit (schema v22): ranges never
     * overlap, so the row with the lowest batch_last at or above the job's
     * seq is the only candidate. */
    [E_LIST_JOB] = "SELECT * FROM (SELECT " EV_COLS " FROM events"
                   " WHERE (job_seq = (SELECT seq FROM jobs WHERE id = ?3)"
                   " OR (job_seq IS NULL AND job_id = ?3)) AND time_ms >= ?1"
                   " UNION ALL SELECT seq, time_ms, kind, ?3, attempt_id, worker, actor,"
                   " from_state, to_state, detail FROM (SELECT * FROM events"
                   " WHERE batch_last >= (SELECT seq FROM jobs WHERE id = ?3)"
                   " AND batch_last IS NOT NULL ORDER BY batch_last LIMIT 1)"
                   " WHERE batch_first <= (SELECT seq FROM jobs WHERE id = ?3) AND time_ms >= ?1"
                   " ORDER BY seq DESC LIMIT ?2) ORDER BY seq",
};

struct mlq_storeevent {
    sqlite3_stmt *stmt[E_COUNT];
    int64_t batch_next, batch_last;  /* the open submit batch's seqs; 0: none */
    char actor[MLQ_STORE_ACTOR_MAX]; /* who causes the events now; "" = nobody */
};

int mlq_storeevent_open(sqlite3 *db, struct mlq_storeevent **out, struct mlq_err *err)
{
    struct mlq_storeevent *p = calloc(1, sizeof *p);
    *out = NULL;
    if (!p)
        return mlq_err_set(err, MLQ_ENOMEM, "preparing statements: out of memory");
    int rc = mlq_storei_prepare(db, esql, E_COUNT, p->stmt, err);
    if (rc < 0) {
        free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void mlq_storeevent_close(struct mlq_storeevent **pp)
{
    if (!pp || !*pp)
        return;
    mlq_storei_finalize((*pp)->stmt, E_COUNT);
    free(*pp);
    *pp = NULL;
}

static sqlite3_stmt *stmt(struct mlq_store *st, enum estmt i)
{
    return mlq_storei_event(st)->stmt[i];
}

/* ---- appending ---------------------------------------------------------- */

void mlq_store_set_actor(struct mlq_store *st, const char *actor)
{
    struct mlq_storeevent *e = mlq_storei_event(st);
    snprintf(e->actor, sizeof e->actor, "%s", actor ? actor : "");
}

int mlq_storei_event_insert(struct mlq_store *st, const struct mlq_storei_event *ev,
                            struct mlq_err *err)
{
    struct mlq_storeevent *e = mlq_storei_event(st);
    sqlite3_stmt *s = e->stmt[E_ADD];
    int rc = sqlite3_bind_int64(s, 1, mlq_clock_wall_ms());
    rc |= sqlite3_bind_text(s, 2, ev->kind, -1, SQLITE_STATIC);
    rc |= mlq_storei_bind_opt(s, 3, ev->job_id);
    rc |= mlq_storei_bind_opt(s, 4, ev->attempt_id);
    rc |= mlq_storei_bind_opt(s, 5, ev->worker);
    rc |= mlq_storei_bind_opt(s, 6, ev->from);
    rc |= mlq_storei_bind_opt(s, 7, ev->to);
    rc |= mlq_storei_bind_opt(s, 8, ev->detail);
    rc |= mlq_storei_bind_opt(s, 9, e->actor);
    rc |= ev->job_seq > 0 ? sqlite3_bind_int64(s, 10, ev->job_seq) : sqlite3_bind_null(s, 10);
    return mlq_storei_exec_bound(st, s, rc, "adding event", err);
}

int mlq_store_event_add(struct mlq_store *st, const char *kind, const char *job_id,
                        const char *attempt_id, const char *worker, const char *detail,
                        struct mlq_err *err)
{
    if (!kind || !*kind)
        return mlq_err_set(err, MLQ_EINVAL, "event without a kind");
    int rc = mlq_storei_tx_check(st, err);
    if (rc < 0)
        return rc;
    struct mlq_storei_event ev = {.kind = kind,
                                  .job_id = job_id,
                                  .attempt_id = attempt_id,
                                  .worker = worker,
                                  .detail = detail};
    return mlq_storei_event_insert(st, &ev, err);
}

/* ---- a batch's submit event -------------------------------------------- */

int mlq_store_submit_batch_begin(struct mlq_store *st, uint32_t n, struct mlq_err *err)
{
    struct mlq_storeevent *e = mlq_storei_event(st);
    int64_t last = 0;
    int rc = mlq_storei_tx_check(st, err);
    if (rc == 0 && sqlite3_get_autocommit(mlq_storei_db(st)))
        rc = mlq_err_set(err, MLQ_EINVAL, "a submit batch outside a transaction");
    if (rc == 0 && e->batch_next != 0)
        rc = mlq_err_set(err, MLQ_EINVAL, "a submit batch is open already");
    if (rc == 0 && n == 0)
        rc = mlq_err_set(err, MLQ_EINVAL, "a submit batch of no jobs");
    if (rc == 0)
        rc = mlq_storei_peek_seq(st, &last, err);
    if (rc < 0)
        return rc;
    sqlite3_stmt *s = e->stmt[E_ADD_BATCH];
    rc = sqlite3_bind_int64(s, 1, mlq_clock_wall_ms());
    rc |= sqlite3_bind_text(s, 2, mlq_job_state_name(MLQ_JOB_PENDING), -1, SQLITE_STATIC);
    rc |= mlq_storei_bind_opt(s, 3, e->actor);
    rc |= sqlite3_bind_int64(s, 4, last + 1);
    rc |= sqlite3_bind_int64(s, 5, last + n);
    rc = mlq_storei_exec_bound(st, s, rc, "adding a batch's submit event", err);
    if (rc == 0) {
        e->batch_next = last + 1;
        e->batch_last = last + n;
    }
    return rc;
}

int mlq_store_submit_batch_end(struct mlq_store *st, int rc, struct mlq_err *err)
{
    struct mlq_storeevent *e = mlq_storei_event(st);
    bool whole = e->batch_next == e->batch_last + 1;
    e->batch_next = e->batch_last = 0;
    if (rc == 0 && !whole)
        rc = mlq_err_set(err, MLQ_EDB, "a submit batch ended before all of its jobs were stored");
    return rc;
}

int mlq_storei_batch_take(struct mlq_store *st, int64_t seq, struct mlq_err *err)
{
    struct mlq_storeevent *e = mlq_storei_event(st);
    if (e->batch_next == 0)
        return 0;
    if (seq != e->batch_next || seq > e->batch_last)
        return mlq_err_set(err, MLQ_EDB, "job seq %lld is not the next of its submit batch",
                           (long long)seq);
    e->batch_next++;
    return 1;
}

/* ---- listing ------------------------------------------------------------ */

/* Column i as a new string of at most max bytes (the protocol's bound for
 * that field): a long detail is cut rather than making the reply
 * undecodable. */
static int col_dup_max(sqlite3_stmt *s, int i, size_t max, char **out)
{
    int rc = mlq_storei_col_dup(s, i, out);
    if (rc == 0 && *out && strlen(*out) > max)
        (*out)[max] = '\0';
    return rc;
}

static int event_from_row(sqlite3_stmt *s, struct mlq_eventinfo *e)
{
    static const struct {
        int col;
        size_t max;
        size_t off;
    } strs[] = {
        {EC_KIND, MLQ_MAX_NAME, offsetof(struct mlq_eventinfo, kind)},
        {EC_JOB, MLQ_MAX_REF, offsetof(struct mlq_eventinfo, job_id)},
        {EC_ATT, MLQ_MAX_REF, offsetof(struct mlq_eventinfo, attempt_id)},
        {EC_WORKER, MLQ_MAX_NAME, offsetof(struct mlq_eventinfo, worker)},
        {EC_ACTOR, MLQ_MAX_ACTOR, offsetof(struct mlq_eventinfo, actor)},
        {EC_FROM, MLQ_MAX_NAME, offsetof(struct mlq_eventinfo, from)},
        {EC_TO, MLQ_MAX_NAME, offsetof(struct mlq_eventinfo, to)},
        {EC_DETAIL, MLQ_MAX_STR, offsetof(struct mlq_eventinfo, detail)},
    };
    e->seq = sqlite3_column_int64(s, EC_SEQ);
    e->time_ms = sqlite3_column_int64(s, EC_TIME);
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof strs / sizeof strs[0]; i++)
        rc = col_dup_max(s, strs[i].col, strs[i].max, (char **)((char *)e + strs[i].off));
    if (rc == 0 && !e->kind)
        rc = MLQ_EDB; /* NOT NULL in the schema */
    return rc;
}

static int events_bind(sqlite3_stmt *s, const char *job_id, int64_t since_ms, uint32_t limit)
{
    int rc = sqlite3_bind_int64(s, 1, since_ms);
    rc |= sqlite3_bind_int64(s, 2, limit);
    if (job_id)
        rc |= sqlite3_bind_text(s, 3, job_id, -1, SQLITE_STATIC);
    return rc;
}

static int events_check(const char *job_id, int64_t since_ms, uint32_t limit, struct mlq_err *err)
{
    char shown[48];
    if (job_id && !mlq_storei_id_chars_ok(job_id, MLQ_ID_LEN)) {
        mlq_storei_quote_safe(shown, sizeof shown, job_id);
        return mlq_err_set(err, MLQ_EINVAL, "listing events: '%s' is not a job id", shown);
    }
    if (since_ms < 0)
        return mlq_err_set(err, MLQ_EINVAL, "listing events: negative start time");
    if (limit > MLQ_MAX_LIST)
        return mlq_err_set(err, MLQ_EINVAL, "listing events: limit above %d", MLQ_MAX_LIST);
    return 0;
}

int mlq_store_events_list(struct mlq_store *st, const char *job_id, int64_t since_ms,
                          uint32_t limit, struct mlq_eventinfo **out, uint32_t *n,
                          struct mlq_err *err)
{
    *out = NULL;
    *n = 0;
    int ret = events_check(job_id, since_ms, limit, err);
    if (ret < 0)
        return ret;
    limit = limit ? limit : EVENTS_DEFAULT_LIMIT;
    sqlite3_stmt *s = stmt(st, job_id ? E_LIST_JOB : E_LIST_ALL);
    if ((ret = mlq_storei_walk_start(s, err)) < 0)
        return ret;
    int rc = events_bind(s, job_id, since_ms, limit);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "listing events");
    }
    struct mlq_eventinfo *arr = calloc(limit, sizeof *arr);
    if (!arr)
        ret = mlq_err_set(err, MLQ_ENOMEM, "listing events: out of memory");
    uint32_t k = 0;
    rc = SQLITE_DONE;
    while (ret == 0 && k < limit && (rc = sqlite3_step(s)) == SQLITE_ROW) {
        int crc = event_from_row(s, &arr[k++]);
        if (crc < 0)
            ret = mlq_storei_row_err(crc, err, "listing events");
    }
    if (ret == 0 && rc != SQLITE_DONE && rc != SQLITE_ROW)
        ret = mlq_storei_db_err(st, err, "listing events");
    mlq_storei_finish(s);
    if (ret < 0 || k == 0) {
        mlq_store_eventinfo_array_free(&arr, k);
        return ret;
    }
    *out = arr;
    *n = k;
    return 0;
}

void mlq_store_eventinfo_array_free(struct mlq_eventinfo **arr, uint32_t n)
{
    if (!arr || !*arr)
        return;
    for (uint32_t i = 0; i < n; i++)
        mlq_proto_eventinfo_free(&(*arr)[i]);
    free(*arr);
    *arr = NULL;
}
