/* submitpipe: see submitpipe.h. */
#include "submitpipe.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrayspec.h"
#include "client.h"
#include "id.h"

#define MAX_TASK_DIGITS 7 /* indices stop at MLQ_ARRAYSPEC_MAX_INDEX */

/* item (n bytes, not NUL-terminated) as a dependency target: lowercased,
 * "PREFIX" or "PREFIX/N", the prefix shortened when the whole would not fit
 * in MLQ_ID_LEN bytes. 0 or -1 (not a target). */
static int make_target(const char *item, size_t n, char out[MLQ_ID_LEN + 1])
{
    char buf[MLQ_MAX_REF + 1];
    if (n == 0 || n > MLQ_MAX_REF)
        return -1;
    for (size_t i = 0; i < n; i++)
        buf[i] = (item[i] >= 'A' && item[i] <= 'Z') ? (char)(item[i] - 'A' + 'a') : item[i];
    buf[n] = '\0';
    char *slash = strchr(buf, '/');
    size_t nd = slash ? strlen(slash + 1) : 0;
    if (slash) {
        *slash = '\0';
        if (nd == 0 || nd > MAX_TASK_DIGITS || strspn(slash + 1, "0123456789") != nd)
            return -1;
    }
    if (!mlq_id_prefix_valid(buf))
        return -1;
    size_t plen = strlen(buf);
    size_t room = slash ? MLQ_ID_LEN - 1 - nd : MLQ_ID_LEN;
    if (plen > room)
        plen = room;        /* a long prefix of a random id stays unique */
    memcpy(out, buf, plen); /* plen + 1 + nd <= MLQ_ID_LEN by the cut above */
    if (slash) {
        out[plen++] = '/';
        memcpy(out + plen, slash + 1, nd);
        plen += nd;
    }
    out[plen] = '\0';
    return mlq_proto_dep_target_ok(out) ? 0 : -1;
}

static int push_dep(struct mlq_jobspec *spec, const struct mlq_dep *d, const char *opt,
                    struct mlq_err *err)
{
    if (spec->ndeps >= MLQ_MAX_DEPS)
        return mlq_err_set(err, MLQ_ETOOBIG,
                           "too many dependencies in %s and the like (at most %d)", opt,
                           MLQ_MAX_DEPS);
    struct mlq_dep *v = realloc(spec->deps, (spec->ndeps + 1) * sizeof(*v));
    if (!v)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    spec->deps = v;
    v[spec->ndeps++] = *d;
    return 0;
}

int mlq_submitpipe_add_deps(struct mlq_jobspec *spec, enum mlq_dep_kind kind, const char *opt,
                            const char *list, struct mlq_err *err)
{
    const char *p = list;
    for (;;) {
        const char *comma = strchr(p, ',');
        size_t n = comma ? (size_t)(comma - p) : strlen(p);
        struct mlq_dep d = {.kind = kind};
        if (make_target(p, n, d.target) < 0 && n == 0)
            return mlq_err_set(err, MLQ_EINVAL, "bad %s '%.60s': empty item", opt, list);
        if (d.target[0] == '\0' || !mlq_proto_dep_target_ok(d.target))
            return mlq_err_set(err, MLQ_EINVAL,
                               "bad %s: '%.*s' is not a job or array id (or a prefix), "
                               "nor ARRAY/N",
                               opt, (int)(n < 48 ? n : 48), p);
        int rc = push_dep(spec, &d, opt, err);
        if (rc < 0)
            return rc;
        if (!comma)
            return 0;
        p = comma + 1;
    }
}

int mlq_submitpipe_set_array(struct mlq_jobspec *spec, const char *arg, struct mlq_err *err)
{
    uint32_t *idx = NULL, n = 0;
    struct mlq_err e = {0};
    if (mlq_arrayspec_parse(arg, &idx, &n, &e) < 0)
        return mlq_err_set(err, MLQ_EINVAL, "bad --array: %s", e.msg);
    free(idx);
    free(spec->array);
    if (!(spec->array = strdup(arg)))
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    return 0;
}

int mlq_submitpipe_set_max_running(struct mlq_jobspec *spec, const char *arg, struct mlq_err *err)
{
    char *end = NULL;
    long v = arg[0] >= '0' && arg[0] <= '9' ? strtol(arg, &end, 10) : -1;
    if (v < 1 || v > MLQ_MAX_ARRAY || !end || *end != '\0')
        return mlq_err_set(err, MLQ_EINVAL, "bad --max-running '%.40s' (expected 1..%d)", arg,
                           MLQ_MAX_ARRAY);
    spec->max_running = (uint32_t)v;
    return 0;
}

int mlq_submitpipe_set_idem_key(struct mlq_jobspec *spec, const char *arg, struct mlq_err *err)
{
    struct mlq_err e = {0};
    if (mlq_proto_idem_key_check(arg, &e) < 0)
        return mlq_err_set(err, MLQ_EINVAL, "bad --idempotency-key: %s", e.msg);
    free(spec->idempotency_key);
    if (!(spec->idempotency_key = strdup(arg)))
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    return 0;
}

int mlq_submitpipe_finish(const struct mlq_jobspec *spec, struct mlq_err *err)
{
    if (spec->max_running > 0 && !spec->array)
        return mlq_err_set(err, MLQ_CLI_EUSAGE, "--max-running needs --array");
    return 0;
}
