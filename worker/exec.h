/* exec: how the worker starts a shim and signals it.
 *
 * The worker is multi-threaded (ZeroMQ's I/O threads), so between fork and
 * exec the child only makes async-signal-safe calls. The shim gets no file
 * descriptor of the worker's besides /dev/null on 0..2. */
#ifndef MLQ_EXEC_H
#define MLQ_EXEC_H

#include "err.h"
#include "spool.h"

/* Starts `shim_path attempt_dir`. On success fills *out with the shim's pid,
 * start time and wall clock start. Fails (MLQ_EIO, with the reason) when the
 * fork fails or the shim cannot be executed; nothing is left running then.
 * The caller reaps the shim later (waitpid). */
int mlq_exec_start_shim(const char *shim_path, const char *attempt_dir, struct mlq_shim_id *out,
                        struct mlq_err *err);

/* Sends sig to the shim when it is still the same process (pid and start
 * time match). MLQ_ENOTFOUND when it is gone. */
int mlq_exec_signal(const struct mlq_shim_id *id, int sig, struct mlq_err *err);

/* Default shim path: mlq-shim next to the running executable. Caller frees;
 * NULL when /proc/self/exe cannot be read. */
char *mlq_exec_default_shim(void);

#endif
