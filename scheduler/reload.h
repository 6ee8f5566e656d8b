/* reload: what mlq-scheduler does on SIGHUP. It reads the config file again
 * with every check that start makes; a bad file is logged (FILE:LINE) and
 * changes nothing. Otherwise the settings that can change live are applied
 * (log level, log file, new authorize keys, retention), every other changed
 * key is logged as "needs a restart: KEY", and the log file is reopened
 * (logrotate's postrotate). Runs on the loop's thread (loop.h's hook). */
#ifndef MLQ_RELOAD_H
#define MLQ_RELOAD_H

#include "loop.h"
#include "schedopts.h"

struct mlq_reload {
    const struct mlq_schedopts_src *src; /* the command line and start's file */
    struct mlq_optconf last;             /* the file of the last reload */
    bool reloaded;                       /* last holds it (else src->file) */
};

/* mlq_loop_on_reload's hook; arg is a struct mlq_reload. */
void mlq_reload_run(struct mlq_loop *s, void *arg);
void mlq_reload_clear(struct mlq_reload *r);

#endif
