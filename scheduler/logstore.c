/* logstore: see logstore.h. Attempt ids are validated before they become
 * file names, so no upload can name a path outside the log directory. */
#include "logstore.h"

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

struct mlq_logstore {
    char dir[MLQ_MAX_PATH];
};

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
    *out = ls;
    return 0;
}

void mlq_logstore_close(struct mlq_logstore **ls)
{
    if (!ls || !*ls)
        return;
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
static int finish(const struct mlq_logstore *ls, int fd, const char *part, const char *final,
                  struct mlq_err *err)
{
    if (fsync(fd) < 0 || rename(part, final) < 0)
        return mlq_err_set(err, MLQ_EIO, "log %s: %s", final, strerror(errno));
    int dfd = open(ls->dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dfd >= 0) {
        fsync(dfd);
        close(dfd);
    }
    return 0;
}

static int write_chunk(const struct mlq_logstore *ls, const char *part, const char *final,
                       int64_t offset, const void *data, size_t len, bool eof, struct mlq_err *err)
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
