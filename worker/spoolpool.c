/* spoolpool: see spoolpool.h. */
#include "spoolpool.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bounds.h"
#include "fsutil.h"
#include "spoolmark.h"
#include "spoolsync.h"

struct mlq_spoolpool {
    char *attempts;
    unsigned next; /* number of the next .pool-N */
    size_t n;      /* folders held, numbers in idx */
    unsigned idx[MLQ_SPOOLPOOL_MAX];
    uint64_t ticket[MLQ_SPOOLPOOL_MAX]; /* spoolsync ticket of its emptying */
    char **deferred;                    /* MLQ_SPOOLPOOL_MAX slots, ndeferred used */
    size_t ndeferred;
};

/* The files every attempt folder has: kept (emptied) when it is recycled. */
static const char *const keep[] = {"assign",   "stdout",   "stderr", "status",
                                   "shim.pid", "manifest", "cgroup", "cgroup_v1"};
/* Emptied files whose old content must not come back after a power loss
 * into the next attempt (another job's output, another outcome). */
static const char *const settle[] = {"stdout", "stderr", "status", "manifest"};
/* Created with a folder so that later writes are in place; status in
 * particular, so that the folder's fsync covers its name. */
static const char *const fill[] = {"assign", "stdout", "stderr", "status", "shim.pid", "manifest"};

static bool kept(const char *name)
{
    for (size_t i = 0; i < sizeof keep / sizeof keep[0]; i++) {
        if (strcmp(name, keep[i]) == 0)
            return true;
    }
    return false;
}

/* Record files (spoolrec.h) are emptied in place: a zero first byte reads
 * as no record, and the file keeps its block, so the next attempt's record
 * is written into it instead of the block being freed (and discarded) here
 * and allocated again by the next shim. */
static const char *const records[] = {"status", "shim.pid", "manifest", "cgroup", "cgroup_v1"};

static bool is_record(const char *name)
{
    for (size_t i = 0; i < sizeof records / sizeof records[0]; i++) {
        if (strcmp(name, records[i]) == 0)
            return true;
    }
    return false;
}

/* Empties one kept file; a file that is empty already is left alone (no
 * inode change to write back). 0, or -1 when it could not be emptied. */
static int empty_file(int fd, const char *name)
{
    struct stat st;
    if (fstat(fd, &st) != 0)
        return -1;
    if (st.st_size == 0)
        return 0;
    if (is_record(name) && pwrite(fd, "", 1, 0) == 1)
        return 0;
    return ftruncate(fd, 0);
}

/* Empties the usual files, removes the others. */
static void clear(const char *dir)
{
    DIR *d = opendir(dir);
    if (!d)
        return;
    struct dirent *de;
    while ((de = readdir(d)) != NULL) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        int fd = kept(de->d_name)
                     ? openat(dirfd(d), de->d_name, O_WRONLY | O_NOFOLLOW | O_CLOEXEC | O_NONBLOCK)
                     : -1;
        if (fd < 0 || empty_file(fd, de->d_name) != 0)
            unlinkat(dirfd(d), de->d_name, 0);
        if (fd >= 0)
            close(fd);
    }
    closedir(d);
}

static int pool_path(const struct mlq_spoolpool *p, unsigned n, char *buf, size_t len)
{
    int w = snprintf(buf, len, "%s/" MLQ_SPOOLPOOL_PREFIX "%u", p->attempts, n);
    return w < 0 || (size_t)w >= len ? -1 : 0;
}

/* The number of a .pool-N name; false when it is not one. */
static bool pool_number(const char *name, unsigned *n)
{
    size_t plen = strlen(MLQ_SPOOLPOOL_PREFIX);
    if (strncmp(name, MLQ_SPOOLPOOL_PREFIX, plen) != 0 || !name[plen])
        return false;
    char *end;
    errno = 0;
    unsigned long v = strtoul(name + plen, &end, 10);
    if (errno != 0 || *end || v >= UINT32_MAX / 2 || name[plen] < '0' || name[plen] > '9')
        return false;
    *n = (unsigned)v;
    return true;
}

/* Removes a flat folder that the pool cannot hold. */
static void remove_folder(const char *dir)
{
    DIR *d = opendir(dir);
    if (d) {
        struct dirent *de;
        while ((de = readdir(d)) != NULL)
            unlinkat(dirfd(d), de->d_name, 0);
        closedir(d);
    }
    rmdir(dir);
}

/* Makes the emptying of a folder durable: by the sync thread (a ticket to
 * wait for), else now. */
static uint64_t settle_folder(const char *dir)
{
    struct mlq_spoolsync *s = mlq_spoolmark_sync();
    char path[MLQ_MAX_PATH];
    for (size_t i = 0; i < sizeof settle / sizeof settle[0]; i++) {
        int w = snprintf(path, sizeof path, "%s/%s", dir, settle[i]);
        if (w < 0 || (size_t)w >= sizeof path || access(path, F_OK) != 0)
            continue;
        if (s)
            mlq_spoolsync_queue(s, path);
        else
            mlq_fs_sync_path(path, NULL);
    }
    return s ? mlq_spoolsync_ticket(s) : 0;
}

static bool settled(const struct mlq_spoolpool *p, size_t i)
{
    struct mlq_spoolsync *s = mlq_spoolmark_sync();
    return p->ticket[i] == 0 || !s || mlq_spoolsync_done(s, p->ticket[i]);
}

static void push(struct mlq_spoolpool *p, unsigned n, uint64_t ticket)
{
    p->idx[p->n] = n;
    p->ticket[p->n++] = ticket;
}

int mlq_spoolpool_open(const char *attempts_dir, struct mlq_spoolpool **out, struct mlq_err *err)
{
    *out = NULL;
    struct mlq_spoolpool *p = calloc(1, sizeof *p);
    if (!p || !(p->attempts = strdup(attempts_dir))) {
        free(p);
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    }
    DIR *d = opendir(attempts_dir);
    if (!d) {
        mlq_spoolpool_close(&p);
        return mlq_err_set(err, MLQ_EIO, "%s: %s", attempts_dir, strerror(errno));
    }
    struct dirent *de;
    char path[MLQ_MAX_PATH];
    unsigned n;
    while ((de = readdir(d)) != NULL) {
        if (!pool_number(de->d_name, &n) || pool_path(p, n, path, sizeof path) < 0)
            continue;
        if (p->n == MLQ_SPOOLPOOL_MAX) {
            remove_folder(path);
            continue;
        }
        clear(path); /* a crash may have stopped the clearing */
        push(p, n, settle_folder(path));
        if (n >= p->next)
            p->next = n + 1;
    }
    closedir(d);
    *out = p;
    return 0;
}

void mlq_spoolpool_close(struct mlq_spoolpool **p)
{
    if (!p || !*p)
        return;
    for (size_t i = 0; i < (*p)->ndeferred; i++)
        free((*p)->deferred[i]);
    free((*p)->deferred);
    free((*p)->attempts);
    free(*p);
    *p = NULL;
}

bool mlq_spoolpool_take(struct mlq_spoolpool *p, char *buf, size_t len)
{
    /* The most recently recycled folder whose emptying is durable: a
     * power loss must not bring another job's output back into it. */
    for (size_t i = p ? p->n : 0; i-- > 0;) {
        if (!settled(p, i))
            continue;
        unsigned n = p->idx[i];
        memmove(&p->idx[i], &p->idx[i + 1], (p->n - i - 1) * sizeof p->idx[0]);
        memmove(&p->ticket[i], &p->ticket[i + 1], (p->n - i - 1) * sizeof p->ticket[0]);
        p->n--;
        if (pool_path(p, n, buf, len) == 0)
            return true;
    }
    return false;
}

bool mlq_spoolpool_put(struct mlq_spoolpool *p, const char *dir)
{
    char path[MLQ_MAX_PATH];
    if (!p || p->n == MLQ_SPOOLPOOL_MAX || pool_path(p, p->next, path, sizeof path) < 0)
        return false;
    if (rename(dir, path) != 0)
        return false;
    clear(path);
    push(p, p->next++, settle_folder(path));
    return true;
}

void mlq_spoolpool_give_back(struct mlq_spoolpool *p, const char *path)
{
    const char *slash = strrchr(path, '/');
    unsigned n;
    if (!p || !slash || !pool_number(slash + 1, &n))
        return;
    clear(path);
    if (p->n < MLQ_SPOOLPOOL_MAX)
        push(p, n, settle_folder(path));
    else
        remove_folder(path);
}

bool mlq_spoolpool_defer(struct mlq_spoolpool *p, const char *dir)
{
    if (!p || p->ndeferred == MLQ_SPOOLPOOL_MAX)
        return false;
    if (!p->deferred && !(p->deferred = calloc(MLQ_SPOOLPOOL_MAX, sizeof *p->deferred)))
        return false;
    char *copy = strdup(dir);
    if (!copy)
        return false;
    p->deferred[p->ndeferred++] = copy;
    return true;
}

char **mlq_spoolpool_take_deferred(struct mlq_spoolpool *p, size_t *n)
{
    *n = 0;
    if (!p || p->ndeferred == 0)
        return NULL;
    char **out = p->deferred;
    *n = p->ndeferred;
    p->deferred = NULL;
    p->ndeferred = 0;
    return out;
}

int mlq_spoolpool_fill(const char *dir)
{
    char path[MLQ_MAX_PATH];
    for (size_t i = 0; i < sizeof fill / sizeof fill[0]; i++) {
        int w = snprintf(path, sizeof path, "%s/%s", dir, fill[i]);
        if (w < 0 || (size_t)w >= sizeof path)
            return -ENAMETOOLONG;
        int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
        if (fd < 0)
            return -errno;
        close(fd);
    }
    return 0;
}

size_t mlq_spoolpool_count(const struct mlq_spoolpool *p)
{
    return p ? p->n : 0;
}
