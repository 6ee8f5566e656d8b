/* zap: the scheduler's ZAP handler (ZMQ RFC 27, ZAP 1.0).
 *
 * A CURVE server asks the handler bound at MLQ_ZAP_ENDPOINT, in its own
 * ZeroMQ context, whether each client key may connect. The scheduler runs
 * it on a thread of its own (mlq_zap_start), so that a handshake never
 * waits for the loop's thread; until started, its socket may be polled by
 * the creating thread and mlq_zap_handle() answers what is queued. The
 * lookup must then be safe to call from that thread while others change
 * the keys (mlq_auth_lookup is). Only domain "mlq" and
 * mechanism CURVE are accepted; the lookup callback turns a client key into
 * an identity ("user:alice", "admin:root", "worker:w1"), which the CURVE
 * router then attaches to every message of that connection
 * (mlq_peer.user_id). A handshake waits until its request is answered. */
#ifndef MLQ_ZAP_H
#define MLQ_ZAP_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "keys.h"
#include "transport.h"

/* Looks up a client's public key (z85, 40 characters). Returns 0 and fills
 * user_id (len bytes, NUL-terminated, non-empty) to let it in; -1 to
 * refuse it. */
typedef int (*mlq_zap_lookup_fn)(void *ctx, const char *key_z85, char *user_id, size_t len);

struct mlq_zap;

/* Requests answered so far, by outcome. */
struct mlq_zap_stats {
    uint64_t accepted;  /* 200 */
    uint64_t refused;   /* 400: unknown key, wrong domain or mechanism */
    uint64_t malformed; /* 500: not a ZAP 1.0 request we can read */
    uint64_t failures;  /* receives or replies that failed on the handler's thread */
};

/* Binds the handler in zctx; lookup(ctx, ...) decides on keys. MLQ_ESTATE
 * when another handler is already bound there. Create it before any CURVE
 * router (mlq_transport_router_curve insists). */
int mlq_zap_create(void *zctx, mlq_zap_lookup_fn lookup, void *ctx, struct mlq_zap **out,
                   struct mlq_err *err);

/* The socket to poll for ZMQ_POLLIN; not once the handler is started. */
void *mlq_zap_socket(struct mlq_zap *zap);

/* Answers the queued requests without blocking (at most a bounded batch per
 * call, so a flood of handshakes cannot starve the loop; poll again for the
 * rest). Returns how many were answered, or MLQ_EIO when the socket fails.
 * Not once the handler is started. */
int mlq_zap_handle(struct mlq_zap *zap);

/* Answers every request from now on on a thread of its own, with all
 * signals blocked, until mlq_zap_destroy(). */
int mlq_zap_start(struct mlq_zap *zap, struct mlq_err *err);

/* May be called from any thread, started or not. */
void mlq_zap_stats(const struct mlq_zap *zap, struct mlq_zap_stats *out);

/* Stops the thread when started, then unbinds and frees *zap (NULL is
 * fine); nulls *zap. */
void mlq_zap_destroy(struct mlq_zap **zap);

#endif
