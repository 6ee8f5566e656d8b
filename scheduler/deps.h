/* deps: jobs held back by their dependencies (`--after`, `--after-any`,
 * `--after-failed`), and the index from a target (job or array id) to the
 * jobs waiting on it, so that a job's end re-examines only its waiters. */
#ifndef MLQ_DEPS_H
#define MLQ_DEPS_H

#include <stddef.h>

#include "ctx.h"

struct mlq_deps;

struct mlq_deps *mlq_deps_create(void);
void mlq_deps_destroy(struct mlq_deps **d);
/* Lists job under each of its dependency targets. */
int mlq_deps_hold(struct mlq_deps *d, struct mlq_job *job);
/* Takes job off every list (it started, was cancelled or is freed). */
void mlq_deps_release(struct mlq_deps *d, struct mlq_job *job);
/* Copy of the jobs waiting on target; the caller frees *out. */
int mlq_deps_waiters(struct mlq_deps *d, const char *target, struct mlq_job ***out, size_t *n);

enum mlq_dep_status {
    MLQ_DEPS_WAIT = 0, /* some dependency may still be met */
    MLQ_DEPS_MET,      /* all met: the job may be queued */
    MLQ_DEPS_NEVER,    /* one can never be met: the job is cancelled */
};

/* Where job's dependencies stand; why (len bytes) names the first one not
 * met, e.g. "waits for 1a2b3c4d (RUNNING)" or "dependency 1a2b3c4d ended
 * FAILED". */
enum mlq_dep_status mlq_deps_check(struct mlq_ctx *c, const struct mlq_job *job, char *why,
                                   size_t len);

#endif
