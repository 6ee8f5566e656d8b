/* schedopts: mlq-scheduler's options, from one table that drives the
 * command line, the config file (optconf.h) and --help's list of keys. */
#ifndef MLQ_SCHEDOPTS_H
#define MLQ_SCHEDOPTS_H

#include <stdbool.h>
#include <stdio.h>

#include "bounds.h"
#include "http.h"
#include "log.h"
#include "loop.h"
#include "optconf.h"

#define MLQ_SCHEDOPTS_MAX_AUTHORIZE  256
#define MLQ_SCHEDOPTS_DEFAULT_CONFIG "/etc/mlq/scheduler.conf"

/* Every string points into the optconf sources it was built from. */
struct mlq_schedopts {
    struct mlq_loop_opts s;
    struct mlq_http_opts http;
    const char *auth[MLQ_SCHEDOPTS_MAX_AUTHORIZE];
    size_t nauth;
    enum mlq_log_level level;
    const char *log_file; /* NULL: stderr */
    const char *restore;  /* --restore FILE: install FILE as DIR/mlq.db and exit */
    bool help, version;
};

/* The command line and the config file the options came from. */
struct mlq_schedopts_src {
    struct mlq_optconf cmd, file;
    const char *config; /* the file read, or NULL for none */
};

const struct mlq_optconf_spec *mlq_schedopts_spec(void);
void mlq_schedopts_usage(FILE *f);
/* Reads argv, then the config file (--config, else the default one when it
 * exists; "none" for no file), into o. Returns 0, or MLQ_EINVAL with err set
 * (an empty message when getopt already printed it). */
int mlq_schedopts_load(int argc, char **argv, struct mlq_schedopts_src *src,
                       struct mlq_schedopts *o, struct mlq_err *err);
/* Builds o from the defaults, file (may be NULL) and cmd, with every check
 * that start makes. */
int mlq_schedopts_build(const struct mlq_optconf *file, const struct mlq_optconf *cmd,
                        struct mlq_schedopts *o, struct mlq_err *err);
void mlq_schedopts_src_clear(struct mlq_schedopts_src *src);

#endif
