/* config: the client config file written by `mlq up` and read by the CLI.
 *
 * Format: one `key = value` per line, `#` comments, blank lines ignored;
 * keys [a-z0-9_]+, values trimmed, at most 4096 bytes per line and 64 keys.
 * Anything else is an error naming the file and line. */
#ifndef MLQ_CONFIG_H
#define MLQ_CONFIG_H

#include <stddef.h>

#include "err.h"

struct mlq_config;

/* Parses text (len bytes); *out is owned by the caller (mlq_config_destroy).
 * origin names the source in error messages. */
int mlq_config_parse(const char *text, size_t len, const char *origin, struct mlq_config **out,
                     struct mlq_err *err);
/* Loads a file; MLQ_ENOTFOUND when it does not exist. */
int mlq_config_load(const char *path, struct mlq_config **out, struct mlq_err *err);
/* Value of key or NULL; the string belongs to cfg. */
const char *mlq_config_get(const struct mlq_config *cfg, const char *key);
/* Frees *cfg and sets it to NULL; accepts NULL. */
void mlq_config_destroy(struct mlq_config **cfg);

/* One "key = value" line of a daemon config file, in file order, duplicates
 * included; returns 0 or a negative code with err set (which stops the scan). */
typedef int (*mlq_config_line_fn)(void *ctx, const char *key, const char *value, int line,
                                  struct mlq_err *err);
/* Scans text with the same lexical rules and line bound as the client config,
 * but keys may also contain '-' (the daemons' option names) and every line is
 * handed to fn; more than max_keys settings is an error. Errors read
 * "ORIGIN:LINE: why". */
int mlq_config_scan(const char *text, size_t len, const char *origin, int max_keys,
                    mlq_config_line_fn fn, void *ctx, struct mlq_err *err);
/* mlq_config_scan on a file (at most 1 MiB); MLQ_ENOTFOUND when it does not
 * exist. */
int mlq_config_scan_file(const char *path, int max_keys, mlq_config_line_fn fn, void *ctx,
                         struct mlq_err *err);

/* Default client config path: $MLQ_CONFIG, else $XDG_CONFIG_HOME/mlq/config,
 * else $HOME/.config/mlq/config. Caller frees. NULL if none can be formed. */
char *mlq_config_default_path(void);

#endif
