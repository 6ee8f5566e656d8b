/* drainctl: the client side of `mlq-worker --drain-and-exit --spool DIR`:
 * finds the worker that owns a spool, asks it to drain (SIGUSR2) and
 * reports what it still holds, without changing anything in the spool. */
#ifndef MLQ_DRAINCTL_H
#define MLQ_DRAINCTL_H

#include <sys/types.h>

#include "err.h"

struct mlq_drainctl_counts {
    int running;   /* no outcome yet */
    int reporting; /* outcome not acknowledged by the scheduler */
    int uploading; /* logs not all uploaded */
};

/* Pid of the worker holding root's worker.lock (from /proc/locks, else the
 * pid file once a probe shows the lock is held); 0 when no worker runs
 * there. MLQ_ENOTFOUND when root is not a spool. */
int mlq_drainctl_owner(const char *root, pid_t *pid, struct mlq_err *err);
/* Sends SIGUSR2 to the worker of root; *pid is its pid, 0 when none runs. */
int mlq_drainctl_signal(const char *root, pid_t *pid, struct mlq_err *err);
/* Counts the attempts of root by state. */
int mlq_drainctl_count(const char *root, struct mlq_drainctl_counts *c, struct mlq_err *err);

#endif
