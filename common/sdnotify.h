/* sdnotify: the daemons' side of systemd's readiness protocol (sd_notify(3)).
 *
 * The service manager names a unix datagram socket in $NOTIFY_SOCKET (a
 * path, or "@name" for the abstract namespace); a daemon sends it
 * newline-separated assignments such as "READY=1" or "STOPPING=1", one
 * datagram each. That is the whole protocol, so mlq speaks it itself
 * instead of linking libsystemd. Without $NOTIFY_SOCKET nothing is sent. */
#ifndef MLQ_SDNOTIFY_H
#define MLQ_SDNOTIFY_H

#include <stdbool.h>
#include <sys/socket.h>
#include <sys/un.h>

#include "err.h"

/* Longest message sent: a few assignments, never a payload. */
#define MLQ_SDNOTIFY_MAX_MSG 512

struct mlq_sdnotify {
    bool on; /* a socket was named */
    struct sockaddr_un addr;
    socklen_t len;
};

/* Reads $NOTIFY_SOCKET into *n and removes it from the environment, so
 * that processes started later (jobs) do not talk to the service manager
 * in the daemon's name. Call before any thread starts. Unset or empty: 0
 * with n->on false. A value that is no unix socket address (too long, not
 * absolute, another family such as vsock:): MLQ_EINVAL, n->on false. */
int mlq_sdnotify_open(struct mlq_sdnotify *n, struct mlq_err *err);

/* Sends state (e.g. "READY=1\nSTATUS=listening") as one datagram. 0 when
 * sent or when no socket is named; MLQ_EIO when sendto() failed,
 * MLQ_ETOOBIG past MLQ_SDNOTIFY_MAX_MSG. */
int mlq_sdnotify_send(const struct mlq_sdnotify *n, const char *state, struct mlq_err *err);

#endif
