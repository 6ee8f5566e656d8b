/* store, attempt rows as dispatch writes them: an attempt that names its
 * job's seq is stored under that job without a look-up (and one naming no
 * job is refused), and attempts with time-ordered ids are appended to the
 * attempts' id index, so a commit of a hundred dispatches writes a few
 * pages of it rather than a page per attempt. */
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

#include "id.h"
#include "store_fixture.h"

#define BASE_ATTEMPTS 10000 /* an attempts index some 300 pages wide */
#define BATCH         100   /* the dispatches of one busy loop iteration */

static char *k_argv[] = {"/bin/true"};

static int setup(void **state)
{
    return store_fx_open(state, "attempt", sizeof(struct store_fx));
}

static void add_job(struct store_fx *f, unsigned n, struct mlq_store_job *j)
{
    struct mlq_err err = {0};
    memset(j, 0, sizeof *j);
    snprintf(j->id, sizeof j->id, "%08x-0000-4000-8000-%012x", n, n);
    j->spec = (struct mlq_jobspec){
        .owner = "alice", .argv = k_argv, .argc = 1, .cpus_m = 1000, .mem = 1 << 20};
    j->exit_code = -1;
    j->submit_ms = 1700000000000LL;
    if (mlq_store_job_insert(f->st, j, &err) != 0)
        fail_msg("insert job: %s", err.msg);
    assert_true(j->seq > 0);
}

static void make_attempt(struct mlq_store_attempt *a, const struct mlq_store_job *j, int num,
                         bool ordered)
{
    memset(a, 0, sizeof *a);
    if (ordered)
        mlq_id_new_ordered(a->id);
    else
        mlq_id_new(a->id);
    memcpy(a->job_id, j->id, sizeof a->job_id);
    a->num = num;
    snprintf(a->worker, sizeof a->worker, "node-1");
    a->state = MLQ_ATT_ASSIGNED;
    a->assigned_ms = 1700000000100LL;
    a->exit_code = -1;
}

static long long attempt_col(sqlite3 *db, const char *col, const char *id)
{
    char sql[160];
    snprintf(sql, sizeof sql, "SELECT %s FROM attempts WHERE id = '%s'", col, id);
    return store_fx_int(db, sql);
}

/* The seq the writer gives is the one stored (the attempt and its event);
 * none given: looked up from the job id; a seq of no job: refused by the
 * foreign key, nothing written. */
static void test_insert_names_job_seq(void **state)
{
    struct store_fx *f = *state;
    struct mlq_store_job j1, j2;
    struct mlq_store_attempt a;
    struct mlq_err err = {0};
    add_job(f, 1, &j1);
    add_job(f, 2, &j2);

    make_attempt(&a, &j2, 1, true);
    a.job_seq = j2.seq;
    assert_int_equal(mlq_store_attempt_save(f->st, &a, -1, true, &err), 0);
    assert_int_equal(attempt_col(f->db, "job_seq", a.id), j2.seq);
    char sql[200];
    snprintf(sql, sizeof sql,
             "SELECT job_seq FROM events WHERE kind = 'attempt' AND attempt_id = '%s'", a.id);
    assert_int_equal(store_fx_int(f->db, sql), j2.seq);

    make_attempt(&a, &j1, 1, true);
    assert_int_equal(mlq_store_attempt_save(f->st, &a, -1, true, &err), 0);
    assert_int_equal(attempt_col(f->db, "job_seq", a.id), j1.seq);

    long long events = store_fx_int(f->db, "SELECT count(*) FROM events");
    make_attempt(&a, &j1, 2, true);
    a.job_seq = j2.seq + 1000;
    assert_int_equal(mlq_store_attempt_save(f->st, &a, -1, true, &err), MLQ_EDB);
    assert_non_null(strstr(err.msg, "constraint failed"));
    assert_int_equal(store_fx_int(f->db, "SELECT count(*) FROM attempts"), 2);
    assert_int_equal(store_fx_int(f->db, "SELECT count(*) FROM events"), events);
}

/* WAL frames each commit appended (a hook of the test's own in place of
 * the store's: nothing checkpoints meanwhile). */
static int g_wal_pages;

static int note_wal(void *arg, sqlite3 *db, const char *name, int pages)
{
    (void)arg;
    (void)db;
    (void)name;
    g_wal_pages = pages;
    return SQLITE_OK;
}

/* Inserts n attempts of job j (numbers from *num on) in one transaction;
 * the WAL frames its commit wrote. */
static int insert_batch(struct store_fx *f, const struct mlq_store_job *j, int *num, int n,
                        bool ordered)
{
    struct mlq_err err = {0};
    int before = g_wal_pages;
    assert_int_equal(mlq_store_begin(f->st, &err), 0);
    for (int i = 0; i < n; i++) {
        struct mlq_store_attempt a;
        make_attempt(&a, j, (*num)++, ordered);
        a.job_seq = j->seq;
        if (mlq_store_attempt_save(f->st, &a, -1, false, &err) != 0)
            fail_msg("attempt: %s", err.msg);
    }
    assert_int_equal(mlq_store_commit(f->st, &err), 0);
    return g_wal_pages - before;
}

/* A hundred dispatches with time-ordered attempt ids write a few pages;
 * with random ids each lands on its own page of the id index. */
static void test_ordered_ids_append(void **state)
{
    struct store_fx *f = *state;
    struct mlq_store_job jo, jr;
    add_job(f, 1, &jo);
    add_job(f, 2, &jr);
    sqlite3_wal_hook(f->db, note_wal, NULL);
    int num_o = 1, num_r = 1;
    insert_batch(f, &jo, &num_o, BASE_ATTEMPTS, true);
    insert_batch(f, &jr, &num_r, BASE_ATTEMPTS, false);
    int ordered = insert_batch(f, &jo, &num_o, BATCH, true);
    int random = insert_batch(f, &jr, &num_r, BATCH, false);
    print_message("WAL frames for %d attempts: %d with time-ordered ids, %d with random ids\n",
                  BATCH, ordered, random);
    assert_true(ordered > 0);
    assert_true(ordered <= 24);
    assert_true(random >= 4 * ordered);
    assert_int_equal(store_fx_int(f->db, "SELECT count(*) FROM attempts"),
                     2 * (BASE_ATTEMPTS + BATCH));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_insert_names_job_seq, setup, store_fx_close),
        cmocka_unit_test_setup_teardown(test_ordered_ids_append, setup, store_fx_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
