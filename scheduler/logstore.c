/* logstore: see logstore.h. Attempt ids are validated before they become
 * file names, so no upload can name a path outside the log directory. */
#include "logstore.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bounds.h"
#include "fsutil.h"
#include "id.h"

/* the directory, "/", an attempt id and ".stdout.part" */
#define LOG_PATH_MAX (MLQ_MAX_PATH + 64)

/* A complete log file, in the order logs were completed (oldest first):
 * what the size cap removes first. */
struct logent {
    char id[MLQ_ID_LEN + 1];
    enum mlq_stream stream;
    int64_t mtime; /* for the order at open only */
};

/* A stream whose last chunk is written but not yet durable: its ".part"
 * file, still open, waits for the batch's fsync and rename. */
struct pending {
    int fd;
    char id[MLQ_ID_LEN + 1];
    enum mlq_stream stream;
};

/* Streams completed in one loop iteration share one fsync of the
 * directory; past this many the batch is made durable at once. */
#define SYNC_BATCH_MAX 256

struct mlq_logstore {
    char dir[MLQ_MAX_PATH];
    struct pending pend[SYNC_BATCH_MAX];
    size_t npend;
    bool failed;         /* a batch failed since the last mlq_logstore_sync */
    struct mlq_err fail; /* why */
    struct logent *fifo; /* [head, n) are live; entries of removed files stay */
    size_t head, n, cap;
    int64_t total; /* bytes of the complete log files */
};

static int push_entry(struct mlq_logstore *ls, const char *id, enum mlq_stream stream,
                      int64_t mtime)
{
    if (ls->head > 0 && ls->head * 2 >= ls->n) { /* compact */
        memmove(ls->fifo, ls->fifo + ls->head, (ls->n - ls->head) * sizeof *ls->fifo);
        ls->n -= ls->head;
        ls->head = 0;
    }
    if (ls->n == ls->cap) {
        size_t cap = ls->cap ? ls->cap * 2 : 64;
        struct logent *f = realloc(ls->fifo, cap * sizeof *f);
        if (!f)
            return MLQ_ENOMEM;
        ls->fifo = f;
        ls->cap = cap;
    }
    struct logent *e = &ls->fifo[ls->n++];
    snprintf(e->id, sizeof e->id, "%s", id);
    e->stream = stream;
    e->mtime = mtime;
    return 0;
}

static void sync_batch(struct mlq_logstore *ls);

static int by_mtime(const void *a, const void *b)
{
    const struct logent *x = a, *y = b;
    return x->mtime < y->mtime ? -1 : x->mtime > y->mtime;
}

/* Counts the complete logs already stored, oldest first. */
static int load_existing(struct mlq_logstore *ls, struct mlq_err *err)
{
    DIR *d = opendir(ls->dir);
    if (!d)
        return mlq_err_set(err, MLQ_EIO, "log directory %s: %s", ls->dir, strerror(errno));
    struct dirent *de;
    int rc = 0;
    while (rc == 0 && (de = readdir(d)) != NULL) {
        const char *dot = strchr(de->d_name, '.');
        struct stat st;
        if (!dot || (size_t)(dot - de->d_name) != MLQ_ID_LEN)
            continue;
        enum mlq_stream stream = strcmp(dot, ".stdout") == 0   ? MLQ_STREAM_STDOUT
                                 : strcmp(dot, ".stderr") == 0 ? MLQ_STREAM_STDERR
                                                               : (enum mlq_stream) - 1;
        char id[MLQ_ID_LEN + 1];
        memcpy(id, de->d_name, MLQ_ID_LEN);
        id[MLQ_ID_LEN] = '\0';
        if ((int)stream < 0 || !mlq_id_valid(id) || fstatat(dirfd(d), de->d_name, &st, 0) != 0)
            continue;
        ls->total += (int64_t)st.st_size;
        int64_t mtime = (int64_t)st.st_mtim.tv_sec * 1000000000 + st.st_mtim.tv_nsec;
        if (push_entry(ls, id, stream, mtime) < 0)
            rc = mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    }
    closedir(d);
    if (rc == 0 && ls->n > 1)
        qsort(ls->fifo, ls->n, sizeof *ls->fifo, by_mtime);
    return rc;
}

int mlq_logstore_open(const char *dir, struct mlq_logstore **out, struct mlq_err *err)
{
    if (strlen(dir) >= MLQ_MAX_PATH - 64)
        return mlq_err_set(err, MLQ_EINVAL, "log directory path too long");
    int rc = mlq_fs_mkdirs(dir, 0700, err);
    if (rc < 0)
        return rc;
    struct mlq_logstore *ls = calloc(1, sizeof *ls);
    if (!ls)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    snprintf(ls->dir, sizeof ls->dir, "%s", dir);
    if ((rc = load_existing(ls, err)) < 0) {
        mlq_logstore_close(&ls);
        return rc;
    }
    *out = ls;
    return 0;
}

void mlq_logstore_close(struct mlq_logstore **ls)
{
    if (!ls || !*ls)
        return;
    sync_batch(*ls);
    free((*ls)->fifo);
    free(*ls);
    *ls = NULL;
}

static int log_path(const struct mlq_logstore *ls, const char *attempt_id, enum mlq_stream stream,
                    bool part, char *buf, size_t len, struct mlq_err *err)
{
    if (!mlq_id_valid(attempt_id))
        return mlq_err_set(err, MLQ_EINVAL, "invalid attempt id");
    snprintf(buf, len, "%s/%s.%s%s", ls->dir, attempt_id,
             stream == MLQ_STREAM_STDERR ? "stderr" : "stdout", part ? ".part" : "");
    return 0;
}

static int64_t file_size(const char *path)
{
    struct stat st;
    return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

static int pending_find(const struct mlq_logstore *ls, const char *id, enum mlq_stream stream)
{
    for (size_t i = 0; i < ls->npend; i++)
        if (ls->pend[i].stream == stream && strcmp(ls->pend[i].id, id) == 0)
            return (int)i;
    return -1;
}

/* Makes one pending stream complete: fsync, then rename into place (the
 * directory's fsync follows for the whole batch). */
static int complete(struct mlq_logstore *ls, const struct pending *p, struct mlq_err *err)
{
    char part[LOG_PATH_MAX], final[LOG_PATH_MAX];
    struct stat st;
    log_path(ls, p->id, p->stream, true, part, sizeof part, NULL);
    log_path(ls, p->id, p->stream, false, final, sizeof final, NULL);
    if (fsync(p->fd) < 0 || fstat(p->fd, &st) < 0 || rename(part, final) < 0) {
        int rc = mlq_err_set(err, MLQ_EIO, "log %s: %s", final, strerror(errno));
        unlink(part); /* the uploader starts it again from offset 0 */
        return rc;
    }
    ls->total += (int64_t)st.st_size;
    /* Without memory the file is only left out of the size cap. */
    push_entry(ls, p->id, p->stream, 0);
    return 0;
}

/* Completes every pending stream, then fsyncs the directory once. A
 * failure is kept for mlq_logstore_sync to report. */
static void sync_batch(struct mlq_logstore *ls)
{
    struct mlq_err e = {0};
    bool renamed = false;
    for (size_t i = 0; i < ls->npend; i++) {
        if (complete(ls, &ls->pend[i], &e) == 0)
            renamed = true;
        else if (!ls->failed) {
            ls->failed = true;
            ls->fail = e;
        }
        close(ls->pend[i].fd);
    }
    ls->npend = 0;
    int dfd = renamed ? open(ls->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
    if (dfd >= 0) {
        if (fsync(dfd) < 0 && !ls->failed) {
            ls->failed = true;
            mlq_err_set(&ls->fail, MLQ_EIO, "log directory %s: %s", ls->dir, strerror(errno));
        }
        close(dfd);
    }
}

int mlq_logstore_sync(struct mlq_logstore *ls, struct mlq_err *err)
{
    if (ls->npend > 0)
        sync_batch(ls);
    if (!ls->failed)
        return 0;
    ls->failed = false;
    return mlq_err_set(err, ls->fail.code, "%s", ls->fail.msg);
}

/* The last chunk leaves its file open and pending (sync_batch). */
static int write_chunk(struct mlq_logstore *ls, const char *id, enum mlq_stream stream,
                       const char *part, int64_t offset, const void *data, size_t len, bool eof,
                       struct mlq_err *err)
{
    if (eof && ls->npend == SYNC_BATCH_MAX)
        sync_batch(ls);
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (offset == 0 ? O_TRUNC : 0);
    int fd = open(part, flags, 0600);
    if (fd < 0)
        return mlq_err_set(err, MLQ_EIO, "log %s: %s", part, strerror(errno));
    int rc = 0;
    ssize_t n = len ? pwrite(fd, data, len, (off_t)offset) : 0;
    if (n < 0 || (size_t)n != len)
        rc = mlq_err_set(err, MLQ_EIO, "log %s: %s", part, n < 0 ? strerror(errno) : "short write");
    if (rc == 0 && eof) {
        struct pending *p = &ls->pend[ls->npend++];
        p->fd = fd;
        snprintf(p->id, sizeof p->id, "%s", id);
        p->stream = stream;
        return 0;
    }
    close(fd);
    if (rc < 0 && offset == 0)
        unlink(part); /* nothing half written stays behind */
    return rc;
}

int mlq_logstore_put(struct mlq_logstore *ls, const char *attempt_id, enum mlq_stream stream,
                     int64_t offset, const void *data, size_t len, bool eof, int64_t *next,
                     struct mlq_err *err)
{
    char part[LOG_PATH_MAX], final[LOG_PATH_MAX];
    int rc = log_path(ls, attempt_id, stream, true, part, sizeof part, err);
    if (rc == 0)
        rc = log_path(ls, attempt_id, stream, false, final, sizeof final, err);
    if (rc < 0)
        return rc;
    if (offset < 0)
        return mlq_err_set(err, MLQ_EINVAL, "negative log offset");
    /* already complete (or completing in this batch): let the uploader finish */
    if (pending_find(ls, attempt_id, stream) >= 0 || file_size(final) >= 0) {
        *next = offset + (int64_t)len;
        return 0;
    }
    int64_t have = file_size(part);
    if (offset != 0 && offset != have) {
        *next = have < 0 ? 0 : have;
        return 0;
    }
    rc = write_chunk(ls, attempt_id, stream, part, offset, data, len, eof, err);
    if (rc == 0)
        *next = offset + (int64_t)len;
    return rc;
}

bool mlq_logstore_has(struct mlq_logstore *ls, const char *attempt_id, enum mlq_stream stream)
{
    char path[LOG_PATH_MAX];
    if (ls->npend > 0)
        sync_batch(ls); /* a failure is still reported by mlq_logstore_sync */
    return log_path(ls, attempt_id, stream, false, path, sizeof path, NULL) == 0 &&
           file_size(path) >= 0;
}

int mlq_logstore_read(struct mlq_logstore *ls, const char *attempt_id, enum mlq_stream stream,
                      int64_t offset, uint32_t max, uint8_t **data, uint32_t *len, int64_t *size,
                      struct mlq_err *err)
{
    char path[LOG_PATH_MAX];
    int rc = log_path(ls, attempt_id, stream, false, path, sizeof path, err);
    if (rc < 0)
        return rc;
    if (ls->npend > 0)
        sync_batch(ls);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        if (fd >= 0)
            close(fd);
        return mlq_err_set(err, MLQ_ENOTFOUND, "no stored log for attempt %s", attempt_id);
    }
    *size = (int64_t)st.st_size;
    int64_t avail = offset < *size ? *size - offset : 0;
    uint32_t want = max > MLQ_MAX_LOG_CHUNK ? MLQ_MAX_LOG_CHUNK : max;
    size_t n = (size_t)(avail < want ? avail : want);
    *data = malloc(n ? n : 1);
    ssize_t got = *data ? pread(fd, *data, n, (off_t)offset) : -1;
    close(fd);
    if (got < 0) {
        free(*data);
        *data = NULL;
        return mlq_err_set(err, MLQ_EIO, "reading stored log: %s", strerror(errno));
    }
    *len = (uint32_t)got;
    return 0;
}

/* Removes one complete log file; true when it was there. */
static bool remove_file(struct mlq_logstore *ls, const char *attempt_id, enum mlq_stream stream)
{
    char path[LOG_PATH_MAX];
    struct stat st;
    if (log_path(ls, attempt_id, stream, false, path, sizeof path, NULL) < 0 ||
        stat(path, &st) != 0 || unlink(path) != 0)
        return false;
    ls->total -= (int64_t)st.st_size;
    return true;
}

void mlq_logstore_remove(struct mlq_logstore *ls, const char *attempt_id)
{
    char part[LOG_PATH_MAX];
    if (ls->npend > 0)
        sync_batch(ls);
    for (int s = MLQ_STREAM_STDOUT; s <= MLQ_STREAM_STDERR; s++) {
        remove_file(ls, attempt_id, (enum mlq_stream)s);
        if (log_path(ls, attempt_id, (enum mlq_stream)s, true, part, sizeof part, NULL) == 0)
            unlink(part);
    }
}

int64_t mlq_logstore_size(const struct mlq_logstore *ls)
{
    return ls->total;
}

int mlq_logstore_trim(struct mlq_logstore *ls, int64_t cap, int max_files)
{
    int removed = 0;
    /* Entries of files removed already cost a stat each: bounded too. */
    for (int looked = 0;
         ls->total > cap && ls->head < ls->n && removed < max_files && looked < 4 * max_files;
         looked++) {
        struct logent *e = &ls->fifo[ls->head++];
        if (remove_file(ls, e->id, e->stream))
            removed++;
    }
    return removed;
}
