/* Unit tests for scheduler/dbcopy.c and scheduler/restore.c: a backup is
 * the committed state of a database another connection keeps writing to; it
 * never overwrites, leaves nothing behind when it fails (bad path, stop,
 * no space), and a restore installs a checked copy, keeps the old database
 * (WAL included) beside it, and refuses files it cannot stand behind. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "dbcopy.h"
#include "restore.h"
#include "store.h"

static char *k_argv[] = {"python", "train.py"};

struct fix {
    char dir[64];
    char db[128]; /* dir/state/mlq.db, a store with jobs 1..3 */
    char out[96]; /* dir/out, an empty folder for backups */
    struct mlq_store *st;
};

static void add_job(struct mlq_store *st, unsigned n)
{
    struct mlq_store_job j;
    memset(&j, 0, sizeof j);
    snprintf(j.id, sizeof j.id, "%08x-0000-4000-8000-%012x", n, n);
    j.state = MLQ_JOB_PENDING;
    j.spec.owner = "alice";
    j.spec.argv = k_argv;
    j.spec.argc = 2;
    j.spec.workdir = "/tmp";
    j.spec.cpus_m = 1000;
    j.spec.mem = 1 << 20;
    j.submit_ms = 1700000000000LL;
    j.exit_code = -1;
    struct mlq_err err = {0};
    if (mlq_store_begin(st, &err) < 0 || mlq_store_job_insert(st, &j, &err) < 0)
        fail_msg("insert: %s", err.msg);
}

static bool has_job(const char *db, unsigned n)
{
    struct mlq_store *st = NULL;
    struct mlq_err err = {0};
    if (mlq_store_open(db, &st, &err) < 0)
        fail_msg("open %s: %s", db, err.msg);
    char id[MLQ_ID_LEN + 1];
    snprintf(id, sizeof id, "%08x-0000-4000-8000-%012x", n, n);
    struct mlq_store_job j;
    int rc = mlq_store_job_get(st, id, &j, &err);
    if (rc == 0)
        mlq_store_job_free(&j);
    mlq_store_close(&st);
    return rc == 0;
}

static int entries(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    int n = 0;
    for (struct dirent *e; (e = readdir(d));)
        n += strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return n;
}

static int setup(void **state)
{
    struct fix *f = calloc(1, sizeof *f);
    snprintf(f->dir, sizeof f->dir, "/tmp/mlq-backup-XXXXXX");
    assert_non_null(mkdtemp(f->dir));
    char sd[96];
    snprintf(sd, sizeof sd, "%s/state", f->dir);
    assert_int_equal(mkdir(sd, 0700), 0);
    snprintf(f->out, sizeof f->out, "%s/out", f->dir);
    assert_int_equal(mkdir(f->out, 0700), 0);
    snprintf(f->db, sizeof f->db, "%s/mlq.db", sd);
    struct mlq_err err = {0};
    assert_int_equal(mlq_store_open(f->db, &f->st, &err), 0);
    for (unsigned n = 1; n <= 3; n++)
        add_job(f->st, n);
    assert_int_equal(mlq_store_commit(f->st, &err), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fix *f = *state;
    mlq_store_close(&f->st);
    char cmd[128];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", f->dir);
    assert_int_equal(system(cmd), 0);
    free(f);
    return 0;
}

/* The copy holds what was committed, not the writer's open transaction. */
static void test_backup_is_the_committed_state(void **state)
{
    struct fix *f = *state;
    add_job(f->st, 4); /* begun, not committed */
    char dest[160];
    snprintf(dest, sizeof dest, "%s/b.db", f->out);
    struct mlq_dbcopy_info info;
    struct mlq_err err = {0};
    int rc = mlq_dbcopy_backup(f->db, dest, NULL, &info, &err);
    if (rc != 0)
        fail_msg("backup: %s", err.msg);
    mlq_store_rollback(f->st);
    assert_string_equal(info.integrity, "ok");
    assert_int_equal(info.schema, MLQ_STORE_SCHEMA_VERSION);
    struct stat st;
    assert_int_equal(stat(dest, &st), 0);
    assert_int_equal(info.size, st.st_size);
    assert_int_equal(info.size, info.pages * info.page_size);
    assert_int_equal(st.st_mode & 0777, 0600);
    assert_int_equal(entries(f->out), 1); /* no partial file, no journal */
    assert_true(has_job(dest, 1) && has_job(dest, 3));
    assert_false(has_job(dest, 4));
    /* a copy taken while the store kept its connection open is checkable */
    struct mlq_dbcopy_info again;
    assert_int_equal(mlq_dbcopy_check(dest, &again, &err), 0);
    assert_string_equal(again.integrity, "ok");
}

static void test_backup_refusals_leave_nothing(void **state)
{
    struct fix *f = *state;
    char dest[160], missing[160];
    snprintf(dest, sizeof dest, "%s/b.db", f->out);
    snprintf(missing, sizeof missing, "%s/no/such/b.db", f->out);
    struct mlq_dbcopy_info info;
    struct mlq_err err = {0};
    int fd = open(dest, O_CREAT | O_WRONLY, 0600);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "keep", 4), 4);
    close(fd);
    assert_int_equal(mlq_dbcopy_backup(f->db, dest, NULL, &info, &err), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "already exists"));
    struct stat st;
    assert_int_equal(stat(dest, &st), 0);
    assert_int_equal(st.st_size, 4); /* untouched */
    assert_int_equal(mlq_dbcopy_backup(f->db, missing, NULL, &info, &err), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "not an existing folder"));
    assert_int_equal(mlq_dbcopy_backup(f->db, "rel/b.db", NULL, &info, &err), MLQ_EINVAL);
    unlink(dest);
    atomic_bool stop = true;
    assert_int_equal(mlq_dbcopy_backup(f->db, dest, &stop, &info, &err), MLQ_ESTATE);
    assert_int_equal(entries(f->out), 0);
}

/* A file system too small for the copy: a clear error and no file left.
 * Needs a private mount namespace for a tiny tmpfs (root). */
static void test_backup_no_space(void **state)
{
    struct fix *f = *state;
    if (geteuid() != 0) {
        print_message("skipped: needs root for a private tmpfs\n");
        skip();
    }
    if (unshare(CLONE_NEWNS) != 0 || mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) != 0)
        fail_msg("root but no private mount namespace: %s", strerror(errno));
    for (unsigned n = 10; n < 400; n++) /* a database well over 64 KiB */
        add_job(f->st, n);
    struct mlq_err err = {0};
    assert_int_equal(mlq_store_commit(f->st, &err), 0);
    assert_int_equal(mount("tmpfs", f->out, "tmpfs", 0, "size=64k,mode=0700"), 0);
    char dest[160];
    snprintf(dest, sizeof dest, "%s/b.db", f->out);
    struct mlq_dbcopy_info info;
    int rc = mlq_dbcopy_backup(f->db, dest, NULL, &info, &err);
    int left = entries(f->out);
    umount(f->out);
    assert_true(rc < 0);
    if (!strstr(err.msg, "space") && !strstr(err.msg, "full"))
        fail_msg("no-space message: %s", err.msg);
    assert_int_equal(left, 0);
}

/* Restore keeps the old database, with what only its WAL held. */
static void test_restore_keeps_old_database(void **state)
{
    struct fix *f = *state;
    char dest[160], target[160], cmd[1024], msg[1024];
    snprintf(dest, sizeof dest, "%s/b.db", f->out);
    struct mlq_dbcopy_info info;
    struct mlq_err err = {0};
    assert_int_equal(mlq_dbcopy_backup(f->db, dest, NULL, &info, &err), 0);
    /* the old state dir: a database whose job 9 is in its WAL only (copied
     * while the store holds it open, as after a crash) */
    add_job(f->st, 9);
    assert_int_equal(mlq_store_commit(f->st, &err), 0);
    snprintf(target, sizeof target, "%s/old", f->dir);
    snprintf(cmd, sizeof cmd, "mkdir -m 700 %s && cp %s %s-wal %s/", target, f->db, f->db, target);
    assert_int_equal(system(cmd), 0);
    int rc = mlq_restore_run(dest, target, msg, sizeof msg, &err);
    if (rc != 0)
        fail_msg("restore: %s", err.msg);
    char *aside = strstr(msg, "previous database is ");
    assert_non_null(aside);
    aside += strlen("previous database is ");
    *strchr(aside, ';') = '\0';
    char db[200];
    snprintf(db, sizeof db, "%s/mlq.db", target);
    struct stat st;
    snprintf(cmd, sizeof cmd, "%s-wal", db);
    assert_true(stat(cmd, &st) != 0 ||
                st.st_size == 0); /* the old WAL never meets the restored db */
    assert_true(has_job(db, 1));
    assert_false(has_job(db, 9));
    assert_true(has_job(aside, 9));
}

static void test_restore_refusals(void **state)
{
    struct fix *f = *state;
    char dest[160], target[160], lock[200], msg[1024];
    struct mlq_dbcopy_info info;
    struct mlq_err err = {0};
    snprintf(dest, sizeof dest, "%s/b.db", f->out);
    snprintf(target, sizeof target, "%s/target", f->dir);
    assert_int_equal(mlq_dbcopy_backup(f->db, dest, NULL, &info, &err), 0);
    /* a scheduler holds the state dir */
    assert_int_equal(mkdir(target, 0700), 0);
    snprintf(lock, sizeof lock, "%s/scheduler.lock", target);
    int fd = open(lock, O_CREAT | O_RDWR, 0600);
    assert_int_equal(flock(fd, LOCK_EX), 0);
    assert_int_equal(mlq_restore_run(dest, target, msg, sizeof msg, &err), MLQ_ESTATE);
    close(fd);
    /* a newer schema than this build */
    sqlite3 *db = NULL;
    assert_int_equal(sqlite3_open(dest, &db), SQLITE_OK);
    assert_int_equal(sqlite3_exec(db, "PRAGMA user_version = 1000", NULL, NULL, NULL), SQLITE_OK);
    sqlite3_close(db);
    assert_int_equal(mlq_restore_run(dest, target, msg, sizeof msg, &err), MLQ_EINVAL);
    assert_non_null(strstr(err.msg, "newer"));
    /* not a database */
    fd = open(dest, O_WRONLY | O_TRUNC);
    assert_int_equal(write(fd, "hello, world", 12), 12);
    close(fd);
    assert_true(mlq_restore_run(dest, target, msg, sizeof msg, &err) < 0);
    assert_int_equal(entries(target), 1); /* the lock file only */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_backup_is_the_committed_state, setup, teardown),
        cmocka_unit_test_setup_teardown(test_backup_refusals_leave_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_keeps_old_database, setup, teardown),
        cmocka_unit_test_setup_teardown(test_restore_refusals, setup, teardown),
        /* last: it moves the process into its own mount namespace */
        cmocka_unit_test_setup_teardown(test_backup_no_space, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
