/* logstore: chunked uploads become complete files only at eof; chunks that
 * do not continue the partial file are not written; restarts from offset 0;
 * duplicate uploads of a complete stream; reads; hostile attempt ids; the
 * size count (kept across a reopen), removal of an attempt's logs and the
 * size cap removing the oldest logs first, in bounded batches. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <cmocka.h>

#include "logstore.h"

#define ATT "0a0a0a0a-0000-4000-8000-000000000001"

struct fx {
    char dir[64];
    struct mlq_logstore *ls;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    strcpy(f->dir, "/tmp/mlq-test-logstore-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char sub[96];
    snprintf(sub, sizeof sub, "%s/logs", f->dir);
    assert_int_equal(mlq_logstore_open(sub, &f->ls, NULL), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    mlq_logstore_close(&f->ls);
    assert_null(f->ls);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static void read_all(struct mlq_logstore *ls, enum mlq_stream s, const char *want)
{
    uint8_t *data = NULL;
    uint32_t len = 0;
    int64_t size = 0;
    assert_int_equal(mlq_logstore_read(ls, ATT, s, 0, 1 << 20, &data, &len, &size, NULL), 0);
    assert_int_equal(size, (int64_t)strlen(want));
    assert_int_equal(len, strlen(want));
    assert_memory_equal(data, want, len);
    free(data);
}

static void test_chunks_then_eof(void **state)
{
    struct fx *f = *state;
    int64_t next = -1;
    assert_int_equal(
        mlq_logstore_put(f->ls, ATT, MLQ_STREAM_STDOUT, 0, "hello ", 6, false, &next, NULL), 0);
    assert_int_equal(next, 6);
    assert_false(mlq_logstore_has(f->ls, ATT, MLQ_STREAM_STDOUT)); /* not before eof */
    /* A chunk that skips ahead is not written; the uploader is told where. */
    assert_int_equal(
        mlq_logstore_put(f->ls, ATT, MLQ_STREAM_STDOUT, 9, "xyz", 3, true, &next, NULL), 0);
    assert_int_equal(next, 6);
    assert_int_equal(
        mlq_logstore_put(f->ls, ATT, MLQ_STREAM_STDOUT, 6, "world", 5, true, &next, NULL), 0);
    assert_int_equal(next, 11);
    assert_true(mlq_logstore_has(f->ls, ATT, MLQ_STREAM_STDOUT));
    assert_false(mlq_logstore_has(f->ls, ATT, MLQ_STREAM_STDERR));
    read_all(f->ls, MLQ_STREAM_STDOUT, "hello world");
    /* A restarted uploader sending again is let through without rewriting. */
    assert_int_equal(
        mlq_logstore_put(f->ls, ATT, MLQ_STREAM_STDOUT, 0, "other", 5, false, &next, NULL), 0);
    assert_int_equal(next, 5);
    read_all(f->ls, MLQ_STREAM_STDOUT, "hello world");
    /* Reads past the end are empty, and offsets are honoured. */
    uint8_t *data = NULL;
    uint32_t len = 99;
    int64_t size = 0;
    assert_int_equal(
        mlq_logstore_read(f->ls, ATT, MLQ_STREAM_STDOUT, 6, 3, &data, &len, &size, NULL), 0);
    assert_int_equal(len, 3);
    assert_memory_equal(data, "wor", 3);
    free(data);
    assert_int_equal(
        mlq_logstore_read(f->ls, ATT, MLQ_STREAM_STDOUT, 50, 3, &data, &len, &size, NULL), 0);
    assert_int_equal(len, 0);
    free(data);
}

static void test_restart_and_empty(void **state)
{
    struct fx *f = *state;
    int64_t next;
    assert_int_equal(
        mlq_logstore_put(f->ls, ATT, MLQ_STREAM_STDERR, 0, "aaaa", 4, false, &next, NULL), 0);
    assert_int_equal(mlq_logstore_put(f->ls, ATT, MLQ_STREAM_STDERR, 0, "bb", 2, true, &next, NULL),
                     0);
    read_all(f->ls, MLQ_STREAM_STDERR, "bb"); /* offset 0 restarted the stream */
    assert_int_equal(mlq_logstore_put(f->ls, ATT, MLQ_STREAM_STDOUT, 0, NULL, 0, true, &next, NULL),
                     0);
    assert_int_equal(next, 0);
    read_all(f->ls, MLQ_STREAM_STDOUT, "");
}

static void test_hostile_ids(void **state)
{
    struct fx *f = *state;
    int64_t next;
    struct mlq_err e = {0};
    const char *bad[] = {"../../etc/passwd", "", "0A0A0A0A-0000-4000-8000-000000000001", ATT "/x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(
            mlq_logstore_put(f->ls, bad[i], MLQ_STREAM_STDOUT, 0, "x", 1, true, &next, &e),
            MLQ_EINVAL);
        assert_false(mlq_logstore_has(f->ls, bad[i], MLQ_STREAM_STDOUT));
    }
    uint8_t *data;
    uint32_t len;
    int64_t size;
    assert_int_equal(
        mlq_logstore_read(f->ls, ATT, MLQ_STREAM_STDOUT, 0, 10, &data, &len, &size, NULL),
        MLQ_ENOTFOUND);
    assert_int_equal(mlq_logstore_put(f->ls, ATT, MLQ_STREAM_STDOUT, -1, "x", 1, true, &next, &e),
                     MLQ_EINVAL);
}

/* Stores a complete stream of n bytes for attempt number i. */
static void put_log(struct mlq_logstore *ls, int i, enum mlq_stream s, size_t n)
{
    char id[40], buf[4096];
    int64_t next;
    snprintf(id, sizeof id, "0a0a0a0a-0000-4000-8000-%012d", i);
    memset(buf, 'x', sizeof buf);
    assert_true(n <= sizeof buf);
    assert_int_equal(mlq_logstore_put(ls, id, s, 0, buf, n, true, &next, NULL), 0);
}

static bool has_log(struct mlq_logstore *ls, int i, enum mlq_stream s)
{
    char id[40];
    snprintf(id, sizeof id, "0a0a0a0a-0000-4000-8000-%012d", i);
    return mlq_logstore_has(ls, id, s);
}

static void test_size_and_trim(void **state)
{
    struct fx *f = *state;
    for (int i = 1; i <= 5; i++) {
        put_log(f->ls, i, MLQ_STREAM_STDOUT, 1000);
        put_log(f->ls, i, MLQ_STREAM_STDERR, 100);
    }
    assert_int_equal(mlq_logstore_sync(f->ls, NULL), 0);
    assert_int_equal(mlq_logstore_size(f->ls), 5500);
    /* a duplicate upload of a complete stream counts once */
    put_log(f->ls, 5, MLQ_STREAM_STDOUT, 1000);
    assert_int_equal(mlq_logstore_sync(f->ls, NULL), 0);
    assert_int_equal(mlq_logstore_size(f->ls), 5500);
    /* the logs of a deleted job */
    mlq_logstore_remove(f->ls, "0a0a0a0a-0000-4000-8000-000000000002");
    assert_false(has_log(f->ls, 2, MLQ_STREAM_STDOUT));
    assert_false(has_log(f->ls, 2, MLQ_STREAM_STDERR));
    assert_int_equal(mlq_logstore_size(f->ls), 4400);
    /* under the cap: nothing */
    assert_int_equal(mlq_logstore_trim(f->ls, 10000, 100), 0);
    /* over it: the oldest first, at most max_files per call */
    assert_int_equal(mlq_logstore_trim(f->ls, 2200, 1), 1);
    assert_false(has_log(f->ls, 1, MLQ_STREAM_STDOUT));
    assert_true(has_log(f->ls, 1, MLQ_STREAM_STDERR));
    assert_int_equal(mlq_logstore_trim(f->ls, 2200, 100), 3); /* 1's stderr, 3's two */
    assert_int_equal(mlq_logstore_size(f->ls), 2200);
    assert_false(has_log(f->ls, 3, MLQ_STREAM_STDERR));
    assert_true(has_log(f->ls, 4, MLQ_STREAM_STDOUT));
    assert_true(has_log(f->ls, 5, MLQ_STREAM_STDERR));

    /* a restarted scheduler counts what is there */
    char sub[96];
    snprintf(sub, sizeof sub, "%s/logs", f->dir);
    mlq_logstore_close(&f->ls);
    assert_int_equal(mlq_logstore_open(sub, &f->ls, NULL), 0);
    assert_int_equal(mlq_logstore_size(f->ls), 2200);
    assert_int_equal(mlq_logstore_trim(f->ls, 0, 100), 4);
    assert_int_equal(mlq_logstore_size(f->ls), 0);
}

/* Files in the log directory whose name ends with suffix. */
static int count_files(const char *dir, const char *suffix)
{
    char cmd[256];
    snprintf(cmd, sizeof cmd, "ls '%s/logs' | grep -c -- '%s$'", dir, suffix);
    FILE *p = popen(cmd, "r");
    int n = -1;
    assert_non_null(p);
    assert_int_equal(fscanf(p, "%d", &n), 1);
    pclose(p);
    return n;
}

/* The streams completed in one iteration become durable together: their
 * last chunks are written, and only mlq_logstore_sync (one fsync each, the
 * renames, one fsync of the folder) makes them complete; a second upload
 * of a stream still waiting is not written again. */
static void test_completed_in_batches(void **state)
{
    struct fx *f = *state;
    for (int i = 1; i <= 20; i++)
        put_log(f->ls, i, MLQ_STREAM_STDOUT, 10);
    put_log(f->ls, 7, MLQ_STREAM_STDOUT, 10);
    assert_int_equal(count_files(f->dir, ".stdout.part"), 20);
    assert_int_equal(count_files(f->dir, ".stdout"), 0);
    assert_int_equal(mlq_logstore_size(f->ls), 0);
    assert_int_equal(mlq_logstore_sync(f->ls, NULL), 0);
    assert_int_equal(count_files(f->dir, ".stdout.part"), 0);
    assert_int_equal(count_files(f->dir, ".stdout"), 20);
    assert_int_equal(mlq_logstore_size(f->ls), 200);
    /* a reader never misses a stream waiting in the batch */
    put_log(f->ls, 21, MLQ_STREAM_STDERR, 10);
    assert_true(has_log(f->ls, 21, MLQ_STREAM_STDERR));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_chunks_then_eof, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restart_and_empty, setup, teardown),
        cmocka_unit_test_setup_teardown(test_hostile_ids, setup, teardown),
        cmocka_unit_test_setup_teardown(test_size_and_trim, setup, teardown),
        cmocka_unit_test_setup_teardown(test_completed_in_batches, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
