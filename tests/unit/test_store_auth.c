/* Unit tests for scheduler/storeauth.c and the events listing of
 * scheduler/storeevent.c (schema v5): principals saved,
 * replaced, listed and deleted with their events; a key held by two
 * principals refused; bad kinds, roles, names and keys refused; the actor
 * carried by events; the events listing (order, limit, job filter, start
 * time, long strings cut); and the v4 -> v5 migration of an existing
 * database. */
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

static const char KEY1[] = "raj>LODIwg27-AAQ%{e]RoL0:?#QEUIHb29}&e*G";
static const char KEY2[] = "nB[I@b4U6Ywy63oW?1l]bQm^*uRc-2yTUV2j@my7";
static const char KEY3[] = "1Kdl9145S[QKNEOg>t8HP7o@a9:{4q@}n%#aFn/r";
static const char JOB1[] = "0b8e7c1e-4a4f-4c5e-9d3a-2f1b6c7d8e9f";
static const char JOB2[] = "f0e1d2c3-b4a5-4968-8776-655443322110";

struct fix {
    struct mlq_store *st;
    char dir[64];
    char path[128];
};

static int setup(void **state)
{
    struct fix *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/mlq-storeauth-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/mlq.db", f->dir);
    struct mlq_err err = {0};
    if (mlq_store_open(f->path, &f->st, &err) < 0) {
        fprintf(stderr, "open: %s\n", err.msg);
        return -1;
    }
    *state = f;
    return 0;
}

static void rm_db(const char *path)
{
    char p[160];
    static const char *const sfx[] = {"", "-wal", "-shm", "-journal"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s%s", path, sfx[i]);
        unlink(p);
    }
}

static int teardown(void **state)
{
    struct fix *f = *state;
    mlq_store_close(&f->st);
    rm_db(f->path);
    rmdir(f->dir);
    free(f);
    return 0;
}

static struct mlq_store_principal make(const char *kind, const char *name, const char *role,
                                       const char *key)
{
    struct mlq_store_principal p;
    memset(&p, 0, sizeof p);
    snprintf(p.kind, sizeof p.kind, "%s", kind);
    snprintf(p.name, sizeof p.name, "%s", name);
    snprintf(p.role, sizeof p.role, "%s", role);
    snprintf(p.key, sizeof p.key, "%s", key);
    return p;
}

/* Collects principals into a small array. */
struct coll {
    struct mlq_store_principal p[8];
    int n;
};

static int collect(const struct mlq_store_principal *p, void *ctx)
{
    struct coll *c = ctx;
    if (c->n >= 8)
        return -1;
    c->p[c->n++] = *p;
    return 0;
}

static void list_events(struct mlq_store *st, const char *job, int64_t since, uint32_t limit,
                        struct mlq_eventinfo **ev, uint32_t *n)
{
    struct mlq_err err = {0};
    int rc = mlq_store_events_list(st, job, since, limit, ev, n, &err);
    if (rc != 0)
        fail_msg("events_list: %d %s", rc, err.msg);
}

/* ---- principals ------------------------------------------------------- */

static void test_save_list_replace(void **state)
{
    struct fix *f = *state;
    struct mlq_err err = {0};
    struct mlq_store_principal a = make("user", "alice@example.org", "admin", KEY1);
    struct mlq_store_principal w = make("worker", "w1", "worker", KEY2);
    a.added_ms = 1234;
    assert_int_equal(mlq_store_principal_save(f->st, &a, &err), 0);
    assert_int_equal(mlq_store_principal_save(f->st, &w, &err), 0);
    struct coll c = {0};
    assert_int_equal(mlq_store_each_principal(f->st, collect, &c, &err), 0);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.p[0].kind, "user");
    assert_string_equal(c.p[0].name, "alice@example.org");
    assert_string_equal(c.p[0].role, "admin");
    assert_string_equal(c.p[0].key, KEY1);
    assert_true(c.p[0].added_ms == 1234);
    assert_string_equal(c.p[1].kind, "worker");
    assert_true(c.p[1].added_ms > 1700000000000LL); /* 0 = now */

    /* same (kind, name): replaced, with a new key and role */
    a = make("user", "alice@example.org", "user", KEY3);
    assert_int_equal(mlq_store_principal_save(f->st, &a, &err), 0);
    c.n = 0;
    assert_int_equal(mlq_store_each_principal(f->st, collect, &c, &err), 0);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.p[0].role, "user");
    assert_string_equal(c.p[0].key, KEY3);

    /* a user and a worker may share a name */
    w = make("user", "w1", "user", KEY1);
    assert_int_equal(mlq_store_principal_save(f->st, &w, &err), 0);
}

static void test_key_unique(void **state)
{
    struct fix *f = *state;
    struct mlq_err err = {0};
    struct mlq_store_principal a = make("user", "alice", "user", KEY1);
    struct mlq_store_principal b = make("user", "bob", "user", KEY1);
    assert_int_equal(mlq_store_principal_save(f->st, &a, &err), 0);
    assert_int_equal(mlq_store_principal_save(f->st, &b, &err), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "already registered to user alice"));
    b = make("worker", "alice", "worker", KEY1);
    assert_int_equal(mlq_store_principal_save(f->st, &b, &err), MLQ_EINVAL);
    /* alice is intact, and saving her again with her own key is fine */
    assert_int_equal(mlq_store_principal_save(f->st, &a, &err), 0);
    struct coll c = {0};
    assert_int_equal(mlq_store_each_principal(f->st, collect, &c, &err), 0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.p[0].name, "alice");
}

static void test_save_rejects(void **state)
{
    struct fix *f = *state;
    struct mlq_err err = {0};
    static const struct {
        const char *kind, *name, *role, *key, *want;
    } bad[] = {
        {"admin", "a", "admin", KEY1, "kind must be user or worker"},
        {"user", "a", "worker", KEY1, "role of a user must be user or admin"},
        {"worker", "a", "admin", KEY1, "role of a worker must be worker"},
        {"user", "", "user", KEY1, "must not be empty"},
        {"user", "a b", "user", KEY1, "A-Z a-z 0-9"},
        {"user", "../x", "user", KEY1, "A-Z a-z 0-9"},
        {"user", "a", "user", "short", "not a z85 public key"},
        {"user", "a", "user", "raj>LODIwg27-AAQ%{e]RoL0:?#QEUIHb29}&e*\"", "not a z85"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        struct mlq_store_principal p = make(bad[i].kind, bad[i].name, bad[i].role, bad[i].key);
        mlq_err_clear(&err);
        int rc = mlq_store_principal_save(f->st, &p, &err);
        if (rc != MLQ_EINVAL || !strstr(err.msg, bad[i].want))
            fail_msg("case %zu: rc %d \"%s\", wanted \"%s\"", i, rc, err.msg, bad[i].want);
    }
    /* an unterminated name is refused, not read past */
    struct mlq_store_principal p = make("user", "a", "user", KEY1);
    memset(p.name, 'a', sizeof p.name);
    assert_int_equal(mlq_store_principal_save(f->st, &p, &err), MLQ_EINVAL);
    struct coll c = {0};
    assert_int_equal(mlq_store_each_principal(f->st, collect, &c, &err), 0);
    assert_int_equal(c.n, 0);
    uint32_t n = 9;
    struct mlq_eventinfo *ev = NULL;
    list_events(f->st, NULL, 0, 0, &ev, &n);
    assert_int_equal(n, 0); /* no event for a refused save */
    assert_null(ev);
}

static void test_delete(void **state)
{
    struct fix *f = *state;
    struct mlq_err err = {0};
    struct mlq_store_principal a = make("user", "alice", "admin", KEY1);
    struct mlq_store_principal w = make("worker", "alice", "worker", KEY2);
    assert_int_equal(mlq_store_principal_save(f->st, &a, &err), 0);
    assert_int_equal(mlq_store_principal_save(f->st, &w, &err), 0);
    assert_int_equal(mlq_store_principal_delete(f->st, "worker", "alice", &err), 0);
    assert_int_equal(mlq_store_principal_delete(f->st, "worker", "alice", &err), MLQ_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no worker named alice"));
    assert_int_equal(mlq_store_principal_delete(f->st, "user", "bob", &err), MLQ_ENOTFOUND);
    assert_int_equal(mlq_store_principal_delete(f->st, "admin", "alice", &err), MLQ_EINVAL);
    assert_int_equal(mlq_store_principal_delete(f->st, "user", "a/b", &err), MLQ_EINVAL);
    struct coll c = {0};
    assert_int_equal(mlq_store_each_principal(f->st, collect, &c, &err), 0);
    assert_int_equal(c.n, 1);
    assert_string_equal(c.p[0].kind, "user");
    /* the freed key may be registered again */
    struct mlq_store_principal b = make("user", "bob", "user", KEY2);
    assert_int_equal(mlq_store_principal_save(f->st, &b, &err), 0);

    struct mlq_eventinfo *ev;
    uint32_t n;
    list_events(f->st, NULL, 0, 0, &ev, &n);
    assert_int_equal(n, 4);
    assert_string_equal(ev[0].kind, "key_added");
    assert_string_equal(ev[0].detail, "admin alice");
    assert_null(ev[0].worker);
    assert_string_equal(ev[1].detail, "worker alice");
    assert_string_equal(ev[1].worker, "alice");
    assert_string_equal(ev[2].kind, "key_removed");
    assert_string_equal(ev[2].detail, "worker alice");
    assert_string_equal(ev[3].detail, "user bob");
    mlq_store_eventinfo_array_free(&ev, n);
    assert_null(ev);
}

/* Inside the caller's transaction, a rollback undoes the key and its
 * event together. */
static void test_rollback(void **state)
{
    struct fix *f = *state;
    struct mlq_err err = {0};
    struct mlq_store_principal a = make("user", "alice", "user", KEY1);
    assert_int_equal(mlq_store_begin(f->st, &err), 0);
    assert_int_equal(mlq_store_principal_save(f->st, &a, &err), 0);
    mlq_store_rollback(f->st);
    struct coll c = {0};
    assert_int_equal(mlq_store_each_principal(f->st, collect, &c, &err), 0);
    assert_int_equal(c.n, 0);
    struct mlq_eventinfo *ev;
    uint32_t n;
    list_events(f->st, NULL, 0, 0, &ev, &n);
    assert_int_equal(n, 0);
}

/* ---- actor and the events listing ------------------------------------ */

static void test_actor(void **state)
{
    struct fix *f = *state;
    struct mlq_err err = {0};
    mlq_store_set_actor(f->st, "admin:root");
    assert_int_equal(mlq_store_event_add(f->st, "a", NULL, NULL, NULL, NULL, &err), 0);
    mlq_store_set_actor(f->st, "user:bob");
    assert_int_equal(mlq_store_event_add(f->st, "b", JOB1, NULL, NULL, NULL, &err), 0);
    mlq_store_set_actor(f->st, NULL);
    assert_int_equal(mlq_store_event_add(f->st, "c", NULL, NULL, NULL, NULL, &err), 0);
    mlq_store_set_actor(f->st, "");
    assert_int_equal(mlq_store_event_add(f->st, "d", NULL, NULL, NULL, NULL, &err), 0);
    char longer[400];
    memset(longer, 'x', sizeof longer - 1);
    longer[sizeof longer - 1] = '\0';
    mlq_store_set_actor(f->st, longer);
    assert_int_equal(mlq_store_event_add(f->st, "e", NULL, NULL, NULL, NULL, &err), 0);

    struct mlq_eventinfo *ev;
    uint32_t n;
    list_events(f->st, NULL, 0, 0, &ev, &n);
    assert_int_equal(n, 5);
    assert_string_equal(ev[0].actor, "admin:root");
    assert_string_equal(ev[1].actor, "user:bob");
    assert_string_equal(ev[1].job_id, JOB1);
    assert_null(ev[2].actor);
    assert_null(ev[3].actor);
    assert_int_equal(strlen(ev[4].actor), MLQ_MAX_ACTOR);
    mlq_store_eventinfo_array_free(&ev, n);
}

static void test_events_order_limit_filter(void **state)
{
    struct fix *f = *state;
    struct mlq_err err = {0};
    char kind[16];
    for (int i = 0; i < 30; i++) {
        snprintf(kind, sizeof kind, "k%d", i);
        assert_int_equal(
            mlq_store_event_add(f->st, kind, i % 3 == 0 ? JOB1 : JOB2, NULL, "w1", "detail", &err),
            0);
    }
    struct mlq_eventinfo *ev;
    uint32_t n;
    list_events(f->st, NULL, 0, 0, &ev, &n);
    assert_int_equal(n, 30); /* fewer than the default 100 */
    for (uint32_t i = 1; i < n; i++)
        assert_true(ev[i].seq > ev[i - 1].seq);
    assert_string_equal(ev[0].kind, "k0");
    assert_string_equal(ev[0].worker, "w1");
    mlq_store_eventinfo_array_free(&ev, n);

    /* the newest 5, oldest first */
    list_events(f->st, NULL, 0, 5, &ev, &n);
    assert_int_equal(n, 5);
    assert_string_equal(ev[0].kind, "k25");
    assert_string_equal(ev[4].kind, "k29");
    mlq_store_eventinfo_array_free(&ev, n);

    /* one job: k0, k3, ..., k27 */
    list_events(f->st, JOB1, 0, 0, &ev, &n);
    assert_int_equal(n, 10);
    for (uint32_t i = 0; i < n; i++)
        assert_string_equal(ev[i].job_id, JOB1);
    assert_string_equal(ev[9].kind, "k27");
    mlq_store_eventinfo_array_free(&ev, n);
    list_events(f->st, JOB1, 0, 2, &ev, &n);
    assert_int_equal(n, 2);
    assert_string_equal(ev[0].kind, "k24");
    mlq_store_eventinfo_array_free(&ev, n);

    /* since: everything is older than the far future */
    list_events(f->st, NULL, INT64_MAX, 0, &ev, &n);
    assert_int_equal(n, 0);
    list_events(f->st, NULL, 1, 0, &ev, &n);
    assert_int_equal(n, 30);
    mlq_store_eventinfo_array_free(&ev, n);
    list_events(f->st, "00000000-0000-4000-8000-000000000000", 0, 0, &ev, &n);
    assert_int_equal(n, 0);
}

static void test_events_since(void **state)
{
    struct fix *f = *state;
    struct mlq_err err = {0};
    assert_int_equal(mlq_store_event_add(f->st, "old", NULL, NULL, NULL, NULL, &err), 0);
    struct mlq_eventinfo *ev;
    uint32_t n;
    list_events(f->st, NULL, 0, 0, &ev, &n);
    assert_int_equal(n, 1);
    int64_t t = ev[0].time_ms;
    assert_true(t > 1700000000000LL);
    mlq_store_eventinfo_array_free(&ev, n);
    list_events(f->st, NULL, t, 0, &ev, &n);
    assert_int_equal(n, 1); /* since is inclusive */
    mlq_store_eventinfo_array_free(&ev, n);
    list_events(f->st, NULL, t + 1, 0, &ev, &n);
    assert_int_equal(n, 0);
}

static void test_events_rejects_and_cuts(void **state)
{
    struct fix *f = *state;
    struct mlq_err err = {0};
    struct mlq_eventinfo *ev = (void *)1;
    uint32_t n = 7;
    assert_int_equal(mlq_store_events_list(f->st, "x' OR 1=1", 0, 0, &ev, &n, &err), MLQ_EINVAL);
    assert_null(ev);
    assert_int_equal(n, 0);
    assert_int_equal(mlq_store_events_list(f->st, NULL, -1, 0, &ev, &n, &err), MLQ_EINVAL);
    assert_int_equal(mlq_store_events_list(f->st, NULL, 0, MLQ_MAX_LIST + 1, &ev, &n, &err),
                     MLQ_EINVAL);

    /* a detail longer than the protocol allows is cut to fit */
    char *big = malloc(MLQ_MAX_STR * 2 + 1);
    assert_non_null(big);
    memset(big, 'd', MLQ_MAX_STR * 2);
    big[MLQ_MAX_STR * 2] = '\0';
    assert_int_equal(mlq_store_event_add(f->st, "big", NULL, NULL, NULL, big, &err), 0);
    free(big);
    list_events(f->st, NULL, 0, MLQ_MAX_LIST, &ev, &n);
    assert_int_equal(n, 1);
    assert_int_equal(strlen(ev[0].detail), MLQ_MAX_STR);
    mlq_store_eventinfo_array_free(&ev, n);
    mlq_store_eventinfo_array_free(NULL, 0); /* harmless */
}

/* ---- migration -------------------------------------------------------- */

static long long q_int(sqlite3 *db, const char *sql)
{
    sqlite3_stmt *s = NULL;
    if (sqlite3_prepare_v2(db, sql, -1, &s, NULL) != SQLITE_OK)
        fail_msg("prepare %s: %s", sql, sqlite3_errmsg(db));
    long long v = sqlite3_step(s) == SQLITE_ROW ? sqlite3_column_int64(s, 0) : -1;
    sqlite3_finalize(s);
    return v;
}

static void exec_ok(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
}

/* Step 22 undone: no submit batch rows in events. */
#define UNDO_V22                                                                                   \
    "DROP INDEX events_batch; ALTER TABLE events DROP COLUMN batch_last;"                          \
    " ALTER TABLE events DROP COLUMN batch_first; PRAGMA user_version = 21;"
/* Step 21 undone: jobs_team_live as step 15 made it. */
#define UNDO_V21                                                                                   \
    "DROP INDEX jobs_team_live; CREATE INDEX jobs_team_live ON jobs(team)"                         \
    " WHERE state IN (0, 1, 2) AND team IS NOT NULL; PRAGMA user_version = 20;"
/* Step 20 undone: no shared environments. */
#define UNDO_V20 "ALTER TABLE jobs DROP COLUMN env_id; DROP TABLE envs; PRAGMA user_version = 19;"
/* Step 19 undone: no empty-log bits on attempts. */
#define UNDO_V19 "ALTER TABLE attempts DROP COLUMN logs_empty; PRAGMA user_version = 18;"
/* Step 18 undone: no preemption setting on teams. */
#define UNDO_V18 "ALTER TABLE teams DROP COLUMN preempt_within; PRAGMA user_version = 17;"
/* Step 17 undone: no quotas. */
#define UNDO_V17 "DROP TABLE quotas; PRAGMA user_version = 16;"
/* Step 16 undone: no GPU hundredths on attempts. */
#define UNDO_V16 "ALTER TABLE attempts DROP COLUMN gpu_h; PRAGMA user_version = 15;"
/* Step 15 undone: no teams, no usage_daily, no grouping columns on jobs. */
#define UNDO_V15                                                                                   \
    "DROP TABLE usage_daily; DROP INDEX jobs_team_live; ALTER TABLE jobs DROP COLUMN gpu_type;"    \
    " ALTER TABLE jobs DROP COLUMN pool; ALTER TABLE jobs DROP COLUMN project;"                    \
    " ALTER TABLE jobs DROP COLUMN team; ALTER TABLE principals DROP COLUMN team;"                 \
    " DROP TABLE teams; PRAGMA user_version = 14;"
/* Step 14 undone: no request hash on idempotency keys. */
#define UNDO_V14 "ALTER TABLE idempotency DROP COLUMN request_hash; PRAGMA user_version = 13;"
/* Step 13 undone: no run manifests. */
#define UNDO_V13                                                                                   \
    "DROP TRIGGER attempt_manifests_gc; DROP TABLE attempt_manifests; PRAGMA user_version = 12;"
/* Step 12 undone: no index of jobs by name. */
#define UNDO_V12 "DROP INDEX jobs_name; PRAGMA user_version = 11;"

/* Step 9 undone: no usage columns on attempts. */
#define UNDO_V11                                                                                   \
    "ALTER TABLE attempts DROP COLUMN usage_source;"                                               \
    " ALTER TABLE attempts DROP COLUMN usage_mem_peak;"                                            \
    " ALTER TABLE attempts DROP COLUMN usage_cpu_us;"                                              \
    " ALTER TABLE attempts DROP COLUMN usage_wall_ms;"                                             \
    " ALTER TABLE attempts DROP COLUMN usage_gpu_mem_peak;"                                        \
    " ALTER TABLE attempts DROP COLUMN usage_gpu_util; PRAGMA user_version = 10;"

/* Undoes schema step 6 (see test_store.c's test_migrate_v5). */
/* Step 7 undone: the v6 attempts table (key on jobs(id)), the events
 * delete trigger, no index on idempotency ids. */
/* Takes a database back from version 9 to 8: no gang parts. */
#define UNDO_V10 "DROP TRIGGER attempt_parts_gc; DROP TABLE attempt_parts; PRAGMA user_version = 9;"

#define UNDO_V7                                                                                    \
    "DROP INDEX idempotency_id; CREATE TRIGGER events_no_delete BEFORE DELETE ON events"           \
    " BEGIN SELECT RAISE(ABORT, 'events are append-only'); END;"                                   \
    " CREATE TABLE attempts_v6 (id TEXT PRIMARY KEY NOT NULL,"                                     \
    " job_id TEXT NOT NULL REFERENCES jobs(id), num INTEGER NOT NULL, worker TEXT NOT NULL,"       \
    " state INTEGER NOT NULL, gpu_ids TEXT, assigned_ms INTEGER NOT NULL,"                         \
    " start_ms INTEGER NOT NULL, end_ms INTEGER NOT NULL, exit_code INTEGER NOT NULL,"             \
    " signal INTEGER NOT NULL, detail TEXT, job_seq INTEGER);"                                     \
    " INSERT INTO attempts_v6 SELECT * FROM attempts; DROP TABLE attempts;"                        \
    " ALTER TABLE attempts_v6 RENAME TO attempts;"                                                 \
    " CREATE UNIQUE INDEX attempts_job ON attempts(job_seq, num);"                                 \
    " CREATE INDEX attempts_live ON attempts(state) WHERE state IN (0, 1);"                        \
    " CREATE INDEX attempts_end ON attempts(end_ms) WHERE end_ms > 0; PRAGMA user_version = 6;"

#define UNDO_V6                                                                                    \
    "DROP INDEX events_job; DROP INDEX events_other; ALTER TABLE events DROP COLUMN job_seq;"      \
    " CREATE INDEX events_job ON events(job_id); DROP INDEX attempts_job;"                         \
    " ALTER TABLE attempts DROP COLUMN job_seq;"                                                   \
    " CREATE UNIQUE INDEX attempts_job ON attempts(job_id, num); DROP INDEX attempts_live;"        \
    " CREATE INDEX attempts_state ON attempts(state); DROP INDEX jobs_array;"                      \
    " DROP INDEX attempts_end; CREATE INDEX attempts_end ON attempts(end_ms);"                     \
    " CREATE INDEX jobs_array ON jobs(array_id, array_index); PRAGMA user_version = 5;"

/* A v4 database (made from the current one by undoing steps 6 and 5) keeps
 * its events and gains the principals table and the actor column. */
static void test_migrate_v4(void **state)
{
    struct fix *f = *state;
    struct mlq_err err = {0};
    assert_int_equal(mlq_store_event_add(f->st, "submit", JOB1, NULL, NULL, "old", &err), 0);
    mlq_store_close(&f->st);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    exec_ok(db, UNDO_V22);
    exec_ok(db, UNDO_V21);
    exec_ok(db, UNDO_V20);
    exec_ok(db, UNDO_V19);
    exec_ok(db, UNDO_V18);
    exec_ok(db, UNDO_V17);
    exec_ok(db, UNDO_V16);
    exec_ok(db, UNDO_V15);
    exec_ok(db, UNDO_V14);
    exec_ok(db, UNDO_V13);
    exec_ok(db, UNDO_V12);
    exec_ok(db, UNDO_V11);
    exec_ok(db, UNDO_V10);
    exec_ok(db, "DROP TABLE worker_overrides; DROP TABLE tokens; PRAGMA user_version = 7;");
    exec_ok(db, UNDO_V7);
    exec_ok(db, UNDO_V6);
    exec_ok(db, "DROP TABLE principals; DROP INDEX events_time;"
                " ALTER TABLE events DROP COLUMN actor; PRAGMA user_version = 4;");
    assert_int_equal(q_int(db, "SELECT count(*) FROM pragma_table_info('events')"
                               " WHERE name = 'actor'"),
                     0);
    sqlite3_close(db);

    assert_int_equal(mlq_store_open(f->path, &f->st, &err), 0);
    struct mlq_eventinfo *ev;
    uint32_t n;
    list_events(f->st, NULL, 0, 0, &ev, &n);
    assert_int_equal(n, 1);
    assert_string_equal(ev[0].detail, "old");
    assert_null(ev[0].actor);
    mlq_store_eventinfo_array_free(&ev, n);
    list_events(f->st, JOB1, 0, 0, &ev, &n); /* no job row: found by its id */
    assert_int_equal(n, 1);
    mlq_store_eventinfo_array_free(&ev, n);
    struct mlq_store_principal a = make("user", "alice", "admin", KEY1);
    assert_int_equal(mlq_store_principal_save(f->st, &a, &err), 0);

    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    assert_int_equal(q_int(db, "PRAGMA user_version"), MLQ_STORE_SCHEMA_VERSION);
    assert_int_equal(q_int(db, "SELECT count(*) FROM principals"), 1);
    sqlite3_close(db);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_save_list_replace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_key_unique, setup, teardown),
        cmocka_unit_test_setup_teardown(test_save_rejects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_delete, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_actor, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_order_limit_filter, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_since, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_rejects_and_cuts, setup, teardown),
        cmocka_unit_test_setup_teardown(test_migrate_v4, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
