/* lease: see lease.h. */
#include "lease.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "fsutil.h"

#define LEASE_TEXT_MAX 64

static int lease_path(char *buf, size_t len, const char *root, const char *rel, struct mlq_err *err)
{
    int n = snprintf(buf, len, "%s/%s%s", root, rel, MLQ_LEASE_FILE);
    if (n < 0 || (size_t)n >= len)
        return mlq_err_set(err, MLQ_ETOOBIG, "path too long: %s/%s", root, MLQ_LEASE_FILE);
    return 0;
}

int mlq_lease_write(const char *spool_root, int64_t until_ms, struct mlq_err *err)
{
    char path[MLQ_MAX_PATH], text[LEASE_TEXT_MAX];
    int rc = lease_path(path, sizeof path, spool_root, "", err);
    if (rc < 0)
        return rc;
    int n = snprintf(text, sizeof text, "%" PRId64 "\n", until_ms);
    return mlq_fs_write_replace(path, text, (size_t)n, err);
}

static int64_t parse_until(const char *text, size_t n)
{
    char buf[LEASE_TEXT_MAX];
    if (n == 0 || n >= sizeof buf)
        return 0;
    memcpy(buf, text, n);
    buf[n] = '\0';
    if (buf[n - 1] == '\n')
        buf[n - 1] = '\0';
    char *end;
    errno = 0;
    long long v = strtoll(buf, &end, 10);
    if (errno != 0 || end == buf || *end != '\0' || v < 0)
        return 0;
    return v;
}

static int read_path(const char *path, int64_t *until_ms)
{
    char *buf = NULL;
    size_t n = 0;
    struct mlq_err e;
    int rc = mlq_fs_read_all(path, LEASE_TEXT_MAX, &buf, &n, &e);
    if (rc == MLQ_ENOTFOUND) {
        free(buf);
        return 0;
    }
    *until_ms = rc < 0 ? 0 : parse_until(buf, n);
    free(buf);
    return 1;
}

int mlq_lease_read(const char *spool_root, int64_t *until_ms)
{
    char path[MLQ_MAX_PATH];
    if (lease_path(path, sizeof path, spool_root, "", NULL) < 0) {
        *until_ms = 0;
        return 1;
    }
    return read_path(path, until_ms);
}

int mlq_lease_read_for_attempt(const char *attempt_dir, int64_t *until_ms)
{
    char path[MLQ_MAX_PATH];
    if (lease_path(path, sizeof path, attempt_dir, "../../", NULL) < 0) {
        *until_ms = 0;
        return 1;
    }
    return read_path(path, until_ms);
}

bool mlq_lease_expired(int64_t until_ms, int64_t now_ms)
{
    return now_ms >= until_ms;
}
