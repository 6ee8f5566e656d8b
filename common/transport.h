/* transport: ZeroMQ socket setup and framed send/receive.
 *
 * Every socket gets ZMQ_MAXMSGSIZE = MLQ_MAX_BULK_MSG (+ CURVE framing; the
 * decoder holds all but the bulk types to MLQ_MAX_MSG), linger 0..1 s, and ZMTP
 * heartbeats so dead TCP peers are noticed. The scheduler binds one ROUTER
 * (ZMQ_ROUTER_MANDATORY set); workers and the CLI connect DEALERs. A message
 * on a DEALER is [empty delimiter][body]; on the ROUTER side
 * [routing id][empty][body].
 *
 * With CURVE (the *_curve constructors), the ROUTER is a CURVE server in ZAP
 * domain "mlq": every client key is put to the ZAP handler bound at
 * MLQ_ZAP_ENDPOINT in the same context (scheduler/zap.h), and the identity
 * it answers reaches each received message as mlq_peer.user_id. A CURVE
 * server without a ZAP handler would accept any key, so the constructor
 * refuses to bind when none is bound. */
#ifndef MLQ_TRANSPORT_H
#define MLQ_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "keys.h"
#include "proto.h"

#define MLQ_ROUTING_ID_MAX 255
#define MLQ_PEER_USER_MAX  160 /* identity from ZAP ("user:alice"), with its NUL */
#define MLQ_ZAP_DOMAIN     "mlq"
#define MLQ_ZAP_ENDPOINT   "inproc://zeromq.zap.01" /* fixed by ZMQ RFC 27 */

/* Routing id of a peer as seen by a ROUTER socket, and the identity the ZAP
 * handler gave its key ("" without CURVE). Authorise by user_id, never by
 * the routing id, which the peer chooses. */
struct mlq_peer {
    uint8_t id[MLQ_ROUTING_ID_MAX];
    size_t len;
    char user_id[MLQ_PEER_USER_MAX];
    bool local; /* came over the scheduler's in-process API socket (HTTP) */
};

/* What a CURVE client needs: the server's public key and its own pair, all
 * z85. */
struct mlq_curve {
    char server_public[MLQ_KEY_Z85_SIZE];
    char own_public[MLQ_KEY_Z85_SIZE];
    char own_secret[MLQ_KEY_Z85_SIZE];
};

/* Handshake watcher of one client socket (see mlq_transport_dealer_watched). */
struct mlq_watch;

/* True when a tcp:// endpoint's host is a loopback address (127.0.0.0/8,
 * ::1 or "localhost"); ipc:// and inproc:// count as local too. */
bool mlq_transport_is_local(const char *endpoint);

/* ROUTER bound to endpoint. */
int mlq_transport_router(void *zctx, const char *endpoint, void **out, struct mlq_err *err);
/* DEALER connected to endpoint. */
int mlq_transport_dealer(void *zctx, const char *endpoint, void **out, struct mlq_err *err);

/* CURVE server ROUTER bound to endpoint, with own's secret key and ZAP
 * domain MLQ_ZAP_DOMAIN set before the bind. MLQ_ESTATE when no ZAP handler
 * is bound in zctx; MLQ_EINVAL for an invalid key. */
int mlq_transport_router_curve(void *zctx, const char *endpoint, const struct mlq_keypair *own,
                               void **out, struct mlq_err *err);
/* CURVE client DEALER connected to endpoint; server_public is the
 * scheduler's public key (z85). */
int mlq_transport_dealer_curve(void *zctx, const char *endpoint, const char *server_public,
                               const struct mlq_keypair *own, void **out, struct mlq_err *err);

/* DEALER connected to endpoint (with CURVE when curve is non-NULL) whose
 * handshakes are watched from before the connect. Poll
 * mlq_transport_watch_socket(*watch) beside *sock and call
 * mlq_transport_watch_check() when it is readable. Destroy the watch before
 * closing the socket. */
int mlq_transport_dealer_watched(void *zctx, const char *endpoint, const struct mlq_curve *curve,
                                 void **sock, struct mlq_watch **watch, struct mlq_err *err);
/* The watch's socket, for zmq_poll (ZMQ_POLLIN). */
void *mlq_transport_watch_socket(struct mlq_watch *w);
/* Reads the queued handshake events without waiting. 0 while nothing is
 * wrong; MLQ_EPERM "not authorized by the scheduler at ENDPOINT" when the
 * server refused our key; MLQ_EPROTO when the security mechanisms differ
 * (CURVE against plain) or the server keeps dropping the CURVE handshake
 * (the usual sign of a wrong server public key). */
int mlq_transport_watch_check(struct mlq_watch *w, struct mlq_err *err);
/* When a connect was first refused (monotonic ms) while no connection is
 * up, 0 when none was or one is up now: nothing listens at the endpoint. */
int64_t mlq_transport_watch_refused_since(const struct mlq_watch *w);
/* Stops watching and frees *w (NULL is fine); nulls *w. */
void mlq_transport_watch_destroy(struct mlq_watch **w);

/* DEALER side: encode and send msg (non-blocking; MLQ_EUNAVAIL if it would
 * block). */
int mlq_transport_send(void *sock, const struct mlq_msg *msg, struct mlq_err *err);
/* DEALER side: send an already encoded body (what names it in errors). */
int mlq_transport_send_body(void *sock, const char *what, const void *body, size_t len,
                            struct mlq_err *err);
/* DEALER side: receive and decode one message, waiting at most timeout_ms
 * (-1 forever, 0 no wait). MLQ_EUNAVAIL on timeout; MLQ_EPROTO on a bad body
 * (the frames are consumed). */
int mlq_transport_recv(void *sock, struct mlq_msg *msg, int timeout_ms, struct mlq_err *err);

/* ROUTER side: send msg to peer. MLQ_EUNAVAIL when the peer is gone. */
int mlq_transport_send_to(void *sock, const struct mlq_peer *peer, const struct mlq_msg *msg,
                          struct mlq_err *err);
/* ROUTER side: send an already encoded body to peer. */
int mlq_transport_send_raw(void *sock, const struct mlq_peer *peer, const void *body, size_t len,
                           struct mlq_err *err);
/* ROUTER side: receive one message without waiting. Returns MLQ_EUNAVAIL when
 * none is queued. On MLQ_EPROTO, *peer is filled (so an error can be sent
 * back) and *msg holds nothing. peer->user_id is the message's "User-Id"
 * metadata (the ZAP identity), "" when it has none. */
int mlq_transport_recv_from(void *sock, struct mlq_peer *peer, struct mlq_msg *msg,
                            struct mlq_err *err);

/* Client convenience: send req on a fresh DEALER to endpoint, wait up to
 * timeout_ms for the reply with the same rid. MLQ_EUNREACH when none came. */
int mlq_transport_request(void *zctx, const char *endpoint, const struct mlq_msg *req,
                          struct mlq_msg *reply, int timeout_ms, struct mlq_err *err);
/* Like mlq_transport_request, over CURVE when curve is non-NULL, and
 * failing fast when the handshake fails (see mlq_transport_watch_check):
 * MLQ_EPERM when the scheduler refuses our key, MLQ_EPROTO on a security
 * mismatch, MLQ_ENOLISTEN ("nothing listening at ENDPOINT: ...") when every
 * connect has been refused for about a second (TCP port closed, no ipc
 * socket file), rather than waiting out timeout_ms. */
int mlq_transport_request_curve(void *zctx, const char *endpoint, const struct mlq_curve *curve,
                                const struct mlq_msg *req, struct mlq_msg *reply, int timeout_ms,
                                struct mlq_err *err);

/* One client's connection to a scheduler, kept from one request to the
 * next, so that only the first pays the connect and CURVE handshake. */
struct mlq_link;

/* Like mlq_transport_request_curve, on *link: made on the first call (or
 * made again when endpoint or curve differ from the ones it was made
 * with), kept while requests get replies; closed and nulled after any
 * other outcome (no answer, a failed handshake), so that the next request
 * starts afresh. Replies to earlier requests on it are dropped by rid. */
int mlq_transport_link_request(void *zctx, struct mlq_link **link, const char *endpoint,
                               const struct mlq_curve *curve, const struct mlq_msg *req,
                               struct mlq_msg *reply, int timeout_ms, struct mlq_err *err);
/* Closes *link without linger (NULL is fine) and wipes its keys. */
void mlq_transport_link_close(struct mlq_link **link);

#endif
