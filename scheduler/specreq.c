/* specreq: see specreq.h. */
#include "specreq.h"

#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "client.h"
#include "jobtab.h"
#include "outbox.h"
#include "store.h"

/* A task keeps its index: as a one-index array spec ("7"), a rerun of it
 * is an array of one task that sees the same MLQ_ARRAY_INDEX. */
static int task_index(struct mlq_jobspec *spec, int32_t index, struct mlq_err *err)
{
    free(spec->array);
    spec->array = NULL;
    if (index < 0)
        return 0;
    if (asprintf(&spec->array, "%d", (int)index) < 0) {
        spec->array = NULL;
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    }
    return 0;
}

/* A task's own spec keeps no environment: its array's is the task's
 * (pipeline.h), as a batch's job's is its batch's (env_id); copied into out
 * when out has none. */
static int task_env(struct mlq_ctx *c, const char *array_id, int64_t env_id,
                    struct mlq_jobspec *out, struct mlq_err *err)
{
    if (out->envc > 0)
        return 0;
    if (env_id > 0)
        return mlq_store_env_get(c->store, env_id, &out->env, &out->envc, err);
    if (!array_id || !array_id[0])
        return 0;
    struct mlq_store_array a;
    int rc = mlq_store_array_get(c->store, array_id, &a, err);
    if (rc < 0)
        return rc;
    out->env = a.spec.env;
    out->envc = a.spec.envc;
    a.spec.env = NULL;
    a.spec.envc = 0;
    mlq_store_array_free(&a);
    return 0;
}

/* The stored spec of id, moved into out. */
static int load_spec(struct mlq_ctx *c, const char *id, bool is_array, struct mlq_jobspec *out,
                     struct mlq_err *err)
{
    int rc;
    if (is_array) {
        struct mlq_store_array a;
        if ((rc = mlq_store_array_get(c->store, id, &a, err)) == 0) {
            *out = a.spec;
            memset(&a.spec, 0, sizeof a.spec);
            mlq_store_array_free(&a);
        }
        return rc;
    }
    const struct mlq_job *job = mlq_jobtab_get(c->jobs, id);
    if (job) {
        rc = mlq_proto_jobspec_copy(out, &job->row.spec, err);
        if (rc == 0)
            rc = task_env(c, job->row.task_of, job->row.env_id, out, err);
        return rc < 0 ? rc : task_index(out, job->row.array_index, err);
    }
    struct mlq_store_job row;
    if ((rc = mlq_store_job_get(c->store, id, &row, err)) == 0) {
        *out = row.spec;
        memset(&row.spec, 0, sizeof row.spec);
        rc = task_env(c, row.task_of, row.env_id, out, err);
        if (rc == 0)
            rc = task_index(out, row.array_index, err);
        mlq_store_job_free(&row);
    }
    return rc;
}

int mlq_specreq_on_request(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                           struct mlq_err *err)
{
    struct mlq_msg m = {.type = MLQ_MSG_JOB_SPEC_REPLY, .rid = msg->rid};
    bool is_array = false;
    int rc = mlq_store_resolve(c->store, msg->u.why.job, m.u.job_spec_reply.id, &is_array, err);
    if (rc == 0)
        rc = mlq_client_check_owner(c, m.u.job_spec_reply.id, is_array, err);
    if (rc == 0)
        rc = load_spec(c, m.u.job_spec_reply.id, is_array, &m.u.job_spec_reply.spec, err);
    if (rc < 0)
        return rc;
    m.u.job_spec_reply.is_array = is_array;
    rc = mlq_outbox_reply(c->out, peer, &m, err);
    mlq_proto_jobspec_free(&m.u.job_spec_reply.spec);
    return rc;
}
