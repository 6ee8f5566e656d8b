/* zmtpclient: see zmtpclient.h.
 *
 * Wire format (ZMTP 3.1, RFC 37; CurveZMQ, RFC 26, as libzmq frames it):
 * a 64-byte greeting each way naming the mechanism, then the handshake
 * commands (CURVE: HELLO, WELCOME, INITIATE, READY; NULL: READY each way),
 * then frames. Under CURVE every frame travels as a MESSAGE box whose first
 * plaintext byte carries the MORE (1) and COMMAND (2) flags. The scheduler's
 * heartbeat PINGs are answered with PONGs, so a long request is not dropped.
 *
 * Every size read from the peer is checked before anything is allocated:
 * handshake commands against CMD_MAX, frames against the bulk message
 * limit. */
#include "zmtpclient.h"

#include <errno.h>
#include <netdb.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sodium.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "bounds.h"
#include "clock.h"
#include "keys.h"

#define GREETING_LEN 64
#define KEY_LEN      32
#define COOKIE_LEN   96
#define RETRY_MS     100  /* libzmq's reconnect interval */
#define REFUSED_MS   1000 /* refused this long with none up: nothing listens */
#define DROPPED_MAX  3    /* handshakes dropped in a row: the server key is wrong */
#define CMD_MAX      4096 /* handshake commands, PINGs and ERRORs are small */
#define FRAME_MAX    ((uint64_t)MLQ_MAX_BULK_MSG + 64)
#define BOX_MAC      crypto_box_MACBYTES
#define MSG_HDR      16 /* "\x07MESSAGE" + short nonce */

enum { F_MORE = 1, F_LONG = 2, F_CMD = 4 }; /* ZMTP frame flags */
enum { C_MORE = 1, C_CMD = 2 };             /* flags inside a CURVE MESSAGE */
enum { TRY_REFUSED = 1, TRY_DROPPED = 2 };  /* one connection's outcomes, besides MLQ_E* */

struct zconn {
    int fd;
    int64_t deadline; /* monotonic ms; -1: none */
    const char *endpoint;
    bool curve;
    bool sent; /* the request is out: a close now is no dropped handshake */
    uint8_t srv[KEY_LEN], pub[KEY_LEN], sec[KEY_LEN];     /* S, C */
    uint8_t epub[KEY_LEN], esec[KEY_LEN], speer[KEY_LEN]; /* C', S' */
    uint8_t shared[crypto_box_BEFORENMBYTES];             /* C' with S' */
    uint64_t nonce, peer_nonce;
};

struct obuf {
    uint8_t *p;
    size_t n, cap;
};

/* ---- bytes -------------------------------------------------------------- */

static void put_be64(uint8_t *p, uint64_t v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        p[i] = (uint8_t)v;
}

static uint64_t get_be64(const uint8_t *p)
{
    uint64_t v = 0;
    for (int i = 0; i < 8; i++)
        v = (v << 8) | p[i];
    return v;
}

static int ob_put(struct obuf *b, const void *d, size_t n, struct mlq_err *err)
{
    if (b->n + n > b->cap) {
        size_t cap = (b->n + n) * 2;
        uint8_t *p = realloc(b->p, cap);
        if (!p)
            return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->n, d, n);
    b->n += n;
    return 0;
}

/* A frame's header: flags, then a 1-byte or a big-endian 8-byte size. */
static int ob_frame_hdr(struct obuf *b, uint8_t flags, size_t len, struct mlq_err *err)
{
    uint8_t h[9] = {flags};
    if (len <= 255) {
        h[1] = (uint8_t)len;
        return ob_put(b, h, 2, err);
    }
    h[0] |= F_LONG;
    put_be64(h + 1, len);
    return ob_put(b, h, 9, err);
}

/* ---- socket I/O under the deadline -------------------------------------- */

static int64_t left_ms(const struct zconn *c)
{
    if (c->deadline < 0)
        return -1;
    int64_t left = c->deadline - mlq_clock_mono_ms();
    return left > 0 ? left : 0;
}

static int io_wait(struct zconn *c, short events, struct mlq_err *err)
{
    struct pollfd p = {.fd = c->fd, .events = events};
    for (;;) {
        int64_t left = left_ms(c);
        int rc = poll(&p, 1, left > INT32_MAX ? INT32_MAX : (int)left);
        if (rc > 0)
            return 0;
        if (rc == 0)
            return mlq_err_set(err, MLQ_EUNREACH, "no answer from the scheduler at %s",
                               c->endpoint);
        if (errno != EINTR)
            return mlq_err_set(err, MLQ_EIO, "cannot poll: %s", strerror(errno));
    }
}

/* The peer closed: before the request went out, a dropped handshake (tried
 * again); after it, the request is lost with the connection. */
static int closed(const struct zconn *c, struct mlq_err *err)
{
    if (!c->sent)
        return TRY_DROPPED;
    return mlq_err_set(err, MLQ_EUNREACH, "the scheduler at %s closed the connection", c->endpoint);
}

static int write_all(struct zconn *c, const uint8_t *p, size_t n, struct mlq_err *err)
{
    while (n > 0) {
        ssize_t w = send(c->fd, p, n, MSG_NOSIGNAL);
        if (w > 0) {
            p += w;
            n -= (size_t)w;
        } else if (errno == EAGAIN || errno == EINTR) {
            int rc = io_wait(c, POLLOUT, err);
            if (rc < 0)
                return rc;
        } else if (errno == EPIPE || errno == ECONNRESET) {
            return closed(c, err);
        } else {
            return mlq_err_set(err, MLQ_EIO, "cannot send to %s: %s", c->endpoint, strerror(errno));
        }
    }
    return 0;
}

static int read_all(struct zconn *c, uint8_t *p, size_t n, struct mlq_err *err)
{
    while (n > 0) {
        ssize_t r = recv(c->fd, p, n, 0);
        if (r > 0) {
            p += r;
            n -= (size_t)r;
        } else if (r == 0 || errno == ECONNRESET) {
            return closed(c, err);
        } else if (errno == EAGAIN || errno == EINTR) {
            int rc = io_wait(c, POLLIN, err);
            if (rc < 0)
                return rc;
        } else {
            return mlq_err_set(err, MLQ_EIO, "cannot receive from %s: %s", c->endpoint,
                               strerror(errno));
        }
    }
    return 0;
}

static int flush(struct zconn *c, struct obuf *b, struct mlq_err *err)
{
    int rc = write_all(c, b->p, b->n, err);
    b->n = 0;
    return rc;
}

/* Reads one frame of at most max bytes into *data (malloc'ed). */
static int read_frame(struct zconn *c, uint8_t *flags, uint8_t **data, size_t *len, uint64_t max,
                      struct mlq_err *err)
{
    uint8_t h[9];
    *flags = 0;
    *data = NULL;
    *len = 0;
    int rc = read_all(c, h, 2, err);
    if (rc == 0 && (h[0] & F_LONG))
        rc = read_all(c, h + 2, 7, err);
    if (rc != 0)
        return rc;
    uint64_t n = (h[0] & F_LONG) ? get_be64(h + 1) : h[1];
    if (n > max)
        return mlq_err_set(err, MLQ_EPROTO, "frame of %llu bytes from %s exceeds %llu",
                           (unsigned long long)n, c->endpoint, (unsigned long long)max);
    *flags = h[0];
    *len = (size_t)n;
    *data = malloc(n ? n : 1);
    if (!*data)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    rc = read_all(c, *data, *len, err);
    if (rc != 0) {
        free(*data);
        *data = NULL;
    }
    return rc;
}

/* ---- connecting --------------------------------------------------------- */

static int tcp_addr(const char *hostport, struct addrinfo **ai, struct mlq_err *err)
{
    char host[256];
    const char *colon = strrchr(hostport, ':');
    size_t hl = colon ? (size_t)(colon - hostport) : 0;
    if (!colon || hl == 0 || hl >= sizeof host)
        return mlq_err_set(err, MLQ_EINVAL, "bad scheduler address tcp://%.100s", hostport);
    if (hostport[0] == '[' && hl >= 2 && hostport[hl - 1] == ']') {
        hostport++;
        hl -= 2;
    }
    memcpy(host, hostport, hl);
    host[hl] = '\0';
    struct addrinfo hints = {.ai_socktype = SOCK_STREAM, .ai_flags = AI_NUMERICSERV};
    int rc = getaddrinfo(host, colon + 1, &hints, ai);
    if (rc != 0)
        return mlq_err_set(err, MLQ_EINVAL, "cannot resolve %s: %s", host, gai_strerror(rc));
    return 0;
}

static int start_connect(struct zconn *c, const struct sockaddr *sa, socklen_t len,
                         struct mlq_err *err)
{
    c->fd = socket(sa->sa_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
    if (c->fd < 0)
        return mlq_err_set(err, MLQ_EIO, "cannot create a socket: %s", strerror(errno));
    int one = 1;
    /* frames go out whole, each flush one write: no reason to wait for acks */
    if (sa->sa_family != AF_UNIX)
        setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
    if (connect(c->fd, sa, len) == 0)
        return 0;
    if (errno != EINPROGRESS && errno != EAGAIN)
        return TRY_REFUSED;
    int rc = io_wait(c, POLLOUT, err);
    if (rc < 0)
        return rc;
    int soerr = 0;
    socklen_t sl = sizeof soerr;
    getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &soerr, &sl);
    return soerr == 0 ? 0 : TRY_REFUSED;
}

/* Connects c->fd to the endpoint: 0, TRY_REFUSED (any failed connect, as
 * libzmq counts them) or an error. */
static int open_conn(struct zconn *c, struct mlq_err *err)
{
    if (strncmp(c->endpoint, "ipc://", 6) == 0) {
        struct sockaddr_un un = {.sun_family = AF_UNIX};
        const char *path = c->endpoint + 6;
        if (path[0] == '\0' || strlen(path) >= sizeof un.sun_path)
            return mlq_err_set(err, MLQ_EINVAL, "bad scheduler address %.100s", c->endpoint);
        memcpy(un.sun_path, path, strlen(path));
        return start_connect(c, (struct sockaddr *)&un, sizeof un, err);
    }
    struct addrinfo *ai;
    int rc = tcp_addr(c->endpoint + 6, &ai, err);
    if (rc < 0)
        return rc;
    rc = start_connect(c, ai->ai_addr, ai->ai_addrlen, err);
    freeaddrinfo(ai);
    return rc;
}

bool mlq_zmtp_handles(const char *endpoint)
{
    return endpoint && (strncmp(endpoint, "tcp://", 6) == 0 || strncmp(endpoint, "ipc://", 6) == 0);
}

/* ---- greeting and handshake commands ------------------------------------ */

static int greet(struct zconn *c, struct mlq_err *err)
{
    /* signature (0xFF, 8 bytes of ZMTP 1.0 length, 0x7F), version 3.1 */
    uint8_t g[GREETING_LEN] = {0xff, 0, 0, 0, 0, 0, 0, 0, 1, 0x7f, 3, 1};
    const char *mech = c->curve ? "CURVE" : "NULL";
    memcpy(g + 12, mech, strlen(mech));
    uint8_t peer[GREETING_LEN];
    /* As libzmq does: the signature and major version first, the rest once
     * the peer's mechanism is known to match (a server that sees another
     * mechanism closes at once, and its greeting may go down with it). */
    int rc = write_all(c, g, 11, err);
    if (rc == 0)
        rc = read_all(c, peer, sizeof peer, err);
    if (rc != 0)
        return rc;
    if (peer[0] != 0xff || peer[9] != 0x7f || peer[10] < 3)
        return mlq_err_set(err, MLQ_EPROTO, "%s does not speak ZMTP 3", c->endpoint);
    if (memcmp(peer + 12, g + 12, 20) != 0)
        return mlq_err_set(err, MLQ_EPROTO,
                           "the scheduler at %s %s CURVE: security settings differ", c->endpoint,
                           c->curve ? "does not use" : "requires");
    return write_all(c, g + 11, sizeof g - 11, err);
}

static int send_cmd(struct zconn *c, const uint8_t *body, size_t len, struct mlq_err *err)
{
    struct obuf b = {0};
    int rc = ob_frame_hdr(&b, F_CMD, len, err);
    if (rc == 0)
        rc = ob_put(&b, body, len, err);
    if (rc == 0)
        rc = flush(c, &b, err);
    free(b.p);
    return rc;
}

/* An ERROR command (the ZAP handler refused us) becomes MLQ_EPERM. */
static int check_error_cmd(const struct zconn *c, const uint8_t *d, size_t n, struct mlq_err *err)
{
    if (n < 7 || memcmp(d,
                        "\x05"
                        "ERROR",
                        6) != 0)
        return 0;
    int rl = d[6] <= n - 7 ? d[6] : (int)(n - 7);
    return mlq_err_set(err, MLQ_EPERM,
                       "not authorized by the scheduler at %s: it refused this key (%.*s)",
                       c->endpoint, rl, (const char *)d + 7);
}

/* Reads the next handshake command; *d is the caller's to free. */
static int recv_cmd(struct zconn *c, uint8_t **d, size_t *n, struct mlq_err *err)
{
    uint8_t flags;
    int rc = read_frame(c, &flags, d, n, CMD_MAX, err);
    if (rc != 0)
        return rc;
    if (!(flags & F_CMD))
        rc = mlq_err_set(err, MLQ_EPROTO, "%s sent data during the handshake", c->endpoint);
    else
        rc = check_error_cmd(c, *d, *n, err);
    if (rc != 0) {
        free(*d);
        *d = NULL;
    }
    return rc;
}

/* Socket-Type DEALER and an empty Identity, as a libzmq DEALER says. */
static size_t put_metadata(uint8_t *p)
{
    static const uint8_t md[] = "\x0bSocket-Type\0\0\0\x06"
                                "DEALER"
                                "\x08Identity\0\0\0\0";
    memcpy(p, md, sizeof md - 1);
    return sizeof md - 1;
}

static int null_handshake(struct zconn *c, struct mlq_err *err)
{
    uint8_t ready[64] = "\x05READY";
    size_t n = 6 + put_metadata(ready + 6);
    uint8_t *d = NULL;
    int rc = send_cmd(c, ready, n, err);
    if (rc == 0)
        rc = recv_cmd(c, &d, &n, err);
    if (rc == 0 && (n < 6 || memcmp(d, "\x05READY", 6) != 0))
        rc = mlq_err_set(err, MLQ_EPROTO, "%s sent no READY", c->endpoint);
    free(d);
    return rc;
}

/* ---- CURVE handshake ---------------------------------------------------- */

static void nonce24(uint8_t n[24], const char *prefix16, uint64_t v)
{
    memcpy(n, prefix16, 16);
    put_be64(n + 16, v);
}

static int curve_hello(struct zconn *c, struct mlq_err *err)
{
    uint8_t cmd[200] = "\x05HELLO\x01";
    uint8_t zero[64] = {0}, nonce[24];
    crypto_box_keypair(c->epub, c->esec);
    memcpy(cmd + 80, c->epub, KEY_LEN);
    nonce24(nonce, "CurveZMQHELLO---", c->nonce);
    put_be64(cmd + 112, c->nonce++);
    if (crypto_box_easy(cmd + 120, zero, sizeof zero, nonce, c->srv, c->esec) != 0)
        return mlq_err_set(err, MLQ_EPROTO, "cannot seal HELLO");
    return send_cmd(c, cmd, sizeof cmd, err);
}

static int curve_welcome(struct zconn *c, uint8_t cookie[COOKIE_LEN], struct mlq_err *err)
{
    uint8_t *d, plain[KEY_LEN + COOKIE_LEN], nonce[24];
    size_t n;
    int rc = recv_cmd(c, &d, &n, err);
    if (rc != 0)
        return rc;
    if (n != 168 || memcmp(d, "\x07WELCOME", 8) != 0) {
        free(d);
        return mlq_err_set(err, MLQ_EPROTO, "%s sent no WELCOME", c->endpoint);
    }
    memcpy(nonce, "WELCOME-", 8);
    memcpy(nonce + 8, d + 8, 16);
    rc = crypto_box_open_easy(plain, d + 24, 144, nonce, c->srv, c->esec);
    free(d);
    if (rc != 0)
        return mlq_err_set(err, MLQ_EPROTO, "the WELCOME of %s does not open", c->endpoint);
    memcpy(c->speer, plain, KEY_LEN);
    memcpy(cookie, plain + KEY_LEN, COOKIE_LEN);
    if (crypto_box_beforenm(c->shared, c->speer, c->esec) != 0)
        return mlq_err_set(err, MLQ_EPROTO, "bad short-term key from %s", c->endpoint);
    return 0;
}

/* INITIATE: the cookie, then Box[C + vouch + metadata](C'->S'), the vouch
 * being Box[C',S](C->S') under a long nonce. */
static int curve_initiate(struct zconn *c, const uint8_t cookie[COOKIE_LEN], struct mlq_err *err)
{
    uint8_t vplain[2 * KEY_LEN], vnonce[24] = "VOUCH---", plain[256], nonce[24];
    uint8_t cmd[113 + BOX_MAC + sizeof plain] = "\x08INITIATE";
    memcpy(vplain, c->epub, KEY_LEN);
    memcpy(vplain + KEY_LEN, c->srv, KEY_LEN);
    randombytes_buf(vnonce + 8, 16);
    memcpy(plain, c->pub, KEY_LEN);
    memcpy(plain + 32, vnonce + 8, 16);
    if (crypto_box_easy(plain + 48, vplain, sizeof vplain, vnonce, c->speer, c->sec) != 0)
        return mlq_err_set(err, MLQ_EPROTO, "cannot seal the vouch");
    size_t pn = 128 + put_metadata(plain + 128);
    memcpy(cmd + 9, cookie, COOKIE_LEN);
    nonce24(nonce, "CurveZMQINITIATE", c->nonce);
    put_be64(cmd + 105, c->nonce++);
    if (crypto_box_easy(cmd + 113, plain, pn, nonce, c->speer, c->esec) != 0)
        return mlq_err_set(err, MLQ_EPROTO, "cannot seal INITIATE");
    return send_cmd(c, cmd, 113 + BOX_MAC + pn, err);
}

static int curve_ready(struct zconn *c, struct mlq_err *err)
{
    uint8_t *d, plain[CMD_MAX], nonce[24];
    size_t n;
    int rc = recv_cmd(c, &d, &n, err);
    if (rc != 0)
        return rc;
    if (n < 14 + BOX_MAC || memcmp(d, "\x05READY", 6) != 0) {
        free(d);
        return mlq_err_set(err, MLQ_EPROTO, "%s sent no READY", c->endpoint);
    }
    c->peer_nonce = get_be64(d + 6);
    nonce24(nonce, "CurveZMQREADY---", c->peer_nonce);
    rc = crypto_box_open_easy_afternm(plain, d + 14, n - 14, nonce, c->shared);
    free(d);
    if (rc != 0)
        return mlq_err_set(err, MLQ_EPROTO, "the READY of %s does not open", c->endpoint);
    return 0;
}

static int curve_handshake(struct zconn *c, struct mlq_err *err)
{
    uint8_t cookie[COOKIE_LEN];
    int rc = curve_hello(c, err);
    if (rc == 0)
        rc = curve_welcome(c, cookie, err);
    if (rc == 0)
        rc = curve_initiate(c, cookie, err);
    if (rc == 0)
        rc = curve_ready(c, err);
    return rc;
}

/* ---- frames after the handshake ----------------------------------------- */

/* Appends one frame (flags: C_MORE, C_CMD) to b, boxed under CURVE. */
static int put_frame(struct zconn *c, struct obuf *b, uint8_t flags, const void *d, size_t n,
                     struct mlq_err *err)
{
    if (!c->curve) {
        uint8_t f = (flags & C_MORE ? F_MORE : 0) | (flags & C_CMD ? F_CMD : 0);
        int rc = ob_frame_hdr(b, f, n, err);
        return rc == 0 ? ob_put(b, d, n, err) : rc;
    }
    uint8_t *plain = malloc(n + 1), *box = malloc(MSG_HDR + BOX_MAC + n + 1), nonce[24];
    int rc = plain && box ? 0 : mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    if (rc == 0) {
        plain[0] = flags;
        memcpy(plain + 1, d, n);
        memcpy(box, "\x07MESSAGE", 8);
        nonce24(nonce, "CurveZMQMESSAGEC", c->nonce);
        put_be64(box + 8, c->nonce++);
        crypto_box_easy_afternm(box + MSG_HDR, plain, n + 1, nonce, c->shared);
        rc = ob_frame_hdr(b, 0, MSG_HDR + BOX_MAC + n + 1, err);
    }
    if (rc == 0)
        rc = ob_put(b, box, MSG_HDR + BOX_MAC + n + 1, err);
    free(plain);
    free(box);
    return rc;
}

/* Opens a MESSAGE box in place: *d becomes the frame's data. */
static int open_box(struct zconn *c, uint8_t *d, size_t *n, uint8_t *flags, struct mlq_err *err)
{
    uint8_t nonce[24];
    if (*n < MSG_HDR + BOX_MAC + 1 || memcmp(d, "\x07MESSAGE", 8) != 0)
        return mlq_err_set(err, MLQ_EPROTO, "%s sent a frame that is not a MESSAGE", c->endpoint);
    uint64_t v = get_be64(d + 8);
    if (v <= c->peer_nonce)
        return mlq_err_set(err, MLQ_EPROTO, "%s repeated a nonce", c->endpoint);
    c->peer_nonce = v;
    nonce24(nonce, "CurveZMQMESSAGES", v);
    size_t pn = *n - MSG_HDR - BOX_MAC;
    if (crypto_box_open_easy_afternm(d, d + MSG_HDR, *n - MSG_HDR, nonce, c->shared) != 0)
        return mlq_err_set(err, MLQ_EPROTO, "a MESSAGE of %s does not open", c->endpoint);
    *flags = d[0];
    memmove(d, d + 1, pn - 1);
    *n = pn - 1;
    return 0;
}

/* Reads the next frame: *flags holds C_MORE and C_CMD. */
static int read_data(struct zconn *c, uint8_t **d, size_t *n, uint8_t *flags, struct mlq_err *err)
{
    uint8_t wf = 0;
    int rc = read_frame(c, &wf, d, n, FRAME_MAX, err);
    if (rc != 0)
        return rc;
    if (c->curve && !(wf & F_CMD))
        rc = open_box(c, *d, n, flags, err);
    else
        *flags = (wf & F_MORE ? C_MORE : 0) | (wf & F_CMD ? C_CMD : 0);
    if (rc != 0) {
        free(*d);
        *d = NULL;
    }
    return rc;
}

/* A PING (name, 2-byte TTL, up to 16 bytes of context) gets a PONG with its
 * context; other commands are ignored. */
static int on_command(struct zconn *c, const uint8_t *d, size_t n, struct mlq_err *err)
{
    if (n < 7 || n > 7 + 16 || memcmp(d, "\x04PING", 5) != 0)
        return 0;
    uint8_t pong[5 + 16] = "\x04PONG";
    memcpy(pong + 5, d + 7, n - 7);
    struct obuf b = {0};
    int rc = put_frame(c, &b, C_CMD, pong, 5 + (n - 7), err);
    if (rc == 0)
        rc = flush(c, &b, err);
    free(b.p);
    return rc;
}

/* Receives one message, which must be [empty, body]; *body is malloc'ed. */
static int recv_reply(struct zconn *c, void **body, size_t *blen, struct mlq_err *err)
{
    int frames = 0, rc = 0;
    bool delim_ok = false, more = true;
    *body = NULL;
    while (rc == 0 && more) {
        uint8_t *d = NULL, flags = 0;
        size_t n = 0;
        if ((rc = read_data(c, &d, &n, &flags, err)) != 0)
            break;
        if (flags & C_CMD) {
            rc = on_command(c, d, n, err);
            free(d);
            continue;
        }
        more = flags & C_MORE;
        if (++frames == 1)
            delim_ok = n == 0;
        if (frames == 2) {
            *body = d;
            *blen = n;
        } else {
            free(d);
        }
    }
    if (rc == 0 && (frames != 2 || !delim_ok))
        rc = mlq_err_set(err, MLQ_EPROTO, "malformed message: %d frames, expected delimiter + body",
                         frames);
    if (rc != 0) {
        free(*body);
        *body = NULL;
    }
    return rc;
}

/* ---- one request -------------------------------------------------------- */

static int send_request(struct zconn *c, const void *body, size_t len, struct mlq_err *err)
{
    struct obuf b = {0};
    int rc = put_frame(c, &b, C_MORE, "", 0, err);
    if (rc == 0)
        rc = put_frame(c, &b, 0, body, len, err);
    if (rc == 0)
        rc = flush(c, &b, err);
    free(b.p);
    c->sent = rc == 0;
    return rc;
}

/* One connection: connect, greet, handshake, request, reply. */
static int try_once(struct zconn *c, const void *body, size_t len, void **reply, size_t *rlen,
                    struct mlq_err *err)
{
    c->sent = false;
    c->nonce = 1;
    c->peer_nonce = 0;
    int rc = open_conn(c, err);
    if (rc == 0)
        rc = greet(c, err);
    if (rc == 0)
        rc = c->curve ? curve_handshake(c, err) : null_handshake(c, err);
    if (rc == 0)
        rc = send_request(c, body, len, err);
    if (rc == 0)
        rc = recv_reply(c, reply, rlen, err);
    if (c->fd >= 0)
        close(c->fd);
    c->fd = -1;
    return rc;
}

static int load_keys(struct zconn *c, const struct mlq_curve *k, struct mlq_err *err)
{
    if (!mlq_keys_z85_to_bin(k->server_public, c->srv) ||
        !mlq_keys_z85_to_bin(k->own_public, c->pub) || !mlq_keys_z85_to_bin(k->own_secret, c->sec))
        return mlq_err_set(err, MLQ_EINVAL, "invalid CURVE key (expected 40 z85 characters)");
    if (sodium_init() < 0)
        return mlq_err_set(err, MLQ_EIO, "cannot initialise libsodium");
    return 0;
}

static void sleep_ms(int64_t ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/* After a refused connect or a dropped handshake: the error that ends the
 * request, or 0 to try again in RETRY_MS. */
static int judge_retry(struct zconn *c, int rc, int64_t *refused_since, int *dropped,
                       struct mlq_err *err)
{
    int64_t now = mlq_clock_mono_ms();
    if (rc == TRY_REFUSED && *refused_since == 0)
        *refused_since = now;
    if (rc == TRY_DROPPED)
        *refused_since = 0;
    if (rc == TRY_REFUSED && now - *refused_since >= REFUSED_MS)
        return mlq_err_set(err, MLQ_ENOLISTEN, "nothing listening at %s: is mlq-scheduler running?",
                           c->endpoint);
    if (rc == TRY_DROPPED && ++*dropped >= DROPPED_MAX)
        return mlq_err_set(err, MLQ_EPROTO, "the scheduler at %s drops the %shandshake%s",
                           c->endpoint, c->curve ? "CURVE " : "",
                           c->curve ? ": is its public key the one configured?" : "");
    int64_t left = left_ms(c);
    if (left >= 0 && left < RETRY_MS) {
        sleep_ms(left);
        return mlq_err_set(err, MLQ_EUNREACH, "no answer from the scheduler at %s", c->endpoint);
    }
    sleep_ms(RETRY_MS);
    return 0;
}

int mlq_zmtp_request(const char *endpoint, const struct mlq_curve *curve, const void *body,
                     size_t len, void **reply, size_t *reply_len, int timeout_ms,
                     struct mlq_err *err)
{
    *reply = NULL;
    *reply_len = 0;
    if (!mlq_zmtp_handles(endpoint))
        return mlq_err_set(err, MLQ_EINVAL, "not a tcp:// or ipc:// address: %.100s", endpoint);
    struct zconn c = {.fd = -1, .endpoint = endpoint, .curve = curve != NULL};
    c.deadline = timeout_ms >= 0 ? mlq_clock_mono_ms() + timeout_ms : -1;
    int rc = curve ? load_keys(&c, curve, err) : 0;
    int64_t refused_since = 0;
    int dropped = 0;
    while (rc == 0) {
        rc = try_once(&c, body, len, reply, reply_len, err);
        if (rc == 0)
            break;
        if (rc == TRY_REFUSED || rc == TRY_DROPPED)
            rc = judge_retry(&c, rc, &refused_since, &dropped, err);
    }
    sodium_memzero(&c, sizeof c);
    return rc;
}
