/* sdnotify: one sendto() on a unix datagram socket (see sdnotify.h). */
#include "sdnotify.h"

#include <errno.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

int mlq_sdnotify_open(struct mlq_sdnotify *n, struct mlq_err *err)
{
    memset(n, 0, sizeof *n);
    const char *v = getenv("NOTIFY_SOCKET");
    if (!v || !*v) {
        unsetenv("NOTIFY_SOCKET");
        return 0;
    }
    size_t len = strlen(v);
    int rc = 0;
    if (v[0] != '/' && v[0] != '@')
        rc = mlq_err_set(err, MLQ_EINVAL, "NOTIFY_SOCKET=%.64s: not a unix socket path", v);
    else if (len < 2 || len >= sizeof n->addr.sun_path)
        rc = mlq_err_set(err, MLQ_EINVAL, "NOTIFY_SOCKET: path of %zu bytes (1 to %zu allowed)",
                         len, sizeof n->addr.sun_path - 1);
    if (rc == 0) {
        n->addr.sun_family = AF_UNIX;
        memcpy(n->addr.sun_path, v, len);
        /* "@name" is the abstract namespace: a leading NUL, no terminator
         * counted in the address length. */
        if (v[0] == '@')
            n->addr.sun_path[0] = '\0';
        n->len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len + (v[0] == '/'));
        n->on = true;
    }
    unsetenv("NOTIFY_SOCKET");
    return rc;
}

int mlq_sdnotify_send(const struct mlq_sdnotify *n, const char *state, struct mlq_err *err)
{
    if (!n || !n->on)
        return 0;
    size_t len = strlen(state);
    if (len == 0 || len > MLQ_SDNOTIFY_MAX_MSG)
        return mlq_err_set(err, MLQ_ETOOBIG, "notify message of %zu bytes", len);
    int fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
    if (fd < 0)
        return mlq_err_set(err, MLQ_EIO, "notify socket: %s", strerror(errno));
    ssize_t w = sendto(fd, state, len, MSG_NOSIGNAL, (const struct sockaddr *)&n->addr, n->len);
    int saved = errno;
    close(fd);
    if (w < 0 || (size_t)w != len)
        return mlq_err_set(err, MLQ_EIO, "sending to NOTIFY_SOCKET: %s",
                           w < 0 ? strerror(saved) : "short write");
    return 0;
}
