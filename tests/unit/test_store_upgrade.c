/* Upgrades from every earlier schema version: a database as the mlq of
 * version k left it (tests/upgrade/fixture.h, made by the store's own steps
 * 1..k) is opened by this build's store, migrated to
 * MLQ_STORE_SCHEMA_VERSION, passes integrity and foreign key checks, and
 * every row the fixture wrote reads back through the store's API. The loop
 * runs over 1..MLQ_STORE_SCHEMA_VERSION - 1, so a schema step added later is
 * covered without editing this file. */
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

#include "fixture.h"
#include "store.h"

struct expect_job {
    const char *id;
    enum mlq_job_state state;
    int min_ver;
};

static const struct expect_job want[] = {
    {FX_OK, MLQ_JOB_SUCCEEDED, 1},        {FX_FAILED, MLQ_JOB_FAILED, 1},
    {FX_PENDING, MLQ_JOB_PENDING, 1},     {FX_RUNNING, MLQ_JOB_RUNNING, 1},
    {FX_CANCELLED, MLQ_JOB_CANCELLED, 1}, {FX_TASK0, MLQ_JOB_SUCCEEDED, 4},
    {FX_TASK1, MLQ_JOB_PENDING, 4},
};

static char g_path[64];

static void fixture(int ver)
{
    snprintf(g_path, sizeof g_path, "/tmp/mlq-upgrade-%d-v%d.db", (int)getpid(), ver);
    struct mlq_err err = {0};
    int rc = mlq_fixture_write(g_path, ver, &err);
    if (rc != 0)
        fail_msg("fixture v%d: %s", ver, err.msg);
}

static void drop(void)
{
    char p[80];
    unlink(g_path);
    snprintf(p, sizeof p, "%s-wal", g_path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", g_path);
    unlink(p);
}

static void q_text(const char *sql, char *out, size_t cap)
{
    sqlite3 *db = NULL;
    sqlite3_stmt *s = NULL;
    assert_int_equal(sqlite3_open_v2(g_path, &db, SQLITE_OPEN_READONLY, NULL), SQLITE_OK);
    assert_int_equal(sqlite3_prepare_v2(db, sql, -1, &s, NULL), SQLITE_OK);
    int rc = sqlite3_step(s);
    snprintf(out, cap, "%s",
             rc == SQLITE_ROW && sqlite3_column_text(s, 0) ? (const char *)sqlite3_column_text(s, 0)
                                                           : "");
    sqlite3_finalize(s);
    sqlite3_close(db);
}

static int count_cb(const void *row, void *ctx)
{
    (void)row;
    ++*(int *)ctx;
    return 0;
}

static int live_cb(const struct mlq_store_attempt *a, void *ctx)
{
    if (strcmp(a->id, FX_RUN_ATT) == 0 && a->state == MLQ_ATT_RUNNING &&
        strcmp(a->worker, "w-old") == 0)
        *(bool *)ctx = true;
    return 0;
}

static int worker_cb(const struct mlq_store_worker *w, void *ctx)
{
    *(struct mlq_store_worker *)ctx = *w;
    return 0;
}

static int job_cb(const struct mlq_store_job *j, void *ctx)
{
    return count_cb(j, ctx);
}
static int sched_cb(const struct mlq_store_schedule *s, void *ctx)
{
    return count_cb(s, ctx);
}
static int princ_cb(const struct mlq_store_principal *p, void *ctx)
{
    return count_cb(p, ctx);
}
static int token_cb(const struct mlq_store_token *t, void *ctx)
{
    return count_cb(t, ctx);
}

static void check_jobs(struct mlq_store *st, int ver)
{
    struct mlq_err err = {0};
    for (size_t i = 0; i < sizeof want / sizeof want[0]; i++) {
        struct mlq_store_job j;
        int rc = mlq_store_job_get(st, want[i].id, &j, &err);
        if (want[i].min_ver > ver) {
            assert_int_equal(rc, MLQ_ENOTFOUND);
            continue;
        }
        if (rc != 0)
            fail_msg("v%d: job %s: %s", ver, want[i].id, err.msg);
        assert_int_equal(j.state, want[i].state);
        assert_string_equal(j.spec.owner, "alice");
        if (ver >= 4 && strcmp(want[i].id, FX_TASK1) == 0)
            assert_int_equal(j.array_index, 1);
        mlq_store_job_free(&j);
    }
    struct mlq_jobinfo info;
    assert_int_equal(mlq_store_job_info_full(st, FX_FAILED, true, &info, &err), 0);
    assert_int_equal(info.nattempts, 2);
    for (uint32_t a = 0; a < 2; a++)
        assert_int_equal(info.attempts[a].exit_code, 3);
    mlq_proto_jobinfo_free(&info);
    struct mlq_jobinfo *list = NULL;
    uint32_t n = 0;
    assert_int_equal(mlq_store_job_list(st, -1, 1000, &list, &n, &err), 0);
    assert_int_equal(n, ver >= 4 ? FX_NJOBS_V4 : FX_NJOBS_V1);
    mlq_store_jobinfo_array_free(&list, n);
    int active = 0;
    assert_int_equal(mlq_store_each_active_job(st, job_cb, &active, &err), 0);
    assert_int_equal(active, ver >= 4 ? 3 : 2);
    bool live = false;
    assert_int_equal(mlq_store_each_live_attempt(st, live_cb, &live, &err), 0);
    assert_true(live);
}

static void check_rest(struct mlq_store *st, int ver)
{
    struct mlq_err err = {0};
    struct mlq_store_worker w;
    memset(&w, 0, sizeof w);
    assert_int_equal(mlq_store_each_worker(st, worker_cb, &w, &err), 0);
    assert_string_equal(w.name, "w-old");
    assert_string_equal(w.pool, ver >= 3 ? "gpu" : "default");
    assert_int_equal(w.drained, ver >= 3);
    int scheds = 0, princ = 0, tokens = 0;
    assert_int_equal(mlq_store_each_schedule(st, sched_cb, &scheds, &err), 0);
    assert_int_equal(mlq_store_each_principal(st, princ_cb, &princ, &err), 0);
    assert_int_equal(mlq_store_token_each(st, token_cb, &tokens, &err), 0);
    assert_int_equal(scheds, ver >= 4 ? 1 : 0);
    assert_int_equal(princ, ver >= 5 ? 2 : 0);
    assert_int_equal(tokens, ver >= 8 ? 1 : 0);
    if (ver >= 4) {
        struct mlq_store_array a;
        assert_int_equal(mlq_store_array_get(st, FX_ARRAY, &a, &err), 0);
        assert_int_equal(a.size, 2);
        mlq_store_array_free(&a);
    }
}

/* Opens the fixture of ver with the current store and checks everything. */
static void upgrade_and_check(int ver)
{
    fixture(ver);
    struct mlq_store *st = NULL;
    struct mlq_err err = {0};
    if (mlq_store_open(g_path, &st, &err) != 0)
        fail_msg("opening the v%d database: %s", ver, err.msg);
    check_jobs(st, ver);
    check_rest(st, ver);
    mlq_store_close(&st);
    char out[256], expect[16];
    q_text("PRAGMA user_version", out, sizeof out);
    snprintf(expect, sizeof expect, "%d", MLQ_STORE_SCHEMA_VERSION);
    assert_string_equal(out, expect);
    q_text("PRAGMA integrity_check", out, sizeof out);
    assert_string_equal(out, "ok");
    q_text("PRAGMA foreign_key_check", out, sizeof out);
    assert_string_equal(out, "");
    /* a second open finds nothing to do and changes nothing */
    assert_int_equal(mlq_store_open(g_path, &st, &err), 0);
    check_jobs(st, ver);
    mlq_store_close(&st);
    drop();
}

static void test_upgrade_from_every_version(void **state)
{
    (void)state;
    for (int v = 1; v < MLQ_STORE_SCHEMA_VERSION; v++) {
        print_message("schema v%d -> v%d\n", v, MLQ_STORE_SCHEMA_VERSION);
        upgrade_and_check(v);
    }
}

/* The fixture itself at the current version: the checks above hold without
 * any migration (so a failure above is the upgrade's, not the fixture's). */
static void test_fixture_at_current_version(void **state)
{
    (void)state;
    upgrade_and_check(MLQ_STORE_SCHEMA_VERSION);
}

static void test_migrate_to_bounds(void **state)
{
    (void)state;
    struct mlq_err err = {0};
    fixture(2);
    assert_int_equal(mlq_store_migrate_to(g_path, 1, &err), MLQ_EDB); /* already past 1 */
    assert_int_equal(mlq_store_migrate_to(g_path, 3, &err), 0);
    char out[32];
    q_text("PRAGMA user_version", out, sizeof out);
    assert_string_equal(out, "3");
    assert_int_equal(mlq_store_migrate_to(g_path, 0, &err), MLQ_EINVAL);
    assert_int_equal(mlq_store_migrate_to(g_path, MLQ_STORE_SCHEMA_VERSION + 1, &err), MLQ_EINVAL);
    drop();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_fixture_at_current_version),
        cmocka_unit_test(test_upgrade_from_every_version),
        cmocka_unit_test(test_migrate_to_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
