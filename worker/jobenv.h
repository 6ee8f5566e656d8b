/* jobenv: the environment a job runs with, built in one function
 * (mlq_jobenv_build) so that anything recording a run records exactly what
 * the job saw. The worker daemon's own environment is not part of it.
 *
 * In order, later entries replacing earlier ones of the same name:
 *   1. PATH=MLQ_JOBENV_BASE_PATH;
 *   2. the spec's entries (what the user exported and set with --env), less
 *      the names envname.h drops (MLQ_* other than the scheduler's
 *      MLQ_SCHEDULE*, CUDA/NVIDIA_VISIBLE_DEVICES, HOME, USER, LOGNAME,
 *      SHELL, the service manager's NOTIFY_SOCKET, LISTEN_*, ...);
 *   3. HOME, USER, LOGNAME and SHELL of the account the job runs as;
 *   4. MLQ_JOB_ID, MLQ_ATTEMPT, MLQ_CPUS, MLQ_GPUS, CUDA_VISIBLE_DEVICES and
 *      NVIDIA_VISIBLE_DEVICES (the job's GPUs, MIG devices by UUID; "" for
 *      none, so that a job sees none rather than all), MLQ_GPU_FRACTION and
 *      MLQ_GPU_MEM for a share of one GPU, MLQ_ARRAY_* for a task of an array,
 *      MLQ_WORKER and MLQ_WORKER_ADDR;
 *   5. a gang node part's rendezvous variables (gangenv.h). */
#ifndef MLQ_JOBENV_H
#define MLQ_JOBENV_H

#include <stddef.h>

#include "err.h"
#include "proto.h"

#define MLQ_JOBENV_BASE_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

/* "KEY=VALUE" strings, owned, NULL-terminated (v[n] == NULL) once any is put. */
struct mlq_jobenv {
    char **v;
    size_t n;
};

struct mlq_jobenv_in {
    const struct mlq_msg *assign;     /* the attempt's MLQ_MSG_ASSIGN */
    const char *user, *home, *shell;  /* the account the job runs as */
    const char *worker, *worker_addr; /* the worker's name and address; NULL: not set */
    const char *gang_hostfile;        /* a gang node part's hostfile; NULL otherwise */
    const char *cuda_names;           /* how CUDA names each GPU (the worker's
                                         MLQ_GPUMIG_CUDA_ENV, gpumig.h); NULL: by index */
};

/* Builds the job's environment into *out (empty on entry). MLQ_ENOMEM, or
 * MLQ_EINVAL with err filled when cuda_names is malformed. */
int mlq_jobenv_build(const struct mlq_jobenv_in *in, struct mlq_jobenv *out, struct mlq_err *err);

/* Sets "KEY=VALUE" (copied), replacing an entry with the same name. */
int mlq_jobenv_put(struct mlq_jobenv *env, const char *kv);
int mlq_jobenv_putf(struct mlq_jobenv *env, const char *key, const char *value);

/* The value of name, NULL when not set. */
const char *mlq_jobenv_get(const struct mlq_jobenv *env, const char *name);

void mlq_jobenv_free(struct mlq_jobenv *env);

#endif
