/* sendq: what a DEALER queued during one loop iteration leaves at its end,
 * in order: one message each without batches, else "batch" messages split
 * at MLQ_MAX_BATCH entries and MLQ_MAX_BATCH_BYTES of bodies (a message
 * that does not fit goes alone). A real ROUTER/DEALER pair over inproc. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>
#include <cmocka.h>

#include "sendq.h"
#include "transport.h"

struct fx {
    void *zctx, *router, *dealer;
    struct mlq_sendq *q;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->zctx = zmq_ctx_new();
    f->router = zmq_socket(f->zctx, ZMQ_ROUTER);
    f->dealer = zmq_socket(f->zctx, ZMQ_DEALER);
    int hwm = 0; /* 2,000 messages queued at once */
    zmq_setsockopt(f->dealer, ZMQ_SNDHWM, &hwm, sizeof hwm);
    zmq_setsockopt(f->router, ZMQ_RCVHWM, &hwm, sizeof hwm);
    assert_int_equal(zmq_bind(f->router, "inproc://sendq"), 0);
    assert_int_equal(zmq_connect(f->dealer, "inproc://sendq"), 0);
    f->q = mlq_sendq_create();
    assert_non_null(f->q);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    mlq_sendq_destroy(&f->q);
    int zero = 0;
    zmq_setsockopt(f->dealer, ZMQ_LINGER, &zero, sizeof zero);
    zmq_close(f->dealer);
    zmq_close(f->router);
    zmq_ctx_term(f->zctx);
    free(f);
    return 0;
}

static void queue_hbs(struct fx *f, uint64_t first, int n)
{
    for (int i = 0; i < n; i++) {
        struct mlq_msg m = {.type = MLQ_MSG_HEARTBEAT, .rid = first + (uint64_t)i};
        m.u.heartbeat.name = "w1";
        assert_int_equal(mlq_sendq_add(f->q, &m, NULL), 0);
    }
}

/* The next message the ROUTER gets (waits up to 1 s). */
static void recv_one(struct fx *f, struct mlq_msg *m)
{
    zmq_pollitem_t it = {f->router, 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&it, 1, 1000), 1);
    struct mlq_peer peer;
    assert_int_equal(mlq_transport_recv_from(f->router, &peer, m, NULL), 0);
}

static void assert_nothing_more(struct fx *f)
{
    zmq_pollitem_t it = {f->router, 0, ZMQ_POLLIN, 0};
    assert_int_equal(zmq_poll(&it, 1, 50), 0);
}

/* Entries of batch b are heartbeats with rids first, first + 1, ... */
static void assert_hb_rids(const struct mlq_msg *b, uint64_t first)
{
    for (uint32_t i = 0; i < b->u.batch.n; i++) {
        struct mlq_msg one;
        assert_int_equal(mlq_proto_batch_item(b, i, &one, NULL), 0);
        assert_int_equal(one.type, MLQ_MSG_HEARTBEAT);
        assert_true(one.rid == first + i);
        mlq_proto_msg_free(&one);
    }
}

/* Without batches: one message each, in order; with them: one batch. */
static void test_each_or_batch(void **state)
{
    struct fx *f = *state;
    queue_hbs(f, 1, 3);
    assert_int_equal(mlq_sendq_len(f->q), 3);
    assert_int_equal(mlq_sendq_flush(f->q, f->dealer, false, NULL), 0);
    assert_int_equal(mlq_sendq_len(f->q), 0);
    for (uint64_t rid = 1; rid <= 3; rid++) {
        struct mlq_msg m;
        recv_one(f, &m);
        assert_int_equal(m.type, MLQ_MSG_HEARTBEAT);
        assert_true(m.rid == rid);
        mlq_proto_msg_free(&m);
    }
    assert_nothing_more(f);

    queue_hbs(f, 10, 3);
    assert_int_equal(mlq_sendq_flush(f->q, f->dealer, true, NULL), 0);
    struct mlq_msg b;
    recv_one(f, &b);
    assert_int_equal(b.type, MLQ_MSG_BATCH);
    assert_int_equal(b.u.batch.n, 3);
    assert_hb_rids(&b, 10);
    mlq_proto_msg_free(&b);
    assert_nothing_more(f);

    queue_hbs(f, 20, 1); /* one message is never wrapped */
    assert_int_equal(mlq_sendq_flush(f->q, f->dealer, true, NULL), 0);
    recv_one(f, &b);
    assert_int_equal(b.type, MLQ_MSG_HEARTBEAT);
    mlq_proto_msg_free(&b);
}

/* 1,030 messages: a batch of 1,024, then one of 6. */
static void test_split_by_count(void **state)
{
    struct fx *f = *state;
    queue_hbs(f, 1, MLQ_MAX_BATCH + 6);
    assert_int_equal(mlq_sendq_flush(f->q, f->dealer, true, NULL), 0);
    struct mlq_msg b;
    recv_one(f, &b);
    assert_int_equal(b.u.batch.n, MLQ_MAX_BATCH);
    assert_hb_rids(&b, 1);
    mlq_proto_msg_free(&b);
    recv_one(f, &b);
    assert_int_equal(b.u.batch.n, 6);
    assert_hb_rids(&b, 1 + MLQ_MAX_BATCH);
    mlq_proto_msg_free(&b);
    assert_nothing_more(f);
}

static void queue_chunk(struct fx *f, uint64_t rid, uint8_t *data, uint32_t len)
{
    struct mlq_msg m = {.type = MLQ_MSG_LOG_CHUNK, .rid = rid};
    m.u.log_chunk.data = data;
    m.u.log_chunk.len = len;
    m.u.log_chunk.size = len;
    assert_int_equal(mlq_sendq_add(f->q, &m, NULL), 0);
}

/* 400 KiB, 400 KiB, 400 KiB, 1 MiB, one heartbeat: the first two make a
 * batch (under 1 MiB), the third goes alone (no room beside the next), the
 * fourth alone (over the bound by itself), the heartbeat as the last one. */
static void test_split_by_bytes(void **state)
{
    struct fx *f = *state;
    uint32_t small = 400 * 1024, large = MLQ_MAX_LOG_CHUNK;
    uint8_t *data = calloc(1, large);
    assert_non_null(data);
    queue_chunk(f, 1, data, small);
    queue_chunk(f, 2, data, small);
    queue_chunk(f, 3, data, small);
    queue_chunk(f, 4, data, large);
    queue_hbs(f, 5, 1);
    free(data);
    assert_int_equal(mlq_sendq_flush(f->q, f->dealer, true, NULL), 0);
    struct mlq_msg m;
    recv_one(f, &m);
    assert_int_equal(m.type, MLQ_MSG_BATCH);
    assert_int_equal(m.u.batch.n, 2);
    mlq_proto_msg_free(&m);
    uint64_t want[] = {3, 4, 5};
    for (int i = 0; i < 3; i++) {
        recv_one(f, &m);
        assert_int_not_equal(m.type, MLQ_MSG_BATCH);
        assert_true(m.rid == want[i]);
        mlq_proto_msg_free(&m);
    }
    assert_nothing_more(f);
}

/* No connection: everything counts as not sent and the queue is empty. */
static void test_no_socket(void **state)
{
    struct fx *f = *state;
    queue_hbs(f, 1, 2);
    struct mlq_err e = {0};
    assert_int_equal(mlq_sendq_flush(f->q, NULL, true, &e), 2);
    assert_int_equal(e.code, MLQ_EUNAVAIL);
    assert_int_equal(mlq_sendq_len(f->q), 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_each_or_batch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_split_by_count, setup, teardown),
        cmocka_unit_test_setup_teardown(test_split_by_bytes, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_socket, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
