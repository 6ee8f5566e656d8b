/* mlq-wirever: a peer of another wire protocol version, for
 * tests/integration/test_daemon_config.sh.
 *
 *   mlq-wirever --ask V --scheduler ADDR [--scheduler-key FILE.pub --key FILE]
 *       sends a "workers" request whose "v" is V (rid 4242) and prints the
 *       answer's v, t, rid, code and msg on one line; exits 0 when the answer
 *       is an "error" with code MLQ_EPROTO, written in version V, for rid
 *       4242 (what an mlq of version V can read), else 1.
 *   mlq-wirever --serve V --listen ADDR [--key FILE]
 *       plays a scheduler that speaks only version V (CURVE with the secret
 *       key FILE, taking any client key; else plain TCP): answers
 *       every request with the "error" such a scheduler sends, written in the
 *       version of the request; runs until killed. */
#include <getopt.h>
#include <msgpack.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "bounds.h"
#include "err.h"
#include "keys.h"
#include "transport.h"

#define ASK_RID    4242
#define TIMEOUT_MS 5000

struct opts {
    long ask, serve;
    const char *endpoint, *server_key, *key;
};

static void kv_str(msgpack_packer *pk, const char *k, const char *v)
{
    msgpack_pack_str_with_body(pk, k, strlen(k));
    msgpack_pack_str_with_body(pk, v, strlen(v));
}

static void kv_int(msgpack_packer *pk, const char *k, int64_t v)
{
    msgpack_pack_str_with_body(pk, k, strlen(k));
    msgpack_pack_int64(pk, v);
}

/* v, t, rid and code of a body; msg copied into msg. */
static int read_answer(const char *buf, size_t len, int64_t out[3], char *t, char *msg, size_t n)
{
    msgpack_unpacked up;
    msgpack_unpacked_init(&up);
    if (msgpack_unpack_next(&up, buf, len, NULL) != MSGPACK_UNPACK_SUCCESS ||
        up.data.type != MSGPACK_OBJECT_MAP) {
        msgpack_unpacked_destroy(&up);
        return -1;
    }
    static const char *const ints[] = {"v", "rid", "code"};
    for (uint32_t i = 0; i < up.data.via.map.size; i++) {
        const msgpack_object_kv *kv = &up.data.via.map.ptr[i];
        const msgpack_object_str *k = &kv->key.via.str;
        for (int j = 0; j < 3; j++)
            if (k->size == strlen(ints[j]) && memcmp(k->ptr, ints[j], k->size) == 0)
                out[j] = kv->val.via.i64;
        char *dst = k->size == 1 && k->ptr[0] == 't'            ? t
                    : k->size == 3 && !memcmp(k->ptr, "msg", 3) ? msg
                                                                : NULL;
        if (dst && kv->val.type == MSGPACK_OBJECT_STR)
            snprintf(dst, n, "%.*s", (int)kv->val.via.str.size, kv->val.via.str.ptr);
    }
    msgpack_unpacked_destroy(&up);
    return 0;
}

static void *connect_peer(void *zctx, const struct opts *o)
{
    void *s = NULL;
    struct mlq_err e = {0};
    struct mlq_keypair kp;
    char pub[MLQ_KEY_Z85_SIZE];
    int rc;
    if (!o->key)
        rc = mlq_transport_dealer(zctx, o->endpoint, &s, &e);
    else if ((rc = mlq_keys_read_secret(o->key, &kp, &e)) == 0 &&
             (rc = mlq_keys_read_public(o->server_key, pub, &e)) == 0)
        rc = mlq_transport_dealer_curve(zctx, o->endpoint, pub, &kp, &s, &e);
    if (rc < 0)
        fprintf(stderr, "mlq-wirever: %s\n", e.msg);
    return rc < 0 ? NULL : s;
}

static int ask(void *zctx, const struct opts *o)
{
    void *s = connect_peer(zctx, o);
    if (!s)
        return 2;
    msgpack_sbuffer sb;
    msgpack_packer pk;
    msgpack_sbuffer_init(&sb);
    msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
    msgpack_pack_map(&pk, 3);
    kv_int(&pk, "v", o->ask);
    kv_str(&pk, "t", "workers");
    kv_int(&pk, "rid", ASK_RID);
    zmq_send(s, "", 0, ZMQ_SNDMORE);
    zmq_send(s, sb.data, sb.size, 0);
    msgpack_sbuffer_destroy(&sb);
    zmq_pollitem_t it = {.socket = s, .events = ZMQ_POLLIN};
    char buf[65536], t[32] = "", msg[512] = "";
    int64_t got[3] = {0, 0, 0};
    int n = -1;
    if (zmq_poll(&it, 1, TIMEOUT_MS) > 0 && zmq_recv(s, buf, sizeof buf, 0) == 0)
        n = zmq_recv(s, buf, sizeof buf, 0);
    zmq_close(s);
    if (n < 0 || read_answer(buf, (size_t)n, got, t, msg, sizeof msg) < 0) {
        printf("no answer\n");
        return 1;
    }
    printf("v=%lld t=%s rid=%lld code=%lld msg=%s\n", (long long)got[0], t, (long long)got[1],
           (long long)got[2], msg);
    return got[0] == o->ask && strcmp(t, "error") == 0 && got[1] == ASK_RID && got[2] == MLQ_EPROTO
               ? 0
               : 1;
}

/* Answers each request as a scheduler speaking only version o->serve. */
static int serve(void *zctx, const struct opts *o)
{
    void *s = zmq_socket(zctx, ZMQ_ROUTER);
    struct mlq_keypair kp;
    struct mlq_err e = {0};
    int on = 1;
    if (o->key && mlq_keys_read_secret(o->key, &kp, &e) < 0) {
        fprintf(stderr, "mlq-wirever: %s\n", e.msg);
        return 2;
    }
    if (s && o->key) {
        zmq_setsockopt(s, ZMQ_CURVE_SERVER, &on, sizeof on);
        zmq_setsockopt(s, ZMQ_CURVE_SECRETKEY, kp.secret_z85, strlen(kp.secret_z85));
    }
    if (!s || zmq_bind(s, o->endpoint) < 0) {
        fprintf(stderr, "mlq-wirever: bind %s: %s\n", o->endpoint, zmq_strerror(zmq_errno()));
        return 2;
    }
    for (;;) {
        char id[256], buf[65536], t[32] = "", m[8] = "", text[200];
        int64_t got[3] = {0, 0, 0};
        int idn = zmq_recv(s, id, sizeof id, 0), more = 1, n = -1;
        size_t sz = sizeof more;
        while (idn >= 0 && more) {
            n = zmq_recv(s, buf, sizeof buf, 0);
            zmq_getsockopt(s, ZMQ_RCVMORE, &more, &sz);
        }
        if (idn < 0 || n < 0 || read_answer(buf, (size_t)n, got, t, m, sizeof m) < 0)
            continue;
        snprintf(text, sizeof text,
                 "scheduler 9.9.9 speaks wire protocol %ld..%ld; this client speaks %lld: upgrade "
                 "it to release 9.9.9",
                 o->serve, o->serve, (long long)got[0]);
        msgpack_sbuffer sb;
        msgpack_packer pk;
        msgpack_sbuffer_init(&sb);
        msgpack_packer_init(&pk, &sb, msgpack_sbuffer_write);
        msgpack_pack_map(&pk, 7);
        kv_int(&pk, "v", got[0]);
        kv_str(&pk, "t", "error");
        kv_int(&pk, "rid", got[1]);
        kv_int(&pk, "code", MLQ_EPROTO);
        kv_str(&pk, "msg", text);
        kv_int(&pk, "speaks_min", o->serve);
        kv_int(&pk, "speaks_max", o->serve);
        zmq_send(s, id, (size_t)idn, ZMQ_SNDMORE);
        zmq_send(s, "", 0, ZMQ_SNDMORE);
        zmq_send(s, sb.data, sb.size, 0);
        msgpack_sbuffer_destroy(&sb);
    }
}

int main(int argc, char **argv)
{
    static const struct option lo[] = {
        {"ask", 1, NULL, 'a'},    {"serve", 1, NULL, 's'},         {"scheduler", 1, NULL, 'e'},
        {"listen", 1, NULL, 'e'}, {"scheduler-key", 1, NULL, 'p'}, {"key", 1, NULL, 'k'},
        {NULL, 0, NULL, 0}};
    struct opts o = {0};
    int c;
    while ((c = getopt_long(argc, argv, "", lo, NULL)) != -1) {
        if (c == 'a')
            o.ask = strtol(optarg, NULL, 10);
        else if (c == 's')
            o.serve = strtol(optarg, NULL, 10);
        else if (c == 'e')
            o.endpoint = optarg;
        else if (c == 'p')
            o.server_key = optarg;
        else if (c == 'k')
            o.key = optarg;
        else
            return 2;
    }
    if (!o.endpoint || (o.ask > 0) == (o.serve > 0) || (o.ask && o.key && !o.server_key)) {
        fprintf(stderr, "usage: mlq-wirever --ask V --scheduler ADDR [--scheduler-key PUB --key "
                        "KEY] | --serve V --listen ADDR [--key KEY]\n");
        return 2;
    }
    void *zctx = zmq_ctx_new();
    int rc = o.ask ? ask(zctx, &o) : serve(zctx, &o);
    zmq_ctx_term(zctx);
    return rc;
}
