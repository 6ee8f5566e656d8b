/* upkeys: see upkeys.h. */
#include "upkeys.h"

#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fsutil.h"
#include "keys.h"
#include "proto.h"

int mlq_upkeys_user(char *out, size_t len, struct mlq_err *err)
{
    struct passwd *pw = getpwuid(getuid());
    const char *env = getenv("USER");
    const char *cand[] = {pw ? pw->pw_name : NULL, env};
    for (size_t i = 0; i < 2; i++) {
        if (cand[i] && mlq_proto_principal_name_check(cand[i], NULL) == 0 &&
            strlen(cand[i]) < len) {
            snprintf(out, len, "%s", cand[i]);
            return 0;
        }
    }
    return mlq_err_set(err, MLQ_EINVAL,
                       "cannot name your admin key: your user name is not 1..128 characters of "
                       "A-Z a-z 0-9 _ . @ - (use --insecure, or set USER)");
}

static int join(char *buf, size_t len, const char *a, const char *b, struct mlq_err *err)
{
    int n = snprintf(buf, len, "%s%s", a, b);
    if (n < 0 || (size_t)n >= len)
        return mlq_err_set(err, MLQ_EINVAL, "state dir path too long");
    return 0;
}

/* Makes the pair at path unless a usable one is there. */
static int ensure_pair(const char *path, struct mlq_err *err)
{
    struct mlq_keypair kp;
    char pub[MLQ_MAX_PATH + 8];
    struct stat st;
    int rc = mlq_keys_read_secret(path, &kp, err);
    if (rc == 0) {
        snprintf(pub, sizeof pub, "%s.pub", path);
        if (stat(pub, &st) != 0)
            rc = mlq_err_set(err, MLQ_ESTATE, "%.100s.pub is missing; remove %.100s for a new pair",
                             path, path);
    } else if (rc == MLQ_ENOTFOUND) {
        mlq_err_clear(err);
        rc = mlq_keys_generate(&kp, err);
        if (rc == 0)
            rc = mlq_keys_write(path, &kp, false, err);
    }
    explicit_bzero(&kp, sizeof kp);
    return rc;
}

void mlq_upkeys_worker_path(const struct mlq_upkeys *k, long i, char *buf, size_t len)
{
    /* A path too long to fit is left empty: the key write then fails with
     * a clear message instead of using a truncated name. */
    if (snprintf(buf, len, "%s/workers/w%ld.key", k->dir, i) >= (int)len)
        buf[0] = '\0';
}

static int make_dirs(const struct mlq_upkeys *k, struct mlq_err *err)
{
    char path[MLQ_MAX_PATH + 16];
    int rc = mlq_fs_mkdirs(k->dir, 0700, err);
    snprintf(path, sizeof path, "%s/users", k->dir);
    if (rc == 0)
        rc = mlq_fs_mkdirs(path, 0700, err);
    snprintf(path, sizeof path, "%s/workers", k->dir);
    if (rc == 0)
        rc = mlq_fs_mkdirs(path, 0700, err);
    return rc;
}

int mlq_upkeys_prepare(const char *state, long nworkers, bool insecure, struct mlq_upkeys *k,
                       struct mlq_err *err)
{
    char path[MLQ_MAX_PATH];
    memset(k, 0, sizeof *k);
    k->insecure = insecure;
    if (insecure)
        return 0;
    int rc = join(k->dir, sizeof k->dir - 64, state, "/keys", err);
    if (rc == 0)
        rc = join(k->server, sizeof k->server, k->dir, "/server.key", err);
    if (rc == 0)
        rc = mlq_upkeys_user(k->user_name, sizeof k->user_name, err);
    if (rc == 0 && snprintf(k->user, sizeof k->user, "%s/users/%s.key", k->dir, k->user_name) >=
                       (int)sizeof k->user)
        rc = mlq_err_set(err, MLQ_EINVAL, "state dir path too long");
    if (rc == 0)
        rc = make_dirs(k, err);
    if (rc == 0)
        rc = ensure_pair(k->server, err);
    if (rc == 0)
        rc = ensure_pair(k->user, err);
    for (long i = 1; rc == 0 && i <= nworkers; i++) {
        mlq_upkeys_worker_path(k, i, path, sizeof path);
        rc = ensure_pair(path, err);
    }
    return rc;
}

/* ---- daemon options ---------------------------------------------------- */

struct vec {
    char **v;
    int n, cap;
};

static int push(struct vec *a, const char *fmt, const char *x, const char *y)
{
    if (a->n + 2 > a->cap) {
        int cap = a->cap ? a->cap * 2 : 8;
        char **v = realloc(a->v, (size_t)cap * sizeof *v);
        if (!v)
            return MLQ_ENOMEM;
        a->v = v;
        a->cap = cap;
    }
    char *s = NULL;
    if (asprintf(&s, fmt, x ? x : "", y ? y : "") < 0)
        return MLQ_ENOMEM;
    a->v[a->n++] = s;
    a->v[a->n] = NULL;
    return 0;
}

static int finish(struct vec *a, int rc, char ***out, struct mlq_err *err)
{
    if (rc == 0) {
        *out = a->v;
        return 0;
    }
    mlq_upkeys_argv_free(&a->v);
    return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
}

int mlq_upkeys_sched_argv(const struct mlq_upkeys *k, long nworkers, char ***out,
                          struct mlq_err *err)
{
    struct vec a = {0};
    char path[MLQ_MAX_PATH], name[24];
    *out = NULL;
    /* A cluster started by root runs root's jobs: they are its user's. */
    int rc = getuid() == 0 ? push(&a, "--allow-root-jobs", NULL, NULL) : 0;
    if (rc == 0 && k->insecure)
        return finish(&a, push(&a, "--insecure", NULL, NULL), out, err);
    rc = rc ? rc : push(&a, "--key", NULL, NULL);
    rc = rc ? rc : push(&a, "%s%s", k->server, NULL);
    rc = rc ? rc : push(&a, "--authorize", NULL, NULL);
    rc = rc ? rc : push(&a, "admin:%s:%s.pub", k->user_name, k->user);
    for (long i = 1; rc == 0 && i <= nworkers; i++) {
        mlq_upkeys_worker_path(k, i, path, sizeof path);
        snprintf(name, sizeof name, "w%ld", i);
        rc = push(&a, "--authorize", NULL, NULL);
        rc = rc ? rc : push(&a, "worker:%s:%s.pub", name, path);
    }
    return finish(&a, rc, out, err);
}

int mlq_upkeys_worker_argv(const struct mlq_upkeys *k, long i, char ***out, struct mlq_err *err)
{
    struct vec a = {0};
    char path[MLQ_MAX_PATH];
    *out = NULL;
    if (k->insecure)
        return finish(&a, push(&a, "--insecure", NULL, NULL), out, err);
    mlq_upkeys_worker_path(k, i, path, sizeof path);
    int rc = push(&a, "--key", NULL, NULL);
    rc = rc ? rc : push(&a, "%s%s", path, NULL);
    rc = rc ? rc : push(&a, "--scheduler-key", NULL, NULL);
    rc = rc ? rc : push(&a, "%s.pub%s", k->server, NULL);
    return finish(&a, rc, out, err);
}

void mlq_upkeys_argv_free(char ***v)
{
    if (!v || !*v)
        return;
    for (char **p = *v; *p; p++)
        free(*p);
    free(*v);
    *v = NULL;
}
