/* jobtab: lookups by id and attempt, growth past the initial bucket count,
 * removal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "jobtab.h"

static struct mlq_job *add(struct mlq_jobtab *tab, int n)
{
    struct mlq_store_job row = {.seq = n, .state = MLQ_JOB_PENDING, .exit_code = -1};
    snprintf(row.id, sizeof row.id, "%08x-0000-4000-8000-000000000000", n);
    struct mlq_job *job = mlq_jobtab_add(tab, &row);
    assert_non_null(job);
    assert_int_equal(row.seq, 0); /* moved */
    return job;
}

static void test_lookup_and_growth(void **state)
{
    (void)state;
    struct mlq_jobtab *tab = mlq_jobtab_create();
    for (int i = 1; i <= 5000; i++)
        add(tab, i);
    assert_int_equal(mlq_jobtab_count(tab), 5000);
    for (int i = 1; i <= 5000; i += 499) {
        char id[MLQ_ID_LEN + 1];
        snprintf(id, sizeof id, "%08x-0000-4000-8000-000000000000", i);
        struct mlq_job *j = mlq_jobtab_get(tab, id);
        assert_non_null(j);
        assert_int_equal(j->row.seq, i);
    }
    assert_null(mlq_jobtab_get(tab, "ffffffff-0000-4000-8000-000000000000"));
    struct mlq_store_job dup = {.seq = 9};
    snprintf(dup.id, sizeof dup.id, "%08x-0000-4000-8000-000000000000", 7);
    assert_null(mlq_jobtab_add(tab, &dup));
    mlq_jobtab_destroy(&tab);
    assert_null(tab);
}

static void test_attempt_index(void **state)
{
    (void)state;
    struct mlq_jobtab *tab = mlq_jobtab_create();
    struct mlq_job *j = add(tab, 1);
    struct mlq_store_attempt a = {.num = 1, .state = MLQ_ATT_ASSIGNED};
    strcpy(a.id, "aaaaaaaa-0000-4000-8000-000000000001");
    a.detail = "x";
    assert_int_equal(mlq_jobtab_set_attempt(tab, j, &a), 0);
    assert_true(j->live);
    assert_ptr_equal(mlq_jobtab_by_attempt(tab, a.id), j);
    assert_ptr_not_equal(j->att->detail, a.detail); /* copied */
    struct mlq_store_attempt b = a;
    strcpy(b.id, "bbbbbbbb-0000-4000-8000-000000000002");
    assert_int_equal(mlq_jobtab_set_attempt(tab, j, &b), 0);
    assert_null(mlq_jobtab_by_attempt(tab, a.id));
    assert_ptr_equal(mlq_jobtab_by_attempt(tab, b.id), j);
    mlq_jobtab_clear_attempt(tab, j);
    assert_false(j->live);
    assert_null(mlq_jobtab_by_attempt(tab, b.id));
    assert_int_equal(mlq_jobtab_set_attempt(tab, j, &a), 0);
    mlq_jobtab_remove(tab, j);
    assert_null(mlq_jobtab_by_attempt(tab, a.id));
    assert_int_equal(mlq_jobtab_count(tab), 0);
    mlq_jobtab_destroy(&tab);
}

static char **strv(const char *a, const char *b)
{
    char **v = calloc(2, sizeof *v);
    assert_non_null(v);
    v[0] = strdup(a);
    v[1] = strdup(b);
    return v;
}

/* A pending job as submit --from makes them: its own copies of an owner,
 * team, work directory, command and environment that other jobs repeat. */
static struct mlq_job *add_spec(struct mlq_jobtab *tab, int n, const char *script)
{
    struct mlq_store_job row = {.seq = n, .state = MLQ_JOB_PENDING, .exit_code = -1};
    snprintf(row.id, sizeof row.id, "%08x-0000-4000-8000-000000000000", n);
    row.spec.owner = strdup("alice");
    row.spec.team = strdup("vision");
    row.spec.workdir = strdup("/home/alice");
    row.spec.argv = strv("python", script);
    row.spec.argc = 2;
    row.spec.env = strv("HOME=/home/alice", "PATH=/usr/bin");
    row.spec.envc = 2;
    row.spec.held_by = strdup("alice");
    struct mlq_job *job = mlq_jobtab_add(tab, &row);
    assert_non_null(job);
    assert_null(row.spec.owner); /* moved */
    return job;
}

static void test_shared_strings(void **state)
{
    (void)state;
    struct mlq_jobtab *tab = mlq_jobtab_create();
    struct mlq_job *a = add_spec(tab, 1, "a.py"), *b = add_spec(tab, 2, "b.py");
    struct mlq_jobspec *sa = &a->row.spec, *sb = &b->row.spec;
    /* One copy of each repeated string, whatever job it came with. */
    assert_ptr_equal(sa->owner, sb->owner);
    assert_ptr_equal(sa->team, sb->team);
    assert_ptr_equal(sa->workdir, sb->workdir);
    assert_ptr_equal(sa->argv[0], sb->argv[0]);
    assert_ptr_equal(sa->env[0], sb->env[0]);
    assert_ptr_equal(sa->env[1], sb->env[1]);
    assert_ptr_not_equal(sa->argv[1], sb->argv[1]);
    assert_ptr_equal(sa->env, sb->env); /* the same environment: one array */
    assert_ptr_not_equal(sa->argv, sb->argv);
    assert_ptr_not_equal(sa->held_by, sb->held_by); /* changed in place: private */
    /* alice (owner and HOME's value are different strings), vision,
     * /home/alice, python, a.py, b.py, HOME=..., PATH=... */
    assert_int_equal(mlq_jobtab_shared_count(tab), 8);
    /* A job that leaves takes only its own references with it. */
    mlq_jobtab_remove(tab, a);
    assert_int_equal(mlq_jobtab_shared_count(tab), 7);
    assert_string_equal(sb->owner, "alice");
    assert_string_equal(sb->env[0], "HOME=/home/alice");
    /* A changed spec (mlq update) swaps its strings too. */
    struct mlq_jobspec neu = {.owner = strdup("alice"), .argv = strv("bash", "c.sh"), .argc = 2};
    mlq_jobtab_respec(tab, b, &neu);
    assert_null(neu.owner);
    assert_string_equal(b->row.spec.argv[1], "c.sh");
    assert_null(b->row.spec.env);
    assert_int_equal(mlq_jobtab_shared_count(tab), 3); /* alice, bash, c.sh */
    struct mlq_job *c = add_spec(tab, 3, "c.sh");
    assert_ptr_equal(c->row.spec.argv[1], b->row.spec.argv[1]);
    struct mlq_job *d = add_spec(tab, 4, "c.sh");
    assert_ptr_equal(d->row.spec.argv, c->row.spec.argv); /* the same command */
    mlq_jobtab_remove(tab, d);
    assert_string_equal(c->row.spec.argv[1], "c.sh");
    mlq_jobtab_remove(tab, b);
    mlq_jobtab_remove(tab, c);
    assert_int_equal(mlq_jobtab_shared_count(tab), 0);
    mlq_jobtab_destroy(&tab);
}

/* The attempt index grows with live attempts (past its 1,024 first
 * buckets) and shrinks its count as they end: every live one is found. */
static void test_attempt_index_growth(void **state)
{
    (void)state;
    struct mlq_jobtab *tab = mlq_jobtab_create();
    enum { N = 3000 };
    struct mlq_store_attempt a = {.num = 1, .state = MLQ_ATT_RUNNING};
    for (int i = 1; i <= N; i++) {
        struct mlq_job *j = add(tab, i);
        snprintf(a.id, sizeof a.id, "%08x-1111-4000-8000-000000000000", i);
        assert_int_equal(mlq_jobtab_set_attempt(tab, j, &a), 0);
    }
    for (int i = 1; i <= N; i++) {
        snprintf(a.id, sizeof a.id, "%08x-1111-4000-8000-000000000000", i);
        struct mlq_job *j = mlq_jobtab_by_attempt(tab, a.id);
        assert_non_null(j);
        assert_int_equal(j->row.seq, i);
        if (i % 2)
            mlq_jobtab_clear_attempt(tab, j);
    }
    for (int i = 1; i <= N; i++) {
        snprintf(a.id, sizeof a.id, "%08x-1111-4000-8000-000000000000", i);
        struct mlq_job *j = mlq_jobtab_by_attempt(tab, a.id);
        if (i % 2)
            assert_null(j);
        else
            assert_int_equal(j->row.seq, i);
    }
    mlq_jobtab_destroy(&tab);
}

/* A scheduler holds one struct mlq_job per pending job, up to a million:
 * the layout keeps no padding (jobtab.h, store.h, proto.h), and what only
 * a live attempt needs is out of line (struct mlq_jobrun), and the two
 * ids a pending job rarely has take 24 bytes, not 74 (store.h), a gang's
 * parts hang from the live attempt's record and the time a job became
 * ready is 32 bits after its submit. A field added in the wrong place
 * shows here first: 488 bytes, against 552 with the ids as text (the
 * row's env_id, naming a batch's shared environment, fits beside an exit
 * code and a signal of 16 bits each). */
static void test_layout_size(void **state)
{
    (void)state;
    assert_true(sizeof(struct mlq_jobspec) <= 304);
    assert_true(sizeof(struct mlq_store_job) <= 440);
    assert_true(sizeof(struct mlq_job) <= 488);
}

/* A gang's parts go with the live attempt's record: none for a pending
 * job, set with an attempt, gone when the attempt is cleared. */
static void test_gang_with_attempt(void **state)
{
    (void)state;
    struct mlq_jobtab *tab = mlq_jobtab_create();
    struct mlq_job *j = add(tab, 1);
    assert_null(mlq_job_gang(j));
    struct mlq_store_attempt a = {.num = 1};
    snprintf(a.id, sizeof a.id, "%08x-1111-4000-8000-000000000000", 1);
    assert_int_equal(mlq_jobtab_set_attempt(tab, j, &a), 0);
    assert_null(mlq_job_gang(j));
    struct mlq_gang *g = calloc(1, sizeof *g);
    assert_non_null(g);
    mlq_jobtab_set_gang(tab, j, g);
    assert_ptr_equal(mlq_job_gang(j), g);
    assert_ptr_equal(mlq_job_run(j)->gang, g);
    mlq_jobtab_clear_attempt(tab, j);
    assert_null(mlq_job_gang(j));
    mlq_jobtab_destroy(&tab);
}

/* The time a job became ready is kept as an offset from its submit time:
 * it reads back to the ms, never before the submit, and saturates rather
 * than wraps for a job queued more than 49 days. */
static void test_pending_time(void **state)
{
    (void)state;
    struct mlq_job j = {.row.submit_ms = 1700000000000LL};
    assert_int_equal(mlq_job_pending_ms(&j), 1700000000000LL); /* not queued since */
    mlq_job_set_pending(&j, 1700000012345LL);
    assert_int_equal(mlq_job_pending_ms(&j), 1700000012345LL);
    mlq_job_set_pending(&j, 1699999999000LL); /* the clock stepped back */
    assert_int_equal(mlq_job_pending_ms(&j), 1700000000000LL);
    mlq_job_set_pending(&j, 1700000000000LL + 60LL * 86400000);
    assert_int_equal(mlq_job_pending_ms(&j), 1700000000000LL + UINT32_MAX);
}

/* The tasks of an array hold one shared copy of its id while in the
 * table; the row keeps a current attempt's id and gives back its text. */
static void test_task_and_attempt_ids(void **state)
{
    (void)state;
    static const char arr[] = "0123abcd-4567-4890-abcd-ef0123456789";
    struct mlq_jobtab *tab = mlq_jobtab_create();
    struct mlq_job *t[2];
    for (int i = 0; i < 2; i++) {
        struct mlq_store_job row = {.seq = i + 1, .state = MLQ_JOB_PENDING, .array_index = i};
        snprintf(row.id, sizeof row.id, "%08x-0000-4000-8000-000000000000", i + 1);
        row.task_of = strdup(arr);
        assert_true(mlq_idbin_set(&row.cur_att, i ? "00000002-1111-4000-8000-000000000002" : ""));
        assert_non_null(t[i] = mlq_jobtab_add(tab, &row));
        assert_null(row.task_of); /* moved */
    }
    assert_ptr_equal(t[0]->row.task_of, t[1]->row.task_of);
    assert_string_equal(mlq_store_job_array(&t[1]->row), arr);
    assert_int_equal(mlq_jobtab_shared_count(tab), 1);
    char att[MLQ_ID_LEN + 1];
    mlq_store_job_cur_att(&t[0]->row, att);
    assert_string_equal(att, "");
    mlq_store_job_cur_att(&t[1]->row, att);
    assert_string_equal(att, "00000002-1111-4000-8000-000000000002");
    struct mlq_job *plain = add(tab, 9);
    assert_null(plain->row.task_of);
    assert_string_equal(mlq_store_job_array(&plain->row), "");
    mlq_jobtab_remove(tab, t[0]);
    assert_string_equal(t[1]->row.task_of, arr); /* the other task's reference */
    mlq_jobtab_remove(tab, t[1]);
    assert_int_equal(mlq_jobtab_shared_count(tab), 0);
    mlq_jobtab_destroy(&tab);
}

/* A pending job has no live-attempt record; each attempt gets a fresh one
 * (nothing of the previous attempt's worker, GPUs or ASSIGN epoch carries
 * over), found again from its id, and clearing the attempt drops it. */
static void test_run_record(void **state)
{
    (void)state;
    struct mlq_jobtab *tab = mlq_jobtab_create();
    struct mlq_job *j = add(tab, 1);
    assert_null(j->att);
    assert_null(mlq_job_run(j));
    struct mlq_store_attempt a = {.num = 1, .state = MLQ_ATT_ASSIGNED};
    strcpy(a.id, "aaaaaaaa-0000-4000-8000-000000000001");
    assert_int_equal(mlq_jobtab_set_attempt(tab, j, &a), 0);
    struct mlq_jobrun *run = mlq_job_run(j);
    assert_non_null(run);
    assert_ptr_equal(&run->att, j->att);
    assert_string_equal(run->att.id, a.id);
    assert_true(run->gpu_mask == 0 && run->widx == 0 && run->assign_epoch == 0 &&
                run->confirm_by == 0);
    run->gpu_mask = 0x5;
    run->widx = 7;
    run->assign_epoch = 3;
    run->confirm_by = 1234;
    assert_ptr_equal(mlq_jobtab_by_attempt(tab, a.id), j);
    assert_int_equal(mlq_job_run(mlq_jobtab_by_attempt(tab, a.id))->widx, 7);
    struct mlq_store_attempt b = a;
    b.num = 2;
    strcpy(b.id, "bbbbbbbb-0000-4000-8000-000000000002");
    assert_int_equal(mlq_jobtab_set_attempt(tab, j, &b), 0);
    run = mlq_job_run(j);
    assert_int_equal(run->att.num, 2);
    assert_true(run->gpu_mask == 0 && run->widx == 0 && run->assign_epoch == 0 &&
                run->confirm_by == 0);
    assert_null(mlq_jobtab_by_attempt(tab, a.id));
    assert_ptr_equal(mlq_jobtab_by_attempt(tab, b.id), j);
    mlq_jobtab_clear_attempt(tab, j);
    assert_null(mlq_job_run(j));
    assert_false(j->live);
    assert_null(mlq_jobtab_by_attempt(tab, b.id));
    mlq_jobtab_destroy(&tab);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup_and_growth),    cmocka_unit_test(test_attempt_index),
        cmocka_unit_test(test_shared_strings),       cmocka_unit_test(test_layout_size),
        cmocka_unit_test(test_task_and_attempt_ids), cmocka_unit_test(test_pending_time),
        cmocka_unit_test(test_gang_with_attempt),    cmocka_unit_test(test_attempt_index_growth),
        cmocka_unit_test(test_run_record),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
