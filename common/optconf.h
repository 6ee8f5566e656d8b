/* optconf: a daemon's options from its command line and its config file,
 * driven by one getopt_long table, so that the flags and the config keys can
 * never drift apart.
 *
 * A config file holds "key = value" lines (config.h's lexical rules) whose
 * keys are the long option names without "--"; a flag (no argument) takes
 * "true" or "false". Options the daemon marks as repeatable may appear on
 * several lines; any other key twice is an error, as is a key that is not an
 * option or is marked as no config key (help, version, config). A setting
 * given on the command line replaces every line of the file for that key.
 *
 * The daemon keeps its own value parser (apply below) for both sources, so a
 * value means the same in a file and on the command line; optconf adds where
 * it came from to the error ("FILE:LINE: key: ..." or "--key: ..."). */
#ifndef MLQ_OPTCONF_H
#define MLQ_OPTCONF_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define MLQ_OPTCONF_MAX 512 /* settings per source (lines with a key, argv options) */

struct mlq_optconf_spec {
    const char *prog;           /* in messages: "mlq-scheduler" */
    const struct option *table; /* getopt_long's table, {0} terminated */
    const char *shortopts;      /* getopt_long's short options */
    const int *repeatable;      /* codes that may be given several times; 0 ends */
    const int *not_keys;        /* codes a config file may not set; 0 ends */
};

struct mlq_optconf_setting {
    int code;    /* the table's val */
    char *value; /* "true" for a flag on the command line */
    int line;    /* line in the file; 0 on the command line */
};

/* The settings of one source, in order. */
struct mlq_optconf {
    struct mlq_optconf_setting *set;
    size_t n;
    char *origin; /* the file's path, or NULL for the command line */
};

/* Collects argv's options with getopt_long (which prints its own errors,
 * then MLQ_EINVAL); an operand is an error too. */
int mlq_optconf_argv(const struct mlq_optconf_spec *spec, int argc, char **argv,
                     struct mlq_optconf *out, struct mlq_err *err);
/* Reads path strictly into out; MLQ_ENOTFOUND when it does not exist. */
int mlq_optconf_file(const struct mlq_optconf_spec *spec, const char *path, struct mlq_optconf *out,
                     struct mlq_err *err);
/* The last value of code in src, or NULL. */
const char *mlq_optconf_get(const struct mlq_optconf *src, int code);

/* Parses one value into the daemon's options (value is NULL for a flag set
 * to true; a flag set to false is not applied). Returns 0, or a negative
 * code with err holding what was expected. */
typedef int (*mlq_optconf_apply_fn)(void *ctx, int code, const char *value, struct mlq_err *err);
/* Applies file (may be NULL) except the codes cmd sets, then cmd. The error
 * names the source: "FILE:LINE: key: why" or "--key: why". */
int mlq_optconf_apply(const struct mlq_optconf_spec *spec, const struct mlq_optconf *file,
                      const struct mlq_optconf *cmd, mlq_optconf_apply_fn apply, void *ctx,
                      struct mlq_err *err);
/* Whether the value code ends up with differs between the files a and b
 * (either may be NULL) when cmd is applied over them. */
bool mlq_optconf_changed(const struct mlq_optconf *a, const struct mlq_optconf *b,
                         const struct mlq_optconf *cmd, int code);
/* The long name of code ("lease"), or "?". */
const char *mlq_optconf_name(const struct mlq_optconf_spec *spec, int code);
void mlq_optconf_clear(struct mlq_optconf *src);

#endif
