/* store: the core of the store, which holds every SQL statement of the
 * scheduler behind a small typed API (store.h): the schema and its
 * migrations, opening the database, the caller's transaction, savepoints and
 * the helpers the parts share (storeint.h). The tables' rows live in the
 * parts named in storeint.h.
 *
 * Invariants (of every part):
 * - Every statement is prepared once in mlq_store_open() and kept by the
 *   store (st->stmt[] here, each part's own table there); values always
 *   travel as bound parameters, never as SQL text. After each use a statement
 *   is reset and its bindings cleared, which is what makes binding caller
 *   strings with SQLITE_STATIC safe.
 * - The schema is the list of steps in migrations[]; step i takes a database
 *   from user_version i to i + 1 and sets that version itself, inside one
 *   transaction. Never edit a released step: add a new one.
 * - A write that touches several rows (a job and its event) runs inside a
 *   savepoint, so it is applied whole or not at all, except the hot writes
 *   (job insert and save, attempt save) inside the caller's transaction: a
 *   failure of theirs is MLQ_EDB and the caller rolls the whole transaction
 *   back (see mlq_storei_hot_begin).
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

#include "storeint.h"

#define BUSY_TIMEOUT_MS 5000
/* WAL pages past which mlq_store_checkpoint_idle copies the WAL into the
 * database: SQLite's own threshold (4 MiB) when no request waits, 8 times
 * that while requests keep coming. A busy scheduler rewrites the same hot
 * pages (index leaves, the newest table pages) in commit after commit, and
 * a checkpoint copies each page once however often the WAL holds it: one
 * copy of 32 MiB of WAL costs far less than eight of 4 MiB. */
#define CHECKPOINT_PAGES      1000
#define CHECKPOINT_BUSY_PAGES 8000

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
    /* 8 -> 9: what admins set on workers (storeworker.c): pool, labels and
     * offered resources that win over what the worker reports. Labels are
     * "k=v" lines joined by newlines (a label holds no whitespace). */
    "CREATE TABLE worker_overrides ("
    " worker TEXT PRIMARY KEY NOT NULL, pool TEXT,"
    " clear_labels INTEGER NOT NULL DEFAULT 0 CHECK (clear_labels IN (0, 1)),"
    " labels TEXT NOT NULL DEFAULT '',"
    " cpus_m INTEGER NOT NULL DEFAULT 0 CHECK (cpus_m >= 0),"
    " mem INTEGER NOT NULL DEFAULT 0 CHECK (mem >= 0),"
    " gpus INTEGER NOT NULL DEFAULT -1 CHECK (gpus >= -1), gpu_type TEXT);"
    "PRAGMA user_version = 9;",
    /* 9 -> 10: gangs (storegang.c). A gang's attempt keeps its row in
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
    "PRAGMA user_version = 10;",
    /* 10 -> 11: what each attempt used, as its worker measured it (NULL: not
     * measured; source says how: cgroup2, cgroup1 or proc). */
    "ALTER TABLE attempts ADD COLUMN usage_source TEXT;"
    "ALTER TABLE attempts ADD COLUMN usage_mem_peak INTEGER;"
    "ALTER TABLE attempts ADD COLUMN usage_cpu_us INTEGER;"
    "ALTER TABLE attempts ADD COLUMN usage_wall_ms INTEGER;"
    "ALTER TABLE attempts ADD COLUMN usage_gpu_mem_peak INTEGER;"
    "ALTER TABLE attempts ADD COLUMN usage_gpu_util INTEGER;"
    "PRAGMA user_version = 11;",
    /* 11 -> 12: jobs are looked up by name (a user's active job named so;
     * `mlq list --name`) without reading the whole table. */
    "CREATE INDEX jobs_name ON jobs(name, owner);"
    "PRAGMA user_version = 12;",
    /* 12 -> 13: each attempt's run manifest, as its worker recorded it
     * (storeattempt.c); goes with its attempt (retention). */
    "CREATE TABLE attempt_manifests (attempt_id TEXT PRIMARY KEY NOT NULL, json TEXT NOT NULL);"
    "CREATE TRIGGER attempt_manifests_gc AFTER DELETE ON attempts BEGIN"
    " DELETE FROM attempt_manifests WHERE attempt_id = OLD.id; END;"
    "PRAGMA user_version = 13;",
    /* 13 -> 14: the hash of the request an idempotency key was first used
     * with (NULL for keys stored before: any request matches them), so that
     * the key reused with another request is refused. */
    "ALTER TABLE idempotency ADD COLUMN request_hash TEXT;"
    "PRAGMA user_version = 14;",
    /* 14 -> 15: teams and usage accounting (storeteam.c, storeacct.c).
     * - teams an admin made; a user belongs to at most one (principals.team,
     *   NULL: none). Jobs keep the team their submitter had at submit time,
     *   an optional accounting project, their pool and GPU type as columns
     *   (copies of the spec's) for grouping reports (NULL in older rows).
     * - usage_daily holds what retention pruned, folded per day and group,
     *   so that reports over old periods stay right.
     * - jobs_submit lets a report pick jobs by submit time. */
    "CREATE TABLE teams (name TEXT PRIMARY KEY NOT NULL, created_ms INTEGER NOT NULL);"
    "ALTER TABLE principals ADD COLUMN team TEXT;"
    "ALTER TABLE jobs ADD COLUMN team TEXT;"
    "ALTER TABLE jobs ADD COLUMN project TEXT;"
    "ALTER TABLE jobs ADD COLUMN pool TEXT;"
    "ALTER TABLE jobs ADD COLUMN gpu_type TEXT;"
    "CREATE INDEX jobs_team_live ON jobs(team) WHERE state IN (0, 1, 2) AND team IS NOT NULL;"
    "CREATE TABLE usage_daily ("
    " day INTEGER NOT NULL, user TEXT NOT NULL, team TEXT NOT NULL, project TEXT NOT NULL,"
    " pool TEXT NOT NULL, gpu_type TEXT NOT NULL,"
    " succeeded INTEGER NOT NULL DEFAULT 0, failed INTEGER NOT NULL DEFAULT 0,"
    " timed_out INTEGER NOT NULL DEFAULT 0, cancelled INTEGER NOT NULL DEFAULT 0,"
    " lost INTEGER NOT NULL DEFAULT 0, cpu_ms INTEGER NOT NULL DEFAULT 0,"
    " gpu_ms INTEGER NOT NULL DEFAULT 0, gpu_known_ms INTEGER NOT NULL DEFAULT 0,"
    " gpu_idle_ms INTEGER NOT NULL DEFAULT 0, wait_ms INTEGER NOT NULL DEFAULT 0,"
    " n_waits INTEGER NOT NULL DEFAULT 0,"
    " PRIMARY KEY (day, user, team, project, pool, gpu_type));"
    "PRAGMA user_version = 15;",
    /* 15 -> 16: the GPU an attempt books, in hundredths per node (a share
     * of one GPU books its part, which for a share asked as GPU memory
     * depends on the GPU it got), so that usage reports, the daily fold and
     * fair share count a share as its fraction of a GPU. NULL in older
     * rows: their job's whole GPUs count. */
    "ALTER TABLE attempts ADD COLUMN gpu_h INTEGER;"
    "PRAGMA user_version = 16;",
    /* 16 -> 17: quotas per team and pool (storequota.c). Only what an admin
     * set is stored: the use figures are derived from the live jobs at
     * start-up, so that a crash cannot leave them wrong. -1 = not limited. */
    "CREATE TABLE quotas (team TEXT NOT NULL, pool TEXT NOT NULL,"
    " gpus_h INTEGER NOT NULL, cpus_m INTEGER NOT NULL, mem INTEGER NOT NULL,"
    " borrow_gpus_h INTEGER NOT NULL, borrow_cpus_m INTEGER NOT NULL,"
    " borrow_mem INTEGER NOT NULL, user_max_running INTEGER NOT NULL,"
    " user_max_gpus_h INTEGER NOT NULL, updated_ms INTEGER NOT NULL,"
    " gpu_types TEXT," /* caps per GPU type, "h100:800,a100:400"; NULL: none */
    " PRIMARY KEY (team, pool));"
    "PRAGMA user_version = 17;",
    /* 17 -> 18: whether a team's higher-priority jobs may preempt its
     * lower-priority ones (preempt.h); off unless an admin turns it on. */
    "ALTER TABLE teams ADD COLUMN preempt_within INTEGER NOT NULL DEFAULT 0;"
    "PRAGMA user_version = 18;",
    /* 18 -> 19: log streams uploaded with no bytes, 1 << stream (logs_empty
     * in storeattempt.c), kept here rather than as empty files. */
    "ALTER TABLE attempts ADD COLUMN logs_empty INTEGER NOT NULL DEFAULT 0;"
    "PRAGMA user_version = 19;",
    /* 19 -> 20: environments many jobs share (storeenv.c): a batch's
     * environment is stored once and each of its jobs names it (env_id,
     * NULL: the job's spec carries its own). refs counts the job rows that
     * name a row; retention deletes it with its last job (its id may then
     * be handed out again: sharedenv.h). No index on env_id: nothing looks
     * jobs up by it. */
    "CREATE TABLE envs (id INTEGER PRIMARY KEY, hash TEXT NOT NULL UNIQUE,"
    " env BLOB NOT NULL, refs INTEGER NOT NULL);"
    "ALTER TABLE jobs ADD COLUMN env_id INTEGER;"
    "PRAGMA user_version = 20;",
    /* 20 -> 21: jobs_team_live says "live" as state <= 2. SQLite evaluates
     * a partial index's "state IN (0, 1, 2)" through a temporary table it
     * builds twice in every UPDATE of a job (old and new row) and once per
     * INSERT: half of a job save's time. The two spellings select the same
     * rows (a state is never negative). */
    "DROP INDEX jobs_team_live;"
    "CREATE INDEX jobs_team_live ON jobs(team) WHERE state <= 2 AND team IS NOT NULL;"
    "PRAGMA user_version = 21;",
    /* 21 -> 22: the jobs of one submit_many share one "submit" event, a
     * row (job_id, job_seq NULL) naming their seqs batch_first..batch_last;
     * events_batch finds the row covering a job's seq (storeevent.c). */
    "ALTER TABLE events ADD COLUMN batch_first INTEGER;"
    "ALTER TABLE events ADD COLUMN batch_last INTEGER;"
    "CREATE INDEX events_batch ON events(batch_last) WHERE batch_last IS NOT NULL;"
    "PRAGMA user_version = 22;",
};

_Static_assert(sizeof migrations / sizeof migrations[0] == MLQ_STORE_SCHEMA_VERSION,
               "one migration step per schema version");

/* ---- statements ------------------------------------------------------ */

enum stmt_id { S_BEGIN, S_COMMIT, S_ROLLBACK, S_SAVEPOINT, S_RELEASE, S_ROLLBACK_TO, S_COUNT };

static const char *const stmt_sql[S_COUNT] = {
    /* the caller's transaction */
    [S_BEGIN] = "BEGIN IMMEDIATE",
    [S_COMMIT] = "COMMIT",
    [S_ROLLBACK] = "ROLLBACK",
    /* one multi-row write inside it, or on its own */
    [S_SAVEPOINT] = "SAVEPOINT store_op",
    [S_RELEASE] = "RELEASE store_op",
    [S_ROLLBACK_TO] = "ROLLBACK TO store_op",
};

/* The core's statements (transactions and savepoints) and each part's. */
struct mlq_store {
    sqlite3 *db;
    sqlite3_stmt *stmt[S_COUNT];
    struct mlq_storejob *job;         /* storejob.c's statements */
    struct mlq_storeattempt *attempt; /* storeattempt.c's statements */
    struct mlq_storejobinfo *jobinfo; /* storejobinfo.c's statements */
    struct mlq_storeevent *event;     /* storeevent.c's statements and actor */
    struct mlq_storepipe *pipe;       /* storepipe.c's statements */
    struct mlq_storeauth *auth;       /* storeauth.c's statements */
    struct mlq_storetoken *token;     /* storetoken.c's statements */
    struct mlq_storeworker *worker;   /* storeworker.c's statements */
    struct mlq_storeretain *retain;   /* storeretain.c's statements */
    struct mlq_storeteam *team;       /* storeteam.c's statements */
    struct mlq_storeacct *acct;       /* storeacct.c's statements */
    struct mlq_storequota *quota;     /* storequota.c's statements */
    struct mlq_storeenv *env;         /* storeenv.c's statements */
    bool tx;                          /* the caller's transaction is open */
    int wal_pages; /* pages in the WAL after the last commit (mlq_store_defer_checkpoints) */
    int64_t
        last_seq; /* the newest job's seq; -1: read it from the table first (after a rollback) */
};

sqlite3 *mlq_storei_db(struct mlq_store *st)
{
    return st->db;
}

struct mlq_storejob *mlq_storei_job(struct mlq_store *st)
{
    return st->job;
}

struct mlq_storeattempt *mlq_storei_attempt(struct mlq_store *st)
{
    return st->attempt;
}

struct mlq_storejobinfo *mlq_storei_jobinfo(struct mlq_store *st)
{
    return st->jobinfo;
}

struct mlq_storeevent *mlq_storei_event(struct mlq_store *st)
{
    return st->event;
}

struct mlq_storepipe *mlq_storei_pipe(struct mlq_store *st)
{
    return st->pipe;
}

struct mlq_storeteam *mlq_storei_team(struct mlq_store *st)
{
    return st->team;
}

struct mlq_storeacct *mlq_storei_acct(struct mlq_store *st)
{
    return st->acct;
}

struct mlq_storequota *mlq_storei_quota(struct mlq_store *st)
{
    return st->quota;
}

struct mlq_storeenv *mlq_storei_env(struct mlq_store *st)
{
    return st->env;
}

struct mlq_storetoken *mlq_storei_token(struct mlq_store *st)
{
    return st->token;
}

struct mlq_storeworker *mlq_storei_worker(struct mlq_store *st)
{
    return st->worker;
}

struct mlq_storeauth *mlq_storei_auth(struct mlq_store *st)
{
    return st->auth;
}

struct mlq_storeretain *mlq_storei_retain(struct mlq_store *st)
{
    return st->retain;
}

int64_t *mlq_storei_last_seq(struct mlq_store *st)
{
    return &st->last_seq;
}

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

int mlq_storei_step_key(struct mlq_store *st, sqlite3_stmt *s, const char *key, const char *what,
                        const char *shown, struct mlq_err *err)
{
    char loading[64];
    snprintf(loading, sizeof loading, "loading %s", what);
    int rc = sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, loading);
    }
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        return 1;
    if (rc != SQLITE_DONE)
        rc = mlq_storei_db_err(st, err, loading);
    else if (shown)
        rc = mlq_err_set(err, MLQ_ENOTFOUND, "no %s %s", what, shown);
    else
        rc = mlq_err_set(err, MLQ_ENOTFOUND, "no %s %.36s", what, key);
    mlq_storei_finish(s);
    return rc;
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

int mlq_storei_exec_bound(struct mlq_store *st, sqlite3_stmt *s, int bind_rc, const char *what,
                          struct mlq_err *err)
{
    if (bind_rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(bind_rc, err, what);
    }
    return mlq_storei_exec_stmt(st, s, what, err);
}

int mlq_storei_step_int(struct mlq_store *st, sqlite3_stmt *s, int64_t v, const char *what,
                        const char *none, struct mlq_err *err)
{
    int rc = sqlite3_bind_int64(s, 1, v);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, what);
    }
    rc = sqlite3_step(s);
    if (rc == SQLITE_ROW)
        return 1;
    rc = rc == SQLITE_DONE ? mlq_err_set(err, MLQ_ENOTFOUND, "%s", none)
                           : mlq_storei_db_err(st, err, what);
    mlq_storei_finish(s);
    return rc;
}

/* NULL or "" is stored as NULL. */
int mlq_storei_bind_opt(sqlite3_stmt *s, int i, const char *v)
{
    if (!v || !*v)
        return sqlite3_bind_null(s, i);
    return sqlite3_bind_text(s, i, v, -1, SQLITE_STATIC);
}

/* True when a fixed-size field holds a terminated string. */
bool mlq_storei_fixed_ok(const char *v, size_t cap)
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

/* Refuses to restart a walk whose statement is already stepping (a callback
 * calling the same walk again). */
int mlq_storei_walk_start(sqlite3_stmt *s, struct mlq_err *err)
{
    if (sqlite3_stmt_busy(s))
        return mlq_err_set(err, MLQ_ESTATE, "store walk re-entered from its own callback");
    return 0;
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
    /* The page cache keeps 8 MiB between transactions: with a million
     * pending jobs every MiB of it is a MiB of the scheduler's resident
     * memory, and a miss costs a read from the kernel's page cache. A big
     * transaction (a 10,000-task array) may still hold up to 16,384 pages
     * (64 MiB at 4 KiB) before it spills any into the WAL ahead of its
     * commit (cache_spill); the pages above cache_size are freed as the
     * transaction ends. */
    rc = exec_sql(st,
                  "PRAGMA synchronous = FULL; PRAGMA foreign_keys = ON; "
                  "PRAGMA cache_size = -8192; PRAGMA cache_spill = 16384; "
                  "PRAGMA temp_store = MEMORY;",
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
 * database is at target. The version is read inside the write transaction so
 * two processes opening one file cannot both migrate it. */
static int migrate_step(struct mlq_store *st, int target, bool *done, struct mlq_err *err)
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
    else if (rc == 0 && (ver < 0 || ver > target))
        rc = mlq_err_set(err, MLQ_EDB, "database schema version %d is invalid here (want %d)", ver,
                         target);
    *done = rc == 0 && ver == target;
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
static int migrate(struct mlq_store *st, int target, struct mlq_err *err)
{
    bool done = false;
    int steps = 0;
    int rc = exec_sql(st, "PRAGMA foreign_keys = OFF", "migrating schema", err);
    for (int i = 0; rc == 0 && i <= target && !done; i++) {
        rc = migrate_step(st, target, &done, err);
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

int mlq_storei_prepare(sqlite3 *db, const char *const *sql, int n, sqlite3_stmt **out,
                       struct mlq_err *err)
{
    for (int i = 0; i < n; i++) {
        if (sqlite3_prepare_v3(db, sql[i], -1, SQLITE_PREPARE_PERSISTENT, &out[i], NULL) !=
            SQLITE_OK) {
            int rc = mlq_err_set(err, MLQ_EDB, "preparing statements: %s", sqlite3_errmsg(db));
            mlq_storei_finalize(out, n);
            return rc;
        }
    }
    return 0;
}

void mlq_storei_finalize(sqlite3_stmt **s, int n)
{
    for (int i = 0; i < n; i++) {
        sqlite3_finalize(s[i]);
        s[i] = NULL;
    }
}

/* The core's statements, then each part's. */
static int prepare_all(struct mlq_store *st, struct mlq_err *err)
{
    int rc = mlq_storei_prepare(st->db, stmt_sql, S_COUNT, st->stmt, err);
    if (rc == 0)
        rc = mlq_storejob_open(st->db, &st->job, err);
    if (rc == 0)
        rc = mlq_storeattempt_open(st->db, &st->attempt, err);
    if (rc == 0)
        rc = mlq_storejobinfo_open(st->db, &st->jobinfo, err);
    if (rc == 0)
        rc = mlq_storeevent_open(st->db, &st->event, err);
    if (rc == 0)
        rc = mlq_storepipe_open(st->db, &st->pipe, err);
    if (rc == 0)
        rc = mlq_storeauth_open(st->db, &st->auth, err);
    if (rc == 0)
        rc = mlq_storetoken_open(st->db, &st->token, err);
    if (rc == 0)
        rc = mlq_storeworker_open(st->db, &st->worker, err);
    if (rc == 0)
        rc = mlq_storeretain_open(st->db, &st->retain, err);
    if (rc == 0)
        rc = mlq_storeteam_open(st->db, &st->team, err);
    if (rc == 0)
        rc = mlq_storeacct_open(st->db, &st->acct, err);
    if (rc == 0)
        rc = mlq_storequota_open(st->db, &st->quota, err);
    if (rc == 0)
        rc = mlq_storeenv_open(st->db, &st->env, err);
    return rc;
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
        rc = migrate(st, MLQ_STORE_SCHEMA_VERSION, err);
    if (rc == 0)
        rc = prepare_all(st, err);
    if (rc < 0) {
        mlq_store_close(&st);
        return rc;
    }
    *out = st;
    return 0;
}

int mlq_store_migrate_to(const char *path, int version, struct mlq_err *err)
{
    if (version < 1 || version > MLQ_STORE_SCHEMA_VERSION)
        return mlq_err_set(err, MLQ_EINVAL, "schema version %d is not 1..%d", version,
                           MLQ_STORE_SCHEMA_VERSION);
    sqlite_setup();
    struct mlq_store st = {.last_seq = -1};
    int rc = 0;
    if (sqlite3_open_v2(path, &st.db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE, NULL) !=
        SQLITE_OK)
        rc = mlq_err_set(err, MLQ_EDB, "opening %s: %s", path,
                         st.db ? sqlite3_errmsg(st.db) : "out of memory");
    if (rc == 0)
        rc = set_pragmas(&st, path, err);
    if (rc == 0)
        rc = migrate(&st, version, err);
    sqlite3_close(st.db);
    return rc;
}

void mlq_store_close(struct mlq_store **stp)
{
    struct mlq_store *st = stp ? *stp : NULL;
    if (!st)
        return;
    if (st->db && !sqlite3_get_autocommit(st->db))
        sqlite3_exec(st->db, "ROLLBACK", NULL, NULL, NULL);
    mlq_storei_finalize(st->stmt, S_COUNT);
    mlq_storejob_close(&st->job);
    mlq_storeattempt_close(&st->attempt);
    mlq_storejobinfo_close(&st->jobinfo);
    mlq_storeevent_close(&st->event);
    mlq_storepipe_close(&st->pipe);
    mlq_storeauth_close(&st->auth);
    mlq_storetoken_close(&st->token);
    mlq_storeworker_close(&st->worker);
    mlq_storeretain_close(&st->retain);
    mlq_storeteam_close(&st->team);
    mlq_storeacct_close(&st->acct);
    mlq_storequota_close(&st->quota);
    mlq_storeenv_close(&st->env);
    sqlite3_close(st->db);
    free(st);
    *stp = NULL;
}

/* Fails when the caller's transaction was rolled back under it by SQLite. */
int mlq_storei_tx_check(struct mlq_store *st, struct mlq_err *err)
{
    if (st->tx && sqlite3_get_autocommit(st->db))
        return mlq_err_set(err, MLQ_EDB,
                           "transaction was rolled back after an earlier database error");
    return 0;
}

int mlq_store_begin(struct mlq_store *st, struct mlq_err *err)
{
    if (st->tx)
        return mlq_storei_tx_check(st, err);
    int rc = mlq_storei_exec_stmt(st, st->stmt[S_BEGIN], "starting transaction", err);
    if (rc == 0)
        st->tx = true;
    return rc;
}

int mlq_store_commit(struct mlq_store *st, struct mlq_err *err)
{
    if (!st->tx)
        return 0;
    int rc = mlq_storei_tx_check(st, err);
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

/* The WAL hook in place of SQLite's auto-checkpoint: only notes the size. */
static int note_wal_size(void *arg, sqlite3 *db, const char *name, int pages)
{
    (void)db;
    (void)name;
    ((struct mlq_store *)arg)->wal_pages = pages;
    return SQLITE_OK;
}

void mlq_store_defer_checkpoints(struct mlq_store *st)
{
    sqlite3_wal_hook(st->db, note_wal_size, st);
}

void mlq_store_checkpoint_idle(struct mlq_store *st, bool busy)
{
    if (st->tx || st->wal_pages < (busy ? CHECKPOINT_BUSY_PAGES : CHECKPOINT_PAGES))
        return;
    /* PASSIVE: copies what no reader still needs and never waits; what it
     * leaves is copied by a later one. Durability does not depend on it. */
    if (sqlite3_wal_checkpoint_v2(st->db, NULL, SQLITE_CHECKPOINT_PASSIVE, NULL, NULL) == SQLITE_OK)
        st->wal_pages = 0;
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
int mlq_storei_hot_begin(struct mlq_store *st, struct mlq_err *err)
{
    return st->tx ? mlq_storei_tx_check(st, err) : mlq_storei_op_begin(st, err);
}

int mlq_storei_hot_end(struct mlq_store *st, int rc, struct mlq_err *err)
{
    return st->tx ? rc : mlq_storei_op_end(st, rc, err);
}

/* Opens a savepoint around one multi-row write. */
int mlq_storei_op_begin(struct mlq_store *st, struct mlq_err *err)
{
    int rc = mlq_storei_tx_check(st, err);
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
