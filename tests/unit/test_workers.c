/* workers: the registry's records stay where they are while it grows, so
 * a pointer kept across mlq_workers_add (the reservation's worker, a pass's
 * candidates, a handler's sender) never goes stale; lookups by name, index
 * and peer find those same records. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "workers.h"

#define NWORKERS 100

static void name_of(int i, char *out, size_t len)
{
    snprintf(out, len, "w%03d", i);
}

/* Every pointer handed out stays the record, through 100 adds (and many
 * growths of the registry); writes through the first one are seen by a
 * lookup. Under ASan a moved record is a use after free here. */
static void test_pointers_stay_valid(void **state)
{
    (void)state;
    struct mlq_workers *ws = mlq_workers_create();
    assert_non_null(ws);
    struct mlq_worker *held[NWORKERS];
    char name[16];
    for (int i = 0; i < NWORKERS; i++) {
        name_of(i, name, sizeof name);
        assert_non_null(held[i] = mlq_workers_add(ws, name));
        held[0]->running = i; /* the first one, written after every add */
        snprintf(held[0]->drain_reason, sizeof held[0]->drain_reason, "after %d", i);
    }
    assert_int_equal(mlq_workers_count(ws), NWORKERS);
    assert_string_equal(held[0]->name, "w000");
    assert_ptr_equal(mlq_workers_get(ws, "w000"), held[0]);
    assert_int_equal(mlq_workers_get(ws, "w000")->running, NWORKERS - 1);
    assert_string_equal(mlq_workers_get(ws, "w000")->drain_reason, "after 99");
    for (int i = 0; i < NWORKERS; i++) {
        name_of(i, name, sizeof name);
        assert_string_equal(held[i]->name, name);
        assert_ptr_equal(mlq_workers_at(ws, (size_t)i), held[i]);
        assert_int_equal(mlq_workers_index(ws, held[i]), i);
    }
    assert_ptr_equal(mlq_workers_add(ws, "w050"), held[50]); /* known: the same record */
    assert_int_equal(mlq_workers_count(ws), NWORKERS);
    assert_null(mlq_workers_at(ws, NWORKERS));
    mlq_workers_destroy(&ws);
    assert_null(ws);
}

/* The sender of a message, looked up by peer before more workers register,
 * is still the one the registry finds by peer afterwards. */
static void test_peer_lookup_after_growth(void **state)
{
    (void)state;
    struct mlq_workers *ws = mlq_workers_create();
    assert_non_null(ws);
    struct mlq_worker *first = mlq_workers_add(ws, "first");
    assert_non_null(first);
    first->state = MLQ_WORKER_UP;
    memcpy(first->peer.id, "peer-1", 6);
    first->peer.len = 6;
    struct mlq_peer p = {.id = "peer-1", .len = 6};
    struct mlq_worker *sender = mlq_workers_by_peer(ws, &p);
    assert_ptr_equal(sender, first);
    char name[16];
    for (int i = 0; i < NWORKERS; i++) {
        name_of(i, name, sizeof name);
        assert_non_null(mlq_workers_add(ws, name));
    }
    sender->cpus_m = 4000;
    assert_ptr_equal(mlq_workers_by_peer(ws, &p), sender);
    assert_int_equal(mlq_workers_get(ws, "first")->cpus_m, 4000);
    mlq_workers_destroy(&ws);
}

/* Names over the bound and a full registry are refused, not truncated. */
static void test_bounds(void **state)
{
    (void)state;
    struct mlq_workers *ws = mlq_workers_create();
    assert_non_null(ws);
    char longname[MLQ_MAX_NAME + 2];
    memset(longname, 'x', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    assert_null(mlq_workers_add(ws, longname));
    assert_int_equal(mlq_workers_count(ws), 0);
    mlq_workers_destroy(&ws);
    mlq_workers_destroy(&ws); /* NULL again: nothing */
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_pointers_stay_valid),
        cmocka_unit_test(test_peer_lookup_after_growth),
        cmocka_unit_test(test_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
