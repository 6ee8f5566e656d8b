/* Unit tests for scheduler/outbox.c: the flush over a real ROUTER (inproc)
 * and DEALERs with fixed routing ids, what each peer receives, batched
 * where the batching predicate allows and in queue order. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <zmq.h>

#include "outbox.h"
#include "transport.h"

#define RECV_MS 2000

struct fix {
    void *zctx, *router, *a, *b;
    struct mlq_peer pa, pb;
    struct mlq_outbox *ob;
};

static void *dealer(struct fix *f, const char *id)
{
    void *s = zmq_socket(f->zctx, ZMQ_DEALER);
    assert_non_null(s);
    assert_int_equal(zmq_setsockopt(s, ZMQ_ROUTING_ID, id, strlen(id)), 0);
    assert_int_equal(zmq_connect(s, "inproc://outbox-test"), 0);
    return s;
}

static int setup(void **state)
{
    static struct fix f;
    memset(&f, 0, sizeof f);
    f.zctx = zmq_ctx_new();
    f.router = zmq_socket(f.zctx, ZMQ_ROUTER);
    assert_int_equal(zmq_bind(f.router, "inproc://outbox-test"), 0);
    f.a = dealer(&f, "wa");
    f.b = dealer(&f, "wb");
    memcpy(f.pa.id, "wa", 2);
    f.pa.len = 2;
    memcpy(f.pb.id, "wb", 2);
    f.pb.len = 2;
    f.ob = mlq_outbox_create();
    assert_non_null(f.ob);
    *state = &f;
    return 0;
}

static int teardown(void **state)
{
    struct fix *f = *state;
    int zero = 0;
    void *socks[] = {f->a, f->b, f->router};
    for (size_t i = 0; i < 3; i++) {
        zmq_setsockopt(socks[i], ZMQ_LINGER, &zero, sizeof zero);
        zmq_close(socks[i]);
    }
    zmq_ctx_term(f->zctx);
    mlq_outbox_destroy(&f->ob);
    return 0;
}

/* Only worker "wa" reads batches. */
static bool only_a(const struct mlq_peer *peer, void *arg)
{
    (void)arg;
    return peer->len == 2 && memcmp(peer->id, "wa", 2) == 0;
}

static void push_kill(struct fix *f, const struct mlq_peer *p, uint64_t rid, const char *reason)
{
    struct mlq_msg m = {.type = MLQ_MSG_KILL, .rid = rid};
    snprintf(m.u.kill.attempt_id, sizeof m.u.kill.attempt_id, "%s",
             "0b8e7c1e-4a4f-4c5e-9d3a-2f1b6c7d8e9f");
    m.u.kill.reason = (char *)reason;
    assert_int_equal(mlq_outbox_push(f->ob, p, &m, NULL), 0);
}

static void reply_ack(struct fix *f, const struct mlq_peer *p, uint64_t rid)
{
    struct mlq_msg m = {.type = MLQ_MSG_HB_ACK, .rid = rid};
    assert_int_equal(mlq_outbox_reply(f->ob, p, &m, NULL), 0);
}

static void recv_one(void *sock, struct mlq_msg *m)
{
    struct mlq_err err = {0};
    assert_int_equal(mlq_transport_recv(sock, m, RECV_MS, &err), 0);
}

static void assert_nothing_more(void *sock)
{
    struct mlq_msg m;
    assert_int_equal(mlq_transport_recv(sock, &m, 50, NULL), MLQ_EUNAVAIL);
}

/* Entry i of batch b: its type and rid. */
static void assert_item(const struct mlq_msg *b, uint32_t i, enum mlq_msg_type t, uint64_t rid)
{
    struct mlq_msg one;
    assert_int_equal(mlq_proto_batch_item(b, i, &one, NULL), 0);
    assert_int_equal(one.type, t);
    assert_true(one.rid == rid);
    mlq_proto_msg_free(&one);
}

/* What the loop queued for a worker that takes batches (pushes and replies
 * alike) reaches it as one batch, in queue order; the other peer gets one
 * message each, in its own order. */
static void test_batches_per_peer_in_order(void **state)
{
    struct fix *f = *state;
    mlq_outbox_set_batching(f->ob, only_a, NULL);
    push_kill(f, &f->pa, 1, "first");
    push_kill(f, &f->pb, 2, "b first");
    reply_ack(f, &f->pa, 3);
    push_kill(f, &f->pb, 4, "b second");
    push_kill(f, &f->pa, 5, "third");
    assert_int_equal(mlq_outbox_flush(f->ob, f->router, NULL), 0);
    assert_int_equal(mlq_outbox_count(f->ob), 0);

    struct mlq_msg m;
    recv_one(f->a, &m);
    assert_int_equal(m.type, MLQ_MSG_BATCH);
    assert_int_equal(m.u.batch.n, 3);
    assert_item(&m, 0, MLQ_MSG_KILL, 1);
    assert_item(&m, 1, MLQ_MSG_HB_ACK, 3);
    assert_item(&m, 2, MLQ_MSG_KILL, 5);
    mlq_proto_msg_free(&m);
    assert_nothing_more(f->a);

    recv_one(f->b, &m);
    assert_int_equal(m.type, MLQ_MSG_KILL);
    assert_true(m.rid == 2);
    mlq_proto_msg_free(&m);
    recv_one(f->b, &m);
    assert_int_equal(m.type, MLQ_MSG_KILL);
    assert_true(m.rid == 4);
    mlq_proto_msg_free(&m);
    assert_nothing_more(f->b);
}

/* A lone message goes out as itself, batching or not; without a predicate
 * nothing is batched. */
static void test_single_and_unbatched(void **state)
{
    struct fix *f = *state;
    mlq_outbox_set_batching(f->ob, only_a, NULL);
    push_kill(f, &f->pa, 7, "alone");
    assert_int_equal(mlq_outbox_flush(f->ob, f->router, NULL), 0);
    struct mlq_msg m;
    recv_one(f->a, &m);
    assert_int_equal(m.type, MLQ_MSG_KILL);
    mlq_proto_msg_free(&m);

    mlq_outbox_set_batching(f->ob, NULL, NULL);
    push_kill(f, &f->pa, 8, "one");
    push_kill(f, &f->pa, 9, "two");
    assert_int_equal(mlq_outbox_flush(f->ob, f->router, NULL), 0);
    for (uint64_t rid = 8; rid <= 9; rid++) {
        recv_one(f->a, &m);
        assert_int_equal(m.type, MLQ_MSG_KILL);
        assert_true(m.rid == rid);
        mlq_proto_msg_free(&m);
    }
    assert_nothing_more(f->a);
}

/* More than MLQ_MAX_BATCH messages become several batches, still in order. */
static void test_batch_split(void **state)
{
    struct fix *f = *state;
    mlq_outbox_set_batching(f->ob, only_a, NULL);
    uint32_t n = MLQ_MAX_BATCH + 5;
    for (uint32_t i = 0; i < n; i++)
        push_kill(f, &f->pa, i + 1, "many");
    assert_int_equal(mlq_outbox_flush(f->ob, f->router, NULL), 0);
    struct mlq_msg m;
    recv_one(f->a, &m);
    assert_int_equal(m.type, MLQ_MSG_BATCH);
    assert_int_equal(m.u.batch.n, MLQ_MAX_BATCH);
    assert_item(&m, 0, MLQ_MSG_KILL, 1);
    assert_item(&m, MLQ_MAX_BATCH - 1, MLQ_MSG_KILL, MLQ_MAX_BATCH);
    mlq_proto_msg_free(&m);
    recv_one(f->a, &m);
    assert_int_equal(m.type, MLQ_MSG_BATCH);
    assert_int_equal(m.u.batch.n, 5);
    assert_item(&m, 4, MLQ_MSG_KILL, n);
    mlq_proto_msg_free(&m);
    assert_nothing_more(f->a);
}

/* A failed commit still drops every push and turns replies into errors:
 * nothing queued for a batch leaves. */
static void test_fail_drops_pushes(void **state)
{
    struct fix *f = *state;
    mlq_outbox_set_batching(f->ob, only_a, NULL);
    push_kill(f, &f->pa, 1, "dropped");
    reply_ack(f, &f->pa, 2);
    mlq_outbox_fail(f->ob, -9, "database error");
    assert_int_equal(mlq_outbox_flush(f->ob, f->router, NULL), 0);
    struct mlq_msg m;
    recv_one(f->a, &m);
    assert_int_equal(m.type, MLQ_MSG_ERROR);
    assert_true(m.rid == 2);
    mlq_proto_msg_free(&m);
    assert_nothing_more(f->a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_batches_per_peer_in_order, setup, teardown),
        cmocka_unit_test_setup_teardown(test_single_and_unbatched, setup, teardown),
        cmocka_unit_test_setup_teardown(test_batch_split, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fail_drops_pushes, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
