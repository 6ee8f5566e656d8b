/* keys: see keys.h.
 *
 * New files are created with O_CREAT|O_EXCL, which never follows a symlink,
 * so a planted link cannot redirect a secret key elsewhere; an overwrite
 * goes through a fresh temporary file renamed into place. Buffers that held
 * a secret key are wiped before they go out of scope. */
#include "keys.h"

#include <errno.h>
#include <fcntl.h>
#include <libgen.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>
#include <zmq.h>

#include "bounds.h"
#include "z85.h"

#define SECRET_MODE 0600
#define PUBLIC_MODE 0644
/* A key file is one line; read a little more to notice trailing junk. */
#define READ_MAX (MLQ_KEY_Z85_LEN + 8)

static const char z85_chars[] = "0123456789abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ"
                                ".-:+=^!/*?&<>()[]{}@%$#";

int mlq_keys_generate(struct mlq_keypair *kp, struct mlq_err *err)
{
    if (zmq_curve_keypair(kp->public_z85, kp->secret_z85) < 0)
        return mlq_err_set(err, MLQ_EIO, "cannot generate a CURVE key pair: %s",
                           zmq_strerror(errno));
    return 0;
}

/* Index of the first byte of s[0..len) outside the z85 alphabet, or len. */
static size_t z85_span(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] == '\0' || !strchr(z85_chars, s[i]))
            return i;
    return len;
}

bool mlq_keys_z85_valid(const char *s)
{
    return mlq_z85_valid(s, MLQ_KEY_Z85_LEN);
}

void mlq_keys_z85_from_bin(const uint8_t bin[MLQ_KEY_BIN_LEN], char out[MLQ_KEY_Z85_SIZE])
{
    zmq_z85_encode(out, bin, MLQ_KEY_BIN_LEN);
}

static int pub_path(const char *path, char *out, size_t size, struct mlq_err *err)
{
    if (!path || !*path)
        return mlq_err_set(err, MLQ_EINVAL, "no key file named");
    int n = snprintf(out, size, "%s.pub", path);
    if (n < 0 || (size_t)n >= size)
        return mlq_err_set(err, MLQ_EINVAL, "key file path too long");
    return 0;
}

/* ---- writing ------------------------------------------------------------ */

static int write_fd(int fd, const char *path, const char *line, mode_t mode, struct mlq_err *err)
{
    char buf[MLQ_KEY_Z85_LEN + 1];
    memcpy(buf, line, MLQ_KEY_Z85_LEN);
    buf[MLQ_KEY_Z85_LEN] = '\n';
    /* the mode given to open() is narrowed by the umask; set it exactly */
    int rc = 0;
    if (fchmod(fd, mode) < 0 || write(fd, buf, sizeof buf) != (ssize_t)sizeof buf || fsync(fd) < 0)
        rc = mlq_err_set(err, MLQ_EIO, "cannot write %s: %s", path, strerror(errno));
    explicit_bzero(buf, sizeof buf);
    if (close(fd) < 0 && rc == 0)
        rc = mlq_err_set(err, MLQ_EIO, "cannot write %s: %s", path, strerror(errno));
    return rc;
}

/* Creates path, which must not exist yet, holding line. */
static int create_new(const char *path, const char *line, mode_t mode, struct mlq_err *err)
{
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0 && errno == EEXIST)
        return mlq_err_set(err, MLQ_ESTATE, "%s exists; not overwriting it", path);
    if (fd < 0)
        return mlq_err_set(err, MLQ_EIO, "cannot create %s: %s", path, strerror(errno));
    int rc = write_fd(fd, path, line, mode, err);
    if (rc < 0)
        unlink(path);
    return rc;
}

/* Replaces path (whatever it is, a symlink included) with a file holding
 * line, through path.tmp. */
static int replace(const char *path, const char *line, mode_t mode, struct mlq_err *err)
{
    char tmp[MLQ_MAX_PATH + 8];
    int n = snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (n < 0 || (size_t)n >= sizeof tmp)
        return mlq_err_set(err, MLQ_EINVAL, "key file path too long");
    if (unlink(tmp) < 0 && errno != ENOENT)
        return mlq_err_set(err, MLQ_EIO, "cannot remove %s: %s", tmp, strerror(errno));
    int rc = create_new(tmp, line, mode, err);
    if (rc == 0 && rename(tmp, path) < 0) {
        rc = mlq_err_set(err, MLQ_EIO, "cannot rename %s: %s", tmp, strerror(errno));
        unlink(tmp);
    }
    return rc;
}

/* Makes the new directory entries durable. */
static int sync_dir(const char *path, struct mlq_err *err)
{
    char *copy = strdup(path);
    if (!copy)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    const char *dir = dirname(copy);
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    int rc = 0;
    if (fd < 0 || fsync(fd) < 0)
        rc = mlq_err_set(err, MLQ_EIO, "cannot sync directory %s: %s", dir, strerror(errno));
    if (fd >= 0)
        close(fd);
    free(copy);
    return rc;
}

int mlq_keys_write(const char *path, const struct mlq_keypair *kp, bool overwrite,
                   struct mlq_err *err)
{
    char pub[MLQ_MAX_PATH + 8];
    int rc = pub_path(path, pub, sizeof pub, err);
    if (rc < 0)
        return rc;
    if (!mlq_keys_z85_valid(kp->public_z85) || !mlq_keys_z85_valid(kp->secret_z85))
        return mlq_err_set(err, MLQ_EINVAL, "invalid key pair");
    struct stat st;
    if (overwrite) {
        rc = replace(path, kp->secret_z85, SECRET_MODE, err);
        if (rc == 0)
            rc = replace(pub, kp->public_z85, PUBLIC_MODE, err);
        return rc < 0 ? rc : sync_dir(path, err);
    }
    /* check the second file first, so a refusal leaves nothing behind */
    if (lstat(pub, &st) == 0)
        return mlq_err_set(err, MLQ_ESTATE, "%s exists; not overwriting it", pub);
    rc = create_new(path, kp->secret_z85, SECRET_MODE, err);
    if (rc == 0) {
        rc = create_new(pub, kp->public_z85, PUBLIC_MODE, err);
        if (rc < 0)
            unlink(path);
    }
    return rc < 0 ? rc : sync_dir(path, err);
}

/* ---- reading ------------------------------------------------------------ */

/* Checks that the opened file is a regular file and, for a secret key, that
 * only its owner may access it. */
static int check_file(int fd, const char *path, bool secret, struct mlq_err *err)
{
    struct stat st;
    if (fstat(fd, &st) < 0)
        return mlq_err_set(err, MLQ_EIO, "cannot stat %s: %s", path, strerror(errno));
    if (!S_ISREG(st.st_mode))
        return mlq_err_set(err, MLQ_EINVAL, "%s is not a regular file", path);
    if (secret && (st.st_mode & 077))
        return mlq_err_set(err, MLQ_EPERM,
                           "permissions %04o of secret key file %s are too open "
                           "(others may read it); run chmod 600 on it",
                           (unsigned)(st.st_mode & 07777), path);
    return 0;
}

/* Checks the n bytes read from path: 40 z85 characters, then at most a
 * newline; copies the key into out. */
static int parse_key(const char *buf, size_t n, const char *path, char out[MLQ_KEY_Z85_SIZE],
                     struct mlq_err *err)
{
    size_t len = n > 0 && buf[n - 1] == '\n' ? n - 1 : n;
    size_t good = z85_span(buf, len < MLQ_KEY_Z85_LEN ? len : MLQ_KEY_Z85_LEN);
    if (good < len && good < MLQ_KEY_Z85_LEN)
        return mlq_err_set(err, MLQ_EINVAL, "%s is not a key file: byte %zu is not a z85 character",
                           path, good + 1);
    if (n >= READ_MAX)
        return mlq_err_set(err, MLQ_EINVAL, "%s is not a key file: longer than one z85 key", path);
    if (len != MLQ_KEY_Z85_LEN)
        return mlq_err_set(err, MLQ_EINVAL,
                           "%s is not a key file: expected one line of 40 z85 characters, "
                           "found %zu bytes",
                           path, len);
    memcpy(out, buf, MLQ_KEY_Z85_LEN);
    out[MLQ_KEY_Z85_LEN] = '\0';
    if (!mlq_keys_z85_valid(out))
        return mlq_err_set(err, MLQ_EINVAL, "%s does not hold a valid z85 key", path);
    return 0;
}

static int read_key(const char *path, bool secret, char out[MLQ_KEY_Z85_SIZE], struct mlq_err *err)
{
    /* O_NONBLOCK: a FIFO planted in place of the file must not hang us */
    int fd = open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT)
        return mlq_err_set(err, MLQ_ENOTFOUND, "no key file %s", path);
    if (fd < 0)
        return mlq_err_set(err, errno == EACCES ? MLQ_EPERM : MLQ_EIO, "cannot open %s: %s", path,
                           strerror(errno));
    char buf[READ_MAX];
    size_t n = 0;
    int rc = check_file(fd, path, secret, err);
    while (rc == 0 && n < sizeof buf) {
        ssize_t got = read(fd, buf + n, sizeof buf - n);
        if (got < 0 && errno == EINTR)
            continue;
        if (got < 0)
            rc = mlq_err_set(err, MLQ_EIO, "cannot read %s: %s", path, strerror(errno));
        if (got <= 0)
            break;
        n += (size_t)got;
    }
    close(fd);
    if (rc == 0)
        rc = parse_key(buf, n, path, out, err);
    explicit_bzero(buf, sizeof buf);
    return rc;
}

int mlq_keys_read_public(const char *path, char out[MLQ_KEY_Z85_SIZE], struct mlq_err *err)
{
    if (!path || !*path)
        return mlq_err_set(err, MLQ_EINVAL, "no key file named");
    return read_key(path, false, out, err);
}

int mlq_keys_read_secret(const char *path, struct mlq_keypair *kp, struct mlq_err *err)
{
    char pub[MLQ_MAX_PATH + 8];
    char derived[MLQ_KEY_Z85_SIZE];
    int rc = pub_path(path, pub, sizeof pub, err);
    if (rc == 0)
        rc = read_key(path, true, kp->secret_z85, err);
    if (rc == 0 && zmq_curve_public(derived, kp->secret_z85) < 0)
        rc = mlq_err_set(err, MLQ_EIO, "cannot derive the public key of %s: %s", path,
                         zmq_strerror(errno));
    if (rc == 0) {
        rc = read_key(pub, false, kp->public_z85, err);
        if (rc == MLQ_ENOTFOUND) {
            memcpy(kp->public_z85, derived, sizeof derived);
            rc = 0;
        } else if (rc == 0 && strcmp(kp->public_z85, derived) != 0) {
            rc = mlq_err_set(err, MLQ_EINVAL, "%s does not hold the public key of %s", pub, path);
        }
    }
    if (rc < 0)
        explicit_bzero(kp, sizeof *kp);
    return rc;
}
