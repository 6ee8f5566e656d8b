/* Unit tests of the worker's background fsyncs of spool markers
 * (spoolsync.h): a marker is in place as soon as its writer returns, and
 * every one queued is synced, by the thread, before a wait or a stop
 * returns. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

#include "spool.h"
#include "spoolsync.h"
#include "testdir.h"

static bool exists(const char *dir, const char *name)
{
    char p[512];
    struct stat st;
    snprintf(p, sizeof p, "%s/%s", dir, name);
    return stat(p, &st) == 0;
}

static void test_markers_deferred_then_synced(void **state)
{
    (void)state;
    char dir[128];
    struct mlq_err e = {0};
    struct mlq_spoolsync *s = NULL;
    assert_int_equal(testdir_make(dir, sizeof dir, "spoolsync"), 0);
    assert_int_equal(mlq_spoolsync_start(&s, &e), 0);
    mlq_spool_defer_markers(s);
    assert_int_equal(mlq_spool_mark_acked(dir, MLQ_PHASE_STARTED, &e), 0);
    assert_true(exists(dir, "acked_started")); /* in place at once */
    assert_true(mlq_spool_is_acked(dir, MLQ_PHASE_STARTED));
    struct mlq_upload_state up = {.offset = {5, 0}, .done = {true, false}};
    assert_int_equal(mlq_spool_write_upload(dir, &up, &e), 0);
    struct mlq_upload_state back;
    assert_int_equal(mlq_spool_read_upload(dir, &back, &e), 0);
    assert_int_equal(back.offset[0], 5);
    assert_int_equal(mlq_spool_mark_uploaded(dir, &e), 0);
    mlq_spoolsync_wait(s);
    assert_int_equal(mlq_spoolsync_count(s), 3);
    /* many at once: none lost by the stop; a path queued again while its
     * copy still waits is synced once (after both writes) */
    for (int i = 0; i < 500; i++)
        assert_int_equal(mlq_spool_mark_acked(dir, MLQ_PHASE_FINISHED, &e), 0);
    mlq_spool_defer_markers(NULL);
    mlq_spoolsync_wait(s);
    size_t after = mlq_spoolsync_count(s);
    assert_true(after >= 4 && after <= 503);
    mlq_spoolsync_stop(&s);
    assert_null(s);
    /* without the thread: durable before the writer returns, as before */
    assert_int_equal(mlq_spool_mark_acked(dir, MLQ_PHASE_FINISHED, &e), 0);
    assert_true(mlq_spool_is_acked(dir, MLQ_PHASE_FINISHED));
    testdir_remove(dir);
}

static void test_stop_syncs_the_queue(void **state)
{
    (void)state;
    char dir[128];
    struct mlq_err e = {0};
    struct mlq_spoolsync *s = NULL;
    assert_int_equal(testdir_make(dir, sizeof dir, "spoolsync"), 0);
    assert_int_equal(mlq_spoolsync_start(&s, &e), 0);
    mlq_spool_defer_markers(s);
    for (int i = 0; i < 200; i++)
        assert_int_equal(mlq_spool_mark_uploaded(dir, &e), 0);
    /* a ticket is done once everything queued before it is synced */
    uint64_t ticket = mlq_spoolsync_ticket(s);
    assert_true(ticket >= 1);
    mlq_spoolsync_wait(s);
    assert_true(mlq_spoolsync_done(s, ticket));
    assert_false(mlq_spoolsync_done(s, ticket + 1));
    mlq_spool_defer_markers(NULL);
    /* the count is read before the stop frees the thread's state */
    mlq_spoolsync_wait(s);
    assert_true(mlq_spoolsync_count(s) >= 1 && mlq_spoolsync_count(s) <= 200);
    assert_true(exists(dir, "logs_uploaded"));
    mlq_spoolsync_stop(&s);
    mlq_spoolsync_stop(&s); /* NULL accepted */
    testdir_remove(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_markers_deferred_then_synced),
        cmocka_unit_test(test_stop_syncs_the_queue),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
