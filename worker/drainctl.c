/* drainctl: see drainctl.h.
 *
 * The worker's pid file alone is not trusted: a worker killed with -9 leaves
 * it behind and its pid may now be another process, which SIGUSR2 would
 * kill. The owner is the process that holds the spool's flock, as the kernel
 * lists it in /proc/locks; only where that list is unusable (another pid
 * namespace) does a non-blocking shared lock probe tell whether a worker
 * holds the lock, and the pid file then names it. */
#include "drainctl.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "bounds.h"
#include "fsutil.h"
#include "id.h"
#include "spool.h"

#define LOCKS_MAX (4 * 1024 * 1024)

/* The flock holder of the file (dev, ino) in /proc/locks; 0 when none is
 * listed, -1 when the list cannot be used. */
static pid_t locks_owner(dev_t dev, ino_t ino)
{
    char *buf = NULL;
    if (mlq_fs_read_all("/proc/locks", LOCKS_MAX, &buf, NULL, NULL) < 0)
        return -1;
    pid_t owner = 0;
    char *save = NULL;
    for (char *line = strtok_r(buf, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
        char type[16];
        long pid;
        unsigned maj, min;
        unsigned long long inode;
        /* "1: FLOCK  ADVISORY  WRITE 1234 fe:00:5678 0 EOF"; waiters have
         * "->" before the type and do not match. */
        if (sscanf(line, "%*d: %15s %*s %*s %ld %x:%x:%llu", type, &pid, &maj, &min, &inode) != 5)
            continue;
        if (strcmp(type, "FLOCK") == 0 && maj == major(dev) && min == minor(dev) &&
            inode == (unsigned long long)ino) {
            owner = pid > 0 ? (pid_t)pid : -1;
            break;
        }
    }
    free(buf);
    return owner;
}

/* Fallback: whether anyone holds the lock, and then the pid file's pid. */
static int probe_owner(const char *root, const char *lock, pid_t *pid, struct mlq_err *err)
{
    int fd = open(lock, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return mlq_err_set(err, MLQ_EIO, "%s: %s", lock, strerror(errno));
    int rc = flock(fd, LOCK_SH | LOCK_NB);
    int e = errno;
    close(fd); /* also releases our probe lock */
    if (rc == 0) {
        *pid = 0;
        return 0;
    }
    if (e != EWOULDBLOCK)
        return mlq_err_set(err, MLQ_EIO, "lock %s: %s", lock, strerror(e));
    char path[MLQ_MAX_PATH];
    snprintf(path, sizeof path, "%s/worker.pid", root);
    if (mlq_fs_read_pidfile(path, pid, err) < 0)
        return mlq_err_set(err, MLQ_ENOTFOUND, "spool %s is locked but has no pid file", root);
    return 0;
}

int mlq_drainctl_owner(const char *root, pid_t *pid, struct mlq_err *err)
{
    char lock[MLQ_MAX_PATH];
    struct stat st;
    *pid = 0;
    if (!root || snprintf(lock, sizeof lock, "%s/worker.lock", root) >= (int)sizeof lock)
        return mlq_err_set(err, MLQ_EINVAL, "spool path too long");
    if (stat(lock, &st) != 0)
        return mlq_err_set(err, MLQ_ENOTFOUND, "%s is not a worker spool (no worker.lock)", root);
    pid_t owner = locks_owner(st.st_dev, st.st_ino);
    if (owner >= 0) {
        *pid = owner;
        return 0;
    }
    return probe_owner(root, lock, pid, err);
}

int mlq_drainctl_signal(const char *root, pid_t *pid, struct mlq_err *err)
{
    int rc = mlq_drainctl_owner(root, pid, err);
    if (rc < 0 || *pid == 0)
        return rc;
    if (kill(*pid, SIGUSR2) != 0)
        return mlq_err_set(err, errno == EPERM ? MLQ_EPERM : MLQ_EIO, "signal worker %ld: %s",
                           (long)*pid, strerror(errno));
    return 0;
}

static void count_one(const char *dir, struct mlq_drainctl_counts *c)
{
    struct mlq_status st;
    struct mlq_upload_state up;
    if (mlq_spool_read_status(dir, &st, NULL) < 0)
        c->running++;
    else if (!mlq_spool_is_acked(dir, MLQ_PHASE_FINISHED))
        c->reporting++;
    else if (!mlq_spool_is_uploaded(dir) && mlq_spool_read_upload(dir, &up, NULL) == 0)
        c->uploading++;
}

int mlq_drainctl_count(const char *root, struct mlq_drainctl_counts *c, struct mlq_err *err)
{
    char path[MLQ_MAX_PATH];
    memset(c, 0, sizeof *c);
    snprintf(path, sizeof path, "%s/attempts", root);
    DIR *d = opendir(path);
    if (!d)
        return mlq_err_set(err, errno == ENOENT ? MLQ_ENOTFOUND : MLQ_EIO, "%s: %s", path,
                           strerror(errno));
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        char dir[MLQ_MAX_PATH];
        if (!mlq_id_valid(de->d_name))
            continue; /* ".", "..", folders still being created */
        if (snprintf(dir, sizeof dir, "%s/%s", path, de->d_name) < (int)sizeof dir)
            count_one(dir, c);
    }
    closedir(d);
    return 0;
}
