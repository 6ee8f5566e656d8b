/* envname: see envname.h. */
#include "envname.h"

#include <stdlib.h>
#include <string.h>

#include "bounds.h"

size_t mlq_envname_len(const char *kv)
{
    const char *eq = strchr(kv, '=');
    return eq ? (size_t)(eq - kv) : strlen(kv);
}

bool mlq_envname_valid(const char *name, size_t len)
{
    if (len == 0 || (name[0] >= '0' && name[0] <= '9'))
        return false;
    for (size_t i = 0; i < len; i++) {
        char c = name[i];
        if (!((c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') ||
              c == '_'))
            return false;
    }
    return true;
}

static bool name_is(const char *name, size_t len, const char *want)
{
    return strlen(want) == len && memcmp(name, want, len) == 0;
}

static bool name_in(const char *name, size_t len, const char *const *set, size_t n)
{
    for (size_t i = 0; i < n; i++)
        if (name_is(name, len, set[i]))
            return true;
    return false;
}

bool mlq_envname_dropped(const char *name, size_t len)
{
    /* The account's identity and the job's GPUs are the worker's to say;
     * the service manager's variables would let the job notify or log as
     * the worker's unit, or take sockets that are not its own. */
    static const char *const set[] = {"CUDA_VISIBLE_DEVICES",
                                      "NVIDIA_VISIBLE_DEVICES",
                                      "HOME",
                                      "USER",
                                      "LOGNAME",
                                      "SHELL",
                                      "NOTIFY_SOCKET",
                                      "LISTEN_FDS",
                                      "LISTEN_PID",
                                      "LISTEN_FDNAMES",
                                      "INVOCATION_ID",
                                      "JOURNAL_STREAM"};
    if (len >= 4 && memcmp(name, "MLQ_", 4) == 0)
        return true;
    return name_in(name, len, set, sizeof set / sizeof *set);
}

bool mlq_envname_scheduler_set(const char *name, size_t len)
{
    static const char *const set[] = {MLQ_ENV_SCHEDULE, MLQ_ENV_SCHEDULED_TIME,
                                      MLQ_ENV_SCHEDULED_TIME_UTC};
    return name_in(name, len, set, sizeof set / sizeof *set);
}

void mlq_envname_strip_scheduler_set(struct mlq_jobspec *spec)
{
    uint32_t kept = 0;
    for (uint32_t i = 0; spec->env && i < spec->envc; i++) {
        char *kv = spec->env[i];
        if (mlq_envname_scheduler_set(kv, mlq_envname_len(kv)))
            free(kv);
        else
            spec->env[kept++] = kv;
    }
    spec->envc = spec->env ? kept : 0;
}

size_t mlq_envname_bytes(char *const *env, uint32_t n)
{
    size_t total = 0;
    for (uint32_t i = 0; env && i < n; i++)
        total += strlen(env[i]);
    return total;
}

int mlq_envname_check_user(char *const *env, uint32_t n, struct mlq_err *err)
{
    size_t bytes = mlq_envname_bytes(env, n);
    if (n <= MLQ_ENV_USER_MAX_C && bytes <= MLQ_ENV_USER_MAX_BYTES)
        return 0;
    return mlq_err_set(err, MLQ_ETOOBIG,
                       "the job's environment is too large: %u variables, %zu bytes (at most %d "
                       "variables and %d bytes)",
                       n, bytes, MLQ_ENV_USER_MAX_C, MLQ_ENV_USER_MAX_BYTES);
}

/* True when one of own's n entries sets the name of kv. */
static bool named_in(const char *kv, char *const *own, uint32_t n)
{
    size_t len = mlq_envname_len(kv);
    for (uint32_t i = 0; i < n; i++)
        if (mlq_envname_len(own[i]) == len && memcmp(own[i], kv, len) == 0)
            return true;
    return false;
}

int mlq_envname_merge(char *const *shared, uint32_t nshared, char *const *own, uint32_t nown,
                      char ***out, uint32_t *nout, struct mlq_err *err)
{
    *out = NULL;
    *nout = 0;
    if (nshared + nown == 0)
        return 0;
    char **v = calloc((size_t)nshared + nown, sizeof *v);
    uint32_t n = 0;
    bool ok = v != NULL;
    for (uint32_t i = 0; ok && i < nshared; i++)
        if (!named_in(shared[i], own, nown))
            ok = (v[n++] = strdup(shared[i])) != NULL;
    for (uint32_t i = 0; ok && i < nown; i++)
        ok = (v[n++] = strdup(own[i])) != NULL;
    if (!ok) {
        for (uint32_t i = 0; v && i < n; i++)
            free(v[i]);
        free(v);
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    }
    *out = v;
    *nout = n;
    return 0;
}
