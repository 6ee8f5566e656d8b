/* zmtpclient: one request and its reply over ZMTP 3 (the ZeroMQ wire
 * protocol, as a DEALER talking to the scheduler's ROUTER), with CURVE
 * (CurveZMQ) or without (NULL), in the calling thread.
 *
 * The CLI makes one request per connection and waits for its answer. Doing
 * that through libzmq costs a context with two threads, a monitor socket and
 * a teardown that hands work between them: on a loaded machine each handoff
 * waits for a time slice, and a `mlq submit` took several times what the
 * request itself needs. This client is one blocking-with-deadline socket in
 * the caller's thread; the bytes on the wire are those of a libzmq DEALER,
 * so the scheduler cannot tell them apart.
 *
 * Failures map to the codes the libzmq path returns: MLQ_ENOLISTEN (connects
 * refused for a second), MLQ_EPERM (the scheduler's ZAP handler refused the
 * key), MLQ_EPROTO (mechanism mismatch, a handshake dropped three times in a
 * row, a malformed frame), MLQ_EUNREACH (no reply before the deadline, or
 * the connection closed under the request). */
#ifndef MLQ_CLI_ZMTPCLIENT_H
#define MLQ_CLI_ZMTPCLIENT_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "transport.h"

/* True for the endpoints this client speaks to: tcp://HOST:PORT and
 * ipc://PATH. Anything else goes through libzmq. */
bool mlq_zmtp_handles(const char *endpoint);

/* Connects to endpoint, sends the two frames [empty, body] and receives the
 * next [empty, reply] message; *reply (malloc'ed, *reply_len bytes) is the
 * caller's to free. curve NULL: the NULL mechanism (plain). timeout_ms < 0:
 * no deadline. */
int mlq_zmtp_request(const char *endpoint, const struct mlq_curve *curve, const void *body,
                     size_t len, void **reply, size_t *reply_len, int timeout_ms,
                     struct mlq_err *err);

#endif
