/* queue: order by key across shapes, one look per shape in a pass, waiting
 * jobs released at their time, removal from anywhere, and a large queue
 * whose pass costs what its shapes cost, not what its length costs. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "queue.h"

#define G (1024LL * 1024 * 1024)

static struct mlq_job *job_new(int64_t seq, int64_t cpus_m, int32_t gpus)
{
    struct mlq_job *j = calloc(1, sizeof *j);
    j->row.seq = seq;
    j->qkey = seq;
    j->row.spec.cpus_m = cpus_m;
    j->row.spec.mem = G;
    j->row.spec.gpus = gpus;
    return j;
}

static void test_order_across_shapes(void **state)
{
    (void)state;
    struct mlq_queue *q = mlq_queue_create();
    struct mlq_job *j[7];
    /* seq 1..6 alternating between two shapes, plus a third shape */
    for (int i = 1; i <= 6; i++)
        j[i] = job_new(i, i % 2 ? 1000 : 2000, 0);
    for (int i = 6; i >= 1; i--) /* insertion order does not matter */
        assert_int_equal(mlq_queue_add(q, j[i], 0), 0);
    assert_int_equal(mlq_queue_add(q, j[3], 0), 0); /* twice is once */
    assert_int_equal(mlq_queue_count(q), 6);
    assert_int_equal(mlq_queue_nshapes(q), 2);
    assert_ptr_equal(mlq_queue_first(q, NULL, NULL), j[1]);

    mlq_queue_pass_begin(q);
    assert_ptr_equal(mlq_queue_pass_next(q, NULL, NULL), j[1]);
    mlq_queue_pass_skip(q, j[1]); /* the 1-CPU shape does not fit */
    assert_ptr_equal(mlq_queue_pass_next(q, NULL, NULL), j[2]);
    mlq_queue_remove(q, j[2]); /* dispatched */
    assert_ptr_equal(mlq_queue_pass_next(q, NULL, NULL), j[4]);
    mlq_queue_remove(q, j[4]);
    mlq_queue_remove(q, j[6]);
    assert_int_equal(mlq_queue_nshapes(q), 1);       /* the 2-CPU shape is gone */
    assert_null(mlq_queue_pass_next(q, NULL, NULL)); /* only the skipped shape left */
    mlq_queue_pass_begin(q);                         /* a new pass looks again */
    assert_ptr_equal(mlq_queue_pass_next(q, NULL, NULL), j[1]);
    mlq_queue_remove(q, j[3]); /* from the middle of a heap */
    mlq_queue_remove(q, j[3]);
    assert_int_equal(mlq_queue_count(q), 2);
    assert_ptr_equal(mlq_queue_first(q, NULL, NULL), j[1]);
    mlq_queue_remove(q, j[1]);
    assert_ptr_equal(mlq_queue_first(q, NULL, NULL), j[5]);
    mlq_queue_destroy(&q);
    assert_null(q);
    for (int i = 1; i <= 6; i++)
        free(j[i]);
}

static void test_waiting_jobs(void **state)
{
    (void)state;
    struct mlq_queue *q = mlq_queue_create();
    struct mlq_job *a = job_new(1, 1000, 0), *b = job_new(2, 1000, 0), *c = job_new(3, 1000, 0);
    a->row.not_before_ms = 5000;
    b->row.not_before_ms = 3000;
    assert_int_equal(mlq_queue_add(q, a, 1000), 0);
    assert_int_equal(mlq_queue_add(q, b, 1000), 0);
    assert_int_equal(mlq_queue_add(q, c, 1000), 0);
    assert_true(a->qwaiting);
    assert_false(c->qwaiting);
    assert_int_equal(mlq_queue_count(q), 3);
    mlq_queue_pass_begin(q);
    assert_ptr_equal(mlq_queue_pass_next(q, NULL, NULL), c); /* the only ready one */
    int64_t due = 0;
    assert_int_equal(mlq_queue_release_due(q, 2999, &due), 0);
    assert_int_equal(due, 3000);
    assert_int_equal(mlq_queue_release_due(q, 3000, &due), 1);
    assert_int_equal(due, 5000);
    assert_ptr_equal(mlq_queue_first(q, NULL, NULL), b); /* older than c, ready now */
    mlq_queue_remove(q, a);                              /* removal while waiting */
    assert_int_equal(mlq_queue_release_due(q, 9999, &due), 0);
    assert_int_equal(due, 0);
    assert_int_equal(mlq_queue_count(q), 2);
    mlq_queue_destroy(&q);
    free(a);
    free(b);
    free(c);
}

static void test_long_queue_pass_is_cheap(void **state)
{
    (void)state;
    enum { N = 100000 };
    struct mlq_queue *q = mlq_queue_create();
    struct mlq_job **v = calloc(N + 1, sizeof *v);
    for (int i = 0; i < N; i++) {
        v[i] = job_new(i + 1, 64000, 8); /* fits nowhere */
        assert_int_equal(mlq_queue_add(q, v[i], 0), 0);
    }
    v[N] = job_new(N + 1, 500, 0); /* the small one, submitted last */
    assert_int_equal(mlq_queue_add(q, v[N], 0), 0);
    assert_int_equal(mlq_queue_nshapes(q), 2);
    mlq_queue_pass_begin(q);
    struct mlq_job *j = mlq_queue_pass_next(q, NULL, NULL);
    assert_ptr_equal(j, v[0]);
    mlq_queue_pass_skip(q, j); /* one look for 100,000 big jobs */
    assert_ptr_equal(mlq_queue_pass_next(q, NULL, NULL), v[N]);
    mlq_queue_remove(q, v[N]);
    assert_null(mlq_queue_pass_next(q, NULL, NULL));
    /* heap order survives many removals from the middle */
    for (int i = 1; i < N; i += 2)
        mlq_queue_remove(q, v[i]);
    for (int i = 0; i < N; i += 2) {
        assert_ptr_equal(mlq_queue_first(q, NULL, NULL), v[i]);
        mlq_queue_remove(q, v[i]);
    }
    assert_int_equal(mlq_queue_count(q), 0);
    assert_int_equal(mlq_queue_nshapes(q), 0);
    mlq_queue_destroy(&q);
    for (int i = 0; i <= N; i++)
        free(v[i]);
    free(v);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_order_across_shapes),
        cmocka_unit_test(test_waiting_jobs),
        cmocka_unit_test(test_long_queue_pass_is_cheap),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
