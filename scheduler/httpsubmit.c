/* httpsubmit: one JSON submission into a job spec. Every `mlq submit`
 * option has a key (docs/openapi.yaml, JobSubmit); unknown keys and wrong
 * types are refused with a message naming the key, and the spec then goes
 * through the same checks as the CLI's (mlq_proto_jobspec_check, in the
 * loop's submit handler). Sizes are bounded by bounds.h before anything is
 * copied. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "httpint.h"
#include "mpk.h"
#include "res.h"

static const char *const known[] = {
    "argv",        "name",        "workdir",         "env",        "cpus",
    "mem",         "gpus",        "gpu_type",        "pool",       "require",
    "priority",    "retries",     "retry_backoff",   "time_limit", "kill_grace",
    "warn_signal", "warn_before", "after",           "after_any",  "after_failed",
    "array",       "max_running", "idempotency_key", "nodes",      "image",
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
    if (!(*out = strdup(json_string_value(v))))
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
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
    if (!json_is_object(v) || json_object_size(v) > MLQ_MAX_ENVC)
        return mlq_err_set(err, MLQ_EINVAL, "env must be an object of at most %d strings",
                           MLQ_MAX_ENVC);
    spec->env = calloc(json_object_size(v) + 1, sizeof *spec->env);
    if (!spec->env)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    const char *k;
    const json_t *val;
    json_object_foreach((json_t *)v, k, val)
    {
        if (!json_is_string(val) || strlen(k) + json_string_length(val) + 1 > MLQ_MAX_STR ||
            strlen(json_string_value(val)) != json_string_length(val))
            return mlq_err_set(err, MLQ_EINVAL, "env.%.40s must be a string of at most %d bytes", k,
                               MLQ_MAX_STR);
        size_t len = strlen(k) + json_string_length(val) + 2;
        char *kv = malloc(len);
        if (!kv)
            return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
        snprintf(kv, len, "%s=%s", k, json_string_value(val));
        spec->env[spec->envc++] = kv;
    }
    return 0;
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

static int mem_key(const json_t *o, struct mlq_jobspec *spec, struct mlq_err *err)
{
    const json_t *v = json_object_get(o, "mem");
    struct mlq_err e;
    if (!v || json_is_null(v))
        return 0;
    if (json_is_integer(v) && json_integer_value(v) > 0) {
        spec->mem = json_integer_value(v);
        return 0;
    }
    if (json_is_string(v) && json_string_length(v) < 32 &&
        mlq_res_parse_mem(json_string_value(v), &spec->mem, &e) == 0)
        return 0;
    return mlq_err_set(err, MLQ_EINVAL, "mem must be bytes or a size such as 512M or 4G");
}

static int check_keys(const json_t *o, struct mlq_err *err)
{
    const char *k;
    const json_t *v;
    json_object_foreach((json_t *)o, k, v)
    {
        bool ok = false;
        for (size_t i = 0; !ok && i < sizeof known / sizeof known[0]; i++)
            ok = strcmp(k, known[i]) == 0;
        if (!ok)
            return mlq_err_set(err, MLQ_EINVAL, "unknown key \"%.40s\"", k);
    }
    return 0;
}

int mlq_httpsubmit_spec(const json_t *o, struct mlq_jobspec *spec, struct mlq_err *err)
{
    memset(spec, 0, sizeof *spec);
    if (!json_is_object(o))
        return mlq_err_set(err, MLQ_EINVAL, "a job must be a JSON object");
    spec->cpus_m = 1000;
    spec->mem = 1024LL * 1024 * 1024;
    int rc = check_keys(o, err);
    if (rc == 0 && (!json_is_array(json_object_get(o, "argv")) ||
                    json_array_size(json_object_get(o, "argv")) == 0))
        rc = mlq_err_set(err, MLQ_EINVAL, "argv must be a non-empty array of strings");
    if (rc == 0)
        rc = strv_key(o, "argv", MLQ_MAX_ARGC, MLQ_MAX_STR, &spec->argv, &spec->argc, err);
    if (rc == 0)
        rc = str_key(o, "name", MLQ_MAX_NAME, &spec->name, err);
    if (rc == 0)
        rc = str_key(o, "workdir", MLQ_MAX_PATH, &spec->workdir, err);
    if (rc == 0 && !spec->workdir && !(spec->workdir = strdup("/")))
        rc = mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    if (rc == 0)
        rc = env_key(o, spec, err);
    const json_t *cpus = json_object_get(o, "cpus");
    if (rc == 0 && cpus && !json_is_null(cpus)) {
        double c = json_number_value(cpus);
        if (!json_is_number(cpus) || c <= 0 || c > 100000)
            rc = mlq_err_set(err, MLQ_EINVAL, "cpus must be a positive number such as 0.5 or 4");
        else
            spec->cpus_m = (int64_t)(c * 1000 + 0.5);
    }
    if (rc == 0)
        rc = mem_key(o, spec, err);
    int64_t v = 0;
    if (rc == 0 && (rc = int_key(o, "gpus", 0, MLQ_MAX_GPUS, &v, err)) == 0)
        spec->gpus = (int32_t)v;
    if (rc == 0)
        rc = str_key(o, "gpu_type", MLQ_MAX_GPU_TYPE, &spec->gpu_type, err);
    if (rc == 0)
        rc = str_key(o, "pool", MLQ_MAX_NAME, &spec->pool, err);
    if (rc == 0)
        rc = strv_key(o, "require", MLQ_MAX_LABELS, MLQ_MAX_LABEL_LEN, &spec->require,
                      &spec->nrequire, err);
    v = 0;
    if (rc == 0 && (rc = int_key(o, "priority", -MLQ_MAX_PRIORITY, MLQ_MAX_PRIORITY, &v, err)) == 0)
        spec->priority = (int32_t)v;
    v = 0;
    if (rc == 0 && (rc = int_key(o, "retries", 0, MLQ_MAX_RETRIES, &v, err)) == 0)
        spec->retries = (int32_t)v;
    if (rc == 0)
        rc = dur_key(o, "retry_backoff", &spec->retry_backoff_ms, err);
    if (rc == 0)
        rc = dur_key(o, "time_limit", &spec->time_limit_ms, err);
    if (rc == 0)
        rc = dur_key(o, "kill_grace", &spec->kill_grace_ms, err);
    v = 0;
    if (rc == 0 && (rc = int_key(o, "warn_signal", 0, 64, &v, err)) == 0)
        spec->warn_signal = (int32_t)v;
    if (rc == 0)
        rc = dur_key(o, "warn_before", &spec->warn_before_ms, err);
    if (rc == 0 && !(spec->deps = calloc(MLQ_MAX_DEPS, sizeof *spec->deps)))
        rc = mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    if (rc == 0)
        rc = deps_key(o, "after", MLQ_DEP_OK, spec, err);
    if (rc == 0)
        rc = deps_key(o, "after_any", MLQ_DEP_ANY, spec, err);
    if (rc == 0)
        rc = deps_key(o, "after_failed", MLQ_DEP_FAILED, spec, err);
    if (rc == 0 && spec->ndeps == 0) {
        free(spec->deps);
        spec->deps = NULL;
    }
    if (rc == 0)
        rc = str_key(o, "array", 64, &spec->array, err);
    v = 0;
    if (rc == 0 && (rc = int_key(o, "max_running", 0, UINT32_MAX, &v, err)) == 0)
        spec->max_running = (uint32_t)v;
    v = 0;
    if (rc == 0 && (rc = int_key(o, "nodes", 1, MLQ_MAX_NODES, &v, err)) == 0)
        spec->nodes = (uint32_t)v; /* a gang (absent: not one) */
    if (rc == 0)
        rc = str_key(o, "idempotency_key", MLQ_MAX_IDEM_KEY, &spec->idempotency_key, err);
    if (rc == 0 && spec->idempotency_key)
        rc = mlq_proto_idem_key_check(spec->idempotency_key, err);
    if (rc == 0)
        rc = str_key(o, "image", MLQ_MAX_IMAGE, &spec->image, err);
    /* The loop makes the token's principal the owner; the placeholder only
     * lets the spec pass the checks the CLI also makes before sending (the
     * loop's decoder would refuse what they refuse, without a message). */
    if (rc == 0 && !(spec->owner = strdup("http")))
        rc = mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    if (rc == 0)
        rc = mlq_proto_jobspec_check(spec, err);
    return rc;
}
