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

struct mlq_logstore {
    char dir[MLQ_MAX_PATH];
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

/* Makes the partial file complete: fsync, rename, fsync of the directory. */
static int finish(struct mlq_logstore *ls, int fd, const char *part, const char *final,
                  struct mlq_err *err)
{
    struct stat st;
    if (fsync(fd) < 0 || fstat(fd, &st) < 0 || rename(part, final) < 0)
        return mlq_err_set(err, MLQ_EIO, "log %s: %s", final, strerror(errno));
    ls->total += (int64_t)st.st_size;
    int dfd = open(ls->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

static int write_chunk(struct mlq_logstore *ls, const char *part, const char *final, int64_t offset,
                       const void *data, size_t len, bool eof, struct mlq_err *err)
{
    int flags = O_WRONLY | O_CREAT | O_CLOEXEC | (offset == 0 ? O_TRUNC : 0);
    int fd = open(part, flags, 0600);
    if (fd < 0)
        return mlq_err_set(err, MLQ_EIO, "log %s: %s", part, strerror(errno));
    int rc = 0;
    ssize_t n = len ? pwrite(fd, data, len, (off_t)offset) : 0;
    if (n < 0 || (size_t)n != len)
        rc = mlq_err_set(err, MLQ_EIO, "log %s: %s", part, n < 0 ? strerror(errno) : "short write");
    if (rc == 0 && eof)
        rc = finish(ls, fd, part, final, err);
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
    if (file_size(final) >= 0) { /* already complete: let the uploader finish */
        *next = offset + (int64_t)len;
        return 0;
    }
    int64_t have = file_size(part);
    if (offset != 0 && offset != have) {
        *next = have < 0 ? 0 : have;
        return 0;
    }
    rc = write_chunk(ls, part, final, offset, data, len, eof, err);
    if (rc == 0)
        *next = offset + (int64_t)len;
    /* Without memory the file is only left out of the size cap. */
    if (rc == 0 && eof)
        push_entry(ls, attempt_id, stream, 0);
    return rc;
}

bool mlq_logstore_has(struct mlq_logstore *ls, const char *attempt_id, enum mlq_stream stream)
{
    char path[LOG_PATH_MAX];
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
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0) {
        if (fd >= 0)
            close(fd);
        return mlq_err_set(err, MLQ_ENOTFOUND, "no stored log for attempt %.8s", attempt_id);
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
