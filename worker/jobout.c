/* jobout: see jobout.h. */
#include "jobout.h"

#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/fsuid.h>
#include <unistd.h>

#include "bounds.h"
#include "outpath.h"
#include "startwords.h"

#define CHUNK    65536
#define MAX_GRPS 256

void mlq_jobout_init(struct mlq_jobout *o, int out_log, int err_log)
{
    o->file[0] = o->file[1] = o->pipe[0] = o->pipe[1] = -1;
    o->log[0] = out_log;
    o->log[1] = err_log;
}

/* The open, with the account's filesystem ids and groups, then back. */
static int open_as(const char *path, const struct mlq_jobout_account *a)
{
    const int flags = O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC | O_NOCTTY;
    if (!a)
        return open(path, flags, 0644);
    gid_t saved[MAX_GRPS];
    int nsaved = getgroups(MAX_GRPS, saved);
    if (nsaved < 0 || setgroups((size_t)a->ngroups, a->groups) != 0)
        return -1;
    setfsgid(a->gid);
    setfsuid(a->uid);
    int fd = -1, e = EPERM;
    /* setfsuid reports the previous id: asking again tells whether it took */
    if ((gid_t)setfsgid((gid_t)-1) == a->gid && (uid_t)setfsuid((uid_t)-1) == a->uid) {
        fd = open(path, flags, 0644);
        e = errno;
    }
    setfsuid(0);
    setfsgid(0);
    if (setgroups((size_t)nsaved, saved) != 0 && fd >= 0) {
        close(fd);
        fd = -1;
        e = EPERM;
    }
    errno = e;
    return fd;
}

int mlq_jobout_open(struct mlq_jobout *o, int stream, const char *path,
                    const struct mlq_jobout_account *acct)
{
    int fd = open_as(path, acct);
    if (fd < 0)
        return -1;
    o->file[stream] = fd;
    return 0;
}

int mlq_jobout_open_spec(struct mlq_jobout *o, const struct mlq_jobspec *spec, const char *job_id,
                         int32_t index, int32_t attempt, const struct mlq_jobout_account *acct,
                         char *why, size_t len)
{
    const char *tmpl[2] = {spec->stdout_file, spec->stderr_file};
    for (int i = 0; i < 2; i++) {
        char path[MLQ_MAX_PATH + 1];
        if (!tmpl[i])
            continue;
        if (mlq_outpath_check(i ? "--stderr" : "--stdout", tmpl[i], NULL) < 0 ||
            mlq_outpath_expand(tmpl[i], spec->workdir, job_id, index, attempt, path, sizeof path) <
                0) {
            snprintf(why, len, "output file %.200s: not a valid file name", tmpl[i]);
            return -1;
        }
        if (mlq_jobout_open(o, i, path, acct) < 0) {
            snprintf(why, len, "cannot open output file %s: %s", path, mlq_startwords_dir(errno));
            return -1;
        }
    }
    return 0;
}

int mlq_jobout_job_fds(struct mlq_jobout *o, int fds[2])
{
    for (int i = 0; i < 2; i++) {
        fds[i] = o->log[i];
        if (o->file[i] < 0)
            continue;
        int p[2];
        if (pipe2(p, O_CLOEXEC) != 0)
            return -1;
        o->pipe[i] = p[0];
        fds[i] = p[1];
    }
    return 0;
}

void mlq_jobout_parent(struct mlq_jobout *o, const int fds[2])
{
    for (int i = 0; i < 2; i++)
        if (o->pipe[i] >= 0)
            close(fds[i]);
}

bool mlq_jobout_active(const struct mlq_jobout *o)
{
    return o->pipe[0] >= 0 || o->pipe[1] >= 0;
}

/* A full write; a file that cannot take it any more (disk full) loses the
 * rest, the spool log is written all the same. */
static void write_all(int fd, const char *buf, size_t n)
{
    while (fd >= 0 && n > 0) {
        ssize_t w = write(fd, buf, n);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return;
        buf += w;
        n -= (size_t)w;
    }
}

/* One read from stream i's pipe, copied to its log and file; the pipe is
 * closed at its end. */
static void copy_once(struct mlq_jobout *o, int i)
{
    static char buf[CHUNK];
    ssize_t r = read(o->pipe[i], buf, sizeof buf);
    if (r < 0 && (errno == EINTR || errno == EAGAIN))
        return;
    if (r <= 0) {
        close(o->pipe[i]);
        o->pipe[i] = -1;
        return;
    }
    write_all(o->log[i], buf, (size_t)r);
    write_all(o->file[i], buf, (size_t)r);
}

/* Returns how many pipes had something (data or their end). */
static int pump(struct mlq_jobout *o, int timeout_ms)
{
    struct pollfd pf[2];
    int idx[2], n = 0;
    for (int i = 0; i < 2; i++)
        if (o->pipe[i] >= 0) {
            pf[n] = (struct pollfd){.fd = o->pipe[i], .events = POLLIN};
            idx[n++] = i;
        }
    int ready = n > 0 ? poll(pf, (nfds_t)n, timeout_ms) : 0;
    for (int k = 0; ready > 0 && k < n; k++)
        if (pf[k].revents & (POLLIN | POLLHUP | POLLERR))
            copy_once(o, idx[k]);
    return ready;
}

void mlq_jobout_pump(struct mlq_jobout *o, int timeout_ms)
{
    pump(o, timeout_ms);
}

void mlq_jobout_drain(struct mlq_jobout *o)
{
    /* every writer is gone: each pipe ends after what it still holds; a
     * pipe some stray process still holds open is given up after 5 s */
    for (int idle = 0; mlq_jobout_active(o) && idle < 5;)
        idle = pump(o, 1000) > 0 ? 0 : idle + 1;
}

void mlq_jobout_close(struct mlq_jobout *o)
{
    for (int i = 0; i < 2; i++) {
        if (o->pipe[i] >= 0)
            close(o->pipe[i]);
        if (o->file[i] >= 0)
            close(o->file[i]);
        o->pipe[i] = o->file[i] = -1;
    }
}
