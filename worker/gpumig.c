/* gpumig: MIG device names, profiles and types, the strict parser of
 * `nvidia-smi -L`, and the CUDA names of a worker's GPU indexes.
 *
 * `nvidia-smi -L` is meant for people, so its parser accepts only the
 * layout the driver prints (any spacing between words) and rejects the
 * whole output on the first line it does not understand: a half-understood
 * list would offer a GPU whole while CUDA only reaches its MIG devices. */
#include "gpumig.h"

#include <ctype.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define LIST_LINE_MAX  512
#define LIST_LINES_MAX 2048
#define LIST_INDEX_MAX 9999 /* parse bound; GPUs at MLQ_MAX_GPUS or above are left out */
#define WORD_MAX       (MLQ_GPUMIG_MODEL_MAX + 8)

/* ---- names, profiles, types ---- */

bool mlq_gpumig_uuid_ok(const char *s)
{
    static const char base[] = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-";
    size_t n = strlen(s);
    if (n == 0 || n > MLQ_GPUMIG_UUID_MAX)
        return false;
    if (strncmp(s, "MIG-", 4) == 0)
        return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789-/") == n;
    return strspn(s, base) == n;
}

/* Lowercases a profile word into buf, anything but a-z 0-9 . _ - as '-'. */
static int profile_norm(const char *word, size_t n, char *buf, size_t len, struct mlq_err *err)
{
    if (n == 0)
        return mlq_err_set(err, MLQ_EPROTO, "no MIG profile");
    if (n > MLQ_GPUMIG_PROFILE_MAX || n >= len)
        return mlq_err_set(err, MLQ_EPROTO, "MIG profile longer than %d bytes",
                           MLQ_GPUMIG_PROFILE_MAX);
    for (size_t i = 0; i < n; i++) {
        char c = (char)tolower((unsigned char)word[i]);
        if ((unsigned char)word[i] < 0x21 || (unsigned char)word[i] > 0x7e)
            return mlq_err_set(err, MLQ_EPROTO, "MIG profile with unprintable characters");
        bool keep =
            (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-';
        buf[i] = keep ? c : '-';
    }
    buf[n] = '\0';
    if (!isdigit((unsigned char)buf[0]))
        return mlq_err_set(err, MLQ_EPROTO, "MIG profile \"%s\" does not start with a digit", buf);
    return 0;
}

int mlq_gpumig_profile(const char *name, char *buf, size_t len, struct mlq_err *err)
{
    /* the last word "MIG" followed by a space: the model before it may
     * hold anything, the profile is what follows */
    const char *at = NULL;
    for (const char *p = strstr(name, "MIG "); p; p = strstr(p + 1, "MIG "))
        if (p == name || p[-1] == ' ')
            at = p;
    if (!at)
        return mlq_err_set(err, MLQ_EPROTO, "MIG device name \"%.100s\" names no MIG profile",
                           name);
    const char *w = at + 4;
    while (*w == ' ')
        w++;
    size_t n = strcspn(w, " ");
    if (w[n] != '\0')
        return mlq_err_set(err, MLQ_EPROTO, "MIG device name \"%.100s\": words after the profile",
                           name);
    return profile_norm(w, n, buf, len, err);
}

int mlq_gpumig_type(const char *parent_type, const char *profile, char *buf, size_t len,
                    struct mlq_err *err)
{
    int n = snprintf(buf, len, "%s-%s", parent_type, profile);
    if (n < 0 || (size_t)n >= len || n > MLQ_MAX_GPU_TYPE)
        return mlq_err_set(err, MLQ_EINVAL, "MIG type %s-%s is longer than %d bytes", parent_type,
                           profile, MLQ_MAX_GPU_TYPE);
    return 0;
}

int64_t mlq_gpumig_profile_mem(const char *profile)
{
    /* the last ".NNgb" part: "1g.10gb", "1c.3g.40gb", "1g.10gb-me" */
    const char *at = NULL;
    for (const char *p = strchr(profile, '.'); p; p = strchr(p + 1, '.'))
        at = p + 1;
    if (!at || !isdigit((unsigned char)*at))
        return -1;
    long long gib = 0;
    for (; isdigit((unsigned char)*at) && gib < 1000000; at++)
        gib = gib * 10 + (*at - '0');
    if (strncmp(at, "gb", 2) != 0 || gib <= 0 || gib >= 1000000)
        return -1;
    return (int64_t)gib * 1024 * 1024 * 1024;
}

/* ---- nvidia-smi -L ---- */

/* The next space-separated word of *p into w (len bytes); false at the end
 * or when it does not fit. */
static bool word(const char **p, char *w, size_t len)
{
    const char *s = *p;
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strcspn(s, " \t");
    if (n == 0 || n >= len)
        return false;
    memcpy(w, s, n);
    w[n] = '\0';
    *p = s + n;
    return true;
}

/* A decimal number "N" or "N:" (colon wanted: colon must end it). */
static long long number(const char *w, bool colon)
{
    size_t n = strlen(w);
    if (colon && (n < 2 || w[n - 1] != ':'))
        return -1;
    size_t digits = n - (colon ? 1 : 0);
    if (digits == 0 || digits > 6 || strspn(w, "0123456789") != digits)
        return -1;
    long long v = strtoll(w, NULL, 10);
    return v <= LIST_INDEX_MAX ? v : -1;
}

/* The tail "(UUID: X)" of a line into uuid. */
static int uuid_tail(const char *s, char *uuid, const char *what, struct mlq_err *err)
{
    while (*s == ' ' || *s == '\t')
        s++;
    size_t n = strlen(s);
    if (strncmp(s, "(UUID:", 6) != 0 || n < 8 || s[n - 1] != ')')
        return mlq_err_set(err, MLQ_EPROTO, "%s: no \"(UUID: ...)\" at its end", what);
    s += 6;
    while (*s == ' ')
        s++;
    n = strlen(s) - 1;
    if (n == 0 || n > MLQ_GPUMIG_UUID_MAX)
        return mlq_err_set(err, MLQ_EPROTO, "%s: bad UUID", what);
    memcpy(uuid, s, n);
    uuid[n] = '\0';
    if (!mlq_gpumig_uuid_ok(uuid))
        return mlq_err_set(err, MLQ_EPROTO, "%s: bad UUID", what);
    return 0;
}

static bool model_ok(const char *s, size_t n)
{
    if (n == 0 || n > MLQ_GPUMIG_MODEL_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (s[i] < 0x20 || s[i] > 0x7e)
            return false;
    return true;
}

/* "GPU 0: NVIDIA A100-SXM4-80GB (UUID: GPU-...)"; s after "GPU". */
static int gpu_line(struct mlq_gpumig_list *l, const char *s, const char *what, uint64_t *seen,
                    struct mlq_gpumig_gpu **cur, struct mlq_err *err)
{
    char w[WORD_MAX];
    long long index = word(&s, w, sizeof w) ? number(w, true) : -1;
    if (index < 0)
        return mlq_err_set(err, MLQ_EPROTO, "%s: bad GPU index", what);
    const char *paren = strstr(s, " (UUID:");
    if (!paren)
        return mlq_err_set(err, MLQ_EPROTO, "%s: no \"(UUID: ...)\" at its end", what);
    while (*s == ' ')
        s++;
    size_t mlen = (size_t)(paren - s);
    if (!model_ok(s, mlen))
        return mlq_err_set(err, MLQ_EPROTO, "%s: bad GPU name", what);
    if (index >= MLQ_MAX_GPUS) { /* its MIG lines are left out with it */
        l->beyond++;
        *cur = NULL;
        return 0;
    }
    if (*seen & (1ULL << index))
        return mlq_err_set(err, MLQ_EPROTO, "%s: GPU index %lld given twice", what, index);
    if (l->ngpu >= MLQ_GPUMIG_LIST_GPUS)
        return mlq_err_set(err, MLQ_ETOOBIG, "%s: more than %d GPUs", what, MLQ_GPUMIG_LIST_GPUS);
    struct mlq_gpumig_gpu *g = &l->gpu[l->ngpu];
    memset(g, 0, sizeof *g);
    g->index = (int32_t)index;
    memcpy(g->model, s, mlen);
    g->model[mlen] = '\0';
    int rc = uuid_tail(paren, g->uuid, what, err);
    if (rc < 0)
        return rc;
    *seen |= 1ULL << index;
    l->ngpu++;
    *cur = g;
    return 0;
}

/* "MIG 1g.10gb     Device  0: (UUID: MIG-...)"; s after "MIG". */
static int mig_line(struct mlq_gpumig_gpu *g, bool have_gpu, const char *s, const char *what,
                    struct mlq_err *err)
{
    char w[WORD_MAX], prof[MLQ_GPUMIG_PROFILE_MAX + 1], dev[WORD_MAX], num[WORD_MAX];
    struct mlq_err e = {0};
    if (!have_gpu)
        return mlq_err_set(err, MLQ_EPROTO, "%s: a MIG device before any GPU line", what);
    if (!word(&s, w, sizeof w) || profile_norm(w, strlen(w), prof, sizeof prof, &e) < 0)
        return mlq_err_set(err, MLQ_EPROTO, "%s: %s", what, e.msg[0] ? e.msg : "no MIG profile");
    if (!word(&s, dev, sizeof dev) || strcmp(dev, "Device") != 0 || !word(&s, num, sizeof num))
        return mlq_err_set(err, MLQ_EPROTO, "%s: no \"Device N:\" after the profile", what);
    long long k = number(num, true);
    if (!g) /* under a GPU that is left out */
        return k < 0 ? mlq_err_set(err, MLQ_EPROTO, "%s: bad MIG device number", what) : 0;
    if (k != (long long)g->nmig)
        return mlq_err_set(err, MLQ_EPROTO, "%s: MIG device %s where %" PRIu32 " was expected",
                           what, num, g->nmig);
    if (g->nmig >= MLQ_GPUMIG_PER_GPU)
        return mlq_err_set(err, MLQ_ETOOBIG, "%s: more than %d MIG devices on GPU %" PRId32, what,
                           MLQ_GPUMIG_PER_GPU, g->index);
    struct mlq_gpumig_dev *d = &g->mig[g->nmig];
    int rc = uuid_tail(s, d->uuid, what, err);
    if (rc == 0 && strncmp(d->uuid, "MIG-", 4) != 0)
        rc = mlq_err_set(err, MLQ_EPROTO, "%s: a MIG UUID starts with MIG-", what);
    if (rc < 0)
        return rc;
    memcpy(d->profile, prof, sizeof prof);
    g->nmig++;
    return 0;
}

/* One line of -L output (trimmed, not blank). */
static int list_line(struct mlq_gpumig_list *l, const char *s, int lineno, uint64_t *seen,
                     struct mlq_gpumig_gpu **cur, bool *have_gpu, struct mlq_err *err)
{
    char what[48];
    snprintf(what, sizeof what, "nvidia-smi -L line %d", lineno);
    if (strncmp(s, "GPU ", 4) == 0) {
        *have_gpu = true;
        return gpu_line(l, s + 4, what, seen, cur, err);
    }
    if (strncmp(s, "MIG ", 4) == 0)
        return mig_line(*cur, *have_gpu, s + 4, what, err);
    return mlq_err_set(err, MLQ_EPROTO, "%s: neither a GPU nor a MIG device: \"%.40s\"", what, s);
}

int mlq_gpumig_parse_list(const char *text, size_t len, struct mlq_gpumig_list *out,
                          struct mlq_err *err)
{
    memset(out, 0, sizeof *out);
    if (memchr(text, '\0', len))
        return mlq_err_set(err, MLQ_EPROTO, "nvidia-smi -L output holds a NUL byte");
    char line[LIST_LINE_MAX + 1];
    uint64_t seen = 0;
    struct mlq_gpumig_gpu *cur = NULL;
    bool have_gpu = false;
    int rc = 0, lineno = 0;
    for (size_t pos = 0; rc == 0 && pos < len;) {
        const char *nl = memchr(text + pos, '\n', len - pos);
        size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;
        if (++lineno > LIST_LINES_MAX)
            rc = mlq_err_set(err, MLQ_ETOOBIG, "nvidia-smi -L output: more than %d lines",
                             LIST_LINES_MAX);
        else if (n > LIST_LINE_MAX)
            rc = mlq_err_set(err, MLQ_EPROTO, "nvidia-smi -L line %d: longer than %d bytes", lineno,
                             LIST_LINE_MAX);
        else {
            memcpy(line, text + pos, n);
            line[n] = '\0';
            char *s = line;
            while (*s == ' ' || *s == '\t')
                s++;
            size_t k = strlen(s);
            while (k > 0 && (s[k - 1] == ' ' || s[k - 1] == '\t' || s[k - 1] == '\r'))
                s[--k] = '\0';
            if (*s)
                rc = list_line(out, s, lineno, &seen, &cur, &have_gpu, err);
        }
        pos += n + 1;
    }
    if (rc < 0)
        memset(out, 0, sizeof *out);
    return rc;
}

/* ---- CUDA names ---- */

int mlq_gpumig_cuda_join(char *const *names, uint32_t n, char *buf, size_t len, struct mlq_err *err)
{
    size_t used = 0;
    if (len == 0)
        return mlq_err_set(err, MLQ_ETOOBIG, "no room for the CUDA names");
    buf[0] = '\0';
    for (uint32_t i = 0; i < n; i++) {
        if (!names[i] || !mlq_gpumig_uuid_ok(names[i]))
            return mlq_err_set(err, MLQ_EINVAL, "GPU %" PRIu32 ": no CUDA name", i);
        int k = snprintf(buf + used, len - used, "%s%s", i ? "," : "", names[i]);
        if (k < 0 || (size_t)k >= len - used)
            return mlq_err_set(err, MLQ_ETOOBIG, "the CUDA names of %" PRIu32 " GPUs are too long",
                               n);
        used += (size_t)k;
    }
    return 0;
}

/* The name of GPU index id in env: its entry, comma-separated; NULL when
 * env has no such entry. *n gets its length. */
static const char *cuda_entry(const char *env, int32_t id, size_t *n)
{
    const char *p = env;
    for (int32_t i = 0; i < id && p; i++) {
        p = strchr(p, ',');
        if (p)
            p++;
    }
    if (!p)
        return NULL;
    *n = strcspn(p, ",");
    return p;
}

int mlq_gpumig_cuda_pick(const char *env, const int32_t *ids, uint32_t nids, char *buf, size_t len,
                         struct mlq_err *err)
{
    size_t used = 0;
    if (len == 0)
        return mlq_err_set(err, MLQ_ETOOBIG, "no room for CUDA_VISIBLE_DEVICES");
    buf[0] = '\0';
    if (env && strlen(env) > MLQ_GPUMIG_CUDA_ENV_MAX)
        return mlq_err_set(err, MLQ_EINVAL, "%s is longer than %d bytes", MLQ_GPUMIG_CUDA_ENV,
                           MLQ_GPUMIG_CUDA_ENV_MAX);
    for (uint32_t i = 0; i < nids; i++) {
        char name[MLQ_GPUMIG_UUID_MAX + 1];
        size_t n = 0;
        const char *e = NULL;
        if (ids[i] < 0 || ids[i] >= MLQ_MAX_GPUS)
            return mlq_err_set(err, MLQ_EINVAL, "GPU index %" PRId32 " out of range", ids[i]);
        if (env && *env && !(e = cuda_entry(env, ids[i], &n)))
            return mlq_err_set(err, MLQ_EINVAL, "%s names no GPU %" PRId32, MLQ_GPUMIG_CUDA_ENV,
                               ids[i]);
        if (e && (n == 0 || n > MLQ_GPUMIG_UUID_MAX))
            return mlq_err_set(err, MLQ_EINVAL, "%s: bad name of GPU %" PRId32, MLQ_GPUMIG_CUDA_ENV,
                               ids[i]);
        if (e)
            memcpy(name, e, n), name[n] = '\0';
        else
            snprintf(name, sizeof name, "%" PRId32, ids[i]);
        if (!mlq_gpumig_uuid_ok(name))
            return mlq_err_set(err, MLQ_EINVAL, "%s: bad name of GPU %" PRId32, MLQ_GPUMIG_CUDA_ENV,
                               ids[i]);
        int k = snprintf(buf + used, len - used, "%s%s", i ? "," : "", name);
        if (k < 0 || (size_t)k >= len - used)
            return mlq_err_set(err, MLQ_ETOOBIG, "CUDA_VISIBLE_DEVICES too long");
        used += (size_t)k;
    }
    return 0;
}
