/* transport: see transport.h.
 *
 * Every receive reads all frames of a message, whatever their number, so a
 * malformed message never leaves parts behind to be mistaken for the start
 * of the next one. Only the first three frames are kept; the rest are
 * counted and dropped. inproc:// does not enforce ZMQ_MAXMSGSIZE, so body
 * sizes are checked here as well. */
#include "transport.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <zmq.h>

#include "clock.h"
#include "keys.h"

#define DEALER_LINGER_MS 200
#define ROUTER_LINGER_MS 200
#define HEARTBEAT_IVL_MS 2000
#define HEARTBEAT_TMO_MS 10000
#define KEPT_FRAMES      3

static int set_int(void *s, int opt, int val)
{
    return zmq_setsockopt(s, opt, &val, sizeof val);
}

static int set_common(void *s, int linger, struct mlq_err *err)
{
    /* CURVE frames a body in 33 more bytes. */
    int64_t maxmsg = MLQ_MAX_BULK_MSG + 64;
    if (zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) < 0 ||
        set_int(s, ZMQ_LINGER, linger) < 0 || set_int(s, ZMQ_IMMEDIATE, 0) < 0 ||
        set_int(s, ZMQ_HEARTBEAT_IVL, HEARTBEAT_IVL_MS) < 0 ||
        set_int(s, ZMQ_HEARTBEAT_TIMEOUT, HEARTBEAT_TMO_MS) < 0 ||
        /* tells the peer to drop us when our heartbeats stop for this long */
        set_int(s, ZMQ_HEARTBEAT_TTL, HEARTBEAT_TMO_MS) < 0)
        return mlq_err_set(err, MLQ_EIO, "cannot set socket options: %s", zmq_strerror(errno));
    return 0;
}

static void close_now(void *s)
{
    set_int(s, ZMQ_LINGER, 0);
    zmq_close(s);
}

static int set_key(void *s, int opt, const char *z85, struct mlq_err *err)
{
    if (!z85 || !mlq_keys_z85_valid(z85))
        return mlq_err_set(err, MLQ_EINVAL, "invalid CURVE key (expected 40 z85 characters)");
    if (zmq_setsockopt(s, opt, z85, MLQ_KEY_Z85_LEN) < 0)
        return mlq_err_set(err, MLQ_EIO, "cannot set a CURVE key: %s", zmq_strerror(errno));
    return 0;
}

/* CURVE options, which libzmq only honours when set before bind/connect. */
static int set_curve(void *s, bool server, const struct mlq_curve *c, struct mlq_err *err)
{
    if (server) {
        int rc = set_key(s, ZMQ_CURVE_SECRETKEY, c->own_secret, err);
        if (rc == 0 &&
            (set_int(s, ZMQ_CURVE_SERVER, 1) < 0 ||
             zmq_setsockopt(s, ZMQ_ZAP_DOMAIN, MLQ_ZAP_DOMAIN, strlen(MLQ_ZAP_DOMAIN)) < 0))
            rc = mlq_err_set(err, MLQ_EIO, "cannot make a CURVE server: %s", zmq_strerror(errno));
        return rc;
    }
    int rc = set_key(s, ZMQ_CURVE_SERVERKEY, c->server_public, err);
    if (rc == 0)
        rc = set_key(s, ZMQ_CURVE_PUBLICKEY, c->own_public, err);
    if (rc == 0)
        rc = set_key(s, ZMQ_CURVE_SECRETKEY, c->own_secret, err);
    return rc;
}

/* Creates a socket of type with the common options (and CURVE ones when
 * curve is non-NULL), not yet bound or connected. */
static int new_socket(void *zctx, int type, const struct mlq_curve *curve, void **out,
                      struct mlq_err *err)
{
    *out = NULL;
    if (!zctx)
        return mlq_err_set(err, MLQ_EINVAL, "no ZeroMQ context");
    void *s = zmq_socket(zctx, type);
    if (!s)
        return mlq_err_set(err, MLQ_EIO, "cannot create socket: %s", zmq_strerror(errno));
    bool router = type == ZMQ_ROUTER;
    int rc = set_common(s, router ? ROUTER_LINGER_MS : DEALER_LINGER_MS, err);
    /* without it a reply to a vanished peer would be dropped silently */
    if (rc == 0 && router && set_int(s, ZMQ_ROUTER_MANDATORY, 1) < 0)
        rc = mlq_err_set(err, MLQ_EIO, "cannot set ZMQ_ROUTER_MANDATORY: %s", zmq_strerror(errno));
    if (rc == 0 && curve)
        rc = set_curve(s, router, curve, err);
    if (rc < 0) {
        close_now(s);
        return rc;
    }
    *out = s;
    return 0;
}

/* Binds (a ROUTER) or connects (a DEALER) s. */
static int attach(void *s, bool router, const char *endpoint, struct mlq_err *err)
{
    if ((router ? zmq_bind(s, endpoint) : zmq_connect(s, endpoint)) == 0)
        return 0;
    return mlq_err_set(err, MLQ_EIO, "cannot %s %s: %s", router ? "bind" : "connect to", endpoint,
                       zmq_strerror(errno));
}

static int make_socket(void *zctx, int type, const char *endpoint, const struct mlq_curve *curve,
                       void **out, struct mlq_err *err)
{
    *out = NULL;
    if (!zctx || !endpoint)
        return mlq_err_set(err, MLQ_EINVAL, "no ZeroMQ context or endpoint");
    void *s;
    int rc = new_socket(zctx, type, curve, &s, err);
    if (rc < 0)
        return rc;
    rc = attach(s, type == ZMQ_ROUTER, endpoint, err);
    if (rc < 0)
        close_now(s);
    else
        *out = s;
    return rc;
}

int mlq_transport_router(void *zctx, const char *endpoint, void **out, struct mlq_err *err)
{
    return make_socket(zctx, ZMQ_ROUTER, endpoint, NULL, out, err);
}

int mlq_transport_dealer(void *zctx, const char *endpoint, void **out, struct mlq_err *err)
{
    return make_socket(zctx, ZMQ_DEALER, endpoint, NULL, out, err);
}

/* A CURVE server consults ZAP only when a handler is bound and otherwise
 * lets every key in, so refuse to start one without: a handler is there
 * exactly when its endpoint cannot be bound again. */
static int require_zap(void *zctx, struct mlq_err *err)
{
    void *probe = zmq_socket(zctx, ZMQ_REP);
    if (!probe)
        return mlq_err_set(err, MLQ_EIO, "cannot create socket: %s", zmq_strerror(errno));
    int rc = 0;
    if (zmq_bind(probe, MLQ_ZAP_ENDPOINT) == 0) {
        zmq_unbind(probe, MLQ_ZAP_ENDPOINT);
        rc = mlq_err_set(err, MLQ_ESTATE,
                         "no ZAP handler is bound: a CURVE server would accept any key");
    } else if (errno != EADDRINUSE) {
        rc = mlq_err_set(err, MLQ_EIO, "cannot look for the ZAP handler: %s", zmq_strerror(errno));
    }
    close_now(probe);
    return rc;
}

int mlq_transport_router_curve(void *zctx, const char *endpoint, const struct mlq_keypair *own,
                               void **out, struct mlq_err *err)
{
    *out = NULL;
    if (!zctx || !endpoint || !own)
        return mlq_err_set(err, MLQ_EINVAL, "no ZeroMQ context, endpoint or key pair");
    int rc = require_zap(zctx, err);
    if (rc < 0)
        return rc;
    struct mlq_curve c = {{0}};
    memcpy(c.own_public, own->public_z85, sizeof c.own_public);
    memcpy(c.own_secret, own->secret_z85, sizeof c.own_secret);
    rc = make_socket(zctx, ZMQ_ROUTER, endpoint, &c, out, err);
    explicit_bzero(&c, sizeof c);
    return rc;
}

/* Fills c from the server's public key and our pair. */
static int curve_of(struct mlq_curve *c, const char *server_public, const struct mlq_keypair *own,
                    struct mlq_err *err)
{
    if (!server_public || !own || !mlq_keys_z85_valid(server_public))
        return mlq_err_set(err, MLQ_EINVAL, "invalid scheduler public key");
    memcpy(c->server_public, server_public, MLQ_KEY_Z85_SIZE);
    memcpy(c->own_public, own->public_z85, sizeof c->own_public);
    memcpy(c->own_secret, own->secret_z85, sizeof c->own_secret);
    return 0;
}

int mlq_transport_dealer_curve(void *zctx, const char *endpoint, const char *server_public,
                               const struct mlq_keypair *own, void **out, struct mlq_err *err)
{
    struct mlq_curve c;
    *out = NULL;
    int rc = curve_of(&c, server_public, own, err);
    if (rc == 0)
        rc = make_socket(zctx, ZMQ_DEALER, endpoint, &c, out, err);
    explicit_bzero(&c, sizeof c);
    return rc;
}

/* ---- sending ------------------------------------------------------------ */

static int send_error(const char *what, struct mlq_err *err)
{
    if (errno == EAGAIN)
        return mlq_err_set(err, MLQ_EUNAVAIL, "cannot send %s: peer's queue is full", what);
    if (errno == EHOSTUNREACH)
        return mlq_err_set(err, MLQ_EUNAVAIL, "cannot send %s: peer is gone", what);
    return mlq_err_set(err, MLQ_EIO, "cannot send %s: %s", what, zmq_strerror(errno));
}

int mlq_transport_send_body(void *sock, const char *what, const void *body, size_t len,
                            struct mlq_err *err)
{
    if (zmq_send(sock, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(sock, body, len, ZMQ_DONTWAIT) < 0)
        return send_error(what, err);
    return 0;
}

int mlq_transport_send(void *sock, const struct mlq_msg *msg, struct mlq_err *err)
{
    char *body;
    size_t len;
    int rc = mlq_proto_encode(msg, &body, &len, err);
    if (rc < 0)
        return rc;
    rc = mlq_transport_send_body(sock, mlq_proto_type_name(msg->type), body, len, err);
    free(body);
    return rc;
}

int mlq_transport_send_raw(void *sock, const struct mlq_peer *peer, const void *body, size_t len,
                           struct mlq_err *err)
{
    if (!peer || peer->len == 0 || peer->len > MLQ_ROUTING_ID_MAX)
        return mlq_err_set(err, MLQ_EINVAL, "invalid peer routing id");
    if (len > MLQ_MAX_BULK_MSG) /* the encoder holds each type to its own bound */
        return mlq_err_set(err, MLQ_ETOOBIG, "message of %zu bytes exceeds %d", len,
                           MLQ_MAX_BULK_MSG);
    /* with ZMQ_ROUTER_MANDATORY an unknown peer fails on the first frame */
    if (zmq_send(sock, peer->id, peer->len, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        return send_error("reply", err);
    if (zmq_send(sock, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0 ||
        zmq_send(sock, body, len, ZMQ_DONTWAIT) < 0)
        return send_error("reply", err);
    return 0;
}

int mlq_transport_send_to(void *sock, const struct mlq_peer *peer, const struct mlq_msg *msg,
                          struct mlq_err *err)
{
    char *body;
    size_t len;
    int rc = mlq_proto_encode(msg, &body, &len, err);
    if (rc < 0)
        return rc;
    rc = mlq_transport_send_raw(sock, peer, body, len, err);
    free(body);
    return rc;
}

/* ---- receiving ---------------------------------------------------------- */

struct frames {
    zmq_msg_t part[KEPT_FRAMES];
    int n; /* frames received, kept or not */
};

static void frames_close(struct frames *f)
{
    for (int i = 0; i < KEPT_FRAMES; i++)
        zmq_msg_close(&f->part[i]);
}

/* Receives one frame into dst; later frames of a message are already queued
 * (ZeroMQ delivers messages whole), so only an interruption can stop them. */
static int recv_part(void *sock, zmq_msg_t *dst, int flags)
{
    int rc;
    do
        rc = zmq_msg_recv(dst, sock, flags);
    while (rc < 0 && errno == EINTR && !(flags & ZMQ_DONTWAIT));
    return rc;
}

/* Reads every frame of the next message. MLQ_EUNAVAIL when none is queued
 * (with ZMQ_DONTWAIT) or the wait was interrupted. */
static int recv_frames(void *sock, struct frames *f, struct mlq_err *err)
{
    f->n = 0;
    for (int i = 0; i < KEPT_FRAMES; i++)
        zmq_msg_init(&f->part[i]);
    for (;;) {
        zmq_msg_t spare;
        zmq_msg_t *dst = f->n < KEPT_FRAMES ? &f->part[f->n] : &spare;
        if (dst == &spare)
            zmq_msg_init(&spare);
        int rc = recv_part(sock, dst, f->n == 0 ? ZMQ_DONTWAIT : 0);
        int more = rc >= 0 && zmq_msg_more(dst);
        if (dst == &spare)
            zmq_msg_close(&spare);
        if (rc < 0 && f->n == 0 && (errno == EAGAIN || errno == EINTR))
            return mlq_err_set(err, MLQ_EUNAVAIL, "no message");
        if (rc < 0)
            return mlq_err_set(err, MLQ_EIO, "cannot receive: %s", zmq_strerror(errno));
        f->n++;
        if (!more)
            return 0;
    }
}

/* Waits up to timeout_ms (-1 forever) for sock to become readable. */
static int wait_readable(void *sock, int timeout_ms, struct mlq_err *err)
{
    zmq_pollitem_t item = {.socket = sock, .events = ZMQ_POLLIN};
    int rc = zmq_poll(&item, 1, timeout_ms);
    if (rc < 0 && errno != EINTR)
        return mlq_err_set(err, MLQ_EIO, "cannot poll: %s", zmq_strerror(errno));
    if (rc <= 0)
        return mlq_err_set(err, MLQ_EUNAVAIL, "no message within %d ms", timeout_ms);
    return 0;
}

static int decode_body(zmq_msg_t *body, struct mlq_msg *msg, struct mlq_err *err)
{
    size_t len = zmq_msg_size(body);
    if (len > MLQ_MAX_BULK_MSG) /* the decoder holds each type to its own bound */
        return mlq_err_set(err, MLQ_EPROTO, "message of %zu bytes exceeds %d", len,
                           MLQ_MAX_BULK_MSG);
    return mlq_proto_decode(zmq_msg_data(body), len, msg, err);
}

int mlq_transport_recv(void *sock, struct mlq_msg *msg, int timeout_ms, struct mlq_err *err)
{
    struct frames f;
    memset(msg, 0, sizeof *msg);
    int rc = wait_readable(sock, timeout_ms, err);
    if (rc == 0)
        rc = recv_frames(sock, &f, err);
    if (rc < 0)
        return rc;
    if (f.n != 2 || zmq_msg_size(&f.part[0]) != 0)
        rc = mlq_err_set(err, MLQ_EPROTO, "malformed message: %d frames, expected delimiter + body",
                         f.n);
    else
        rc = decode_body(&f.part[1], msg, err);
    frames_close(&f);
    return rc;
}

/* Copies the ZAP identity attached to frame into peer->user_id. One too
 * long to keep whole is refused rather than cut, so that two identities
 * can never be taken for one. */
static int peer_user(zmq_msg_t *frame, struct mlq_peer *peer, struct mlq_err *err)
{
    const char *user = zmq_msg_gets(frame, "User-Id");
    if (!user)
        return 0;
    size_t len = strnlen(user, MLQ_PEER_USER_MAX);
    if (len >= MLQ_PEER_USER_MAX)
        return mlq_err_set(err, MLQ_EPROTO, "peer identity longer than %d bytes",
                           MLQ_PEER_USER_MAX - 1);
    memcpy(peer->user_id, user, len + 1);
    return 0;
}

int mlq_transport_recv_from(void *sock, struct mlq_peer *peer, struct mlq_msg *msg,
                            struct mlq_err *err)
{
    struct frames f;
    memset(msg, 0, sizeof *msg);
    memset(peer, 0, sizeof *peer);
    int rc = recv_frames(sock, &f, err);
    if (rc < 0)
        return rc;
    /* a ROUTER always puts the sender's routing id (1..255 bytes) first */
    size_t idlen = zmq_msg_size(&f.part[0]);
    if (idlen > MLQ_ROUTING_ID_MAX)
        idlen = MLQ_ROUTING_ID_MAX;
    memcpy(peer->id, zmq_msg_data(&f.part[0]), idlen);
    peer->len = idlen;
    /* the routing id frame is made locally; the peer's own frames carry the
     * connection's metadata */
    if (f.n >= 2)
        rc = peer_user(&f.part[f.n >= 3 ? 2 : 1], peer, err);
    if (rc == 0 && (f.n != 3 || zmq_msg_size(&f.part[1]) != 0))
        rc = mlq_err_set(err, MLQ_EPROTO, "malformed message: %d frames, expected delimiter + body",
                         f.n - 1);
    else if (rc == 0)
        rc = decode_body(&f.part[2], msg, err);
    frames_close(&f);
    return rc;
}

#define WATCHED_EVENTS                                                                             \
    (ZMQ_EVENT_HANDSHAKE_SUCCEEDED | ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL |                        \
     ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL | ZMQ_EVENT_HANDSHAKE_FAILED_AUTH | ZMQ_EVENT_CONNECTED | \
     ZMQ_EVENT_DISCONNECTED | ZMQ_EVENT_CONNECT_RETRIED)
/* A CURVE server that cannot decrypt our HELLO (we hold the wrong server
 * key) just drops the connection; after this many drops in a row, with no
 * handshake completed in between, that is what we report. */
#define DROPPED_MAX 3
/* Tries at a free monitor endpoint: a closed socket's endpoint is released
 * by libzmq's reaper thread, a little later, and addresses get reused. */
#define MONITOR_TRIES 16

struct mlq_watch {
    void *sock; /* the watched socket */
    void *pair; /* receives its monitor events */
    bool curve;
    int dropped;        /* handshakes dropped since the last one that completed */
    bool connected;     /* a connection is up (CONNECTED, not yet DISCONNECTED) */
    int64_t refused_ms; /* when a connect was first refused with none up; 0 if not */
    char endpoint[256];
};

/* ---- client request ----------------------------------------------------- */

static int unreachable(const char *endpoint, int timeout_ms, struct mlq_err *err)
{
    if (timeout_ms % 1000 == 0)
        return mlq_err_set(err, MLQ_EUNREACH, "scheduler at %s did not answer within %d s",
                           endpoint, timeout_ms / 1000);
    return mlq_err_set(err, MLQ_EUNREACH, "scheduler at %s did not answer within %d ms", endpoint,
                       timeout_ms);
}

/* How long a watched wait sleeps on its socket alone before it reads the
 * watch's events: short at first, as a refused key is told within a few
 * milliseconds on a LAN, then longer. */
#define WATCH_SLICE_FIRST_MS 4
#define WATCH_SLICE_MAX_MS   64

/* Waits up to timeout_ms (and one slice) for s to become readable, then
 * reads the watch's events. Only s is polled: were the watch polled too,
 * each event of a handshake that goes well (connected, handshake done)
 * would wake this thread while the I/O thread is still at work, which on
 * a busy or small machine delays the handshake itself. */
static int wait_watched(void *s, struct mlq_watch *w, int timeout_ms, int *slice,
                        struct mlq_err *err)
{
    zmq_pollitem_t it = {.socket = s, .events = ZMQ_POLLIN};
    int rc = zmq_poll(&it, 1, timeout_ms < 0 || *slice < timeout_ms ? *slice : timeout_ms);
    if (rc < 0 && errno != EINTR)
        return mlq_err_set(err, MLQ_EIO, "cannot poll: %s", zmq_strerror(errno));
    *slice = *slice * 2 < WATCH_SLICE_MAX_MS ? *slice * 2 : WATCH_SLICE_MAX_MS;
    return mlq_transport_watch_check(w, err);
}

/* How long connects must keep being refused, with none getting through,
 * before a request gives up: long enough for a scheduler that is just
 * binding its port (libzmq retries every 100 ms), short enough that a
 * scheduler that is not running is reported at once. */
#define REFUSED_GIVE_UP_MS 1000

/* MLQ_ENOLISTEN once connects have been refused for REFUSED_GIVE_UP_MS
 * (shortening *left to wake up then); 0 otherwise. */
static int check_refused(const struct mlq_watch *w, int64_t now, int *left, struct mlq_err *err)
{
    int64_t since = mlq_transport_watch_refused_since(w);
    if (since == 0)
        return 0;
    int64_t until = since + REFUSED_GIVE_UP_MS - now;
    if (until <= 0)
        return mlq_err_set(err, MLQ_ENOLISTEN, "nothing listening at %s: is mlq-scheduler running?",
                           w->endpoint);
    if (*left < 0 || until < *left)
        *left = (int)until;
    return 0;
}

/* Receives until the reply to rid arrives; replies to anything else (there
 * should be none on a fresh socket) are dropped. With a watch, a failed
 * handshake ends the wait at once, and so do connects refused for a second
 * (no process listens there). */
static int await_reply(void *s, struct mlq_watch *w, uint64_t rid, struct mlq_msg *reply,
                       int timeout_ms, struct mlq_err *err)
{
    int64_t deadline = mlq_clock_mono_ms() + timeout_ms;
    int slice = WATCH_SLICE_FIRST_MS;
    for (;;) {
        int left = -1;
        int64_t now = mlq_clock_mono_ms();
        if (timeout_ms >= 0) {
            if (now >= deadline)
                return MLQ_EUNREACH;
            left = (int)(deadline - now);
        }
        if (w && check_refused(w, now, &left, err) < 0)
            return MLQ_ENOLISTEN;
        int rc = w ? wait_watched(s, w, left, &slice, err) : 0;
        if (rc < 0)
            return rc;
        rc = mlq_transport_recv(s, reply, w ? 0 : left, err);
        if (rc == MLQ_EUNAVAIL)
            continue;
        if (rc < 0)
            return rc;
        if (reply->rid == rid)
            return 0;
        mlq_proto_msg_free(reply);
    }
}

int mlq_transport_request(void *zctx, const char *endpoint, const struct mlq_msg *req,
                          struct mlq_msg *reply, int timeout_ms, struct mlq_err *err)
{
    void *s;
    memset(reply, 0, sizeof *reply);
    int rc = mlq_transport_dealer(zctx, endpoint, &s, err);
    if (rc < 0)
        return rc;
    rc = mlq_transport_send(s, req, err);
    if (rc == 0)
        rc = await_reply(s, NULL, req->rid, reply, timeout_ms, err);
    if (rc == MLQ_EUNREACH)
        unreachable(endpoint, timeout_ms, err);
    /* an unanswered request must not keep the process alive at exit */
    close_now(s);
    return rc;
}

int mlq_transport_request_curve(void *zctx, const char *endpoint, const struct mlq_curve *curve,
                                const struct mlq_msg *req, struct mlq_msg *reply, int timeout_ms,
                                struct mlq_err *err)
{
    void *s;
    struct mlq_watch *w;
    memset(reply, 0, sizeof *reply);
    int rc = mlq_transport_dealer_watched(zctx, endpoint, curve, &s, &w, err);
    if (rc < 0)
        return rc;
    rc = mlq_transport_send(s, req, err);
    if (rc == 0)
        rc = await_reply(s, w, req->rid, reply, timeout_ms, err);
    if (rc == MLQ_EUNREACH)
        unreachable(endpoint, timeout_ms, err);
    mlq_transport_watch_destroy(&w);
    close_now(s);
    return rc;
}

/* ---- kept connection ---------------------------------------------------- */

struct mlq_link {
    void *sock;
    struct mlq_watch *watch;
    bool curve; /* made with keys (and these) or without */
    struct mlq_curve keys;
    char endpoint[256];
};

void mlq_transport_link_close(struct mlq_link **lp)
{
    if (!lp || !*lp)
        return;
    struct mlq_link *l = *lp;
    mlq_transport_watch_destroy(&l->watch);
    close_now(l->sock);
    explicit_bzero(l, sizeof *l);
    free(l);
    *lp = NULL;
}

static bool link_matches(const struct mlq_link *l, const char *endpoint,
                         const struct mlq_curve *curve)
{
    if (strcmp(l->endpoint, endpoint) != 0 || l->curve != (curve != NULL))
        return false;
    return !curve || memcmp(&l->keys, curve, sizeof l->keys) == 0;
}

static int link_open(void *zctx, const char *endpoint, const struct mlq_curve *curve,
                     struct mlq_link **out, struct mlq_err *err)
{
    if (strlen(endpoint) >= sizeof((*out)->endpoint))
        return mlq_err_set(err, MLQ_EINVAL, "endpoint too long");
    struct mlq_link *l = calloc(1, sizeof *l);
    if (!l)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    int rc = mlq_transport_dealer_watched(zctx, endpoint, curve, &l->sock, &l->watch, err);
    if (rc < 0) {
        free(l);
        return rc;
    }
    l->curve = curve != NULL;
    if (curve)
        l->keys = *curve;
    snprintf(l->endpoint, sizeof l->endpoint, "%s", endpoint);
    *out = l;
    return 0;
}

int mlq_transport_link_request(void *zctx, struct mlq_link **link, const char *endpoint,
                               const struct mlq_curve *curve, const struct mlq_msg *req,
                               struct mlq_msg *reply, int timeout_ms, struct mlq_err *err)
{
    memset(reply, 0, sizeof *reply);
    if (!endpoint)
        return mlq_err_set(err, MLQ_EINVAL, "no endpoint");
    if (*link && !link_matches(*link, endpoint, curve))
        mlq_transport_link_close(link);
    int rc = *link ? 0 : link_open(zctx, endpoint, curve, link, err);
    if (rc < 0)
        return rc;
    rc = mlq_transport_send((*link)->sock, req, err);
    if (rc == 0)
        rc = await_reply((*link)->sock, (*link)->watch, req->rid, reply, timeout_ms, err);
    if (rc == MLQ_EUNREACH)
        unreachable(endpoint, timeout_ms, err);
    /* only a connection that answered is worth keeping */
    if (rc != 0)
        mlq_transport_link_close(link);
    return rc;
}

/* ---- handshake watch ---------------------------------------------------- */

static int start_monitor(void *zctx, struct mlq_watch *w, struct mlq_err *err)
{
    char mon[64];
    int rc = -1;
    for (int i = 0; i < MONITOR_TRIES && rc < 0; i++) {
        snprintf(mon, sizeof mon, "inproc://mlq-watch-%p-%d", w->sock, i);
        rc = zmq_socket_monitor(w->sock, mon, WATCHED_EVENTS);
        if (rc < 0 && errno != EADDRINUSE)
            break;
    }
    if (rc < 0)
        return mlq_err_set(err, MLQ_EIO, "cannot watch the socket: %s", zmq_strerror(errno));
    w->pair = zmq_socket(zctx, ZMQ_PAIR);
    if (w->pair && zmq_connect(w->pair, mon) == 0)
        return 0;
    rc = mlq_err_set(err, MLQ_EIO, "cannot watch the socket: %s", zmq_strerror(errno));
    zmq_socket_monitor(w->sock, NULL, 0);
    if (w->pair)
        close_now(w->pair);
    return rc;
}

static void stop_monitor(struct mlq_watch *w)
{
    zmq_socket_monitor(w->sock, NULL, 0);
    close_now(w->pair);
    w->pair = NULL;
}

int mlq_transport_dealer_watched(void *zctx, const char *endpoint, const struct mlq_curve *curve,
                                 void **sock, struct mlq_watch **watch, struct mlq_err *err)
{
    *sock = NULL;
    *watch = NULL;
    if (!zctx || !endpoint)
        return mlq_err_set(err, MLQ_EINVAL, "no ZeroMQ context or endpoint");
    struct mlq_watch *w = calloc(1, sizeof *w);
    if (!w)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    w->curve = curve != NULL;
    snprintf(w->endpoint, sizeof w->endpoint, "%s", endpoint);
    int rc = new_socket(zctx, ZMQ_DEALER, curve, &w->sock, err);
    /* watching starts before the connect, or the first handshake is missed */
    if (rc == 0)
        rc = start_monitor(zctx, w, err);
    if (rc == 0) {
        rc = attach(w->sock, false, endpoint, err);
        if (rc < 0)
            stop_monitor(w);
    }
    if (rc < 0) {
        if (w->sock)
            close_now(w->sock);
        free(w);
        return rc;
    }
    *sock = w->sock;
    *watch = w;
    return 0;
}

void *mlq_transport_watch_socket(struct mlq_watch *w)
{
    return w ? w->pair : NULL;
}

/* Reads one monitor event (two frames: 6 bytes of event and value, then the
 * endpoint). 0 when none is queued, 1 when *event and *value are set, 2 for
 * a malformed one (skipped). */
static int read_event(void *pair, uint16_t *event, uint32_t *value)
{
    struct frames f;
    if (recv_frames(pair, &f, NULL) < 0)
        return 0;
    int rc = 2;
    if (zmq_msg_size(&f.part[0]) == 6) {
        const uint8_t *d = zmq_msg_data(&f.part[0]);
        memcpy(event, d, sizeof *event); /* native byte order, unaligned */
        memcpy(value, d + 2, sizeof *value);
        rc = 1;
    }
    frames_close(&f);
    return rc;
}

/* Turns one handshake event into 0 or the error it means. */
static int judge(struct mlq_watch *w, uint16_t event, uint32_t value, struct mlq_err *err)
{
    switch (event) {
    case ZMQ_EVENT_HANDSHAKE_SUCCEEDED:
        w->dropped = 0;
        return 0;
    case ZMQ_EVENT_CONNECTED:
        w->connected = true;
        w->refused_ms = 0;
        return 0;
    case ZMQ_EVENT_DISCONNECTED:
        w->connected = false;
        return 0;
    case ZMQ_EVENT_CONNECT_RETRIED: /* the connect failed (refused, no such socket file) */
        if (!w->connected && w->refused_ms == 0)
            w->refused_ms = mlq_clock_mono_ms();
        return 0;
    case ZMQ_EVENT_HANDSHAKE_FAILED_AUTH:
        return mlq_err_set(err, MLQ_EPERM,
                           "not authorized by the scheduler at %s: it refused this key (%u)",
                           w->endpoint, (unsigned)value);
    case ZMQ_EVENT_HANDSHAKE_FAILED_PROTOCOL:
        if (value == ZMQ_PROTOCOL_ERROR_ZMTP_MECHANISM_MISMATCH)
            return mlq_err_set(err, MLQ_EPROTO,
                               "the scheduler at %s %s CURVE: security settings differ",
                               w->endpoint, w->curve ? "does not use" : "requires");
        return mlq_err_set(err, MLQ_EPROTO, "handshake with the scheduler at %s failed (0x%x)",
                           w->endpoint, (unsigned)value);
    case ZMQ_EVENT_HANDSHAKE_FAILED_NO_DETAIL:
        if (++w->dropped < DROPPED_MAX)
            return 0;
        return mlq_err_set(err, MLQ_EPROTO, "the scheduler at %s drops the %shandshake%s",
                           w->endpoint, w->curve ? "CURVE " : "",
                           w->curve ? ": is its public key the one configured?" : "");
    default:
        return 0;
    }
}

int mlq_transport_watch_check(struct mlq_watch *w, struct mlq_err *err)
{
    if (!w)
        return 0;
    for (;;) {
        uint16_t event;
        uint32_t value;
        int got = read_event(w->pair, &event, &value);
        if (got == 0)
            return 0;
        int rc = got == 1 ? judge(w, event, value, err) : 0;
        if (rc < 0)
            return rc;
    }
}

int64_t mlq_transport_watch_refused_since(const struct mlq_watch *w)
{
    return w && !w->connected ? w->refused_ms : 0;
}

void mlq_transport_watch_destroy(struct mlq_watch **wp)
{
    if (!wp || !*wp)
        return;
    struct mlq_watch *w = *wp;
    stop_monitor(w);
    free(w);
    *wp = NULL;
}

/* ---- endpoints ---------------------------------------------------------- */

static bool starts_with(const char *s, const char *prefix)
{
    return strncmp(s, prefix, strlen(prefix)) == 0;
}

/* True for a loopback host: 127.0.0.0/8, ::1 (inside brackets) or
 * "localhost". Wildcards ("*", 0.0.0.0) are not loopback. */
static bool host_is_loopback(const char *host, size_t len, bool bracketed)
{
    char buf[64];
    if (len == 0 || len >= sizeof buf)
        return false;
    memcpy(buf, host, len);
    buf[len] = '\0';
    if (bracketed) {
        struct in6_addr a6;
        return inet_pton(AF_INET6, buf, &a6) == 1 && memcmp(&a6, &in6addr_loopback, 16) == 0;
    }
    struct in_addr a4;
    if (inet_pton(AF_INET, buf, &a4) == 1)
        return ((const uint8_t *)&a4.s_addr)[0] == 127;
    return strcasecmp(buf, "localhost") == 0;
}

static bool port_ok(const char *p)
{
    if (strcmp(p, "*") == 0)
        return true;
    size_t n = strspn(p, "0123456789");
    return n >= 1 && n <= 5 && p[n] == '\0';
}

bool mlq_transport_is_local(const char *endpoint)
{
    if (!endpoint)
        return false;
    if (starts_with(endpoint, "ipc://") || starts_with(endpoint, "inproc://"))
        return true;
    if (!starts_with(endpoint, "tcp://"))
        return false;
    const char *host = endpoint + strlen("tcp://");
    if (host[0] == '[') {
        const char *close = strchr(host, ']');
        return close && close[1] == ':' && port_ok(close + 2) &&
               host_is_loopback(host + 1, (size_t)(close - host - 1), true);
    }
    const char *colon = strchr(host, ':');
    return colon && port_ok(colon + 1) && host_is_loopback(host, (size_t)(colon - host), false);
}
