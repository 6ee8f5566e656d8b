/* filehash: see filehash.h. */
#include "filehash.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "bounds.h"
#include "clock.h"

#define CHUNK     (1 << 20) /* bytes read between two deadline checks */
#define MAX_DEPTH 64        /* folders below an input */

int mlq_filehash_fd(int fd, int64_t deadline_ms, char *hex)
{
    crypto_hash_sha256_state st;
    unsigned char *buf = malloc(CHUNK), h[crypto_hash_sha256_BYTES];
    if (!buf) {
        errno = ENOMEM;
        return -1;
    }
    crypto_hash_sha256_init(&st);
    int rc = 0;
    for (;;) {
        if (mlq_clock_mono_ms() > deadline_ms) {
            rc = 1;
            break;
        }
        ssize_t r = read(fd, buf, CHUNK);
        if (r < 0 && errno == EINTR)
            continue;
        if (r < 0) {
            rc = -1;
            break;
        }
        if (r == 0)
            break;
        crypto_hash_sha256_update(&st, buf, (unsigned long long)r);
    }
    free(buf);
    if (rc == 0) {
        crypto_hash_sha256_final(&st, h);
        sodium_bin2hex(hex, 2 * crypto_hash_sha256_BYTES + 1, h, sizeof h);
    }
    return rc;
}

static int64_t mtime_ms(const struct stat *st)
{
    return (int64_t)st->st_mtim.tv_sec * 1000 + st->st_mtim.tv_nsec / 1000000;
}

/* Adds one regular file's entry. */
static void add_file(json_t *arr, const char *path, const struct stat *st,
                     const struct mlq_filehash_limits *lim)
{
    json_t *e = json_pack("{s:s,s:I,s:I}", "path", path, "size", (json_int_t)st->st_size,
                          "mtime_ms", (json_int_t)mtime_ms(st));
    if (!e)
        return;
    const char *reason = NULL;
    char hex[2 * crypto_hash_sha256_BYTES + 1];
    int fd = -1;
    if (st->st_size > lim->max_file)
        reason = "larger than the hashing limit";
    else if (mlq_clock_mono_ms() > lim->deadline_ms)
        reason = "hashing time limit reached";
    else if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK)) < 0)
        reason = strerror(errno);
    if (!reason) {
        int rc = mlq_filehash_fd(fd, lim->deadline_ms, hex);
        reason = rc > 0 ? "hashing time limit reached" : rc < 0 ? strerror(errno) : NULL;
    }
    if (fd >= 0)
        close(fd);
    json_object_set_new(e, "sha256", reason ? json_null() : json_string(hex));
    if (reason)
        json_object_set_new(e, "reason", json_string(reason));
    json_array_append_new(arr, e);
}

static void add_error(json_t *arr, const char *path, int err)
{
    json_array_append_new(arr, json_pack("{s:s,s:s}", "path", path, "error", strerror(err)));
}

static int walk(json_t *arr, const char *path, const struct mlq_filehash_limits *lim, int depth);

static int full(const json_t *arr, const struct mlq_filehash_limits *lim)
{
    return json_array_size(arr) >= lim->max_entries ? 2 : 0;
}

/* One entry below a folder: files and folders (not followed when links). */
static int walk_entry(json_t *arr, const char *dir, const char *name,
                      const struct mlq_filehash_limits *lim, int depth)
{
    char path[MLQ_MAX_PATH];
    struct stat st;
    int n = snprintf(path, sizeof path, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= sizeof path)
        return 0; /* deeper than any path the job could name */
    if (lstat(path, &st) != 0) {
        add_error(arr, path, errno);
        return full(arr, lim);
    }
    if (S_ISLNK(st.st_mode) && (stat(path, &st) != 0 || S_ISDIR(st.st_mode)))
        return 0; /* dangling, or a link to a folder: not followed */
    if (S_ISDIR(st.st_mode))
        return walk(arr, path, lim, depth + 1);
    if (S_ISREG(st.st_mode))
        add_file(arr, path, &st, lim);
    return full(arr, lim);
}

static int walk(json_t *arr, const char *path, const struct mlq_filehash_limits *lim, int depth)
{
    struct dirent **names = NULL;
    if (depth > MAX_DEPTH)
        return 0;
    int n = scandir(path, &names, NULL, alphasort);
    if (n < 0) {
        add_error(arr, path, errno);
        return full(arr, lim);
    }
    int rc = 0;
    for (int i = 0; i < n; i++) {
        const char *nm = names[i]->d_name;
        if (rc == 0 && strcmp(nm, ".") != 0 && strcmp(nm, "..") != 0)
            rc = walk_entry(arr, path, nm, lim, depth);
        free(names[i]);
    }
    free(names);
    return rc;
}

int mlq_filehash_add(json_t *arr, const char *path, const struct mlq_filehash_limits *lim)
{
    struct stat st;
    if (full(arr, lim))
        return 2;
    if (stat(path, &st) != 0) {
        if (errno == ENOENT || errno == ENOTDIR)
            return 1;
        add_error(arr, path, errno);
        return full(arr, lim);
    }
    if (S_ISDIR(st.st_mode)) {
        /* "dir/" and "dir" walk alike: no doubled slash in the entries */
        char trimmed[MLQ_MAX_PATH];
        snprintf(trimmed, sizeof trimmed, "%s", path);
        size_t len = strlen(trimmed);
        while (len > 1 && trimmed[len - 1] == '/')
            trimmed[--len] = '\0';
        return walk(arr, trimmed, lim, 0);
    }
    if (S_ISREG(st.st_mode))
        add_file(arr, path, &st, lim);
    else
        json_array_append_new(
            arr, json_pack("{s:s,s:s}", "path", path, "error", "not a regular file or a folder"));
    return full(arr, lim);
}
