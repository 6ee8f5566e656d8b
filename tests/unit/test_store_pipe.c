/* Unit tests for the pipelines half of the store (scheduler/storepipe.c and
 * the array columns of jobs in storejob.c): arrays and their summaries, the
 * resolver, idempotency keys, schedules and their runs. SQLite :memory:;
 * an auto-extension hands the tests the store's own connection for the few
 * checks that need raw SQL. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "store.h"

static sqlite3 *g_last_db;

static int capture_db(sqlite3 *db, const char **errmsg, const struct sqlite3_api_routines *api)
{
    (void)errmsg;
    (void)api;
    g_last_db = db;
    return SQLITE_OK;
}

struct fix {
    struct mlq_store *st;
    sqlite3 *db;
};

static const char ARR[] = "aaaa0000-0000-4000-8000-000000000001";
static char *k_argv[] = {"python", "score.py"};

static int setup(void **state)
{
    struct fix *f = calloc(1, sizeof *f);
    struct mlq_err err = {0};
    assert_non_null(f);
    sqlite3_auto_extension((void (*)(void))capture_db);
    assert_int_equal(mlq_store_open(":memory:", &f->st, &err), 0);
    f->db = g_last_db;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fix *f = *state;
    mlq_store_close(&f->st);
    free(f);
    return 0;
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

static void base_spec(struct mlq_jobspec *s)
{
    memset(s, 0, sizeof *s);
    s->name = "score";
    s->owner = "alice";
    s->argv = k_argv;
    s->argc = 2;
    s->workdir = "/w";
    s->cpus_m = 1000;
    s->mem = 1 << 20;
}

static void task_id(char out[MLQ_ID_LEN + 1], unsigned n)
{
    snprintf(out, MLQ_ID_LEN + 1, "bbbb%04x-0000-4000-8000-%012x", n, n);
}

/* Inserts task `index` of ARR in state st. */
static void insert_task(struct mlq_store *st, unsigned n, int32_t index, enum mlq_job_state state)
{
    struct mlq_store_job j = {.state = state, .exit_code = -1, .array_index = index};
    struct mlq_err err = {0};
    task_id(j.id, n);
    base_spec(&j.spec);
    j.task_of = (char *)ARR;
    if (mlq_store_job_insert(st, &j, &err) != 0)
        fail_msg("insert task %u: %s", n, err.msg);
}

static void insert_array(struct mlq_store *st, const char *id, uint32_t size)
{
    struct mlq_store_array a = {.size = size, .max_running = 2, .submit_ms = 1700000000000};
    struct mlq_err err = {0};
    strcpy(a.id, id);
    base_spec(&a.spec);
    a.spec.array = "0-9";
    if (mlq_store_array_insert(st, &a, &err) != 0)
        fail_msg("insert array: %s", err.msg);
}

/* ---- jobs that are tasks -------------------------------------------------- */

static void test_task_columns(void **state)
{
    struct fix *f = *state;
    struct mlq_err err = {0};
    struct mlq_store_job got;
    struct mlq_jobinfo info;
    char id[MLQ_ID_LEN + 1], plain[MLQ_ID_LEN + 1];
    insert_task(f->st, 1, 7, MLQ_JOB_PENDING);
    task_id(id, 1);
    assert_int_equal(mlq_store_job_get(f->st, id, &got, &err), 0);
    assert_string_equal(got.task_of, ARR);
    assert_int_equal(got.array_index, 7);
    mlq_store_job_free(&got);
    assert_int_equal(mlq_store_job_info(f->st, id, &info, &err), 0);
    assert_string_equal(info.array_id, ARR);
    assert_int_equal(info.array_index, 7);
    mlq_proto_jobinfo_free(&info);

    /* not a task, with dependencies in its spec */
    struct mlq_dep deps[] = {{"", MLQ_DEP_FAILED}};
    strcpy(deps[0].target, id);
    struct mlq_store_job j = {.state = MLQ_JOB_PENDING, .exit_code = -1};
    task_id(plain, 2);
    strcpy(j.id, plain);
    base_spec(&j.spec);
    j.spec.deps = deps;
    j.spec.ndeps = 1;
    assert_int_equal(mlq_store_job_insert(f->st, &j, &err), 0);
    assert_int_equal(mlq_store_job_get(f->st, plain, &got, &err), 0);
    assert_null(got.task_of);
    assert_int_equal(got.array_index, -1);
    assert_int_equal(got.spec.ndeps, 1);
    mlq_store_job_free(&got);
    assert_int_equal(mlq_store_job_info_full(f->st, plain, true, &info, &err), 0);
    assert_null(info.array_id);
    assert_int_equal(info.array_index, -1);
    assert_int_equal(info.ndeps, 1);
    assert_string_equal(info.deps[0].target, id);
    assert_int_equal(info.deps[0].kind, MLQ_DEP_FAILED);
    mlq_proto_jobinfo_free(&info);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM jobs WHERE array_id IS NULL"
                                  " AND array_index IS NULL"),
                     1);

    /* a task needs a valid array id and an index */
    task_id(j.id, 3);
    j.spec.deps = NULL;
    j.spec.ndeps = 0;
    j.task_of = (char *)ARR;
    j.array_index = -1;
    assert_int_equal(mlq_store_job_insert(f->st, &j, &err), MLQ_EINVAL);
    j.task_of = (char *)"AAAA0000-0000-4000-8000-000000000001";
    j.array_index = 0;
    assert_int_equal(mlq_store_job_insert(f->st, &j, &err), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "invalid array id"));
}

/* ---- arrays ---------------------------------------------------------------- */

static void test_array_info(void **state)
{
    struct fix *f = *state;
    struct mlq_err err = {0};
    struct mlq_arrayinfo info;
    struct mlq_store_array a;
    insert_array(f->st, ARR, 8);
    const enum mlq_job_state states[] = {MLQ_JOB_SUCCEEDED, MLQ_JOB_FAILED,  MLQ_JOB_FAILED,
                                         MLQ_JOB_TIMED_OUT, MLQ_JOB_RUNNING, MLQ_JOB_PENDING,
                                         MLQ_JOB_CANCELLED, MLQ_JOB_ASSIGNED};
    for (unsigned i = 0; i < 8; i++)
        insert_task(f->st, 10 + i, (int32_t)(i * 10), states[i]);
    assert_int_equal(mlq_store_array_get(f->st, ARR, &a, &err), 0);
    assert_int_equal(a.size, 8);
    assert_int_equal(a.max_running, 2);
    assert_string_equal(a.spec.array, "0-9");
    mlq_store_array_free(&a);
    assert_int_equal(mlq_store_array_info(f->st, ARR, &info, &err), 0);
    assert_string_equal(info.id, ARR);
    assert_string_equal(info.name, "score");
    assert_string_equal(info.owner, "alice");
    assert_int_equal(info.argc, 2);
    assert_string_equal(info.argv[1], "score.py");
    assert_int_equal(info.size, 8);
    assert_int_equal(info.submit_ms, 1700000000000);
    assert_int_equal(info.counts[MLQ_JOB_SUCCEEDED], 1);
    assert_int_equal(info.counts[MLQ_JOB_FAILED], 2);
    assert_int_equal(info.counts[MLQ_JOB_TIMED_OUT], 1);
    assert_int_equal(info.counts[MLQ_JOB_PENDING], 1);
    assert_int_equal(info.counts[MLQ_JOB_CANCELLED], 1);
    assert_string_equal(info.failed, "10,20,30,60");
    mlq_proto_arrayinfo_free(&info);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM events WHERE kind = 'array_submit'"
                                  " AND detail = '0-9'"),
                     1);

    char(*ids)[MLQ_ID_LEN + 1] = NULL;
    uint32_t n = 0;
    char want[MLQ_ID_LEN + 1];
    assert_int_equal(mlq_store_array_active_tasks(f->st, ARR, &ids, &n, &err), 0);
    assert_int_equal(n, 3); /* RUNNING 40, PENDING 50, ASSIGNED 70, in index order */
    task_id(want, 14);
    assert_string_equal(ids[0], want);
    task_id(want, 17);
    assert_string_equal(ids[2], want);
    free(ids);
    assert_int_equal(
        mlq_store_array_info(f->st, "aaaa0000-0000-4000-8000-00000000ffff", &info, &err),
        MLQ_ENOTFOUND);
}

/* Nothing failed: no failed text; no active task: an empty list. */
static void test_array_clean(void **state)
{
    struct fix *f = *state;
    struct mlq_err err = {0};
    struct mlq_arrayinfo info;
    insert_array(f->st, ARR, 2);
    insert_task(f->st, 1, 0, MLQ_JOB_SUCCEEDED);
    insert_task(f->st, 2, 1, MLQ_JOB_SUCCEEDED);
    assert_int_equal(mlq_store_array_info(f->st, ARR, &info, &err), 0);
    assert_null(info.failed);
    assert_int_equal(info.counts[MLQ_JOB_SUCCEEDED], 2);
    mlq_proto_arrayinfo_free(&info);
    char(*ids)[MLQ_ID_LEN + 1] = NULL;
    uint32_t n = 7;
    assert_int_equal(mlq_store_array_active_tasks(f->st, ARR, &ids, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_null(ids);
    struct mlq_store_array a = {.size = 0};
    strcpy(a.id, "aaaa0000-0000-4000-8000-000000000002");
    base_spec(&a.spec);
    assert_int_equal(mlq_store_array_insert(f->st, &a, &err), MLQ_EINVAL);
    a.size = 1;
    strcpy(a.id, ARR); /* duplicate */
    assert_int_equal(mlq_store_array_insert(f->st, &a, &err), MLQ_EDB);
}

/* An array and its tasks in one transaction: a rollback leaves nothing. */
static void test_array_rollback(void **state)
{
    struct fix *f = *state;
    struct mlq_err err = {0};
    assert_int_equal(mlq_store_begin(f->st, &err), 0);
    insert_array(f->st, ARR, 3);
    for (unsigned i = 0; i < 3; i++)
        insert_task(f->st, i, (int32_t)i, MLQ_JOB_PENDING);
    mlq_store_rollback(f->st);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM arrays"), 0);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM jobs"), 0);
}

/* ---- resolve ------------------------------------------------------------------ */

static void expect_resolve(struct mlq_store *st, const char *ref, int want_rc, const char *want_id,
                           bool want_array)
{
    char out[MLQ_ID_LEN + 1];
    bool is_array = !want_array;
    struct mlq_err err = {0};
    int rc = mlq_store_resolve(st, ref, out, &is_array, &err);
    if (rc != want_rc)
        fail_msg("resolve \"%s\": rc %d (%s), wanted %d", ref, rc, err.msg, want_rc);
    if (rc == 0) {
        assert_string_equal(out, want_id);
        assert_int_equal(is_array, want_array);
    } else {
        assert_string_equal(out, "");
    }
}

static void test_resolve(void **state)
{
    struct fix *f = *state;
    char t0[MLQ_ID_LEN + 1], t3[MLQ_ID_LEN + 1];
    insert_array(f->st, ARR, 2);
    insert_task(f->st, 0, 0, MLQ_JOB_PENDING);
    insert_task(f->st, 3, 17, MLQ_JOB_PENDING);
    task_id(t0, 0);
    task_id(t3, 3);
    expect_resolve(f->st, "aaaa", 0, ARR, true);
    expect_resolve(f->st, ARR, 0, ARR, true);
    expect_resolve(f->st, "bbbb0003", 0, t3, false);
    expect_resolve(f->st, t0, 0, t0, false);
    expect_resolve(f->st, "aaaa/17", 0, t3, false);
    expect_resolve(f->st, "aaaa0000-0000-4000-8000-000000000001/0", 0, t0, false);
    expect_resolve(f->st, "aaaa/18", MLQ_ENOTFOUND, NULL, false);
    expect_resolve(f->st, "bbbb/0", MLQ_ENOTFOUND, NULL, false); /* a job is not an array */
    expect_resolve(f->st, "bbbb", MLQ_EAMBIG, NULL, false);
    expect_resolve(f->st, "cccc", MLQ_ENOTFOUND, NULL, false);
    expect_resolve(f->st, "", MLQ_EINVAL, NULL, false);
    expect_resolve(f->st, "AAAA", MLQ_EINVAL, NULL, false);
    expect_resolve(f->st, "aaaa/", MLQ_EINVAL, NULL, false);
    expect_resolve(f->st, "/1", MLQ_EINVAL, NULL, false);
    expect_resolve(f->st, "aaaa/1x", MLQ_EINVAL, NULL, false);
    expect_resolve(f->st, "aaaa/12345678", MLQ_EINVAL, NULL, false);
    expect_resolve(f->st, "aaaa0000-0000-4000-8000-000000000001/1234567/", MLQ_EINVAL, NULL, false);
    /* a job and an array sharing a prefix */
    expect_resolve(f->st, "a", 0, ARR, true);
    struct mlq_store_job j = {.state = MLQ_JOB_PENDING, .exit_code = -1};
    struct mlq_err err = {0};
    strcpy(j.id, "aaab0000-0000-4000-8000-000000000009");
    base_spec(&j.spec);
    assert_int_equal(mlq_store_job_insert(f->st, &j, &err), 0);
    expect_resolve(f->st, "a", MLQ_EAMBIG, NULL, false);
    expect_resolve(f->st, "aaab", 0, j.id, false);
}

/* ---- idempotency keys ---------------------------------------------------------- */

static void test_idem(void **state)
{
    struct fix *f = *state;
    struct mlq_err err = {0};
    char out[MLQ_ID_LEN + 1];
    const int64_t now = 1700000000000, day = 24LL * 3600 * 1000;
    assert_int_equal(mlq_store_idem_get(f->st, "alice", "k", now, out, &err), MLQ_ENOTFOUND);
    assert_int_equal(mlq_store_idem_put(f->st, "alice", "k", ARR, NULL, now, &err), 0);
    assert_int_equal(mlq_store_idem_get(f->st, "alice", "k", now + 1, out, &err), 0);
    assert_string_equal(out, ARR);
    assert_int_equal(mlq_store_idem_get(f->st, "alice", "k", now + 7 * day - 1, out, &err), 0);
    assert_int_equal(mlq_store_idem_get(f->st, "bob", "k", now, out, &err), MLQ_ENOTFOUND);
    assert_int_equal(mlq_store_idem_get(f->st, "alice", "K", now, out, &err), MLQ_ENOTFOUND);
    /* after seven days the key is free again, and a new put takes it */
    assert_int_equal(mlq_store_idem_get(f->st, "alice", "k", now + 7 * day, out, &err),
                     MLQ_ENOTFOUND);
    char t1[MLQ_ID_LEN + 1];
    task_id(t1, 1);
    assert_int_equal(mlq_store_idem_put(f->st, "alice", "k", t1, NULL, now + 8 * day, &err), 0);
    assert_int_equal(mlq_store_idem_get(f->st, "alice", "k", now + 8 * day, out, &err), 0);
    assert_string_equal(out, t1);
    assert_int_equal(mlq_store_idem_put(f->st, "bob", "k", ARR, NULL, now, &err), 0);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM idempotency"), 2);
    assert_int_equal(mlq_store_idem_purge(f->st, now + 1, &err), 0);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM idempotency"), 1);
    assert_int_equal(mlq_store_idem_put(f->st, "", "k", ARR, NULL, now, &err), MLQ_EINVAL);
    assert_int_equal(mlq_store_idem_put(f->st, "alice", "k", "abc", NULL, now, &err), MLQ_EINVAL);
}

/* ---- schedules -------------------------------------------------------------------- */

static void make_sched(struct mlq_store_schedule *s, const char *name)
{
    memset(s, 0, sizeof *s);
    snprintf(s->name, sizeof s->name, "%s", name);
    s->cron = "*/5 * * * *";
    s->timezone = "Europe/Paris";
    base_spec(&s->spec);
    s->concurrency = MLQ_CONC_REPLACE;
    s->catch_up_ms = 60000;
    s->next_fire_ms = 1700000300000;
    s->created_ms = 1700000000000;
}

struct names {
    int n;
    char name[4][MLQ_MAX_NAME + 1];
};

static int collect_sched(const struct mlq_store_schedule *s, void *ctx)
{
    struct names *c = ctx;
    if (c->n < 4)
        snprintf(c->name[c->n], sizeof c->name[0], "%s", s->name);
    c->n++;
    return 0;
}

static void test_schedules(void **state)
{
    struct fix *f = *state;
    struct mlq_err err = {0};
    struct mlq_store_schedule s, got;
    make_sched(&s, "nightly");
    assert_int_equal(mlq_store_schedule_save(f->st, &s, "added", &err), 0);
    assert_int_equal(mlq_store_schedule_get(f->st, "nightly", &got, &err), 0);
    assert_string_equal(got.cron, "*/5 * * * *");
    assert_string_equal(got.timezone, "Europe/Paris");
    assert_string_equal(got.spec.argv[1], "score.py");
    assert_int_equal(got.concurrency, MLQ_CONC_REPLACE);
    assert_int_equal(got.catch_up_ms, 60000);
    assert_false(got.paused);
    assert_int_equal(got.next_fire_ms, 1700000300000);
    assert_int_equal(got.last_fire_ms, 0);
    assert_string_equal(got.last_job, "");
    assert_int_equal(got.created_ms, 1700000000000);
    mlq_store_schedule_free(&got);
    /* an update by name */
    s.paused = true;
    s.timezone = NULL;
    s.last_fire_ms = 1700000300000;
    strcpy(s.last_job, ARR);
    assert_int_equal(mlq_store_schedule_save(f->st, &s, "paused", &err), 0);
    assert_int_equal(mlq_store_schedule_get(f->st, "nightly", &got, &err), 0);
    assert_true(got.paused);
    assert_null(got.timezone);
    assert_string_equal(got.last_job, ARR);
    mlq_store_schedule_free(&got);
    make_sched(&s, "a.first");
    assert_int_equal(mlq_store_schedule_save(f->st, &s, NULL, &err), 0);
    struct names c = {0};
    assert_int_equal(mlq_store_each_schedule(f->st, collect_sched, &c, &err), 0);
    assert_int_equal(c.n, 2);
    assert_string_equal(c.name[0], "a.first");
    assert_string_equal(c.name[1], "nightly");
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM events WHERE kind = 'schedule'"
                                  " AND detail = 'nightly: paused'"),
                     1);
    assert_int_equal(mlq_store_schedule_delete(f->st, "nightly", &err), 0);
    assert_int_equal(mlq_store_schedule_get(f->st, "nightly", &got, &err), MLQ_ENOTFOUND);
    assert_int_equal(mlq_store_schedule_delete(f->st, "nightly", &err), MLQ_ENOTFOUND);
    assert_non_null(strstr(err.msg, "no schedule nightly"));
    make_sched(&s, "bad name");
    assert_int_equal(mlq_store_schedule_save(f->st, &s, NULL, &err), MLQ_EINVAL);
    make_sched(&s, "x");
    s.cron = NULL;
    assert_int_equal(mlq_store_schedule_save(f->st, &s, NULL, &err), MLQ_EINVAL);
}

static void test_schedule_runs(void **state)
{
    struct fix *f = *state;
    struct mlq_err err = {0};
    struct mlq_schedrun *runs = NULL;
    uint32_t n = 0;
    char id[MLQ_ID_LEN + 1];
    insert_task(f->st, 1, 0, MLQ_JOB_SUCCEEDED); /* a job with a known state */
    task_id(id, 1);
    for (int i = 0; i < 105; i++)
        assert_int_equal(
            mlq_store_schedrun_add(f->st, "n", 1000 * (i + 1), i == 104 ? id : ARR, &err), 0);
    assert_int_equal(mlq_store_schedrun_add(f->st, "other", 5, ARR, &err), 0);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM schedule_runs WHERE name = 'n'"), 100);
    assert_int_equal(mlq_store_schedrun_list(f->st, "n", 10, &runs, &n, &err), 0);
    assert_int_equal(n, 10);
    assert_int_equal(runs[0].fire_ms, 105000); /* newest first */
    assert_string_equal(runs[0].job_id, id);
    assert_int_equal(runs[0].state, MLQ_JOB_SUCCEEDED);
    assert_int_equal(runs[1].fire_ms, 104000);
    assert_int_equal(runs[1].state, MLQ_JOB_PENDING); /* not a job row */
    free(runs);
    assert_int_equal(mlq_store_schedrun_list(f->st, "none", 10, &runs, &n, &err), 0);
    assert_int_equal(n, 0);
    assert_null(runs);
    assert_int_equal(mlq_store_schedrun_add(f->st, "n", 1, "abc", &err), MLQ_EINVAL);
    /* removing the schedule removes its runs */
    struct mlq_store_schedule s;
    make_sched(&s, "n");
    assert_int_equal(mlq_store_schedule_save(f->st, &s, NULL, &err), 0);
    assert_int_equal(mlq_store_schedule_delete(f->st, "n", &err), 0);
    assert_int_equal(q_int(f->db, "SELECT count(*) FROM schedule_runs"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_task_columns, setup, teardown),
        cmocka_unit_test_setup_teardown(test_array_info, setup, teardown),
        cmocka_unit_test_setup_teardown(test_array_clean, setup, teardown),
        cmocka_unit_test_setup_teardown(test_array_rollback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_resolve, setup, teardown),
        cmocka_unit_test_setup_teardown(test_idem, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schedules, setup, teardown),
        cmocka_unit_test_setup_teardown(test_schedule_runs, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
