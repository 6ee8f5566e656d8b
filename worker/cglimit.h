/* cglimit: holding one job to the memory and CPUs it asked for, and
 * measuring what it used, through cgroups.
 *
 * Two hierarchies are handled:
 * - cgroup v2 (the primary path): memory.max, cpu.max, memory.oom.group;
 *   usage from memory.peak, cpu.stat usage_usec, memory.events oom_kill.
 *   Job cgroups are made under a parent whose cgroup.subtree_control enables
 *   memory and cpu; that parent holds no process itself (the v2 rule), so
 *   the worker moves itself into a leaf "mlq-worker" below it at start
 *   (mlq_cglimit_setup).
 * - cgroup v1 (hybrid hosts whose v2 mount has no controllers):
 *   memory.limit_in_bytes (and memory.memsw.limit_in_bytes where present, so
 *   that swap is no way out), cpu.cfs_quota_us / cpu.cfs_period_us; usage
 *   from memory.max_usage_in_bytes, cpuacct.usage, memory.oom_control
 *   oom_kill (memory.failcnt where the kernel has no oom_kill count).
 *
 * The shim creates a job's cgroups before the fork and the job joins them
 * before exec (mlq_cglimit_join), so every process the job makes (fork,
 * setsid, double fork) is born inside. MLQ_CGROUP_FS names the v2 mount
 * (default /sys/fs/cgroup; "none" turns every cgroup off, v1 included). */
#ifndef MLQ_CGLIMIT_H
#define MLQ_CGLIMIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"

enum mlq_cglimit_mode { MLQ_CGL_ENFORCE = 0, MLQ_CGL_ACCOUNT, MLQ_CGL_OFF };
enum mlq_cglimit_hier { MLQ_CGL_NONE = 0, MLQ_CGL_V1, MLQ_CGL_V2 };

/* Environment the worker sets for its shims: the mode and hierarchy it
 * chose, and for v2 the parent of the job cgroups. */
#define MLQ_CGL_ENV_MODE   "MLQ_LIMITS"
#define MLQ_CGL_ENV_HIER   "MLQ_LIMITS_CGROUP"
#define MLQ_CGL_ENV_PARENT "MLQ_LIMITS_PARENT"

#define MLQ_CGL_PERIOD_US   100000 /* cpu.max / cfs period */
#define MLQ_CGL_MIN_QUOTA   1000   /* the kernel's smallest quota, µs */
#define MLQ_CGL_WORKER_LEAF "mlq-worker"
#define MLQ_CGL_POOL_PREFIX "mlq-pool-" /* pooled job cgroups: mlq-pool-<standby pid> */

/* What a job's cgroup measured; -1 where unknown. */
struct mlq_cglimit_usage {
    int64_t mem_peak; /* bytes */
    int64_t cpu_us;   /* user + system */
    int64_t oom_kills;
    int64_t failcnt; /* v1: times the limit was hit */
};

/* "enforce", "account", "off" <-> mode; -1 for anything else. */
int mlq_cglimit_mode_parse(const char *s);

/* True when the comma-separated list (mount options) holds word. */
bool mlq_cglimit_list_has(const char *list, const char *word);
const char *mlq_cglimit_mode_name(enum mlq_cglimit_mode m);
/* "v2", "v1", "none" */
const char *mlq_cglimit_hier_name(enum mlq_cglimit_hier h);
/* The hierarchy named in env (MLQ_CGL_ENV_HIER); NONE when unset. */
enum mlq_cglimit_hier mlq_cglimit_hier_from_env(void);

/* At worker start, in mode m: finds a hierarchy where this process may make
 * job cgroups with memory and cpu control, prepares it (v2: moves the
 * process into its leaf and enables the controllers) and exports the choice
 * to the environment for the shims. NONE (why says why) when there is none
 * or m is OFF; V1 with why saying why not v2. */
enum mlq_cglimit_hier mlq_cglimit_setup(enum mlq_cglimit_mode m, char *why, size_t len);

/* Removes job cgroups of hierarchy h that hold no process and are at least
 * min_age_s old: left by shims that died while no worker could clean up
 * after them (a younger empty one may be a job about to join it). Returns
 * how many. */
#define MLQ_CGL_SWEEP_AGE_S 60
int mlq_cglimit_sweep(enum mlq_cglimit_hier h, int64_t min_age_s);

/* ---- v2 files, on any directory (unit tests use a plain folder) ---- */

/* Writes memory.max (mem 0: "max"), memory.oom.group and cpu.max (cpus_m
 * 0: "max") into dir. 0 or a negative MLQ_E* code. */
int mlq_cglimit_v2_apply(const char *dir, int64_t mem, int64_t cpus_m, struct mlq_err *err);
/* Reads memory.peak, cpu.stat usage_usec and memory.events oom_kill. */
void mlq_cglimit_v2_read(const char *dir, struct mlq_cglimit_usage *u);
/* Writes the v1 files: memory.limit_in_bytes (+ memsw) into memdir,
 * cpu.cfs_period_us / cpu.cfs_quota_us into cpudir (either may be NULL). */
int mlq_cglimit_v1_apply(const char *memdir, const char *cpudir, int64_t mem, int64_t cpus_m,
                         struct mlq_err *err);
void mlq_cglimit_v1_read(const char *memdir, const char *acctdir, struct mlq_cglimit_usage *u);

/* ---- one job ---- */

struct mlq_cglimit;

/* Creates the job's cgroups (named mlq-<name>) in the hierarchy the worker
 * chose (environment), with limits when the mode is enforce. *out is NULL
 * (and 0 returned) when the job gets none; an error only when a limit
 * asked for cannot be written. */
int mlq_cglimit_create(const char *name, int64_t mem, int64_t cpus_m, struct mlq_cglimit **out,
                       struct mlq_err *err);
/* For a process that forks shims and stays in its cgroups (the standby
 * shim): finds its own v1 folders once, for every job cgroup made after
 * (in it or in a process it forks) instead of reading /proc for each, and
 * makes the first set of pooled job cgroups (removed at its exit). */
void mlq_cglimit_warm(void);
/* In a shim forked by the standby, once its job runs: makes the next set
 * of pooled job cgroups (v1; see cglimit.c) when the standby is still
 * there. Nothing for other processes. */
void mlq_cglimit_pool_refill(void);
/* In the forked job before exec: joins every cgroup. Async-signal-safe.
 * 0 or -errno. Accepts NULL. */
int mlq_cglimit_join(const struct mlq_cglimit *c);
void mlq_cglimit_read(const struct mlq_cglimit *c, struct mlq_cglimit_usage *u);
enum mlq_cglimit_hier mlq_cglimit_hier(const struct mlq_cglimit *c);
/* True when the memory limit was written (enforce with a --mem). */
bool mlq_cglimit_mem_enforced(const struct mlq_cglimit *c);
/* Path of the v2 cgroup or the v1 memory cgroup (for tests and logs). */
const char *mlq_cglimit_path(const struct mlq_cglimit *c);
/* Removes the cgroups (once the job has no process left) and frees c. */
void mlq_cglimit_destroy(struct mlq_cglimit **c);

/* v1 only (a v2 job cgroup is jobtree's "cgroup" note): the job's cgroup
 * folders separated by spaces into buf, for the spool, so that the worker
 * can end the job if its shim dies. 0, or -1 when there is nothing to note
 * (v2, none, a path with a space, buf too small). */
int mlq_cglimit_v1_note(const struct mlq_cglimit *c, char *buf, size_t len);
/* The worker, for a shim that died: SIGKILL to every process left in the
 * v1 cgroups of note (each must be an absolute mlq-... folder on a cgroup
 * v1 file system), then removes them, for at most max_ms. 0 once gone;
 * MLQ_EINVAL for a note naming anything else; MLQ_EUNAVAIL at the
 * deadline. */
int mlq_cglimit_kill_v1(const char *note, int64_t max_ms, struct mlq_err *err);

#endif
