/* gpuload: each GPU's utilisation and memory use, read from NVML for the
 * worker's heartbeats (metrics: mlq_gpu_utilization_ratio, idle GPUs).
 *
 * Only where discovery found the GPUs through NVML: the library is opened
 * once and kept; fake GPUs (tests) and nvidia-smi-only nodes get no probe,
 * so their heartbeats carry no load at all (nothing is made up). */
#ifndef MLQ_GPULOAD_H
#define MLQ_GPULOAD_H

#include <stdint.h>

#include "proto.h"

struct mlq_gpuload_probe;

/* Opens NVML (libname NULL: libnvidia-ml.so.1) to read GPUs 0..n-1; NULL
 * when it cannot be loaded or initialised (then there are no readings). */
struct mlq_gpuload_probe *mlq_gpuload_open(const char *libname, uint32_t n);
/* Reads every GPU's load into out (at most max entries, MLQ_MAX_GPUS is
 * enough); a GPU NVML cannot read now is left out. Returns the count. */
uint32_t mlq_gpuload_read(struct mlq_gpuload_probe *p, struct mlq_gpuload *out, uint32_t max);
void mlq_gpuload_close(struct mlq_gpuload_probe **p);

#endif
