/* store, worker overrides (schema v9): what an admin sets on a worker is
 * saved, replaced, read back and dropped; bad values are refused before
 * they reach the table; forgetting a worker drops its override; a v8
 * database migrates with its worker rows kept. */
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

#include "store_fixture.h"

static int setup(void **state)
{
    return store_fx_open(state, "storew", sizeof(struct store_fx));
}

/* Copies of what each_override handed over (valid only in the call). */
struct seen {
    int n;
    struct mlq_store_override o[4];
    char labels[4][512];
};

static int collect(const struct mlq_store_override *o, void *arg)
{
    struct seen *s = arg;
    if (s->n == 4)
        return 0;
    s->o[s->n] = *o;
    snprintf(s->labels[s->n], sizeof s->labels[s->n], "%s", o->labels ? o->labels : "");
    s->o[s->n].labels = s->labels[s->n];
    s->n++;
    return 0;
}

static void read_all(struct store_fx *f, struct seen *s)
{
    struct mlq_err err = {0};
    memset(s, 0, sizeof *s);
    if (mlq_store_each_override(f->st, collect, s, &err) != 0)
        fail_msg("each_override: %s", err.msg);
}

static void save_ok(struct store_fx *f, const struct mlq_store_override *o)
{
    struct mlq_err err = {0};
    assert_int_equal(mlq_store_begin(f->st, &err), 0);
    if (mlq_store_override_save(f->st, o, &err) != 0)
        fail_msg("save: %s", err.msg);
    assert_int_equal(mlq_store_commit(f->st, &err), 0);
}

static struct mlq_store_override sample(void)
{
    struct mlq_store_override o = {.clear_labels = true,
                                   .labels = "zone=eu\nrack=r7",
                                   .cpus_m = 2500,
                                   .mem = 1LL << 32,
                                   .gpus = 1};
    snprintf(o.worker, sizeof o.worker, "w1");
    snprintf(o.pool, sizeof o.pool, "gpu");
    snprintf(o.gpu_type, sizeof o.gpu_type, "h100");
    return o;
}

static void test_save_replace_delete(void **state)
{
    struct store_fx *f = *state;
    struct mlq_err err = {0};
    struct mlq_store_override o = sample();
    struct seen s;
    save_ok(f, &o);
    /* Read back after a reopen: it is in the file, not a cache. */
    mlq_store_close(&f->st);
    store_fx_reopen(f);
    read_all(f, &s);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.o[0].worker, "w1");
    assert_string_equal(s.o[0].pool, "gpu");
    assert_true(s.o[0].clear_labels);
    assert_string_equal(s.o[0].labels, "zone=eu\nrack=r7");
    assert_int_equal(s.o[0].cpus_m, 2500);
    assert_int_equal(s.o[0].mem, 1LL << 32);
    assert_int_equal(s.o[0].gpus, 1);
    assert_string_equal(s.o[0].gpu_type, "h100");

    /* Saving again replaces the row (one per worker). */
    struct mlq_store_override o2 = {.gpus = -1};
    snprintf(o2.worker, sizeof o2.worker, "w1");
    o2.cpus_m = 1000;
    save_ok(f, &o2);
    read_all(f, &s);
    assert_int_equal(s.n, 1);
    assert_string_equal(s.o[0].pool, "");
    assert_false(s.o[0].clear_labels);
    assert_string_equal(s.o[0].labels, "");
    assert_int_equal(s.o[0].cpus_m, 1000);
    assert_int_equal(s.o[0].gpus, -1);
    assert_string_equal(s.o[0].gpu_type, "");

    assert_int_equal(mlq_store_begin(f->st, &err), 0);
    assert_int_equal(mlq_store_override_delete(f->st, "w1", &err), 0);
    assert_int_equal(mlq_store_override_delete(f->st, "nobody", &err), 0);
    assert_int_equal(mlq_store_commit(f->st, &err), 0);
    read_all(f, &s);
    assert_int_equal(s.n, 0);
}

static void test_bad_values_refused(void **state)
{
    struct store_fx *f = *state;
    struct mlq_err err = {0};
    assert_int_equal(mlq_store_begin(f->st, &err), 0);
    struct mlq_store_override o = sample();
    o.labels = "zone=eu\nno label";
    assert_int_equal(mlq_store_override_save(f->st, &o, &err), MLQ_EINVAL);
    o = sample();
    o.gpus = -2;
    assert_int_equal(mlq_store_override_save(f->st, &o, &err), MLQ_EINVAL);
    o = sample();
    snprintf(o.pool, sizeof o.pool, "a b");
    assert_int_equal(mlq_store_override_save(f->st, &o, &err), MLQ_EINVAL);
    o = sample();
    snprintf(o.gpu_type, sizeof o.gpu_type, "H100!");
    assert_int_equal(mlq_store_override_save(f->st, &o, &err), MLQ_EINVAL);
    o = sample();
    o.worker[0] = '\0';
    assert_int_equal(mlq_store_override_save(f->st, &o, &err), MLQ_EINVAL);
    assert_int_equal(mlq_store_commit(f->st, &err), 0);
    struct seen s;
    read_all(f, &s);
    assert_int_equal(s.n, 0);
}

/* `mlq admin worker rm`: the worker comes back, if ever, as it reports. */
static void test_forget_drops_override(void **state)
{
    struct store_fx *f = *state;
    struct mlq_err err = {0};
    struct mlq_store_worker w = {.cpus_m = 4000, .mem = 1LL << 33};
    snprintf(w.name, sizeof w.name, "w1");
    snprintf(w.pool, sizeof w.pool, "default");
    assert_int_equal(mlq_store_begin(f->st, &err), 0);
    assert_int_equal(mlq_store_worker_save(f->st, &w, &err), 0);
    assert_int_equal(mlq_store_commit(f->st, &err), 0);
    struct mlq_store_override o = sample();
    save_ok(f, &o);
    assert_int_equal(mlq_store_begin(f->st, &err), 0);
    assert_int_equal(mlq_store_worker_forget(f->st, "w1", NULL, &err), 0);
    assert_int_equal(mlq_store_commit(f->st, &err), 0);
    struct seen s;
    read_all(f, &s);
    assert_int_equal(s.n, 0);
}

static int count_workers(const struct mlq_store_worker *w, void *arg)
{
    (void)w;
    ++*(int *)arg;
    return 0;
}

/* A v8 database (the current one less step 9) keeps its workers and gains
 * the overrides table. */
static void test_migrate_v8(void **state)
{
    struct store_fx *f = *state;
    struct mlq_err err = {0};
    struct mlq_store_worker w = {.cpus_m = 4000, .mem = 1LL << 33};
    snprintf(w.name, sizeof w.name, "w1");
    snprintf(w.pool, sizeof w.pool, "gpu");
    assert_int_equal(mlq_store_begin(f->st, &err), 0);
    assert_int_equal(mlq_store_worker_save(f->st, &w, &err), 0);
    assert_int_equal(mlq_store_commit(f->st, &err), 0);
    mlq_store_close(&f->st);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
    store_fx_exec(db, "DROP INDEX events_batch; ALTER TABLE events DROP COLUMN batch_last;"
                      " ALTER TABLE events DROP COLUMN batch_first; PRAGMA user_version = 21;");
    store_fx_exec(db, "DROP INDEX jobs_team_live; CREATE INDEX jobs_team_live ON jobs(team)"
                      " WHERE state IN (0, 1, 2) AND team IS NOT NULL; PRAGMA user_version = 20;");
    store_fx_exec(db, "ALTER TABLE jobs DROP COLUMN env_id; DROP TABLE envs;"
                      " ALTER TABLE attempts DROP COLUMN logs_empty; DROP TABLE quotas;"
                      " ALTER TABLE attempts DROP COLUMN gpu_h;"
                      " DROP TABLE usage_daily; DROP INDEX jobs_team_live;"
                      " ALTER TABLE jobs DROP COLUMN gpu_type; ALTER TABLE jobs DROP COLUMN pool;"
                      " ALTER TABLE jobs DROP COLUMN project; ALTER TABLE jobs DROP COLUMN team;"
                      " ALTER TABLE principals DROP COLUMN team; DROP TABLE teams;"
                      " ALTER TABLE idempotency DROP COLUMN request_hash;"
                      " DROP TRIGGER attempt_manifests_gc; DROP TABLE attempt_manifests;"
                      " DROP INDEX jobs_name; ALTER TABLE attempts DROP COLUMN usage_source;"
                      " ALTER TABLE attempts DROP COLUMN usage_mem_peak;"
                      " ALTER TABLE attempts DROP COLUMN usage_cpu_us;"
                      " ALTER TABLE attempts DROP COLUMN usage_wall_ms;"
                      " ALTER TABLE attempts DROP COLUMN usage_gpu_mem_peak;"
                      " ALTER TABLE attempts DROP COLUMN usage_gpu_util;"
                      " DROP TRIGGER attempt_parts_gc; DROP TABLE attempt_parts;"
                      " DROP TABLE worker_overrides; PRAGMA user_version = 8;");
    sqlite3_close(db);

    store_fx_reopen(f);
    int n = 0;
    assert_int_equal(mlq_store_each_worker(f->st, count_workers, &n, &err), 0);
    assert_int_equal(n, 1);
    struct mlq_store_override o = sample();
    save_ok(f, &o);
    struct seen s;
    read_all(f, &s);
    assert_int_equal(s.n, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_save_replace_delete, setup, store_fx_close),
        cmocka_unit_test_setup_teardown(test_bad_values_refused, setup, store_fx_close),
        cmocka_unit_test_setup_teardown(test_forget_drops_override, setup, store_fx_close),
        cmocka_unit_test_setup_teardown(test_migrate_v8, setup, store_fx_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
