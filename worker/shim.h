/* shim: the per-job supervisor (mlq-shim ATTEMPT_DIR).
 *
 * The worker starts one shim per attempt. The shim leaves the worker's session
 * (setsid) and becomes a child subreaper, so the job keeps running and is
 * still supervised when the worker dies or restarts. It reads the attempt's
 * assign file, runs argv (no shell) in its own process group with stdout and
 * stderr appended to the attempt's log files, forwards SIGTERM/SIGINT to the
 * job's process group and escalates to SIGKILL after the attempt's kill
 * grace, and finally writes the attempt's status file atomically. */
#ifndef MLQ_SHIM_H
#define MLQ_SHIM_H

#include "err.h"

/* Runs the attempt in attempt_dir in the calling process, which becomes a
 * session leader and subreaper and must be single-threaded. Returns 0 once a
 * status file is written (whatever the job's outcome, start failures
 * included) or when the attempt already had one; a negative MLQ_E* code when
 * not even the status could be written. Signal mask: blocks SIGCHLD, SIGTERM,
 * SIGINT and SIGHUP for its own use. */
int mlq_shim_run(const char *attempt_dir, struct mlq_err *err);

#endif
