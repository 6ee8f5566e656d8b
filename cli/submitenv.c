/* submitenv: see submitenv.h. */
#include "submitenv.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "bounds.h"
#include "envname.h"

static int strv_push(char ***v, uint32_t *n, char *s, struct mlq_err *err)
{
    char **nv = s ? realloc(*v, (*n + 1) * sizeof *nv) : NULL;
    if (!nv) {
        free(s);
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    }
    *v = nv;
    nv[(*n)++] = s;
    return 0;
}

static void strv_free(char ***v, uint32_t *n)
{
    for (uint32_t i = 0; *v && i < *n; i++)
        free((*v)[i]);
    free(*v);
    *v = NULL;
    *n = 0;
}

static int bad_name(const char *opt, const char *name, size_t len, struct mlq_err *err)
{
    return mlq_err_set(err, MLQ_EINVAL,
                       "%s: '%.*s' is not a variable name (letters, digits and _, not starting "
                       "with a digit)",
                       opt, (int)(len > 64 ? 64 : len), name);
}

int mlq_submitenv_export(struct mlq_submitenv *e, const char *arg, struct mlq_err *err)
{
    strv_free(&e->names, &e->nnames);
    e->given = true;
    /* Either case, as a variable named "all" or "none" is unlikely and a
     * lowercase keyword silently sending nothing would be a surprise. */
    if (strcasecmp(arg, "ALL") == 0 || strcasecmp(arg, "NONE") == 0) {
        e->mode = (arg[0] == 'A' || arg[0] == 'a') ? MLQ_EXPORT_ALL : MLQ_EXPORT_NONE;
        return 0;
    }
    e->mode = MLQ_EXPORT_LIST;
    for (const char *p = arg;; p++) {
        size_t len = strcspn(p, ",");
        if (!mlq_envname_valid(p, len))
            return bad_name("--export", p, len, err);
        if (e->nnames >= MLQ_MAX_ENVC)
            return mlq_err_set(err, MLQ_ETOOBIG, "--export: more than %d names", MLQ_MAX_ENVC);
        int rc = strv_push(&e->names, &e->nnames, strndup(p, len), err);
        if (rc < 0 || p[len] == '\0')
            return rc;
        p += len;
    }
}

/* A value mlq sets on the worker is not the user's to give: said once,
 * the entry is still sent (the worker is what drops it). */
static void warn_dropped(const char *kv)
{
    size_t len = mlq_envname_len(kv);
    if (mlq_envname_dropped(kv, len))
        fprintf(stderr,
                "mlq: warning: --env %.*s: mlq sets or removes this variable on the "
                "worker; the job will not see this value\n",
                (int)len, kv);
}

int mlq_submitenv_env(struct mlq_submitenv *e, const char *arg, struct mlq_err *err)
{
    size_t len = mlq_envname_len(arg);
    if (!mlq_envname_valid(arg, len))
        return bad_name("--env", arg, len, err);
    if (e->nset >= MLQ_MAX_ENVC)
        return mlq_err_set(err, MLQ_ETOOBIG, "too many --env (at most %d)", MLQ_MAX_ENVC);
    char *kv = NULL;
    if (arg[len] == '=') {
        kv = strdup(arg);
    } else {
        const char *v = getenv(arg);
        if (!v)
            return mlq_err_set(err, MLQ_EINVAL,
                               "--env %.64s: %.64s is not set in this environment (use --env "
                               "%.64s=VALUE to give a value)",
                               arg, arg, arg);
        if (asprintf(&kv, "%s=%s", arg, v) < 0)
            kv = NULL;
    }
    warn_dropped(arg);
    return strv_push(&e->set, &e->nset, kv, err);
}

/* True when kv's name is name[0..len). */
static bool same_name(const char *kv, const char *name, size_t len)
{
    return mlq_envname_len(kv) == len && strncmp(kv, name, len) == 0;
}

/* True when a --env entry gives kv's name: the exported value would be
 * replaced anyway, so it is not sent. */
static bool given_by_env(const struct mlq_submitenv *e, const char *kv)
{
    size_t len = mlq_envname_len(kv);
    for (uint32_t i = 0; i < e->nset; i++)
        if (same_name(e->set[i], kv, len))
            return true;
    return false;
}

static bool listed(const struct mlq_submitenv *e, const char *kv)
{
    if (e->mode == MLQ_EXPORT_ALL)
        return true;
    size_t len = mlq_envname_len(kv);
    for (uint32_t i = 0; e->mode == MLQ_EXPORT_LIST && i < e->nnames; i++)
        if (strlen(e->names[i]) == len && strncmp(e->names[i], kv, len) == 0)
            return true;
    return false;
}

/* Sets kv (owned) in spec->env, replacing an entry of the same name. */
static int put_env(struct mlq_jobspec *spec, char *kv, struct mlq_err *err)
{
    size_t len = kv ? mlq_envname_len(kv) : 0;
    for (uint32_t i = 0; kv && i < spec->envc; i++) {
        if (same_name(spec->env[i], kv, len)) {
            free(spec->env[i]);
            spec->env[i] = kv;
            return 0;
        }
    }
    return strv_push(&spec->env, &spec->envc, kv, err);
}

/* One exported entry: bash's exported functions (BASH_FUNC_x%%) and other
 * names that are not variable names are not sent, nor what the worker
 * drops. */
static int export_one(const struct mlq_submitenv *e, const char *kv, struct mlq_jobspec *spec,
                      struct mlq_err *err)
{
    size_t len = mlq_envname_len(kv);
    if (kv[len] != '=' || !mlq_envname_valid(kv, len) || mlq_envname_dropped(kv, len) ||
        !listed(e, kv) || given_by_env(e, kv))
        return 0;
    if (strlen(kv) > MLQ_MAX_ENV_ENTRY)
        return mlq_err_set(err, MLQ_ETOOBIG,
                           "variable %.*s is %zu bytes (at most %d): leave it out with --export "
                           "VAR,... or --export NONE",
                           (int)(len > 64 ? 64 : len), kv, strlen(kv), MLQ_MAX_ENV_ENTRY);
    return put_env(spec, strdup(kv), err);
}

/* A later --env of the same name wins over an earlier one. */
static bool set_later(const struct mlq_submitenv *e, uint32_t i)
{
    size_t len = mlq_envname_len(e->set[i]);
    for (uint32_t j = i + 1; j < e->nset; j++)
        if (same_name(e->set[j], e->set[i], len))
            return true;
    return false;
}

int mlq_submitenv_finish(const struct mlq_submitenv *e, char *const *envp, struct mlq_jobspec *spec,
                         struct mlq_err *err)
{
    int rc = 0;
    for (char *const *p = envp; e->mode != MLQ_EXPORT_NONE && p && *p && rc == 0; p++)
        rc = export_one(e, *p, spec, err);
    for (uint32_t i = 0; i < e->nset && rc == 0; i++)
        if (!set_later(e, i))
            rc = put_env(spec, strdup(e->set[i]), err);
    if (rc < 0)
        return rc;
    struct mlq_err e2 = {0};
    if (mlq_envname_check_user(spec->env, spec->envc, &e2) == 0)
        return 0;
    return mlq_err_set(err, MLQ_ETOOBIG,
                       "%s; send only what the job needs with --export VAR,... or --export NONE "
                       "(and --env)",
                       e2.msg);
}

void mlq_submitenv_free(struct mlq_submitenv *e)
{
    strv_free(&e->names, &e->nnames);
    strv_free(&e->set, &e->nset);
}
