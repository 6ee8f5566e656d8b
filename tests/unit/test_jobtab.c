/* jobtab: lookups by id and attempt, growth past the initial bucket count,
 * removal. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_lookup_and_growth),
        cmocka_unit_test(test_attempt_index),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
