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
    int64_t maxmsg = MLQ_MAX_MSG;
    if (zmq_setsockopt(s, ZMQ_MAXMSGSIZE, &maxmsg, sizeof maxmsg) < 0 ||
        set_int(s, ZMQ_LINGER, linger) < 0 || set_int(s, ZMQ_IMMEDIATE, 0) < 0 ||
        set_int(s, ZMQ_HEARTBEAT_IVL, HEARTBEAT_IVL_MS) < 0 ||
        set_int(s, ZMQ_HEARTBEAT_TIMEOUT, HEARTBEAT_TMO_MS) < 0 ||
        /* tells the peer to drop us when our heartbeats stop for this long */
        set_int(s, ZMQ_HEARTBEAT_TTL, HEARTBEAT_TMO_MS) < 0)
        return mlq_err_set(err, MLQ_EIO, "cannot set socket options: %s", zmq_strerror(errno));
    return 0;
}

/* Creates a socket of type with the common options; bind or connect it. */
static int make_socket(void *zctx, int type, const char *endpoint, void **out, struct mlq_err *err)
{
    *out = NULL;
    if (!zctx || !endpoint)
        return mlq_err_set(err, MLQ_EINVAL, "no ZeroMQ context or endpoint");
    void *s = zmq_socket(zctx, type);
    if (!s)
        return mlq_err_set(err, MLQ_EIO, "cannot create socket: %s", zmq_strerror(errno));
    bool router = type == ZMQ_ROUTER;
    int rc = set_common(s, router ? ROUTER_LINGER_MS : DEALER_LINGER_MS, err);
    /* without it a reply to a vanished peer would be dropped silently */
    if (rc == 0 && router && set_int(s, ZMQ_ROUTER_MANDATORY, 1) < 0)
        rc = mlq_err_set(err, MLQ_EIO, "cannot set ZMQ_ROUTER_MANDATORY: %s", zmq_strerror(errno));
    if (rc == 0 && (router ? zmq_bind(s, endpoint) : zmq_connect(s, endpoint)) < 0)
        rc = mlq_err_set(err, MLQ_EIO, "cannot %s %s: %s", router ? "bind" : "connect to", endpoint,
                         zmq_strerror(errno));
    if (rc < 0) {
        set_int(s, ZMQ_LINGER, 0);
        zmq_close(s);
        return rc;
    }
    *out = s;
    return 0;
}

int mlq_transport_router(void *zctx, const char *endpoint, void **out, struct mlq_err *err)
{
    return make_socket(zctx, ZMQ_ROUTER, endpoint, out, err);
}

int mlq_transport_dealer(void *zctx, const char *endpoint, void **out, struct mlq_err *err)
{
    return make_socket(zctx, ZMQ_DEALER, endpoint, out, err);
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

int mlq_transport_send(void *sock, const struct mlq_msg *msg, struct mlq_err *err)
{
    char *body;
    size_t len;
    int rc = mlq_proto_encode(msg, &body, &len, err);
    if (rc < 0)
        return rc;
    const char *what = mlq_proto_type_name(msg->type);
    if (zmq_send(sock, "", 0, ZMQ_SNDMORE | ZMQ_DONTWAIT) < 0)
        rc = send_error(what, err);
    else if (zmq_send(sock, body, len, ZMQ_DONTWAIT) < 0)
        rc = send_error(what, err);
    free(body);
    return rc;
}

int mlq_transport_send_raw(void *sock, const struct mlq_peer *peer, const void *body, size_t len,
                           struct mlq_err *err)
{
    if (!peer || peer->len == 0 || peer->len > MLQ_ROUTING_ID_MAX)
        return mlq_err_set(err, MLQ_EINVAL, "invalid peer routing id");
    if (len > MLQ_MAX_MSG)
        return mlq_err_set(err, MLQ_ETOOBIG, "message of %zu bytes exceeds %d", len, MLQ_MAX_MSG);
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
    if (len > MLQ_MAX_MSG)
        return mlq_err_set(err, MLQ_EPROTO, "message of %zu bytes exceeds %d", len, MLQ_MAX_MSG);
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
    if (f.n != 3 || zmq_msg_size(&f.part[1]) != 0)
        rc = mlq_err_set(err, MLQ_EPROTO, "malformed message: %d frames, expected delimiter + body",
                         f.n - 1);
    else
        rc = decode_body(&f.part[2], msg, err);
    frames_close(&f);
    return rc;
}

/* ---- client request ----------------------------------------------------- */

static int unreachable(const char *endpoint, int timeout_ms, struct mlq_err *err)
{
    if (timeout_ms % 1000 == 0)
        return mlq_err_set(err, MLQ_EUNREACH, "scheduler at %s did not answer within %d s",
                           endpoint, timeout_ms / 1000);
    return mlq_err_set(err, MLQ_EUNREACH, "scheduler at %s did not answer within %d ms", endpoint,
                       timeout_ms);
}

/* Receives until the reply to rid arrives; replies to anything else (there
 * should be none on a fresh socket) are dropped. */
static int await_reply(void *s, uint64_t rid, struct mlq_msg *reply, int timeout_ms,
                       struct mlq_err *err)
{
    int64_t deadline = mlq_clock_mono_ms() + timeout_ms;
    for (;;) {
        int left = -1;
        if (timeout_ms >= 0) {
            int64_t now = mlq_clock_mono_ms();
            if (now >= deadline)
                return MLQ_EUNREACH;
            left = (int)(deadline - now);
        }
        int rc = mlq_transport_recv(s, reply, left, err);
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
        rc = await_reply(s, req->rid, reply, timeout_ms, err);
    if (rc == MLQ_EUNREACH)
        unreachable(endpoint, timeout_ms, err);
    /* an unanswered request must not keep the process alive at exit */
    set_int(s, ZMQ_LINGER, 0);
    zmq_close(s);
    return rc;
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
