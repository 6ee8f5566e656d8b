/* tokens: see tokens.h. */
#include "tokens.h"

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

#define TOKENS_MAX_LIST 1000

static void hex(const unsigned char *b, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[b[i] >> 4];
        out[2 * i + 1] = digits[b[i] & 15];
    }
    out[2 * n] = '\0';
}

int mlq_tokens_hash(const char *token, size_t len, char out[MLQ_TOKEN_HASH_HEX + 1])
{
    unsigned char d[32];
    if (gnutls_hash_fast(GNUTLS_DIG_SHA256, token, len, d) < 0)
        return MLQ_EIO;
    hex(d, sizeof d, out);
    return 0;
}

int mlq_tokens_identity(struct mlq_ctx *c, const char *hash, char *user_id, size_t len,
                        struct mlq_err *err)
{
    struct mlq_store_token t;
    struct mlq_err e = {0};
    int rc = mlq_store_token_by_hash(c->store, hash, &t, &e);
    if (rc == MLQ_ENOTFOUND)
        return mlq_err_set(err, MLQ_EAUTH, "invalid token");
    if (rc < 0) {
        if (err)
            *err = e;
        return rc;
    }
    if (t.expires_ms > 0 && t.expires_ms <= c->now_wall)
        return mlq_err_set(err, MLQ_EAUTH, "token %s expired", t.name);
    snprintf(user_id, len, "%s:%s", t.role, t.principal);
    return 0;
}

int mlq_tokens_on_create(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                         struct mlq_err *err)
{
    unsigned char raw[32];
    if (getrandom(raw, sizeof raw, 0) != (ssize_t)sizeof raw)
        return mlq_err_set(err, MLQ_EIO, "getrandom failed");
    struct mlq_tokeninfo info = {0};
    memcpy(info.secret, "mlq_", 4);
    hex(raw, sizeof raw, info.secret + 4);
    memset(raw, 0, sizeof raw);
    struct mlq_store_token t = {0};
    snprintf(t.name, sizeof t.name, "%s", msg->u.token_create.name);
    snprintf(t.principal, sizeof t.principal, "%s", msg->u.token_create.principal);
    snprintf(t.role, sizeof t.role, "%s", msg->u.token_create.role);
    t.created_ms = c->now_wall;
    t.expires_ms =
        msg->u.token_create.expires_in_ms > 0 ? c->now_wall + msg->u.token_create.expires_in_ms : 0;
    int rc = mlq_tokens_hash(info.secret, strlen(info.secret), t.hash);
    if (rc < 0)
        return mlq_err_set(err, rc, "hashing the token failed");
    if ((rc = mlq_store_begin(c->store, err)) < 0 ||
        (rc = mlq_store_token_add(c->store, &t, err)) < 0)
        return rc;
    memcpy(info.name, t.name, sizeof info.name);
    memcpy(info.principal, t.principal, sizeof info.principal);
    memcpy(info.role, t.role, sizeof info.role);
    info.created_ms = t.created_ms;
    info.expires_ms = t.expires_ms;
    struct mlq_msg m = {.type = MLQ_MSG_TOKEN_LIST, .rid = msg->rid};
    m.u.token_list.tokens = &info;
    m.u.token_list.ntokens = 1;
    rc = mlq_outbox_reply(c->out, peer, &m, err);
    memset(&info, 0, sizeof info);
    return rc;
}

int mlq_tokens_on_rm(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                     struct mlq_err *err)
{
    int rc = mlq_store_begin(c->store, err);
    if (rc == 0)
        rc = mlq_store_token_delete(c->store, msg->u.token_rm.name, err);
    if (rc < 0)
        return rc;
    struct mlq_msg m = {.type = MLQ_MSG_OK, .rid = msg->rid};
    return mlq_outbox_reply(c->out, peer, &m, err);
}

struct list_acc {
    struct mlq_tokeninfo *v;
    uint32_t n;
};

static int add_one(const struct mlq_store_token *t, void *ctx)
{
    struct list_acc *a = ctx;
    if (a->n >= TOKENS_MAX_LIST)
        return 1; /* enough for one reply */
    struct mlq_tokeninfo *d = &a->v[a->n++];
    memcpy(d->name, t->name, sizeof d->name);
    memcpy(d->principal, t->principal, sizeof d->principal);
    snprintf(d->role, sizeof d->role, "%s", t->role);
    d->created_ms = t->created_ms;
    d->expires_ms = t->expires_ms;
    return 0;
}

int mlq_tokens_on_list(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                       struct mlq_err *err)
{
    struct list_acc a = {calloc(TOKENS_MAX_LIST, sizeof *a.v), 0};
    if (!a.v)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    int rc = mlq_store_token_each(c->store, add_one, &a, err);
    if (rc >= 0) {
        struct mlq_msg m = {.type = MLQ_MSG_TOKEN_LIST, .rid = msg->rid};
        m.u.token_list.tokens = a.v;
        m.u.token_list.ntokens = a.n;
        rc = mlq_outbox_reply(c->out, peer, &m, err);
    }
    free(a.v);
    return rc;
}
