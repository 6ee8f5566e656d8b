/* pipeline: job arrays (one request, one transaction, N tasks that are
 * ordinary jobs with an array id and index) and the per-array state the
 * placement pass needs (--max-running). */
#ifndef MLQ_PIPELINE_H
#define MLQ_PIPELINE_H

#include <stdint.h>

#include "ctx.h"

struct mlq_arrstate {
    uint32_t size;
    uint32_t max_running; /* 0 = no limit */
    uint32_t running;     /* tasks with a live attempt */
    /* The array's environment, one copy for all its tasks: a task's own
     * spec (in memory and stored) has none, so that a large exported
     * environment is not repeated per task (mlq_pipeline_task_env). */
    char **env;
    uint32_t envc;
};

/* The state of array id, loaded from the store the first time; NULL when
 * the array does not exist or memory ran out. */
struct mlq_arrstate *mlq_pipeline_array(struct mlq_ctx *c, const char *id);
/* The environment job runs with: its spec's; for a job that names a
 * shared environment (a batch's, env_id), that one (sharedenv.h); for a
 * task of an array whose spec has none, the array's. Pointers into memory
 * the scheduler keeps, valid until the next call (not to be freed); *env
 * NULL and *envc 0 when there is none. Fails only when a shared
 * environment cannot be read. */
int mlq_pipeline_task_env(struct mlq_ctx *c, const struct mlq_job *job, char ***env, uint32_t *envc,
                          struct mlq_err *err);
/* Creates the array of spec (spec->array names the indices) and its tasks;
 * on success spec's contents are moved (spec is zeroed) and id holds the
 * array id. */
int mlq_pipeline_submit_array(struct mlq_ctx *c, struct mlq_jobspec *spec, char id[MLQ_ID_LEN + 1],
                              struct mlq_err *err);
void mlq_pipeline_free_arrays(struct mlq_ctx *c);

#endif
