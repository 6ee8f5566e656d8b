/* Unit tests for scheduler/store.c and the parts that keep jobs, attempts,
 * job listings, events and workers (storejob.c, storeattempt.c,
 * storejobinfo.c, storeevent.c, storeworker.c): schema and pragmas, every
 * read and write, the events history, transactions, and real SQLite
 * failures (locked database, full database, failed COMMIT, constraint
 * violations).
 *
 * The store's sqlite3 handle is private. An auto-extension sees every
 * connection SQLite opens, so the tests can read pragmas and the events table
 * on the store's own connection and provoke failures on it. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "store.h"

/* The first connection opened since open_store() reset it: the store's
 * own. */
static sqlite3 *g_last_db;

static int capture_db(sqlite3 *db, const char **errmsg, const struct sqlite3_api_routines *api)
{
    (void)errmsg;
    (void)api;
    if (!g_last_db)
        g_last_db = db;
    return SQLITE_OK;
}

struct fix {
    struct mlq_store *st;
    sqlite3 *db; /* the store's own connection */
    char dir[64];
    char path[128];
};

/* ---- helpers ---------------------------------------------------------- */

static char *k_argv[] = {"python", "train.py", "--epochs=3"};
static char *k_env[] = {"A=1", "B=two words"};

static void make_job_id(struct mlq_store_job *j, const char *id)
{
    memset(j, 0, sizeof *j);
    snprintf(j->id, sizeof j->id, "%s", id);
    j->state = MLQ_JOB_PENDING;
    j->spec.name = "train";
    j->spec.owner = "alice";
    j->spec.argv = k_argv;
    j->spec.argc = 3;
    j->spec.env = k_env;
    j->spec.envc = 2;
    j->spec.workdir = "/home/alice/proj";
    j->spec.cpus_m = 1500;
    j->spec.mem = 4LL << 30;
    j->spec.gpus = 2;
    j->submit_ms = 1700000000000LL;
    j->exit_code = -1;
}

static void make_job(struct mlq_store_job *j, unsigned n)
{
    char id[MLQ_ID_LEN + 1];
    snprintf(id, sizeof id, "%08x-0000-4000-8000-%012x", n, n);
    make_job_id(j, id);
}

static void make_attempt(struct mlq_store_attempt *a, const char *job_id, unsigned n, int num)
{
    memset(a, 0, sizeof *a);
    snprintf(a->id, sizeof a->id, "%08x-1111-4000-8000-%012x", n, n);
    snprintf(a->job_id, sizeof a->job_id, "%s", job_id);
    a->num = num;
    snprintf(a->worker, sizeof a->worker, "node-%u", n);
    a->state = MLQ_ATT_ASSIGNED;
    snprintf(a->gpu_ids, sizeof a->gpu_ids, "0,1");
    a->assigned_ms = 1700000000100LL;
    a->exit_code = -1;
}

static void insert_job(struct mlq_store *st, struct mlq_store_job *j)
{
    struct mlq_err err = {0};
    int rc = mlq_store_job_insert(st, j, &err);
    if (rc != 0)
        fail_msg("insert %s: %s", j->id, err.msg);
}

static long long q_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    long long v = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    return v;
}

static void q_text(sqlite3 *db, const char *sql, char *out, size_t cap)
{
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    snprintf(out, cap, "%s", (const char *)sqlite3_column_text(s, 0));
    sqlite3_finalize(s);
}

static int count_events(sqlite3 *db, const char *job_id)
{
    sqlite3_stmt *s = NULL;
    assert_int_equal(
        sqlite3_prepare_v2(db, "SELECT count(*) FROM events WHERE job_id = ?1", -1, &s, NULL),
        SQLITE_OK);
    sqlite3_bind_text(s, 1, job_id, -1, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    int n = sqlite3_column_int(s, 0);
    sqlite3_finalize(s);
    return n;
}

/* The idx-th event of a job as "kind|from|to|attempt|worker|detail", "-"
 * for NULL; also checks time_ms is set. */
static void event_row(sqlite3 *db, const char *job_id, int idx, char *out, size_t cap)
{
    sqlite3_stmt *s = NULL;
    const char *sql = "SELECT kind || '|' || IFNULL(from_state, '-') || '|' ||"
                      " IFNULL(to_state, '-') || '|' || IFNULL(attempt_id, '-') || '|' ||"
                      " IFNULL(worker, '-') || '|' || IFNULL(detail, '-'), time_ms"
                      " FROM events WHERE job_id = ?1 ORDER BY seq LIMIT 1 OFFSET ?2";
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    sqlite3_bind_text(s, 1, job_id, -1, SQLITE_STATIC);
    sqlite3_bind_int(s, 2, idx);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    snprintf(out, cap, "%s", (const char *)sqlite3_column_text(s, 0));
    assert_true(sqlite3_column_int64(s, 1) > 0);
    sqlite3_finalize(s);
}

static void open_store(struct fix *f, const char *path)
{
    struct mlq_err err = {0};
    g_last_db = NULL;
    int rc = mlq_store_open(path, &f->st, &err);
    if (rc != 0)
        fail_msg("open %s: %s", path, err.msg);
    f->db = g_last_db;
    assert_non_null(f->db);
}

static void rm_db_files(const char *path)
{
    char p[160];
    const char *sfx[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s%s", path, sfx[i]);
        unlink(p);
    }
}

/* ---- fixtures ------------------------------------------------------- */

static int setup_mem(void **state)
{
    struct fix *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    open_store(f, ":memory:");
    *state = f;
    return 0;
}

static int setup_file(void **state)
{
    struct fix *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/mlq-store-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/mlq.db", f->dir);
    open_store(f, f->path);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fix *f = *state;
    mlq_store_close(&f->st);
    if (f->dir[0]) {
        rm_db_files(f->path);
        rmdir(f->dir);
    }
    free(f);
    return 0;
}

/* ---- schema, pragmas ------------------------------------------------ */

static void test_open_creates_schema(void **state)
{
    struct fix *f = *state;
    assert_non_null(f->st);
    sqlite3 *raw = NULL;
    assert_int_equal(sqlite3_open(f->path, &raw), SQLITE_OK);
    assert_int_equal(q_int(raw, "PRAGMA user_version"), MLQ_STORE_SCHEMA_VERSION);
    assert_int_equal(q_int(raw, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND"
                                " name IN ('jobs', 'attempts', 'workers', 'events')"),
                     4);
    /* v7: events may be deleted (retention), never changed; v9: a gang's
     * parts go with their attempt; v12: so does its run manifest */
    assert_int_equal(q_int(raw, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"), 3);
    assert_int_equal(q_int(raw, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND"
                                " name = 'attempt_parts'"),
                     1);
    assert_int_equal(q_int(raw, "SELECT count(*) FROM sqlite_master WHERE type = 'index' AND"
                                " name IN ('jobs_state', 'attempts_live', 'attempts_job',"
                                " 'attempts_end')"),
                     4);
    sqlite3_close(raw);
}

static void test_reopen_idempotent(void **state)
{
    struct fix *f = *state;
    struct mlq_store_job j, got;
    struct mlq_err err = {0};
    make_job(&j, 1);
    insert_job(f->st, &j);
    for (int i = 0; i < 2; i++) {
        mlq_store_close(&f->st);
        assert_null(f->st);
        open_store(f, f->path);
        assert_int_equal(q_int(f->db, "PRAGMA user_version"), MLQ_STORE_SCHEMA_VERSION);
        assert_int_equal(mlq_store_job_get(f->st, j.id, &got, &err), 0);
        assert_int_equal(got.seq, 1);
        mlq_store_job_free(&got);
    }
    make_job(&j, 2);
    insert_job(f->st, &j);
    assert_int_equal(j.seq, 2);
}

static void test_newer_version_refused(void **state)
{
    struct fix *f = *state;
    mlq_store_close(&f->st);
    sqlite3 *raw = NULL;
    assert_int_equal(sqlite3_open(f->path, &raw), SQLITE_OK);
    char sql[64], want[32];
    snprintf(sql, sizeof sql, "PRAGMA user_version = %d", MLQ_STORE_SCHEMA_VERSION + 1);
    snprintf(want, sizeof want, "version %d", MLQ_STORE_SCHEMA_VERSION + 1);
    assert_int_equal(sqlite3_exec(raw, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(raw);

    struct mlq_err err = {0};
    struct mlq_store *st = (struct mlq_store *)&err; /* must be reset to NULL */
    assert_int_equal(mlq_store_open(f->path, &st, &err), MLQ_EDB);
    assert_null(st);
    assert_non_null(strstr(err.msg, "newer"));
    assert_non_null(strstr(err.msg, want));

    assert_int_equal(sqlite3_open(f->path, &raw), SQLITE_OK);
    assert_int_equal(q_int(raw, "PRAGMA user_version"),
                     MLQ_STORE_SCHEMA_VERSION + 1); /* untouched */
    sqlite3_close(raw);
}

static void test_pragmas_file(void **state)
{
    struct fix *f = *state;
    char mode[16];
    q_text(f->db, "PRAGMA journal_mode", mode, sizeof mode);
    assert_string_equal(mode, "wal");
    assert_int_equal(q_int(f->db, "PRAGMA synchronous"), 2); /* FULL */
    assert_int_equal(q_int(f->db, "PRAGMA foreign_keys"), 1);
    assert_int_equal(q_int(f->db, "PRAGMA busy_timeout"), 5000);
    /* WAL is a property of the file: a fresh connection sees it too. */
    sqlite3 *raw = NULL;
    assert_int_equal(sqlite3_open(f->path, &raw), SQLITE_OK);
    q_text(raw, "PRAGMA journal_mode", mode, sizeof mode);
    assert_string_equal(mode, "wal");
    sqlite3_close(raw);
}

static void test_pragmas_memory(void **state)
{
    struct fix *f = *state;
    char mode[16];
    q_text(f->db, "PRAGMA journal_mode", mode, sizeof mode);
    assert_string_equal(mode, "memory");
    assert_int_equal(q_int(f->db, "PRAGMA foreign_keys"), 1);
    assert_int_equal(q_int(f->db, "PRAGMA user_version"), MLQ_STORE_SCHEMA_VERSION);
}

/* The version-1 schema exactly as first released (store.c step 0). */
static const char k_schema_v1[] =
    "CREATE TABLE jobs ("
    " id TEXT PRIMARY KEY NOT NULL,"
    " seq INTEGER UNIQUE NOT NULL,"
    " name TEXT, owner TEXT, state INTEGER NOT NULL, reason TEXT,"
    " spec BLOB NOT NULL,"
    " cpus_m INTEGER NOT NULL, mem INTEGER NOT NULL, gpus INTEGER NOT NULL,"
    " workdir TEXT, argv0 TEXT,"
    " submit_ms INTEGER NOT NULL, start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL,"
    " attempts INTEGER NOT NULL, node_failures INTEGER NOT NULL,"
    " current_attempt TEXT,"
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
    "PRAGMA user_version = 1;";

static const char k_v1_id[] = "0000abcd-0000-4000-8000-00000000abcd";

/* Writes a version-1 database at path holding one RUNNING job (its spec blob
 * in the first format, without the optional keys), its attempt and worker. */
static void write_v1_db(const char *path)
{
    sqlite3 *raw = NULL;
    sqlite3_stmt *s = NULL;
    struct mlq_store_job j;
    char *blob;
    size_t len;
    make_job_id(&j, k_v1_id);
    assert_int_equal(mlq_proto_jobspec_pack(&j.spec, &blob, &len, NULL), 0);
    assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_exec(raw, k_schema_v1, NULL, NULL, NULL), SQLITE_OK);
    const char *ins = "INSERT INTO jobs VALUES (?1, 1, 'train', 'alice', 2, 'running', ?2, 1500,"
                      " 4294967296, 2, '/w', 'python', 1700000000000, 1700000000500, 0, 1, 1,"
                      " '0000abcd-1111-4000-8000-00000000abcd', -1, 0)";
    assert_int_equal(sqlite3_prepare_v2(raw, ins, -1, &s, NULL), SQLITE_OK);
    sqlite3_bind_text(s, 1, k_v1_id, -1, SQLITE_STATIC);
    sqlite3_bind_blob(s, 2, blob, (int)len, SQLITE_STATIC);
    assert_int_equal(sqlite3_step(s), SQLITE_DONE);
    sqlite3_finalize(s);
    free(blob);
    assert_int_equal(sqlite3_exec(raw,
                                  "INSERT INTO attempts VALUES ('0000abcd-1111-4000-8000-"
                                  "00000000abcd', '0000abcd-0000-4000-8000-00000000abcd', 1,"
                                  " 'node-a', 1, '0', 1, 2, 0, -1, 0, NULL);"
                                  "INSERT INTO workers VALUES ('node-a', 4000, 1024, 1, 1, 2);",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(raw);
}

/* A database of schema v1 opens, is migrated to the
 * current version and keeps every row; the new columns read as their
 * defaults and can be written. */
static void test_migrate_v1(void **state)
{
    struct fix *f = *state;
    struct mlq_store_job got;
    struct mlq_jobinfo info;
    struct mlq_err err = {0};
    mlq_store_close(&f->st);
    rm_db_files(f->path);
    write_v1_db(f->path);
    open_store(f, f->path);
    assert_int_equal(q_int(f->db, "PRAGMA user_version"), MLQ_STORE_SCHEMA_VERSION);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM pragma_table_info('jobs')"
                                  " WHERE name = 'not_before_ms' AND \"notnull\" = 1"),
                     1);
    assert_int_equal(mlq_store_job_get(f->st, k_v1_id, &got, &err), 0);
    assert_int_equal(got.state, MLQ_JOB_RUNNING);
    assert_int_equal(got.seq, 1);
    assert_int_equal(got.node_failures, 1);
    assert_int_equal(got.not_before_ms, 0);
    assert_int_equal(got.spec.retries, 0);
    assert_int_equal(got.spec.time_limit_ms, 0);
    assert_true(mlq_idbin_is(&got.cur_att, "0000abcd-1111-4000-8000-00000000abcd"));
    got.not_before_ms = 1700000099000LL;
    assert_int_equal(mlq_store_job_save(f->st, &got, got.state, &err), 0);
    mlq_store_job_free(&got);
    assert_int_equal(mlq_store_job_info_full(f->st, k_v1_id, true, &info, &err), 0);
    assert_int_equal(info.not_before_ms, 1700000099000LL);
    assert_int_equal(info.node_failures, 1);
    assert_int_equal(info.nattempts, 1);
    assert_string_equal(info.attempts[0].worker, "node-a");
    assert_int_equal(info.attempts[0].state, MLQ_ATT_RUNNING);
    mlq_proto_jobinfo_free(&info);
    /* v6: seq is the jobs rowid; the attempt and the job's events are found
     * through it; foreign keys on again and holding */
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM pragma_table_info('jobs')"
                                  " WHERE name = 'seq' AND pk = 1"),
                     1);
    assert_int_equal(q_int(f->db, "SELECT rowid FROM jobs"), 1);
    assert_int_equal(q_int(f->db, "PRAGMA foreign_keys"), 1);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM pragma_foreign_key_check"), 0);
    assert_int_equal(q_int(f->db, "SELECT job_seq FROM attempts"), 1);
    assert_int_equal(mlq_store_event_add(f->st, "note", k_v1_id, NULL, NULL, "x", &err), 0);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM events WHERE job_seq = 1"), 1);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
                                  " AND name IN ('attempts_job', 'events_job', 'events_other',"
                                  " 'attempts_live', 'jobs_array', 'events_time')"),
                     6);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM sqlite_master WHERE type = 'trigger'"
                                  " AND tbl_name = 'events'"),
                     1);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM sqlite_master WHERE sql LIKE"
                                  " '%AUTOINCREMENT%'"),
                     0);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM workers"), 1);
    /* v7: attempts keep their rows and columns, name their job by seq (an
     * index serves the key), events may be deleted but still not changed,
     * idempotency keys are indexed by the id they name */
    assert_int_equal(
        q_int(
            f->db,
            "SELECT count(*) FROM attempts WHERE job_id = '0000abcd-0000-4000-8000-00000000abcd'"),
        1);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM pragma_foreign_key_list('attempts')"
                                  " WHERE \"table\" = 'jobs' AND \"from\" = 'job_seq'"
                                  " AND \"to\" = 'seq'"),
                     1);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM pragma_foreign_key_list('attempts')"
                                  " WHERE \"from\" = 'job_id'"),
                     0);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
                                  " AND name IN ('idempotency_id', 'attempts_end')"),
                     2);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM sqlite_master WHERE name ="
                                  " 'events_no_update'"),
                     1);
    assert_int_not_equal(sqlite3_exec(f->db, "UPDATE events SET kind = 'x'", NULL, NULL, NULL),
                         SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(f->db, "DELETE FROM events WHERE kind = 'note'", NULL, NULL, NULL), SQLITE_OK);
    char ok[16];
    q_text(f->db, "PRAGMA integrity_check", ok, sizeof ok);
    assert_string_equal(ok, "ok");
    /* a second open finds nothing left to do */
    mlq_store_close(&f->st);
    open_store(f, f->path);
    assert_int_equal(q_int(f->db, "PRAGMA user_version"), MLQ_STORE_SCHEMA_VERSION);
}

struct wseen {
    int n;
    struct mlq_store_worker w[4];
};

static int collect_worker(const struct mlq_store_worker *w, void *ctx)
{
    struct wseen *s = ctx;
    if (s->n < 4)
        s->w[s->n] = *w;
    s->n++;
    return 0;
}

/* A database of schema v2: v1 plus not_before_ms. */
static void write_v2_db(const char *path)
{
    sqlite3 *raw = NULL;
    write_v1_db(path);
    assert_int_equal(sqlite3_open(path, &raw), SQLITE_OK);
    assert_int_equal(sqlite3_exec(raw,
                                  "ALTER TABLE jobs ADD COLUMN not_before_ms INTEGER NOT NULL"
                                  " DEFAULT 0; UPDATE jobs SET not_before_ms = 77;"
                                  " PRAGMA user_version = 2;",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    sqlite3_close(raw);
}

/* v2 -> v3: workers gain pool 'default', drained 0, no reason; the job and
 * its running attempt are untouched; drains written afterwards persist. */
static void test_migrate_v2(void **state)
{
    struct fix *f = *state;
    struct mlq_store_job got;
    struct mlq_err err = {0};
    struct wseen s = {0};
    mlq_store_close(&f->st);
    rm_db_files(f->path);
    write_v2_db(f->path);
    open_store(f, f->path);
    assert_int_equal(q_int(f->db, "PRAGMA user_version"), MLQ_STORE_SCHEMA_VERSION);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM pragma_table_info('workers')"
                                  " WHERE name IN ('pool', 'drained', 'drain_reason')"),
                     3);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM sqlite_master WHERE type = 'index'"
                                  " AND name = 'attempts_end'"),
                     1);
    assert_int_equal(mlq_store_job_get(f->st, k_v1_id, &got, &err), 0);
    assert_int_equal(got.not_before_ms, 77);
    assert_int_equal(got.spec.priority, 0);
    assert_null(got.spec.pool);
    /* v4: an old job is not a task and has no dependencies */
    assert_null(got.task_of);
    assert_int_equal(got.array_index, -1);
    assert_int_equal(got.spec.ndeps, 0);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM sqlite_master WHERE type = 'table' AND"
                                  " name IN ('arrays', 'idempotency', 'schedules',"
                                  " 'schedule_runs')"),
                     4);
    mlq_store_job_free(&got);
    assert_int_equal(mlq_store_each_worker(f->st, collect_worker, &s, &err), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.w[0].name, "node-a");
    assert_int_equal(s.w[0].cpus_m, 4000);
    assert_string_equal(s.w[0].pool, "default");
    assert_false(s.w[0].drained);
    assert_string_equal(s.w[0].drain_reason, "");

    s.w[0].drained = true;
    snprintf(s.w[0].drain_reason, sizeof s.w[0].drain_reason, "bad fan");
    assert_int_equal(mlq_store_worker_save(f->st, &s.w[0], &err), 0);
    mlq_store_close(&f->st);
    open_store(f, f->path);
    s.n = 0;
    assert_int_equal(mlq_store_each_worker(f->st, collect_worker, &s, &err), 0);
    assert_true(s.w[0].drained);
    assert_string_equal(s.w[0].drain_reason, "bad fan");
    char ok[16];
    q_text(f->db, "PRAGMA integrity_check", ok, sizeof ok);
    assert_string_equal(ok, "ok");
}

/* A failing step leaves the database at its old version, data intact. */
static void test_migrate_v1_failure_rolls_back(void **state)
{
    struct fix *f = *state;
    mlq_store_close(&f->st);
    rm_db_files(f->path);
    write_v1_db(f->path);
    sqlite3 *raw = NULL; /* a column of that name already there makes ALTER fail */
    assert_int_equal(sqlite3_open(f->path, &raw), SQLITE_OK);
    assert_int_equal(
        sqlite3_exec(raw, "ALTER TABLE jobs ADD COLUMN not_before_ms TEXT", NULL, NULL, NULL),
        SQLITE_OK);
    sqlite3_close(raw);
    struct mlq_err err = {0};
    struct mlq_store *st = NULL;
    assert_int_equal(mlq_store_open(f->path, &st, &err), MLQ_EDB);
    assert_null(st);
    assert_non_null(strstr(err.msg, "migrating schema"));
    assert_int_equal(sqlite3_open(f->path, &raw), SQLITE_OK);
    assert_int_equal(q_int(raw, "PRAGMA user_version"), 1);
    assert_int_equal(q_int(raw, "SELECT count(*) FROM jobs"), 1);
    sqlite3_close(raw);
}

/* ---- jobs ----------------------------------------------------------- */

static void test_job_roundtrip(void **state)
{
    struct fix *f = *state;
    struct mlq_store_job j, got;
    struct mlq_err err = {0};
    make_job(&j, 7);
    j.reason = "held by user";
    insert_job(f->st, &j);
    assert_int_equal(mlq_store_job_get(f->st, j.id, &got, &err), 0);
    assert_string_equal(got.id, j.id);
    assert_int_equal(got.seq, j.seq);
    assert_int_equal(got.state, MLQ_JOB_PENDING);
    assert_string_equal(got.reason, "held by user");
    assert_string_equal(got.spec.name, "train");
    assert_string_equal(got.spec.owner, "alice");
    assert_int_equal(got.spec.argc, 3);
    for (uint32_t i = 0; i < 3; i++)
        assert_string_equal(got.spec.argv[i], k_argv[i]);
    assert_int_equal(got.spec.envc, 2);
    assert_string_equal(got.spec.env[1], "B=two words");
    assert_string_equal(got.spec.workdir, "/home/alice/proj");
    assert_int_equal(got.spec.cpus_m, 1500);
    assert_int_equal(got.spec.mem, 4LL << 30);
    assert_int_equal(got.spec.gpus, 2);
    assert_int_equal(got.submit_ms, 1700000000000LL);
    assert_int_equal(got.start_ms, 0);
    assert_int_equal(got.attempts, 0);
    assert_true(mlq_idbin_is(&got.cur_att, ""));
    assert_int_equal(got.exit_code, -1);
    assert_int_equal(got.signal, 0);
    assert_int_equal(got.not_before_ms, 0);
    mlq_store_job_free(&got);
    assert_null(got.reason);

    assert_int_equal(mlq_store_job_get(f->st, "00000000-0000-4000-8000-000000000000", &got, &err),
                     MLQ_ENOTFOUND);
    /* One "submit" event, naming the new state. */
    char ev[256];
    assert_int_equal(count_events(f->db, j.id), 1);
    event_row(f->db, j.id, 0, ev, sizeof ev);
    assert_string_equal(ev, "submit|-|PENDING|-|-|held by user");
}

/* not_before_ms and the spec's retry and time-limit keys survive insert, save,
 * get and the active-job walk. */
static int first_job(const struct mlq_store_job *job, void *ctx)
{
    *(int64_t *)ctx = job->not_before_ms;
    return 1;
}

static void test_not_before_roundtrip(void **state)
{
    struct fix *f = *state;
    struct mlq_store_job j, got;
    struct mlq_err err = {0};
    make_job(&j, 8);
    j.not_before_ms = 1700000001234LL;
    j.spec.retries = 3;
    j.spec.retry_backoff_ms = 30000;
    j.spec.time_limit_ms = 7200000;
    j.spec.kill_grace_ms = 5000;
    j.spec.warn_signal = 10;
    j.spec.warn_before_ms = 60000;
    insert_job(f->st, &j);
    assert_int_equal(mlq_store_job_get(f->st, j.id, &got, &err), 0);
    assert_int_equal(got.not_before_ms, 1700000001234LL);
    assert_int_equal(got.spec.retries, 3);
    assert_int_equal(got.spec.retry_backoff_ms, 30000);
    assert_int_equal(got.spec.time_limit_ms, 7200000);
    assert_int_equal(got.spec.kill_grace_ms, 5000);
    assert_int_equal(got.spec.warn_signal, 10);
    assert_int_equal(got.spec.warn_before_ms, 60000);
    mlq_store_job_free(&got);

    j.not_before_ms = 1700000005678LL;
    assert_int_equal(mlq_store_job_save(f->st, &j, j.state, &err), 0);
    int64_t seen = 0;
    assert_int_equal(mlq_store_each_active_job(f->st, first_job, &seen, &err), 1);
    assert_int_equal(seen, 1700000005678LL);
    j.not_before_ms = 0;
    assert_int_equal(mlq_store_job_save(f->st, &j, j.state, &err), 0);
    assert_int_equal(mlq_store_job_get(f->st, j.id, &got, &err), 0);
    assert_int_equal(got.not_before_ms, 0);
    mlq_store_job_free(&got);
}

static void test_job_insert_rejects_bad_rows(void **state)
{
    struct fix *f = *state;
    struct mlq_store_job j;
    struct mlq_err err = {0};
    make_job_id(&j, "");
    assert_int_equal(mlq_store_job_insert(f->st, &j, &err), MLQ_EINVAL);
    make_job_id(&j, "AAAAAAAA-0000-4000-8000-000000000001");
    assert_int_equal(mlq_store_job_insert(f->st, &j, &err), MLQ_EINVAL);
    make_job(&j, 1);
    j.state = MLQ_JOB_STATE_COUNT;
    assert_int_equal(mlq_store_job_insert(f->st, &j, &err), MLQ_EINVAL);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM jobs"), 0);
}

static void test_seq_increases(void **state)
{
    struct fix *f = *state;
    struct mlq_store_job j;
    int64_t last = 0;
    for (unsigned i = 0; i < 5; i++) {
        make_job(&j, 100 - i); /* ids descend: seq must not follow the id */
        insert_job(f->st, &j);
        assert_true(j.seq > last);
        last = j.seq;
    }
    assert_int_equal(last, 5);
}

static void test_job_save_events(void **state)
{
    struct fix *f = *state;
    struct mlq_store_job j, got;
    struct mlq_err err = {0};
    char ev[256];
    make_job(&j, 1);
    insert_job(f->st, &j);

    assert_true(mlq_idbin_set(&j.cur_att, "00000001-1111-4000-8000-000000000001"));
    j.state = MLQ_JOB_ASSIGNED;
    j.attempts = 1;
    assert_int_equal(mlq_store_job_save(f->st, &j, MLQ_JOB_PENDING, &err), 0);
    j.state = MLQ_JOB_RUNNING;
    j.start_ms = 1700000001000LL;
    assert_int_equal(mlq_store_job_save(f->st, &j, MLQ_JOB_ASSIGNED, &err), 0);
    /* Same state: row written, no event. */
    j.node_failures = 1;
    assert_int_equal(mlq_store_job_save(f->st, &j, MLQ_JOB_RUNNING, &err), 0);
    j.state = MLQ_JOB_FAILED;
    j.reason = "exit code 3";
    j.exit_code = 3;
    j.end_ms = 1700000002000LL;
    assert_true(mlq_idbin_set(&j.cur_att, ""));
    assert_int_equal(mlq_store_job_save(f->st, &j, MLQ_JOB_RUNNING, &err), 0);

    assert_int_equal(count_events(f->db, j.id), 4);
    event_row(f->db, j.id, 1, ev, sizeof ev);
    assert_string_equal(ev, "state|PENDING|ASSIGNED|00000001-1111-4000-8000-000000000001|-|-");
    event_row(f->db, j.id, 2, ev, sizeof ev);
    assert_string_equal(ev, "state|ASSIGNED|RUNNING|00000001-1111-4000-8000-000000000001|-|-");
    event_row(f->db, j.id, 3, ev, sizeof ev);
    assert_string_equal(ev, "state|RUNNING|FAILED|-|-|exit code 3");

    assert_int_equal(mlq_store_job_get(f->st, j.id, &got, &err), 0);
    assert_int_equal(got.state, MLQ_JOB_FAILED);
    assert_string_equal(got.reason, "exit code 3");
    assert_int_equal(got.attempts, 1);
    assert_int_equal(got.node_failures, 1);
    assert_true(mlq_idbin_is(&got.cur_att, ""));
    assert_int_equal(got.exit_code, 3);
    assert_int_equal(got.start_ms, 1700000001000LL);
    assert_int_equal(got.end_ms, 1700000002000LL);
    mlq_store_job_free(&got);

    struct mlq_store_job ghost;
    make_job(&ghost, 99);
    assert_int_equal(mlq_store_job_save(f->st, &ghost, MLQ_JOB_RUNNING, &err), MLQ_ENOTFOUND);
    assert_int_equal(count_events(f->db, ghost.id), 0);
}

/* ---- attempts ------------------------------------------------------- */

static void test_attempt_save_events(void **state)
{
    struct fix *f = *state;
    struct mlq_store_job j;
    struct mlq_store_attempt a, got;
    struct mlq_err err = {0};
    char ev[256];
    make_job(&j, 1);
    insert_job(f->st, &j);
    make_attempt(&a, j.id, 1, 1);
    assert_int_equal(mlq_store_attempt_save(f->st, &a, -1, true, &err), 0);
    a.state = MLQ_ATT_RUNNING;
    a.start_ms = 1700000000200LL;
    assert_int_equal(mlq_store_attempt_save(f->st, &a, MLQ_ATT_ASSIGNED, true, &err), 0);
    a.detail = "pid 4242";
    assert_int_equal(mlq_store_attempt_save(f->st, &a, MLQ_ATT_RUNNING, true, &err),
                     0); /* no event */
    a.state = MLQ_ATT_SUCCEEDED;
    a.exit_code = 0;
    a.end_ms = 1700000000300LL;
    a.detail = NULL;
    a.usage = (struct mlq_usage){.mem_peak = 3328599654LL,
                                 .cpu_us = 8280000000LL,
                                 .wall_ms = 100,
                                 .gpu_mem_peak = -1,
                                 .gpu_util = -1,
                                 .source = "cgroup2"};
    assert_int_equal(mlq_store_attempt_save(f->st, &a, MLQ_ATT_RUNNING, true, &err), 0);

    assert_int_equal(count_events(f->db, j.id), 4); /* submit + 3 */
    event_row(f->db, j.id, 1, ev, sizeof ev);
    assert_string_equal(ev, "attempt|-|ASSIGNED|00000001-1111-4000-8000-000000000001|node-1|-");
    event_row(f->db, j.id, 2, ev, sizeof ev);
    assert_string_equal(ev, "attempt_state|ASSIGNED|RUNNING|00000001-1111-4000-8000-000000000001|"
                            "node-1|-");
    event_row(f->db, j.id, 3, ev, sizeof ev);
    assert_string_equal(ev, "attempt_state|RUNNING|SUCCEEDED|00000001-1111-4000-8000-"
                            "000000000001|node-1|-");

    assert_int_equal(mlq_store_attempt_get(f->st, a.id, &got, &err), 0);
    assert_string_equal(got.job_id, j.id);
    assert_int_equal(got.num, 1);
    assert_string_equal(got.worker, "node-1");
    assert_int_equal(got.state, MLQ_ATT_SUCCEEDED);
    assert_string_equal(got.gpu_ids, "0,1");
    assert_int_equal(got.assigned_ms, 1700000000100LL);
    assert_int_equal(got.start_ms, 1700000000200LL);
    assert_int_equal(got.end_ms, 1700000000300LL);
    assert_int_equal(got.exit_code, 0);
    assert_null(got.detail);
    assert_string_equal(got.usage.source, "cgroup2");
    assert_int_equal(got.usage.mem_peak, 3328599654LL);
    assert_int_equal(got.usage.cpu_us, 8280000000LL);
    assert_int_equal(got.usage.wall_ms, 100);
    assert_int_equal(got.usage.gpu_mem_peak, -1); /* stored as NULL */
    assert_int_equal(got.usage.gpu_util, -1);
    mlq_store_attempt_free(&got);
    assert_int_equal(q_int(f->db, "SELECT COUNT(*) FROM attempts WHERE usage_gpu_mem_peak IS NULL"
                                  " AND usage_mem_peak = 3328599654"),
                     1);

    /* Inserting it again is a constraint failure; updating an unknown one is
     * not found; neither leaves an event behind. */
    assert_int_equal(mlq_store_attempt_save(f->st, &a, -1, true, &err), MLQ_EDB);
    assert_non_null(strstr(err.msg, "UNIQUE constraint failed"));
    make_attempt(&a, j.id, 2, 2);
    assert_int_equal(mlq_store_attempt_save(f->st, &a, MLQ_ATT_ASSIGNED, true, &err),
                     MLQ_ENOTFOUND);
    assert_int_equal(mlq_store_attempt_get(f->st, a.id, &got, &err), MLQ_ENOTFOUND);
    assert_int_equal(count_events(f->db, j.id), 4);
}

/* event false: the row is written, no event (the job's transition that
 * follows records the step); inside a transaction as the scheduler does. */
static void test_attempt_save_quiet(void **state)
{
    struct fix *f = *state;
    struct mlq_store_job j;
    struct mlq_store_attempt a, got;
    struct mlq_err err = {0};
    make_job(&j, 1);
    insert_job(f->st, &j);
    make_attempt(&a, j.id, 1, 1);
    assert_int_equal(mlq_store_begin(f->st, &err), 0);
    assert_int_equal(mlq_store_attempt_save(f->st, &a, -1, false, &err), 0);
    a.state = MLQ_ATT_RUNNING;
    assert_int_equal(mlq_store_attempt_save(f->st, &a, MLQ_ATT_ASSIGNED, false, &err), 0);
    assert_int_equal(mlq_store_commit(f->st, &err), 0);
    assert_int_equal(count_events(f->db, j.id), 1); /* the submit alone */
    assert_int_equal(mlq_store_attempt_get(f->st, a.id, &got, &err), 0);
    assert_int_equal(got.state, MLQ_ATT_RUNNING);
    mlq_store_attempt_free(&got);
}

static void test_attempt_needs_its_job(void **state)
{
    struct fix *f = *state;
    struct mlq_store_attempt a;
    struct mlq_err err = {0};
    make_attempt(&a, "0000abcd-0000-4000-8000-000000000000", 1, 1);
    assert_int_equal(mlq_store_attempt_save(f->st, &a, -1, true, &err), MLQ_EDB);
    assert_non_null(strstr(err.msg, "constraint failed"));
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM events"), 0);
}

struct seen {
    int n;
    int64_t seqs[16];
    char ids[16][MLQ_ID_LEN + 1];
    int stop_at; /* return 42 on this call (1-based); 0 = never */
};

static int collect_job(const struct mlq_store_job *job, void *ctx)
{
    struct seen *s = ctx;
    assert_non_null(job->spec.argv); /* the spec is decoded */
    s->seqs[s->n] = job->seq;
    snprintf(s->ids[s->n], sizeof s->ids[0], "%s", job->id);
    return ++s->n == s->stop_at ? 42 : 0;
}

static void test_each_active_job(void **state)
{
    struct fix *f = *state;
    struct mlq_store_job j;
    struct mlq_err err = {0};
    const enum mlq_job_state states[] = {MLQ_JOB_RUNNING,   MLQ_JOB_SUCCEEDED, MLQ_JOB_PENDING,
                                         MLQ_JOB_CANCELLED, MLQ_JOB_ASSIGNED,  MLQ_JOB_FAILED,
                                         MLQ_JOB_TIMED_OUT, MLQ_JOB_PENDING};
    for (unsigned i = 0; i < 8; i++) {
        make_job(&j, 50 - i);
        insert_job(f->st, &j);
        j.state = states[i];
        assert_int_equal(mlq_store_job_save(f->st, &j, MLQ_JOB_PENDING, &err), 0);
    }
    struct seen s = {0};
    assert_int_equal(mlq_store_each_active_job(f->st, collect_job, &s, &err), 0);
    assert_int_equal(s.n, 4);
    const int64_t want[] = {1, 3, 5, 8};
    for (int i = 0; i < 4; i++)
        assert_int_equal(s.seqs[i], want[i]);

    struct seen stop = {.stop_at = 2};
    assert_int_equal(mlq_store_each_active_job(f->st, collect_job, &stop, &err), 42);
    assert_int_equal(stop.n, 2);
    /* The walk is reusable after an early stop. */
    struct seen again = {0};
    assert_int_equal(mlq_store_each_active_job(f->st, collect_job, &again, &err), 0);
    assert_int_equal(again.n, 4);
}

static int collect_attempt(const struct mlq_store_attempt *a, void *ctx)
{
    struct seen *s = ctx;
    snprintf(s->ids[s->n], sizeof s->ids[0], "%s", a->id);
    s->seqs[s->n] = a->state;
    s->n++;
    return 0;
}

static void test_each_live_attempt(void **state)
{
    struct fix *f = *state;
    struct mlq_store_job j;
    struct mlq_store_attempt a;
    struct mlq_err err = {0};
    const enum mlq_attempt_state states[] = {MLQ_ATT_SUCCEEDED, MLQ_ATT_RUNNING, MLQ_ATT_LOST,
                                             MLQ_ATT_ASSIGNED, MLQ_ATT_FAILED};
    make_job(&j, 1);
    insert_job(f->st, &j);
    for (unsigned i = 0; i < 5; i++) {
        make_attempt(&a, j.id, i + 1, (int)i + 1);
        a.state = states[i];
        assert_int_equal(mlq_store_attempt_save(f->st, &a, -1, true, &err), 0);
    }
    struct seen s = {0};
    assert_int_equal(mlq_store_each_live_attempt(f->st, collect_attempt, &s, &err), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.ids[0], "00000002-1111-4000-8000-000000000002");
    assert_int_equal(s.seqs[0], MLQ_ATT_RUNNING);
    assert_string_equal(s.ids[1], "00000004-1111-4000-8000-000000000004");
    assert_int_equal(s.seqs[1], MLQ_ATT_ASSIGNED);
}

/* ---- resolve -------------------------------------------------------- */

static void test_resolve(void **state)
{
    struct fix *f = *state;
    struct mlq_store_job j;
    struct mlq_err err = {0};
    char out[MLQ_ID_LEN + 1];
    make_job_id(&j, "aaaaaaaa-0000-4000-8000-000000000001");
    insert_job(f->st, &j);
    make_job_id(&j, "aaaaaaaa-0000-4000-8000-000000000002");
    insert_job(f->st, &j);
    make_job_id(&j, "b1234567-0000-4000-8000-000000000003");
    insert_job(f->st, &j);

    assert_int_equal(mlq_store_job_resolve(f->st, "b", out, &err), 0);
    assert_string_equal(out, "b1234567-0000-4000-8000-000000000003");
    assert_int_equal(
        mlq_store_job_resolve(f->st, "aaaaaaaa-0000-4000-8000-000000000002", out, &err), 0);
    assert_string_equal(out, "aaaaaaaa-0000-4000-8000-000000000002");
    assert_int_equal(mlq_store_job_resolve(f->st, "aaaaaaaa-0000-4000-8000-00000000000", out, &err),
                     MLQ_EAMBIG);
    assert_string_equal(err.msg, "\"aaaaaaaa-0000-4000-8000-00000000000\" matches several jobs;"
                                 " give more characters");
    assert_string_equal(out, "");
    assert_int_equal(mlq_store_job_resolve(f->st, "aaaa", out, &err), MLQ_EAMBIG);
    assert_int_equal(mlq_store_job_resolve(f->st, "c", out, &err), MLQ_ENOTFOUND);
    assert_string_equal(err.msg, "no job matches \"c\"");
    /* A prefix of a real id that then diverges matches nothing. */
    assert_int_equal(mlq_store_job_resolve(f->st, "b12345670", out, &err), MLQ_ENOTFOUND);

    const char *bad[] = {
        "", "B", "xyz", "aaaa%", "aaaa_", "aaaaaaaa-0000-4000-8000-0000000000012", "a' OR 1=1 --"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(mlq_store_job_resolve(f->st, bad[i], out, &err), MLQ_EINVAL);
        assert_non_null(strstr(err.msg, "invalid job id \""));
    }
    assert_string_equal(err.msg, "invalid job id \"a' OR 1=1 --\"");
    assert_int_equal(mlq_store_job_resolve(f->st, "bad\n\x01", out, &err), MLQ_EINVAL);
    assert_string_equal(err.msg, "invalid job id \"bad??\"");
}

/* ---- job info, listing ----------------------------------------------- */

static void test_job_info(void **state)
{
    struct fix *f = *state;
    struct mlq_store_job j;
    struct mlq_store_attempt a;
    struct mlq_jobinfo info;
    struct mlq_err err = {0};
    make_job(&j, 1);
    insert_job(f->st, &j);

    assert_int_equal(mlq_store_job_info(f->st, j.id, &info, &err), 0);
    assert_string_equal(info.id, j.id);
    assert_int_equal(info.state, MLQ_JOB_PENDING);
    assert_null(info.reason);
    assert_string_equal(info.name, "train");
    assert_string_equal(info.owner, "alice");
    assert_int_equal(info.argc, 3);
    assert_string_equal(info.argv[2], "--epochs=3");
    assert_string_equal(info.workdir, "/home/alice/proj");
    assert_int_equal(info.cpus_m, 1500);
    assert_int_equal(info.gpus, 2);
    assert_int_equal(info.attempt, 0);
    assert_null(info.attempt_id);
    assert_null(info.worker);
    assert_null(info.gpu_ids);
    assert_int_equal(info.exit_code, -1);
    assert_int_equal(info.signal, 0);
    mlq_proto_jobinfo_free(&info);

    for (int n = 1; n <= 2; n++) {
        make_attempt(&a, j.id, (unsigned)n, n);
        assert_int_equal(mlq_store_attempt_save(f->st, &a, -1, true, &err), 0);
    }
    /* The current attempt wins over a later-numbered one. */
    assert_true(mlq_idbin_set(&j.cur_att, "00000001-1111-4000-8000-000000000001"));
    j.state = MLQ_JOB_RUNNING;
    assert_int_equal(mlq_store_job_save(f->st, &j, MLQ_JOB_PENDING, &err), 0);
    assert_int_equal(mlq_store_job_info(f->st, j.id, &info, &err), 0);
    assert_int_equal(info.state, MLQ_JOB_RUNNING);
    assert_int_equal(info.attempt, 1);
    assert_string_equal(info.attempt_id, "00000001-1111-4000-8000-000000000001");
    assert_string_equal(info.worker, "node-1");
    assert_string_equal(info.gpu_ids, "0,1");
    mlq_proto_jobinfo_free(&info);

    /* No current attempt: the last one is shown. */
    assert_true(mlq_idbin_set(&j.cur_att, ""));
    j.state = MLQ_JOB_FAILED;
    j.reason = "killed by signal 9";
    j.signal = 9;
    assert_int_equal(mlq_store_job_save(f->st, &j, MLQ_JOB_RUNNING, &err), 0);
    assert_int_equal(mlq_store_job_info(f->st, j.id, &info, &err), 0);
    assert_int_equal(info.attempt, 2);
    assert_string_equal(info.worker, "node-2");
    assert_string_equal(info.reason, "killed by signal 9");
    assert_int_equal(info.signal, 9);
    mlq_proto_jobinfo_free(&info);

    assert_int_equal(mlq_store_job_info(f->st, "ffffffff-0000-4000-8000-000000000000", &info, &err),
                     MLQ_ENOTFOUND);
}

/* retries and time_limit_ms come from the spec, node_failures and
 * not_before_ms from the row; attempts only when asked for. */
static void test_job_info_retry_fields(void **state)
{
    struct fix *f = *state;
    struct mlq_store_job j;
    struct mlq_store_attempt a;
    struct mlq_jobinfo info;
    struct mlq_err err = {0};
    make_job(&j, 3);
    j.spec.retries = 2;
    j.spec.time_limit_ms = 90000;
    insert_job(f->st, &j);
    j.node_failures = 1;
    j.not_before_ms = 1700000060000LL;
    assert_int_equal(mlq_store_job_save(f->st, &j, j.state, &err), 0);

    assert_int_equal(mlq_store_job_info_full(f->st, j.id, true, &info, &err), 0);
    assert_int_equal(info.retries, 2);
    assert_int_equal(info.time_limit_ms, 90000);
    assert_int_equal(info.node_failures, 1);
    assert_int_equal(info.not_before_ms, 1700000060000LL);
    assert_null(info.attempts); /* none yet */
    assert_int_equal(info.nattempts, 0);
    mlq_proto_jobinfo_free(&info);

    make_attempt(&a, j.id, 31, 1);
    a.state = MLQ_ATT_LOST;
    a.start_ms = 11;
    a.end_ms = 12;
    a.detail = "worker node-31 lost";
    assert_int_equal(mlq_store_attempt_save(f->st, &a, -1, true, &err), 0);
    make_attempt(&a, j.id, 32, 2);
    a.state = MLQ_ATT_TIMED_OUT;
    a.gpu_ids[0] = '\0';
    a.signal = 15;
    assert_int_equal(mlq_store_attempt_save(f->st, &a, -1, true, &err), 0);

    assert_int_equal(mlq_store_job_info(f->st, j.id, &info, &err), 0);
    assert_null(info.attempts);
    assert_int_equal(info.attempt, 2);
    mlq_proto_jobinfo_free(&info);

    assert_int_equal(mlq_store_job_info_full(f->st, j.id, true, &info, &err), 0);
    assert_int_equal(info.nattempts, 2);
    const struct mlq_attemptinfo *x = &info.attempts[0];
    assert_int_equal(x->num, 1);
    assert_string_equal(x->id, "0000001f-1111-4000-8000-00000000001f");
    assert_string_equal(x->worker, "node-31");
    assert_int_equal(x->state, MLQ_ATT_LOST);
    assert_string_equal(x->gpu_ids, "0,1");
    assert_int_equal(x->start_ms, 11);
    assert_int_equal(x->end_ms, 12);
    assert_int_equal(x->exit_code, -1);
    assert_string_equal(x->detail, "worker node-31 lost");
    x = &info.attempts[1];
    assert_int_equal(x->num, 2);
    assert_int_equal(x->state, MLQ_ATT_TIMED_OUT);
    assert_null(x->gpu_ids);
    assert_null(x->detail);
    assert_int_equal(x->signal, 15);
    mlq_proto_jobinfo_free(&info);
    assert_int_equal(
        mlq_store_job_info_full(f->st, "ffffffff-0000-4000-8000-000000000000", true, &info, &err),
        MLQ_ENOTFOUND);
    assert_null(info.attempts);
}

/* More attempts than a reply may list: the newest are kept, oldest first. */
static void test_job_info_attempts_capped(void **state)
{
    struct fix *f = *state;
    struct mlq_store_job j;
    struct mlq_store_attempt a;
    struct mlq_jobinfo info;
    struct mlq_err err = {0};
    const int total = MLQ_MAX_ATTEMPT_INFO + 5;
    make_job(&j, 4);
    insert_job(f->st, &j);
    assert_int_equal(mlq_store_begin(f->st, &err), 0);
    for (int n = 1; n <= total; n++) {
        make_attempt(&a, j.id, 1000 + (unsigned)n, n);
        a.state = MLQ_ATT_FAILED;
        assert_int_equal(mlq_store_attempt_save(f->st, &a, -1, true, &err), 0);
    }
    assert_int_equal(mlq_store_commit(f->st, &err), 0);
    assert_int_equal(mlq_store_job_info_full(f->st, j.id, true, &info, &err), 0);
    assert_int_equal(info.nattempts, MLQ_MAX_ATTEMPT_INFO);
    for (uint32_t i = 0; i < info.nattempts; i++)
        assert_int_equal(info.attempts[i].num, total - MLQ_MAX_ATTEMPT_INFO + 1 + (int)i);
    mlq_proto_jobinfo_free(&info);
}

static void test_job_list(void **state)
{
    struct fix *f = *state;
    struct mlq_store_job j;
    struct mlq_jobinfo *arr = NULL;
    uint32_t n = 0;
    struct mlq_err err = {0};
    assert_int_equal(mlq_store_begin(f->st, &err), 0);
    for (unsigned i = 1; i <= 105; i++) {
        make_job(&j, i);
        insert_job(f->st, &j);
        if (i % 10 == 0) {
            j.state = MLQ_JOB_SUCCEEDED;
            assert_int_equal(mlq_store_job_save(f->st, &j, MLQ_JOB_PENDING, &err), 0);
        }
    }
    assert_int_equal(mlq_store_commit(f->st, &err), 0);

    assert_int_equal(mlq_store_job_list(f->st, -1, 0, &arr, &n, &err), 0);
    assert_int_equal(n, 100);                                               /* default limit */
    assert_string_equal(arr[0].id, "00000069-0000-4000-8000-000000000069"); /* newest: 105 */
    assert_string_equal(arr[99].id, "00000006-0000-4000-8000-000000000006");
    assert_string_equal(arr[0].argv[0], "python");
    mlq_store_jobinfo_array_free(&arr, n);
    assert_null(arr);

    assert_int_equal(mlq_store_job_list(f->st, -1, 3, &arr, &n, &err), 0);
    assert_int_equal(n, 3);
    assert_string_equal(arr[2].id, "00000067-0000-4000-8000-000000000067");
    mlq_store_jobinfo_array_free(&arr, n);

    assert_int_equal(mlq_store_job_list(f->st, MLQ_JOB_SUCCEEDED, 100000, &arr, &n, &err), 0);
    assert_int_equal(n, 10);
    for (uint32_t i = 0; i < n; i++)
        assert_int_equal(arr[i].state, MLQ_JOB_SUCCEEDED);
    assert_string_equal(arr[0].id, "00000064-0000-4000-8000-000000000064"); /* 100 */
    mlq_store_jobinfo_array_free(&arr, n);

    assert_int_equal(mlq_store_job_list(f->st, MLQ_JOB_RUNNING, 10, &arr, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_non_null(arr);
    mlq_store_jobinfo_array_free(&arr, n);

    assert_int_equal(mlq_store_job_list(f->st, MLQ_JOB_STATE_COUNT, 10, &arr, &n, &err),
                     MLQ_EINVAL);
    assert_null(arr);
}

/* ---- events, workers ------------------------------------------------ */

static void test_events_never_updated(void **state)
{
    struct fix *f = *state;
    struct mlq_store_job j;
    struct mlq_err err = {0};
    make_job(&j, 1);
    insert_job(f->st, &j);
    assert_int_equal(
        mlq_store_event_add(f->st, "worker_lost", j.id, NULL, "node-1", "lease expired", &err), 0);
    char ev[256];
    event_row(f->db, j.id, 1, ev, sizeof ev);
    assert_string_equal(ev, "worker_lost|-|-|-|node-1|lease expired");
    assert_int_equal(mlq_store_event_add(f->st, "", NULL, NULL, NULL, NULL, &err), MLQ_EINVAL);

    assert_int_not_equal(sqlite3_exec(f->db, "UPDATE events SET kind = 'x'", NULL, NULL, NULL),
                         SQLITE_OK);
    assert_non_null(strstr(sqlite3_errmsg(f->db), "append-only"));
    assert_int_equal(count_events(f->db, j.id), 2);
}

/* Rows of EXPLAIN sql with the opcode OpenEphemeral: a temporary table
 * built each time the statement runs. */
static long long ephemeral_ops(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    long long n = 0;
    while (sqlite3_step(s) == SQLITE_ROW)
        n += strcmp((const char *)sqlite3_column_text(s, 1), "OpenEphemeral") == 0;
    sqlite3_finalize(s);
    return n;
}

/* The writes of every dispatched job (the row's insert, its saves, its
 * attempt's) build no temporary table: a partial index whose WHERE said
 * "state IN (0, 1, 2)" had SQLite build one twice in every job save. */
static void test_job_writes_need_no_temp_table(void **state)
{
    struct fix *f = *state;
    assert_int_equal(ephemeral_ops(f->db, "EXPLAIN UPDATE jobs SET state = 3, end_ms = 1"
                                          " WHERE seq = 1 AND id = 'x'"),
                     0);
    assert_int_equal(ephemeral_ops(f->db, "EXPLAIN INSERT INTO jobs (id, seq, state, spec, cpus_m,"
                                          " mem, gpus, submit_ms, start_ms, end_ms, attempts,"
                                          " node_failures, exit_code, signal, team) VALUES ('x',"
                                          " 1, 0, x'80', 1, 1, 0, 0, 0, 0, 0, 0, 0, 0, 't')"),
                     0);
    assert_int_equal(ephemeral_ops(f->db, "EXPLAIN UPDATE attempts SET state = 2, end_ms = 1"
                                          " WHERE id = 'x'"),
                     0);
    /* the team queries (storeteam.c) still read the partial index */
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_prepare_v2(f->db,
                                        "EXPLAIN QUERY PLAN SELECT count(*) FROM jobs"
                                        " WHERE team = 't' AND state <= 2",
                                        -1, &s, NULL),
                     SQLITE_OK);
    assert_int_equal(sqlite3_step(s), SQLITE_ROW);
    assert_non_null(strstr((const char *)sqlite3_column_text(s, 3), "jobs_team_live"));
    sqlite3_finalize(s);
}

static void test_workers(void **state)
{
    struct fix *f = *state;
    struct mlq_err err = {0};
    struct mlq_store_worker w = {.name = "node-b", .cpus_m = 8000, .mem = 1LL << 34, .gpus = 4};
    w.first_seen_ms = w.last_seen_ms = 100;
    assert_int_equal(mlq_store_worker_save(f->st, &w, &err), 0);
    struct mlq_store_worker w2 = {.name = "node-a", .cpus_m = 2000, .mem = 1 << 30};
    w2.first_seen_ms = w2.last_seen_ms = 150;
    assert_int_equal(mlq_store_worker_save(f->st, &w2, &err), 0);
    /* A second save updates resources and last_seen, keeps first_seen. */
    w.cpus_m = 16000;
    w.gpus = 8;
    w.first_seen_ms = 500;
    w.last_seen_ms = 600;
    assert_int_equal(mlq_store_worker_save(f->st, &w, &err), 0);

    struct wseen s = {0};
    assert_int_equal(mlq_store_each_worker(f->st, collect_worker, &s, &err), 0);
    assert_int_equal(s.n, 2);
    assert_string_equal(s.w[0].name, "node-a");
    assert_string_equal(s.w[1].name, "node-b");
    assert_int_equal(s.w[1].cpus_m, 16000);
    assert_int_equal(s.w[1].mem, 1LL << 34);
    assert_int_equal(s.w[1].gpus, 8);
    assert_int_equal(s.w[1].first_seen_ms, 100);
    assert_int_equal(s.w[1].last_seen_ms, 600);

    assert_string_equal(s.w[1].pool, "default"); /* an empty pool saves as the default */
    assert_false(s.w[1].drained);

    struct mlq_store_worker nameless = {0};
    assert_int_equal(mlq_store_worker_save(f->st, &nameless, &err), MLQ_EINVAL);
    struct mlq_store_worker bad = {.name = "x"};
    memset(bad.pool, 'p', sizeof bad.pool); /* unterminated */
    assert_int_equal(mlq_store_worker_save(f->st, &bad, &err), MLQ_EINVAL);
}

/* Pool, drain flag and reason are written by every save (a resume clears
 * them) and read back by each_worker. */
static void test_workers_pool_drain(void **state)
{
    struct fix *f = *state;
    struct mlq_err err = {0};
    struct wseen s = {0};
    struct mlq_store_worker w = {.name = "gpu-1", .cpus_m = 1000, .mem = 1 << 20, .gpus = 4};
    snprintf(w.pool, sizeof w.pool, "a100");
    w.drained = true;
    snprintf(w.drain_reason, sizeof w.drain_reason, "replacing GPU 3, 'ticket' 42");
    assert_int_equal(mlq_store_worker_save(f->st, &w, &err), 0);
    assert_int_equal(mlq_store_each_worker(f->st, collect_worker, &s, &err), 0);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.w[0].pool, "a100");
    assert_true(s.w[0].drained);
    assert_string_equal(s.w[0].drain_reason, "replacing GPU 3, 'ticket' 42");
    assert_int_equal(s.w[0].gpus, 4);

    w.drained = false; /* resume */
    w.drain_reason[0] = '\0';
    snprintf(w.pool, sizeof w.pool, "h100");
    assert_int_equal(mlq_store_worker_save(f->st, &w, &err), 0);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM workers WHERE drain_reason IS NULL"), 1);
    s.n = 0;
    assert_int_equal(mlq_store_each_worker(f->st, collect_worker, &s, &err), 0);
    assert_false(s.w[0].drained);
    assert_string_equal(s.w[0].drain_reason, "");
    assert_string_equal(s.w[0].pool, "h100");
}

struct useen {
    int n;
    char owner[4][16];
    struct mlq_store_usage u[4];
};

static int collect_usage(const struct mlq_store_usage *u, void *ctx)
{
    struct useen *s = ctx;
    if (s->n < 4) {
        s->u[s->n] = *u;
        snprintf(s->owner[s->n], sizeof s->owner[s->n], "%s", u->owner);
        s->u[s->n].owner = s->owner[s->n];
    }
    s->n++;
    return 0;
}

/* The walk's order is unspecified: sort what it found by cpus_m (unique
 * per job in these tests). */
static void sort_usage(struct useen *s)
{
    int n = s->n < 4 ? s->n : 4;
    for (int i = 1; i < n; i++)
        for (int k = i; k > 0 && s->u[k - 1].cpus_m > s->u[k].cpus_m; k--) {
            struct mlq_store_usage t = s->u[k];
            s->u[k] = s->u[k - 1];
            s->u[k - 1] = t;
        }
}

static int stop_usage(const struct mlq_store_usage *u, void *ctx)
{
    (void)u;
    (void)ctx;
    return MLQ_ENOMEM;
}

/* Attempt n of a new job of owner, started at start (0: never) and ended
 * at end (0: still running). */
static void add_usage_attempt(struct fix *f, unsigned n, const char *owner, int64_t start,
                              int64_t end)
{
    struct mlq_store_job j;
    struct mlq_store_attempt a;
    struct mlq_err err = {0};
    make_job(&j, n);
    j.spec.owner = (char *)owner;
    j.spec.cpus_m = 1000 * n;
    j.spec.gpus = (int32_t)n % 3;
    insert_job(f->st, &j);
    make_attempt(&a, j.id, n, 1);
    a.state = end ? MLQ_ATT_SUCCEEDED : MLQ_ATT_RUNNING;
    a.start_ms = start;
    a.end_ms = end;
    a.gpu_h = n == 3 ? 50 : 0; /* 3: a share of half a GPU, its job asks no whole one */
    assert_int_equal(mlq_store_attempt_save(f->st, &a, -1, true, &err), 0);
    a.gpu_h = 0; /* an update that does not say keeps what dispatch recorded */
    assert_int_equal(mlq_store_attempt_save(f->st, &a, (int)a.state, true, &err), 0);
}

static void test_each_usage(void **state)
{
    struct fix *f = *state;
    struct mlq_err err = {0};
    struct useen s = {0};
    add_usage_attempt(f, 1, "alice", 1000, 2000); /* ended before since: left out */
    add_usage_attempt(f, 2, "bob", 1500, 5000);   /* ended after since */
    add_usage_attempt(f, 3, "alice", 4000, 0);    /* still running */
    add_usage_attempt(f, 4, "carol", 0, 0);       /* assigned, never started */
    add_usage_attempt(f, 5, "dave", 2500, 3000);  /* ends exactly at since: kept */
    assert_int_equal(mlq_store_each_usage(f->st, 3000, collect_usage, &s, &err), 0);
    assert_int_equal(s.n, 3);
    sort_usage(&s);
    assert_string_equal(s.u[0].owner, "bob");
    assert_int_equal(s.u[0].cpus_m, 2000);
    assert_int_equal(s.u[0].gpu_h, 200); /* not recorded: the job's whole GPUs */
    assert_int_equal(s.u[0].start_ms, 1500);
    assert_int_equal(s.u[0].end_ms, 5000);
    assert_string_equal(s.u[1].owner, "alice");
    assert_int_equal(s.u[1].cpus_m, 3000);
    assert_int_equal(s.u[1].gpu_h, 50);
    assert_int_equal(s.u[1].end_ms, 0);
    assert_string_equal(s.u[2].owner, "dave");
    s.n = 0;
    assert_int_equal(mlq_store_each_usage(f->st, 0, collect_usage, &s, &err), 0);
    assert_int_equal(s.n, 4);
    /* the callback's error stops the walk and comes back; the statement is
     * reset, so the next walk works */
    assert_int_equal(mlq_store_each_usage(f->st, 0, stop_usage, NULL, &err), MLQ_ENOMEM);
    s.n = 0;
    assert_int_equal(mlq_store_each_usage(f->st, 6000, collect_usage, &s, &err), 0);
    assert_int_equal(s.n, 1);
    assert_int_equal(s.u[0].end_ms, 0);
}

/* ---- transactions --------------------------------------------------- */

static void test_tx_rollback(void **state)
{
    struct fix *f = *state;
    struct mlq_store_job j, got;
    struct mlq_err err = {0};
    assert_false(mlq_store_in_tx(f->st));
    assert_int_equal(mlq_store_commit(f->st, &err), 0); /* no-op */
    assert_int_equal(mlq_store_begin(f->st, &err), 0);
    assert_true(mlq_store_in_tx(f->st));
    assert_int_equal(mlq_store_begin(f->st, &err), 0); /* no-op */
    make_job(&j, 1);
    insert_job(f->st, &j);
    assert_int_equal(mlq_store_job_get(f->st, j.id, &got, &err), 0); /* own writes */
    mlq_store_job_free(&got);
    mlq_store_rollback(f->st);
    assert_false(mlq_store_in_tx(f->st));
    assert_int_equal(mlq_store_job_get(f->st, j.id, &got, &err), MLQ_ENOTFOUND);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM events"), 0);
    mlq_store_rollback(f->st); /* harmless without a transaction */

    /* Outside a transaction each write commits by itself. */
    insert_job(f->st, &j);
    mlq_store_rollback(f->st);
    assert_int_equal(mlq_store_job_get(f->st, j.id, &got, &err), 0);
    mlq_store_job_free(&got);
}

static void test_tx_durable(void **state)
{
    struct fix *f = *state;
    struct mlq_store_job j, got;
    struct mlq_err err = {0};
    assert_int_equal(mlq_store_begin(f->st, &err), 0);
    make_job(&j, 1);
    insert_job(f->st, &j);
    /* A reader on another connection does not see uncommitted work. */
    sqlite3 *raw = NULL;
    assert_int_equal(sqlite3_open(f->path, &raw), SQLITE_OK);
    assert_int_equal(q_int(raw, "SELECT count(*) FROM jobs"), 0);
    assert_int_equal(mlq_store_commit(f->st, &err), 0);
    assert_false(mlq_store_in_tx(f->st));
    assert_int_equal(q_int(raw, "SELECT count(*) FROM jobs"), 1);
    sqlite3_close(raw);

    /* Closing with an open transaction rolls it back. */
    assert_int_equal(mlq_store_begin(f->st, &err), 0);
    make_job(&j, 2);
    insert_job(f->st, &j);
    mlq_store_close(&f->st);
    open_store(f, f->path);
    assert_int_equal(mlq_store_job_get(f->st, "00000001-0000-4000-8000-000000000001", &got, &err),
                     0);
    mlq_store_job_free(&got);
    assert_int_equal(mlq_store_job_get(f->st, j.id, &got, &err), MLQ_ENOTFOUND);
    char ok[16];
    q_text(f->db, "PRAGMA integrity_check", ok, sizeof ok);
    assert_string_equal(ok, "ok");
}

/* ---- failures ------------------------------------------------------- */

static void test_locked(void **state)
{
    struct fix *f = *state;
    struct mlq_store_job j, got;
    struct mlq_err err = {0};
    sqlite3 *other = NULL;
    assert_int_equal(sqlite3_open(f->path, &other), SQLITE_OK);
    assert_int_equal(sqlite3_exec(other, "BEGIN IMMEDIATE", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_busy_timeout(f->db, 50); /* the real 5 s would only slow the test */

    assert_int_equal(mlq_store_begin(f->st, &err), MLQ_EDB);
    assert_non_null(strstr(err.msg, "database is locked"));
    assert_false(mlq_store_in_tx(f->st));
    make_job(&j, 1);
    assert_int_equal(mlq_store_job_insert(f->st, &j, &err), MLQ_EDB);
    assert_non_null(strstr(err.msg, "database is locked"));

    assert_int_equal(sqlite3_exec(other, "ROLLBACK", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(other);
    assert_int_equal(mlq_store_job_get(f->st, j.id, &got, &err), MLQ_ENOTFOUND);
    assert_int_equal(mlq_store_begin(f->st, &err), 0);
    insert_job(f->st, &j);
    assert_int_equal(mlq_store_commit(f->st, &err), 0);
    assert_int_equal(j.seq, 1);
}

static void test_disk_full(void **state)
{
    struct fix *f = *state;
    struct mlq_store_job j, got;
    struct mlq_err err = {0};
    static char big[64 * 1024];
    memset(big, 'x', sizeof big - 1);
    char *argv[] = {"python", big};

    assert_int_equal(mlq_store_begin(f->st, &err), 0);
    make_job(&j, 1);
    insert_job(f->st, &j);
    char sql[64];
    snprintf(sql, sizeof sql, "PRAGMA max_page_count = %lld",
             q_int(f->db, "PRAGMA page_count") + 2);
    assert_int_equal(sqlite3_exec(f->db, sql, NULL, NULL, NULL), SQLITE_OK);

    make_job(&j, 2);
    j.spec.argv = argv;
    j.spec.argc = 2;
    assert_int_equal(mlq_store_job_insert(f->st, &j, &err), MLQ_EDB);
    assert_non_null(strstr(err.msg, "database or disk is full"));
    assert_int_equal(mlq_store_job_get(f->st, j.id, &got, &err), MLQ_ENOTFOUND);
    assert_int_equal(count_events(f->db, j.id), 0);
    /* Inside the caller's transaction a failed hot write fails it whole: the
     * caller rolls back (the scheduler's loop then answers every request of
     * the iteration with the error), and job 1 goes too. */
    mlq_store_rollback(f->st);
    assert_int_equal(mlq_store_job_get(f->st, "00000001-0000-4000-8000-000000000001", &got, &err),
                     MLQ_ENOTFOUND);

    /* Outside a transaction too. */
    assert_int_equal(mlq_store_job_insert(f->st, &j, &err), MLQ_EDB);
    assert_non_null(strstr(err.msg, "database or disk is full"));

    assert_int_equal(sqlite3_exec(f->db, "PRAGMA max_page_count = 1000000", NULL, NULL, NULL),
                     SQLITE_OK);
    insert_job(f->st, &j);
    assert_int_equal(mlq_store_job_get(f->st, j.id, &got, &err), 0);
    assert_int_equal(strlen(got.spec.argv[1]), sizeof big - 1);
    mlq_store_job_free(&got);
}

static void test_commit_failure_rolls_back(void **state)
{
    struct fix *f = *state;
    struct mlq_store_job j, got;
    struct mlq_store_attempt a;
    struct mlq_err err = {0};
    assert_int_equal(mlq_store_begin(f->st, &err), 0);
    make_job(&j, 1);
    insert_job(f->st, &j);
    /* Deferred foreign keys are checked by COMMIT itself, so an attempt of a
     * missing job makes the COMMIT fail. */
    assert_int_equal(sqlite3_exec(f->db, "PRAGMA defer_foreign_keys = ON", NULL, NULL, NULL),
                     SQLITE_OK);
    make_attempt(&a, j.id, 1, 1);
    assert_int_equal(mlq_store_attempt_save(f->st, &a, -1, true, &err), 0);
    assert_int_equal(sqlite3_exec(f->db, "DELETE FROM events; DELETE FROM jobs", NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(mlq_store_commit(f->st, &err), MLQ_EDB);
    assert_non_null(strstr(err.msg, "FOREIGN KEY constraint failed"));
    assert_false(mlq_store_in_tx(f->st));
    assert_int_not_equal(sqlite3_get_autocommit(f->db), 0); /* really ended */
    assert_int_equal(mlq_store_job_get(f->st, j.id, &got, &err), MLQ_ENOTFOUND);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM events"), 0);

    assert_int_equal(mlq_store_begin(f->st, &err), 0);
    insert_job(f->st, &j);
    assert_int_equal(mlq_store_commit(f->st, &err), 0);
    assert_int_equal(mlq_store_job_get(f->st, j.id, &got, &err), 0);
    mlq_store_job_free(&got);
}

static void test_lost_tx_is_reported(void **state)
{
    struct fix *f = *state;
    struct mlq_store_job j, got;
    struct mlq_err err = {0};
    /* A trigger that rolls back the whole transaction stands in for SQLite
     * doing so itself after an I/O error. */
    assert_int_equal(sqlite3_exec(f->db,
                                  "CREATE TEMP TRIGGER boom BEFORE INSERT ON jobs"
                                  " WHEN NEW.name = 'boom' BEGIN SELECT RAISE(ROLLBACK, 'boom');"
                                  " END",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    assert_int_equal(mlq_store_begin(f->st, &err), 0);
    make_job(&j, 1);
    insert_job(f->st, &j);
    make_job(&j, 2);
    j.spec.name = "boom";
    assert_int_equal(mlq_store_job_insert(f->st, &j, &err), MLQ_EDB);
    assert_non_null(strstr(err.msg, "boom"));
    /* Later writes and the commit refuse to run outside the lost transaction. */
    make_job(&j, 3);
    assert_int_equal(mlq_store_job_insert(f->st, &j, &err), MLQ_EDB);
    assert_non_null(strstr(err.msg, "rolled back"));
    assert_int_equal(mlq_store_begin(f->st, &err), MLQ_EDB);
    assert_int_equal(mlq_store_commit(f->st, &err), MLQ_EDB);
    assert_false(mlq_store_in_tx(f->st));
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM jobs"), 0);
    /* A fresh transaction works. */
    assert_int_equal(mlq_store_begin(f->st, &err), 0);
    insert_job(f->st, &j);
    assert_int_equal(mlq_store_commit(f->st, &err), 0);
    assert_int_equal(mlq_store_job_get(f->st, j.id, &got, &err), 0);
    mlq_store_job_free(&got);
}

static void test_write_is_atomic(void **state)
{
    struct fix *f = *state;
    struct mlq_store_job j, got;
    struct mlq_store_attempt a;
    struct mlq_err err = {0};
    make_job(&j, 1);
    insert_job(f->st, &j);
    make_attempt(&a, j.id, 1, 1);
    assert_int_equal(mlq_store_attempt_save(f->st, &a, -1, true, &err), 0);
    /* The row write succeeds, then its event fails: the row must go too. */
    assert_int_equal(sqlite3_exec(f->db,
                                  "CREATE TEMP TRIGGER no_ev BEFORE INSERT ON events"
                                  " WHEN NEW.kind <> 'submit' BEGIN SELECT RAISE(ABORT, 'no"
                                  " events'); END",
                                  NULL, NULL, NULL),
                     SQLITE_OK);
    for (int in_tx = 0; in_tx < 2; in_tx++) {
        if (in_tx)
            assert_int_equal(mlq_store_begin(f->st, &err), 0);
        j.state = MLQ_JOB_RUNNING;
        assert_int_equal(mlq_store_job_save(f->st, &j, MLQ_JOB_PENDING, &err), MLQ_EDB);
        assert_non_null(strstr(err.msg, "no events"));
        a.state = MLQ_ATT_RUNNING;
        assert_int_equal(mlq_store_attempt_save(f->st, &a, MLQ_ATT_ASSIGNED, true, &err), MLQ_EDB);
        struct mlq_store_job j2;
        make_job(&j2, 2);
        j2.state = MLQ_JOB_FAILED; /* inserted rows are undone too */
        j2.spec.name = "x";
        assert_int_equal(sqlite3_exec(f->db,
                                      "DROP TRIGGER no_ev; CREATE TEMP TRIGGER no_ev BEFORE"
                                      " INSERT ON events BEGIN SELECT RAISE(ABORT, 'no events');"
                                      " END",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
        assert_int_equal(mlq_store_job_insert(f->st, &j2, &err), MLQ_EDB);
        assert_int_equal(sqlite3_exec(f->db,
                                      "DROP TRIGGER no_ev; CREATE TEMP TRIGGER no_ev BEFORE"
                                      " INSERT ON events WHEN NEW.kind <> 'submit' BEGIN SELECT"
                                      " RAISE(ABORT, 'no events'); END",
                                      NULL, NULL, NULL),
                         SQLITE_OK);
        /* Inside the caller's transaction the hot writes keep no savepoint:
         * the error is MLQ_EDB and the caller rolls everything back, as the
         * scheduler's loop does. */
        if (in_tx) {
            assert_true(mlq_store_in_tx(f->st));
            mlq_store_rollback(f->st);
        }
        assert_int_equal(mlq_store_job_get(f->st, j.id, &got, &err), 0);
        assert_int_equal(got.state, MLQ_JOB_PENDING);
        mlq_store_job_free(&got);
        struct mlq_store_attempt ga;
        assert_int_equal(mlq_store_attempt_get(f->st, a.id, &ga, &err), 0);
        assert_int_equal(ga.state, MLQ_ATT_ASSIGNED);
        mlq_store_attempt_free(&ga);
        assert_int_equal(mlq_store_job_get(f->st, j2.id, &got, &err), MLQ_ENOTFOUND);
    }
}

static void test_duplicate_job(void **state)
{
    struct fix *f = *state;
    struct mlq_store_job j;
    struct mlq_err err = {0};
    make_job(&j, 1);
    insert_job(f->st, &j);
    assert_int_equal(mlq_store_job_insert(f->st, &j, &err), MLQ_EDB); /* same seq */
    j.seq = 0;                                                        /* the next one */
    assert_int_equal(mlq_store_job_insert(f->st, &j, &err), MLQ_EDB);
    assert_non_null(strstr(err.msg, "UNIQUE constraint failed: jobs.id"));
    assert_int_equal(count_events(f->db, j.id), 1);
}

static void test_close_null(void **state)
{
    (void)state;
    struct mlq_store *st = NULL;
    mlq_store_close(&st);
    mlq_store_close(NULL);
    struct mlq_err err = {0};
    assert_int_equal(mlq_store_open("/nonexistent-dir/x/mlq.db", &st, &err), MLQ_EDB);
    assert_null(st);
    assert_non_null(strstr(err.msg, "unable to open"));
}

int main(void)
{
    sqlite3_auto_extension((void (*)(void))capture_db);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_creates_schema, setup_file, teardown),
        cmocka_unit_test_setup_teardown(test_reopen_idempotent, setup_file, teardown),
        cmocka_unit_test_setup_teardown(test_newer_version_refused, setup_file, teardown),
        cmocka_unit_test_setup_teardown(test_pragmas_file, setup_file, teardown),
        cmocka_unit_test_setup_teardown(test_pragmas_memory, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_job_roundtrip, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_job_insert_rejects_bad_rows, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_seq_increases, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_job_save_events, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_attempt_save_events, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_attempt_save_quiet, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_attempt_needs_its_job, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_each_active_job, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_each_live_attempt, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_resolve, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_job_info, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_job_info_retry_fields, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_job_info_attempts_capped, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_not_before_roundtrip, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_v1, setup_file, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_v1_failure_rolls_back, setup_file, teardown),
        cmocka_unit_test_setup_teardown(test_job_list, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_events_never_updated, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_job_writes_need_no_temp_table, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_workers, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_workers_pool_drain, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_each_usage, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_v2, setup_file, teardown),
        cmocka_unit_test_setup_teardown(test_tx_rollback, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_tx_durable, setup_file, teardown),
        cmocka_unit_test_setup_teardown(test_locked, setup_file, teardown),
        cmocka_unit_test_setup_teardown(test_disk_full, setup_file, teardown),
        cmocka_unit_test_setup_teardown(test_commit_failure_rolls_back, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_lost_tx_is_reported, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_write_is_atomic, setup_mem, teardown),
        cmocka_unit_test_setup_teardown(test_duplicate_job, setup_mem, teardown),
        cmocka_unit_test(test_close_null),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
