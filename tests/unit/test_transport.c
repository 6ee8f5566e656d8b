/* Unit tests for common/transport over inproc:// and loopback TCP on an
 * ephemeral port: socket options, round trips both ways, a client request
 * answered by a server thread (with a stray reply to skip), a request that
 * times out, malformed frames on either side (consumed whole, reported as
 * MLQ_EPROTO with the peer known), a vanished peer, and is_local.
 *
 * CURVE: a server thread answers ZAP requests (a table of one known key)
 * and requests on a CURVE router over loopback TCP. A known key gets
 * through and the server sees its identity; an unknown key, a plain client,
 * a wrong server key and a CURVE client to a plain server all fail fast
 * with their own message; a CURVE router will not bind without a ZAP
 * handler; an over-long identity is refused rather than cut. A kept link
 * shakes hands once for many requests, and again only for other keys or
 * after a failure. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "transport.h"

#define N(a) (sizeof(a) / sizeof((a)[0]))

struct fx {
    void *zctx;
    void *router;
    char endpoint[256];
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->zctx = zmq_ctx_new();
    assert_non_null(f->zctx);
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    if (f->router)
        zmq_close(f->router);
    zmq_ctx_term(f->zctx);
    free(f);
    return 0;
}

/* Binds the router on loopback TCP with an ephemeral port, or on inproc. */
static void bind_router(struct fx *f, bool tcp)
{
    struct mlq_err err = {0};
    const char *ep = tcp ? "tcp://127.0.0.1:*" : "inproc://test-router";
    int rc = mlq_transport_router(f->zctx, ep, &f->router, &err);
    if (rc != 0)
        fail_msg("router: %s", err.msg);
    size_t len = sizeof f->endpoint;
    assert_int_equal(zmq_getsockopt(f->router, ZMQ_LAST_ENDPOINT, f->endpoint, &len), 0);
}

static void *dealer_to(struct fx *f)
{
    void *d;
    struct mlq_err err = {0};
    int rc = mlq_transport_dealer(f->zctx, f->endpoint, &d, &err);
    if (rc != 0)
        fail_msg("dealer: %s", err.msg);
    return d;
}

static void wait_in(void *sock)
{
    zmq_pollitem_t it = {.socket = sock, .events = ZMQ_POLLIN};
    assert_int_equal(zmq_poll(&it, 1, 5000), 1);
}

static void heartbeat(struct mlq_msg *m, uint64_t rid)
{
    memset(m, 0, sizeof *m);
    m->type = MLQ_MSG_HEARTBEAT;
    m->rid = rid;
    m->u.heartbeat.name = "node-a";
}

static int get_int(void *s, int opt)
{
    int v = -1;
    size_t len = sizeof v;
    assert_int_equal(zmq_getsockopt(s, opt, &v, &len), 0);
    return v;
}

static void test_options(void **state)
{
    struct fx *f = *state;
    bind_router(f, true);
    void *d = dealer_to(f);
    int64_t max = 0;
    size_t len = sizeof max;
    assert_int_equal(zmq_getsockopt(f->router, ZMQ_MAXMSGSIZE, &max, &len), 0);
    assert_int_equal(max, MLQ_MAX_BULK_MSG + 64);
    assert_int_equal(zmq_getsockopt(d, ZMQ_MAXMSGSIZE, &max, &len), 0);
    assert_int_equal(max, MLQ_MAX_BULK_MSG + 64);
    assert_int_equal(get_int(d, ZMQ_HEARTBEAT_IVL), 2000);
    assert_int_equal(get_int(d, ZMQ_HEARTBEAT_TIMEOUT), 10000);
    assert_int_equal(get_int(d, ZMQ_IMMEDIATE), 0);
    assert_in_range(get_int(d, ZMQ_LINGER), 0, 1000);
    assert_in_range(get_int(f->router, ZMQ_LINGER), 0, 1000);
    assert_non_null(strstr(f->endpoint, "tcp://127.0.0.1:"));
    zmq_close(d);
}

/* dealer -> router -> dealer, decoding on both ends */
static void roundtrip(struct fx *f)
{
    struct mlq_msg m, got;
    struct mlq_peer peer;
    struct mlq_err err = {0};
    void *d = dealer_to(f);
    heartbeat(&m, 41);
    assert_int_equal(mlq_transport_send(d, &m, &err), 0);
    wait_in(f->router);
    assert_int_equal(mlq_transport_recv_from(f->router, &peer, &got, &err), 0);
    assert_int_equal(got.type, MLQ_MSG_HEARTBEAT);
    assert_int_equal(got.rid, 41);
    assert_string_equal(got.u.heartbeat.name, "node-a");
    assert_true(peer.len > 0);
    assert_string_equal(peer.user_id, ""); /* no CURVE, no identity */
    mlq_proto_msg_free(&got);

    memset(&m, 0, sizeof m);
    m.type = MLQ_MSG_REGISTERED;
    m.rid = 41;
    m.u.registered.heartbeat_ms = 1000;
    m.u.registered.lease_ms = 30000;
    assert_int_equal(mlq_transport_send_to(f->router, &peer, &m, &err), 0);
    assert_int_equal(mlq_transport_recv(d, &got, 5000, &err), 0);
    assert_int_equal(got.type, MLQ_MSG_REGISTERED);
    assert_int_equal(got.u.registered.lease_ms, 30000);
    assert_int_equal(mlq_transport_recv_from(f->router, &peer, &got, &err), MLQ_EUNAVAIL);
    zmq_close(d);
}

static void test_roundtrip_tcp(void **state)
{
    bind_router(*state, true);
    roundtrip(*state);
}

static void test_roundtrip_inproc(void **state)
{
    bind_router(*state, false);
    roundtrip(*state);
}

/* The server thread answers one request: first with a reply to some other
 * rid (which the client must skip), then with the real one. */
static void *serve_one(void *arg)
{
    struct fx *f = arg;
    struct mlq_msg req, reply = {.type = MLQ_MSG_SUBMITTED};
    struct mlq_peer peer;
    zmq_pollitem_t it = {.socket = f->router, .events = ZMQ_POLLIN};
    if (zmq_poll(&it, 1, 5000) != 1 || mlq_transport_recv_from(f->router, &peer, &req, NULL))
        return NULL;
    strcpy(reply.u.submitted.id, "0b8e7c1e-4a4f-4c5e-9d3a-2f1b6c7d8e9f");
    reply.rid = req.rid + 1;
    mlq_transport_send_to(f->router, &peer, &reply, NULL);
    reply.rid = req.rid;
    mlq_transport_send_to(f->router, &peer, &reply, NULL);
    mlq_proto_msg_free(&req);
    return NULL;
}

static void test_request(void **state)
{
    struct fx *f = *state;
    struct mlq_msg req, reply;
    struct mlq_err err = {0};
    pthread_t th;
    bind_router(f, true);
    assert_int_equal(pthread_create(&th, NULL, serve_one, f), 0);
    heartbeat(&req, 99);
    int rc = mlq_transport_request(f->zctx, f->endpoint, &req, &reply, 5000, &err);
    pthread_join(th, NULL);
    if (rc != 0)
        fail_msg("request: %d %s", rc, err.msg);
    assert_int_equal(reply.type, MLQ_MSG_SUBMITTED);
    assert_int_equal(reply.rid, 99);
    assert_string_equal(reply.u.submitted.id, "0b8e7c1e-4a4f-4c5e-9d3a-2f1b6c7d8e9f");
    mlq_proto_msg_free(&reply);
}

static void test_request_timeout(void **state)
{
    struct fx *f = *state;
    struct mlq_msg req, reply;
    struct mlq_err err = {0};
    bind_router(f, true); /* bound but never answering */
    heartbeat(&req, 1);
    int64_t t0 = mlq_clock_mono_ms();
    int rc = mlq_transport_request(f->zctx, f->endpoint, &req, &reply, 1000, &err);
    int64_t took = mlq_clock_mono_ms() - t0;
    assert_int_equal(rc, MLQ_EUNREACH);
    assert_int_equal(err.code, MLQ_EUNREACH);
    assert_non_null(strstr(err.msg, "did not answer within 1 s"));
    assert_non_null(strstr(err.msg, f->endpoint));
    assert_in_range(took, 950, 3000);

    /* nobody listening at all: same answer, and closing does not hang */
    rc = mlq_transport_request(f->zctx, "tcp://127.0.0.1:1", &req, &reply, 200, &err);
    assert_int_equal(rc, MLQ_EUNREACH);
    assert_non_null(strstr(err.msg, "200 ms"));
}

static void send_frames(void *sock, const char *const *frames, const size_t *lens, int n)
{
    for (int i = 0; i < n; i++)
        assert_true(zmq_send(sock, frames[i], lens[i], i + 1 < n ? ZMQ_SNDMORE : 0) >= 0);
}

static void expect_router_proto(struct fx *f, const char *want)
{
    struct mlq_peer peer;
    struct mlq_msg m;
    struct mlq_err err = {0};
    wait_in(f->router);
    assert_int_equal(mlq_transport_recv_from(f->router, &peer, &m, &err), MLQ_EPROTO);
    assert_int_equal(peer.len, 7);
    assert_memory_equal(peer.id, "bad-one", 7);
    if (want && !strstr(err.msg, want))
        fail_msg("message \"%s\", wanted \"%s\"", err.msg, want);
}

/* Nothing listening (a closed port, an ipc path with no socket): the
 * watched request gives up after about a second, not after its timeout,
 * naming the address; a bound router is never taken for nothing. */
static void test_request_nothing_listening(void **state)
{
    struct fx *f = *state;
    struct mlq_msg req, reply;
    struct mlq_err err = {0};
    heartbeat(&req, 1);
    const char *dead[] = {"tcp://127.0.0.1:1", "ipc:///nonexistent-mlq-dir/sched.sock"};
    for (size_t i = 0; i < 2; i++) {
        int64_t t0 = mlq_clock_mono_ms();
        int rc = mlq_transport_request_curve(f->zctx, dead[i], NULL, &req, &reply, 10000, &err);
        int64_t took = mlq_clock_mono_ms() - t0;
        assert_int_equal(rc, MLQ_ENOLISTEN);
        assert_non_null(strstr(err.msg, "nothing listening at"));
        assert_non_null(strstr(err.msg, dead[i]));
        assert_in_range(took, 900, 3000);
    }
    bind_router(f, true); /* bound but never answering: the full timeout */
    int64_t t0 = mlq_clock_mono_ms();
    int rc = mlq_transport_request_curve(f->zctx, f->endpoint, NULL, &req, &reply, 1500, &err);
    assert_int_equal(rc, MLQ_EUNREACH);
    assert_in_range(mlq_clock_mono_ms() - t0, 1450, 4000);
}

static void test_router_malformed(void **state)
{
    struct fx *f = *state;
    bind_router(f, false); /* inproc: no ZMQ_MAXMSGSIZE there, so the size check shows */
    void *raw = zmq_socket(f->zctx, ZMQ_DEALER);
    assert_int_equal(zmq_setsockopt(raw, ZMQ_ROUTING_ID, "bad-one", 7), 0);
    assert_int_equal(zmq_connect(raw, f->endpoint), 0);

    const char *nodelim[] = {"x"}; /* body without delimiter */
    send_frames(raw, nodelim, (size_t[]){1}, 1);
    expect_router_proto(f, "frames");
    const char *four[] = {"", "a", "b", "c"}; /* too many frames */
    send_frames(raw, four, (size_t[]){0, 1, 1, 1}, 4);
    expect_router_proto(f, "frames");
    const char *notempty[] = {"d", "x"}; /* delimiter not empty */
    send_frames(raw, notempty, (size_t[]){1, 1}, 2);
    expect_router_proto(f, "frames");
    const char *garbage[] = {"", "\xc1"};
    send_frames(raw, garbage, (size_t[]){0, 1}, 2);
    expect_router_proto(f, "0xc1");
    char *big = calloc(1, MLQ_MAX_BULK_MSG + 1);
    assert_non_null(big);
    const char *huge[] = {"", big};
    send_frames(raw, huge, (size_t[]){0, MLQ_MAX_BULK_MSG + 1}, 2);
    free(big);
    expect_router_proto(f, "exceeds");

    /* every bad message was consumed whole: a good one still reads fine */
    struct mlq_msg m, got;
    struct mlq_peer peer;
    struct mlq_err err = {0};
    heartbeat(&m, 5);
    assert_int_equal(mlq_transport_send(raw, &m, &err), 0);
    wait_in(f->router);
    assert_int_equal(mlq_transport_recv_from(f->router, &peer, &got, &err), 0);
    assert_int_equal(got.rid, 5);
    mlq_proto_msg_free(&got);
    zmq_close(raw);
}

static void test_dealer_malformed(void **state)
{
    struct fx *f = *state;
    struct mlq_msg m, got;
    struct mlq_err err = {0};
    void *raw = zmq_socket(f->zctx, ZMQ_ROUTER);
    assert_int_equal(zmq_bind(raw, "inproc://raw-router"), 0);
    strcpy(f->endpoint, "inproc://raw-router");
    void *d = dealer_to(f);
    heartbeat(&m, 1); /* so that the raw router learns the dealer's id */
    assert_int_equal(mlq_transport_send(d, &m, &err), 0);
    char id[256];
    int idlen = zmq_recv(raw, id, sizeof id, 0);
    assert_true(idlen > 0);
    char sink[64];
    while (zmq_recv(raw, sink, sizeof sink, ZMQ_DONTWAIT) >= 0)
        ;

    const char *nodelim[] = {id, "x"};
    send_frames(raw, nodelim, (size_t[]){(size_t)idlen, 1}, 2);
    assert_int_equal(mlq_transport_recv(d, &got, 5000, &err), MLQ_EPROTO);
    const char *three[] = {id, "", "a", "b"};
    send_frames(raw, three, (size_t[]){(size_t)idlen, 0, 1, 1}, 4);
    assert_int_equal(mlq_transport_recv(d, &got, 5000, &err), MLQ_EPROTO);
    assert_non_null(strstr(err.msg, "3 frames"));

    char *body;
    size_t len;
    m.rid = 77;
    assert_int_equal(mlq_proto_encode(&m, &body, &len, &err), 0);
    const char *good[] = {id, "", body};
    send_frames(raw, good, (size_t[]){(size_t)idlen, 0, len}, 3);
    free(body);
    assert_int_equal(mlq_transport_recv(d, &got, 5000, &err), 0);
    assert_int_equal(got.rid, 77);
    mlq_proto_msg_free(&got);
    assert_int_equal(mlq_transport_recv(d, &got, 0, &err), MLQ_EUNAVAIL);
    zmq_close(d);
    zmq_close(raw);
}

static void test_peer_gone(void **state)
{
    struct fx *f = *state;
    struct mlq_msg m;
    struct mlq_err err = {0};
    struct mlq_peer nobody = {.id = "nobody", .len = 6};
    bind_router(f, true);
    heartbeat(&m, 1);
    assert_int_equal(mlq_transport_send_to(f->router, &nobody, &m, &err), MLQ_EUNAVAIL);
    assert_non_null(strstr(err.msg, "gone"));
    struct mlq_peer empty = {.len = 0};
    assert_int_equal(mlq_transport_send_raw(f->router, &empty, "x", 1, &err), MLQ_EINVAL);
    struct mlq_peer unused;
    assert_int_equal(mlq_transport_recv_from(f->router, &unused, &m, &err), MLQ_EUNAVAIL);
}

static void test_bad_endpoints(void **state)
{
    struct fx *f = *state;
    void *s = (void *)1;
    struct mlq_err err = {0};
    assert_int_equal(mlq_transport_router(f->zctx, "tcp://256.0.0.1:1", &s, &err), MLQ_EIO);
    assert_null(s);
    assert_non_null(strstr(err.msg, "cannot bind tcp://256.0.0.1:1"));
    assert_int_equal(mlq_transport_dealer(f->zctx, "bogus://x", &s, &err), MLQ_EIO);
    assert_null(s);
    assert_int_equal(mlq_transport_dealer(f->zctx, NULL, &s, &err), MLQ_EINVAL);
}

static void test_is_local(void **state)
{
    (void)state;
    static const struct {
        const char *ep;
        bool local;
    } t[] = {
        {"tcp://127.0.0.1:7710", true},
        {"tcp://127.3.2.1:1", true},
        {"tcp://127.0.0.1:*", true},
        {"tcp://localhost:7710", true},
        {"tcp://LOCALHOST:7710", true},
        {"tcp://[::1]:7710", true},
        {"ipc:///tmp/mlq.sock", true},
        {"inproc://sched", true},
        {"tcp://*:7710", false},
        {"tcp://0.0.0.0:7710", false},
        {"tcp://[::]:7710", false},
        {"tcp://10.0.0.1:7710", false},
        {"tcp://128.0.0.1:7710", false},
        {"tcp://127.0.0.1", false},
        {"tcp://127.0.0.1:", false},
        {"tcp://127.0.0.1:77x", false},
        {"tcp://127.0.0.1.evil.com:7710", false},
        {"tcp://localhost.evil.com:7710", false},
        {"tcp://eth0;127.0.0.1:7710", false},
        {"tcp://[::1]7710", false},
        {"tcp://::1:7710", false},
        {"tcp://:7710", false},
        {"udp://127.0.0.1:7710", false},
        {"127.0.0.1:7710", false},
        {"", false},
        {NULL, false},
    };
    for (size_t i = 0; i < N(t); i++)
        if (mlq_transport_is_local(t[i].ep) != t[i].local)
            fail_msg("%s: expected %s", t[i].ep ? t[i].ep : "(null)",
                     t[i].local ? "local" : "not local");
}

/* ---- CURVE -------------------------------------------------------------- */

struct server {
    void *zctx;
    void *router;
    void *zap;
    struct mlq_keypair keys;
    char known[MLQ_KEY_Z85_SIZE]; /* the one client key ZAP accepts */
    char user[300];               /* the identity it gives that key */
    char endpoint[256];
    pthread_t thread;
    atomic_int stop;
    /* seen by the thread; read after the join */
    int zap_requests;
    char zap_domain[32];
    char zap_mechanism[32];
    atomic_int requests;
    int recv_rc;
    char seen_user[MLQ_PEER_USER_MAX];
};

static int curve_setup(void **state)
{
    struct server *sv = calloc(1, sizeof *sv);
    assert_non_null(sv);
    sv->zctx = zmq_ctx_new();
    assert_non_null(sv->zctx);
    assert_int_equal(mlq_keys_generate(&sv->keys, NULL), 0);
    strcpy(sv->user, "user:alice");
    *state = sv;
    return 0;
}

static int curve_teardown(void **state)
{
    struct server *sv = *state;
    if (sv->thread) {
        atomic_store(&sv->stop, 1);
        pthread_join(sv->thread, NULL);
    }
    if (sv->router)
        zmq_close(sv->router);
    if (sv->zap)
        zmq_close(sv->zap);
    zmq_ctx_term(sv->zctx);
    free(sv);
    return 0;
}

/* Reads one ZAP request (up to 8 frames kept) and answers it: 200 with
 * sv->user for the known key, 400 for any other. */
static void zap_answer(struct server *sv)
{
    char fr[8][256];
    int len[8] = {0}, n = 0, more = 1;
    while (more) {
        char sink[256];
        int got = zmq_recv(sv->zap, n < 8 ? fr[n] : sink, 256, 0);
        if (got < 0)
            return;
        if (n < 8)
            len[n++] = got < 256 ? got : 256;
        size_t ms = sizeof more;
        zmq_getsockopt(sv->zap, ZMQ_RCVMORE, &more, &ms);
    }
    sv->zap_requests++;
    snprintf(sv->zap_domain, sizeof sv->zap_domain, "%.*s", len[2], fr[2]);
    snprintf(sv->zap_mechanism, sizeof sv->zap_mechanism, "%.*s", len[5], fr[5]);
    char key[MLQ_KEY_Z85_SIZE] = "";
    if (n == 7 && len[6] == 32)
        mlq_keys_z85_from_bin((const uint8_t *)fr[6], key);
    bool ok = strcmp(key, sv->known) == 0;
    zmq_send(sv->zap, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(sv->zap, fr[1], (size_t)len[1], ZMQ_SNDMORE);
    zmq_send(sv->zap, ok ? "200" : "400", 3, ZMQ_SNDMORE);
    zmq_send(sv->zap, ok ? "OK" : "unknown key", ok ? 2 : 11, ZMQ_SNDMORE);
    zmq_send(sv->zap, ok ? sv->user : "", ok ? strlen(sv->user) : 0, ZMQ_SNDMORE);
    zmq_send(sv->zap, "", 0, 0);
}

/* Answers each request on the router with a reply of the same rid. */
static void serve_request(struct server *sv)
{
    struct mlq_peer peer;
    struct mlq_msg req, reply = {.type = MLQ_MSG_SUBMITTED};
    sv->recv_rc = mlq_transport_recv_from(sv->router, &peer, &req, NULL);
    if (sv->recv_rc == MLQ_EUNAVAIL)
        return;
    sv->requests++;
    strcpy(sv->seen_user, peer.user_id);
    if (sv->recv_rc < 0)
        return;
    strcpy(reply.u.submitted.id, "0b8e7c1e-4a4f-4c5e-9d3a-2f1b6c7d8e9f");
    reply.rid = req.rid;
    mlq_transport_send_to(sv->router, &peer, &reply, NULL);
    mlq_proto_msg_free(&req);
}

static void *serve_curve(void *arg)
{
    struct server *sv = arg;
    while (!atomic_load(&sv->stop)) {
        zmq_pollitem_t it[2] = {{.socket = sv->zap, .events = ZMQ_POLLIN},
                                {.socket = sv->router, .events = ZMQ_POLLIN}};
        if (zmq_poll(it, 2, 20) <= 0)
            continue;
        if (it[0].revents & ZMQ_POLLIN)
            zap_answer(sv);
        if (it[1].revents & ZMQ_POLLIN)
            serve_request(sv);
    }
    return NULL;
}

/* Binds the ZAP responder, then the CURVE router (or a plain one), and
 * starts the server thread. */
static void start_server(struct server *sv, bool curve)
{
    struct mlq_err err = {0};
    sv->zap = zmq_socket(sv->zctx, ZMQ_REP);
    assert_int_equal(zmq_bind(sv->zap, MLQ_ZAP_ENDPOINT), 0);
    int rc = curve ? mlq_transport_router_curve(sv->zctx, "tcp://127.0.0.1:*", &sv->keys,
                                                &sv->router, &err)
                   : mlq_transport_router(sv->zctx, "tcp://127.0.0.1:*", &sv->router, &err);
    if (rc != 0)
        fail_msg("router: %s", err.msg);
    size_t len = sizeof sv->endpoint;
    assert_int_equal(zmq_getsockopt(sv->router, ZMQ_LAST_ENDPOINT, sv->endpoint, &len), 0);
    assert_int_equal(pthread_create(&sv->thread, NULL, serve_curve, sv), 0);
}

static void stop_server(struct server *sv)
{
    atomic_store(&sv->stop, 1);
    pthread_join(sv->thread, NULL);
    sv->thread = 0;
}

/* A client pair, known to the server's ZAP when known is set. */
static void client_curve(struct server *sv, struct mlq_curve *c, bool known)
{
    struct mlq_keypair kp;
    assert_int_equal(mlq_keys_generate(&kp, NULL), 0);
    strcpy(c->server_public, sv->keys.public_z85);
    strcpy(c->own_public, kp.public_z85);
    strcpy(c->own_secret, kp.secret_z85);
    if (known)
        strcpy(sv->known, kp.public_z85);
}

/* Sends one request with curve (NULL: plain) and a 10 s timeout; returns
 * its code and how long it took. */
static int ask(struct server *sv, const struct mlq_curve *c, struct mlq_err *err, int64_t *took)
{
    struct mlq_msg req, reply;
    heartbeat(&req, 7);
    int64_t t0 = mlq_clock_mono_ms();
    int rc = mlq_transport_request_curve(sv->zctx, sv->endpoint, c, &req, &reply, 10000, err);
    *took = mlq_clock_mono_ms() - t0;
    if (rc == 0) {
        assert_int_equal(reply.rid, 7);
        assert_int_equal(reply.type, MLQ_MSG_SUBMITTED);
        mlq_proto_msg_free(&reply);
    }
    return rc;
}

static void test_curve_accepted(void **state)
{
    struct server *sv = *state;
    struct mlq_curve c;
    struct mlq_err err = {0};
    int64_t took;
    client_curve(sv, &c, true);
    start_server(sv, true);
    int rc = ask(sv, &c, &err, &took);
    if (rc != 0)
        fail_msg("request: %d %s", rc, err.msg);
    stop_server(sv);
    assert_int_equal(sv->requests, 1);
    assert_string_equal(sv->seen_user, "user:alice");
    assert_int_equal(sv->zap_requests, 1);
    assert_string_equal(sv->zap_domain, "mlq");
    assert_string_equal(sv->zap_mechanism, "CURVE");
}

/* One request on *link with curve; its code. */
static int ask_link(struct server *sv, struct mlq_link **link, const struct mlq_curve *c,
                    uint64_t rid, struct mlq_err *err)
{
    struct mlq_msg req, reply;
    heartbeat(&req, rid);
    int rc = mlq_transport_link_request(sv->zctx, link, sv->endpoint, c, &req, &reply, 10000, err);
    if (rc == 0) {
        assert_int_equal(reply.rid, rid);
        mlq_proto_msg_free(&reply);
    }
    return rc;
}

static void test_curve_link(void **state)
{
    struct server *sv = *state;
    struct mlq_curve c, other;
    struct mlq_err err = {0};
    struct mlq_link *link = NULL;
    client_curve(sv, &other, true);
    client_curve(sv, &c, true); /* the known one */
    start_server(sv, true);
    for (uint64_t rid = 1; rid <= 3; rid++) {
        int rc = ask_link(sv, &link, &c, rid, &err);
        if (rc != 0)
            fail_msg("request %d: %d %s", (int)rid, rc, err.msg);
        assert_non_null(link);
    }
    /* other keys: a connection of their own, refused by this server */
    assert_int_equal(ask_link(sv, &link, &other, 4, &err), MLQ_EPERM);
    assert_null(link);
    assert_int_equal(ask_link(sv, &link, &c, 5, &err), 0);
    assert_non_null(link);
    mlq_transport_link_close(&link);
    assert_null(link);
    mlq_transport_link_close(&link); /* NULL is fine */
    stop_server(sv);
    assert_int_equal(sv->requests, 4);
    assert_int_equal(sv->zap_requests, 3); /* c, other, c again */
    assert_string_equal(sv->seen_user, "user:alice");
}

static void test_curve_unknown_key(void **state)
{
    struct server *sv = *state;
    struct mlq_curve c;
    struct mlq_err err = {0};
    int64_t took;
    client_curve(sv, &c, false);
    start_server(sv, true);
    assert_int_equal(ask(sv, &c, &err, &took), MLQ_EPERM);
    assert_int_equal(err.code, MLQ_EPERM);
    char want[300];
    snprintf(want, sizeof want, "not authorized by the scheduler at %s", sv->endpoint);
    if (!strstr(err.msg, want))
        fail_msg("message \"%s\", wanted \"%s\"", err.msg, want);
    assert_in_range(took, 0, 2000); /* not the 10 s timeout */
    stop_server(sv);
    assert_int_equal(sv->requests, 0);
    assert_true(sv->zap_requests >= 1);
}

static void test_curve_plain_client(void **state)
{
    struct server *sv = *state;
    struct mlq_err err = {0};
    int64_t took;
    start_server(sv, true);
    assert_int_equal(ask(sv, NULL, &err, &took), MLQ_EPROTO);
    assert_non_null(strstr(err.msg, "requires CURVE"));
    assert_in_range(took, 0, 2000);

    /* the unwatched request cannot tell, but gets nothing through either */
    struct mlq_msg req, reply;
    heartbeat(&req, 8);
    assert_int_equal(mlq_transport_request(sv->zctx, sv->endpoint, &req, &reply, 500, &err),
                     MLQ_EUNREACH);
    stop_server(sv);
    assert_int_equal(sv->requests, 0);
    assert_int_equal(sv->zap_requests, 0);
}

static void test_curve_wrong_server_key(void **state)
{
    struct server *sv = *state;
    struct mlq_curve c;
    struct mlq_keypair other;
    struct mlq_err err = {0};
    int64_t took;
    client_curve(sv, &c, true);
    assert_int_equal(mlq_keys_generate(&other, NULL), 0);
    strcpy(c.server_public, other.public_z85);
    start_server(sv, true);
    assert_int_equal(ask(sv, &c, &err, &took), MLQ_EPROTO);
    assert_non_null(strstr(err.msg, "public key"));
    assert_in_range(took, 0, 3000);
    stop_server(sv);
    assert_int_equal(sv->requests, 0);
}

static void test_curve_client_plain_server(void **state)
{
    struct server *sv = *state;
    struct mlq_curve c;
    struct mlq_err err = {0};
    int64_t took;
    client_curve(sv, &c, true);
    start_server(sv, false);
    assert_int_equal(ask(sv, &c, &err, &took), MLQ_EPROTO);
    assert_non_null(strstr(err.msg, "does not use CURVE"));
    assert_in_range(took, 0, 2000);
    /* a watched plain request to a plain server is just a request */
    int rc = ask(sv, NULL, &err, &took);
    if (rc != 0)
        fail_msg("plain request: %s", err.msg);
    stop_server(sv);
    assert_int_equal(sv->requests, 1);
    assert_string_equal(sv->seen_user, "");
}

/* The unwatched CURVE dealer a worker would hold, and a ZAP identity too
 * long for mlq_peer: refused, never cut short. */
static void test_curve_dealer_and_long_identity(void **state)
{
    struct server *sv = *state;
    struct mlq_keypair kp;
    struct mlq_msg m;
    struct mlq_err err = {0};
    assert_int_equal(mlq_keys_generate(&kp, NULL), 0);
    strcpy(sv->known, kp.public_z85);
    memset(sv->user, 'u', MLQ_PEER_USER_MAX);
    sv->user[MLQ_PEER_USER_MAX] = '\0';
    start_server(sv, true);
    void *d;
    assert_int_equal(
        mlq_transport_dealer_curve(sv->zctx, sv->endpoint, sv->keys.public_z85, &kp, &d, &err), 0);
    heartbeat(&m, 3);
    assert_int_equal(mlq_transport_send(d, &m, &err), 0);
    for (int i = 0; i < 250 && sv->requests == 0; i++)
        usleep(20 * 1000);
    stop_server(sv);
    assert_int_equal(sv->requests, 1);
    assert_int_equal(sv->recv_rc, MLQ_EPROTO);
    assert_string_equal(sv->seen_user, "");
    zmq_close(d);

    void *s = (void *)1;
    assert_int_equal(mlq_transport_dealer_curve(sv->zctx, sv->endpoint, "short", &kp, &s, &err),
                     MLQ_EINVAL);
    assert_null(s);
}

static void test_router_curve_needs_zap(void **state)
{
    struct server *sv = *state;
    struct mlq_err err = {0};
    void *r = (void *)1;
    assert_int_equal(mlq_transport_router_curve(sv->zctx, "tcp://127.0.0.1:*", &sv->keys, &r, &err),
                     MLQ_ESTATE);
    assert_null(r);
    assert_non_null(strstr(err.msg, "ZAP"));
    /* the probe let go of the endpoint: a handler can bind it now */
    sv->zap = zmq_socket(sv->zctx, ZMQ_REP);
    assert_int_equal(zmq_bind(sv->zap, MLQ_ZAP_ENDPOINT), 0);
    struct mlq_keypair bad = sv->keys;
    bad.secret_z85[3] = ' ';
    assert_int_equal(mlq_transport_router_curve(sv->zctx, "tcp://127.0.0.1:*", &bad, &r, &err),
                     MLQ_EINVAL);
    assert_int_equal(
        mlq_transport_router_curve(sv->zctx, "tcp://127.0.0.1:*", &sv->keys, &sv->router, &err), 0);
    int server = 0;
    size_t len = sizeof server;
    assert_int_equal(zmq_getsockopt(sv->router, ZMQ_CURVE_SERVER, &server, &len), 0);
    assert_int_equal(server, 1);
    char domain[16] = "";
    len = sizeof domain;
    assert_int_equal(zmq_getsockopt(sv->router, ZMQ_ZAP_DOMAIN, domain, &len), 0);
    assert_string_equal(domain, "mlq");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_options, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roundtrip_tcp, setup, teardown),
        cmocka_unit_test_setup_teardown(test_roundtrip_inproc, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_request_nothing_listening, setup, teardown),
        cmocka_unit_test_setup_teardown(test_router_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_dealer_malformed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_peer_gone, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_endpoints, setup, teardown),
        cmocka_unit_test(test_is_local),
        cmocka_unit_test_setup_teardown(test_curve_accepted, curve_setup, curve_teardown),
        cmocka_unit_test_setup_teardown(test_curve_link, curve_setup, curve_teardown),
        cmocka_unit_test_setup_teardown(test_curve_unknown_key, curve_setup, curve_teardown),
        cmocka_unit_test_setup_teardown(test_curve_plain_client, curve_setup, curve_teardown),
        cmocka_unit_test_setup_teardown(test_curve_wrong_server_key, curve_setup, curve_teardown),
        cmocka_unit_test_setup_teardown(test_curve_client_plain_server, curve_setup,
                                        curve_teardown),
        cmocka_unit_test_setup_teardown(test_curve_dealer_and_long_identity, curve_setup,
                                        curve_teardown),
        cmocka_unit_test_setup_teardown(test_router_curve_needs_zap, curve_setup, curve_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
