/* gpuload: see gpuload.h. The NVML declarations are written here, as in
 * gpu.c, so that no CUDA header is needed to build. */
#include "gpuload.h"

#include <dlfcn.h>
#include <stdlib.h>
#include <string.h>

#include "gpu.h"
#include "log.h"

typedef int nvml_return; /* 0 = NVML_SUCCESS */
typedef struct nvml_device_st *nvml_device;
struct nvml_memory {
    unsigned long long total, free, used;
};
struct nvml_utilization {
    unsigned int gpu, memory; /* percent over the driver's last sample period */
};

struct mlq_gpuload_probe {
    void *lib;
    nvml_return (*init)(void);
    nvml_return (*shutdown)(void);
    nvml_return (*by_index)(unsigned int i, nvml_device *dev);
    nvml_return (*util)(nvml_device dev, struct nvml_utilization *u);
    nvml_return (*memory)(nvml_device dev, struct nvml_memory *mem);
    uint32_t n;
};

struct mlq_gpuload_probe *mlq_gpuload_open(const char *libname, uint32_t n)
{
    struct mlq_gpuload_probe *p = calloc(1, sizeof *p);
    if (!p)
        return NULL;
    p->n = n < MLQ_MAX_GPUS ? n : MLQ_MAX_GPUS;
    const char *name = libname ? libname : MLQ_GPU_NVML_LIBRARY;
    p->lib = dlopen(name, RTLD_NOW | RTLD_LOCAL);
    const struct {
        const char *name;
        void *slot;
    } syms[] = {
        {"nvmlInit_v2", &p->init},
        {"nvmlShutdown", &p->shutdown},
        {"nvmlDeviceGetHandleByIndex_v2", &p->by_index},
        {"nvmlDeviceGetUtilizationRates", &p->util},
        {"nvmlDeviceGetMemoryInfo", &p->memory},
    };
    for (size_t i = 0; p->lib && i < sizeof syms / sizeof *syms; i++) {
        void *sym = dlsym(p->lib, syms[i].name);
        if (!sym) {
            mlq_warn("GPU load: %s lacks %s; heartbeats carry no GPU load", name, syms[i].name);
            dlclose(p->lib);
            p->lib = NULL;
            break;
        }
        memcpy(syms[i].slot, &sym, sizeof sym); /* POSIX: function pointers fit */
    }
    if (p->lib && p->init() != 0) {
        mlq_warn("GPU load: nvmlInit_v2 failed; heartbeats carry no GPU load");
        dlclose(p->lib);
        p->lib = NULL;
    }
    if (!p->lib) {
        free(p);
        return NULL;
    }
    return p;
}

uint32_t mlq_gpuload_read(struct mlq_gpuload_probe *p, struct mlq_gpuload *out, uint32_t max)
{
    uint32_t k = 0;
    for (uint32_t i = 0; p && i < p->n && k < max; i++) {
        nvml_device dev = NULL;
        struct nvml_utilization u = {0};
        struct nvml_memory mem = {0};
        if (p->by_index(i, &dev) != 0 || p->util(dev, &u) != 0 || p->memory(dev, &mem) != 0)
            continue; /* unreadable now (lost, reset): no value rather than a wrong one */
        if (u.gpu > 100 || mem.used > (unsigned long long)MLQ_MAX_MEM ||
            mem.total > (unsigned long long)MLQ_MAX_MEM)
            continue;
        out[k++] = (struct mlq_gpuload){.index = (int32_t)i,
                                        .util = (int32_t)u.gpu,
                                        .mem_used = (int64_t)mem.used,
                                        .mem_total = (int64_t)mem.total};
    }
    return k;
}

void mlq_gpuload_close(struct mlq_gpuload_probe **pp)
{
    if (!pp || !*pp)
        return;
    (*pp)->shutdown();
    dlclose((*pp)->lib);
    free(*pp);
    *pp = NULL;
}
