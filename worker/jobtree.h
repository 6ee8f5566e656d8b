/* jobtree: every process of one job, found and ended as a unit.
 *
 * The supervisor (the shim) is a child subreaper, so a descendant of the job
 * whose parent dies is re-parented to the supervisor: the job's processes are
 * exactly the supervisor's descendants, whatever setsid() or double forks
 * they do, and a walk of /proc along parent links finds them all.
 *
 * Where the supervisor may create a cgroup v2 (cgroup2 mounted at
 * $MLQ_CGROUP_FS, default /sys/fs/cgroup, and its own cgroup writable) the
 * job also gets one, <own cgroup>/mlq-<name>: cgroup.kill ends it at once,
 * and it still names the job's processes if the supervisor itself dies.
 * MLQ_CGROUP_FS=none turns cgroups off. */
#ifndef MLQ_JOBTREE_H
#define MLQ_JOBTREE_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"

#define MLQ_JOBTREE_CGROUP_PREFIX "mlq-"

struct mlq_jobtree;

/* Prepares the calling process to supervise a job named name (an attempt
 * id: it names the cgroup). A missing or unusable cgroup v2 is no error (the
 * /proc walk alone is used). Caller owns *out. */
int mlq_jobtree_create(const char *name, struct mlq_jobtree **out, struct mlq_err *err);
/* Removes the job's cgroup (waiting briefly for it to empty) and frees t.
 * Accepts NULL; nulls *t. */
void mlq_jobtree_destroy(struct mlq_jobtree **t);
/* Path of the job's cgroup; NULL when it has none. */
const char *mlq_jobtree_cgroup(const struct mlq_jobtree *t);

/* In the forked job before exec: moves the calling process into the job's
 * cgroup. Async-signal-safe. 0, or -errno (the job then runs without it). */
int mlq_jobtree_join(const struct mlq_jobtree *t);

/* Sends sig to every live process of the job (never the supervisor); sig 0
 * only counts them. Returns how many it found. */
int mlq_jobtree_signal(struct mlq_jobtree *t, int sig);
/* SIGKILL to the whole job (cgroup.kill when there is one); returns how many
 * live processes it found. Call until it returns 0, reaping in between. */
int mlq_jobtree_kill(struct mlq_jobtree *t);

/* Ends whatever is left in the cgroup at path (one this module created, for
 * a supervisor that died) and removes it, for at most max_ms. 0 once gone;
 * MLQ_EINVAL when path is not a job cgroup; MLQ_EUNAVAIL when processes are
 * still there at the deadline. */
int mlq_jobtree_kill_cgroup(const char *path, int64_t max_ms, struct mlq_err *err);

#endif
