/* auth: see auth.h. */
#include "auth.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "strmap.h"

struct principal {
    enum mlq_role role;
    char kind[8];
    char name[MLQ_MAX_NAME + 1];
    char key[41];
};

/* A change waiting for the commit. */
struct staged {
    bool remove;
    struct mlq_store_principal p; /* kind and name only when remove */
};

/* The ZAP handler's thread reads by_key while the loop's thread changes
 * it: every change and every lookup holds lock. The loop's own reads need
 * no lock, as only its thread writes. */
struct mlq_auth {
    pthread_mutex_t lock;
    struct mlq_strmap *by_key;  /* z85 public key -> principal (owns it) */
    struct mlq_strmap *by_name; /* "kind:name" -> the same principal */
    struct staged *staged;
    size_t nstaged, cap_staged;
};

struct mlq_auth *mlq_auth_create(void)
{
    struct mlq_auth *a = calloc(1, sizeof *a);
    if (!a)
        return NULL;
    if (pthread_mutex_init(&a->lock, NULL) != 0) {
        free(a);
        return NULL;
    }
    a->by_key = mlq_strmap_create();
    a->by_name = mlq_strmap_create();
    if (!a->by_key || !a->by_name) {
        mlq_auth_destroy(&a);
        return NULL;
    }
    return a;
}

void mlq_auth_destroy(struct mlq_auth **a)
{
    if (!a || !*a)
        return;
    mlq_strmap_destroy(&(*a)->by_name, NULL);
    mlq_strmap_destroy(&(*a)->by_key, free);
    free((*a)->staged);
    pthread_mutex_destroy(&(*a)->lock);
    free(*a);
    *a = NULL;
}

const char *mlq_auth_role_name(enum mlq_role r)
{
    switch (r) {
    case MLQ_ROLE_USER:
        return "user";
    case MLQ_ROLE_ADMIN:
        return "admin";
    case MLQ_ROLE_WORKER:
        return "worker";
    default:
        return "none";
    }
}

enum mlq_role mlq_auth_role_parse(const char *s)
{
    static const enum mlq_role roles[] = {MLQ_ROLE_USER, MLQ_ROLE_ADMIN, MLQ_ROLE_WORKER};
    for (size_t i = 0; s && i < 3; i++)
        if (strcmp(s, mlq_auth_role_name(roles[i])) == 0)
            return roles[i];
    return MLQ_ROLE_NONE;
}

static void name_key(const char *kind, const char *name, char *buf, size_t len)
{
    snprintf(buf, len, "%s:%s", kind, name);
}

static void remove_locked(struct mlq_auth *a, const char *kind, const char *name)
{
    char nk[MLQ_MAX_NAME + 16];
    name_key(kind, name, nk, sizeof nk);
    struct principal *p = mlq_strmap_take(a->by_name, nk);
    if (p)
        free(mlq_strmap_take(a->by_key, p->key));
}

static int put_locked(struct mlq_auth *a, const struct mlq_store_principal *sp)
{
    enum mlq_role role = mlq_auth_role_parse(sp->role);
    if (role == MLQ_ROLE_NONE)
        return MLQ_EINVAL;
    remove_locked(a, sp->kind, sp->name);
    struct principal *old = mlq_strmap_take(a->by_key, sp->key); /* key moved to a new name */
    if (old) {
        char nk[MLQ_MAX_NAME + 16];
        name_key(old->kind, old->name, nk, sizeof nk);
        mlq_strmap_take(a->by_name, nk);
        free(old);
    }
    struct principal *p = calloc(1, sizeof *p);
    if (!p)
        return MLQ_ENOMEM;
    p->role = role;
    snprintf(p->kind, sizeof p->kind, "%s", sp->kind);
    snprintf(p->name, sizeof p->name, "%s", sp->name);
    snprintf(p->key, sizeof p->key, "%s", sp->key);
    char nk[MLQ_MAX_NAME + 16];
    name_key(p->kind, p->name, nk, sizeof nk);
    if (mlq_strmap_put(a->by_key, p->key, p) < 0) {
        free(p);
        return MLQ_ENOMEM;
    }
    if (mlq_strmap_put(a->by_name, nk, p) < 0) {
        free(mlq_strmap_take(a->by_key, p->key));
        return MLQ_ENOMEM;
    }
    return 0;
}

void mlq_auth_remove(struct mlq_auth *a, const char *kind, const char *name)
{
    pthread_mutex_lock(&a->lock);
    remove_locked(a, kind, name);
    pthread_mutex_unlock(&a->lock);
}

int mlq_auth_put(struct mlq_auth *a, const struct mlq_store_principal *sp)
{
    pthread_mutex_lock(&a->lock);
    int rc = put_locked(a, sp);
    pthread_mutex_unlock(&a->lock);
    return rc;
}

static int stage(struct mlq_auth *a, const struct staged *st)
{
    if (a->nstaged == a->cap_staged) {
        size_t cap = a->cap_staged ? a->cap_staged * 2 : 8;
        struct staged *v = realloc(a->staged, cap * sizeof *v);
        if (!v)
            return MLQ_ENOMEM;
        a->staged = v;
        a->cap_staged = cap;
    }
    a->staged[a->nstaged++] = *st;
    return 0;
}

int mlq_auth_stage_put(struct mlq_auth *a, const struct mlq_store_principal *p)
{
    if (mlq_auth_role_parse(p->role) == MLQ_ROLE_NONE)
        return MLQ_EINVAL;
    return stage(a, &(struct staged){.remove = false, .p = *p});
}

int mlq_auth_stage_remove(struct mlq_auth *a, const char *kind, const char *name)
{
    struct staged st = {.remove = true};
    snprintf(st.p.kind, sizeof st.p.kind, "%s", kind);
    snprintf(st.p.name, sizeof st.p.name, "%s", name);
    return stage(a, &st);
}

int mlq_auth_apply_staged(struct mlq_auth *a)
{
    int rc = 0;
    if (a->nstaged == 0)
        return 0;
    pthread_mutex_lock(&a->lock);
    for (size_t i = 0; i < a->nstaged; i++) {
        const struct staged *st = &a->staged[i];
        if (st->remove)
            remove_locked(a, st->p.kind, st->p.name);
        else if (put_locked(a, &st->p) < 0)
            rc = MLQ_ENOMEM;
    }
    pthread_mutex_unlock(&a->lock);
    a->nstaged = 0;
    return rc;
}

void mlq_auth_drop_staged(struct mlq_auth *a)
{
    a->nstaged = 0;
}

static int load_one(const struct mlq_store_principal *p, void *ctx)
{
    return mlq_auth_put(ctx, p) < 0 ? MLQ_ENOMEM : 0;
}

int mlq_auth_load(struct mlq_auth *a, struct mlq_store *st, struct mlq_err *err)
{
    return mlq_store_each_principal(st, load_one, a, err);
}

int mlq_auth_lookup(void *ctx, const char *key_z85, char *user_id, size_t len)
{
    struct mlq_auth *a = ctx;
    pthread_mutex_lock(&a->lock);
    const struct principal *p = mlq_strmap_get(a->by_key, key_z85);
    if (p)
        snprintf(user_id, len, "%s:%s", mlq_auth_role_name(p->role), p->name);
    pthread_mutex_unlock(&a->lock);
    return p ? 0 : -1;
}

int mlq_auth_identity(const char *user_id, bool insecure, struct mlq_identity *out,
                      struct mlq_err *err)
{
    memset(out, 0, sizeof *out);
    if (insecure) {
        out->roles = MLQ_ROLE_USER | MLQ_ROLE_ADMIN | MLQ_ROLE_WORKER;
        out->insecure = true;
        return 0;
    }
    const char *colon = user_id ? strchr(user_id, ':') : NULL;
    char role[16];
    if (!colon || (size_t)(colon - user_id) >= sizeof role || strlen(colon + 1) > MLQ_MAX_NAME)
        return mlq_err_set(err, MLQ_EPERM,
                           "this connection carries no registered key: ask an admin to register "
                           "yours (mlq admin user add)");
    memcpy(role, user_id, (size_t)(colon - user_id));
    role[colon - user_id] = '\0';
    out->roles = mlq_auth_role_parse(role);
    snprintf(out->name, sizeof out->name, "%s", colon + 1);
    if (out->roles == MLQ_ROLE_NONE || !out->name[0])
        return mlq_err_set(err, MLQ_EPERM,
                           "this connection carries no registered key: ask an admin to register "
                           "yours (mlq admin user add)");
    return 0;
}

/* What each request does, as the person who sent it would say it. */
static const char *const request_words[MLQ_MSG_TYPE_COUNT] = {
    [MLQ_MSG_SUBMIT] = "submit jobs",
    [MLQ_MSG_JOBS] = "list jobs",
    [MLQ_MSG_CANCEL] = "cancel jobs",
    [MLQ_MSG_WORKERS] = "list workers",
    [MLQ_MSG_LOGS] = "read job output",
    [MLQ_MSG_DRAIN] = "drain workers",
    [MLQ_MSG_RESUME] = "resume drained workers",
    [MLQ_MSG_WHY] = "ask why a job waits",
    [MLQ_MSG_SCHEDULE_ADD] = "add schedules",
    [MLQ_MSG_SCHEDULE_CMD] = "change schedules",
    [MLQ_MSG_SCHEDULES] = "list schedules",
    [MLQ_MSG_USER_ADD] = "register keys",
    [MLQ_MSG_USER_RM] = "remove keys",
    [MLQ_MSG_USERS] = "list the registered keys",
    [MLQ_MSG_EVENTS] = "read the history",
    [MLQ_MSG_METRICS] = "read the metrics",
    [MLQ_MSG_TOKEN_CREATE] = "create HTTP tokens",
    [MLQ_MSG_TOKEN_RM] = "remove HTTP tokens",
    [MLQ_MSG_TOKENS] = "list HTTP tokens",
    [MLQ_MSG_USAGE] = "read the fair-share usage",
    [MLQ_MSG_BACKUP] = "back up the scheduler's database",
    [MLQ_MSG_WORKER_SET] = "change what a worker offers",
    [MLQ_MSG_WORKER_SUMMARY] = "list the worker pools",
    [MLQ_MSG_REGISTER] = "register as a worker",
    [MLQ_MSG_HEARTBEAT] = "send a worker's heartbeats",
    [MLQ_MSG_REPORT] = "report how a job ended",
    [MLQ_MSG_LOG_CHUNK] = "send job output as a worker",
    [MLQ_MSG_LOG_UPLOAD] = "upload job output as a worker",
    [MLQ_MSG_GOODBYE] = "sign a worker off",
};

/* "a user", "an admin", "a worker". */
static const char *role_with_article(unsigned roles)
{
    if (roles & MLQ_ROLE_ADMIN)
        return "an admin";
    return roles & MLQ_ROLE_WORKER ? "a worker" : "a user";
}

/* "admins", "workers", "users and admins". */
static const char *allowed_words(unsigned allowed)
{
    if (allowed == MLQ_ROLE_ADMIN)
        return "admins";
    if (allowed == MLQ_ROLE_WORKER)
        return "workers";
    return "users and admins";
}

int mlq_auth_refuse(const struct mlq_identity *who, enum mlq_msg_type t, unsigned allowed,
                    struct mlq_err *err)
{
    const char *what = (unsigned)t < MLQ_MSG_TYPE_COUNT ? request_words[t] : NULL;
    char fallback[64];
    if (!what) {
        snprintf(fallback, sizeof fallback, "send %s", mlq_proto_type_name(t));
        what = fallback;
    }
    if (who->roles & MLQ_ROLE_WORKER)
        return mlq_err_set(err, MLQ_EPERM,
                           "a worker's key may not %s (this key is worker %.64s's; use your own)",
                           what, who->name);
    return mlq_err_set(err, MLQ_EPERM, "only %s may %s (you are %.64s, %s)", allowed_words(allowed),
                       what, who->name, role_with_article(who->roles));
}

bool mlq_auth_owns(const struct mlq_identity *who, const char *owner)
{
    return (who->roles & MLQ_ROLE_ADMIN) || (owner && strcmp(owner, who->name) == 0);
}
