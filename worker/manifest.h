/* manifest: the pieces of an attempt's run manifest that need no system
 * access, so that they can be unit tested: which environment names are
 * secret and how their values are shown, the environment object, and the
 * bounded JSON text of a whole manifest.
 *
 * A secret value never appears in clear: it becomes "sha256:" and the first
 * 16 hex digits of its SHA-256 (libsodium), enough to tell two values apart
 * in `mlq diff` and useless to recover a token. A name is secret when it
 * matches one of the patterns (fnmatch globs, case-insensitive): always the
 * defaults below, plus the worker's --secret-env ones. */
#ifndef MLQ_MANIFEST_H
#define MLQ_MANIFEST_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#define MLQ_MANIFEST_FORMAT       1 /* the document's "format" */
#define MLQ_MANIFEST_MAX_PATTERNS 64
#define MLQ_MANIFEST_MAX_PATTERN  128
#define MLQ_MANIFEST_REDACTED_LEN 23 /* "sha256:" + 16 hex digits */
#define MLQ_MANIFEST_DEFAULT_SECRETS                                                               \
    {                                                                                              \
        "*TOKEN*", "*SECRET*", "*PASSWORD*", "*KEY*"                                               \
    }

/* The list of secret-name patterns: the defaults, then the extra ones. */
struct mlq_manifest_secrets {
    char pat[MLQ_MANIFEST_MAX_PATTERNS][MLQ_MANIFEST_MAX_PATTERN + 1];
    size_t n;
};

/* Fills s with the defaults. */
void mlq_manifest_secrets_init(struct mlq_manifest_secrets *s);
/* Adds one pattern: -1 when it is empty, too long, has a newline or the
 * list is full. */
int mlq_manifest_secrets_add(struct mlq_manifest_secrets *s, const char *pattern);
/* True when name matches a pattern, ignoring case. */
bool mlq_manifest_is_secret(const struct mlq_manifest_secrets *s, const char *name);
/* Writes "sha256:<16 hex>" of value into out (at least
 * MLQ_MANIFEST_REDACTED_LEN + 1 bytes). */
void mlq_manifest_redact(const char *value, char *out, size_t len);
/* The environment as an object NAME -> value, secret values redacted.
 * envp is NULL-terminated "NAME=VALUE" entries; entries without '=' are
 * skipped. NULL when out of memory. */
json_t *mlq_manifest_env(char *const *envp, const struct mlq_manifest_secrets *s);
/* The compact JSON text of doc (keys sorted) in at most max bytes: when it
 * is longer, the longest of the lists "env", "inputs" and "outputs" is
 * halved again and again, each marked with "<name>_truncated": true, and
 * when that is not enough every list goes. Caller frees *out. 0, or -1
 * when out of memory. doc may be changed. */
int mlq_manifest_dump(json_t *doc, size_t max, char **out);

#endif
