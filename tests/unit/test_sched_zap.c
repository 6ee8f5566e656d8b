/* Unit tests for scheduler/zap: requests written by hand on the inproc ZAP
 * endpoint (a known key, an unknown one, wrong domain, NULL and PLAIN
 * mechanisms, a wrong version, too few and too many frames, oversized
 * frames, short credentials, a lookup that gives no usable identity), all
 * answered in one call without blocking and without losing step; one
 * handler per context; and end to end with a CURVE router and watched
 * CURVE clients over loopback TCP, all polled from this one thread: the
 * router sees the identity the lookup gave, an unknown key is told at once.
 * Started on its own thread, the handler answers requests and whole
 * handshakes with nobody polling its socket, and stops when destroyed. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "clock.h"
#include "keys.h"
#include "transport.h"
#include "zap.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct entry {
    struct mlq_keypair keys;
    const char *user;
};

struct fx {
    void *zctx;
    struct mlq_zap *zap;
    void *client; /* DEALER on the ZAP endpoint, playing libzmq */
    struct entry table[3];
    int lookups;
    const char *override; /* when set, the lookup accepts with this user */
    bool started;         /* the handler answers on its own thread */
};

static int lookup(void *ctx, const char *key_z85, char *user_id, size_t len)
{
    struct fx *f = ctx;
    f->lookups++;
    if (f->override) {
        memcpy(user_id, f->override, strlen(f->override) < len ? strlen(f->override) + 1 : len);
        return 0;
    }
    for (size_t i = 0; i < N(f->table); i++)
        if (strcmp(key_z85, f->table[i].keys.public_z85) == 0) {
            snprintf(user_id, len, "%s", f->table[i].user);
            return 0;
        }
    return -1;
}

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->zctx = zmq_ctx_new();
    static const char *const users[] = {"user:alice", "admin:root", "worker:w1"};
    for (size_t i = 0; i < N(f->table); i++) {
        assert_int_equal(mlq_keys_generate(&f->table[i].keys, NULL), 0);
        f->table[i].user = users[i];
    }
    struct mlq_err err = {0};
    if (mlq_zap_create(f->zctx, lookup, f, &f->zap, &err) != 0)
        fail_msg("zap: %s", err.msg);
    f->client = zmq_socket(f->zctx, ZMQ_DEALER);
    assert_int_equal(zmq_connect(f->client, MLQ_ZAP_ENDPOINT), 0);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    int linger = 0;
    zmq_setsockopt(f->client, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close(f->client);
    mlq_zap_destroy(&f->zap);
    assert_null(f->zap);
    zmq_ctx_term(f->zctx);
    free(f);
    return 0;
}

/* A request frame: bytes and their length. */
struct frame {
    const void *data;
    size_t len;
};

#define S(s) ((struct frame){(s), sizeof(s) - 1})

static void send_request(struct fx *f, const struct frame *fr, int n)
{
    assert_int_equal(zmq_send(f->client, "", 0, ZMQ_SNDMORE), 0);
    for (int i = 0; i < n; i++)
        assert_true(zmq_send(f->client, fr[i].data, fr[i].len, i + 1 < n ? ZMQ_SNDMORE : 0) >= 0);
}

/* A well-formed CURVE request for key (binary from z85) with request id. */
static void send_curve(struct fx *f, const char *id, const char *domain, const char *key_z85)
{
    static uint8_t bin[32];
    assert_non_null(zmq_z85_decode(bin, key_z85));
    struct frame fr[] = {
        S("1.0"),   {id, strlen(id)}, {domain, strlen(domain)}, S("127.0.0.1"), S(""),
        S("CURVE"), {bin, 32}};
    send_request(f, fr, (int)N(fr));
}

struct reply {
    int n;
    char part[8][256];
};

/* Reads one reply (after the empty delimiter REP puts back). */
static void recv_reply(struct fx *f, struct reply *r)
{
    zmq_pollitem_t it = {.socket = f->client, .events = ZMQ_POLLIN};
    assert_int_equal(zmq_poll(&it, 1, 2000), 1);
    char delim[8];
    assert_int_equal(zmq_recv(f->client, delim, sizeof delim, 0), 0);
    int more = 1;
    for (r->n = 0; more; r->n++) {
        assert_true(r->n < 8);
        int len = zmq_recv(f->client, r->part[r->n], 255, 0);
        assert_true(len >= 0 && len <= 255);
        r->part[r->n][len] = '\0';
        size_t ms = sizeof more;
        zmq_getsockopt(f->client, ZMQ_RCVMORE, &more, &ms);
    }
}

static void expect(struct fx *f, const char *id, const char *code, const char *user)
{
    struct reply r;
    recv_reply(f, &r);
    assert_int_equal(r.n, 6);
    assert_string_equal(r.part[0], "1.0");
    assert_string_equal(r.part[1], id);
    if (strcmp(r.part[2], code) != 0)
        fail_msg("request %s: status %s (%s), wanted %s", id, r.part[2], r.part[3], code);
    assert_string_equal(r.part[4], user);
    assert_string_equal(r.part[5], "");
}

/* Lets the queued requests reach the handler's socket. */
static void wait_queued(struct fx *f)
{
    zmq_pollitem_t it = {.socket = mlq_zap_socket(f->zap), .events = ZMQ_POLLIN};
    assert_int_equal(zmq_poll(&it, 1, 2000), 1);
}

static void test_keys(void **state)
{
    struct fx *f = *state;
    assert_int_equal(mlq_zap_handle(f->zap), 0); /* nothing queued: no wait */
    send_curve(f, "1", "mlq", f->table[0].keys.public_z85);
    send_curve(f, "2", "mlq", f->table[1].keys.public_z85);
    send_curve(f, "3", "mlq", f->table[2].keys.public_z85);
    struct mlq_keypair stranger;
    assert_int_equal(mlq_keys_generate(&stranger, NULL), 0);
    send_curve(f, "4", "mlq", stranger.public_z85);
    int answered = 0;
    for (int i = 0; i < 50 && answered < 4; i++) {
        wait_queued(f);
        answered += mlq_zap_handle(f->zap);
    }
    assert_int_equal(answered, 4);
    expect(f, "1", "200", "user:alice");
    expect(f, "2", "200", "admin:root");
    expect(f, "3", "200", "worker:w1");
    expect(f, "4", "400", "");
    assert_int_equal(f->lookups, 4);
    struct mlq_zap_stats st;
    mlq_zap_stats(f->zap, &st);
    assert_int_equal(st.accepted, 3);
    assert_int_equal(st.refused, 1);
    assert_int_equal(st.malformed, 0);
}

static void test_refused_and_malformed(void **state)
{
    struct fx *f = *state;
    const char *alice = f->table[0].keys.public_z85;
    uint8_t key[32];
    assert_non_null(zmq_z85_decode(key, alice));
    char big[4096];
    memset(big, 'a', sizeof big);
    const struct {
        struct frame fr[10];
        int n;
        const char *id, *code;
    } t[] = {
        {{S("1.0"), S("a"), S("other"), S("1.2.3.4"), S(""), S("CURVE"), {key, 32}}, 7, "a", "400"},
        {{S("1.0"), S("b"), S("mlq"), S("1.2.3.4"), S(""), S("NULL")}, 6, "b", "400"},
        {{S("1.0"), S("c"), S("mlq"), S("1.2.3.4"), S(""), S("PLAIN"), S("u"), S("p")},
         8,
         "c",
         "400"},
        {{S("2.0"), S("d"), S("mlq"), S("1.2.3.4"), S(""), S("CURVE"), {key, 32}}, 7, "d", "500"},
        {{S("1.0"), S("e"), S("mlq")}, 3, "e", "500"},
        {{S("1.0"), S("f"), S("mlq"), S("x"), S(""), S("CURVE"), {key, 32}, S("x"), S("y"), S("z")},
         10,
         "f",
         "500"},
        {{S("1.0"), S("g"), S("mlq"), {big, sizeof big}, S(""), S("CURVE"), {key, 32}},
         7,
         "g",
         "500"},
        {{S("1.0"), S("h"), S("mlq"), S("1.2.3.4"), S(""), S("CURVE"), {key, 31}}, 7, "h", "500"},
        {{S("1.0"), S("i"), S("mlq"), S("1.2.3.4"), S(""), S("CURVE")}, 6, "i", "500"},
        {{S("1.0"), {big, sizeof big}, S("mlq"), S("x"), S(""), S("CURVE"), {key, 32}},
         7,
         "",
         "500"},
        {{S("1.0")}, 1, "", "500"},
    };
    for (size_t i = 0; i < N(t); i++)
        send_request(f, t[i].fr, t[i].n);
    /* and a good one behind them: the REP socket must still be in step */
    send_curve(f, "last", "mlq", alice);
    int answered = 0;
    for (int i = 0; i < 50 && answered < (int)N(t) + 1; i++) {
        wait_queued(f);
        answered += mlq_zap_handle(f->zap);
    }
    assert_int_equal(answered, N(t) + 1);
    for (size_t i = 0; i < N(t); i++)
        expect(f, t[i].id, t[i].code, "");
    expect(f, "last", "200", "user:alice");
    assert_int_equal(f->lookups, 1); /* only well-formed CURVE requests get that far */
    struct mlq_zap_stats st;
    mlq_zap_stats(f->zap, &st);
    assert_int_equal(st.accepted, 1);
    assert_int_equal(st.refused, 3);
    assert_int_equal(st.malformed, N(t) - 3);
}

/* Frames without the REP envelope's delimiter are dropped by the socket
 * itself; nothing reaches the handler and it stays usable. */
static void test_no_envelope(void **state)
{
    struct fx *f = *state;
    assert_true(zmq_send(f->client, "1.0", 3, ZMQ_SNDMORE) >= 0);
    assert_true(zmq_send(f->client, "x", 1, 0) >= 0);
    assert_true(zmq_send(f->client, "", 0, 0) >= 0); /* a delimiter and no request */
    send_curve(f, "ok", "mlq", f->table[1].keys.public_z85);
    int answered = 0;
    for (int i = 0; i < 50 && answered < 1; i++) {
        wait_queued(f);
        answered += mlq_zap_handle(f->zap);
    }
    assert_int_equal(answered, 1);
    expect(f, "ok", "200", "admin:root");
}

/* A lookup that says yes but gives an empty or unterminated identity is a
 * refusal. */
static void test_unusable_identity(void **state)
{
    struct fx *f = *state;
    char huge[MLQ_PEER_USER_MAX + 10];
    memset(huge, 'u', sizeof huge - 1);
    huge[sizeof huge - 1] = '\0';
    const char *cases[] = {"", huge};
    for (size_t i = 0; i < N(cases); i++) {
        f->override = cases[i];
        send_curve(f, "z", "mlq", f->table[0].keys.public_z85);
        wait_queued(f);
        assert_int_equal(mlq_zap_handle(f->zap), 1);
        expect(f, "z", "400", "");
    }
}

static void test_one_per_context(void **state)
{
    struct fx *f = *state;
    struct mlq_zap *second = (struct mlq_zap *)1;
    struct mlq_err err = {0};
    assert_int_equal(mlq_zap_create(f->zctx, lookup, f, &second, &err), MLQ_ESTATE);
    assert_null(second);
    assert_int_equal(mlq_zap_create(f->zctx, NULL, f, &second, &err), MLQ_EINVAL);
    /* after a destroy the endpoint is free again at once */
    mlq_zap_destroy(&f->zap);
    mlq_zap_destroy(&f->zap); /* NULL is fine */
    if (mlq_zap_create(f->zctx, lookup, f, &f->zap, &err) != 0)
        fail_msg("create again: %s", err.msg);
}

/* ---- end to end --------------------------------------------------------- */

struct trip {
    void *router;
    char endpoint[256];
    char seen[MLQ_PEER_USER_MAX];
    struct mlq_err err;
    int64_t took;
};

static void answer(void *router, struct trip *t)
{
    struct mlq_peer peer;
    struct mlq_msg m, reply = {.type = MLQ_MSG_SUBMITTED};
    if (mlq_transport_recv_from(router, &peer, &m, NULL) != 0)
        return;
    strcpy(t->seen, peer.user_id);
    strcpy(reply.u.submitted.id, "0b8e7c1e-4a4f-4c5e-9d3a-2f1b6c7d8e9f");
    reply.rid = m.rid;
    assert_int_equal(mlq_transport_send_to(router, &peer, &reply, NULL), 0);
    mlq_proto_msg_free(&m);
}

/* One poll round; returns 1 when the client got its reply, a negative code
 * when its watch failed, 0 to go on. */
static int round_trip_step(struct fx *f, struct trip *t, void *d, struct mlq_watch *w)
{
    zmq_pollitem_t it[4] = {
        {.socket = t->router, .events = ZMQ_POLLIN},
        {.socket = d, .events = ZMQ_POLLIN},
        {.socket = mlq_transport_watch_socket(w), .events = ZMQ_POLLIN},
        {.socket = f->started ? NULL : mlq_zap_socket(f->zap), .events = ZMQ_POLLIN}};
    if (zmq_poll(it, f->started ? 3 : 4, 20) <= 0)
        return 0;
    if (!f->started && (it[3].revents & ZMQ_POLLIN))
        assert_true(mlq_zap_handle(f->zap) >= 0);
    if (it[0].revents & ZMQ_POLLIN)
        answer(t->router, t);
    if (it[2].revents & ZMQ_POLLIN) {
        int rc = mlq_transport_watch_check(w, &t->err);
        if (rc < 0)
            return rc;
    }
    struct mlq_msg reply;
    if ((it[1].revents & ZMQ_POLLIN) && mlq_transport_recv(d, &reply, 0, &t->err) == 0) {
        assert_int_equal(reply.rid, 9);
        mlq_proto_msg_free(&reply);
        return 1;
    }
    return 0;
}

/* Serves one router and drives one watched client, all in this thread (as
 * the scheduler and a worker would, each in its own loop): the client sends
 * a request; ZAP, router and client are polled until the client has its
 * reply or its watch reports a failure. Returns the client's code; t->seen is
 * the identity the router saw ("" when nothing got through). */
static int round_trip(struct fx *f, struct trip *t, const struct mlq_keypair *server,
                      const struct mlq_keypair *own)
{
    struct mlq_curve c;
    strcpy(c.server_public, server->public_z85);
    strcpy(c.own_public, own->public_z85);
    strcpy(c.own_secret, own->secret_z85);
    void *d;
    struct mlq_watch *w;
    t->seen[0] = '\0';
    int rc = mlq_transport_dealer_watched(f->zctx, t->endpoint, &c, &d, &w, &t->err);
    if (rc != 0)
        fail_msg("dealer: %s", t->err.msg);
    struct mlq_msg req = {.type = MLQ_MSG_HEARTBEAT, .rid = 9};
    req.u.heartbeat.name = "n";
    assert_int_equal(mlq_transport_send(d, &req, &t->err), 0);
    int64_t t0 = mlq_clock_mono_ms();
    rc = 0;
    while (rc == 0 && mlq_clock_mono_ms() - t0 < 10000)
        rc = round_trip_step(f, t, d, w);
    t->took = mlq_clock_mono_ms() - t0;
    mlq_transport_watch_destroy(&w);
    assert_null(w);
    int linger = 0;
    zmq_setsockopt(d, ZMQ_LINGER, &linger, sizeof linger);
    zmq_close(d);
    return rc == 1 ? 0 : rc;
}

static void test_end_to_end(void **state)
{
    struct fx *f = *state;
    struct mlq_keypair server, stranger;
    struct trip t = {0};
    assert_int_equal(mlq_keys_generate(&server, NULL), 0);
    assert_int_equal(mlq_keys_generate(&stranger, NULL), 0);
    if (mlq_transport_router_curve(f->zctx, "tcp://127.0.0.1:*", &server, &t.router, &t.err))
        fail_msg("router: %s", t.err.msg);
    size_t len = sizeof t.endpoint;
    assert_int_equal(zmq_getsockopt(t.router, ZMQ_LAST_ENDPOINT, t.endpoint, &len), 0);

    int rc = round_trip(f, &t, &server, &f->table[2].keys);
    if (rc != 0)
        fail_msg("known key: %d %s", rc, t.err.msg);
    assert_string_equal(t.seen, "worker:w1");

    assert_int_equal(round_trip(f, &t, &server, &stranger), MLQ_EPERM);
    assert_non_null(strstr(t.err.msg, "not authorized by the scheduler at"));
    assert_non_null(strstr(t.err.msg, t.endpoint));
    assert_in_range(t.took, 0, 2000);
    assert_string_equal(t.seen, "");

    struct mlq_zap_stats st;
    mlq_zap_stats(f->zap, &st);
    assert_int_equal(st.accepted, 1);
    assert_true(st.refused >= 1);
    zmq_close(t.router);
}

/* Started, the handler answers on its own: requests written by hand, and
 * the handshakes of a CURVE router that this thread polls without the ZAP
 * socket; a destroy stops the thread. */
static void test_started(void **state)
{
    struct fx *f = *state;
    struct mlq_err err = {0};
    if (mlq_zap_start(f->zap, &err) != 0)
        fail_msg("start: %s", err.msg);
    f->started = true;
    assert_int_equal(mlq_zap_start(f->zap, &err), MLQ_ESTATE);
    send_curve(f, "1", "mlq", f->table[1].keys.public_z85);
    expect(f, "1", "200", "admin:root");
    send_request(f, (struct frame[]){S("1.0")}, 1);
    expect(f, "", "500", "");

    struct mlq_keypair server, stranger;
    struct trip t = {0};
    assert_int_equal(mlq_keys_generate(&server, NULL), 0);
    assert_int_equal(mlq_keys_generate(&stranger, NULL), 0);
    if (mlq_transport_router_curve(f->zctx, "tcp://127.0.0.1:*", &server, &t.router, &t.err))
        fail_msg("router: %s", t.err.msg);
    size_t len = sizeof t.endpoint;
    assert_int_equal(zmq_getsockopt(t.router, ZMQ_LAST_ENDPOINT, t.endpoint, &len), 0);
    int rc = round_trip(f, &t, &server, &f->table[0].keys);
    if (rc != 0)
        fail_msg("known key: %d %s", rc, t.err.msg);
    assert_string_equal(t.seen, "user:alice");
    assert_int_equal(round_trip(f, &t, &server, &stranger), MLQ_EPERM);
    assert_in_range(t.took, 0, 2000);
    assert_string_equal(t.seen, "");
    struct mlq_zap_stats st;
    mlq_zap_stats(f->zap, &st);
    assert_int_equal(st.accepted, 2);
    assert_true(st.refused >= 1);
    assert_int_equal(st.malformed, 1);
    assert_int_equal(st.failures, 0);
    zmq_close(t.router);
    /* the teardown's destroy joins the thread; the endpoint is free after */
    mlq_zap_destroy(&f->zap);
    if (mlq_zap_create(f->zctx, lookup, f, &f->zap, &err) != 0)
        fail_msg("create again: %s", err.msg);
    f->started = false;
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_keys, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_and_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_no_envelope, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unusable_identity, setup, teardown),
        cmocka_unit_test_setup_teardown(test_one_per_context, setup, teardown),
        cmocka_unit_test_setup_teardown(test_end_to_end, setup, teardown),
        cmocka_unit_test_setup_teardown(test_started, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
