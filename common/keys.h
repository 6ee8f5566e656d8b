/* keys: CURVE key pairs as z85 text files.
 *
 * A key pair lives in two files: FILE holds the secret key (mode 0600) and
 * FILE.pub the public key (mode 0644), each one line of 40 z85 characters
 * and a newline. Reading is strict: anything but exactly 40 z85 characters,
 * optionally followed by one newline, is refused with a message naming the
 * file. Like ssh, a secret key file that others may read is refused. */
#ifndef MLQ_KEYS_H
#define MLQ_KEYS_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

#define MLQ_KEY_Z85_LEN  40                    /* z85 text of a 32-byte key */
#define MLQ_KEY_Z85_SIZE (MLQ_KEY_Z85_LEN + 1) /* with its NUL */
#define MLQ_KEY_BIN_LEN  32

struct mlq_keypair {
    char public_z85[MLQ_KEY_Z85_SIZE];
    char secret_z85[MLQ_KEY_Z85_SIZE];
};

/* Fills *kp with a fresh key pair (zmq_curve_keypair). MLQ_EIO when libzmq
 * was built without CURVE. */
int mlq_keys_generate(struct mlq_keypair *kp, struct mlq_err *err);

/* Writes kp->secret_z85 to path (mode 0600) and kp->public_z85 to path.pub
 * (mode 0644), durably. Unless overwrite is set, refuses with MLQ_ESTATE
 * when either file exists (a symlink counts); never writes through a
 * symlink. */
int mlq_keys_write(const char *path, const struct mlq_keypair *kp, bool overwrite,
                   struct mlq_err *err);

/* Reads the secret key file path and its public key from path.pub. The
 * secret file must be a regular file that neither group nor others may
 * access (MLQ_EPERM otherwise). When path.pub exists it must hold the
 * public key that belongs to the secret one; when it is absent the public
 * key is derived from the secret key. MLQ_ENOTFOUND when path is absent,
 * MLQ_EINVAL for malformed or mismatched contents. */
int mlq_keys_read_secret(const char *path, struct mlq_keypair *kp, struct mlq_err *err);

/* Reads a public key file into out (z85, NUL-terminated). MLQ_ENOTFOUND
 * when absent, MLQ_EINVAL when malformed. */
int mlq_keys_read_public(const char *path, char out[MLQ_KEY_Z85_SIZE], struct mlq_err *err);

/* True when s is exactly 40 z85 characters that decode to a 32-byte key. */
bool mlq_keys_z85_valid(const char *s);

/* Encodes a 32-byte binary key (as a ZAP request carries it) as z85. */
void mlq_keys_z85_from_bin(const uint8_t bin[MLQ_KEY_BIN_LEN], char out[MLQ_KEY_Z85_SIZE]);

#endif
