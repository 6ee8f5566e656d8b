/* Unit tests for scheduler/backup.c: the `backup` handler starts the copy
 * on its thread and returns at once; the answer is queued by the loop's
 * poll once the copy is done; a second request meanwhile is refused; a
 * shutdown stops a running copy and leaves no file. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "backup.h"
#include "sched_fixture.h"

#define BIG_MB 32 /* a copy that takes a while */

struct fix {
    struct mlq_ctx c;
    char dir[64];
    char ctx_db[96], big_db[96], out[96];
};

static int setup(void **state)
{
    struct fix *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/mlq-sched-backup-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    snprintf(f->ctx_db, sizeof f->ctx_db, "%s/ctx.db", f->dir);
    snprintf(f->big_db, sizeof f->big_db, "%s/big.db", f->dir);
    snprintf(f->out, sizeof f->out, "%s/out", f->dir);
    assert_int_equal(mkdir(f->out, 0700), 0);
    sqlite3 *db = NULL;
    char sql[320];
    snprintf(sql, sizeof sql,
             "PRAGMA journal_mode = WAL; CREATE TABLE t (b BLOB);"
             " WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < %d)"
             " INSERT INTO t SELECT randomblob(1048576) FROM c;",
             BIG_MB);
    assert_int_equal(sqlite3_open(f->big_db, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    sched_ctx_open(&f->c, f->ctx_db, 10000);
    f->c.backup = mlq_backup_create(f->big_db);
    assert_non_null(f->c.backup);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fix *f = *state;
    mlq_backup_destroy(&f->c.backup);
    sched_ctx_close(&f->c);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

static int request(struct fix *f, const char *name, struct mlq_err *err)
{
    char path[160];
    snprintf(path, sizeof path, "%s/%s", f->out, name);
    struct mlq_msg m = {.type = MLQ_MSG_BACKUP, .rid = 7};
    m.u.backup.path = path;
    struct mlq_peer peer = {.len = 1};
    return mlq_backup_on_request(&f->c, &peer, &m, err);
}

static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += e->d_name[0] != '.';
    closedir(d);
    return n;
}

static void test_one_at_a_time(void **state)
{
    struct fix *f = *state;
    struct mlq_err err = {0};
    assert_int_equal(request(f, "a.db", &err), 0);
    assert_int_equal(mlq_outbox_count(f->c.out), 0); /* answered later */
    assert_int_equal(request(f, "b.db", &err), MLQ_ESTATE);
    assert_non_null(strstr(err.msg, "already running"));
    for (int i = 0; i < 3000 && mlq_outbox_count(f->c.out) == 0; i++) {
        nanosleep(&(struct timespec){0, 10 * 1000 * 1000}, NULL);
        mlq_backup_poll(&f->c);
    }
    assert_int_equal(mlq_outbox_count(f->c.out), 1);
    char path[160];
    snprintf(path, sizeof path, "%s/a.db", f->out);
    struct stat st;
    assert_int_equal(stat(path, &st), 0);
    assert_true(st.st_size > (off_t)BIG_MB << 20);
    assert_int_equal(entries(f->out), 1);
    /* done: the next request is taken */
    assert_int_equal(request(f, "c.db", &err), 0);
}

static void test_shutdown_stops_the_copy(void **state)
{
    struct fix *f = *state;
    struct mlq_err err = {0};
    assert_int_equal(request(f, "a.db", &err), 0);
    mlq_backup_destroy(&f->c.backup);
    assert_null(f->c.backup);
    assert_int_equal(entries(f->out), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_one_at_a_time, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_stops_the_copy, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
