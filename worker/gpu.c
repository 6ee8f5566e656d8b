/* gpu: GPU discovery through NVML (dlopen), nvidia-smi (gpusmi.h runs it)
 * or fake GPUs, and the normalisation of model names into types.
 *
 * Whatever the tools print is untrusted: bounded, checked field by field,
 * and rejected whole when any line is wrong, since a half-understood GPU
 * list would hand out devices that do not exist. */
#include "gpu.h"

#include <ctype.h>
#include <dlfcn.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "clock.h"
#include "gpumig.h"
#include "gpusmi.h"
#include "res.h"

#define SMI_LINE_MAX  512
#define SMI_LINES_MAX 1024
#define SMI_INDEX_MAX 9999 /* parse bound; indexes >= MLQ_MAX_GPUS are left out */
#define NAME_MAX_LEN  96   /* NVML_DEVICE_NAME_V2_BUFFER_SIZE */

/* ---- sets ---- */

void mlq_gpu_set_clear(struct mlq_gpu_set *s)
{
    if (!s)
        return;
    for (uint32_t i = 0; i < s->n; i++) {
        free(s->gpus[i].uuid);
        free(s->gpus[i].model);
        free(s->gpus[i].type);
        if (s->cuda)
            free(s->cuda[i]);
    }
    free(s->gpus);
    free(s->cuda);
    s->gpus = NULL;
    s->cuda = NULL;
    s->n = 0;
    s->nmig = 0;
}

static void set_init(struct mlq_gpu_set *s, const char *source)
{
    memset(s, 0, sizeof *s);
    s->source = source;
}

/* Appends to the set's note ("; " between parts), cut at its size. */
static void __attribute__((format(printf, 2, 3)))
note_add(struct mlq_gpu_set *s, const char *fmt, ...)
{
    size_t used = strlen(s->note);
    if (used > 0 && used + 2 < sizeof s->note) {
        memcpy(s->note + used, "; ", 3);
        used += 2;
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(s->note + used, sizeof s->note - used, fmt, ap);
    va_end(ap);
}

/* Fills g (index, strings copied, type given or derived from model);
 * false when out of memory. */
static bool gpu_fill(struct mlq_gpuinfo *g, int32_t index, const char *uuid, const char *model,
                     const char *given_type, int64_t mem)
{
    char type[MLQ_GPU_TYPE_MAX + 1];
    if (given_type)
        snprintf(type, sizeof type, "%s", given_type);
    else if (model)
        mlq_gpu_type_of(model, type, sizeof type);
    else
        snprintf(type, sizeof type, "fake");
    memset(g, 0, sizeof *g);
    g->index = index;
    g->mem = mem;
    g->uuid = uuid ? strdup(uuid) : NULL;
    g->model = model ? strdup(model) : NULL;
    g->type = strdup(type);
    return g->type && (!uuid || g->uuid) && (!model || g->model);
}

int mlq_gpu_fake(int32_t n, struct mlq_gpu_set *out, struct mlq_err *err)
{
    set_init(out, "fake");
    if (n < 0 || n > MLQ_MAX_GPUS)
        return mlq_err_set(err, MLQ_EINVAL, "fake GPUs: %" PRId32 " is not in 0..%d", n,
                           MLQ_MAX_GPUS);
    if (n == 0)
        return 0;
    out->gpus = calloc((size_t)n, sizeof *out->gpus);
    if (!out->gpus)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    for (int32_t i = 0; i < n; i++) {
        out->n++;
        if (!gpu_fill(&out->gpus[i], i, NULL, NULL, NULL, 0)) {
            mlq_gpu_set_clear(out);
            return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
        }
    }
    return 0;
}

int mlq_gpu_fake_typed(int32_t n, const char *type, struct mlq_gpu_set *out, struct mlq_err *err)
{
    struct mlq_err e;
    if (type && mlq_proto_gpu_type_check(type, &e) < 0)
        return mlq_err_set(err, MLQ_EINVAL, "fake GPU type: %s", e.msg);
    int rc = mlq_gpu_fake(n, out, err);
    for (uint32_t i = 0; rc == 0 && type && i < out->n; i++) {
        char *t = strdup(type);
        if (!t) {
            mlq_gpu_set_clear(out);
            return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
        }
        free(out->gpus[i].type);
        out->gpus[i].type = t;
    }
    return rc;
}

/* One entry "N" or "TYPE:N" of a --gpus list into type (lowercased, ""
 * for a bare N) and *n. */
static int fake_entry(const char *e, size_t len, char *type, int32_t *n, struct mlq_err *err)
{
    char num[16];
    const char *colon = memchr(e, ':', len);
    size_t tl = colon ? (size_t)(colon - e) : 0;
    size_t nl = colon ? len - tl - 1 : len;
    struct mlq_err ce = {0};
    type[0] = '\0';
    if (colon && (tl == 0 || tl > MLQ_GPU_TYPE_MAX))
        return mlq_err_set(err, MLQ_EINVAL, "\"%.*s\": expected N or TYPE:N, TYPE of 1 to %d bytes",
                           (int)(len > 40 ? 40 : len), e, MLQ_GPU_TYPE_MAX);
    for (size_t i = 0; i < tl; i++)
        type[i] = (char)tolower((unsigned char)e[i]);
    type[tl] = '\0';
    if (colon && mlq_proto_gpu_type_check(type, &ce) < 0)
        return mlq_err_set(err, MLQ_EINVAL, "\"%.*s\": %s", (int)tl, e, ce.msg);
    if (nl == 0 || nl >= sizeof num)
        return mlq_err_set(err, MLQ_EINVAL, "\"%.*s\": expected N or TYPE:N",
                           (int)(len > 40 ? 40 : len), e);
    memcpy(num, e + len - nl, nl);
    num[nl] = '\0';
    if (mlq_res_parse_gpus(num, n, &ce) < 0)
        return mlq_err_set(err, MLQ_EINVAL, "\"%.*s\": %s", (int)(len > 40 ? 40 : len), e, ce.msg);
    return 0;
}

int mlq_gpu_fake_spec(const char *spec, struct mlq_gpu_set *out, struct mlq_err *err)
{
    char types[MLQ_MAX_GPUS][MLQ_GPU_TYPE_MAX + 1];
    int32_t total = 0;
    set_init(out, "fake");
    for (const char *p = spec;; p++) {
        size_t len = strcspn(p, ",");
        char type[MLQ_GPU_TYPE_MAX + 1];
        int32_t n = 0;
        int rc = fake_entry(p, len, type, &n, err);
        if (rc < 0)
            return rc;
        if (n > MLQ_MAX_GPUS - total)
            return mlq_err_set(err, MLQ_EINVAL, "more than %d GPUs in all", MLQ_MAX_GPUS);
        for (int32_t i = 0; i < n; i++)
            snprintf(types[total++], sizeof types[0], "%s", type[0] ? type : "fake");
        p += len;
        if (!*p)
            break;
    }
    int rc = mlq_gpu_fake(total, out, err);
    for (int32_t i = 0; rc == 0 && i < total; i++) {
        char *t = strdup(types[i]);
        if (!t) {
            mlq_gpu_set_clear(out);
            return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
        }
        free(out->gpus[i].type);
        out->gpus[i].type = t;
    }
    return rc;
}

/* ---- types ---- */

/* Words that name the vendor or a product line rather than the family. */
static const char *const brand_words[] = {"nvidia", "tesla", "geforce", "quadro"};
/* Product lines whose number follows as its own word ("RTX 4090"). */
static const char *const series_words[] = {"rtx", "gtx"};

static bool in_list(const char *w, const char *const *list, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (strcmp(w, list[i]) == 0)
            return true;
    return false;
}

static bool has_digit(const char *s)
{
    return strpbrk(s, "0123456789") != NULL;
}

/* The next alphanumeric word at *p, lowercased into tok (cut to len - 1);
 * false at the end. */
static bool next_word(const char **p, char *tok, size_t len)
{
    const char *s = *p;
    while (*s && !isalnum((unsigned char)*s))
        s++;
    if (!*s)
        return false;
    size_t n = 0;
    for (; isalnum((unsigned char)*s); s++)
        if (n + 1 < len)
            tok[n++] = (char)tolower((unsigned char)*s);
    tok[n] = '\0';
    *p = s;
    return true;
}

void mlq_gpu_type_of(const char *model, char *buf, size_t len)
{
    char w[MLQ_GPU_TYPE_MAX + 1], next[MLQ_GPU_TYPE_MAX + 1];
    const char *p = model ? model : "";
    if (len > MLQ_GPU_TYPE_MAX + 1)
        len = MLQ_GPU_TYPE_MAX + 1;
    if (len == 0)
        return;
    if (!next_word(&p, buf, len)) { /* the fallback: first word, or "unknown" */
        snprintf(buf, len, "unknown");
        return;
    }
    p = model;
    while (next_word(&p, w, sizeof w)) {
        if (in_list(w, brand_words, sizeof brand_words / sizeof *brand_words))
            continue;
        if (in_list(w, series_words, sizeof series_words / sizeof *series_words)) {
            const char *q = p;
            if (next_word(&q, next, sizeof next) && has_digit(next)) {
                /* "RTX 4090" -> rtx4090, but "RTX A6000" -> a6000 */
                if (isdigit((unsigned char)next[0])) {
                    snprintf(buf, len, "%s", w);
                    size_t wl = strlen(buf);
                    snprintf(buf + wl, len - wl, "%s", next);
                } else
                    snprintf(buf, len, "%s", next);
            }
            return;
        }
        if (has_digit(w)) /* a family names a number: h100, a100, l4, v100 */
            snprintf(buf, len, "%s", w);
        return;
    }
}

/* ---- nvidia-smi output ---- */

static char *trim(char *s)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    while (n > 0 && (s[n - 1] == ' ' || s[n - 1] == '\t' || s[n - 1] == '\r'))
        s[--n] = '\0';
    return s;
}

/* Decimal digits only (no sign, no spaces), at most max; -1 otherwise. */
static long long parse_uint(const char *s, long long max)
{
    size_t n = strlen(s);
    if (n == 0 || n > 15 || strspn(s, "0123456789") != n)
        return -1;
    long long v = strtoll(s, NULL, 10);
    return v <= max ? v : -1;
}

static bool model_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > NAME_MAX_LEN)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return false;
    return true;
}

/* GPUs gathered by index before they become a set. */
struct gather {
    struct mlq_gpuinfo g[MLQ_MAX_GPUS];
    char *cuda[MLQ_MAX_GPUS]; /* what CUDA_VISIBLE_DEVICES names for each */
    uint64_t seen;            /* indexes present */
    uint32_t n;               /* == popcount(seen) */
    uint32_t beyond;          /* left out: index >= MLQ_MAX_GPUS */
    uint32_t nmig;            /* MIG devices among them */
    uint32_t next;            /* next index where devices are numbered in order */
};

static void gather_free(struct gather *ga)
{
    for (int i = 0; i < MLQ_MAX_GPUS; i++) {
        free(ga->g[i].uuid);
        free(ga->g[i].model);
        free(ga->g[i].type);
        free(ga->cuda[i]);
    }
    memset(ga, 0, sizeof *ga);
}

/* One device as found, before its checks. */
struct found {
    long long index;   /* the worker's index */
    const char *uuid;  /* "GPU-..." or "MIG-..." */
    const char *model; /* the name NVML or nvidia-smi gives */
    const char *type;  /* NULL: derived from model */
    int64_t mem;       /* bytes; -1: beyond any bound */
    long long phys;    /* the physical GPU's index (a MIG device's parent) */
    bool mig;
};

/* Adds one checked device. */
static int gather_dev(struct gather *ga, const struct found *d, const char *what,
                      struct mlq_err *err)
{
    char cuda[24];
    if (d->mem <= 0 || d->mem > MLQ_GPU_MAX_MEM_MIB * 1024 * 1024)
        return mlq_err_set(err, MLQ_EPROTO, "%s: memory size 0 or above %lld MiB", what,
                           (long long)MLQ_GPU_MAX_MEM_MIB);
    if (!mlq_gpumig_uuid_ok(d->uuid) || (d->mig != (strncmp(d->uuid, "MIG-", 4) == 0)))
        return mlq_err_set(err, MLQ_EPROTO, "%s: bad GPU UUID", what);
    if (!model_ok(d->model))
        return mlq_err_set(err, MLQ_EPROTO, "%s: bad GPU name", what);
    long long index = d->index;
    if (index >= MLQ_MAX_GPUS) {
        ga->beyond++;
        return 0;
    }
    if (ga->seen & (1ULL << index))
        return mlq_err_set(err, MLQ_EPROTO, "%s: GPU index %lld given twice", what, index);
    ga->seen |= 1ULL << index;
    ga->n++;
    ga->nmig += d->mig;
    snprintf(cuda, sizeof cuda, "%lld", d->phys);
    ga->cuda[index] = strdup(d->mig ? d->uuid : cuda);
    if (!ga->cuda[index] ||
        !gpu_fill(&ga->g[index], (int32_t)index, d->uuid, d->model, d->type, d->mem))
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    return 0;
}

/* Adds one checked whole GPU whose index is its physical index. */
static int gather_add(struct gather *ga, long long index, const char *uuid, const char *model,
                      int64_t mem, const char *what, struct mlq_err *err)
{
    struct found d = {.index = index, .uuid = uuid, .model = model, .mem = mem, .phys = index};
    return gather_dev(ga, &d, what, err);
}

/* Moves the gathered GPUs into out once their indexes are 0..n-1. */
static int gather_finish(struct gather *ga, const char *who, struct mlq_gpu_set *out,
                         struct mlq_err *err)
{
    if (ga->n < 64 && ga->seen != (1ULL << ga->n) - 1) {
        uint32_t hole = 0;
        while (ga->seen & (1ULL << hole))
            hole++;
        return mlq_err_set(err, MLQ_EPROTO,
                           "%s: GPU indexes are not 0..%" PRIu32 " (no GPU %" PRIu32 ")", who,
                           ga->n - 1, hole);
    }
    if (ga->beyond > 0)
        note_add(out, "%s: %" PRIu32 " GPU(s) beyond the first %d left out", who, ga->beyond,
                 MLQ_MAX_GPUS);
    if (ga->n == 0)
        return 0;
    if (!(out->gpus = calloc(ga->n, sizeof *out->gpus)))
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    /* CUDA names only where MIG devices make them differ from the indexes */
    if (ga->nmig > 0 && !(out->cuda = calloc(ga->n, sizeof *out->cuda))) {
        free(out->gpus);
        out->gpus = NULL;
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    }
    memcpy(out->gpus, ga->g, ga->n * sizeof *out->gpus);
    if (out->cuda)
        memcpy(out->cuda, ga->cuda, ga->n * sizeof *out->cuda);
    else
        for (uint32_t i = 0; i < ga->n; i++)
            free(ga->cuda[i]);
    out->n = ga->n;
    out->nmig = ga->nmig;
    memset(ga, 0, sizeof *ga); /* the strings now belong to out */
    return 0;
}

/* One line "index, uuid, name, memory.total"; s is modified. */
static int smi_line(struct gather *ga, char *s, int lineno, struct mlq_err *err)
{
    char what[48];
    snprintf(what, sizeof what, "nvidia-smi output line %d", lineno);
    char *f[4];
    int nf = 0;
    for (char *p = s, *comma;; p = comma + 1) {
        comma = strchr(p, ',');
        if (nf == 4)
            return mlq_err_set(err, MLQ_EPROTO, "%s: more than 4 comma-separated fields", what);
        if (comma)
            *comma = '\0';
        f[nf++] = trim(p);
        if (!comma)
            break;
    }
    if (nf != 4)
        return mlq_err_set(err, MLQ_EPROTO, "%s: %d field(s) where 4 were expected", what, nf);
    long long index = parse_uint(f[0], SMI_INDEX_MAX);
    if (index < 0)
        return mlq_err_set(err, MLQ_EPROTO, "%s: bad GPU index \"%.16s\"", what, f[0]);
    size_t mlen = strlen(f[3]);
    long long mib = parse_uint(f[3], MLQ_GPU_MAX_MEM_MIB); /* -1 when absurd */
    if (mlen == 0 || strspn(f[3], "0123456789") != mlen)
        return mlq_err_set(err, MLQ_EPROTO, "%s: bad memory size \"%.16s\"", what, f[3]);
    return gather_add(ga, index, f[1], f[2], mib < 0 ? -1 : mib * 1024 * 1024, what, err);
}

int mlq_gpu_parse_smi(const char *text, size_t len, struct mlq_gpu_set *out, struct mlq_err *err)
{
    set_init(out, "nvidia-smi");
    if (memchr(text, '\0', len))
        return mlq_err_set(err, MLQ_EPROTO, "nvidia-smi output holds a NUL byte");
    struct gather *ga = calloc(1, sizeof *ga);
    if (!ga)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    char line[SMI_LINE_MAX + 1];
    int rc = 0, lineno = 0;
    for (size_t pos = 0; rc == 0 && pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        lineno++;
        if (lineno > SMI_LINES_MAX)
            rc = mlq_err_set(err, MLQ_ETOOBIG, "nvidia-smi output: more than %d lines",
                             SMI_LINES_MAX);
        else if (n > SMI_LINE_MAX)
            rc = mlq_err_set(err, MLQ_EPROTO, "nvidia-smi output line %d: longer than %d bytes",
                             lineno, SMI_LINE_MAX);
        else {
            memcpy(line, text + pos, n);
            line[n] = '\0';
            if (*trim(line)) /* blank lines (the last one) carry nothing */
                rc = smi_line(ga, line, lineno, err);
        }
        pos += n + 1;
    }
    if (rc == 0)
        rc = gather_finish(ga, "nvidia-smi output", out, err);
    gather_free(ga);
    free(ga);
    if (rc < 0)
        mlq_gpu_set_clear(out);
    return rc;
}

/* A MIG device that `nvidia-smi -L` lists under physical GPU w. */
static int smi_mig(struct gather *ga, const struct mlq_gpuinfo *w, const struct mlq_gpumig_dev *d,
                   struct mlq_err *err)
{
    char type[MLQ_GPU_TYPE_MAX + 1], model[NAME_MAX_LEN + 1], what[64];
    snprintf(what, sizeof what, "nvidia-smi -L: GPU %" PRId32 " MIG %s", w->index, d->profile);
    int rc = mlq_gpumig_type(w->type, d->profile, type, sizeof type, err);
    if (rc < 0)
        return rc;
    snprintf(model, sizeof model, "%s MIG %s", w->model, d->profile); /* as NVML names it */
    int64_t mem = mlq_gpumig_profile_mem(d->profile);
    if (mem < 0)
        return mlq_err_set(err, MLQ_EPROTO, "%s: the profile names no memory size", what);
    struct found f = {.index = ga->next++,
                      .uuid = d->uuid,
                      .model = model,
                      .type = type,
                      .mem = mem,
                      .phys = w->index,
                      .mig = true};
    return gather_dev(ga, &f, what, err);
}

/* The GPUs of the query (whole, by physical index) with those that
 * `nvidia-smi -L` shows with MIG devices replaced by them, numbered in
 * order. Both must list the same GPUs. */
static int smi_merge(const struct mlq_gpu_set *whole, const struct mlq_gpumig_list *l,
                     struct mlq_gpu_set *out, struct mlq_err *err)
{
    if (l->ngpu != whole->n)
        return mlq_err_set(err, MLQ_EPROTO,
                           "nvidia-smi -L lists %" PRIu32 " GPU(s), the GPU query %" PRIu32,
                           l->ngpu, whole->n);
    struct gather *ga = calloc(1, sizeof *ga);
    if (!ga)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    int rc = 0;
    for (uint32_t i = 0; rc == 0 && i < whole->n; i++) {
        const struct mlq_gpuinfo *w = &whole->gpus[i];
        const struct mlq_gpumig_gpu *g = NULL;
        for (uint32_t k = 0; k < l->ngpu && !g; k++)
            if (l->gpu[k].index == w->index && strcmp(l->gpu[k].uuid, w->uuid) == 0)
                g = &l->gpu[k];
        if (!g) {
            rc = mlq_err_set(err, MLQ_EPROTO, "nvidia-smi -L does not list GPU %" PRId32 " (%s)",
                             w->index, w->uuid);
            break;
        }
        struct found f = {
            .index = ga->next, .uuid = w->uuid, .model = w->model, .mem = w->mem, .phys = w->index};
        if (g->nmig == 0 && (rc = gather_dev(ga, &f, "GPU list", err)) == 0)
            ga->next++;
        for (uint32_t k = 0; rc == 0 && k < g->nmig; k++)
            rc = smi_mig(ga, w, &g->mig[k], err);
    }
    if (rc == 0)
        rc = gather_finish(ga, "GPU list", out, err);
    if (rc == 0 && whole->note[0])
        note_add(out, "%s", whole->note);
    gather_free(ga);
    free(ga);
    if (rc < 0)
        mlq_gpu_set_clear(out);
    return rc;
}

/* The set of the GPU query after `nvidia-smi -L` (run within the same
 * deadline) said which GPUs are in MIG mode. */
static int smi_discover(const struct mlq_gpu_opts *o, struct mlq_gpu_set *out, struct mlq_err *err)
{
    static const char *const query[] = {"--query-gpu=index,uuid,name,memory.total",
                                        "--format=csv,noheader,nounits", NULL};
    static const char *const list[] = {"-L", NULL};
    set_init(out, "nvidia-smi");
    const char *name = o->smi ? o->smi : getenv("MLQ_NVIDIA_SMI");
    if (!name || !*name)
        name = "nvidia-smi";
    char path[MLQ_MAX_PATH];
    int rc = mlq_gpusmi_find(name, path, sizeof path, err);
    if (rc < 0)
        return rc;
    char *buf = malloc(MLQ_GPUSMI_OUT_MAX);
    struct mlq_gpumig_list *l = calloc(1, sizeof *l);
    struct mlq_gpu_set whole = {0};
    size_t n = 0;
    int timeout = o->timeout_ms > 0 ? o->timeout_ms : MLQ_GPU_TIMEOUT_MS;
    int64_t deadline = mlq_clock_mono_ms() + timeout;
    if (!buf || !l)
        rc = mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    if (rc == 0 && (rc = mlq_gpusmi_run(path, query, deadline, timeout, buf, MLQ_GPUSMI_OUT_MAX, &n,
                                        err)) == 0)
        rc = mlq_gpu_parse_smi(buf, n, &whole, err);
    struct mlq_err e = {0};
    if (rc == 0 &&
        (rc = mlq_gpusmi_run(path, list, deadline, timeout, buf, MLQ_GPUSMI_OUT_MAX, &n, &e)) < 0)
        rc = mlq_err_set(err, rc, "-L: %s", e.msg);
    if (rc == 0)
        rc = mlq_gpumig_parse_list(buf, n, l, err);
    if (rc == 0)
        rc = smi_merge(&whole, l, out, err);
    mlq_gpu_set_clear(&whole);
    free(l);
    free(buf);
    return rc;
}

/* ---- NVML ---- */

/* The few NVML declarations used, written here so that no CUDA header is
 * needed to build: nvmlReturn_t is an int (0 = NVML_SUCCESS), nvmlDevice_t
 * an opaque pointer, nvmlMemory_t three byte counts. */
typedef int nvml_return;
typedef struct nvml_device_st *nvml_device;
struct nvml_memory {
    unsigned long long total, free, used;
};
#define NVML_NOT_SUPPORTED 3    /* NVML_ERROR_NOT_SUPPORTED: a GPU without MIG */
#define NVML_NOT_FOUND     6    /* NVML_ERROR_NOT_FOUND: no MIG device at that slot */
#define NVML_MIG_ENABLE    1    /* NVML_DEVICE_MIG_ENABLE */
#define NVML_COUNT_MAX     4096 /* GPUs NVML may claim; more is nonsense */

struct nvml {
    void *lib;
    nvml_return (*init)(void);
    nvml_return (*shutdown)(void);
    nvml_return (*count)(unsigned int *n);
    nvml_return (*by_index)(unsigned int i, nvml_device *dev);
    nvml_return (*name)(nvml_device dev, char *buf, unsigned int len);
    nvml_return (*uuid)(nvml_device dev, char *buf, unsigned int len);
    nvml_return (*memory)(nvml_device dev, struct nvml_memory *mem);
    const char *(*error_string)(nvml_return r); /* optional */
    /* optional, all three or none (drivers before MIG lack them) */
    nvml_return (*mig_mode)(nvml_device dev, unsigned int *current, unsigned int *pending);
    nvml_return (*mig_max)(nvml_device dev, unsigned int *count);
    nvml_return (*mig_by_index)(nvml_device dev, unsigned int i, nvml_device *mig);
};

static int nvml_load(struct nvml *api, const char *libname, struct mlq_err *err)
{
    dlerror();
    api->lib = dlopen(libname, RTLD_NOW | RTLD_LOCAL);
    if (!api->lib) {
        const char *why = dlerror();
        return mlq_err_set(err, MLQ_ENOTFOUND, "%.100s", why ? why : libname);
    }
    const struct {
        const char *name;
        void *slot;
        bool optional;
    } syms[] = {
        {"nvmlInit_v2", &api->init, false},
        {"nvmlShutdown", &api->shutdown, false},
        {"nvmlDeviceGetCount_v2", &api->count, false},
        {"nvmlDeviceGetHandleByIndex_v2", &api->by_index, false},
        {"nvmlDeviceGetName", &api->name, false},
        {"nvmlDeviceGetUUID", &api->uuid, false},
        {"nvmlDeviceGetMemoryInfo", &api->memory, false},
        {"nvmlErrorString", &api->error_string, true},
        {"nvmlDeviceGetMigMode", &api->mig_mode, true},
        {"nvmlDeviceGetMaxMigDeviceCount", &api->mig_max, true},
        {"nvmlDeviceGetMigDeviceHandleByIndex", &api->mig_by_index, true},
    };
    for (size_t i = 0; i < sizeof syms / sizeof *syms; i++) {
        void *sym = dlsym(api->lib, syms[i].name);
        if (!sym && !syms[i].optional) {
            dlclose(api->lib);
            api->lib = NULL;
            return mlq_err_set(err, MLQ_ENOTFOUND, "%.60s lacks %s", libname, syms[i].name);
        }
        memcpy(syms[i].slot, &sym, sizeof sym); /* POSIX: function pointers fit */
    }
    if (!api->mig_mode || !api->mig_max || !api->mig_by_index)
        api->mig_mode = NULL; /* MIG only with the whole set of calls */
    return 0;
}

static const char *nvml_why(const struct nvml *api, nvml_return r)
{
    const char *s = api->error_string ? api->error_string(r) : NULL;
    return s ? s : "error";
}

/* A device's name, UUID and memory (bytes; -1 beyond any bound). */
struct nvml_dev {
    char name[NAME_MAX_LEN + 1], uuid[NAME_MAX_LEN + 1];
    int64_t mem;
};

static int nvml_read(const struct nvml *api, nvml_device dev, struct nvml_dev *d, const char *what,
                     struct mlq_err *err)
{
    struct nvml_memory mem = {0};
    const char *call = "nvmlDeviceGetName";
    nvml_return r;
    memset(d, 0, sizeof *d);
    if ((r = api->name(dev, d->name, sizeof d->name)) == 0 && (call = "nvmlDeviceGetUUID") &&
        (r = api->uuid(dev, d->uuid, sizeof d->uuid)) == 0 && (call = "nvmlDeviceGetMemoryInfo"))
        r = api->memory(dev, &mem);
    if (r != 0)
        return mlq_err_set(err, MLQ_EIO, "%s: %s: %.60s", what, call, nvml_why(api, r));
    d->name[sizeof d->name - 1] = d->uuid[sizeof d->uuid - 1] = '\0';
    d->mem = mem.total <= (unsigned long long)MLQ_GPU_MAX_MEM_MIB * 1024 * 1024 ? (int64_t)mem.total
                                                                                : -1;
    return 0;
}

/* Whether GPU dev (named what) is in MIG mode now. */
static int nvml_in_mig(const struct nvml *api, nvml_device dev, const char *what, bool *mig,
                       struct mlq_err *err)
{
    unsigned int current = 0, pending = 0;
    *mig = false;
    if (!api->mig_mode)
        return 0;
    nvml_return r = api->mig_mode(dev, &current, &pending);
    if (r == NVML_NOT_SUPPORTED)
        return 0;
    if (r != 0) /* offering it whole could hand out a GPU CUDA cannot reach */
        return mlq_err_set(err, MLQ_EIO, "%s: nvmlDeviceGetMigMode: %.60s", what, nvml_why(api, r));
    *mig = current == NVML_MIG_ENABLE;
    return 0;
}

/* The MIG devices of GPU i (dev, read into parent), numbered in order. */
static int nvml_add_migs(const struct nvml *api, nvml_device dev, unsigned int i,
                         const struct nvml_dev *parent, struct gather *ga, struct mlq_gpu_set *out,
                         struct mlq_err *err)
{
    char what[64], ptype[MLQ_GPU_TYPE_MAX + 1], prof[MLQ_GPUMIG_PROFILE_MAX + 1];
    char type[MLQ_GPU_TYPE_MAX + 1];
    unsigned int max = 0, found = 0;
    nvml_return r = api->mig_max(dev, &max);
    snprintf(what, sizeof what, "NVML GPU %u", i);
    if (r != 0)
        return mlq_err_set(err, MLQ_EIO, "%s: nvmlDeviceGetMaxMigDeviceCount: %.60s", what,
                           nvml_why(api, r));
    mlq_gpu_type_of(parent->name, ptype, sizeof ptype);
    for (unsigned int k = 0; k < max && k < MLQ_GPUMIG_PER_GPU; k++) {
        nvml_device mig = NULL;
        struct nvml_dev d;
        snprintf(what, sizeof what, "NVML GPU %u MIG device %u", i, k);
        if ((r = api->mig_by_index(dev, k, &mig)) == NVML_NOT_FOUND)
            continue; /* the slots of a GPU are not all used */
        if (r != 0)
            return mlq_err_set(err, MLQ_EIO, "%s: nvmlDeviceGetMigDeviceHandleByIndex: %.60s", what,
                               nvml_why(api, r));
        int rc = nvml_read(api, mig, &d, what, err);
        struct mlq_err e = {0};
        if (rc == 0 && (mlq_gpumig_profile(d.name, prof, sizeof prof, &e) < 0 ||
                        mlq_gpumig_type(ptype, prof, type, sizeof type, &e) < 0))
            rc = mlq_err_set(err, MLQ_EPROTO, "%s: %s", what, e.msg);
        struct found f = {.index = ga->next++,
                          .uuid = d.uuid,
                          .model = d.name,
                          .type = type,
                          .mem = d.mem,
                          .phys = i,
                          .mig = true};
        if (rc == 0)
            rc = gather_dev(ga, &f, what, err);
        if (rc < 0)
            return rc;
        found++;
    }
    if (found == 0)
        note_add(out, "NVML GPU %u (%s) is in MIG mode without MIG devices: not offered", i,
                 parent->uuid);
    return 0;
}

/* Reads GPU i into ga: itself, or its MIG devices when in MIG mode. */
static int nvml_add(const struct nvml *api, unsigned int i, struct gather *ga,
                    struct mlq_gpu_set *out, struct mlq_err *err)
{
    nvml_device dev = NULL;
    struct nvml_dev d;
    char what[32];
    snprintf(what, sizeof what, "NVML GPU %u", i);
    nvml_return r = api->by_index(i, &dev);
    if (r != 0)
        return mlq_err_set(err, MLQ_EIO, "%s: nvmlDeviceGetHandleByIndex_v2: %.60s", what,
                           nvml_why(api, r));
    bool mig = false;
    int rc = nvml_read(api, dev, &d, what, err);
    if (rc == 0)
        rc = nvml_in_mig(api, dev, what, &mig, err);
    if (rc == 0 && mig)
        return nvml_add_migs(api, dev, i, &d, ga, out, err);
    struct found f = {
        .index = ga->next++, .uuid = d.uuid, .model = d.name, .mem = d.mem, .phys = i};
    return rc < 0 ? rc : gather_dev(ga, &f, what, err);
}

static int nvml_discover(const struct mlq_gpu_opts *o, struct mlq_gpu_set *out, struct mlq_err *err)
{
    set_init(out, "nvml");
    struct nvml api = {0};
    int rc = nvml_load(&api, o->nvml_library ? o->nvml_library : MLQ_GPU_NVML_LIBRARY, err);
    if (rc < 0)
        return rc;
    struct gather *ga = calloc(1, sizeof *ga);
    unsigned int count = 0;
    nvml_return r = 0;
    bool inited = false;
    if (!ga)
        rc = mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    else if ((r = api.init()) != 0)
        rc = mlq_err_set(err, MLQ_EIO, "nvmlInit_v2: %.80s", nvml_why(&api, r));
    else if ((inited = true) && (r = api.count(&count)) != 0)
        rc = mlq_err_set(err, MLQ_EIO, "nvmlDeviceGetCount_v2: %.80s", nvml_why(&api, r));
    else if (count > NVML_COUNT_MAX)
        rc = mlq_err_set(err, MLQ_EPROTO, "NVML claims %u GPUs", count);
    /* devices are numbered in order; past MLQ_MAX_GPUS they are counted
     * as left out (gather_dev), read all the same */
    for (unsigned int i = 0; rc == 0 && i < count; i++)
        rc = nvml_add(&api, i, ga, out, err);
    if (rc == 0)
        rc = gather_finish(ga, "NVML", out, err);
    if (inited)
        api.shutdown();
    dlclose(api.lib);
    if (ga)
        gather_free(ga);
    free(ga);
    if (rc < 0)
        mlq_gpu_set_clear(out);
    return rc;
}

/* ---- discovery ---- */

int mlq_gpu_method_parse(const char *s, enum mlq_gpu_method *out, struct mlq_err *err)
{
    static const struct {
        const char *name;
        enum mlq_gpu_method m;
    } methods[] = {{"auto", MLQ_GPU_AUTO},
                   {"nvml", MLQ_GPU_NVML},
                   {"nvidia-smi", MLQ_GPU_NVIDIA_SMI},
                   {"none", MLQ_GPU_NONE}};
    for (size_t i = 0; i < sizeof methods / sizeof *methods; i++) {
        if (strcmp(s, methods[i].name) == 0) {
            *out = methods[i].m;
            return 0;
        }
    }
    return mlq_err_set(err, MLQ_EINVAL, "expected auto, nvml, nvidia-smi or none");
}

int mlq_gpu_discover(const struct mlq_gpu_opts *opts, struct mlq_gpu_set *out, struct mlq_err *err)
{
    static const struct mlq_gpu_opts defaults = {.method = MLQ_GPU_AUTO};
    const struct mlq_gpu_opts *o = opts ? opts : &defaults;
    struct mlq_err e = {0};
    char failed[sizeof out->note] = "";
    int rc = MLQ_ENOTFOUND;
    set_init(out, "none");
    if (o->method == MLQ_GPU_NONE)
        return 0;
    if (o->method == MLQ_GPU_AUTO || o->method == MLQ_GPU_NVML) {
        rc = nvml_discover(o, out, &e);
        if (rc < 0)
            snprintf(failed, sizeof failed, "NVML: %s", e.msg);
    }
    if (rc < 0 && (o->method == MLQ_GPU_AUTO || o->method == MLQ_GPU_NVIDIA_SMI)) {
        rc = smi_discover(o, out, &e);
        if (rc < 0) {
            size_t used = strlen(failed);
            snprintf(failed + used, sizeof failed - used, "%snvidia-smi: %s", used ? "; " : "",
                     e.msg);
        }
    }
    if (rc < 0 && o->method != MLQ_GPU_AUTO)
        return mlq_err_set(err, rc, "%s", failed);
    if (rc < 0)
        set_init(out, "none");
    if (*failed) { /* what was tried first goes first */
        char later[sizeof out->note];
        memcpy(later, out->note, sizeof later);
        out->note[0] = '\0';
        note_add(out, "%s", failed);
        if (*later)
            note_add(out, "%s", later);
    }
    return 0;
}

/* Appends to buf (used so far in *used), cut at len. */
static void __attribute__((format(printf, 4, 5)))
fmt_add(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
    if (*used + 1 >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *used, len - *used, fmt, ap);
    va_end(ap);
    if (n > 0)
        *used = *used + (size_t)n < len ? *used + (size_t)n : len - 1;
}

char *mlq_gpu_set_fmt(const struct mlq_gpu_set *s, char *buf, size_t len)
{
    size_t used = 0;
    if (len == 0)
        return buf;
    buf[0] = '\0';
    fmt_add(buf, len, &used, "%" PRIu32, s->n);
    if (s->n == 0)
        return buf;
    fmt_add(buf, len, &used, " (%s", s->source);
    for (uint32_t i = 0; i < s->n; i++) {
        const struct mlq_gpuinfo *g = &s->gpus[i];
        char mem[32];
        if (!g->uuid) /* fake: nothing more to say */
            continue;
        fmt_add(buf, len, &used, "%s gpu%" PRId32 " %s %s %s", i == 0 ? ":" : ",", g->index,
                g->type, mlq_res_fmt_mem(g->mem, mem, sizeof mem), g->uuid);
    }
    fmt_add(buf, len, &used, ")");
    return buf;
}

/* ---- driver and CUDA versions (run manifests) ---- */

/* Its own small dlopen, apart from discovery's symbol table, so that
 * neither depends on the other's list of NVML calls. */
int mlq_gpu_driver_versions(const char *nvml_library, char *driver, size_t dlen, char *cuda,
                            size_t clen)
{
    driver[0] = cuda[0] = '\0';
    void *lib = dlopen(nvml_library ? nvml_library : MLQ_GPU_NVML_LIBRARY, RTLD_NOW | RTLD_LOCAL);
    if (!lib)
        return -1;
    nvml_return (*init)(void), (*shutdown)(void), (*drv)(char *, unsigned int), (*cu)(int *);
    void *syms[4] = {dlsym(lib, "nvmlInit_v2"), dlsym(lib, "nvmlShutdown"),
                     dlsym(lib, "nvmlSystemGetDriverVersion"),
                     dlsym(lib, "nvmlSystemGetCudaDriverVersion")};
    memcpy(&init, &syms[0], sizeof init);
    memcpy(&shutdown, &syms[1], sizeof shutdown);
    memcpy(&drv, &syms[2], sizeof drv);
    memcpy(&cu, &syms[3], sizeof cu);
    int rc = -1;
    if (init && shutdown && init() == 0) {
        char buf[96] = "";
        int v = 0;
        if (drv && drv(buf, sizeof buf) == 0 && model_ok(buf)) {
            snprintf(driver, dlen, "%s", buf);
            rc = 0;
        }
        if (cu && cu(&v) == 0 && v > 0 && v < 1000000) {
            snprintf(cuda, clen, "%d.%d", v / 1000, (v % 1000) / 10);
            rc = 0;
        }
        shutdown();
    }
    dlclose(lib);
    return rc;
}
