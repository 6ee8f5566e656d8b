/* lease: see lease.h. */
#include "lease.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* The deadline is written twice, fixed width: "UNTIL UNTIL\n". */
#define LEASE_DIGITS 20
#define LEASE_LEN    (2 * LEASE_DIGITS + 2)
#define READ_TRIES   3

/* Overwrites the bytes of an existing lease file in place: no new block is
 * needed, so the lease is still renewed on a full spool (a rename would
 * need a new file, and a worker that cannot renew has its shims fence
 * every job). 0 when done; -1 when the file must be (re)made. */
static int overwrite(const char *path, const char *text)
{
    int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0)
        return -1;
    struct stat st;
    bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) && st.st_size == LEASE_LEN &&
              pwrite(fd, text, LEASE_LEN, 0) == LEASE_LEN;
    close(fd);
    return ok ? 0 : -1;
}

int mlq_lease_write(const char *spool_root, int64_t until_ms, struct mlq_err *err)
{
    char path[MLQ_MAX_PATH], text[LEASE_TEXT_MAX];
    int rc = lease_path(path, sizeof path, spool_root, "", err);
    if (rc < 0)
        return rc;
    int n = snprintf(text, sizeof text, "%0*" PRId64 " %0*" PRId64 "\n", LEASE_DIGITS, until_ms,
                     LEASE_DIGITS, until_ms);
    if (n != LEASE_LEN)
        return mlq_err_set(err, MLQ_EINVAL, "lease deadline out of range");
    if (overwrite(path, text) == 0)
        return 0;
    return mlq_fs_write_replace(path, text, (size_t)n, err);
}

static bool parse_field(const char *text, int64_t *v)
{
    int64_t x = 0;
    for (int i = 0; i < LEASE_DIGITS; i++) {
        if (text[i] < '0' || text[i] > '9' || x > (INT64_MAX - 9) / 10)
            return false;
        x = x * 10 + (text[i] - '0');
    }
    *v = x;
    return true;
}

/* A read racing an in-place write may see part of each: the two copies then
 * differ (a tear inside one copy leaves the other whole), and the read is
 * tried again. -1: not a lease file at all. */
static int parse_until(const char *text, size_t n, int64_t *until_ms)
{
    int64_t a, b;
    if (n != LEASE_LEN || text[LEASE_DIGITS] != ' ' || text[LEASE_LEN - 1] != '\n' ||
        !parse_field(text, &a) || !parse_field(text + LEASE_DIGITS + 1, &b))
        return -1;
    if (a != b)
        return 0;
    *until_ms = a;
    return 1;
}

static int read_path(const char *path, int64_t *until_ms)
{
    *until_ms = 0; /* unreadable, malformed or torn every time: expired */
    for (int i = 0; i < READ_TRIES; i++) {
        char *buf = NULL;
        size_t n = 0;
        struct mlq_err e;
        int rc = mlq_fs_read_all(path, LEASE_TEXT_MAX, &buf, &n, &e);
        if (rc == MLQ_ENOTFOUND) {
            free(buf);
            return 0;
        }
        int got = rc < 0 ? -1 : parse_until(buf, n, until_ms);
        free(buf);
        if (got != 0)
            return 1;
    }
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
