/* creds: which keys the CLI talks to the scheduler with.
 *
 * Every request goes over CURVE unless plain TCP was asked for explicitly:
 * the global --insecure, or `insecure = yes` in the client config (what
 * `mlq up --insecure` writes). Otherwise the client config names the key
 * pair and the scheduler's public key:
 *   key = PATH            the client's secret key file (PATH.pub beside it);
 *                         $MLQ_KEY overrides it for one command; when both
 *                         are absent, the file `key` next to the config (what
 *                         `mlq keygen` writes by default) is used if present
 *   scheduler_key = PATH  the scheduler's public key file
 * Relative paths in a config file are relative to the file's directory.
 *
 * Nothing here prints; the secret key lives in struct mlq_creds and is
 * wiped by mlq_creds_wipe(). */
#ifndef MLQ_CLI_CREDS_H
#define MLQ_CLI_CREDS_H

#include <stdbool.h>

#include "err.h"
#include "transport.h"

struct mlq_creds {
    bool plain;             /* no CURVE: --insecure or `insecure = yes` */
    struct mlq_curve curve; /* when !plain */
};

/* Where the credentials come from. */
struct mlq_creds_src {
    bool insecure;           /* the global --insecure */
    const char *config_path; /* NULL: mlq_config_default_path() */
    const char *env_key;     /* $MLQ_KEY; NULL or "" when unset */
};

/* Resolves and reads the credentials. MLQ_CLI_EUSAGE-class problems (no
 * key configured, a bad `insecure` value) are MLQ_EINVAL with a message
 * that says what to set; unreadable or malformed key files keep the codes
 * of keys.h (MLQ_ENOTFOUND, MLQ_EPERM, MLQ_EINVAL) with the file named. */
int mlq_creds_load(const struct mlq_creds_src *src, struct mlq_creds *out, struct mlq_err *err);

/* Reads a key pair (secret file key_path, its .pub beside it) and the
 * scheduler's public key file into *out (not plain). */
int mlq_creds_from_files(const char *key_path, const char *scheduler_pub, struct mlq_creds *out,
                         struct mlq_err *err);

/* Zeroes *c (the secret key included) in a way the compiler keeps. */
void mlq_creds_wipe(struct mlq_creds *c);

/* The directory that holds the client config (for `mlq keygen`'s default
 * key path): malloc'd, NULL when none can be formed. */
char *mlq_creds_config_dir(const char *config_path);

#endif
