/* pipeline: see pipeline.h. */
#include "pipeline.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrayspec.h"
#include "id.h"
#include "jobops.h"
#include "log.h"
#include "mpk.h"
#include "sharedenv.h"
#include "strmap.h"

static void arrstate_free(void *p)
{
    struct mlq_arrstate *a = p;
    if (a)
        mlq_mpk_strv_free(a->env, a->envc);
    free(a);
}

/* The array's state, with a copy of its spec's environment. */
static struct mlq_arrstate *note_array(struct mlq_ctx *c, const char *id,
                                       const struct mlq_jobspec *spec, uint32_t size)
{
    struct mlq_arrstate *a = calloc(1, sizeof *a);
    uint32_t n = spec->env ? spec->envc : 0;
    if (a && n > 0 && (a->env = calloc(n, sizeof *a->env)))
        for (; a->envc < n && (a->env[a->envc] = strdup(spec->env[a->envc])); a->envc++)
            ;
    if (!a || a->envc != n || mlq_strmap_put(c->arrays, id, a) < 0) {
        arrstate_free(a);
        return NULL;
    }
    a->size = size;
    a->max_running = spec->max_running;
    return a;
}

struct mlq_arrstate *mlq_pipeline_array(struct mlq_ctx *c, const char *id)
{
    struct mlq_arrstate *a = mlq_strmap_get(c->arrays, id);
    if (a)
        return a;
    struct mlq_store_array row;
    if (mlq_store_array_get(c->store, id, &row, NULL) < 0)
        return NULL;
    row.spec.max_running = row.max_running;
    a = note_array(c, id, &row.spec, row.size);
    mlq_store_array_free(&row);
    return a;
}

int mlq_pipeline_task_env(struct mlq_ctx *c, const struct mlq_job *job, char ***env, uint32_t *envc,
                          struct mlq_err *err)
{
    const struct mlq_arrstate *a = NULL;
    *env = job->row.spec.env;
    *envc = job->row.spec.env ? job->row.spec.envc : 0;
    if (*envc > 0)
        return 0;
    if (job->row.env_id > 0)
        return mlq_sharedenv_get(c->envs, c->store, job->row.env_id, env, envc, err);
    if (job->row.task_of && (a = mlq_pipeline_array(c, job->row.task_of))) {
        *env = a->env;
        *envc = a->envc;
    }
    return 0;
}

void mlq_pipeline_free_arrays(struct mlq_ctx *c)
{
    mlq_strmap_destroy(&c->arrays, arrstate_free);
}

/* One task: a copy of the array's spec, its index, and nothing of the
 * submission-only fields, nor the environment, which the array keeps for
 * all its tasks (struct mlq_arrstate). */
static int add_task(struct mlq_ctx *c, const struct mlq_jobspec *spec, const char *array_id,
                    uint32_t index, struct mlq_err *err)
{
    struct mlq_store_job row = {.state = MLQ_JOB_PENDING, .exit_code = -1};
    struct mlq_jobspec shared = *spec;
    shared.env = NULL;
    shared.envc = 0;
    int rc = mlq_proto_jobspec_copy(&row.spec, &shared, err);
    if (rc < 0)
        return rc;
    free(row.spec.array);
    free(row.spec.idempotency_key);
    row.spec.array = row.spec.idempotency_key = NULL;
    row.array_index = (int32_t)index;
    /* the job table swaps it for the one copy all tasks share */
    if (!(row.task_of = strdup(array_id))) {
        mlq_store_job_free(&row);
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory adding task %u", index);
    }
    struct mlq_job *job;
    rc = mlq_jobops_add(c, &row, &job, err);
    if (rc < 0) {
        mlq_store_job_free(&row);
        return rc;
    }
    return mlq_jobops_admit(c, job, err);
}

int mlq_pipeline_submit_array(struct mlq_ctx *c, struct mlq_jobspec *spec, char id[MLQ_ID_LEN + 1],
                              struct mlq_err *err)
{
    uint32_t *idx = NULL, n = 0;
    int rc = mlq_arrayspec_parse(spec->array, &idx, &n, err);
    if (rc < 0)
        return rc;
    struct mlq_store_array a = {.spec = *spec, .size = n, .max_running = spec->max_running};
    mlq_id_new(a.id);
    a.submit_ms = c->now_wall;
    rc = mlq_store_begin(c->store, err);
    if (rc == 0)
        rc = mlq_store_array_insert(c->store, &a, err);
    if (rc == 0 && !note_array(c, a.id, spec, n))
        rc = mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    for (uint32_t i = 0; rc == 0 && i < n; i++)
        rc = add_task(c, spec, a.id, idx[i], err);
    free(idx);
    /* Some tasks may already be in memory: only a rollback of the whole
     * iteration (and a reload) undoes them, which MLQ_EDB asks the loop for. */
    if (rc < 0)
        return err && err->code != MLQ_EDB
                   ? mlq_err_set(err, MLQ_EDB, "array submission failed: %.100s", err->msg)
                   : MLQ_EDB;
    memcpy(id, a.id, MLQ_ID_LEN + 1);
    mlq_proto_jobspec_free(spec);
    memset(spec, 0, sizeof *spec);
    mlq_info("array %.8s of %u tasks submitted", id, n);
    return 0;
}
