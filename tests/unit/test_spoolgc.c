/* spoolgc: an attempt folder is removed once its outcome is acknowledged and
 * its logs uploaded, leaving a done record that makes a late assign of it
 * "already seen"; the start-up sweep removes done folders and trash left by
 * a crash, keeps every live or unfinished attempt, and prunes old records;
 * a record that cannot be written frees the logs and keeps the folder. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include "spool.h"
#include "spool_fixture.h"
#include "spoolgc.h"

#define ID_A "11111111-1111-4111-8111-111111111111"
#define ID_B "22222222-2222-4222-8222-222222222222"
#define ID_C "33333333-3333-4333-8333-333333333333"
#define ID_D "44444444-4444-4444-8444-444444444444"
#define ID_E "55555555-5555-4555-8555-555555555555"
#define JOB  "99999999-9999-4999-8999-999999999999"

static int setup(void **state)
{
    return spool_fx_open(state, "spoolgc");
}

static char *argv_true[] = {"/bin/true"};

/* Creates attempt id with a log file; returns its folder in dir. */
static void make_attempt(struct spool_fx *f, const char *id, char *dir, size_t len)
{
    struct mlq_msg m;
    memset(&m, 0, sizeof m);
    m.type = MLQ_MSG_ASSIGN;
    snprintf(m.u.assign.attempt_id, sizeof m.u.assign.attempt_id, "%s", id);
    snprintf(m.u.assign.job_id, sizeof m.u.assign.job_id, "%s", JOB);
    m.u.assign.attempt = 1;
    m.u.assign.spec.argv = argv_true;
    m.u.assign.spec.argc = 1;
    m.u.assign.spec.cpus_m = 1000;
    struct mlq_err e;
    assert_int_equal(mlq_spool_create_attempt(f->sp, &m, dir, len, &e), 0);
    char path[MLQ_MAX_PATH + 16];
    snprintf(path, sizeof path, "%s/stdout", dir);
    FILE *fp = fopen(path, "w");
    assert_non_null(fp);
    fputs("the whole output\n", fp);
    fclose(fp);
}

static void finish_attempt(const char *dir, bool uploaded)
{
    struct mlq_err e;
    struct mlq_status st = {.outcome = MLQ_OUT_EXITED, .exit_code = 0};
    assert_int_equal(mlq_spool_write_status(dir, &st, &e), 0);
    assert_int_equal(mlq_spool_mark_acked(dir, MLQ_PHASE_STARTED, &e), 0);
    if (uploaded)
        assert_int_equal(mlq_spool_mark_uploaded(dir, &e), 0);
    assert_int_equal(mlq_spool_mark_acked(dir, MLQ_PHASE_FINISHED, &e), 0);
}

static bool exists(const char *path)
{
    struct stat st;
    return lstat(path, &st) == 0;
}

static void test_remove(void **state)
{
    struct spool_fx *f = *state;
    char dir[MLQ_MAX_PATH];
    struct mlq_err e;
    make_attempt(f, ID_A, dir, sizeof dir);
    assert_false(mlq_spoolgc_is_done(dir));
    finish_attempt(dir, true);
    assert_true(mlq_spoolgc_is_done(dir));
    assert_false(mlq_spoolgc_was_removed(f->sp, ID_A));
    assert_int_equal(mlq_spoolgc_remove(f->sp, ID_A, &e), 0);
    assert_false(exists(dir));
    assert_false(mlq_spool_attempt_exists(f->sp, ID_A));
    assert_true(mlq_spoolgc_was_removed(f->sp, ID_A));
    assert_false(mlq_spoolgc_was_removed(f->sp, ID_B));
    assert_false(mlq_spoolgc_was_removed(f->sp, "../x"));
    /* Nothing of it is left in attempts/ (no trash). */
    struct mlq_spool_held *held = NULL;
    size_t n = 9;
    assert_int_equal(mlq_spool_scan(f->sp, &held, &n, &e), 0);
    assert_int_equal(n, 0);
    free(held);
    char trash[MLQ_MAX_PATH + 64];
    snprintf(trash, sizeof trash, "%s/.trash-%s", mlq_spool_attempts(f->sp), ID_A);
    assert_false(exists(trash));
    /* Removing again (a crash after the rename) is fine. */
    assert_int_equal(mlq_spoolgc_remove(f->sp, ID_A, &e), 0);
    assert_int_equal(mlq_spoolgc_remove(f->sp, "../../etc", &e), MLQ_EINVAL);
}

static void test_sweep(void **state)
{
    struct spool_fx *f = *state;
    char a[MLQ_MAX_PATH], b[MLQ_MAX_PATH], c[MLQ_MAX_PATH], d[MLQ_MAX_PATH];
    make_attempt(f, ID_A, a, sizeof a); /* done: removed */
    finish_attempt(a, true);
    make_attempt(f, ID_B, b, sizeof b); /* acknowledged, logs not uploaded: kept */
    finish_attempt(b, false);
    make_attempt(f, ID_C, c, sizeof c); /* running: kept */
    make_attempt(f, ID_D, d, sizeof d); /* a crash left it as trash */
    finish_attempt(d, true);
    char trash[MLQ_MAX_PATH + 64];
    snprintf(trash, sizeof trash, "%s/.trash-%s", mlq_spool_attempts(f->sp), ID_D);
    assert_int_equal(rename(d, trash), 0);
    /* Done records: one fresh, one older than the keep time. */
    char done[MLQ_MAX_PATH], old[MLQ_MAX_PATH + 64];
    snprintf(done, sizeof done, "%s/done", f->root);
    mkdir(done, 0750);
    snprintf(old, sizeof old, "%s/%s", done, ID_E);
    close(open(old, O_WRONLY | O_CREAT, 0640));
    struct timeval tv[2] = {{1000, 0}, {1000, 0}};
    assert_int_equal(utimes(old, tv), 0);

    assert_int_equal(mlq_spoolgc_sweep(f->sp, 3600), 1);
    assert_false(exists(a));
    assert_true(mlq_spoolgc_was_removed(f->sp, ID_A));
    assert_true(exists(b));
    assert_true(exists(c));
    assert_false(exists(trash));
    assert_false(exists(old));
    assert_false(mlq_spoolgc_was_removed(f->sp, ID_B));
}

static void test_no_record_keeps_folder(void **state)
{
    struct spool_fx *f = *state;
    char dir[MLQ_MAX_PATH], path[MLQ_MAX_PATH + 64];
    struct mlq_err e;
    make_attempt(f, ID_A, dir, sizeof dir);
    finish_attempt(dir, true);
    /* "done" cannot be a folder: the record cannot be written. */
    snprintf(path, sizeof path, "%s/done", f->root);
    close(open(path, O_WRONLY | O_CREAT, 0640));
    assert_true(mlq_spoolgc_remove(f->sp, ID_A, &e) < 0);
    assert_true(exists(dir));
    assert_true(mlq_spool_attempt_exists(f->sp, ID_A));
    snprintf(path, sizeof path, "%s/stdout", dir);
    assert_false(exists(path)); /* the space is freed all the same */
    snprintf(path, sizeof path, "%s/status", dir);
    assert_true(exists(path));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_remove, setup, spool_fx_close),
        cmocka_unit_test_setup_teardown(test_sweep, setup, spool_fx_close),
        cmocka_unit_test_setup_teardown(test_no_record_keeps_folder, setup, spool_fx_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
