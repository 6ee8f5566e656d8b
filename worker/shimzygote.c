/* shimzygote: see shimzygote.h. */
#include "shimzygote.h"

#include <errno.h>
#include <sched.h>
#include <signal.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "err.h"
#include "fsutil.h"

/* line (n bytes, no newline) names a folder right inside attempts_dir:
 * copied into dir. */
static int check_line(const char *line, size_t n, const char *attempts_dir, char *dir, size_t len)
{
    size_t plen = strlen(attempts_dir);
    if (n == 0 || n >= len || memchr(line, '\0', n) || n <= plen + 1 ||
        strncmp(line, attempts_dir, plen) != 0 || line[plen] != '/')
        return MLQ_EINVAL;
    memcpy(dir, line, n);
    dir[n] = '\0';
    const char *name = dir + plen + 1;
    if (strchr(name, '/') || name[0] == '.')
        return MLQ_EINVAL;
    return 1;
}

int mlq_shimzygote_next(struct mlq_shimzygote_in *in, const char *attempts_dir, char *dir,
                        size_t len)
{
    for (;;) {
        char *nl = memchr(in->buf, '\n', in->have);
        if (nl) {
            size_t n = (size_t)(nl - in->buf);
            int rc = check_line(in->buf, n, attempts_dir, dir, len);
            in->have -= n + 1;
            memmove(in->buf, nl + 1, in->have);
            return rc;
        }
        if (in->have == sizeof in->buf)
            return MLQ_EINVAL; /* a line longer than any path */
        ssize_t r = read(in->fd, in->buf + in->have, sizeof in->buf - in->have);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0)
            return MLQ_EINVAL;
        if (r == 0)
            return in->have ? MLQ_EINVAL : 0; /* a partial line is no request */
        in->have += (size_t)r;
    }
}

/* The worker's answer: the shim's pid and start time, or "0 0". */
static void reply(int fd, pid_t shim)
{
    char line[64];
    unsigned long long start = shim > 0 ? mlq_fs_pid_starttime(shim) : 0;
    int n = snprintf(line, sizeof line, "%ld %llu\n", shim > 0 ? (long)shim : 0L, start);
    ssize_t w;
    do {
        w = send(fd, line, (size_t)n, MSG_NOSIGNAL);
    } while (w < 0 && errno == EINTR);
}

/* Forks the shim as the worker's child rather than ours (CLONE_PARENT,
 * otherwise what fork does): the worker gets its SIGCHLD and reaps it, and
 * the shim never depends on the standby. A raw clone runs no fork handlers,
 * which a single-threaded process has no use for. True in the shim. */
static bool fork_shim(int fd)
{
    pid_t shim = (pid_t)syscall(SYS_clone, CLONE_PARENT | SIGCHLD, 0, NULL, NULL, 0);
    if (shim == 0)
        return true;
    reply(fd, shim); /* its /proc entry stays until the worker reaps it */
    return false;
}

int mlq_shimzygote_serve(int fd, const char *attempts_dir, char *dir, size_t len)
{
    struct mlq_shimzygote_in in = {.fd = fd};
    for (;;) {
        int rc = mlq_shimzygote_next(&in, attempts_dir, dir, len);
        if (rc <= 0 || fork_shim(fd)) {
            close(fd);
            return rc;
        }
    }
}
