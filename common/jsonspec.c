/* jsonspec: see jsonspec.h. Sizes are bounded by bounds.h before anything
 * is copied. */
#include "jsonspec.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "envname.h"
#include "mpk.h"
#include "res.h"

/* The groups of keys mlq_jsonspec_apply reads together: a group none of
 * whose keys the object has is skipped (most lines name a few keys; each
 * lookup hashes its key). */
enum key_group {
    G_BASE = 1 << 0, /* argv, name, workdir: always looked at */
    G_ENV = 1 << 1,
    G_RES = 1 << 2,
    G_LIMIT = 1 << 3,
    G_PIPE = 1 << 4,
    G_IO = 1 << 5,
    G_IMAGE = 1 << 6,
};

static const struct {
    const char *name;
    unsigned group;
} known[] = {
    {"argv", G_BASE},
    {"name", G_BASE},
    {"workdir", G_BASE},
    {"env", G_ENV},
    {"cpus", G_RES},
    {"mem", G_RES},
    {"gpus", G_RES},
    {"gpu_type", G_RES},
    {"pool", G_RES},
    {"require", G_RES},
    {"priority", G_RES},
    {"retries", G_LIMIT},
    {"retry_backoff", G_LIMIT},
    {"time_limit", G_LIMIT},
    {"kill_grace", G_LIMIT},
    {"warn_signal", G_LIMIT},
    {"warn_before", G_LIMIT},
    {"after", G_PIPE},
    {"after_any", G_PIPE},
    {"after_failed", G_PIPE},
    {"array", G_PIPE},
    {"max_running", G_PIPE},
    {"idempotency_key", G_PIPE},
    {"nodes", G_RES},
    {"gpu_share", G_RES},
    {"gpu_mem", G_RES},
    {"inputs", G_IO},
    {"outputs", G_IO},
    {"project", G_RES},
    {"image", G_IMAGE},
    {"preempt_grace", G_LIMIT},
    {"min_runtime", G_LIMIT},
    {"no_preempt", G_LIMIT},
};

static int str_key(const json_t *o, const char *key, size_t max, char **out, struct mlq_err *err)
{
    const json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v))
        return mlq_err_set(err, MLQ_EINVAL, "%s must be a string", key);
    if (json_string_length(v) > max || strlen(json_string_value(v)) != json_string_length(v))
        return mlq_err_set(err, MLQ_EINVAL, "%s is at most %zu bytes, without NUL", key, max);
    char *s = strdup(json_string_value(v));
    if (!s)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    free(*out); /* replaces the default */
    *out = s;
    return 0;
}

static int int_key(const json_t *o, const char *key, int64_t min, int64_t max, int64_t *out,
                   struct mlq_err *err)
{
    const json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_integer(v) || json_integer_value(v) < min || json_integer_value(v) > max)
        return mlq_err_set(err, MLQ_EINVAL, "%s must be a whole number from %lld to %lld", key,
                           (long long)min, (long long)max);
    *out = json_integer_value(v);
    return 0;
}

/* Seconds as a number, or a duration string ("30s", "2h"). */
static int dur_key(const json_t *o, const char *key, int64_t *out_ms, struct mlq_err *err)
{
    const json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return 0;
    if (json_is_integer(v) && json_integer_value(v) >= 0 &&
        json_integer_value(v) <= MLQ_MAX_TIME_MS / 1000) {
        *out_ms = json_integer_value(v) * 1000;
        return 0;
    }
    struct mlq_err e;
    if (json_is_string(v) && json_string_length(v) < 32 &&
        mlq_res_parse_duration(json_string_value(v), out_ms, &e) == 0)
        return 0;
    return mlq_err_set(err, MLQ_EINVAL, "%s must be seconds or a duration such as 30s or 2h", key);
}

/* An array of strings into a new vector. */
static int strv_key(const json_t *o, const char *key, uint32_t maxn, size_t maxlen, char ***out,
                    uint32_t *n, struct mlq_err *err)
{
    const json_t *v = json_object_get(o, key);
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_array(v) || json_array_size(v) > maxn)
        return mlq_err_set(err, MLQ_EINVAL, "%s must be an array of at most %u strings", key, maxn);
    size_t cnt = json_array_size(v);
    char **vec = calloc(cnt ? cnt : 1, sizeof *vec);
    if (!vec)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    mlq_mpk_strv_free(*out, *n); /* a line's value replaces the default */
    *out = vec;
    *n = 0;
    for (size_t i = 0; i < cnt; i++) {
        const json_t *s = json_array_get(v, i);
        if (!json_is_string(s) || json_string_length(s) > maxlen ||
            strlen(json_string_value(s)) != json_string_length(s))
            return mlq_err_set(err, MLQ_EINVAL, "%s[%zu] must be a string of at most %zu bytes",
                               key, i, maxlen);
        if (!(vec[i] = strdup(json_string_value(s))))
            return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
        (*n)++;
    }
    return 0;
}

static int env_key(const json_t *o, struct mlq_jobspec *spec, struct mlq_err *err)
{
    const json_t *v = json_object_get(o, "env");
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_object(v) || json_object_size(v) > MLQ_ENV_USER_MAX_C)
        return mlq_err_set(err, MLQ_EINVAL, "env must be an object of at most %d strings",
                           MLQ_ENV_USER_MAX_C);
    mlq_mpk_strv_free(spec->env, spec->envc);
    spec->envc = 0;
    spec->env = calloc(json_object_size(v) + 1, sizeof *spec->env);
    if (!spec->env)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    const char *k;
    const json_t *val;
    json_object_foreach((json_t *)v, k, val)
    {
        if (!mlq_envname_valid(k, strlen(k)))
            return mlq_err_set(err, MLQ_EINVAL,
                               "env: '%.40s' is not a variable name (letters, digits and _, not "
                               "starting with a digit)",
                               k);
        if (!json_is_string(val) || strlen(k) + json_string_length(val) + 1 > MLQ_MAX_ENV_ENTRY ||
            strlen(json_string_value(val)) != json_string_length(val))
            return mlq_err_set(err, MLQ_EINVAL, "env.%.40s must be a string of at most %d bytes", k,
                               MLQ_MAX_ENV_ENTRY);
        size_t len = strlen(k) + json_string_length(val) + 2;
        char *kv = malloc(len);
        if (!kv)
            return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
        snprintf(kv, len, "%s=%s", k, json_string_value(val));
        spec->env[spec->envc++] = kv;
    }
    return mlq_envname_check_user(spec->env, spec->envc, err);
}

static int deps_key(const json_t *o, const char *key, enum mlq_dep_kind kind,
                    struct mlq_jobspec *spec, struct mlq_err *err)
{
    char **v = NULL;
    uint32_t n = 0;
    int rc = strv_key(o, key, MLQ_MAX_DEPS, MLQ_ID_LEN, &v, &n, err);
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        if (spec->ndeps >= MLQ_MAX_DEPS)
            rc = mlq_err_set(err, MLQ_EINVAL, "at most %d dependencies", MLQ_MAX_DEPS);
        else if (!mlq_proto_dep_target_ok(v[i]))
            rc = mlq_err_set(err, MLQ_EINVAL, "%s[%u] is not a job or array id", key, i);
        if (rc == 0) {
            struct mlq_dep *d = &spec->deps[spec->ndeps++];
            snprintf(d->target, sizeof d->target, "%s", v[i]);
            d->kind = kind;
        }
    }
    mlq_mpk_strv_free(v, n);
    return rc;
}

static int size_key(const json_t *o, const char *key, int64_t *out, struct mlq_err *err)
{
    const json_t *v = json_object_get(o, key);
    struct mlq_err e;
    if (!v || json_is_null(v))
        return 0;
    if (json_is_integer(v) && json_integer_value(v) > 0 && json_integer_value(v) <= MLQ_MAX_MEM) {
        *out = json_integer_value(v);
        return 0;
    }
    if (json_is_string(v) && json_string_length(v) < 32 &&
        mlq_res_parse_mem(json_string_value(v), out, &e) == 0)
        return 0;
    return mlq_err_set(err, MLQ_EINVAL, "%s must be bytes or a size such as 512M or 4G", key);
}

static int mem_key(const json_t *o, struct mlq_jobspec *spec, struct mlq_err *err)
{
    return size_key(o, "mem", &spec->mem, err);
}

/* "gpu_share": a share of one GPU as text, "0.25" (as --gpus takes it). */
static int share_key(const json_t *o, struct mlq_jobspec *spec, struct mlq_err *err)
{
    const json_t *v = json_object_get(o, "gpu_share");
    struct mlq_err e;
    int32_t whole = 0;
    if (!v || json_is_null(v))
        return 0;
    if (!json_is_string(v) || json_string_length(v) > 8 ||
        mlq_res_parse_gpu_amount(json_string_value(v), &whole, &spec->gpu_frac, &e) < 0 ||
        whole != 0 || spec->gpu_frac == 0)
        return mlq_err_set(err, MLQ_EINVAL,
                           "gpu_share must be a share of one GPU as text, from \"0.01\" to "
                           "\"0.99\"");
    return 0;
}

/* Refuses a key that is not known; *groups: those the object's keys are in. */
static int check_keys(const json_t *o, unsigned *groups, struct mlq_err *err)
{
    const char *k;
    const json_t *v;
    *groups = G_BASE;
    json_object_foreach((json_t *)o, k, v)
    {
        size_t i = 0;
        while (i < sizeof known / sizeof known[0] && strcmp(k, known[i].name) != 0)
            i++;
        if (i == sizeof known / sizeof known[0])
            return mlq_err_set(err, MLQ_EINVAL, "unknown key \"%.40s\"", k);
        *groups |= known[i].group;
    }
    return 0;
}

/* after / after_any / after_failed: when the object names any of them,
 * they replace the dependencies spec had. */
static int deps_keys(const json_t *o, struct mlq_jobspec *spec, struct mlq_err *err)
{
    static const char *const keys[] = {"after", "after_any", "after_failed"};
    bool any = false;
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++) {
        const json_t *v = json_object_get(o, keys[i]);
        any = any || (v && !json_is_null(v));
    }
    if (!any)
        return 0;
    if (!spec->deps && !(spec->deps = calloc(MLQ_MAX_DEPS, sizeof *spec->deps)))
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    spec->ndeps = 0;
    int rc = deps_key(o, "after", MLQ_DEP_OK, spec, err);
    if (rc == 0)
        rc = deps_key(o, "after_any", MLQ_DEP_ANY, spec, err);
    if (rc == 0)
        rc = deps_key(o, "after_failed", MLQ_DEP_FAILED, spec, err);
    if (rc == 0 && spec->ndeps == 0) {
        free(spec->deps);
        spec->deps = NULL;
    }
    return rc;
}

static int cpus_key(const json_t *o, struct mlq_jobspec *spec, struct mlq_err *err)
{
    const json_t *cpus = json_object_get(o, "cpus");
    if (!cpus || json_is_null(cpus))
        return 0;
    double c = json_number_value(cpus);
    if (!json_is_number(cpus) || c <= 0 || c > 100000)
        return mlq_err_set(err, MLQ_EINVAL, "cpus must be a positive number such as 0.5 or 4");
    spec->cpus_m = (int64_t)(c * 1000 + 0.5);
    return 0;
}

/* The number keys of a whole int32 range given here. */
static int i32_key(const json_t *o, const char *key, int64_t min, int64_t max, int32_t *out,
                   struct mlq_err *err)
{
    int64_t v = *out;
    int rc = int_key(o, key, min, max, &v, err);
    if (rc == 0)
        *out = (int32_t)v;
    return rc;
}

static int resource_keys(const json_t *o, struct mlq_jobspec *spec, struct mlq_err *err)
{
    int rc = cpus_key(o, spec, err);
    if (rc == 0)
        rc = mem_key(o, spec, err);
    if (rc == 0)
        rc = i32_key(o, "gpus", 0, MLQ_MAX_GPUS, &spec->gpus, err);
    if (rc == 0)
        rc = str_key(o, "gpu_type", MLQ_MAX_GPU_TYPES, &spec->gpu_type, err);
    if (rc == 0)
        rc = share_key(o, spec, err);
    if (rc == 0)
        rc = size_key(o, "gpu_mem", &spec->gpu_mem, err);
    if (rc == 0)
        rc = str_key(o, "pool", MLQ_MAX_NAME, &spec->pool, err);
    if (rc == 0) /* checked with the whole spec on submit */
        rc = str_key(o, "project", MLQ_MAX_PROJECT, &spec->project, err);
    if (rc == 0)
        rc = strv_key(o, "require", MLQ_MAX_LABELS, MLQ_MAX_LABEL_LEN, &spec->require,
                      &spec->nrequire, err);
    if (rc == 0)
        rc = i32_key(o, "priority", -MLQ_MAX_PRIORITY, MLQ_MAX_PRIORITY, &spec->priority, err);
    int64_t v = spec->nodes;
    if (rc == 0 && (rc = int_key(o, "nodes", 1, MLQ_MAX_NODES, &v, err)) == 0)
        spec->nodes = (uint32_t)v; /* a gang (absent: not one) */
    return rc;
}

static int limit_keys(const json_t *o, struct mlq_jobspec *spec, struct mlq_err *err)
{
    int rc = i32_key(o, "retries", 0, MLQ_MAX_RETRIES, &spec->retries, err);
    if (rc == 0)
        rc = dur_key(o, "retry_backoff", &spec->retry_backoff_ms, err);
    if (rc == 0)
        rc = dur_key(o, "time_limit", &spec->time_limit_ms, err);
    if (rc == 0)
        rc = dur_key(o, "kill_grace", &spec->kill_grace_ms, err);
    if (rc == 0)
        rc = i32_key(o, "warn_signal", 0, 64, &spec->warn_signal, err);
    if (rc == 0)
        rc = dur_key(o, "warn_before", &spec->warn_before_ms, err);
    if (rc == 0)
        rc = dur_key(o, "preempt_grace", &spec->preempt_grace_ms, err);
    if (rc == 0)
        rc = dur_key(o, "min_runtime", &spec->min_runtime_ms, err);
    const json_t *np = json_object_get(o, "no_preempt");
    if (rc == 0 && np && !json_is_null(np) && !json_is_boolean(np))
        rc = mlq_err_set(err, MLQ_EINVAL, "no_preempt must be true or false");
    if (rc == 0 && np && json_is_boolean(np))
        spec->no_preempt = json_is_true(np);
    return rc;
}

/* The run manifest's declared files (--input, --output). */
static int io_keys(const json_t *o, struct mlq_jobspec *spec, struct mlq_err *err)
{
    int rc =
        strv_key(o, "inputs", MLQ_MAX_IO_PATHS, MLQ_MAX_PATH, &spec->inputs, &spec->ninputs, err);
    if (rc == 0)
        rc = strv_key(o, "outputs", MLQ_MAX_IO_PATHS, MLQ_MAX_PATH, &spec->outputs, &spec->noutputs,
                      err);
    return rc;
}

static int pipeline_keys(const json_t *o, struct mlq_jobspec *spec, struct mlq_err *err)
{
    int rc = deps_keys(o, spec, err);
    if (rc == 0)
        rc = str_key(o, "array", 64, &spec->array, err);
    int64_t v = spec->max_running;
    if (rc == 0 && (rc = int_key(o, "max_running", 0, UINT32_MAX, &v, err)) == 0)
        spec->max_running = (uint32_t)v;
    if (rc == 0)
        rc = str_key(o, "idempotency_key", MLQ_MAX_IDEM_KEY, &spec->idempotency_key, err);
    if (rc == 0 && spec->idempotency_key && json_object_get(o, "idempotency_key"))
        rc = mlq_proto_idem_key_check(spec->idempotency_key, err);
    return rc;
}

int mlq_jsonspec_apply(const json_t *o, struct mlq_jobspec *spec, struct mlq_err *err)
{
    if (!json_is_object(o))
        return mlq_err_set(err, MLQ_EINVAL, "a job must be a JSON object");
    unsigned g = 0;
    int rc = check_keys(o, &g, err);
    const json_t *argv = json_object_get(o, "argv");
    if (rc == 0 && argv && !json_is_null(argv) &&
        (!json_is_array(argv) || json_array_size(argv) == 0))
        rc = mlq_err_set(err, MLQ_EINVAL, "argv must be a non-empty array of strings");
    if (rc == 0)
        rc = strv_key(o, "argv", MLQ_MAX_ARGC, MLQ_MAX_STR, &spec->argv, &spec->argc, err);
    if (rc == 0 && spec->argc == 0)
        rc = mlq_err_set(err, MLQ_EINVAL, "argv must be a non-empty array of strings");
    if (rc == 0)
        rc = str_key(o, "name", MLQ_MAX_NAME, &spec->name, err);
    if (rc == 0)
        rc = str_key(o, "workdir", MLQ_MAX_PATH, &spec->workdir, err);
    if (rc == 0 && (g & G_ENV))
        rc = env_key(o, spec, err);
    if (rc == 0 && (g & G_RES))
        rc = resource_keys(o, spec, err);
    if (rc == 0 && (g & G_LIMIT))
        rc = limit_keys(o, spec, err);
    if (rc == 0 && (g & G_PIPE))
        rc = pipeline_keys(o, spec, err);
    if (rc == 0 && (g & G_IO))
        rc = io_keys(o, spec, err);
    if (rc == 0 && (g & G_IMAGE)) /* checked with the whole spec (mlq_proto_image_check) */
        rc = str_key(o, "image", MLQ_MAX_IMAGE, &spec->image, err);
    return rc;
}
