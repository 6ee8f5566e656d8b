/* gpumig: MIG (Multi-Instance GPU) devices, and the names the job's
 * CUDA_VISIBLE_DEVICES must use for them.
 *
 * A GPU in MIG mode is not offered whole: each of its MIG devices is a GPU
 * of the worker instead, with its own UUID ("MIG-..."), memory and a type
 * made of the parent's normalised type and the MIG profile:
 * "a100-1g.10gb". The profile is the word that follows "MIG" in the name
 * NVML gives the MIG device ("NVIDIA A100-SXM4-80GB MIG 1g.10gb" ->
 * "1g.10gb") or in its `nvidia-smi -L` line ("  MIG 1g.10gb  Device  0:
 * ..."), lowercased, with every character other than a-z 0-9 . _ -
 * turned into '-' ("1g.10gb+me" -> "1g.10gb-me").
 *
 * CUDA reaches a MIG device only by its UUID, so where a worker offers MIG
 * devices it tells its shims, in the worker-internal variable
 * MLQ_GPUMIG_CUDA_ENV, the name of each of its GPU indexes: the UUID of a
 * MIG device, the physical index of a whole GPU. A worker without MIG
 * devices sets no such variable and jobs see indexes as before. */
#ifndef MLQ_GPUMIG_H
#define MLQ_GPUMIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "bounds.h"
#include "err.h"

#define MLQ_GPUMIG_CUDA_ENV     "MLQ_GPU_CUDA_NAMES"
#define MLQ_GPUMIG_UUID_MAX     80 /* a GPU or MIG UUID, without the NUL */
#define MLQ_GPUMIG_MODEL_MAX    96 /* NVML_DEVICE_NAME_V2_BUFFER_SIZE */
#define MLQ_GPUMIG_PROFILE_MAX  24 /* "1c.7g.80gb+gfx" and the like */
#define MLQ_GPUMIG_PER_GPU      16 /* MIG devices of one GPU (7 on an A100 or H100) */
#define MLQ_GPUMIG_LIST_GPUS    MLQ_MAX_GPUS
#define MLQ_GPUMIG_CUDA_ENV_MAX (MLQ_MAX_GPUS * (MLQ_GPUMIG_UUID_MAX + 1))

/* One MIG device as `nvidia-smi -L` lists it. */
struct mlq_gpumig_dev {
    char profile[MLQ_GPUMIG_PROFILE_MAX + 1]; /* normalised: "1g.10gb" */
    char uuid[MLQ_GPUMIG_UUID_MAX + 1];
};

/* One GPU line of `nvidia-smi -L` and the MIG devices under it. */
struct mlq_gpumig_gpu {
    int32_t index;
    char uuid[MLQ_GPUMIG_UUID_MAX + 1];
    char model[MLQ_GPUMIG_MODEL_MAX + 1];
    uint32_t nmig;
    struct mlq_gpumig_dev mig[MLQ_GPUMIG_PER_GPU];
};

/* What `nvidia-smi -L` says, GPUs in the order printed. */
struct mlq_gpumig_list {
    uint32_t ngpu;
    uint32_t beyond; /* GPU lines with an index of MLQ_MAX_GPUS or more: left out */
    struct mlq_gpumig_gpu gpu[MLQ_GPUMIG_LIST_GPUS];
};

/* Parses `nvidia-smi -L` output:
 *   GPU 0: NVIDIA A100-SXM4-80GB (UUID: GPU-...)
 *     MIG 1g.10gb     Device  0: (UUID: MIG-...)
 * Every non-blank line must be a GPU line or a MIG line under a GPU line
 * (MIG device numbers 0, 1, ... in order); an index given twice, a bad
 * UUID, model or profile, too many lines or MIG devices reject the whole
 * output with the line number. */
int mlq_gpumig_parse_list(const char *text, size_t len, struct mlq_gpumig_list *out,
                          struct mlq_err *err);

/* The normalised profile named by a MIG device's name (the word after
 * "MIG"), into buf (MLQ_GPUMIG_PROFILE_MAX + 1 bytes or more). */
int mlq_gpumig_profile(const char *name, char *buf, size_t len, struct mlq_err *err);
/* "PARENT-PROFILE" into buf (MLQ_MAX_GPU_TYPE + 1 bytes or more);
 * MLQ_EINVAL when longer than a GPU type may be. */
int mlq_gpumig_type(const char *parent_type, const char *profile, char *buf, size_t len,
                    struct mlq_err *err);
/* The memory a profile names ("1g.10gb" -> 10 GiB), in bytes; -1 when it
 * names none. What the nvidia-smi fallback offers (NVML reads the real size). */
int64_t mlq_gpumig_profile_mem(const char *profile);

/* A GPU UUID ("GPU-...", A-Z a-z 0-9 -) or a MIG UUID ("MIG-...", which
 * older drivers write "MIG-GPU-.../1/0", so '/' too), at most
 * MLQ_GPUMIG_UUID_MAX bytes. */
bool mlq_gpumig_uuid_ok(const char *s);

/* Joins the n CUDA names of a worker's GPU indexes for MLQ_GPUMIG_CUDA_ENV
 * into buf (MLQ_GPUMIG_CUDA_ENV_MAX + 1 bytes is enough). */
int mlq_gpumig_cuda_join(char *const *names, uint32_t n, char *buf, size_t len,
                         struct mlq_err *err);
/* What CUDA_VISIBLE_DEVICES names for the GPU indexes ids: with env (the
 * value of MLQ_GPUMIG_CUDA_ENV) NULL or empty the indexes themselves, else
 * the names env gives them, comma-separated, into buf. MLQ_EINVAL when env
 * is malformed or lacks one of the indexes. */
int mlq_gpumig_cuda_pick(const char *env, const int32_t *ids, uint32_t nids, char *buf, size_t len,
                         struct mlq_err *err);

#endif
