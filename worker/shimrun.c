/* shimrun: see shimrun.h. */
#include "shimrun.h"

#include <stdio.h>
#include <string.h>

#include "container.h"

int mlq_shimrun_container(const struct mlq_shimrun *r, struct mlq_jobenv *env, int err_fd,
                          char ***cargv, char *why, size_t len)
{
    const struct mlq_jobspec *spec = &r->assign->u.assign.spec;
    uint32_t ngpus = r->assign->u.assign.ngpu_ids;
    char ids[MLQ_MAX_GPUS * 4 + 1] = "", id[MLQ_CONTAINER_MAX_ID + 1];
    struct mlq_err e = {0};
    if (!spec->image)
        return 0;
    for (uint32_t i = 0; i < ngpus; i++)
        snprintf(ids + strlen(ids), sizeof ids - strlen(ids), "%s%u", i ? "," : "", i);
    if (mlq_jobenv_putf(env, "CUDA_VISIBLE_DEVICES", ids) < 0 ||
        mlq_jobenv_putf(env, "NVIDIA_VISIBLE_DEVICES", "void") < 0) {
        snprintf(why, len, "out of memory");
        return -1;
    }
    struct mlq_container_run run = {
        .workdir = spec->workdir,
        .as_user = r->ids.drop,
        .uid = r->ids.uid,
        .gid = r->ids.gid,
        .groups = r->ids.groups,
        .ngroups = r->ids.ngroups,
        .gpu_ids = r->assign->u.assign.gpu_ids,
        .ngpus = ngpus,
        .argv = spec->argv,
        .argc = spec->argc,
    };
    if (mlq_container_prepare(&run, r->dir, spec->image, spec->env, spec->envc, env->v, err_fd, id,
                              cargv, &e) < 0) {
        snprintf(why, len, "%s", e.msg);
        return -1;
    }
    return 0;
}

json_t *mlq_shimrun_manifest_start(const struct mlq_shimrun *r, char *const *env, char *missing,
                                   size_t len)
{
    json_t *doc = mlq_runmanifest_start(r->assign, env, &r->ids, missing, len);
    struct mlq_err e;
    /* early copy for a shim that dies with its job (runmanifest.h) */
    if (!missing[0] && doc && mlq_runmanifest_write(r->dir, doc, false, &e) < 0)
        fprintf(stderr, "mlq-shim: cannot record the run manifest: %s\n", e.msg);
    if (r->assign->u.assign.spec.image) /* only an image job has its digest note */
        mlq_container_manifest(doc, r->dir);
    return doc;
}

void mlq_shimrun_manifest_finish(const struct mlq_shimrun *r, json_t *doc)
{
    mlq_runmanifest_finish(doc, r->assign, &r->ids);
}

void mlq_shimrun_manifest_write(const struct mlq_shimrun *r, json_t *doc)
{
    struct mlq_err e;
    if (doc && mlq_runmanifest_write(r->dir, doc, true, &e) < 0)
        fprintf(stderr, "mlq-shim: cannot record the run manifest: %s\n", e.msg);
}
