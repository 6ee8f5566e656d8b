/* shimstart: the job's start, from the shim (shim.h).
 *
 * The shim starts one child for the job; a plain job's child shares the
 * shim's memory until its exec (as with posix_spawn), a container job's is
 * a fork. The child joins the job's process
 * tree and cgroups, makes itself its own process group leader, sets every
 * signal back to its default, takes /dev/null as stdin and the job's
 * output descriptors as stdout and stderr, gives up root for the job's
 * account when the shim runs as root (setgid, setgroups, setuid, each
 * checked, then a check that root cannot be regained), changes to the
 * working directory and execs the command. What goes wrong in the child up
 * to and including the exec comes back over a close-on-exec pipe as a start
 * failure, never as an exit code 126/127 that the job itself could have
 * chosen. */
#ifndef MLQ_SHIMSTART_H
#define MLQ_SHIMSTART_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

#include "jobout.h"
#include "jobtree.h"
#include "jobusage.h"

/* What the forked child needs to become the job. */
struct mlq_shimstart {
    struct mlq_jobtree *tree;
    struct mlq_jobusage *usage;
    struct mlq_jobout *out; /* the job's stdout/stderr (jobout.h) */
    const char *workdir;
    char **argv;    /* what is executed (the container runtime's line for one) */
    bool container; /* argv runs a container runtime, which takes the account */
    char **env;
    /* The account the job runs as, when the shim is root (drop). */
    bool drop;
    uid_t uid;
    gid_t gid;
    gid_t *groups;
    int ngroups;
    const char *user;
};

/* Why a start failed. */
enum mlq_shimstart_fail {
    MLQ_SHIMSTART_SHIM,   /* in the shim, before the fork (pipe, fork) */
    MLQ_SHIMSTART_FINAL,  /* the request's cause (a command or workdir not there) */
    MLQ_SHIMSTART_WORKER, /* this worker's cause: a retry elsewhere may work */
};

/* Forks and execs the job. The job's pid (> 0) once the exec succeeded;
 * -1 with why (and *fail) filled when it never started, its child already
 * reaped. */
pid_t mlq_shimstart_job(const struct mlq_shimstart *in, char *why, size_t len,
                        enum mlq_shimstart_fail *fail);

/* Reaps every ended child without waiting. */
void mlq_shimstart_reap_all(void);

#endif
