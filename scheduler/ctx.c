/* ctx: see ctx.h. */
#include "ctx.h"

#include <stdlib.h>

#include "deps.h"
#include "fairshare.h"
#include "pipeline.h"
#include "queue.h"
#include "quotabook.h"
#include "resend.h"
#include "schedules.h"
#include "sharedenv.h"
#include "strmap.h"

int mlq_ctx_init_memory(struct mlq_ctx *c, struct mlq_err *err)
{
    c->jobs = mlq_jobtab_create();
    c->queue = mlq_queue_create();
    c->workers = mlq_workers_create();
    c->fs = mlq_fairshare_create(c->fs_half_life_ms);
    c->quota = mlq_qbook_create();
    c->deps = mlq_deps_create();
    c->arrays = mlq_strmap_create();
    c->envs = mlq_sharedenv_create();
    c->scheds = mlq_schedules_create();
    c->resend = mlq_resend_create();
    c->fencing = mlq_strmap_create();
    c->nended = 0;
    if (!c->jobs || !c->queue || !c->workers || !c->fs || !c->quota || !c->deps || !c->arrays ||
        !c->envs || !c->scheds || !c->resend || !c->fencing)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    return 0;
}

/* The queue and the dependency index point at jobs, so they go before the
 * job table. */
void mlq_ctx_free_memory(struct mlq_ctx *c)
{
    mlq_resend_destroy(&c->resend);
    mlq_strmap_destroy(&c->fencing, NULL);
    mlq_schedules_destroy(&c->scheds);
    mlq_pipeline_free_arrays(c);
    mlq_sharedenv_destroy(&c->envs);
    mlq_deps_destroy(&c->deps);
    mlq_queue_destroy(&c->queue);
    mlq_fairshare_destroy(&c->fs);
    mlq_qbook_destroy(&c->quota);
    mlq_jobtab_destroy(&c->jobs);
    mlq_workers_destroy(&c->workers);
    free(c->holds); /* point at nothing: worker indices and job ids */
    c->holds = NULL;
    c->nholds = c->cap_holds = 0;
}
