/* shimzygote: the standby shim as a zygote (`mlq-shim --standby
 * ATTEMPTS_DIR`, see exec.h).
 *
 * The worker starts one standby shim ahead of need and names it attempt
 * folders over a socket pair (descriptor MLQ_SHIM_STANDBY_FD), one line
 * each. For each folder the standby forks a shim that runs the attempt
 * exactly as `mlq-shim DIR` would, answers the worker with that shim's
 * identity, and waits for the next folder: a burst of assignments costs one
 * exec and dynamic linking of mlq-shim, not one per job.
 *
 * The shim is forked as a child of the worker, not of the standby
 * (clone with CLONE_PARENT), so the worker sees each shim end (SIGCHLD,
 * waitpid) as it sees the ones it started itself, and a shim lives on
 * whatever happens to the standby. The shim writes its own shim.pid before
 * running anything, as a shim the worker executed does, so a restarted
 * worker re-adopts it.
 *
 * Protocol: the worker sends "DIR\n" (a folder right inside the attempts
 * folder); the standby answers "PID STARTTIME\n" for the shim it forked,
 * "0 0\n" when it could not fork one. Closing the worker's end sends it
 * away. */
#ifndef MLQ_SHIMZYGOTE_H
#define MLQ_SHIMZYGOTE_H

#include <stddef.h>

#include "bounds.h"

/* The longest line either way: a path and its newline. */
#define MLQ_SHIMZYGOTE_LINE_MAX (MLQ_MAX_PATH + 2)

/* Lines from the worker, as they come (several may come in one read). */
struct mlq_shimzygote_in {
    int fd;
    size_t have;
    char buf[MLQ_SHIMZYGOTE_LINE_MAX];
};

/* Reads the next folder named on in->fd into dir: 1 when it is a folder
 * right inside attempts_dir; 0 when the worker closed its end with no
 * partial line; MLQ_EINVAL for anything else (too long, no newline before
 * the end, outside attempts_dir, a hidden or nested name). */
int mlq_shimzygote_next(struct mlq_shimzygote_in *in, const char *attempts_dir, char *dir,
                        size_t len);

/* Serves folders from fd until the worker closes its end. Returns 1 in a
 * forked shim, with the attempt folder it is to run in dir (fd closed);
 * 0 in the standby once the worker closed its end; MLQ_EINVAL when the
 * worker sent something malformed. */
int mlq_shimzygote_serve(int fd, const char *attempts_dir, char *dir, size_t len);

#endif
