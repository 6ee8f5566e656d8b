/* protospec: see protospec.h (private to proto) and proto.h (public part).
 * The checks of a spec's values are in speccheck.c. */
#include "protospec.h"

#include <stdbool.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "arrayspec.h"
#include "speccheck.h"

#define MAX_SIGNAL MLQ_SPEC_MAX_SIGNAL

/* ---- encoding: one table of keys for both forms ----------------------- */

/* How a key's field is held and packed. */
enum key_type {
    KT_STR,   /* char *: nil when NULL */
    KT_I32,   /* int32_t */
    KT_I64,   /* int64_t */
    KT_U32,   /* uint32_t */
    KT_BOOL,  /* bool */
    KT_STRV,  /* char **, its count at n_off: an array (empty when NULL) */
    KT_DEPS,  /* struct mlq_dep *, its count at n_off */
    KT_NODES, /* uint32_t; nil on the wire when 0 (not a gang) */
};

enum {
    KEY_REQUIRED = 1u << 0, /* every spec has it: in both forms, always */
    KEY_WIRE_SET = 1u << 1, /* on the wire only when set, so that a spec
                               without it packs as it did before the key
                               existed (the submit hash of idempotency keys
                               is taken over the wire form) */
};

struct spec_key {
    const char *name;
    size_t name_len;
    enum key_type type;
    size_t off, n_off; /* the field; its count (KT_STRV, KT_DEPS) */
    unsigned flags;
    /* What mlq_protospec_read accepts. An integer: min..max; KT_STR: at
     * most max bytes; KT_STRV: min..max strings of at most len bytes, total
     * bytes together. Nil or absent reads as the default (NULL, 0, false,
     * none), but for the KEY_REQUIRED keys, which must be there. */
    int64_t min, max;
    size_t len, total;
};

#define F(field) offsetof(struct mlq_jobspec, field)
/* Every key of a job spec, in wire order (which the submit hash depends
 * on: append, never reorder). The wire form writes each key (nil, 0 or
 * empty at its default) but the KEY_WIRE_SET ones left at their default;
 * the stored form writes the required keys and then only the others that
 * are set: mlq_protospec_read takes an absent key as its default. A key
 * added here is in both forms, and read back by mlq_protospec_read within
 * the bounds given here. */
#define K(n) n, sizeof n - 1
static const struct spec_key spec_keys[] = {
    {K("name"), KT_STR, F(name), 0, 0, .max = MLQ_MAX_NAME},
    {K("owner"), KT_STR, F(owner), 0, KEY_REQUIRED, .max = MLQ_MAX_NAME},
    {K("argv"), KT_STRV, F(argv), F(argc), KEY_REQUIRED, 1, MLQ_MAX_ARGC, MLQ_MAX_ARGV_BYTES,
     MLQ_MAX_ARGV_BYTES},
    {K("env"), KT_STRV, F(env), F(envc), KEY_REQUIRED, 0, MLQ_MAX_ENVC, MLQ_MAX_ENV_ENTRY,
     MLQ_MAX_ENV_BYTES},
    {K("workdir"), KT_STR, F(workdir), 0, KEY_REQUIRED, .max = MLQ_MAX_PATH},
    {K("cpus_m"), KT_I64, F(cpus_m), 0, KEY_REQUIRED, 1, MLQ_MAX_CPUS_M},
    {K("mem"), KT_I64, F(mem), 0, KEY_REQUIRED, 1, MLQ_MAX_MEM},
    {K("gpus"), KT_I32, F(gpus), 0, KEY_REQUIRED, 0, MLQ_MAX_GPUS},
    {K("retries"), KT_I32, F(retries), 0, 0, 0, MLQ_MAX_RETRIES},
    {K("retry_backoff_ms"), KT_I64, F(retry_backoff_ms), 0, 0, 0, MLQ_MAX_TIME_MS},
    {K("time_limit_ms"), KT_I64, F(time_limit_ms), 0, 0, 0, MLQ_MAX_TIME_MS},
    {K("kill_grace_ms"), KT_I64, F(kill_grace_ms), 0, 0, 0, MLQ_MAX_TIME_MS},
    {K("warn_signal"), KT_I32, F(warn_signal), 0, 0, 0, MAX_SIGNAL},
    {K("warn_before_ms"), KT_I64, F(warn_before_ms), 0, 0, 0, MLQ_MAX_TIME_MS},
    {K("priority"), KT_I32, F(priority), 0, 0, -MLQ_MAX_PRIORITY, MLQ_MAX_PRIORITY},
    {K("pool"), KT_STR, F(pool), 0, 0, .max = MLQ_MAX_NAME},
    {K("require"), KT_STRV, F(require), F(nrequire), 0, 0, MLQ_MAX_LABELS, MLQ_MAX_LABEL_LEN,
     (size_t)MLQ_MAX_LABELS *MLQ_MAX_LABEL_LEN},
    {K("gpu_type"), KT_STR, F(gpu_type), 0, 0, .max = MLQ_MAX_GPU_TYPES},
    {K("gpu_frac"), KT_I32, F(gpu_frac), 0, 0, 0, MLQ_GPU_SHARE_MAX},
    {K("gpu_mem"), KT_I64, F(gpu_mem), 0, 0, 0, MLQ_MAX_MEM},
    {K("deps"), KT_DEPS, F(deps), F(ndeps), 0},
    {K("array"), KT_STR, F(array), 0, 0, .max = MLQ_ARRAYSPEC_MAX_LEN},
    {K("max_running"), KT_U32, F(max_running), 0, 0, 0, MLQ_MAX_ARRAY},
    {K("idempotency_key"), KT_STR, F(idempotency_key), 0, 0, .max = MLQ_MAX_IDEM_KEY},
    {K("nodes"), KT_NODES, F(nodes), 0, 0, 1, MLQ_MAX_NODES},
    {K("image"), KT_STR, F(image), 0, KEY_WIRE_SET, .max = MLQ_MAX_IMAGE},
    {K("inputs"), KT_STRV, F(inputs), F(ninputs), 0, 0, MLQ_MAX_IO_PATHS, MLQ_MAX_PATH,
     (size_t)MLQ_MAX_IO_PATHS *MLQ_MAX_PATH},
    {K("outputs"), KT_STRV, F(outputs), F(noutputs), 0, 0, MLQ_MAX_IO_PATHS, MLQ_MAX_PATH,
     (size_t)MLQ_MAX_IO_PATHS *MLQ_MAX_PATH},
    {K("held_by"), KT_STR, F(held_by), 0, 0, .max = MLQ_MAX_NAME},
    {K("held_ms"), KT_I64, F(held_ms), 0, 0, 0, INT64_MAX},
    {K("stdout_file"), KT_STR, F(stdout_file), 0, 0, .max = MLQ_MAX_PATH},
    {K("stderr_file"), KT_STR, F(stderr_file), 0, 0, .max = MLQ_MAX_PATH},
    {K("team"), KT_STR, F(team), 0, 0, .max = MLQ_MAX_NAME},
    {K("project"), KT_STR, F(project), 0, 0, .max = MLQ_MAX_PROJECT},
    /* preemption: the note is how a decision survives a restart */
    {K("preempt_grace_ms"), KT_I64, F(preempt_grace_ms), 0, KEY_WIRE_SET, 0, MLQ_MAX_TIME_MS},
    {K("min_runtime_ms"), KT_I64, F(min_runtime_ms), 0, KEY_WIRE_SET, 0, MLQ_MAX_TIME_MS},
    {K("no_preempt"), KT_BOOL, F(no_preempt), 0, KEY_WIRE_SET},
    {K("preemptions"), KT_I32, F(preemptions), 0, KEY_WIRE_SET, 0, INT32_MAX},
    {K("preempt_note"), KT_STR, F(preempt_note), 0, KEY_WIRE_SET, .max = MLQ_MAX_STR},
};
#undef K
#undef F
#define NKEYS (sizeof spec_keys / sizeof spec_keys[0])

size_t mlq_protospec_key_count(void)
{
    return NKEYS;
}

const char *mlq_protospec_key_name(size_t i)
{
    return i < NKEYS ? spec_keys[i].name : NULL;
}

static const void *field(const struct mlq_jobspec *s, size_t off)
{
    return (const char *)s + off;
}

static uint32_t count_at(const struct mlq_jobspec *s, const struct spec_key *k)
{
    return *(const uint32_t *)field(s, k->n_off);
}

/* Whether the key's value is other than its default (absent). */
static bool key_set(const struct mlq_jobspec *s, const struct spec_key *k)
{
    const void *f = field(s, k->off);
    switch (k->type) {
    case KT_STR:
        return *(char *const *)f != NULL;
    case KT_I32:
        return *(const int32_t *)f != 0;
    case KT_I64:
        return *(const int64_t *)f != 0;
    case KT_U32:
    case KT_NODES:
        return *(const uint32_t *)f != 0;
    case KT_BOOL:
        return *(const bool *)f;
    case KT_STRV:
    case KT_DEPS:
        return *(void *const *)f != NULL && count_at(s, k) > 0;
    }
    return false;
}

static void put_key(msgpack_packer *pk, const struct mlq_jobspec *s, const struct spec_key *k)
{
    const void *f = field(s, k->off);
    switch (k->type) {
    case KT_STR:
        mlq_mpk_kv_str(pk, k->name, *(char *const *)f);
        break;
    case KT_I32:
        mlq_mpk_kv_int(pk, k->name, *(const int32_t *)f);
        break;
    case KT_I64:
        mlq_mpk_kv_int(pk, k->name, *(const int64_t *)f);
        break;
    case KT_U32:
        mlq_mpk_kv_uint(pk, k->name, *(const uint32_t *)f);
        break;
    case KT_BOOL:
        mlq_mpk_kv_bool(pk, k->name, *(const bool *)f);
        break;
    case KT_STRV:
        mlq_mpk_kv_strv(pk, k->name, *(char **const *)f, count_at(s, k));
        break;
    case KT_DEPS:
        mlq_protospec_put_deps(pk, k->name, *(struct mlq_dep *const *)f, count_at(s, k));
        break;
    case KT_NODES:
        mlq_mpk_put_str(pk, k->name);
        if (*(const uint32_t *)f > 0)
            msgpack_pack_uint32(pk, *(const uint32_t *)f);
        else
            msgpack_pack_nil(pk);
        break;
    }
}

static bool on_wire(const struct mlq_jobspec *s, const struct spec_key *k)
{
    return !(k->flags & KEY_WIRE_SET) || key_set(s, k);
}

/* In the stored form, pass 0: the required keys; pass 1: the others set. */
static bool stored_in(const struct mlq_jobspec *s, const struct spec_key *k, int pass)
{
    return pass == 0 ? (k->flags & KEY_REQUIRED) != 0 : !(k->flags & KEY_REQUIRED) && key_set(s, k);
}

void mlq_protospec_put(msgpack_packer *pk, const struct mlq_jobspec *s)
{
    uint32_t n = 0;
    for (size_t i = 0; i < NKEYS; i++)
        n += on_wire(s, &spec_keys[i]);
    msgpack_pack_map(pk, n);
    for (size_t i = 0; i < NKEYS; i++)
        if (on_wire(s, &spec_keys[i]))
            put_key(pk, s, &spec_keys[i]);
}

void mlq_protospec_put_stored(msgpack_packer *pk, const struct mlq_jobspec *s)
{
    bool in[NKEYS]; /* whether each key is stored: key_set once a key */
    uint32_t n = 0;
    for (size_t i = 0; i < NKEYS; i++) {
        in[i] = stored_in(s, &spec_keys[i], 0) || stored_in(s, &spec_keys[i], 1);
        n += in[i];
    }
    msgpack_pack_map(pk, n);
    for (int pass = 0; pass < 2; pass++)
        for (size_t i = 0; i < NKEYS; i++)
            if (in[i] && ((spec_keys[i].flags & KEY_REQUIRED) != 0) == (pass == 0))
                put_key(pk, s, &spec_keys[i]);
}

static const char *const dep_kind_names[] = {"ok", "any", "failed"};

void mlq_protospec_put_deps(msgpack_packer *pk, const char *key, const struct mlq_dep *d,
                            uint32_t n)
{
    mlq_mpk_kv_array(pk, key, d ? n : 0);
    for (uint32_t i = 0; d && i < n; i++) {
        msgpack_pack_map(pk, 2);
        mlq_mpk_kv_str(pk, "target", d[i].target);
        mlq_mpk_kv_str(pk, "kind", mlq_proto_dep_kind_name(d[i].kind));
    }
}

const char *mlq_proto_dep_kind_name(enum mlq_dep_kind k)
{
    return (unsigned)k < sizeof dep_kind_names / sizeof dep_kind_names[0] ? dep_kind_names[k] : "?";
}

static int read_dep(const struct mlq_mpk_map *m, bool full, struct mlq_dep *d)
{
    int kind = 0;
    int rc = full ? mlq_mpk_read_id(m, "target", d->target)
                  : mlq_mpk_read_strbuf(m, "target", d->target, MLQ_ID_LEN);
    if (rc == 0 && !full && !mlq_proto_dep_target_ok(d->target))
        rc = mlq_err_set(m->err, MLQ_EPROTO,
                         "%s: key 'target' must be a job or array id (prefix), or ARRAY/N",
                         m->where);
    if (rc == 0)
        rc = mlq_mpk_read_enum(m, "kind", dep_kind_names, 3, false, &kind);
    d->kind = rc == 0 ? (enum mlq_dep_kind)kind : MLQ_DEP_OK;
    return rc;
}

static int deps_val(const struct mlq_mpk_map *m, const char *key, const msgpack_object *o,
                    bool full, struct mlq_dep **out, uint32_t *n)
{
    const msgpack_object_array *a;
    *out = NULL;
    *n = 0;
    if (!o || o->type == MSGPACK_OBJECT_NIL)
        return 0;
    int rc = mlq_mpk_val_array(m, key, o, 0, MLQ_MAX_DEPS, &a);
    if (rc < 0 || a->size == 0)
        return rc;
    *out = calloc(a->size, sizeof **out);
    if (!*out)
        return mlq_err_set(m->err, MLQ_ENOMEM, "%s: out of memory", m->where);
    *n = a->size;
    for (uint32_t i = 0; i < a->size && rc == 0; i++) {
        struct mlq_mpk_map dm;
        rc = mlq_mpk_map_init(&dm, &a->ptr[i], "dep", m->err);
        if (rc == 0)
            rc = read_dep(&dm, full, &(*out)[i]);
    }
    if (rc < 0) {
        free(*out);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

int mlq_protospec_read_deps(const struct mlq_mpk_map *m, const char *key, bool full,
                            struct mlq_dep **out, uint32_t *n)
{
    return deps_val(m, key, mlq_mpk_get(m, key), full, out, n);
}

/* The table index of the key k names, -1 when none: the search starts
 * where the previous key matched (both forms write the keys in table
 * order, so the next one is a step or a few away) and goes round once. */
static int key_index(const msgpack_object *k, size_t *cursor)
{
    if (k->type != MSGPACK_OBJECT_STR)
        return -1;
    for (size_t step = 0; step < NKEYS; step++) {
        size_t i = (*cursor + step) % NKEYS;
        if (spec_keys[i].name_len == k->via.str.size &&
            memcmp(spec_keys[i].name, k->via.str.ptr, k->via.str.size) == 0) {
            *cursor = i + 1;
            return (int)i;
        }
    }
    return -1;
}

static bool absent(const msgpack_object *o)
{
    return !o || o->type == MSGPACK_OBJECT_NIL;
}

/* An integer key (required or not) into its field. */
static int read_int_key(const struct mlq_mpk_map *m, const struct spec_key *k,
                        const msgpack_object *o, void *f)
{
    int64_t v = 0;
    uint64_t u = 0;
    int rc = 0;
    if (k->type == KT_U32 || k->type == KT_NODES) {
        rc = absent(o) ? 0
                       : mlq_mpk_val_uint(m, k->name, o,
                                          k->type == KT_U32 ? (uint64_t)k->max : UINT32_MAX, &u);
        if (rc == 0 && k->type == KT_NODES && !absent(o) &&
            (u < (uint64_t)k->min || u > (uint64_t)k->max))
            rc = mlq_err_set(m->err, MLQ_EPROTO, "%s: key 'nodes': nodes must be 1 to %d", m->where,
                             MLQ_MAX_NODES);
        *(uint32_t *)f = (uint32_t)u;
        return rc;
    }
    if (!(k->flags & KEY_REQUIRED) && absent(o))
        v = 0;
    else
        rc = mlq_mpk_val_int(m, k->name, o, k->min, k->max, &v);
    if (k->type == KT_I32)
        *(int32_t *)f = (int32_t)v;
    else
        *(int64_t *)f = v;
    return rc;
}

/* Key k's value o (NULL: absent) into its field of s. */
static int read_key(const struct mlq_mpk_map *m, const struct spec_key *k, const msgpack_object *o,
                    struct mlq_jobspec *s)
{
    void *f = (char *)s + k->off;
    bool required = (k->flags & KEY_REQUIRED) != 0;
    switch (k->type) {
    case KT_STR:
        return mlq_mpk_val_str(m, k->name, o, (size_t)k->max, !required, (char **)f);
    case KT_STRV:
        if (!required && absent(o))
            return 0;
        return mlq_mpk_val_strv(m, k->name, o, (uint32_t)k->min, (uint32_t)k->max, k->len, k->total,
                                (char ***)f, (uint32_t *)((char *)s + k->n_off));
    case KT_DEPS:
        return deps_val(m, k->name, o, false, (struct mlq_dep **)f,
                        (uint32_t *)((char *)s + k->n_off));
    case KT_BOOL:
        *(bool *)f = false;
        return absent(o) ? 0 : mlq_mpk_val_bool(m, k->name, o, (bool *)f);
    case KT_I32:
    case KT_I64:
    case KT_U32:
    case KT_NODES:
        return read_int_key(m, k, o, f);
    }
    return 0;
}

/* One walk of the map finds each key's value (the first entry of a key
 * counts, as mlq_mpk_get's; unknown keys are ignored), then the keys are
 * read in table order. Decoded specs obey the same rules as user input; a
 * violation is a protocol error here because a well-behaved sender checks
 * before sending. */
int mlq_protospec_read(const struct mlq_mpk_map *m, struct mlq_jobspec *s)
{
    const msgpack_object *vals[NKEYS] = {0};
    size_t cursor = 0;
    for (uint32_t i = 0; i < m->map->size; i++) {
        int k = key_index(&m->map->ptr[i].key, &cursor);
        if (k >= 0 && !vals[k])
            vals[k] = &m->map->ptr[i].val;
    }
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < NKEYS; i++)
        rc = read_key(m, &spec_keys[i], vals[i], s);
    struct mlq_err e;
    if (rc == 0 && mlq_proto_jobspec_check(s, &e) < 0)
        rc = mlq_err_set(m->err, MLQ_EPROTO, "%s", e.msg);
    return rc;
}

int mlq_protospec_read_at(const struct mlq_mpk_map *m, const char *key, struct mlq_jobspec *s)
{
    struct mlq_mpk_map sub;
    int rc = mlq_mpk_read_map(m, key, key, &sub);
    if (rc == 0)
        rc = mlq_protospec_read(&sub, s);
    if (rc < 0)
        mlq_proto_jobspec_free(s);
    return rc;
}

/* ---- free and copy ------------------------------------------------------ */

void mlq_proto_jobspec_free(struct mlq_jobspec *spec)
{
    if (!spec)
        return;
    free(spec->name);
    free(spec->owner);
    mlq_mpk_strv_free(spec->argv, spec->argc);
    mlq_mpk_strv_free(spec->env, spec->envc);
    free(spec->workdir);
    free(spec->pool);
    mlq_mpk_strv_free(spec->require, spec->nrequire);
    free(spec->gpu_type);
    free(spec->deps);
    free(spec->array);
    free(spec->idempotency_key);
    free(spec->image);
    mlq_mpk_strv_free(spec->inputs, spec->ninputs);
    mlq_mpk_strv_free(spec->outputs, spec->noutputs);
    free(spec->held_by);
    free(spec->stdout_file);
    free(spec->stderr_file);
    free(spec->team);
    free(spec->project);
    free(spec->preempt_note);
    memset(spec, 0, sizeof *spec);
}

static int dup_opt(char **dst, const char *src)
{
    *dst = NULL;
    if (!src)
        return 0;
    *dst = strdup(src);
    return *dst ? 0 : -1;
}

static int dup_strv(char ***dst, char *const *src, uint32_t n)
{
    *dst = NULL;
    if (!src || n == 0)
        return 0;
    *dst = calloc(n, sizeof **dst);
    if (!*dst)
        return -1;
    for (uint32_t i = 0; i < n; i++)
        if (dup_opt(&(*dst)[i], src[i]) < 0)
            return -1;
    return 0;
}

static int dup_deps(struct mlq_jobspec *dst, const struct mlq_jobspec *src)
{
    if (!src->deps || src->ndeps == 0)
        return 0;
    dst->deps = calloc(src->ndeps, sizeof *dst->deps);
    if (!dst->deps)
        return -1;
    memcpy(dst->deps, src->deps, src->ndeps * sizeof *dst->deps);
    dst->ndeps = src->ndeps;
    return 0;
}

int mlq_proto_jobspec_copy(struct mlq_jobspec *dst, const struct mlq_jobspec *src,
                           struct mlq_err *err)
{
    memset(dst, 0, sizeof *dst);
    dst->cpus_m = src->cpus_m;
    dst->mem = src->mem;
    dst->gpus = src->gpus;
    dst->gpu_frac = src->gpu_frac;
    dst->gpu_mem = src->gpu_mem;
    dst->retries = src->retries;
    dst->retry_backoff_ms = src->retry_backoff_ms;
    dst->time_limit_ms = src->time_limit_ms;
    dst->kill_grace_ms = src->kill_grace_ms;
    dst->warn_signal = src->warn_signal;
    dst->warn_before_ms = src->warn_before_ms;
    dst->priority = src->priority;
    dst->max_running = src->max_running;
    dst->nodes = src->nodes;
    dst->held_ms = src->held_ms;
    dst->preempt_grace_ms = src->preempt_grace_ms;
    dst->min_runtime_ms = src->min_runtime_ms;
    dst->no_preempt = src->no_preempt;
    dst->preemptions = src->preemptions;
    /* counts first, so a failure half way frees exactly what was copied */
    dst->argc = src->argv ? src->argc : 0;
    dst->envc = src->env ? src->envc : 0;
    dst->nrequire = src->require ? src->nrequire : 0;
    dst->ninputs = src->inputs ? src->ninputs : 0;
    dst->noutputs = src->outputs ? src->noutputs : 0;
    if (dup_opt(&dst->name, src->name) < 0 || dup_opt(&dst->owner, src->owner) < 0 ||
        dup_opt(&dst->workdir, src->workdir) < 0 || dup_strv(&dst->argv, src->argv, dst->argc) ||
        dup_strv(&dst->env, src->env, dst->envc) < 0 || dup_opt(&dst->pool, src->pool) < 0 ||
        dup_strv(&dst->require, src->require, dst->nrequire) < 0 ||
        dup_opt(&dst->gpu_type, src->gpu_type) < 0 || dup_opt(&dst->array, src->array) < 0 ||
        dup_opt(&dst->idempotency_key, src->idempotency_key) < 0 || dup_deps(dst, src) < 0 ||
        dup_opt(&dst->image, src->image) < 0 ||
        dup_strv(&dst->inputs, src->inputs, dst->ninputs) < 0 ||
        dup_strv(&dst->outputs, src->outputs, dst->noutputs) < 0 ||
        dup_opt(&dst->held_by, src->held_by) < 0 ||
        dup_opt(&dst->stdout_file, src->stdout_file) < 0 ||
        dup_opt(&dst->stderr_file, src->stderr_file) < 0 || dup_opt(&dst->team, src->team) < 0 ||
        dup_opt(&dst->project, src->project) < 0 ||
        dup_opt(&dst->preempt_note, src->preempt_note) < 0) {
        mlq_proto_jobspec_free(dst);
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory copying a job spec");
    }
    return 0;
}
