/* submitmany: see submitmany.h. */
#include "submitmany.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "client.h"
#include "envname.h"
#include "id.h"
#include "idemhash.h"
#include "jobops.h"
#include "preemptrun.h"
#include "sharedenv.h"
#include "log.h"
#include "mpk.h"

/* Prefixes err's message with the job's number in the request. */
static int job_err(int rc, uint32_t i, struct mlq_err *err)
{
    if (err) {
        char msg[MLQ_ERR_MSG_MAX];
        snprintf(msg, sizeof msg, "job %u: %.*s", i + 1, MLQ_ERR_MSG_MAX - 20, err->msg);
        snprintf(err->msg, sizeof err->msg, "%s", msg);
        err->code = rc;
    }
    return rc;
}

/* One spec made what a single submit would store: its owner, the shared
 * environment under its own, the same checks. Changes nothing else. A job
 * without entries of its own keeps none: it will name the batch's stored
 * environment (env, envc: already checked, scheduler-set names stripped),
 * checked once for the batch (check_shared). With hash (a request with a
 * key), the spec is folded into the request's hash as the job would be
 * stored whole, with its dependencies as typed, as a single submit's is. */
static int prepare_one(struct mlq_ctx *c, char *const *env, uint32_t envc, struct mlq_jobspec *spec,
                       char *hash, struct mlq_err *err)
{
    if (spec->array)
        return mlq_err_set(err, MLQ_EINVAL, "an array cannot be one of many jobs; submit it alone");
    if (spec->idempotency_key)
        return mlq_err_set(err, MLQ_EINVAL,
                           "idempotency keys are not taken per job in a submit_many");
    int rc = mlq_client_set_owner(c, spec, err);
    if (rc == 0 && envc > 0 && spec->envc > 0) {
        char **merged;
        uint32_t n;
        rc = mlq_envname_merge(env, envc, spec->env, spec->envc, &merged, &n, err);
        if (rc == 0) {
            mlq_mpk_strv_free(spec->env, spec->envc);
            spec->env = merged;
            spec->envc = n;
        }
    }
    if (rc == 0)
        rc = mlq_envname_check_user(spec->env, spec->envc, err);
    if (rc == 0)
        rc = mlq_proto_jobspec_check(spec, err);
    if (rc == 0)
        rc = mlq_preempt_spec_check(c, spec, err);
    if (rc == 0)
        mlq_envname_strip_scheduler_set(spec); /* only a schedule's runs have them */
    if (rc == 0 && hash) {
        struct mlq_jobspec whole = *spec;
        if (spec->envc == 0) {
            whole.env = (char **)env;
            whole.envc = envc;
        }
        rc = mlq_idemhash_chain(hash, &whole, err);
    }
    if (rc == 0)
        rc = mlq_client_resolve_deps(c, spec, err);
    return rc;
}

/* Removes the scheduler-set names from the request's shared environment,
 * as from each job's (only a schedule's runs have them). */
static void strip_shared(struct mlq_msg *msg)
{
    struct mlq_jobspec shared = {.env = msg->u.submit_many.env, .envc = msg->u.submit_many.envc};
    mlq_envname_strip_scheduler_set(&shared);
    msg->u.submit_many.envc = shared.envc;
}

static bool same_env(const struct mlq_jobspec *a, const struct mlq_jobspec *b)
{
    if (a->envc != b->envc)
        return false;
    for (uint32_t i = 0; i < a->envc; i++)
        if (strcmp(a->env[i], b->env[i]) != 0)
            return false;
    return true;
}

/* A request without a shared environment whose jobs all bring the same one
 * (an HTTP batch, where each job carries its own) gets it as the shared
 * one, so that it is stored once as well: the same environment for every
 * job, only held once. */
static void hoist_common(struct mlq_msg *msg)
{
    struct mlq_jobspec *specs = msg->u.submit_many.specs;
    uint32_t n = msg->u.submit_many.nspecs;
    if (msg->u.submit_many.envc > 0 || n < 2 || specs[0].envc == 0)
        return;
    for (uint32_t i = 1; i < n; i++)
        if (!same_env(&specs[0], &specs[i]))
            return;
    mlq_mpk_strv_free(msg->u.submit_many.env, msg->u.submit_many.envc);
    msg->u.submit_many.env = specs[0].env;
    msg->u.submit_many.envc = specs[0].envc;
    specs[0].env = NULL;
    specs[0].envc = 0;
    for (uint32_t i = 1; i < n; i++) {
        mlq_mpk_strv_free(specs[i].env, specs[i].envc);
        specs[i].env = NULL;
        specs[i].envc = 0;
    }
}

/* Checks the shared environment once as each job's own would be: job 1's
 * spec (checked already) with it as its environment. */
static int check_shared(const struct mlq_msg *msg, struct mlq_err *err)
{
    if (msg->u.submit_many.envc == 0)
        return 0;
    struct mlq_jobspec whole = msg->u.submit_many.specs[0];
    whole.env = msg->u.submit_many.env;
    whole.envc = msg->u.submit_many.envc;
    int rc = mlq_envname_check_user(whole.env, whole.envc, err);
    if (rc == 0)
        rc = mlq_proto_jobspec_check(&whole, err);
    if (rc < 0 && err) {
        char msg_[MLQ_ERR_MSG_MAX];
        snprintf(msg_, sizeof msg_, "the shared environment: %.*s", MLQ_ERR_MSG_MAX - 40, err->msg);
        snprintf(err->msg, sizeof err->msg, "%s", msg_);
    }
    return rc;
}

/* Stores and queues spec as a new job, taking its contents. */
static int add_one(struct mlq_ctx *c, struct mlq_jobspec *spec, int64_t env_id,
                   char id[MLQ_ID_LEN + 1], struct mlq_err *err)
{
    struct mlq_store_job row = {.spec = *spec, .env_id = spec->envc == 0 ? env_id : 0};
    memcpy(row.id, id, MLQ_ID_LEN + 1);
    struct mlq_job *job;
    memset(spec, 0, sizeof *spec);
    int rc = mlq_jobops_add(c, &row, &job, err);
    if (rc < 0) {
        mlq_store_job_free(&row);
        return rc;
    }
    return mlq_jobops_admit(c, job, err);
}

/* An id and the first 8 characters of its text as a number in the same
 * order (hex digits sort as ASCII bytes do, so comparing their big-endian
 * value compares the text): most comparisons are one of integers. */
struct id_key {
    uint64_t k;
    const char *id;
};

static int id_cmp(const void *a, const void *b)
{
    const struct id_key *x = a, *y = b;
    if (x->k != y->k)
        return x->k < y->k ? -1 : 1;
    return memcmp(x->id, y->id, MLQ_ID_LEN);
}

/* New random ids for the n jobs, in ascending order: the rows then go
 * into the id index one after the other instead of all over it, which
 * touches fewer pages (a third less CPU for the inserts into a large
 * table). The ids stay as random as a single submit's. */
static int new_ids(char (*ids)[MLQ_ID_LEN + 1], uint32_t n, struct mlq_err *err)
{
    char(*text)[MLQ_ID_LEN + 1] = malloc((size_t)n * sizeof *text);
    struct id_key *keys = malloc((size_t)n * sizeof *keys);
    if (!text || !keys) {
        free(text);
        free(keys);
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    }
    for (uint32_t i = 0; i < n; i++) {
        mlq_id_new(text[i]);
        uint64_t k = 0;
        for (int c = 0; c < 8; c++)
            k = k << 8 | (unsigned char)text[i][c];
        keys[i] = (struct id_key){.k = k, .id = text[i]};
    }
    qsort(keys, n, sizeof *keys, id_cmp);
    for (uint32_t i = 0; i < n; i++)
        memcpy(ids[i], keys[i].id, MLQ_ID_LEN + 1);
    free(text);
    free(keys);
    return 0;
}

/* Gives each job without entries of its own a copy of the shared
 * environment: the fallback when it cannot be stored once. */
static int copy_shared(struct mlq_msg *msg, struct mlq_err *err)
{
    for (uint32_t i = 0; i < msg->u.submit_many.nspecs; i++) {
        struct mlq_jobspec *spec = &msg->u.submit_many.specs[i];
        if (spec->envc == 0 && mlq_envname_merge(msg->u.submit_many.env, msg->u.submit_many.envc,
                                                 NULL, 0, &spec->env, &spec->envc, err) < 0)
            return MLQ_ENOMEM;
    }
    return 0;
}

/* Stores the shared environment once, referenced by every job that has no
 * entries of its own; *env_id names it (0: none to store). */
static int store_shared(struct mlq_ctx *c, struct mlq_msg *msg, int64_t *env_id,
                        struct mlq_err *err)
{
    *env_id = 0;
    uint32_t users = 0;
    for (uint32_t i = 0; i < msg->u.submit_many.nspecs; i++)
        users += msg->u.submit_many.specs[i].envc == 0;
    if (users == 0 || msg->u.submit_many.envc == 0)
        return 0;
    struct mlq_err e = {0};
    int rc = mlq_store_env_put(c->store, msg->u.submit_many.env, msg->u.submit_many.envc, users,
                               env_id, &e);
    if (rc == MLQ_ESTATE) { /* another environment with its hash: keep copies */
        mlq_warn("%s; its jobs keep copies of their own", e.msg);
        return copy_shared(msg, err);
    }
    if (rc < 0 && err)
        *err = e;
    if (rc == 0)
        mlq_sharedenv_forget(c->envs, *env_id);
    return rc;
}

/* Remembers the request's key: its first and its last job. */
static int note_key(struct mlq_ctx *c, const char *owner, const char *key, const char *hash,
                    const struct mlq_msg *m, struct mlq_err *err)
{
    char last_key[MLQ_MAX_IDEM_KEY + 8];
    snprintf(last_key, sizeof last_key, "%s" MLQ_STORE_IDEM_LAST, key);
    const uint32_t n = m->u.submitted_many.nids;
    int rc = mlq_store_idem_put(c->store, owner, key, m->u.submitted_many.ids[0], hash, c->now_wall,
                                err);
    if (rc == 0)
        rc = mlq_store_idem_put(c->store, owner, last_key, m->u.submitted_many.ids[n - 1], NULL,
                                c->now_wall, err);
    return rc;
}

/* Stores every job of the request, in order, their ids into m. */
static int add_all(struct mlq_ctx *c, struct mlq_msg *msg, const char *owner, const char *hash,
                   struct mlq_msg *m, struct mlq_err *err)
{
    struct mlq_jobspec *specs = msg->u.submit_many.specs;
    int64_t env_id = 0;
    const uint32_t n = m->u.submitted_many.nids;
    int rc = new_ids(m->u.submitted_many.ids, n, err);
    if (rc == 0)
        rc = mlq_store_begin(c->store, err);
    if (rc == 0)
        rc = store_shared(c, msg, &env_id, err);
    /* One "submit" event for the batch instead of one row per job. */
    bool batch = rc == 0 && n > 1;
    if (batch)
        rc = mlq_store_submit_batch_begin(c->store, n, err);
    for (uint32_t i = 0; rc == 0 && i < n; i++)
        rc = add_one(c, &specs[i], env_id, m->u.submitted_many.ids[i], err);
    if (batch)
        rc = mlq_store_submit_batch_end(c->store, rc, err);
    if (rc == 0 && msg->u.submit_many.idempotency_key)
        rc = note_key(c, owner, msg->u.submit_many.idempotency_key, hash, m, err);
    return rc;
}

/* With a key: 1 when owner sent this very request before (its ids into m),
 * 0 when the key is unused, < 0 when the key is refused. */
static int seen_before(struct mlq_ctx *c, const char *owner, const char *key, const char *hash,
                       struct mlq_msg *m, struct mlq_err *err)
{
    if (!owner[0])
        return mlq_err_set(err, MLQ_EINVAL, "an idempotency key needs an owner");
    char first[MLQ_ID_LEN + 1];
    int rc = mlq_idemhash_seen(c->store, owner, key, c->now_wall, hash, first, err);
    if (rc == 1 &&
        (rc = mlq_store_idem_many_get(c->store, owner, key, c->now_wall, m->u.submitted_many.nids,
                                      m->u.submitted_many.ids, err)) == 0)
        rc = 1;
    return rc;
}

int mlq_submitmany_on_request(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                              struct mlq_err *err)
{
    struct mlq_jobspec *specs = msg->u.submit_many.specs;
    uint32_t n = msg->u.submit_many.nspecs;
    const char *key = msg->u.submit_many.idempotency_key;
    char hash[MLQ_STORE_HASH_HEX + 1] = "";
    hoist_common(msg);
    strip_shared(msg);
    for (uint32_t i = 0; i < n; i++) {
        int rc = prepare_one(c, msg->u.submit_many.env, msg->u.submit_many.envc, &specs[i],
                             key ? hash : NULL, err);
        if (rc < 0)
            return job_err(rc, i, err);
    }
    int rc0 = check_shared(msg, err);
    if (rc0 < 0)
        return rc0;
    char owner[MLQ_MAX_NAME + 1]; /* the specs are moved away */
    snprintf(owner, sizeof owner, "%s", specs[0].owner ? specs[0].owner : "");
    struct mlq_msg m = {.type = MLQ_MSG_SUBMITTED_MANY, .rid = msg->rid};
    m.u.submitted_many.ids = calloc(n, sizeof *m.u.submitted_many.ids);
    if (!m.u.submitted_many.ids)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    m.u.submitted_many.nids = n;
    int rc = key ? seen_before(c, owner, key, hash, &m, err) : 0;
    if (rc != 0) { /* submitted before (same answer), or refused */
        if (rc == 1)
            rc = mlq_outbox_reply(c->out, peer, &m, err);
        free(m.u.submitted_many.ids);
        return rc;
    }
    rc = add_all(c, msg, owner, hash, &m, err);
    /* Some jobs may already be in memory: only a rollback of the whole
     * iteration (and a reload) undoes them, which MLQ_EDB asks the loop for. */
    if (rc < 0) {
        free(m.u.submitted_many.ids);
        return err && err->code != MLQ_EDB
                   ? mlq_err_set(err, MLQ_EDB, "submitting many jobs failed: %.100s", err->msg)
                   : MLQ_EDB;
    }
    mlq_info("%u jobs submitted in one request by %s, the first %.8s", n, owner,
             m.u.submitted_many.ids[0]);
    rc = mlq_outbox_reply(c->out, peer, &m, err);
    free(m.u.submitted_many.ids);
    return rc;
}
