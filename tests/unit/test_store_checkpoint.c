/* Unit tests for the store's deferred WAL checkpoint (store.h,
 * mlq_store_defer_checkpoints): a commit that crosses SQLite's checkpoint
 * threshold leaves the database file alone (the WAL holds the transaction,
 * durably), mlq_store_checkpoint_idle() then copies it, and a store that
 * did not ask keeps SQLite's auto-checkpoint. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store.h"

#define NJOBS 12000 /* about 1,500 pages of jobs, events and indexes */

struct fix {
    char dir[64];
    char path[128];
};

static int setup(void **state)
{
    struct fix *f = calloc(1, sizeof *f);
    if (!f)
        return -1;
    snprintf(f->dir, sizeof f->dir, "/tmp/mlq-ckpt-XXXXXX");
    if (!mkdtemp(f->dir))
        return -1;
    snprintf(f->path, sizeof f->path, "%s/mlq.db", f->dir);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fix *f = *state;
    const char *sfx[] = {"", "-wal", "-shm"};
    char p[160];
    for (size_t i = 0; i < 3; i++) {
        snprintf(p, sizeof p, "%s%s", f->path, sfx[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

static off_t file_size(const char *path)
{
    struct stat sb;
    return stat(path, &sb) == 0 ? sb.st_size : -1;
}

/* One transaction of NJOBS jobs, committed. */
static void insert_jobs(struct mlq_store *st)
{
    static char *argv[] = {"python3", "score.py", "--epochs=3"};
    struct mlq_err err = {0};
    assert_int_equal(mlq_store_begin(st, &err), 0);
    for (unsigned n = 0; n < NJOBS; n++) {
        struct mlq_store_job j = {.state = MLQ_JOB_PENDING, .exit_code = -1, .array_index = -1};
        snprintf(j.id, sizeof j.id, "%08x-0000-4000-8000-%012x", n, n);
        j.spec = (struct mlq_jobspec){.name = "score",
                                      .owner = "alice",
                                      .argv = argv,
                                      .argc = 3,
                                      .workdir = "/home/alice/proj",
                                      .cpus_m = 1000,
                                      .mem = 1LL << 30};
        j.submit_ms = 1700000000000LL + n;
        if (mlq_store_job_insert(st, &j, &err) != 0)
            fail_msg("insert %u: %s", n, err.msg);
    }
    assert_int_equal(mlq_store_commit(st, &err), 0);
}

static void test_checkpoint_after_commit(void **state)
{
    struct fix *f = *state;
    struct mlq_store *st = NULL;
    struct mlq_err err = {0};
    assert_int_equal(mlq_store_open(f->path, &st, &err), 0);
    mlq_store_defer_checkpoints(st);
    off_t before = file_size(f->path);
    insert_jobs(st);
    char wal[160];
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    /* committed into the WAL only: the database file did not grow */
    assert_int_equal(file_size(f->path), before);
    assert_true(file_size(wal) > 4 * 1024 * 1024);
    mlq_store_checkpoint_idle(st);
    assert_true(file_size(f->path) > before + 4 * 1024 * 1024);
    /* nothing lost: a fresh open reads every job */
    mlq_store_close(&st);
    assert_int_equal(mlq_store_open(f->path, &st, &err), 0);
    struct mlq_store_job j;
    assert_int_equal(mlq_store_job_get(st, "00002edf-0000-4000-8000-000000002edf", &j, &err), 0);
    assert_string_equal(j.spec.argv[1], "score.py");
    mlq_store_job_free(&j);
    mlq_store_close(&st);
}

/* Without deferring, SQLite checkpoints inside the COMMIT as it always did
 * (tools and tests that open a store keep a bounded WAL). */
static void test_auto_checkpoint_kept(void **state)
{
    struct fix *f = *state;
    struct mlq_store *st = NULL;
    struct mlq_err err = {0};
    assert_int_equal(mlq_store_open(f->path, &st, &err), 0);
    off_t before = file_size(f->path);
    insert_jobs(st);
    assert_true(file_size(f->path) > before + 4 * 1024 * 1024);
    mlq_store_close(&st);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_checkpoint_after_commit, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auto_checkpoint_kept, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
