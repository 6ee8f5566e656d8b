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

/* Default client config path: $MLQ_CONFIG, else $XDG_CONFIG_HOME/mlq/config,
 * else $HOME/.config/mlq/config. Caller frees. NULL if none can be formed. */
char *mlq_config_default_path(void);

#endif
