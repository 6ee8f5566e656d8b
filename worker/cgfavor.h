/* cgfavor: the kernel's "favordynmods" cgroup mode, which makes moving a
 * process into a cgroup (a write to cgroup.procs, once per hierarchy for
 * every job) cheap.
 *
 * Without it such a write takes the global threadgroup rwsem for writing,
 * which waits for an RCU grace period: 13-24 ms on an idle machine, most of
 * a job's start. With it the rwsem stays in its slow-reader mode (Linux
 * 6.0-6.17: as long as some hierarchy is mounted with favordynmods) or each
 * thread group gets its own rwsem (Linux 6.18 and later: for good, from the
 * first such mount until reboot). The price, in the kernel's words: forks
 * and exits cost slightly more.
 *
 * On a cgroup v1 host the worker mounts a named hierarchy without
 * controllers ("none,name=" MLQ_CGFAVOR_NAME ",favordynmods") on a private
 * folder of its spool and keeps it while it runs: it holds no cgroup and
 * changes no limit. Several workers on one node share the hierarchy (the
 * kernel joins mounts of the same name), each with its own mount, and
 * each unmounts only its own. On a cgroup v2 host the mode is a mount
 * option of /sys/fs/cgroup itself, shared with systemd: the worker only
 * says whether it is on and how an admin turns it on. */
#ifndef MLQ_CGFAVOR_H
#define MLQ_CGFAVOR_H

#include <stdbool.h>
#include <stddef.h>

#include "cglimit.h"

#define MLQ_CGFAVOR_NAME   "mlq-favordynmods"
#define MLQ_CGFAVOR_FOLDER "cgroup-favordynmods" /* in the spool */

/* "on" / "off" -> 1 / 0; -1 for anything else. */
int mlq_cgfavor_parse(const char *s);

struct mlq_cgfavor {
    char dir[4096]; /* the mount point; "" when this worker mounted nothing */
};

/* At worker start, once the hierarchy h of the job cgroups is chosen:
 * with on, mounts (v1) or checks (v2) as above; with off, unmounts what a
 * previous run on the spool left mounted. Logs one line saying what it did
 * and why; never fails (a mount that fails is a warning). */
void mlq_cgfavor_start(struct mlq_cgfavor *f, bool on, enum mlq_cglimit_hier h, const char *spool);
/* At a clean exit: unmounts this worker's own mount and removes its folder. */
void mlq_cgfavor_stop(struct mlq_cgfavor *f);

/* True when mountinfo lists a cgroup mount at dir whose options hold
 * favordynmods (dir absolute, as mountinfo writes it unescaped). */
bool mlq_cgfavor_mounted(const char *dir, const char *fstype);

#endif
