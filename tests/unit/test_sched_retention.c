/* retention on a real store: finished jobs old enough go with their
 * attempts, events and logs (the logs only once the deletion commits, and
 * not at all when it is rolled back); jobs still in memory, jobs a held job
 * depends on and tasks of a live array stay; a backlog is worked off in
 * bounded batches; old events go; the log store is kept under its cap; 0
 * keeps everything. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <cmocka.h>

#include "clock.h"
#include "deps.h"
#include "jobtab.h"
#include "logstore.h"
#include "retention.h"

#define NOW   1700000000000LL
#define DAY   (24 * 3600 * 1000LL)
#define OLD   (NOW - 2 * DAY)
#define FRESH (NOW - 1000)

struct fx {
    struct mlq_ctx c;
    char dir[64];
    struct mlq_retention *r;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    char p[128];
    strcpy(f->dir, "/tmp/mlq-test-retention-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(p, sizeof p, "%s/mlq.db", f->dir);
    assert_int_equal(mlq_store_open(p, &f->c.store, NULL), 0);
    snprintf(p, sizeof p, "%s/logs", f->dir);
    assert_int_equal(mlq_logstore_open(p, &f->c.logstore, NULL), 0);
    f->c.jobs = mlq_jobtab_create();
    f->c.deps = mlq_deps_create();
    f->c.now_mono = 1000000;
    f->c.now_wall = NOW;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    mlq_retention_destroy(&f->r);
    mlq_deps_destroy(&f->c.deps);
    mlq_jobtab_destroy(&f->c.jobs);
    mlq_logstore_close(&f->c.logstore);
    mlq_store_close(&f->c.store);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void make_retention(struct fx *f, int64_t jobs_ms, int64_t events_ms, int64_t logs)
{
    struct mlq_retention_opts o = {jobs_ms, events_ms, logs};
    assert_int_equal(mlq_retention_create(&o, &f->r, NULL), 0);
}

static char *k_argv[] = {"/bin/true"};

static void job_id(unsigned n, char *id)
{
    snprintf(id, MLQ_ID_LEN + 1, "%08x-0000-4000-8000-%012x", n, n);
}

static void att_id(unsigned n, char *id)
{
    snprintf(id, MLQ_ID_LEN + 1, "%08x-1111-4000-8000-%012x", n, n);
}

/* Job n, ended at end_ms (0: pending), with one attempt and stored logs
 * when it ran. */
static void add_job(struct fx *f, unsigned n, enum mlq_job_state state, int64_t end_ms,
                    const char *array_id)
{
    struct mlq_store_job j;
    struct mlq_err err = {0};
    memset(&j, 0, sizeof j);
    job_id(n, j.id);
    j.spec.owner = "alice";
    j.spec.argv = k_argv;
    j.spec.argc = 1;
    j.spec.workdir = "/tmp";
    j.spec.cpus_m = 1000;
    j.spec.mem = 1 << 20;
    j.exit_code = -1;
    j.submit_ms = 1;
    if (array_id) {
        j.task_of = (char *)array_id; /* borrowed: j is never freed */
        j.array_index = (int32_t)n;
    }
    assert_int_equal(mlq_store_job_insert(f->c.store, &j, &err), 0);
    if (end_ms > 0) {
        struct mlq_store_attempt a;
        int64_t next;
        memset(&a, 0, sizeof a);
        att_id(n, a.id);
        snprintf(a.job_id, sizeof a.job_id, "%s", j.id);
        a.num = 1;
        snprintf(a.worker, sizeof a.worker, "w1");
        a.state = MLQ_ATT_SUCCEEDED;
        a.assigned_ms = 1;
        a.end_ms = end_ms;
        assert_int_equal(mlq_store_attempt_save(f->c.store, &a, -1, true, &err), 0);
        assert_int_equal(mlq_logstore_put(f->c.logstore, a.id, MLQ_STREAM_STDOUT, 0, "out", 3, true,
                                          &next, NULL),
                         0);
        /* as the loop does at the end of the iteration */
        assert_int_equal(mlq_logstore_sync(f->c.logstore, &err), 0);
    }
    j.state = state;
    j.end_ms = end_ms;
    assert_int_equal(mlq_store_job_save(f->c.store, &j, MLQ_JOB_PENDING, &err), 0);
    assert_int_equal(mlq_store_commit(f->c.store, &err), 0);
}

static bool job_exists(struct fx *f, unsigned n)
{
    char id[MLQ_ID_LEN + 1];
    struct mlq_store_job row;
    job_id(n, id);
    struct mlq_err e = {0};
    int rc = mlq_store_job_get(f->c.store, id, &row, &e);
    if (rc != 0 && rc != MLQ_ENOTFOUND)
        fail_msg("job_get: %s", e.msg);
    if (rc == 0)
        mlq_store_job_free(&row);
    return rc == 0;
}

static bool log_exists(struct fx *f, unsigned n)
{
    char id[MLQ_ID_LEN + 1];
    att_id(n, id);
    return mlq_logstore_has(f->c.logstore, id, MLQ_STREAM_STDOUT);
}

/* One batch, committed. */
static void tick(struct fx *f)
{
    struct mlq_err err = {0};
    assert_int_equal(mlq_retention_tick(f->r, &f->c, &err), 0);
    assert_int_equal(mlq_store_commit(f->c.store, &err), 0);
    mlq_retention_committed(f->r, &f->c);
}

static void test_what_goes_and_stays(void **state)
{
    struct fx *f = *state;
    const char *arr = "aaaaaaaa-0000-4000-8000-00000000aaaa";
    make_retention(f, DAY, 0, 0);
    add_job(f, 1, MLQ_JOB_SUCCEEDED, OLD, NULL);   /* goes */
    add_job(f, 2, MLQ_JOB_SUCCEEDED, FRESH, NULL); /* too recent */
    add_job(f, 3, MLQ_JOB_CANCELLED, OLD, NULL);   /* still in memory */
    add_job(f, 4, MLQ_JOB_SUCCEEDED, OLD, NULL);   /* a held job waits on it */
    add_job(f, 5, MLQ_JOB_SUCCEEDED, OLD, arr);    /* its array has a live task */
    add_job(f, 6, MLQ_JOB_PENDING, 0, arr);
    add_job(f, 7, MLQ_JOB_FAILED, OLD, NULL); /* goes */
    add_job(f, 8, MLQ_JOB_PENDING, 0, NULL);  /* the newest; pending anyway */
    struct mlq_store_job row = {0};
    job_id(3, row.id);
    row.state = MLQ_JOB_CANCELLED;
    assert_non_null(mlq_jobtab_add(f->c.jobs, &row));
    struct mlq_dep dep = {.kind = MLQ_DEP_OK};
    job_id(4, dep.target);
    struct mlq_job waiter;
    memset(&waiter, 0, sizeof waiter);
    job_id(8, waiter.row.id);
    waiter.row.spec.deps = &dep;
    waiter.row.spec.ndeps = 1;
    assert_int_equal(mlq_deps_hold(f->c.deps, &waiter), 0);

    struct mlq_err err = {0};
    assert_int_equal(mlq_retention_tick(f->r, &f->c, &err), 0);
    assert_false(job_exists(f, 1));
    assert_true(log_exists(f, 1)); /* not committed yet */
    assert_int_equal(mlq_store_commit(f->c.store, &err), 0);
    mlq_retention_committed(f->r, &f->c);
    assert_false(log_exists(f, 1));
    assert_false(job_exists(f, 7));
    assert_false(log_exists(f, 7));
    for (unsigned n = 2; n <= 6; n++)
        assert_true(job_exists(f, n));
    assert_true(log_exists(f, 4));
    struct mlq_retention_stats st;
    mlq_retention_stats(f->r, &st);
    assert_int_equal(st.jobs, 2);

    /* Nothing more until the next batch is due; then the dependency, once
     * released, no longer protects its target. */
    mlq_deps_release(f->c.deps, &waiter);
    tick(f);
    assert_true(job_exists(f, 4));
    f->c.now_mono += MLQ_RETENTION_EVERY_MS;
    tick(f);
    assert_false(job_exists(f, 4));
    assert_true(job_exists(f, 5));
}

static void test_rollback_keeps_logs(void **state)
{
    struct fx *f = *state;
    make_retention(f, DAY, 0, 0);
    add_job(f, 1, MLQ_JOB_SUCCEEDED, OLD, NULL);
    add_job(f, 2, MLQ_JOB_PENDING, 0, NULL);
    struct mlq_err err = {0};
    assert_int_equal(mlq_retention_tick(f->r, &f->c, &err), 0);
    mlq_store_rollback(f->c.store);
    mlq_retention_rolled_back(f->r);
    assert_true(job_exists(f, 1));
    assert_true(log_exists(f, 1));
    struct mlq_retention_stats st;
    mlq_retention_stats(f->r, &st);
    assert_int_equal(st.jobs, 0);
}

static void test_backlog_in_batches(void **state)
{
    struct fx *f = *state;
    unsigned total = MLQ_RETENTION_BATCH + 50;
    make_retention(f, DAY, 0, 0);
    for (unsigned n = 1; n <= total; n++)
        add_job(f, n, MLQ_JOB_SUCCEEDED, OLD, NULL);
    tick(f);
    struct mlq_retention_stats st;
    mlq_retention_stats(f->r, &st);
    assert_int_equal(st.jobs, MLQ_RETENTION_BATCH);
    /* behind: due again soon, not a second later */
    f->c.now_mono += MLQ_RETENTION_BEHIND_MS;
    tick(f);
    mlq_retention_stats(f->r, &st);
    assert_int_equal(st.jobs, total - 1); /* all but the newest */
    assert_true(job_exists(f, total));
}

static void test_events_and_logs_cap(void **state)
{
    struct fx *f = *state;
    make_retention(f, 0, DAY, 10);
    add_job(f, 1, MLQ_JOB_SUCCEEDED, OLD, NULL);
    add_job(f, 2, MLQ_JOB_SUCCEEDED, OLD, NULL);
    add_job(f, 3, MLQ_JOB_SUCCEEDED, OLD, NULL);
    add_job(f, 4, MLQ_JOB_SUCCEEDED, OLD, NULL);
    struct mlq_err err = {0};
    /* every event so far is "now" by the store's clock: make two old */
    for (int i = 0; i < 2; i++)
        assert_int_equal(mlq_store_event_add(f->c.store, "note", NULL, NULL, NULL, "x", &err), 0);
    assert_int_equal(mlq_store_commit(f->c.store, &err), 0);
    f->c.now_wall = mlq_clock_wall_ms() + 2 * DAY; /* every event is old */
    tick(f);
    struct mlq_retention_stats st;
    mlq_retention_stats(f->r, &st);
    assert_true(st.events > 0);
    assert_int_equal(st.jobs, 0); /* jobs kept forever */
    assert_true(job_exists(f, 1));
    /* 4 logs of 3 bytes, cap 10: the oldest goes */
    assert_int_equal(st.log_files, 1);
    assert_false(log_exists(f, 1));
    assert_true(log_exists(f, 4));
    assert_int_equal(mlq_logstore_size(f->c.logstore), 9);
}

static void test_off(void **state)
{
    struct fx *f = *state;
    make_retention(f, 0, 0, 0);
    add_job(f, 1, MLQ_JOB_SUCCEEDED, OLD, NULL);
    add_job(f, 2, MLQ_JOB_SUCCEEDED, OLD, NULL);
    f->c.now_wall = NOW + 1000 * DAY;
    tick(f);
    assert_true(job_exists(f, 1));
    assert_true(log_exists(f, 1));
    struct mlq_retention_opts bad = {-1, 0, 0};
    struct mlq_retention *r = NULL;
    assert_int_equal(mlq_retention_create(&bad, &r, NULL), MLQ_EINVAL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_what_goes_and_stays, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rollback_keeps_logs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backlog_in_batches, setup, teardown),
        cmocka_unit_test_setup_teardown(test_events_and_logs_cap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_off, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
