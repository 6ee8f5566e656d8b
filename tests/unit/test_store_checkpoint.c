/* Unit tests for the store's deferred WAL checkpoint (store.h,
 * mlq_store_defer_checkpoints): a commit that crosses SQLite's checkpoint
 * threshold leaves the database file alone (the WAL holds the transaction,
 * durably), mlq_store_checkpoint_idle() then copies it, and a store that
 * did not ask keeps SQLite's auto-checkpoint. While requests wait (busy)
 * the copy waits for 8,000 pages rather than 1,000, and no longer. */
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

/* One transaction of n jobs, committed; each job's third argument is
 * arg_bytes long (at least 10). */
static void insert_jobs_sized(struct mlq_store *st, unsigned first, unsigned njobs,
                              size_t arg_bytes)
{
    static char arg[16 * 1024];
    assert_true(arg_bytes >= 10 && arg_bytes < sizeof arg);
    memset(arg, 'x', arg_bytes);
    memcpy(arg, "--epochs=3", 10);
    arg[arg_bytes] = '\0';
    char *argv[] = {"python3", "score.py", arg};
    struct mlq_err err = {0};
    assert_int_equal(mlq_store_begin(st, &err), 0);
    for (unsigned n = first; n < first + njobs; n++) {
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

static void insert_jobs(struct mlq_store *st)
{
    insert_jobs_sized(st, 0, NJOBS, 10);
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
    mlq_store_checkpoint_idle(st, false);
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

/* Busy: the 1,500 pages stay in the WAL; past 8,000 pages (2,200 jobs of
 * four pages more each: some 8,800 in all) they are copied all the same;
 * idle, 1,500 pages are copied at once. */
static void test_busy_checkpoint_waits_for_more(void **state)
{
    struct fix *f = *state;
    struct mlq_store *st = NULL;
    struct mlq_err err = {0};
    assert_int_equal(mlq_store_open(f->path, &st, &err), 0);
    mlq_store_defer_checkpoints(st);
    off_t before = file_size(f->path);
    insert_jobs(st);
    mlq_store_checkpoint_idle(st, true);
    assert_int_equal(file_size(f->path), before);
    insert_jobs_sized(st, NJOBS, 2200, 14000);
    mlq_store_checkpoint_idle(st, true);
    assert_true(file_size(f->path) > before + 32 * 1024 * 1024);
    mlq_store_close(&st);

    unlink(f->path);
    char wal[160];
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    unlink(wal);
    assert_int_equal(mlq_store_open(f->path, &st, &err), 0);
    mlq_store_defer_checkpoints(st);
    before = file_size(f->path);
    insert_jobs(st);
    mlq_store_checkpoint_idle(st, false);
    assert_true(file_size(f->path) > before + 4 * 1024 * 1024);
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
        cmocka_unit_test_setup_teardown(test_busy_checkpoint_waits_for_more, setup, teardown),
        cmocka_unit_test_setup_teardown(test_auto_checkpoint_kept, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
