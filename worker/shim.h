/* shim: the per-job supervisor (mlq-shim ATTEMPT_DIR).
 *
 * The worker starts one shim per attempt. The shim leaves the worker's session
 * (setsid) and becomes a child subreaper, so the job keeps running and is
 * still supervised when the worker dies or restarts. It reads the attempt's
 * assign file and runs argv (no shell) in its own process group (and cgroup
 * v2 when it may create one, see jobtree.h) with stdout and stderr appended
 * to the attempt's log files. It enforces the spec's time limit on
 * CLOCK_MONOTONIC from the job's start (warn_signal warn_before_ms before
 * it; at the limit SIGTERM, outcome timed_out), passes SIGTERM/SIGINT it
 * receives on to the job, and sends SIGKILL kill_grace_ms after any SIGTERM.
 * Signals go to every process of the job, including those that called
 * setsid or double-forked. When the main process ends, whatever is left of
 * the job is killed, and the attempt's status file is written atomically
 * only once no process of the job remains.
 *
 * Self-fencing: the shim keeps the worker's lease itself (lease.h), so that
 * it holds when the worker daemon is dead. It sleeps at most until the
 * deadline it last read, reads the lease file again then, and once the
 * deadline has passed ends the job (SIGTERM to every process, SIGKILL after
 * the kill grace) and records outcome "lost" ("self-fenced: ..."). An
 * attempt whose lease is over when its shim starts never runs. Without a
 * lease file (no worker wrote one) the shim keeps no lease. */
#ifndef MLQ_SHIM_H
#define MLQ_SHIM_H

#include <stddef.h>

#include "err.h"

/* Runs the attempt in attempt_dir in the calling process, which becomes a
 * session leader and subreaper and must be single-threaded. Returns 0 once a
 * status file is written (whatever the job's outcome, start failures
 * included) or when the attempt already had one; a negative MLQ_E* code when
 * not even the status could be written. Signal mask: blocks SIGCHLD, SIGTERM,
 * SIGINT and SIGHUP for its own use. */
int mlq_shim_run(const char *attempt_dir, struct mlq_err *err);
/* Standby (`mlq-shim --standby ATTEMPTS_DIR`): the worker starts the shim
 * ahead of need with this descriptor open, and names it attempt folders
 * there (shimzygote.h). */
#define MLQ_SHIM_STANDBY_ARG "--standby"
#define MLQ_SHIM_STANDBY_FD  4

/* Loads, while the standby waits, what every shim it forks would otherwise
 * find for itself (its cgroup v1 folders, the run manifest's settings, the
 * name-service modules for the account lookups). */
void mlq_shim_warm(void);

#endif
