/* spoolrec: see spoolrec.h. */
#include "spoolrec.h"

#include "bounds.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#define MAGIC     "MLQR"
#define MAGIC_LEN 4

uint32_t mlq_spoolrec_crc32(uint32_t crc, const void *data, size_t len)
{
    static uint32_t table[256];
    static volatile int ready;
    if (!ready) { /* idempotent: racing threads compute the same table */
        for (uint32_t i = 0; i < 256; i++) {
            uint32_t c = i;
            for (int k = 0; k < 8; k++)
                c = (c & 1) ? 0xEDB88320u ^ (c >> 1) : c >> 1;
            table[i] = c;
        }
        ready = 1;
    }
    const unsigned char *p = data;
    crc = ~crc;
    while (len--)
        crc = table[(crc ^ *p++) & 0xff] ^ (crc >> 8);
    return ~crc;
}

/* 8 lower-case hex digits; false when they are not. */
static bool get_hex8(const char *p, uint32_t *out)
{
    uint32_t v = 0;
    for (int i = 0; i < 8; i++) {
        char c = p[i];
        int d = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10 : -1;
        if (d < 0)
            return false;
        v = v << 4 | (uint32_t)d;
    }
    *out = v;
    return true;
}

static int pwrite_all(int fd, const unsigned char *p, size_t len)
{
    off_t off = 0;
    while (len > 0) {
        ssize_t w = pwrite(fd, p, len, off);
        if (w < 0 && errno == EINTR)
            continue;
        if (w <= 0)
            return -1;
        p += w, off += w, len -= (size_t)w;
    }
    return 0;
}

int mlq_spoolrec_write(const char *path, const void *data, size_t len, bool durable,
                       struct mlq_err *err)
{
    if (len > UINT32_MAX - MLQ_SPOOLREC_HDR)
        return mlq_err_set(err, MLQ_ETOOBIG, "%s: record too long", path);
    unsigned char *buf = malloc(MLQ_SPOOLREC_HDR + len + 1);
    if (!buf)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    snprintf((char *)buf, MLQ_SPOOLREC_HDR + 1, MAGIC " %08x %08x\n", (unsigned)len,
             (unsigned)mlq_spoolrec_crc32(0, data, len));
    if (len > 0)
        memcpy(buf + MLQ_SPOOLREC_HDR, data, len);
    /* One pwrite at offset 0 of the file as it is: no temp file, so no
     * inode is made; a crash mid-write leaves a record that fails its CRC,
     * which reads as none. */
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0640);
    int rc = fd < 0 ? -1 : pwrite_all(fd, buf, MLQ_SPOOLREC_HDR + len);
    if (rc == 0 && durable && fdatasync(fd) != 0)
        rc = -1;
    int saved = errno;
    free(buf);
    if (fd >= 0)
        close(fd);
    if (rc < 0)
        return mlq_err_set(err, MLQ_EIO, "%s: %s", path, strerror(saved));
    return 0;
}

/* The payload of a record file's content; MLQ_ENOTFOUND when torn. */
static int unwrap(char *buf, size_t n, size_t max, char **out, size_t *out_len)
{
    if (n == 0 || buf[0] == '\0')
        return MLQ_ENOTFOUND; /* empty (recycled) or zeroed by a crash */
    if (n < MAGIC_LEN || memcmp(buf, MAGIC, MAGIC_LEN) != 0) {
        *out = buf; /* the earlier layout: the whole file */
        *out_len = n;
        return n > max ? MLQ_ETOOBIG : 0;
    }
    uint32_t len = 0, crc = 0;
    if (n < MLQ_SPOOLREC_HDR || buf[4] != ' ' || !get_hex8(buf + 5, &len) || buf[13] != ' ' ||
        !get_hex8(buf + 14, &crc) || buf[22] != '\n')
        return MLQ_ENOTFOUND;
    if (len > max) /* the read stopped at max: judged by the header alone */
        return MLQ_ETOOBIG;
    if (len > n - MLQ_SPOOLREC_HDR)
        return MLQ_ENOTFOUND;
    if (mlq_spoolrec_crc32(0, buf + MLQ_SPOOLREC_HDR, len) != crc)
        return MLQ_ENOTFOUND;
    memmove(buf, buf + MLQ_SPOOLREC_HDR, len);
    buf[len] = '\0';
    *out = buf;
    *out_len = len;
    return 0;
}

int mlq_spoolrec_read(const char *path, size_t max, char **out, size_t *out_len,
                      struct mlq_err *err)
{
    *out = NULL;
    if (out_len)
        *out_len = 0;
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    if (fd < 0 && (errno == ENOENT || errno == ENOTDIR))
        return mlq_err_set(err, MLQ_ENOTFOUND, "%s: not written", path);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) != 0) {
        int saved = errno;
        if (fd >= 0)
            close(fd);
        return mlq_err_set(err, MLQ_EIO, "%s: %s", path, strerror(saved));
    }
    /* A record may be followed by what is left of a longer earlier one. */
    size_t cap = max + MLQ_SPOOLREC_HDR;
    size_t want = (size_t)st.st_size < cap ? (size_t)st.st_size : cap;
    char *buf = malloc(want + 1);
    ssize_t r = buf ? pread(fd, buf, want, 0) : -1;
    int saved = errno;
    close(fd);
    if (r < 0) {
        free(buf);
        return mlq_err_set(err, buf ? MLQ_EIO : MLQ_ENOMEM, "%s: %s", path, strerror(saved));
    }
    buf[r] = '\0';
    size_t len = 0;
    char *payload = NULL;
    int rc = unwrap(buf, (size_t)r, max, &payload, &len);
    if (rc < 0) {
        free(buf);
        return mlq_err_set(err, rc, rc == MLQ_ETOOBIG ? "%s: too large" : "%s: not written", path);
    }
    *out = payload;
    if (out_len)
        *out_len = len;
    return 0;
}

int mlq_spoolrec_reserve(const char *dir)
{
    static const char *const names[] = {"shim.pid", "status"};
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        char path[MLQ_MAX_PATH];
        int n = snprintf(path, sizeof path, "%s/%s", dir, names[i]);
        if (n < 0 || (size_t)n >= sizeof path)
            return -ENAMETOOLONG;
        int fd = open(path, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fd < 0)
            return -errno;
        int rc = fallocate(fd, FALLOC_FL_KEEP_SIZE, 0, MLQ_SPOOLREC_RESERVE) == 0 ? 0 : -errno;
        close(fd);
        if (rc < 0 && rc != -EOPNOTSUPP && rc != -ENOSYS)
            return rc;
    }
    return 0;
}
