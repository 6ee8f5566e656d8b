/* Unit tests for scheduler/ckpt.c: the checkpointer thread copies what a
 * writer committed to the WAL into the database file, when nudged, without
 * making the writer wait; it stops cleanly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>
#include <sqlite3.h>

#include "ckpt.h"

struct fix {
    char dir[64], path[128];
    sqlite3 *db; /* the writer */
};

static void exec_ok(sqlite3 *db, const char *sql)
{
    char *msg = NULL;
    if (sqlite3_exec(db, sql, NULL, NULL, &msg) != SQLITE_OK)
        fail_msg("%s: %s", sql, msg);
}

static int setup(void **state)
{
    struct fix *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->dir, sizeof f->dir, "/tmp/mlq-ckpt-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->path, sizeof f->path, "%s/t.db", f->dir);
    assert_int_equal(sqlite3_open(f->path, &f->db), SQLITE_OK);
    exec_ok(f->db, "PRAGMA journal_mode = WAL; PRAGMA wal_autocheckpoint = 0;"
                   " CREATE TABLE t (x INTEGER, pad BLOB);"
                   " PRAGMA wal_checkpoint(TRUNCATE);"); /* the table is in the file */
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fix *f = *state;
    sqlite3_close(f->db);
    char p[160];
    const char *sfx[] = {"", "-wal", "-shm", ".copy"};
    for (size_t i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s%s", f->path, sfx[i]);
        unlink(p);
    }
    rmdir(f->dir);
    free(f);
    return 0;
}

/* Rows in the database file alone (a copy without its WAL). */
static long long rows_in_file(const struct fix *f)
{
    char copy[160], cmd[400];
    snprintf(copy, sizeof copy, "%s.copy", f->path);
    snprintf(cmd, sizeof cmd, "cp '%s' '%s'", f->path, copy);
    assert_int_equal(system(cmd), 0);
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(copy, &db), SQLITE_OK);
    sqlite3_stmt *s = NULL;
    long long n = -1;
    if (sqlite3_prepare_v2(db, "SELECT count(*) FROM t", -1, &s, NULL) == SQLITE_OK &&
        sqlite3_step(s) == SQLITE_ROW)
        n = sqlite3_column_int64(s, 0);
    sqlite3_finalize(s);
    sqlite3_close(db);
    unlink(copy);
    return n;
}

static void write_rows(sqlite3 *db, int n)
{
    exec_ok(db, "BEGIN");
    for (int i = 0; i < n; i++)
        exec_ok(db, "INSERT INTO t VALUES (1, zeroblob(2000))");
    exec_ok(db, "COMMIT");
}

static void sleep_ms(int ms)
{
    struct timespec ts = {ms / 1000, (long)(ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

static void test_nudge_checkpoints(void **state)
{
    struct fix *f = *state;
    struct mlq_err err = {0};
    write_rows(f->db, 500);
    assert_int_equal(rows_in_file(f), 0); /* all of it still in the WAL */

    struct mlq_ckpt *ck = NULL;
    assert_int_equal(mlq_ckpt_create(f->path, &ck, &err), 0);
    unsigned long before = mlq_ckpt_count(ck);
    mlq_ckpt_nudge(ck);
    for (int i = 0; i < 500 && mlq_ckpt_count(ck) == before; i++)
        sleep_ms(10);
    assert_true(mlq_ckpt_count(ck) > before);
    assert_int_equal(rows_in_file(f), 500);

    /* The writer goes on meanwhile; its next transaction starts the WAL
     * over, so the file stops growing. */
    struct stat st1, st2;
    char wal[160];
    snprintf(wal, sizeof wal, "%s-wal", f->path);
    assert_int_equal(stat(wal, &st1), 0);
    write_rows(f->db, 100);
    assert_int_equal(stat(wal, &st2), 0);
    assert_int_equal(st2.st_size, st1.st_size);
    mlq_ckpt_destroy(&ck);
    assert_null(ck);
    mlq_ckpt_destroy(&ck); /* NULL is fine */
}

static void test_missing_database(void **state)
{
    struct fix *f = *state;
    struct mlq_err err = {0};
    struct mlq_ckpt *ck = NULL;
    char p[200];
    snprintf(p, sizeof p, "%s/none/x.db", f->dir);
    assert_int_equal(mlq_ckpt_create(p, &ck, &err), MLQ_EDB);
    assert_null(ck);
    assert_non_null(strstr(err.msg, "checkpointer"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_nudge_checkpoints, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_database, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
