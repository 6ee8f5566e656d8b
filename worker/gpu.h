/* gpu: what GPUs this worker has (DESIGN.md, "Scheduling").
 *
 * Discovery, in the order `auto` tries it: NVML loaded with dlopen (no CUDA
 * headers or libraries at build time), then `nvidia-smi --query-gpu` run as
 * a child with a deadline and its output parsed strictly, then none. Every
 * GPU found has an index (what CUDA_VISIBLE_DEVICES names), its UUID and
 * model, a normalised type ("h100") and its memory. `--gpus N` on the
 * worker declares N fake GPUs instead (type "fake", no UUID or model).
 *
 * Invariant of every list made here: sorted by index and the indexes are
 * exactly 0..n-1, which is what the worker's own check of an assignment
 * (attempts.c) and the job's CUDA_VISIBLE_DEVICES rely on. */
#ifndef MLQ_GPU_H
#define MLQ_GPU_H

#include <stdint.h>

#include "bounds.h"
#include "err.h"
#include "proto.h"

#define MLQ_GPU_TYPE_MAX     MLQ_MAX_GPU_TYPE     /* normalised type, without the NUL */
#define MLQ_GPU_TIMEOUT_MS   10000                /* nvidia-smi deadline */
#define MLQ_GPU_MAX_MEM_MIB  (16LL * 1024 * 1024) /* 16 TiB: more is absurd */
#define MLQ_GPU_NVML_LIBRARY "libnvidia-ml.so.1"

enum mlq_gpu_method {
    MLQ_GPU_AUTO,       /* NVML, else nvidia-smi, else none; never fails */
    MLQ_GPU_NVML,       /* NVML only: an absent library is an error */
    MLQ_GPU_NVIDIA_SMI, /* nvidia-smi only: absent, failing or garbled is an error */
    MLQ_GPU_NONE,       /* no GPUs */
};

struct mlq_gpu_opts {
    enum mlq_gpu_method method;
    /* nvidia-smi to run: a path, or a name looked up in PATH. NULL:
     * $MLQ_NVIDIA_SMI when set and not empty, else "nvidia-smi". */
    const char *smi;
    const char *nvml_library; /* NULL: MLQ_GPU_NVML_LIBRARY */
    int timeout_ms;           /* nvidia-smi deadline; <= 0: MLQ_GPU_TIMEOUT_MS */
};

/* The GPUs of this worker. */
struct mlq_gpu_set {
    struct mlq_gpuinfo *gpus; /* n entries, gpus[i].index == i; job_id always NULL */
    uint32_t n;
    const char *source; /* static: "nvml", "nvidia-smi", "fake" or "none" */
    /* Why the methods tried before the one that answered gave nothing, or
     * what was left out (GPUs beyond MLQ_MAX_GPUS); "" when nothing to say.
     * For logs. */
    char note[320];
};

/* Parses a method name ("auto", "nvml", "nvidia-smi", "none"). */
int mlq_gpu_method_parse(const char *s, enum mlq_gpu_method *out, struct mlq_err *err);

/* Finds this machine's GPUs as opts says (NULL: auto with the defaults)
 * and fills *out, which the caller clears with mlq_gpu_set_clear. Never
 * waits much longer than the nvidia-smi deadline. MLQ_GPU_AUTO always
 * returns 0 (with no GPUs and a note when nothing answered); NVML and
 * NVIDIA_SMI return a negative MLQ_E* and no GPUs when their method fails. */
int mlq_gpu_discover(const struct mlq_gpu_opts *opts, struct mlq_gpu_set *out, struct mlq_err *err);

/* n (0..MLQ_MAX_GPUS) fake GPUs: type "fake", no UUID, model or memory. */
int mlq_gpu_fake(int32_t n, struct mlq_gpu_set *out, struct mlq_err *err);
/* The same with type (a normalised GPU type, "h100"; NULL: "fake"), so
 * that tests can declare workers with GPUs of different types. */
int mlq_gpu_fake_typed(int32_t n, const char *type, struct mlq_gpu_set *out, struct mlq_err *err);

/* Parses the output of `nvidia-smi --query-gpu=index,uuid,name,memory.total
 * --format=csv,noheader,nounits` into *out (source "nvidia-smi"). Rejects,
 * with no GPUs kept, a line without exactly 4 fields, a bad or duplicate
 * index, a set of indexes other than 0..n-1, a UUID or name with unexpected
 * characters, a memory size of 0 or above MLQ_GPU_MAX_MEM_MIB. GPUs with an
 * index of MLQ_MAX_GPUS or more are left out (said in the note). */
int mlq_gpu_parse_smi(const char *text, size_t len, struct mlq_gpu_set *out, struct mlq_err *err);

/* Writes the normalised type of a GPU model into buf (at least
 * MLQ_GPU_TYPE_MAX + 1 bytes): the lowercase model family with the vendor
 * words dropped ("NVIDIA H100 80GB HBM3" -> "h100", "NVIDIA GeForce RTX
 * 4090" -> "rtx4090"); a model it does not recognise gives its first
 * alphanumeric word lowercased; a model without one gives "unknown". */
void mlq_gpu_type_of(const char *model, char *buf, size_t len);

/* Formats the set for a log line: "2 (nvidia-smi: 0 h100 GPU-..., 1 ...)"
 * or "0"; truncated to len. Returns buf. */
char *mlq_gpu_set_fmt(const struct mlq_gpu_set *s, char *buf, size_t len);

/* The driver's version ("550.54.15") and the CUDA version it supports
 * ("12.4") from NVML (NULL: MLQ_GPU_NVML_LIBRARY), for run manifests; ""
 * where NVML does not say. 0 when at least one is known, -1 otherwise. */
int mlq_gpu_driver_versions(const char *nvml_library, char *driver, size_t dlen, char *cuda,
                            size_t clen);

/* Frees the GPUs and empties the set. Accepts an empty set. */
void mlq_gpu_set_clear(struct mlq_gpu_set *s);

#endif
