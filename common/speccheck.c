/* speccheck: see speccheck.h. */
#include "speccheck.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "arrayspec.h"
#include "outpath.h"
#include "proto.h"
#include "protospec.h"

#define MAX_SIGNAL MLQ_SPEC_MAX_SIGNAL

#define STR_(x) #x
#define STR(x)  STR_(x) /* a bound as text, for constant messages */

/* ---- syntax of labels, pools and GPU types ------------------------------ */

static bool key_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-';
}

/* Printable ASCII other than space. */
static bool graph_char(char c)
{
    return c > ' ' && c < 0x7f;
}

/* What is wrong with a "k=v" label, or NULL when nothing is. */
static const char *label_problem(const char *kv)
{
    if (!kv)
        return "is missing";
    if (strlen(kv) > MLQ_MAX_LABEL_LEN)
        return "is longer than " STR(MLQ_MAX_LABEL_LEN) " bytes";
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv)
        return "must be KEY=VALUE with a non-empty KEY";
    for (const char *p = kv; p < eq; p++)
        if (!key_char(*p))
            return "has a KEY with characters other than A-Z a-z 0-9 _ . -";
    for (const char *p = eq + 1; *p; p++)
        if (!graph_char(*p))
            return "has a VALUE with spaces or unprintable characters";
    return NULL;
}

static const char *pool_problem(const char *pool)
{
    size_t n = pool ? strlen(pool) : 0;
    if (n == 0)
        return "is empty";
    if (n > MLQ_MAX_NAME)
        return "is longer than " STR(MLQ_MAX_NAME) " bytes";
    for (const char *p = pool; *p; p++)
        if (!graph_char(*p) || *p == '/')
            return "may hold only printable characters other than space and '/'";
    return NULL;
}

static const char *gpu_type_problem(const char *type)
{
    size_t n = type ? strlen(type) : 0;
    if (n == 0)
        return "is empty";
    if (n > MLQ_MAX_GPU_TYPE)
        return "is longer than " STR(MLQ_MAX_GPU_TYPE) " bytes";
    for (const char *p = type; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= '0' && *p <= '9') || *p == '_' || *p == '-' ||
              *p == '.')) /* '.': MIG types ("a100-1g.10gb") */
            return "may hold only a-z 0-9 _ - .";
    return NULL;
}

int mlq_proto_label_check(const char *kv, struct mlq_err *err)
{
    const char *why = label_problem(kv);
    return why ? mlq_err_set(err, MLQ_EINVAL, "label %s", why) : 0;
}

int mlq_proto_pool_check(const char *pool, struct mlq_err *err)
{
    const char *why = pool_problem(pool);
    return why ? mlq_err_set(err, MLQ_EINVAL, "pool name %s", why) : 0;
}

int mlq_proto_gpu_type_check(const char *type, struct mlq_err *err)
{
    const char *why = gpu_type_problem(type);
    return why ? mlq_err_set(err, MLQ_EINVAL, "GPU type %s", why) : 0;
}

/* What is wrong with a job's '|'-separated GPU types, or NULL. Each
 * alternative is judged as one type; duplicates are refused because they
 * are always a typo. */
static const char *gpu_types_problem(const char *types)
{
    char one[MLQ_MAX_GPU_TYPE + 1], seen[MLQ_MAX_GPU_ALTS][MLQ_MAX_GPU_TYPE + 1];
    int n = 0;
    if (!types || strlen(types) > MLQ_MAX_GPU_TYPES)
        return types ? "is too long" : "is empty";
    for (const char *p = types;; n++) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == 0)
            return "has an empty alternative (use TYPE or T1|T2)";
        if (len > MLQ_MAX_GPU_TYPE)
            return "has an alternative longer than " STR(MLQ_MAX_GPU_TYPE) " bytes";
        if (n >= MLQ_MAX_GPU_ALTS)
            return "has more than " STR(MLQ_MAX_GPU_ALTS) " alternatives";
        memcpy(one, p, len);
        one[len] = '\0';
        const char *why = gpu_type_problem(one);
        if (why)
            return why;
        for (int i = 0; i < n; i++)
            if (strcmp(seen[i], one) == 0)
                return "names the same type twice";
        memcpy(seen[n], one, len + 1);
        if (!bar)
            return NULL;
        p = bar + 1;
    }
}

int mlq_proto_gpu_types_check(const char *types, struct mlq_err *err)
{
    const char *why = gpu_types_problem(types);
    return why ? mlq_err_set(err, MLQ_EINVAL, "GPU type %s", why) : 0;
}

bool mlq_proto_gpu_type_matches(const char *types, const char *type)
{
    if (!types)
        return true;
    size_t tl = type ? strlen(type) : 0;
    if (tl == 0)
        return false;
    for (const char *p = types;;) {
        const char *bar = strchr(p, '|');
        size_t len = bar ? (size_t)(bar - p) : strlen(p);
        if (len == tl && memcmp(p, type, len) == 0)
            return true;
        if (!bar)
            return false;
        p = bar + 1;
    }
}

int mlq_protospec_read_labels(const struct mlq_mpk_map *m, const char *key, char ***out,
                              uint32_t *n)
{
    *out = NULL;
    *n = 0;
    if (mlq_mpk_absent(m, key))
        return 0;
    int rc = mlq_mpk_read_strv(m, key, 0, MLQ_MAX_LABELS, MLQ_MAX_LABEL_LEN,
                               (size_t)MLQ_MAX_LABELS * MLQ_MAX_LABEL_LEN, out, n);
    for (uint32_t i = 0; rc == 0 && i < *n; i++) {
        const char *why = label_problem((*out)[i]);
        if (why)
            rc =
                mlq_err_set(m->err, MLQ_EPROTO, "%s: key '%s': entry %u %s", m->where, key, i, why);
    }
    if (rc < 0) {
        mlq_mpk_strv_free(*out, *n);
        *out = NULL;
        *n = 0;
    }
    return rc;
}

/* ---- checks ------------------------------------------------------------- */

static int check_argv(const struct mlq_jobspec *s, struct mlq_err *err)
{
    size_t total = 0;
    if (s->argc < 1 || !s->argv)
        return mlq_err_set(err, MLQ_EINVAL, "spec: argv must not be empty");
    if (s->argc > MLQ_MAX_ARGC)
        return mlq_err_set(err, MLQ_EINVAL, "spec: more than %d arguments", MLQ_MAX_ARGC);
    for (uint32_t i = 0; i < s->argc; i++) {
        if (!s->argv[i])
            return mlq_err_set(err, MLQ_EINVAL, "spec: argv[%u] is missing", i);
        total += strlen(s->argv[i]);
        if (total > MLQ_MAX_ARGV_BYTES)
            return mlq_err_set(err, MLQ_EINVAL, "spec: arguments exceed %d bytes",
                               MLQ_MAX_ARGV_BYTES);
    }
    if (s->argv[0][0] == '\0')
        return mlq_err_set(err, MLQ_EINVAL, "spec: the command (argv[0]) is empty");
    return 0;
}

static int check_env(const struct mlq_jobspec *s, struct mlq_err *err)
{
    if (s->envc > MLQ_MAX_ENVC)
        return mlq_err_set(err, MLQ_EINVAL, "spec: more than %d environment entries", MLQ_MAX_ENVC);
    if (s->envc > 0 && !s->env)
        return mlq_err_set(err, MLQ_EINVAL, "spec: env is missing");
    size_t total = 0;
    for (uint32_t i = 0; i < s->envc; i++) {
        const char *e = s->env[i];
        if (!e)
            return mlq_err_set(err, MLQ_EINVAL, "spec: env[%u] is missing", i);
        size_t len = strlen(e);
        if (len > MLQ_MAX_ENV_ENTRY)
            return mlq_err_set(err, MLQ_EINVAL, "spec: env[%u] is longer than %d bytes", i,
                               MLQ_MAX_ENV_ENTRY);
        if ((total += len) > MLQ_MAX_ENV_BYTES)
            return mlq_err_set(err, MLQ_EINVAL, "spec: the environment is larger than %d bytes",
                               MLQ_MAX_ENV_BYTES);
        const char *eq = strchr(e, '=');
        if (!eq || eq == e)
            return mlq_err_set(err, MLQ_EINVAL, "spec: env[%u] is not KEY=VALUE", i);
    }
    return 0;
}

static int check_text(const struct mlq_jobspec *s, struct mlq_err *err)
{
    if (s->name && strlen(s->name) > MLQ_MAX_NAME)
        return mlq_err_set(err, MLQ_EINVAL, "spec: name is longer than %d bytes", MLQ_MAX_NAME);
    if (!s->owner || s->owner[0] == '\0')
        return mlq_err_set(err, MLQ_EINVAL, "spec: owner is missing");
    if (strlen(s->owner) > MLQ_MAX_NAME)
        return mlq_err_set(err, MLQ_EINVAL, "spec: owner is longer than %d bytes", MLQ_MAX_NAME);
    if (!s->workdir || s->workdir[0] != '/')
        return mlq_err_set(err, MLQ_EINVAL, "spec: workdir must be an absolute path");
    if (strlen(s->workdir) > MLQ_MAX_PATH)
        return mlq_err_set(err, MLQ_EINVAL, "spec: workdir is longer than %d bytes", MLQ_MAX_PATH);
    if (s->stdout_file && mlq_outpath_check("--stdout", s->stdout_file, err) < 0)
        return MLQ_EINVAL;
    if (s->stderr_file && mlq_outpath_check("--stderr", s->stderr_file, err) < 0)
        return MLQ_EINVAL;
    return 0;
}

static bool bad_time(int64_t ms)
{
    return ms < 0 || ms > MLQ_MAX_TIME_MS;
}

/* Retries and time limits (all optional, 0 = unset). */
static int check_limits(const struct mlq_jobspec *s, struct mlq_err *err)
{
    if (s->retries < 0 || s->retries > MLQ_MAX_RETRIES)
        return mlq_err_set(err, MLQ_EINVAL, "spec: retries must be between 0 and %d",
                           MLQ_MAX_RETRIES);
    if (bad_time(s->retry_backoff_ms) || bad_time(s->time_limit_ms) || bad_time(s->kill_grace_ms) ||
        bad_time(s->warn_before_ms))
        return mlq_err_set(err, MLQ_EINVAL, "spec: times must be between 0 and 366 days");
    if (s->warn_signal < 0 || s->warn_signal > MAX_SIGNAL)
        return mlq_err_set(err, MLQ_EINVAL, "spec: warn_signal must be between 0 and %d",
                           MAX_SIGNAL);
    if (s->warn_before_ms > 0 && s->time_limit_ms > 0 && s->warn_before_ms >= s->time_limit_ms)
        return mlq_err_set(err, MLQ_EINVAL,
                           "spec: the warning must come before the time limit "
                           "(warn_before_ms < time_limit_ms)");
    return 0;
}

/* A share of one GPU (gpu_frac, gpu_mem) excludes whole GPUs and gangs:
 * each node part of a gang would book a share on a different worker, a
 * meaning nobody asked for. */
static int check_share(const struct mlq_jobspec *s, struct mlq_err *err)
{
    if (s->gpu_frac < 0 || s->gpu_frac > MLQ_GPU_SHARE_MAX)
        return mlq_err_set(
            err, MLQ_EINVAL,
            "spec: gpu_frac must be between 0 and " STR(MLQ_GPU_SHARE_MAX) " hundredths of a GPU");
    if (s->gpu_mem < 0 || s->gpu_mem > MLQ_MAX_MEM)
        return mlq_err_set(err, MLQ_EINVAL, "spec: gpu_mem must be between 0 and 1 PiB");
    bool share = s->gpu_frac > 0 || s->gpu_mem > 0;
    if (share && s->gpus > 0)
        return mlq_err_set(err, MLQ_EINVAL,
                           "spec: a share of a GPU (gpu_frac, gpu_mem) cannot be combined "
                           "with whole GPUs");
    if (share && s->nodes > 0)
        return mlq_err_set(err, MLQ_EINVAL,
                           "spec: a gang (nodes) cannot use a share of a GPU; ask for whole GPUs");
    return 0;
}

/* Priority, pool, required labels, GPU type (all optional). */
static int check_placement(const struct mlq_jobspec *s, struct mlq_err *err)
{
    const char *why;
    if (s->priority < -MLQ_MAX_PRIORITY || s->priority > MLQ_MAX_PRIORITY)
        return mlq_err_set(err, MLQ_EINVAL, "spec: priority must be between %d and %d",
                           -MLQ_MAX_PRIORITY, MLQ_MAX_PRIORITY);
    if (s->pool && (why = pool_problem(s->pool)))
        return mlq_err_set(err, MLQ_EINVAL, "spec: pool %s", why);
    if (s->nrequire > MLQ_MAX_LABELS)
        return mlq_err_set(err, MLQ_EINVAL, "spec: more than %d required labels", MLQ_MAX_LABELS);
    if (s->nrequire > 0 && !s->require)
        return mlq_err_set(err, MLQ_EINVAL, "spec: require is missing");
    for (uint32_t i = 0; i < s->nrequire; i++)
        if ((why = label_problem(s->require[i])))
            return mlq_err_set(err, MLQ_EINVAL, "spec: require[%u] %s", i, why);
    if (s->gpu_type && (why = gpu_types_problem(s->gpu_type)))
        return mlq_err_set(err, MLQ_EINVAL, "spec: gpu_type %s", why);
    if (s->gpu_type && s->gpus < 1 && s->gpu_frac < 1 && s->gpu_mem < 1)
        return mlq_err_set(err, MLQ_EINVAL, "spec: a GPU type needs at least one GPU");
    return check_share(s, err);
}

bool mlq_proto_dep_target_ok(const char *t)
{
    size_t n = t ? strnlen(t, MLQ_ID_LEN + 1) : 0;
    if (n == 0 || n > MLQ_ID_LEN)
        return false;
    const char *slash = strchr(t, '/');
    size_t plen = slash ? (size_t)(slash - t) : n;
    if (plen == 0)
        return false;
    for (size_t i = 0; i < plen; i++)
        if (!((t[i] >= '0' && t[i] <= '9') || (t[i] >= 'a' && t[i] <= 'f') || t[i] == '-'))
            return false;
    if (!slash)
        return true;
    size_t dlen = n - plen - 1;
    if (dlen == 0 || dlen > 7) /* indices stop at 1000000 */
        return false;
    for (size_t i = plen + 1; i < n; i++)
        if (t[i] < '0' || t[i] > '9')
            return false;
    return true;
}

/* Transports that make a container runtime read a path (or a daemon) on the
 * worker rather than a registry or its own image store. */
static bool image_transport(const char *ref)
{
    static const char *const prefixes[] = {
        "docker-archive:", "oci-archive:",        "oci:",    "dir:", "docker:",
        "docker-daemon:",  "containers-storage:", "ostree:", "sif:", "tarball:"};
    for (size_t i = 0; i < sizeof prefixes / sizeof prefixes[0]; i++)
        if (strncmp(ref, prefixes[i], strlen(prefixes[i])) == 0)
            return true;
    return false;
}

int mlq_proto_image_check(const char *ref, struct mlq_err *err)
{
    size_t n = ref ? strlen(ref) : 0;
    if (n == 0)
        return mlq_err_set(err, MLQ_EINVAL, "image reference is empty");
    if (n > MLQ_MAX_IMAGE)
        return mlq_err_set(err, MLQ_EINVAL, "image reference is longer than %d bytes",
                           MLQ_MAX_IMAGE);
    if (strspn(ref, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-/:@") != n)
        return mlq_err_set(err, MLQ_EINVAL,
                           "image reference may hold only A-Z a-z 0-9 . _ - / : @");
    if (!((ref[0] >= 'a' && ref[0] <= 'z') || (ref[0] >= 'A' && ref[0] <= 'Z') ||
          (ref[0] >= '0' && ref[0] <= '9')))
        return mlq_err_set(err, MLQ_EINVAL, "image reference must start with a letter or digit");
    if (strstr(ref, "//") || image_transport(ref))
        return mlq_err_set(err, MLQ_EINVAL,
                           "image reference names a transport or a path; give a registry "
                           "reference such as registry.example.com/team/train:1.2");
    return 0;
}

int mlq_proto_idem_key_check(const char *key, struct mlq_err *err)
{
    size_t n = key ? strlen(key) : 0;
    if (n == 0)
        return mlq_err_set(err, MLQ_EINVAL, "idempotency key is empty");
    if (n > MLQ_MAX_IDEM_KEY)
        return mlq_err_set(err, MLQ_EINVAL, "idempotency key is longer than %d bytes",
                           MLQ_MAX_IDEM_KEY);
    for (const char *p = key; *p; p++)
        if ((unsigned char)*p < ' ' || (unsigned char)*p >= 0x7f)
            return mlq_err_set(err, MLQ_EINVAL,
                               "idempotency key may hold only printable ASCII characters");
    return 0;
}

/* Only the alphabet of an array spec: the scheduler parses it in full
 * (mlq_arrayspec_parse), once, at submit. Stored specs are unpacked often and
 * must not pay for expanding 100000 indices each time. */
static const char *array_problem(const char *a)
{
    size_t n = strlen(a);
    if (n == 0)
        return "is empty";
    if (n > MLQ_ARRAYSPEC_MAX_LEN)
        return "is too long";
    for (const char *p = a; *p; p++)
        if (!((*p >= '0' && *p <= '9') || *p == ',' || *p == '-' || *p == ':'))
            return "may hold only digits and , - :";
    return NULL;
}

/* Dependencies, array, max_running, idempotency key (all optional). */
static int check_pipeline(const struct mlq_jobspec *s, struct mlq_err *err)
{
    const char *why;
    if (s->ndeps > MLQ_MAX_DEPS)
        return mlq_err_set(err, MLQ_EINVAL, "spec: more than %d dependencies", MLQ_MAX_DEPS);
    if (s->ndeps > 0 && !s->deps)
        return mlq_err_set(err, MLQ_EINVAL, "spec: deps is missing");
    for (uint32_t i = 0; i < s->ndeps; i++) {
        if (!mlq_proto_dep_target_ok(s->deps[i].target))
            return mlq_err_set(err, MLQ_EINVAL,
                               "spec: deps[%u] is not a job id, an array id "
                               "or ARRAY/N",
                               i);
        if ((unsigned)s->deps[i].kind > MLQ_DEP_FAILED)
            return mlq_err_set(err, MLQ_EINVAL, "spec: deps[%u] has an unknown kind", i);
    }
    if (s->array && (why = array_problem(s->array)))
        return mlq_err_set(err, MLQ_EINVAL, "spec: array %s", why);
    if (s->max_running > MLQ_MAX_ARRAY)
        return mlq_err_set(err, MLQ_EINVAL, "spec: max_running must be at most %d", MLQ_MAX_ARRAY);
    if (s->idempotency_key && mlq_proto_idem_key_check(s->idempotency_key, err) < 0)
        return MLQ_EINVAL;
    if (s->nodes > MLQ_MAX_NODES)
        return mlq_err_set(err, MLQ_EINVAL, "spec: nodes must be 1 to %d", MLQ_MAX_NODES);
    if (s->nodes > 0 && s->array)
        return mlq_err_set(err, MLQ_EINVAL, "spec: nodes cannot be combined with array");
    if (s->image && mlq_proto_image_check(s->image, err) < 0)
        return MLQ_EINVAL;
    return 0;
}

/* --input / --output paths: bounded count, each 1..MLQ_MAX_PATH bytes. */
static int check_paths(const char *what, char *const *v, uint32_t n, struct mlq_err *err)
{
    if (n > MLQ_MAX_IO_PATHS)
        return mlq_err_set(err, MLQ_EINVAL, "spec: more than %d %s paths", MLQ_MAX_IO_PATHS, what);
    if (n > 0 && !v)
        return mlq_err_set(err, MLQ_EINVAL, "spec: %ss are missing", what);
    for (uint32_t i = 0; i < n; i++) {
        size_t len = v[i] ? strlen(v[i]) : 0;
        if (len == 0 || len > MLQ_MAX_PATH)
            return mlq_err_set(err, MLQ_EINVAL, "spec: %s path %u must be 1 to %d bytes", what, i,
                               MLQ_MAX_PATH);
        if (strchr(v[i], '\n'))
            return mlq_err_set(err, MLQ_EINVAL, "spec: %s path %u holds a newline", what, i);
    }
    return 0;
}

int mlq_proto_project_check(const char *project, struct mlq_err *err)
{
    size_t n = project ? strlen(project) : 0;
    if (n < 1 || n > MLQ_MAX_PROJECT)
        return mlq_err_set(err, MLQ_EINVAL, "project \"%.80s\" must be 1 to %d characters",
                           project ? project : "", MLQ_MAX_PROJECT);
    for (const char *p = project; *p; p++)
        if (!isalnum((unsigned char)*p) && !strchr("_.-/", *p))
            return mlq_err_set(err, MLQ_EINVAL,
                               "project \"%.80s\" may hold only A-Z a-z 0-9 _ . - /", project);
    return 0;
}

/* Team (a principal's name syntax) and project label (both optional). */
static int check_accounting(const struct mlq_jobspec *s, struct mlq_err *err)
{
    struct mlq_err e;
    if (s->team && mlq_proto_principal_name_check(s->team, &e) < 0)
        return mlq_err_set(err, MLQ_EINVAL, "spec: team: %s", e.msg);
    if (s->project && mlq_proto_project_check(s->project, &e) < 0)
        return mlq_err_set(err, MLQ_EINVAL, "spec: %s", e.msg);
    return 0;
}

int mlq_proto_jobspec_check(const struct mlq_jobspec *spec, struct mlq_err *err)
{
    int rc = check_text(spec, err);
    if (rc == 0)
        rc = check_argv(spec, err);
    if (rc == 0)
        rc = check_env(spec, err);
    if (rc < 0)
        return rc;
    if (spec->cpus_m < 1 || spec->cpus_m > MLQ_MAX_CPUS_M)
        return mlq_err_set(err, MLQ_EINVAL, "spec: cpus must be between 0.001 and %d",
                           MLQ_MAX_CPUS_M / 1000);
    if (spec->mem < 1 || spec->mem > MLQ_MAX_MEM)
        return mlq_err_set(err, MLQ_EINVAL, "spec: memory must be between 1 byte and 1 PiB");
    if (spec->gpus < 0 || spec->gpus > MLQ_MAX_GPUS)
        return mlq_err_set(err, MLQ_EINVAL, "spec: gpus must be between 0 and %d", MLQ_MAX_GPUS);
    rc = check_limits(spec, err);
    if (rc == 0)
        rc = check_placement(spec, err);
    if (rc == 0)
        rc = check_pipeline(spec, err);
    if (rc == 0)
        rc = check_paths("input", spec->inputs, spec->ninputs, err);
    if (rc == 0)
        rc = check_paths("output", spec->outputs, spec->noutputs, err);
    if (rc == 0)
        rc = check_accounting(spec, err);
    return rc;
}
