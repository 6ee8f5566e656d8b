/* jobenv: see jobenv.h. */
#include "jobenv.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envname.h"
#include "gangenv.h"
#include "gpumig.h"
#include "res.h"

int mlq_jobenv_put(struct mlq_jobenv *env, const char *kv)
{
    size_t klen = mlq_envname_len(kv);
    char *copy = strdup(kv);
    if (!copy)
        return MLQ_ENOMEM;
    for (size_t i = 0; i < env->n; i++) {
        if (mlq_envname_len(env->v[i]) == klen && strncmp(env->v[i], kv, klen) == 0) {
            free(env->v[i]);
            env->v[i] = copy;
            return 0;
        }
    }
    char **nv = realloc(env->v, (env->n + 2) * sizeof *nv);
    if (!nv) {
        free(copy);
        return MLQ_ENOMEM;
    }
    env->v = nv;
    env->v[env->n++] = copy;
    env->v[env->n] = NULL;
    return 0;
}

int mlq_jobenv_putf(struct mlq_jobenv *env, const char *key, const char *value)
{
    char *kv = NULL;
    if (asprintf(&kv, "%s=%s", key, value) < 0)
        return MLQ_ENOMEM;
    int rc = mlq_jobenv_put(env, kv);
    free(kv);
    return rc;
}

const char *mlq_jobenv_get(const struct mlq_jobenv *env, const char *name)
{
    size_t len = strlen(name);
    for (size_t i = 0; i < env->n; i++)
        if (mlq_envname_len(env->v[i]) == len && strncmp(env->v[i], name, len) == 0)
            return env->v[i][len] == '=' ? env->v[i] + len + 1 : "";
    return NULL;
}

void mlq_jobenv_free(struct mlq_jobenv *env)
{
    for (size_t i = 0; i < env->n; i++)
        free(env->v[i]);
    free(env->v);
    env->v = NULL;
    env->n = 0;
}

/* The user's entries: what mlq sets, and what would reach the worker's
 * service manager, is dropped; the scheduler's MLQ_SCHEDULE* pass. */
static int put_user(const struct mlq_jobspec *spec, struct mlq_jobenv *env)
{
    int rc = 0;
    for (uint32_t i = 0; spec->env && i < spec->envc && rc == 0; i++) {
        const char *kv = spec->env[i];
        size_t len = mlq_envname_len(kv);
        if (!mlq_envname_dropped(kv, len) || mlq_envname_scheduler_set(kv, len))
            rc = mlq_jobenv_put(env, kv);
    }
    return rc;
}

static int put_account(const struct mlq_jobenv_in *in, struct mlq_jobenv *env)
{
    int rc = mlq_jobenv_putf(env, "HOME", in->home && *in->home ? in->home : "/");
    if (rc == 0 && in->user)
        rc = mlq_jobenv_putf(env, "USER", in->user);
    if (rc == 0 && in->user)
        rc = mlq_jobenv_putf(env, "LOGNAME", in->user);
    if (rc == 0)
        rc = mlq_jobenv_putf(env, "SHELL", in->shell && *in->shell ? in->shell : "/bin/sh");
    return rc;
}

static void format_gpus(const struct mlq_msg *a, char *buf, size_t len)
{
    size_t used = 0;
    buf[0] = '\0';
    for (uint32_t i = 0; i < a->u.assign.ngpu_ids && used < len; i++) {
        int n =
            snprintf(buf + used, len - used, "%s%" PRId32, i ? "," : "", a->u.assign.gpu_ids[i]);
        if (n < 0)
            break;
        used += (size_t)n;
    }
}

/* A task of a job array learns which one it is: MLQ_ARRAY_JOB_ID (the
 * array's id), MLQ_ARRAY_INDEX and MLQ_ARRAY_SIZE. */
static int put_array(const struct mlq_msg *a, struct mlq_jobenv *env)
{
    char idx[16], size[16];
    if (a->u.assign.array_id[0] == '\0')
        return 0;
    snprintf(idx, sizeof idx, "%" PRId32, a->u.assign.array_index);
    snprintf(size, sizeof size, "%" PRIu32, a->u.assign.array_size);
    int rc = mlq_jobenv_putf(env, "MLQ_ARRAY_JOB_ID", a->u.assign.array_id);
    if (rc == 0)
        rc = mlq_jobenv_putf(env, "MLQ_ARRAY_INDEX", idx);
    if (rc == 0)
        rc = mlq_jobenv_putf(env, "MLQ_ARRAY_SIZE", size);
    return rc;
}

/* A job with a share of one GPU learns what it asked for: MLQ_GPU_FRACTION
 * ("0.25") and MLQ_GPU_MEM (bytes). Nothing enforces them: they are for the
 * job to cap itself (e.g. PyTorch's set_per_process_memory_fraction). */
static int put_share(const struct mlq_jobspec *spec, struct mlq_jobenv *env)
{
    char frac[16], mem[32];
    int rc = 0;
    if (spec->gpu_frac > 0)
        rc = mlq_jobenv_putf(env, "MLQ_GPU_FRACTION",
                             mlq_res_fmt_gpu_share(spec->gpu_frac, frac, sizeof frac));
    snprintf(mem, sizeof mem, "%" PRId64, spec->gpu_mem);
    if (rc == 0 && spec->gpu_mem > 0)
        rc = mlq_jobenv_putf(env, "MLQ_GPU_MEM", mem);
    return rc;
}

/* What mlq says about the attempt: ids, resources, the worker. */
static int put_mlq(const struct mlq_jobenv_in *in, struct mlq_jobenv *env, struct mlq_err *err)
{
    const struct mlq_msg *a = in->assign;
    char num[32], cpus[32], gpus[MLQ_MAX_GPUS * 4 + 1], cuda[MLQ_GPUMIG_CUDA_ENV_MAX + 1];
    snprintf(num, sizeof num, "%" PRId32, a->u.assign.attempt);
    mlq_res_fmt_cpus(a->u.assign.spec.cpus_m, cpus, sizeof cpus);
    format_gpus(a, gpus, sizeof gpus);
    /* CUDA names MIG devices by UUID: the worker says which (gpumig.h) */
    struct mlq_err ce = {0};
    if (mlq_gpumig_cuda_pick(in->cuda_names, a->u.assign.gpu_ids, a->u.assign.ngpu_ids, cuda,
                             sizeof cuda, &ce) < 0)
        return mlq_err_set(err, MLQ_EINVAL, "GPU names: %s", ce.msg);
    int rc = mlq_jobenv_putf(env, "MLQ_JOB_ID", a->u.assign.job_id);
    if (rc == 0)
        rc = mlq_jobenv_putf(env, "MLQ_ATTEMPT", num);
    if (rc == 0)
        rc = mlq_jobenv_putf(env, "MLQ_CPUS", cpus);
    if (rc == 0)
        rc = mlq_jobenv_putf(env, "MLQ_GPUS", gpus);
    if (rc == 0)
        rc = mlq_jobenv_putf(env, "CUDA_VISIBLE_DEVICES", cuda);
    if (rc == 0)
        rc = mlq_jobenv_putf(env, "NVIDIA_VISIBLE_DEVICES", cuda);
    if (rc == 0)
        rc = put_array(a, env);
    if (rc == 0)
        rc = put_share(&a->u.assign.spec, env);
    if (rc == 0 && in->worker)
        rc = mlq_jobenv_putf(env, "MLQ_WORKER", in->worker);
    if (rc == 0 && in->worker_addr)
        rc = mlq_jobenv_putf(env, "MLQ_WORKER_ADDR", in->worker_addr);
    return rc;
}

static int gang_put(void *ctx, const char *key, const char *value)
{
    return mlq_jobenv_putf(ctx, key, value);
}

int mlq_jobenv_build(const struct mlq_jobenv_in *in, struct mlq_jobenv *out, struct mlq_err *err)
{
    const struct mlq_jobspec *spec = &in->assign->u.assign.spec;
    const struct mlq_ganginfo *g = &in->assign->u.assign.gang;
    int rc = mlq_jobenv_putf(out, "PATH", MLQ_JOBENV_BASE_PATH);
    if (rc == 0)
        rc = put_user(spec, out);
    if (rc == 0)
        rc = put_account(in, out);
    if (rc == 0)
        rc = put_mlq(in, out, err);
    if (rc == 0 && g->nnodes > 0 && in->gang_hostfile)
        rc =
            mlq_gangenv_each(g, spec->gpus, in->gang_hostfile, gang_put, out) != 0 ? MLQ_ENOMEM : 0;
    return rc;
}
