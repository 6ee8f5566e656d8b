/* transport: ZeroMQ socket setup and framed send/receive.
 *
 * Every socket gets ZMQ_MAXMSGSIZE = MLQ_MAX_MSG, linger 0..1 s, and ZMTP
 * heartbeats so dead TCP peers are noticed. The scheduler binds one ROUTER
 * (ZMQ_ROUTER_MANDATORY set); workers and the CLI connect DEALERs. A message
 * on a DEALER is [empty delimiter][body]; on the ROUTER side
 * [routing id][empty][body]. */
#ifndef MLQ_TRANSPORT_H
#define MLQ_TRANSPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "proto.h"

#define MLQ_ROUTING_ID_MAX 255

/* Routing id of a peer as seen by a ROUTER socket. */
struct mlq_peer {
    uint8_t id[MLQ_ROUTING_ID_MAX];
    size_t len;
};

/* True when a tcp:// endpoint's host is a loopback address (127.0.0.0/8,
 * ::1 or "localhost"); ipc:// and inproc:// count as local too. */
bool mlq_transport_is_local(const char *endpoint);

/* ROUTER bound to endpoint. */
int mlq_transport_router(void *zctx, const char *endpoint, void **out, struct mlq_err *err);
/* DEALER connected to endpoint. */
int mlq_transport_dealer(void *zctx, const char *endpoint, void **out, struct mlq_err *err);

/* DEALER side: encode and send msg (non-blocking; MLQ_EUNAVAIL if it would
 * block). */
int mlq_transport_send(void *sock, const struct mlq_msg *msg, struct mlq_err *err);
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
 * back) and *msg holds nothing. */
int mlq_transport_recv_from(void *sock, struct mlq_peer *peer, struct mlq_msg *msg,
                            struct mlq_err *err);

/* Client convenience: send req on a fresh DEALER to endpoint, wait up to
 * timeout_ms for the reply with the same rid. MLQ_EUNREACH when none came. */
int mlq_transport_request(void *zctx, const char *endpoint, const struct mlq_msg *req,
                          struct mlq_msg *reply, int timeout_ms, struct mlq_err *err);

#endif
