/* workers: the registry's records stay where they are while it grows, so
 * a pointer kept across mlq_workers_add (the reservation's worker, a pass's
 * candidates, a handler's sender) never goes stale; lookups by name, index
 * and peer find those same records. The lookup by peer (routing id) follows
 * registrations over new connections, does not find a lost or gone worker,
 * and costs one hash lookup, not a scan of the registry. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
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
    struct mlq_peer p = {.id = "peer-1", .len = 6};
    assert_int_equal(mlq_workers_connect(ws, first, &p), 0);
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

static struct mlq_peer peer_of(const char *id)
{
    struct mlq_peer p = {.len = strlen(id)};
    memcpy(p.id, id, p.len);
    return p;
}

static struct mlq_worker *up_on(struct mlq_workers *ws, const char *name, const char *id)
{
    struct mlq_worker *w = mlq_workers_add(ws, name);
    assert_non_null(w);
    struct mlq_peer p = peer_of(id);
    assert_int_equal(mlq_workers_connect(ws, w, &p), 0);
    w->state = MLQ_WORKER_UP;
    return w;
}

/* A worker that registers again over a new connection is found by the new
 * routing id only; the old one finds nobody (its messages still in flight
 * are not the worker's any more). */
static void test_peer_reregister_new_connection(void **state)
{
    (void)state;
    struct mlq_workers *ws = mlq_workers_create();
    struct mlq_worker *a = up_on(ws, "a", "conn-1");
    struct mlq_worker *b = up_on(ws, "b", "conn-2");
    struct mlq_peer p1 = peer_of("conn-1"), p2 = peer_of("conn-2"), p3 = peer_of("conn-3");
    assert_ptr_equal(mlq_workers_by_peer(ws, &p1), a);
    assert_ptr_equal(mlq_workers_by_peer(ws, &p2), b);
    assert_null(mlq_workers_by_peer(ws, &p3));
    assert_int_equal(mlq_workers_connect(ws, a, &p3), 0);
    assert_null(mlq_workers_by_peer(ws, &p1));
    assert_ptr_equal(mlq_workers_by_peer(ws, &p3), a);
    assert_memory_equal(a->peer.id, "conn-3", 6);
    assert_ptr_equal(mlq_workers_by_peer(ws, &p2), b);
    /* the same connection again (a registration repeated): still found */
    assert_int_equal(mlq_workers_connect(ws, a, &p3), 0);
    assert_ptr_equal(mlq_workers_by_peer(ws, &p3), a);
    /* a routing id another worker took over names that worker only */
    assert_int_equal(mlq_workers_connect(ws, b, &p3), 0);
    assert_ptr_equal(mlq_workers_by_peer(ws, &p3), b);
    assert_null(mlq_workers_by_peer(ws, &p2));
    mlq_workers_destroy(&ws);
}

/* A worker past its lease (LOST) or gone (DOWN) is not found by its last
 * routing id; once it registers again it is, by its new one. */
static void test_peer_expired_not_found(void **state)
{
    (void)state;
    struct mlq_workers *ws = mlq_workers_create();
    struct mlq_worker *a = up_on(ws, "a", "conn-1");
    struct mlq_peer p1 = peer_of("conn-1"), p2 = peer_of("conn-2");
    a->state = MLQ_WORKER_LOST;
    assert_null(mlq_workers_by_peer(ws, &p1));
    assert_ptr_equal(mlq_workers_peer_owner(ws, &p1), a);
    a->state = MLQ_WORKER_DOWN;
    assert_null(mlq_workers_by_peer(ws, &p1));
    assert_int_equal(mlq_workers_connect(ws, a, &p2), 0);
    a->state = MLQ_WORKER_UP;
    assert_ptr_equal(mlq_workers_by_peer(ws, &p2), a);
    assert_null(mlq_workers_by_peer(ws, &p1));
    assert_null(mlq_workers_peer_owner(ws, &p1));
    mlq_workers_destroy(&ws);
}

static double cpu_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

/* A full registry, every worker on its own connection: each is found by
 * its routing id, and a million lookups of the last one registered take
 * well under a second of CPU (a scan of 4,096 records per lookup takes
 * several). */
static void test_peer_lookup_not_a_scan(void **state)
{
    (void)state;
    struct mlq_workers *ws = mlq_workers_create();
    char name[16], id[16];
    for (int i = 0; i < MLQ_MAX_WORKERS; i++) {
        snprintf(name, sizeof name, "w%04d", i);
        snprintf(id, sizeof id, "c%04d", i);
        up_on(ws, name, id);
    }
    for (int i = 0; i < MLQ_MAX_WORKERS; i++) {
        snprintf(id, sizeof id, "c%04d", i);
        struct mlq_peer p = peer_of(id);
        assert_ptr_equal(mlq_workers_by_peer(ws, &p), mlq_workers_at(ws, (size_t)i));
    }
    snprintf(id, sizeof id, "c%04d", MLQ_MAX_WORKERS - 1);
    struct mlq_peer last = peer_of(id);
    double t0 = cpu_ms();
    size_t found = 0;
    for (int i = 0; i < 1000000; i++)
        found += mlq_workers_by_peer(ws, &last) != NULL;
    double took = cpu_ms() - t0;
    assert_int_equal(found, 1000000);
    if (took > 1000.0)
        fail_msg("a million lookups by peer took %.0f ms of CPU", took);
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
        cmocka_unit_test(test_peer_reregister_new_connection),
        cmocka_unit_test(test_peer_expired_not_found),
        cmocka_unit_test(test_peer_lookup_not_a_scan),
        cmocka_unit_test(test_bounds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
