/* A stand-in for libnvidia-ml: the entry points the worker loads with
 * dlopen (gpu.c, gpuload.c), answering from the environment, so that MIG
 * discovery can be tested without a GPU (mlq-worker --nvml-library).
 *
 * MLQ_FAKE_NVML lists the GPUs, separated by ';', each "MODEL=MIB" (a
 * whole GPU) or "MODEL=MIB=PROFILES" (a GPU in MIG mode whose MIG devices
 * have these comma-separated profiles; "-" is an unused slot, an empty
 * list a GPU in MIG mode without MIG devices):
 *   MLQ_FAKE_NVML='A100-SXM4-80GB=81920=1g.10gb,1g.10gb,2g.20gb;H100 80GB HBM3=81559'
 * Names are "NVIDIA MODEL" and "NVIDIA MODEL MIG PROFILE" as the driver
 * gives them; UUIDs GPU-0000000I-0000-4000-8000-000000000000 and
 * MIG-0000000I-000K-5000-8000-000000000000; a MIG device's memory is its
 * profile's GiB less 256 MiB, as real ones are a little smaller.
 * MLQ_FAKE_NVML_FAIL=migmode makes nvmlDeviceGetMigMode fail with an
 * unknown error. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MAX_GPUS  16
#define MAX_MIGS  8
#define TEXT_MAX  96
#define MIB       (1024ULL * 1024)
#define OK        0
#define E_INVALID 2
#define E_NOTSUPP 3
#define E_NOTFND  6
#define E_UNKNOWN 999

struct mem {
    unsigned long long total, free, used;
};
struct util {
    unsigned gpu, memory;
};

struct gpu {
    char model[TEXT_MAX];
    unsigned long long mib;
    int mig; /* in MIG mode */
    int nslots;
    char profile[MAX_MIGS][TEXT_MAX]; /* "" = unused slot */
};

static struct gpu gpus[MAX_GPUS];
static int ngpus;

/* Handles: GPU i is (i + 1) * 100, its MIG slot k (i + 1) * 100 + k + 1. */
static void *handle(int i, int k)
{
    return (void *)(size_t)((i + 1) * 100 + k + 1);
}

static int decode(void *h, int *i, int *k)
{
    size_t v = (size_t)h;
    *i = (int)(v / 100) - 1;
    *k = (int)(v % 100) - 1;
    return *i >= 0 && *i < ngpus && *k < gpus[*i].nslots ? 0 : -1;
}

static void parse_profiles(struct gpu *g, char *list)
{
    g->mig = 1;
    for (char *save = NULL, *p = strtok_r(list, ",", &save); p && g->nslots < MAX_MIGS;
         p = strtok_r(NULL, ",", &save))
        snprintf(g->profile[g->nslots++], TEXT_MAX, "%s", strcmp(p, "-") == 0 ? "" : p);
}

static void parse(void)
{
    const char *spec = getenv("MLQ_FAKE_NVML");
    char buf[2048];
    ngpus = 0;
    memset(gpus, 0, sizeof gpus);
    snprintf(buf, sizeof buf, "%s", spec ? spec : "");
    for (char *save = NULL, *e = strtok_r(buf, ";", &save); e && ngpus < MAX_GPUS;
         e = strtok_r(NULL, ";", &save)) {
        struct gpu *g = &gpus[ngpus++];
        char *eq = strchr(e, '=');
        if (eq)
            *eq++ = '\0';
        snprintf(g->model, TEXT_MAX, "%s", e);
        g->mib = eq ? strtoull(eq, NULL, 10) : 1024;
        char *eq2 = eq ? strchr(eq, '=') : NULL;
        if (eq2)
            parse_profiles(g, eq2 + 1);
    }
}

int nvmlInit_v2(void)
{
    parse();
    return OK;
}

int nvmlShutdown(void)
{
    return OK;
}

const char *nvmlErrorString(int r)
{
    return r == E_NOTSUPP ? "Not Supported" : r == E_NOTFND ? "Not Found" : "Unknown Error";
}

int nvmlDeviceGetCount_v2(unsigned *n)
{
    *n = (unsigned)ngpus;
    return OK;
}

int nvmlDeviceGetHandleByIndex_v2(unsigned i, void **d)
{
    if (i >= (unsigned)ngpus)
        return E_INVALID;
    *d = handle((int)i, -1);
    return OK;
}

int nvmlDeviceGetName(void *d, char *b, unsigned n)
{
    int i, k;
    if (decode(d, &i, &k) < 0)
        return E_INVALID;
    if (k < 0)
        snprintf(b, n, "NVIDIA %s", gpus[i].model);
    else
        snprintf(b, n, "NVIDIA %s MIG %s", gpus[i].model, gpus[i].profile[k]);
    return OK;
}

int nvmlDeviceGetUUID(void *d, char *b, unsigned n)
{
    int i, k;
    if (decode(d, &i, &k) < 0)
        return E_INVALID;
    if (k < 0)
        snprintf(b, n, "GPU-%08d-0000-4000-8000-000000000000", i);
    else
        snprintf(b, n, "MIG-%08d-%04d-5000-8000-000000000000", i, k);
    return OK;
}

int nvmlDeviceGetMemoryInfo(void *d, struct mem *m)
{
    int i, k;
    if (decode(d, &i, &k) < 0)
        return E_INVALID;
    m->total = gpus[i].mib * MIB;
    if (k >= 0) {
        const char *dot = strrchr(gpus[i].profile[k], '.');
        m->total = ((dot ? strtoull(dot + 1, NULL, 10) : 1) * 1024 - 256) * MIB;
    }
    m->used = 0;
    m->free = m->total;
    return OK;
}

int nvmlDeviceGetUtilizationRates(void *d, struct util *u)
{
    int i, k;
    if (decode(d, &i, &k) < 0 || k >= 0)
        return k >= 0 ? E_NOTSUPP : E_INVALID;
    u->gpu = 0;
    u->memory = 0;
    return OK;
}

int nvmlDeviceGetMigMode(void *d, unsigned *current, unsigned *pending)
{
    int i, k;
    const char *fail = getenv("MLQ_FAKE_NVML_FAIL");
    if (decode(d, &i, &k) < 0 || k >= 0)
        return E_INVALID;
    if (fail && strcmp(fail, "migmode") == 0)
        return E_UNKNOWN;
    if (strstr(gpus[i].model, "A100") == NULL && strstr(gpus[i].model, "H100") == NULL)
        return E_NOTSUPP; /* a GPU without MIG */
    *current = *pending = (unsigned)gpus[i].mig;
    return OK;
}

int nvmlDeviceGetMaxMigDeviceCount(void *d, unsigned *count)
{
    int i, k;
    if (decode(d, &i, &k) < 0 || k >= 0)
        return E_INVALID;
    *count = 7;
    return OK;
}

int nvmlDeviceGetMigDeviceHandleByIndex(void *d, unsigned slot, void **mig)
{
    int i, k;
    if (decode(d, &i, &k) < 0 || k >= 0 || !gpus[i].mig)
        return E_INVALID;
    if (slot >= (unsigned)gpus[i].nslots || gpus[i].profile[slot][0] == '\0')
        return E_NOTFND;
    *mig = handle(i, (int)slot);
    return OK;
}
