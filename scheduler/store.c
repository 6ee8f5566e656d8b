/* store: every SQL statement of the scheduler, behind a small typed API.
 *
 * Invariants:
 * - Every statement is prepared once in mlq_store_open() and kept in
 *   st->stmt[]; values always travel as bound parameters, never as SQL text.
 *   After each use a statement is reset and its bindings cleared, which is what
 *   makes binding caller strings with SQLITE_STATIC safe.
 * - The schema is the list of steps in migrations[]; step i takes a database
 *   from user_version i to i + 1 and sets that version itself, inside one
 *   transaction. Never edit a released step: add a new one.
 * - A write that touches several rows (a job and its event) runs inside a
 *   savepoint, so it is applied whole or not at all, except the hot writes
 *   (job insert and save, attempt save) inside the caller's transaction: a
 *   failure of theirs is MLQ_EDB and the caller rolls the whole transaction
 *   back (see hot_begin).
 * - st->tx is the caller's view ("I called begin"). SQLite may roll a
 *   transaction back by itself after SQLITE_FULL or SQLITE_IOERR; then every
 *   write and the commit fail until the caller rolls back, so half an
 *   iteration is never committed as if it were whole.
 * - Any SQLite failure is MLQ_EDB with sqlite3_errmsg() in the message. */
#include "store.h"

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "clock.h"
#include "storeint.h"

#define BUSY_TIMEOUT_MS    5000
#define DEFAULT_LIST_LIMIT 100

/* ---- schema ---------------------------------------------------------- */

/* migrations[i] upgrades user_version i to i + 1. */
static const char *const migrations[] = {
    /* v1: jobs, attempts, workers, append-only events. */
    "CREATE TABLE jobs ("
    " id TEXT PRIMARY KEY NOT NULL,"
    " seq INTEGER UNIQUE NOT NULL," /* submit order; the UNIQUE index serves ORDER BY seq */
    " name TEXT, owner TEXT, state INTEGER NOT NULL, reason TEXT,"
    " spec BLOB NOT NULL," /* mlq_proto_jobspec_pack(); the columns below copy it for queries */
    " cpus_m INTEGER NOT NULL, mem INTEGER NOT NULL, gpus INTEGER NOT NULL,"
    " workdir TEXT, argv0 TEXT,"
    " submit_ms INTEGER NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL, node_failures INTEGER NOT NULL,"
    " current_attempt TEXT," /* NULL when none */
    " exit_code INTEGER NOT NULL, signal INTEGER NOT NULL);"
    "CREATE INDEX jobs_state ON jobs(state);"
    "CREATE TABLE attempts ("
    " id TEXT PRIMARY KEY NOT NULL,"
    " job_id TEXT NOT NULL REFERENCES jobs(id),"
    " num INTEGER NOT NULL, worker TEXT NOT NULL, state INTEGER NOT NULL,"
    " gpu_ids TEXT, assigned_ms INTEGER NOT NULL, start_ms INTEGER NOT NULL,"
    " end_ms INTEGER NOT NULL, exit_code INTEGER NOT NULL, signal INTEGER NOT NULL,"
    " detail TEXT);"
    "CREATE INDEX attempts_state ON attempts(state);"
    "CREATE UNIQUE INDEX attempts_job ON attempts(job_id, num);"
    "CREATE TABLE workers ("
    " name TEXT PRIMARY KEY NOT NULL,"
    " cpus_m INTEGER NOT NULL, mem INTEGER NOT NULL, gpus INTEGER NOT NULL,"
    " first_seen_ms INTEGER NOT NULL, last_seen_ms INTEGER NOT NULL);"
    "CREATE TABLE events ("
    " seq INTEGER PRIMARY KEY AUTOINCREMENT, time_ms INTEGER NOT NULL,"
    " kind TEXT NOT NULL, job_id TEXT, attempt_id TEXT, worker TEXT,"
    " from_state TEXT, to_state TEXT, detail TEXT);"
    "CREATE INDEX events_job ON events(job_id);"
    "CREATE TRIGGER events_no_update BEFORE UPDATE ON events"
    " BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
    "CREATE TRIGGER events_no_delete BEFORE DELETE ON events"
    " BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
    "PRAGMA user_version = 1;",
    /* v2: a PENDING job waiting for its retry backoff or for a lost
     * worker's old run to be surely dead. Retries and time limits live in the
     * spec blob, whose new keys are optional, so old rows read as "none". */
    "ALTER TABLE jobs ADD COLUMN not_before_ms INTEGER NOT NULL DEFAULT 0;"
    "PRAGMA user_version = 2;",
    /* v3: worker pools and admin drains, which must outlive a
     * scheduler restart; an index on attempts.end_ms so that fair share reads
     * only recent attempts. Priority, pool and requirements of a job live in
     * its spec blob (optional keys again). */
    "ALTER TABLE workers ADD COLUMN pool TEXT NOT NULL DEFAULT 'default';"
    "ALTER TABLE workers ADD COLUMN drained INTEGER NOT NULL DEFAULT 0;"
    "ALTER TABLE workers ADD COLUMN drain_reason TEXT;"
    "CREATE INDEX attempts_end ON attempts(end_ms);"
    "PRAGMA user_version = 3;",
    /* v4: job arrays (a task is a job row naming its array),
     * idempotency keys, cron schedules and the jobs they submitted.
     * Dependencies live in the spec blob (optional keys again). */
    "ALTER TABLE jobs ADD COLUMN array_id TEXT;" /* NULL unless a task */
    "ALTER TABLE jobs ADD COLUMN array_index INTEGER;"
    "CREATE INDEX jobs_array ON jobs(array_id, array_index);"
    "CREATE TABLE arrays ("
    " id TEXT PRIMARY KEY NOT NULL, name TEXT, owner TEXT,"
    " spec BLOB NOT NULL," /* as submitted: spec.array holds the index spec */
    " size INTEGER NOT NULL, max_running INTEGER NOT NULL, submit_ms INTEGER NOT NULL);"
    "CREATE TABLE idempotency ("
    " owner TEXT NOT NULL, key TEXT NOT NULL, id TEXT NOT NULL, created_ms INTEGER NOT NULL,"
    " PRIMARY KEY (owner, key));"
    "CREATE INDEX idempotency_created ON idempotency(created_ms);"
    "CREATE TABLE schedules ("
    " name TEXT PRIMARY KEY NOT NULL, cron TEXT NOT NULL, timezone TEXT,"
    " spec BLOB NOT NULL, concurrency INTEGER NOT NULL, catch_up_ms INTEGER NOT NULL,"
    " paused INTEGER NOT NULL, next_fire_ms INTEGER NOT NULL, last_fire_ms INTEGER NOT NULL,"
    " last_job TEXT, created_ms INTEGER NOT NULL);"
    "CREATE TABLE schedule_runs ("
    " name TEXT NOT NULL, fire_ms INTEGER NOT NULL, job_id TEXT NOT NULL);"
    "CREATE INDEX schedule_runs_name ON schedule_runs(name, fire_ms);"
    "PRAGMA user_version = 4;",
    /* v5: the keys the scheduler accepts (kind 'user' for users
     * and admins, 'worker' for workers; a key belongs to one principal),
     * and who caused each event (NULL: the scheduler itself). */
    "CREATE TABLE principals ("
    " kind TEXT NOT NULL, name TEXT NOT NULL, role TEXT NOT NULL,"
    " key TEXT NOT NULL UNIQUE, added_ms INTEGER NOT NULL,"
    " PRIMARY KEY (kind, name));"
    "ALTER TABLE events ADD COLUMN actor TEXT;"
    "CREATE INDEX events_time ON events(time_ms);"
    "PRAGMA user_version = 5;",
    /* v6 (speed): fewer index pages written per job.
     * - jobs is rebuilt with its seq as the rowid: a job's row is reached
     *   directly, and the separate index on seq goes (migrations run with
     *   foreign keys off, checked after).
     * - Attempts and events of a job are indexed by the job's seq instead of
     *   its id: ids are random, so every row indexed by one lands on a random
     *   index page that the commit then writes whole; seqs grow, so the rows
     *   of the jobs in flight share the last few pages. Events without a job
     *   row (arrays) keep an index on the id.
     * - events loses AUTOINCREMENT (a sqlite_sequence write per event): rows
     *   are never deleted, so a plain rowid never reuses a seq either.
     * - Partial indexes: jobs_array holds only tasks, attempts_live only
     *   live attempts, attempts_end only ended ones (an attempt's start
     *   then leaves it alone). */
    "CREATE TABLE jobs_v6 ("
    " seq INTEGER PRIMARY KEY," /* submit order */
    " id TEXT NOT NULL UNIQUE,"
    " name TEXT, owner TEXT, state INTEGER NOT NULL, reason TEXT, spec BLOB NOT NULL,"
    " cpus_m INTEGER NOT NULL, mem INTEGER NOT NULL, gpus INTEGER NOT NULL,"
    " workdir TEXT, argv0 TEXT,"
    " submit_ms INTEGER NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL, node_failures INTEGER NOT NULL, current_attempt TEXT,"
    " exit_code INTEGER NOT NULL, signal INTEGER NOT NULL,"
    " not_before_ms INTEGER NOT NULL DEFAULT 0, array_id TEXT, array_index INTEGER);"
    "INSERT INTO jobs_v6 (seq, id, name, owner, state, reason, spec, cpus_m, mem, gpus, workdir,"
    " argv0, submit_ms, start_ms, end_ms, attempts, node_failures, current_attempt, exit_code,"
    " signal, not_before_ms, array_id, array_index) SELECT seq, id, name, owner, state, reason,"
    " spec, cpus_m, mem, gpus, workdir, argv0, submit_ms, start_ms, end_ms, attempts,"
    " node_failures, current_attempt, exit_code, signal, not_before_ms, array_id, array_index"
    " FROM jobs;"
    "DROP TABLE jobs;"
    "ALTER TABLE jobs_v6 RENAME TO jobs;"
    "CREATE INDEX jobs_state ON jobs(state);"
    "ALTER TABLE attempts ADD COLUMN job_seq INTEGER;"
    "UPDATE attempts SET job_seq = (SELECT seq FROM jobs WHERE jobs.id = attempts.job_id);"
    "DROP INDEX attempts_job;"
    "CREATE UNIQUE INDEX attempts_job ON attempts(job_seq, num);"
    "DROP INDEX attempts_state;"
    "CREATE INDEX attempts_live ON attempts(state) WHERE state IN (0, 1);"
    "DROP INDEX attempts_end;"
    "CREATE INDEX attempts_end ON attempts(end_ms) WHERE end_ms > 0;"
    "CREATE INDEX jobs_array ON jobs(array_id, array_index) WHERE array_id IS NOT NULL;"
    "CREATE TABLE events_v6 ("
    " seq INTEGER PRIMARY KEY, time_ms INTEGER NOT NULL,"
    " kind TEXT NOT NULL, job_id TEXT, attempt_id TEXT, worker TEXT,"
    " from_state TEXT, to_state TEXT, detail TEXT, actor TEXT, job_seq INTEGER);"
    "INSERT INTO events_v6 SELECT seq, time_ms, kind, job_id, attempt_id, worker, from_state,"
    " to_state, detail, actor, (SELECT seq FROM jobs WHERE jobs.id = events.job_id) FROM events;"
    "DROP TABLE events;"
    "ALTER TABLE events_v6 RENAME TO events;"
    "CREATE TRIGGER events_no_update BEFORE UPDATE ON events"
    " BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
    "CREATE TRIGGER events_no_delete BEFORE DELETE ON events"
    " BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"
    "CREATE INDEX events_job ON events(job_seq) WHERE job_seq IS NOT NULL;"
    "CREATE INDEX events_other ON events(job_id) WHERE job_seq IS NULL;"
    "CREATE INDEX events_time ON events(time_ms);"
    "PRAGMA user_version = 6;",
    /* v7: retention (scheduler/retention.c) deletes finished jobs with their
     * attempts and events, and old events, in small batches.
     * - events lose their delete trigger; the update trigger stays, so an
     *   event is still never changed, only dropped when old.
     * - attempts are rebuilt without their foreign key on jobs(id), which
     *   no index on the attempts side serves (every job deleted would scan
     *   all attempts), and with one on jobs(seq), served by attempts_job
     *   (NOT NULL: an attempt of no job is refused, as before).
     *   The columns keep their order.
     * - idempotency gets an index on the id a key names, so that retention
     *   finds at once whether a valid key still points at a job. */
    "CREATE TABLE attempts_v7 ("
    " id TEXT PRIMARY KEY NOT NULL, job_id TEXT NOT NULL,"
    " num INTEGER NOT NULL, worker TEXT NOT NULL, state INTEGER NOT NULL,"
    " gpu_ids TEXT, assigned_ms INTEGER NOT NULL, start_ms INTEGER NOT NULL,"
    " end_ms INTEGER NOT NULL, exit_code INTEGER NOT NULL, signal INTEGER NOT NULL,"
    " detail TEXT, job_seq INTEGER NOT NULL REFERENCES jobs(seq));"
    "INSERT INTO attempts_v7 SELECT id, job_id, num, worker, state, gpu_ids, assigned_ms,"
    " start_ms, end_ms, exit_code, signal, detail, job_seq FROM attempts;"
    "DROP TABLE attempts;"
    "ALTER TABLE attempts_v7 RENAME TO attempts;"
    "CREATE UNIQUE INDEX attempts_job ON attempts(job_seq, num);"
    "CREATE INDEX attempts_live ON attempts(state) WHERE state IN (0, 1);"
    "CREATE INDEX attempts_end ON attempts(end_ms) WHERE end_ms > 0;"
    "DROP TRIGGER events_no_delete;"
    "CREATE INDEX idempotency_id ON idempotency(id);"
    "PRAGMA user_version = 7;",
    /* 7 -> 8: bearer tokens of the HTTP API (storetoken.c). Only the
     * SHA-256 of a token is kept (hex); the token itself is shown once. */
    "CREATE TABLE tokens ("
    " name TEXT PRIMARY KEY NOT NULL, principal TEXT NOT NULL,"
    " role TEXT NOT NULL CHECK (role IN ('user', 'admin')),"
    " hash TEXT NOT NULL UNIQUE, created_ms INTEGER NOT NULL, expires_ms INTEGER NOT NULL);"
    "PRAGMA user_version = 8;",
    /* 8 -> 9: gangs (storegang.c). A gang's attempt keeps its row in
     * attempts; each node part has its own row here, its part_id being
     * the attempt id its worker knows. The gang's size is in the stored
     * spec ("nodes"). Parts go with their attempt (retention). */
    "CREATE TABLE attempt_parts ("
    " part_id TEXT PRIMARY KEY NOT NULL, attempt_id TEXT NOT NULL, job_id TEXT NOT NULL,"
    " rank INTEGER NOT NULL, worker TEXT NOT NULL, gpu_ids TEXT, state INTEGER NOT NULL,"
    " assigned_ms INTEGER NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL,"
    " exit_code INTEGER NOT NULL, signal INTEGER NOT NULL, detail TEXT,"
    " rdv_port INTEGER NOT NULL DEFAULT 0);"
    "CREATE UNIQUE INDEX attempt_parts_rank ON attempt_parts(attempt_id, rank);"
    "CREATE TRIGGER attempt_parts_gc AFTER DELETE ON attempts BEGIN"
    " DELETE FROM attempt_parts WHERE attempt_id = OLD.id; END;"
    "PRAGMA user_version = 9;",
};

_Static_assert(sizeof migrations / sizeof migrations[0] == MLQ_STORE_SCHEMA_VERSION,
               "one migration step per schema version");

/* ---- statements ------------------------------------------------------ */

enum stmt_id {
    S_BEGIN,
    S_COMMIT,
    S_ROLLBACK,
    S_SAVEPOINT,
    S_RELEASE,
    S_ROLLBACK_TO,
    S_JOB_INSERT,
    S_JOB_MAX_SEQ,
    S_JOB_SAVE,
    S_JOB_GET,
    S_JOB_RESOLVE,
    S_JOB_ACTIVE,
    S_JOB_INFO,
    S_JOB_LIST_ALL,
    S_JOB_LIST_STATE,
    S_ATT_INSERT,
    S_ATT_UPDATE,
    S_ATT_GET,
    S_ATT_LIVE,
    S_ATT_OF_JOB,
    S_EVENT_ADD,
    S_WORKER_SAVE,
    S_WORKER_EACH,
    S_USAGE_EACH,
    S_COUNT
};

/* Column order shared by every statement that returns a job row; the
 * indexes are enum job_col. */
#define JOB_COLS                                                                                   \
    "id, seq, state, reason, spec, submit_ms, start_ms, end_ms, attempts, node_failures,"          \
    " current_attempt, exit_code, signal, not_before_ms, array_id, array_index"
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
    JC_ARRAY_INDEX
};

#define ATT_COLS                                                                                   \
    "id, job_id, num, worker, state, gpu_ids, assigned_ms, start_ms, end_ms, exit_code, signal,"   \
    " detail"
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
    AC_DETAIL
};

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

static const char *const stmt_sql[S_COUNT] = {
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    [S_SAVEPOINT] = "SAVEPOINT store_op",
    [S_RELEASE] = "RELEASE store_op",
    [S_ROLLBACK_TO] = "ROLLBACK TO store_op",
    [S_JOB_INSERT] =
        "INSERT INTO jobs (id, seq, name, owner, state, reason, spec, cpus_m, mem, gpus, workdir,"
        " argv0, submit_ms, start_ms, end_ms, attempts, node_failures, current_attempt, exit_code,"
        " signal, not_before_ms, array_id, array_index) VALUES (?1, ?23, ?2, ?3, ?4, ?5, ?6, ?7,"
        " ?8, ?9, ?10, ?11, ?12, ?13, ?14, ?15, ?16, ?17, ?18, ?19, ?20, ?21, ?22)",
    [S_JOB_MAX_SEQ] = "SELECT COALESCE(MAX(seq), 0) FROM jobs",
    [S_JOB_SAVE] = "UPDATE jobs SET state = ?2, reason = ?3, submit_ms = ?4, start_ms = ?5,"
                   " end_ms = ?6, attempts = ?7, node_failures = ?8, current_attempt = ?9,"
                   " exit_code = ?10, signal = ?11, not_before_ms = ?12"
                   " WHERE seq = ?13 AND id = ?1", /* seq: the rowid */
    [S_JOB_GET] = "SELECT " JOB_COLS " FROM jobs WHERE id = ?1",
    /* ?2 is the prefix followed by '~', which sorts after every id character. */
    [S_JOB_RESOLVE] = "SELECT id FROM jobs WHERE id >= ?1 AND id < ?2 ORDER BY id LIMIT 2",
    [S_JOB_ACTIVE] = "SELECT " JOB_COLS " FROM jobs WHERE state IN (?1, ?2, ?3) ORDER BY seq",
    [S_JOB_INFO] = INFO_SELECT "WHERE j.id = ?1",
    [S_JOB_LIST_ALL] = INFO_SELECT "WHERE j.seq < ?2 ORDER BY j.seq DESC LIMIT ?1",
    [S_JOB_LIST_STATE] = INFO_SELECT "WHERE j.state = ?1 AND j.seq < ?3"
                                     " ORDER BY j.seq DESC LIMIT ?2",
    [S_ATT_INSERT] = "INSERT INTO attempts (" ATT_COLS ", job_seq) VALUES (?1, ?2, ?3, ?4, ?5,"
                     " ?6, ?7, ?8, ?9, ?10, ?11, ?12, (SELECT seq FROM jobs WHERE id = ?2))",
    [S_ATT_UPDATE] = "UPDATE attempts SET worker = ?4, state = ?5, gpu_ids = ?6,"
                     " assigned_ms = ?7, start_ms = ?8, end_ms = ?9, exit_code = ?10,"
                     " signal = ?11, detail = ?12 WHERE id = ?1 AND job_id = ?2 AND num = ?3",
    [S_ATT_GET] = "SELECT " ATT_COLS " FROM attempts WHERE id = ?1",
    /* the literals match attempts_live (0 ASSIGNED, 1 RUNNING) so that it serves */
    [S_ATT_LIVE] = "SELECT " ATT_COLS " FROM attempts WHERE state IN (0, 1) ORDER BY rowid",
    /* The newest ?2 attempts of a job, oldest first (attempts_job serves both). */
    [S_ATT_OF_JOB] = "SELECT * FROM (SELECT " ATT_COLS " FROM attempts"
                     " WHERE job_seq = (SELECT seq FROM jobs WHERE id = ?1)"
                     " ORDER BY num DESC LIMIT ?2) ORDER BY num",
    /* job_seq is NULL for ids of no job (arrays) */
    [S_EVENT_ADD] = "INSERT INTO events (time_ms, kind, job_id, attempt_id, worker, from_state,"
                    " to_state, detail, actor, job_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
                    " ?9, COALESCE(?10, (SELECT seq FROM jobs WHERE id = ?3)))",
    [S_WORKER_SAVE] = "INSERT INTO workers (name, cpus_m, mem, gpus, first_seen_ms,"
                      " last_seen_ms, pool, drained, drain_reason) VALUES (?1, ?2, ?3, ?4, ?5,"
                      " ?6, ?7, ?8, ?9) ON CONFLICT(name) DO UPDATE SET cpus_m = excluded.cpus_m,"
                      " mem = excluded.mem, gpus = excluded.gpus,"
                      " last_seen_ms = excluded.last_seen_ms, pool = excluded.pool,"
                      " drained = excluded.drained, drain_reason = excluded.drain_reason",
    [S_WORKER_EACH] = "SELECT name, cpus_m, mem, gpus, first_seen_ms, last_seen_ms, pool,"
                      " drained, drain_reason FROM workers ORDER BY name",
    /* attempts_live serves the live arm (end_ms is 0 exactly while live),
     * attempts_end the ended one; in no particular order (usage adds up) */
    [S_USAGE_EACH] = "SELECT j.owner, j.cpus_m, j.gpus, a.start_ms, a.end_ms FROM attempts a"
                     " JOIN jobs j ON j.seq = a.job_seq"
                     " WHERE a.start_ms > 0 AND (a.state IN (0, 1) OR (a.end_ms > 0"
                     " AND a.end_ms >= ?1))",
};

struct mlq_store {
    sqlite3 *db;
    sqlite3_stmt *stmt[S_COUNT];
    struct mlq_storepipe *pipe;     /* storepipe.c's statements */
    struct mlq_storeauth *auth;     /* storeauth.c's statements */
    struct mlq_storetoken *token;   /* storetoken.c's statements */
    struct mlq_storeretain *retain; /* storeretain.c's statements */
    bool tx;                        /* the caller's transaction is open */
    int64_t
        last_seq; /* the newest job's seq; -1: read it from the table first (after a rollback) */
    char actor[MLQ_STORE_ACTOR_MAX]; /* who causes the events now; "" = nobody */
};

sqlite3 *mlq_storei_db(struct mlq_store *st)
{
    return st->db;
}

struct mlq_storepipe *mlq_storei_pipe(struct mlq_store *st)
{
    return st->pipe;
}

struct mlq_storetoken *mlq_storei_token(struct mlq_store *st)
{
    return st->token;
}

struct mlq_storeauth *mlq_storei_auth(struct mlq_store *st)
{
    return st->auth;
}

struct mlq_storeretain *mlq_storei_retain(struct mlq_store *st)
{
    return st->retain;
}

void mlq_store_set_actor(struct mlq_store *st, const char *actor)
{
    snprintf(st->actor, sizeof st->actor, "%s", actor ? actor : "");
}

/* One event row; NULL fields are stored as NULL. */
struct event {
    const char *kind, *job_id, *attempt_id, *worker, *from, *to, *detail;
    int64_t job_seq; /* 0: looked up from job_id */
};

/* ---- small helpers ---------------------------------------------------- */

int mlq_storei_db_err(struct mlq_store *st, struct mlq_err *err, const char *what)
{
    st->last_seq = -1; /* whatever failed may be rolled back */
    return mlq_err_set(err, MLQ_EDB, "%s: %s", what, sqlite3_errmsg(st->db));
}

int mlq_storei_bind_err(int rc, struct mlq_err *err, const char *what)
{
    return mlq_err_set(err, MLQ_EDB, "%s: binding parameters: %s", what, sqlite3_errstr(rc));
}

void mlq_storei_finish(sqlite3_stmt *s)
{
    sqlite3_reset(s);
    sqlite3_clear_bindings(s);
}

/* Steps s once expecting no row (or, for RETURNING, ignores the row), then
 * resets it. */
int mlq_storei_exec_stmt(struct mlq_store *st, sqlite3_stmt *s, const char *what,
                         struct mlq_err *err)
{
    int rc = sqlite3_step(s);
    int ret = (rc == SQLITE_DONE || rc == SQLITE_ROW) ? 0 : mlq_storei_db_err(st, err, what);
    mlq_storei_finish(s);
    return ret;
}

/* NULL or "" is stored as NULL. */
int mlq_storei_bind_opt(sqlite3_stmt *s, int i, const char *v)
{
    if (!v || !*v)
        return sqlite3_bind_null(s, i);
    return sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

/* True when a fixed-size field holds a terminated string. */
static bool fixed_ok(const char *v, size_t cap)
{
    return strnlen(v, cap) < cap;
}

/* Ids are canonical lowercase UUID text; resolve's range query relies on it. */
bool mlq_storei_id_chars_ok(const char *s, size_t max)
{
    size_t n = strnlen(s, max + 1);
    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= '0' && s[i] <= '9') || (s[i] >= 'a' && s[i] <= 'f') || s[i] == '-'))
            return false;
    return true;
}

/* Copies untrusted text for an error message: at most 40 printable chars. */
void mlq_storei_quote_safe(char *dst, size_t cap, const char *src)
{
    size_t max = cap - 4 < 40 ? cap - 4 : 40; /* room for "..." and the NUL */
    size_t i = 0;
    for (; src && src[i] && i < max; i++)
        dst[i] = (src[i] >= 0x20 && src[i] < 0x7f) ? src[i] : '?';
    if (src && src[i]) {
        memcpy(dst + i, "...", 3);
        i += 3;
    }
    dst[i] = '\0';
}

static const char *job_state_str(int s)
{
    return mlq_job_state_name((enum mlq_job_state)s);
}

static const char *att_state_str(int s)
{
    return mlq_attempt_state_name((enum mlq_attempt_state)s);
}

/* Column text as a new string; SQL NULL gives NULL. */
int mlq_storei_col_dup(sqlite3_stmt *s, int i, char **out)
{
    *out = NULL;
    if (sqlite3_column_type(s, i) == SQLITE_NULL)
        return 0;
    const char *t = (const char *)sqlite3_column_text(s, i);
    if (t)
        *out = strdup(t);
    return *out ? 0 : MLQ_ENOMEM;
}

/* Column text into a fixed buffer; SQL NULL gives "". */
int mlq_storei_col_fixed(sqlite3_stmt *s, int i, char *dst, size_t cap)
{
    dst[0] = '\0';
    if (sqlite3_column_type(s, i) == SQLITE_NULL)
        return 0;
    const char *t = (const char *)sqlite3_column_text(s, i);
    if (!t)
        return MLQ_ENOMEM;
    size_t n = (size_t)sqlite3_column_bytes(s, i);
    if (n >= cap)
        return MLQ_EDB;
    memcpy(dst, t, n + 1);
    return 0;
}

int mlq_storei_row_err(int rc, struct mlq_err *err, const char *what)
{
    if (rc == MLQ_ENOMEM)
        return mlq_err_set(err, MLQ_ENOMEM, "%s: out of memory", what);
    return mlq_err_set(err, MLQ_EDB, "%s: corrupt row", what);
}

/* ---- open, close, transactions ------------------------------------- */

static int pragma_text(struct mlq_store *st, const char *sql, char *out, size_t cap,
                       struct mlq_err *err)
{
    sqlite3_stmt *s = NULL;
    out[0] = '\0';
    if (sqlite3_prepare_v2(st->db, sql, -1, &s, NULL) != SQLITE_OK)
        return mlq_storei_db_err(st, err, sql);
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW && sqlite3_column_text(s, 0))
        snprintf(out, cap, "%s", (const char *)sqlite3_column_text(s, 0));
    int ret = (rc == SQLITE_ROW || rc == SQLITE_DONE) ? 0 : mlq_storei_db_err(st, err, sql);
    sqlite3_finalize(s);
    return ret;
}

static int exec_sql(struct mlq_store *st, const char *sql, const char *what, struct mlq_err *err)
{
    if (sqlite3_exec(st->db, sql, NULL, NULL, NULL) != SQLITE_OK)
        return mlq_storei_db_err(st, err, what);
    return 0;
}

static int set_pragmas(struct mlq_store *st, const char *path, struct mlq_err *err)
{
    char v[32];
    int rc = pragma_text(st, "PRAGMA journal_mode = WAL", v, sizeof v, err);
    if (rc < 0)
        return rc;
    if (strcmp(path, ":memory:") != 0 && strcmp(v, "wal") != 0)
        return mlq_err_set(err, MLQ_EDB, "%s: cannot use WAL journal (journal_mode is %s)", path,
                           v);
    /* A 64 MiB page cache keeps a big transaction (a 10,000-task array) from
     * spilling pages into the WAL before it commits. */
    rc = exec_sql(st,
                  "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; "
                  "PRAGMA cache_size = -65536; PRAGMA temp_store = MEMORY;",
                  "setting pragmas", err);
    if (rc < 0)
        return rc;
    /* foreign_keys is silently ignored by a SQLite built without them. */
    rc = pragma_text(st, "PRAGMA foreign_keys", v, sizeof v, err);
    if (rc == 0 && strcmp(v, "1") != 0)
        return mlq_err_set(err, MLQ_EDB, "%s: SQLite refuses foreign keys", path);
    return rc;
}

/* Runs the next migration step when one is due; *done is set when the
 * database is current. The version is read inside the write transaction so
 * two processes opening one file cannot both migrate it. */
static int migrate_step(struct mlq_store *st, bool *done, struct mlq_err *err)
{
    char v[32];
    int rc = exec_sql(st, "BEGIN IMMEDIATE", "migrating schema", err);
    if (rc < 0)
        return rc;
    rc = pragma_text(st, "PRAGMA user_version", v, sizeof v, err);
    int ver = atoi(v);
    if (rc == 0 && ver > MLQ_STORE_SCHEMA_VERSION)
        rc = mlq_err_set(err, MLQ_EDB,
                         "database schema version %d is newer than this mlq-scheduler supports "
                         "(%d); upgrade mlq",
                         ver, MLQ_STORE_SCHEMA_VERSION);
    else if (rc == 0 && ver < 0)
        rc = mlq_err_set(err, MLQ_EDB, "database schema version %d is invalid", ver);
    *done = rc == 0 && ver == MLQ_STORE_SCHEMA_VERSION;
    if (rc == 0 && !*done)
        rc = exec_sql(st, migrations[ver], "migrating schema", err);
    if (rc == 0 && !*done) {
        rc = pragma_text(st, "PRAGMA user_version", v, sizeof v, err);
        if (rc == 0 && atoi(v) != ver + 1)
            rc = mlq_err_set(err, MLQ_EDB, "schema step %d did not set its version", ver + 1);
    }
    if (rc == 0)
        rc = exec_sql(st, "COMMIT", "migrating schema", err);
    if (rc < 0 && !sqlite3_get_autocommit(st->db))
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    return rc;
}

/* Fails unless every foreign key holds. */
static int fk_check(struct mlq_store *st, struct mlq_err *err)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(st->db, "PRAGMA foreign_key_check", -1, &s, NULL) != SQLITE_OK)
        return mlq_storei_db_err(st, err, "checking foreign keys");
    int rc = sqlite3_step(s);
    sqlite3_finalize(s);
    if (rc == SQLITE_ROW)
        return mlq_err_set(err, MLQ_EDB, "migrated database breaks a foreign key");
    return rc == SQLITE_DONE ? 0 : mlq_storei_db_err(st, err, "checking foreign keys");
}

/* Steps run with foreign keys off, as rebuilding a referenced table needs
 * (pragma foreign_keys is only honoured outside a transaction), and are
 * checked once all have run. */
static int migrate(struct mlq_store *st, struct mlq_err *err)
{
    bool done = false;
    int steps = 0;
    int rc = exec_sql(st, "PRAGMA foreign_keys = OFF", "migrating schema", err);
    for (int i = 0; rc == 0 && i <= MLQ_STORE_SCHEMA_VERSION && !done; i++) {
        rc = migrate_step(st, &done, err);
        steps += !done;
    }
    int on = exec_sql(st, "PRAGMA foreign_keys = ON", "migrating schema", err);
    if (rc == 0)
        rc = on;
    if (rc == 0 && steps > 0)
        rc = fk_check(st, err);
    if (rc == 0 && !done)
        rc = mlq_err_set(err, MLQ_EDB, "schema migration did not finish");
    return rc;
}

static int prepare_all(struct mlq_store *st, struct mlq_err *err)
{
    for (int i = 0; i < S_COUNT; i++) {
        if (sqlite3_prepare_v3(st->db, stmt_sql[i], -1, SQLITE_PREPARE_PERSISTENT, &st->stmt[i],
                               NULL) != SQLITE_OK)
            return mlq_storei_db_err(st, err, "preparing statements");
    }
    return 0;
}

/* No memory statistics: they take a global mutex around every SQLite
 * allocation. Effective only before SQLite initialises, i.e. at the first
 * open. */
static void sqlite_setup(void)
{
    static bool done;
    if (!done)
        sqlite3_config(SQLITE_CONFIG_MEMSTATUS, 0);
    done = true;
}

int mlq_store_open(const char *path, struct mlq_store **out, struct mlq_err *err)
{
    *out = NULL;
    sqlite_setup();
    struct mlq_store *st = calloc(1, sizeof *st);
    if (st)
        st->last_seq = -1;
    if (!st)
        return mlq_err_set(err, MLQ_ENOMEM, "opening %s: out of memory", path);
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX;
    int rc = 0;
    if (sqlite3_open_v2(path, &st->db, flags, NULL) != SQLITE_OK)
        rc = st->db ? mlq_err_set(err, MLQ_EDB, "opening %s: %s", path, sqlite3_errmsg(st->db))
                    : mlq_err_set(err, MLQ_ENOMEM, "opening %s: out of memory", path);
    if (rc == 0) {
        sqlite3_extended_result_codes(st->db, 1);
        sqlite3_busy_timeout(st->db, BUSY_TIMEOUT_MS);
        /* Refuse writes to sqlite_master and other ways of corrupting the file. */
        sqlite3_db_config(st->db, SQLITE_DBCONFIG_DEFENSIVE, 1, NULL);
        rc = set_pragmas(st, path, err);
    }
    if (rc == 0)
        rc = migrate(st, err);
    if (rc == 0)
        rc = prepare_all(st, err);
    if (rc == 0)
        rc = mlq_storepipe_open(st->db, &st->pipe, err);
    if (rc == 0)
        rc = mlq_storeauth_open(st->db, &st->auth, err);
    if (rc == 0)
        rc = mlq_storetoken_open(st->db, &st->token, err);
    if (rc == 0)
        rc = mlq_storeretain_open(st->db, &st->retain, err);
    if (rc < 0) {
        mlq_store_close(&st);
        return rc;
    }
    *out = st;
    return 0;
}

void mlq_store_close(struct mlq_store **stp)
{
    struct mlq_store *st = stp ? *stp : NULL;
    if (!st)
        return;
    if (st->db && !sqlite3_get_autocommit(st->db))
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    for (int i = 0; i < S_COUNT; i++)
        sqlite3_finalize(st->stmt[i]);
    mlq_storepipe_close(&st->pipe);
    mlq_storeauth_close(&st->auth);
    mlq_storetoken_close(&st->token);
    mlq_storeretain_close(&st->retain);
    sqlite3_close(st->db);
    free(st);
    *stp = NULL;
}

/* Fails when the caller's transaction was rolled back under it by SQLite. */
static int tx_check(struct mlq_store *st, struct mlq_err *err)
{
    if (st->tx && sqlite3_get_autocommit(st->db))
        return mlq_err_set(err, MLQ_EDB,
                           "transaction was rolled back after an earlier database error");
    return 0;
}

int mlq_store_begin(struct mlq_store *st, struct mlq_err *err)
{
    if (st->tx)
        return tx_check(st, err);
    int rc = mlq_storei_exec_stmt(st, st->stmt[S_BEGIN], "starting transaction", err);
    if (rc == 0)
        st->tx = true;
    return rc;
}

int mlq_store_commit(struct mlq_store *st, struct mlq_err *err)
{
    if (!st->tx)
        return 0;
    int rc = tx_check(st, err);
    st->tx = false;
    if (rc < 0)
        return rc;
    rc = mlq_storei_exec_stmt(st, st->stmt[S_COMMIT], "committing", err);
    /* A COMMIT can fail and leave the transaction open (deferred constraint,
     * busy): end it, so the next iteration starts clean. */
    if (rc < 0 && !sqlite3_get_autocommit(st->db))
        mlq_storei_exec_stmt(st, st->stmt[S_ROLLBACK], "rolling back", NULL);
    if (rc < 0)
        st->last_seq = -1;
    return rc;
}

void mlq_store_rollback(struct mlq_store *st)
{
    st->tx = false;
    if (!sqlite3_get_autocommit(st->db))
        mlq_storei_exec_stmt(st, st->stmt[S_ROLLBACK], "rolling back", NULL);
    st->last_seq = -1;
}

bool mlq_store_in_tx(const struct mlq_store *st)
{
    return st->tx;
}

/* The hot writes (job insert and save, attempt save) skip their savepoint
 * inside the caller's transaction: every failure they can have after their
 * first write is MLQ_EDB, on which the caller rolls the whole transaction
 * back (the scheduler's loop does), so the savepoint would only cost two
 * statements per write. Outside one, they are atomic on their own. */
static int hot_begin(struct mlq_store *st, struct mlq_err *err)
{
    return st->tx ? tx_check(st, err) : mlq_storei_op_begin(st, err);
}

static int hot_end(struct mlq_store *st, int rc, struct mlq_err *err)
{
    return st->tx ? rc : mlq_storei_op_end(st, rc, err);
}

/* Opens a savepoint around one multi-row write. */
int mlq_storei_op_begin(struct mlq_store *st, struct mlq_err *err)
{
    int rc = tx_check(st, err);
    if (rc == 0)
        rc = mlq_storei_exec_stmt(st, st->stmt[S_SAVEPOINT], "starting write", err);
    return rc;
}

/* Releases the savepoint when rc is 0 (committing when it was the outermost
 * transaction), otherwise undoes it; returns the resulting code. */
int mlq_storei_op_end(struct mlq_store *st, int rc, struct mlq_err *err)
{
    if (rc == 0) {
        rc = mlq_storei_exec_stmt(st, st->stmt[S_RELEASE], "finishing write", err);
        if (rc == 0)
            return 0;
    }
    /* Either may fail when SQLite already rolled back; the first error wins. */
    st->last_seq = -1;
    mlq_storei_exec_stmt(st, st->stmt[S_ROLLBACK_TO], "undoing write", NULL);
    mlq_storei_exec_stmt(st, st->stmt[S_RELEASE], "undoing write", NULL);
    return rc;
}

/* ---- events --------------------------------------------------------- */

static int event_insert(struct mlq_store *st, const struct event *ev, struct mlq_err *err)
{
    sqlite3_stmt *s = st->stmt[S_EVENT_ADD];
    int rc = sqlite3_bind_int64(s, 1, mlq_clock_wall_ms());
    rc |= sqlite3_bind_text(s, 2, ev->kind, -1, SQLITE_STATIC);
    rc |= mlq_storei_bind_opt(s, 3, ev->job_id);
    rc |= mlq_storei_bind_opt(s, 4, ev->attempt_id);
    rc |= mlq_storei_bind_opt(s, 5, ev->worker);
    rc |= mlq_storei_bind_opt(s, 6, ev->from);
    rc |= mlq_storei_bind_opt(s, 7, ev->to);
    rc |= mlq_storei_bind_opt(s, 8, ev->detail);
    rc |= mlq_storei_bind_opt(s, 9, st->actor);
    rc |= ev->job_seq > 0 ? sqlite3_bind_int64(s, 10, ev->job_seq) : sqlite3_bind_null(s, 10);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "adding event");
    }
    return mlq_storei_exec_stmt(st, s, "adding event", err);
}

int mlq_store_event_add(struct mlq_store *st, const char *kind, const char *job_id,
                        const char *attempt_id, const char *worker, const char *detail,
                        struct mlq_err *err)
{
    if (!kind || !*kind)
        return mlq_err_set(err, MLQ_EINVAL, "event without a kind");
    int rc = tx_check(st, err);
    if (rc < 0)
        return rc;
    struct event ev = {.kind = kind,
                       .job_id = job_id,
                       .attempt_id = attempt_id,
                       .worker = worker,
                       .detail = detail};
    return event_insert(st, &ev, err);
}

/* ---- jobs: writes --------------------------------------------------- */

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
    rc |= mlq_storei_bind_opt(s, 17, j->current_attempt);
    rc |= sqlite3_bind_int(s, 18, j->exit_code);
    rc |= sqlite3_bind_int(s, 19, j->signal);
    rc |= sqlite3_bind_int64(s, 20, j->not_before_ms);
    /* "" = not a task: both columns NULL */
    rc |= mlq_storei_bind_opt(s, 21, j->array_id);
    rc |= j->array_id[0] ? sqlite3_bind_int(s, 22, j->array_index) : sqlite3_bind_null(s, 22);
    return rc;
}

/* The submit order is counted here rather than by a MAX() subquery and a
 * RETURNING clause (which buffers its row in a temporary table): both cost
 * more than the insert itself. Any rollback makes the count re-read. */
static int last_seq(struct mlq_store *st, struct mlq_err *err)
{
    if (st->last_seq >= 0)
        return 0;
    sqlite3_stmt *s = st->stmt[S_JOB_MAX_SEQ];
    int rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        st->last_seq = sqlite3_column_int64(s, 0);
    mlq_storei_finish(s);
    return rc == SQLITE_ROW ? 0 : mlq_storei_db_err(st, err, "reading the last job seq");
}

int mlq_store_job_reserve_seq(struct mlq_store *st, int64_t *seq, struct mlq_err *err)
{
    int rc = last_seq(st, err);
    if (rc == 0)
        *seq = ++st->last_seq;
    return rc;
}

static int job_row_insert(struct mlq_store *st, struct mlq_store_job *job, const char *blob,
                          size_t blob_len, struct mlq_err *err)
{
    int64_t seq = job->seq;
    int rc = seq > 0 ? 0 : mlq_store_job_reserve_seq(st, &seq, err);
    if (rc < 0)
        return rc;
    sqlite3_stmt *s = st->stmt[S_JOB_INSERT];
    rc = bind_job_insert(s, job, blob, blob_len);
    rc |= sqlite3_bind_int64(s, 23, seq);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "inserting job");
    }
    rc = mlq_storei_exec_stmt(st, s, "inserting job", err);
    if (rc == 0)
        job->seq = seq;
    return rc;
}

static int check_job(const struct mlq_store_job *job, struct mlq_err *err)
{
    if (!fixed_ok(job->id, sizeof job->id) || strlen(job->id) != MLQ_ID_LEN ||
        !mlq_storei_id_chars_ok(job->id, MLQ_ID_LEN))
        return mlq_err_set(err, MLQ_EINVAL, "job row without a valid id");
    if ((unsigned)job->state >= MLQ_JOB_STATE_COUNT)
        return mlq_err_set(err, MLQ_EINVAL, "job %s: state %d out of range", job->id,
                           (int)job->state);
    if (!fixed_ok(job->current_attempt, sizeof job->current_attempt))
        return mlq_err_set(err, MLQ_EINVAL, "job %s: current attempt not terminated", job->id);
    if (!fixed_ok(job->array_id, sizeof job->array_id) ||
        (job->array_id[0] && (strlen(job->array_id) != MLQ_ID_LEN ||
                              !mlq_storei_id_chars_ok(job->array_id, MLQ_ID_LEN))))
        return mlq_err_set(err, MLQ_EINVAL, "job %s: invalid array id", job->id);
    if (job->array_id[0] && job->array_index < 0)
        return mlq_err_set(err, MLQ_EINVAL, "job %s: a task needs an index", job->id);
    return 0;
}

/* Packs the spec and inserts the row, no event. */
static int job_insert_row(struct mlq_store *st, struct mlq_store_job *job, struct mlq_err *err)
{
    int rc = check_job(job, err);
    if (rc < 0)
        return rc;
    char *blob = NULL;
    size_t blob_len = 0;
    rc = mlq_proto_jobspec_pack(&job->spec, &blob, &blob_len, err);
    if (rc < 0)
        return rc;
    rc = job_row_insert(st, job, blob, blob_len, err);
    free(blob);
    return rc;
}

int mlq_store_job_insert_row(struct mlq_store *st, struct mlq_store_job *job, struct mlq_err *err)
{
    int rc = hot_begin(st, err);
    if (rc == 0)
        rc = job_insert_row(st, job, err);
    return hot_end(st, rc, err);
}

/* The job's "submit" (from < 0) or "state" event; none when from is its
 * state already. */
static int job_event(struct mlq_store *st, const struct mlq_store_job *job, int from,
                     struct mlq_err *err)
{
    if (from == (int)job->state)
        return 0;
    struct event ev = {.kind = from < 0 ? "submit" : "state",
                       .job_id = job->id,
                       .job_seq = job->seq,
                       .attempt_id = from < 0 ? NULL : job->current_attempt,
                       .from = from < 0 ? NULL : job_state_str(from),
                       .to = job_state_str(job->state),
                       .detail = job->reason};
    return event_insert(st, &ev, err);
}

int mlq_store_job_note(struct mlq_store *st, const struct mlq_store_job *job, int from,
                       struct mlq_err *err)
{
    if (from >= MLQ_JOB_STATE_COUNT)
        return mlq_err_set(err, MLQ_EINVAL, "job %s: state %d out of range", job->id, from);
    int rc = tx_check(st, err);
    return rc < 0 ? rc : job_event(st, job, from, err);
}

int mlq_store_job_insert(struct mlq_store *st, struct mlq_store_job *job, struct mlq_err *err)
{
    int rc = hot_begin(st, err);
    if (rc == 0)
        rc = job_insert_row(st, job, err);
    if (rc == 0)
        rc = job_event(st, job, -1, err);
    return hot_end(st, rc, err);
}

static int job_row_update(struct mlq_store *st, const struct mlq_store_job *j, struct mlq_err *err)
{
    sqlite3_stmt *s = st->stmt[S_JOB_SAVE];
    int rc = sqlite3_bind_text(s, 1, j->id, -1, SQLITE_STATIC);
    rc |= sqlite3_bind_int(s, 2, (int)j->state);
    rc |= mlq_storei_bind_opt(s, 3, j->reason);
    rc |= sqlite3_bind_int64(s, 4, j->submit_ms);
    rc |= sqlite3_bind_int64(s, 5, j->start_ms);
    rc |= sqlite3_bind_int64(s, 6, j->end_ms);
    rc |= sqlite3_bind_int(s, 7, j->attempts);
    rc |= sqlite3_bind_int(s, 8, j->node_failures);
    rc |= mlq_storei_bind_opt(s, 9, j->current_attempt);
    rc |= sqlite3_bind_int(s, 10, j->exit_code);
    rc |= sqlite3_bind_int(s, 11, j->signal);
    rc |= sqlite3_bind_int64(s, 12, j->not_before_ms);
    rc |= sqlite3_bind_int64(s, 13, j->seq);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "saving job");
    }
    rc = mlq_storei_exec_stmt(st, s, "saving job", err);
    if (rc == 0 && sqlite3_changes(st->db) == 0)
        rc = mlq_err_set(err, MLQ_ENOTFOUND, "no job %s", j->id);
    return rc;
}

int mlq_store_job_save(struct mlq_store *st, const struct mlq_store_job *job,
                       enum mlq_job_state from, struct mlq_err *err)
{
    int rc = check_job(job, err);
    if (rc < 0)
        return rc;
    rc = hot_begin(st, err);
    if (rc < 0)
        return rc;
    rc = job_row_update(st, job, err);
    if (rc == 0)
        rc = job_event(st, job, (int)from, err);
    return hot_end(st, rc, err);
}

/* ---- attempts: writes ----------------------------------------------- */

static int check_attempt(const struct mlq_store_attempt *a, struct mlq_err *err)
{
    if (!fixed_ok(a->id, sizeof a->id) || !mlq_storei_id_chars_ok(a->id, MLQ_ID_LEN) ||
        !fixed_ok(a->job_id, sizeof a->job_id) || !mlq_storei_id_chars_ok(a->job_id, MLQ_ID_LEN))
        return mlq_err_set(err, MLQ_EINVAL, "attempt row without valid ids");
    if (!fixed_ok(a->worker, sizeof a->worker) || !fixed_ok(a->gpu_ids, sizeof a->gpu_ids))
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
    rc = hot_begin(st, err);
    if (rc < 0)
        return rc;
    bool is_new = prev < 0;
    rc = att_row_write(st, st->stmt[is_new ? S_ATT_INSERT : S_ATT_UPDATE], a, err);
    if (rc == 0 && !is_new && sqlite3_changes(st->db) == 0)
        rc = mlq_err_set(err, MLQ_ENOTFOUND, "no attempt %s of job %s", a->id, a->job_id);
    if (rc == 0 && event && (is_new || prev != (int)a->state)) {
        struct event ev = {.kind = is_new ? "attempt" : "attempt_state",
                           .job_id = a->job_id,
                           .attempt_id = a->id,
                           .worker = a->worker,
                           .from = is_new ? NULL : att_state_str(prev),
                           .to = att_state_str(a->state),
                           .detail = a->detail};
        rc = event_insert(st, &ev, err);
    }
    return hot_end(st, rc, err);
}

static int attempt_get_row(struct mlq_store *st, const char *id, struct mlq_store_attempt *out,
                           struct mlq_err *err);

/* ---- jobs: reads ---------------------------------------------------- */

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
    int rc = mlq_storei_col_fixed(s, JC_ID, j->id, sizeof j->id);
    rc = rc ? rc
            : mlq_storei_col_fixed(s, JC_CUR_ATT, j->current_attempt, sizeof j->current_attempt);
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
    rc = mlq_storei_col_fixed(s, JC_ARRAY_ID, j->array_id, sizeof j->array_id);
    if (rc < 0) {
        mlq_store_job_free(j);
        return mlq_storei_row_err(rc, err, "reading job");
    }
    if (j->array_id[0])
        j->array_index = sqlite3_column_int(s, JC_ARRAY_INDEX);
    rc = mlq_storei_spec_from_col(s, JC_SPEC, &j->spec, j->id, err);
    if (rc < 0)
        mlq_store_job_free(j);
    return rc;
}

int mlq_store_job_get(struct mlq_store *st, const char *id, struct mlq_store_job *out,
                      struct mlq_err *err)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *s = st->stmt[S_JOB_GET];
    int rc = sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "loading job");
    }
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        rc = job_from_row(s, out, err);
    else if (rc == SQLITE_DONE)
        rc = mlq_err_set(err, MLQ_ENOTFOUND, "no job %.36s", id);
    else
        rc = mlq_storei_db_err(st, err, "loading job");
    mlq_storei_finish(s);
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
    sqlite3_stmt *s = st->stmt[S_JOB_RESOLVE];
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

/* Refuses to restart a walk whose statement is already stepping (a callback
 * calling the same walk again). */
int mlq_storei_walk_start(sqlite3_stmt *s, struct mlq_err *err)
{
    if (sqlite3_stmt_busy(s))
        return mlq_err_set(err, MLQ_ESTATE, "store walk re-entered from its own callback");
    return 0;
}

int mlq_store_each_active_job(struct mlq_store *st, mlq_store_job_fn fn, void *ctx,
                              struct mlq_err *err)
{
    sqlite3_stmt *s = st->stmt[S_JOB_ACTIVE];
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

/* ---- attempts: reads ------------------------------------------------ */

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
    return 0;
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

static int attempt_get_row(struct mlq_store *st, const char *id, struct mlq_store_attempt *out,
                           struct mlq_err *err)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *s = st->stmt[S_ATT_GET];
    int rc = sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "loading attempt");
    }
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        rc = att_from_row(s, out, err);
    else if (rc == SQLITE_DONE)
        rc = mlq_err_set(err, MLQ_ENOTFOUND, "no attempt %.36s", id);
    else
        rc = mlq_storei_db_err(st, err, "loading attempt");
    mlq_storei_finish(s);
    return rc;
}

int mlq_store_each_live_attempt(struct mlq_store *st, mlq_store_attempt_fn fn, void *ctx,
                                struct mlq_err *err)
{
    sqlite3_stmt *s = st->stmt[S_ATT_LIVE];
    int rc = mlq_storei_walk_start(s, err);
    if (rc < 0)
        return rc;
    _Static_assert(MLQ_ATT_ASSIGNED == 0 && MLQ_ATT_RUNNING == 1, "S_ATT_LIVE's literals");
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

/* ---- job info and listings ------------------------------------------ */

/* Moves the listing fields of the stored spec into info; frees the rest. */
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
    info->nodes = (int32_t)spec.nodes;
    spec.pool = NULL;
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
    a->detail = NULL;
    out->worker = strdup(a->worker);
    out->gpu_ids = a->gpu_ids[0] ? strdup(a->gpu_ids) : NULL;
    return out->worker && (out->gpu_ids || !a->gpu_ids[0]) ? 0 : MLQ_ENOMEM;
}

/* Fills info->attempts from the job's attempts, oldest first, the newest
 * MLQ_MAX_ATTEMPT_INFO kept. */
static int info_add_attempts(struct mlq_store *st, struct mlq_jobinfo *info, struct mlq_err *err)
{
    sqlite3_stmt *s = st->stmt[S_ATT_OF_JOB];
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

int mlq_store_job_info(struct mlq_store *st, const char *id, struct mlq_jobinfo *out,
                       struct mlq_err *err)
{
    return mlq_store_job_info_full(st, id, false, out, err);
}

int mlq_store_job_info_full(struct mlq_store *st, const char *id, bool with_attempts,
                            struct mlq_jobinfo *out, struct mlq_err *err)
{
    memset(out, 0, sizeof *out);
    sqlite3_stmt *s = st->stmt[S_JOB_INFO];
    int rc = sqlite3_bind_text(s, 1, id, -1, SQLITE_STATIC);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "loading job");
    }
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        rc = info_from_row(s, out, err);
    else if (rc == SQLITE_DONE)
        rc = mlq_err_set(err, MLQ_ENOTFOUND, "no job %.36s", id);
    else
        rc = mlq_storei_db_err(st, err, "loading job");
    mlq_storei_finish(s);
    if (rc == 0 && with_attempts)
        rc = info_add_attempts(st, out, err);
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

static sqlite3_stmt *list_stmt(struct mlq_store *st, int state, int64_t before, uint32_t limit,
                               int *rc)
{
    sqlite3_stmt *s = st->stmt[state < 0 ? S_JOB_LIST_ALL : S_JOB_LIST_STATE];
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
    *out = NULL;
    *n = 0;
    if (state >= MLQ_JOB_STATE_COUNT)
        return mlq_err_set(err, MLQ_EINVAL, "unknown job state %d", state);
    if (limit == 0)
        limit = DEFAULT_LIST_LIMIT;
    if (limit > MLQ_MAX_LIST)
        limit = MLQ_MAX_LIST;
    uint32_t cap = 16;
    struct mlq_jobinfo *arr = calloc(cap, sizeof *arr);
    if (!arr)
        return mlq_err_set(err, MLQ_ENOMEM, "listing jobs: out of memory");
    int rc;
    sqlite3_stmt *s = list_stmt(st, state, before, limit, &rc);
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

void mlq_store_jobinfo_array_free(struct mlq_jobinfo **arr, uint32_t n)
{
    if (!arr || !*arr)
        return;
    for (uint32_t i = 0; i < n; i++)
        mlq_proto_jobinfo_free(&(*arr)[i]);
    free(*arr);
    *arr = NULL;
}

/* ---- workers -------------------------------------------------------- */

int mlq_store_worker_save(struct mlq_store *st, const struct mlq_store_worker *w,
                          struct mlq_err *err)
{
    if (!fixed_ok(w->name, sizeof w->name) || !w->name[0])
        return mlq_err_set(err, MLQ_EINVAL, "worker row without a valid name");
    if (!fixed_ok(w->pool, sizeof w->pool) || !fixed_ok(w->drain_reason, sizeof w->drain_reason))
        return mlq_err_set(err, MLQ_EINVAL, "worker %s: unterminated pool or drain reason",
                           w->name);
    int rc = tx_check(st, err);
    if (rc < 0)
        return rc;
    sqlite3_stmt *s = st->stmt[S_WORKER_SAVE];
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
    sqlite3_stmt *s = st->stmt[S_WORKER_EACH];
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

int mlq_store_each_usage(struct mlq_store *st, int64_t since_ms, mlq_store_usage_fn fn, void *ctx,
                         struct mlq_err *err)
{
    sqlite3_stmt *s = st->stmt[S_USAGE_EACH];
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
            .gpus = sqlite3_column_int(s, 2),
            .start_ms = sqlite3_column_int64(s, 3),
            .end_ms = sqlite3_column_int64(s, 4),
        };
        ret = fn(&u, ctx);
    }
    if (ret == 0 && rc != SQLITE_DONE)
        ret = mlq_storei_db_err(st, err, "reading usage");
    mlq_storei_finish(s);
    return ret;
}

/* ---- freeing -------------------------------------------------------- */

void mlq_store_job_free(struct mlq_store_job *job)
{
    if (!job)
        return;
    free(job->reason);
    job->reason = NULL;
    mlq_proto_jobspec_free(&job->spec);
}

void mlq_store_attempt_free(struct mlq_store_attempt *a)
{
    if (!a)
        return;
    free(a->detail);
    a->detail = NULL;
}
