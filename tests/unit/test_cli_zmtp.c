/* Unit tests of the CLI's own ZMTP client (zmtpclient.c) against a real
 * libzmq ROUTER in a thread of the test: a request and its reply with CURVE
 * and without, a body in long frames, heartbeats answered while the reply
 * is late, a ZAP refusal, a mechanism mismatch, a wrong server key, nothing
 * listening, no reply before the deadline. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#include <cmocka.h>

#include "clock.h"
#include "zmtpclient.h"

struct server {
    bool curve;
    int heartbeat_ms; /* ZMQ_HEARTBEAT_IVL and _TIMEOUT; 0: none */
    int delay_ms;     /* before replying */
    const char *zap;  /* ZAP status to answer ("200", "400"); NULL: no handler */
    bool silent;      /* never reply */
    char pub[41], sec[41];
    char endpoint[64];
    void *ctx;
    pthread_t th;
    volatile int stop;
};

static void sleep_ms(int ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* Answers one ZAP request (version, request id, ... ) with s->zap. */
static void answer_zap(struct server *s, void *zap)
{
    zmq_msg_t parts[8];
    int n = 0, more = 1;
    while (more && n < 8) {
        zmq_msg_init(&parts[n]);
        zmq_msg_recv(&parts[n], zap, 0);
        more = zmq_msg_more(&parts[n]);
        n++;
    }
    zmq_send(zap, "1.0", 3, ZMQ_SNDMORE);
    zmq_send(zap, zmq_msg_data(&parts[1]), zmq_msg_size(&parts[1]), ZMQ_SNDMORE);
    zmq_send(zap, s->zap, 3, ZMQ_SNDMORE);
    zmq_send(zap, "", 0, ZMQ_SNDMORE);
    zmq_send(zap, "user:test", 9, ZMQ_SNDMORE);
    zmq_send(zap, "", 0, 0);
    for (int i = 0; i < n; i++)
        zmq_msg_close(&parts[i]);
}

/* Echoes [id, empty, body] as [id, empty, "re:" body]. */
static void echo(struct server *s, void *router)
{
    zmq_msg_t id, delim, body;
    zmq_msg_init(&id);
    zmq_msg_init(&delim);
    zmq_msg_init(&body);
    zmq_msg_recv(&id, router, 0);
    zmq_msg_recv(&delim, router, 0);
    zmq_msg_recv(&body, router, 0);
    if (!s->silent) {
        sleep_ms(s->delay_ms);
        size_t n = zmq_msg_size(&body);
        char *out = malloc(n + 3);
        memcpy(out, "re:", 3);
        memcpy(out + 3, zmq_msg_data(&body), n);
        zmq_send(router, zmq_msg_data(&id), zmq_msg_size(&id), ZMQ_SNDMORE);
        zmq_send(router, "", 0, ZMQ_SNDMORE);
        zmq_send(router, out, n + 3, 0);
        free(out);
    }
    zmq_msg_close(&id);
    zmq_msg_close(&delim);
    zmq_msg_close(&body);
}

static void *serve(void *arg)
{
    struct server *s = arg;
    void *zap = NULL;
    void *router = zmq_socket(s->ctx, ZMQ_ROUTER);
    if (s->zap) {
        zap = zmq_socket(s->ctx, ZMQ_REP);
        zmq_bind(zap, "inproc://zeromq.zap.01");
    }
    int one = 1, linger = 0;
    zmq_setsockopt(router, ZMQ_LINGER, &linger, sizeof linger);
    if (s->curve) {
        zmq_setsockopt(router, ZMQ_CURVE_SERVER, &one, sizeof one);
        zmq_setsockopt(router, ZMQ_CURVE_SECRETKEY, s->sec, 40);
    }
    if (s->heartbeat_ms) {
        zmq_setsockopt(router, ZMQ_HEARTBEAT_IVL, &s->heartbeat_ms, sizeof(int));
        zmq_setsockopt(router, ZMQ_HEARTBEAT_TIMEOUT, &s->heartbeat_ms, sizeof(int));
    }
    zmq_bind(router, "tcp://127.0.0.1:*");
    size_t len = sizeof s->endpoint;
    zmq_getsockopt(router, ZMQ_LAST_ENDPOINT, s->endpoint, &len);
    __atomic_store_n(&s->stop, 2, __ATOMIC_SEQ_CST); /* bound */
    while (__atomic_load_n(&s->stop, __ATOMIC_SEQ_CST) != 1) {
        zmq_pollitem_t it[2] = {{.socket = router, .events = ZMQ_POLLIN},
                                {.socket = zap, .events = ZMQ_POLLIN}};
        if (zmq_poll(it, zap ? 2 : 1, 20) <= 0)
            continue;
        if (it[0].revents & ZMQ_POLLIN)
            echo(s, router);
        if (zap && (it[1].revents & ZMQ_POLLIN))
            answer_zap(s, zap);
    }
    zmq_close(router);
    if (zap)
        zmq_close(zap);
    return NULL;
}

static void start(struct server *s)
{
    s->ctx = zmq_ctx_new();
    zmq_curve_keypair(s->pub, s->sec);
    s->stop = 0;
    assert_int_equal(pthread_create(&s->th, NULL, serve, s), 0);
    while (__atomic_load_n(&s->stop, __ATOMIC_SEQ_CST) != 2)
        sleep_ms(1);
}

static void finish(struct server *s)
{
    __atomic_store_n(&s->stop, 1, __ATOMIC_SEQ_CST);
    pthread_join(s->th, NULL);
    zmq_ctx_term(s->ctx);
}

/* A client key pair and the server's public key. */
static void client_keys(const struct server *s, struct mlq_curve *c)
{
    memcpy(c->server_public, s->pub, 41);
    zmq_curve_keypair(c->own_public, c->own_secret);
}

static int ask(struct server *s, const struct mlq_curve *c, const char *body, size_t len,
               char **reply, size_t *rlen, int timeout_ms, struct mlq_err *err)
{
    void *r = NULL;
    int rc = mlq_zmtp_request(s->endpoint, c, body, len, &r, rlen, timeout_ms, err);
    *reply = r;
    return rc;
}

static void test_curve_round_trip(void **state)
{
    (void)state;
    struct server s = {.curve = true};
    start(&s);
    struct mlq_curve c;
    client_keys(&s, &c);
    char *reply;
    size_t n;
    struct mlq_err err = {0};
    assert_int_equal(ask(&s, &c, "hello", 5, &reply, &n, 5000, &err), 0);
    assert_int_equal(n, 8);
    assert_memory_equal(reply, "re:hello", 8);
    free(reply);
    finish(&s);
}

static void test_long_frames_both_mechanisms(void **state)
{
    (void)state;
    size_t big = 3 * 1024 * 1024 + 7;
    char *body = malloc(big);
    for (size_t i = 0; i < big; i++)
        body[i] = (char)(i * 31);
    for (int curve = 0; curve < 2; curve++) {
        struct server s = {.curve = curve};
        start(&s);
        struct mlq_curve c;
        client_keys(&s, &c);
        char *reply;
        size_t n;
        struct mlq_err err = {0};
        assert_int_equal(ask(&s, curve ? &c : NULL, body, big, &reply, &n, 10000, &err), 0);
        assert_int_equal(n, big + 3);
        assert_memory_equal(reply + 3, body, big);
        free(reply);
        finish(&s);
    }
    free(body);
}

/* The server sends PINGs every 50 ms and drops a peer silent for 50 ms
 * after one; the reply comes 400 ms late: only a client that answers PONG
 * gets it. */
static void test_heartbeats_answered(void **state)
{
    (void)state;
    struct server s = {.curve = true, .heartbeat_ms = 50, .delay_ms = 400};
    start(&s);
    struct mlq_curve c;
    client_keys(&s, &c);
    char *reply;
    size_t n;
    struct mlq_err err = {0};
    assert_int_equal(ask(&s, &c, "slow", 4, &reply, &n, 5000, &err), 0);
    assert_memory_equal(reply, "re:slow", 7);
    free(reply);
    finish(&s);
}

static void test_zap_refusal_is_eperm(void **state)
{
    (void)state;
    struct server s = {.curve = true, .zap = "400"};
    start(&s);
    struct mlq_curve c;
    client_keys(&s, &c);
    char *reply;
    size_t n;
    struct mlq_err err = {0};
    assert_int_equal(ask(&s, &c, "x", 1, &reply, &n, 5000, &err), MLQ_EPERM);
    assert_null(reply);
    finish(&s);
    struct server ok = {.curve = true, .zap = "200"};
    start(&ok);
    client_keys(&ok, &c);
    assert_int_equal(ask(&ok, &c, "x", 1, &reply, &n, 5000, &err), 0);
    free(reply);
    finish(&ok);
}

static void test_mechanism_mismatch(void **state)
{
    (void)state;
    struct server s = {.curve = false};
    start(&s);
    struct mlq_curve c;
    client_keys(&s, &c);
    char *reply;
    size_t n;
    struct mlq_err err = {0};
    assert_int_equal(ask(&s, &c, "x", 1, &reply, &n, 5000, &err), MLQ_EPROTO);
    assert_non_null(strstr(err.msg, "security settings differ"));
    finish(&s);
}

static void test_wrong_server_key(void **state)
{
    (void)state;
    struct server s = {.curve = true};
    start(&s);
    struct mlq_curve c;
    client_keys(&s, &c);
    char other[41];
    zmq_curve_keypair(c.server_public, other);
    char *reply;
    size_t n;
    struct mlq_err err = {0};
    assert_int_equal(ask(&s, &c, "x", 1, &reply, &n, 5000, &err), MLQ_EPROTO);
    assert_non_null(strstr(err.msg, "drops the CURVE handshake"));
    finish(&s);
}

static void test_nothing_listening(void **state)
{
    (void)state;
    struct server s = {.curve = false};
    start(&s);
    finish(&s); /* its port is free again */
    char *reply;
    size_t n;
    struct mlq_err err = {0};
    int64_t t0 = mlq_clock_mono_ms();
    assert_int_equal(ask(&s, NULL, "x", 1, &reply, &n, 5000, &err), MLQ_ENOLISTEN);
    assert_true(mlq_clock_mono_ms() - t0 < 3000);
}

static void test_no_reply_before_deadline(void **state)
{
    (void)state;
    struct server s = {.curve = true, .silent = true};
    start(&s);
    struct mlq_curve c;
    client_keys(&s, &c);
    char *reply;
    size_t n;
    struct mlq_err err = {0};
    int64_t t0 = mlq_clock_mono_ms();
    assert_int_equal(ask(&s, &c, "x", 1, &reply, &n, 300, &err), MLQ_EUNREACH);
    int64_t took = mlq_clock_mono_ms() - t0;
    assert_true(took >= 290 && took < 2000);
    finish(&s);
}

static void test_endpoints_handled(void **state)
{
    (void)state;
    assert_true(mlq_zmtp_handles("tcp://127.0.0.1:7710"));
    assert_true(mlq_zmtp_handles("ipc:///run/mlq.sock"));
    assert_false(mlq_zmtp_handles("inproc://x"));
    assert_false(mlq_zmtp_handles(NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_curve_round_trip),
        cmocka_unit_test(test_long_frames_both_mechanisms),
        cmocka_unit_test(test_heartbeats_answered),
        cmocka_unit_test(test_zap_refusal_is_eperm),
        cmocka_unit_test(test_mechanism_mismatch),
        cmocka_unit_test(test_wrong_server_key),
        cmocka_unit_test(test_nothing_listening),
        cmocka_unit_test(test_no_reply_before_deadline),
        cmocka_unit_test(test_endpoints_handled),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
