/* prototoken: see prototoken.h. The invariants of proto.c hold: a decoded
 * message starts zeroed and an array's count is set as soon as the zeroed
 * array exists, so mlq_proto_msg_free() can always clean up. Names are
 * checked on decode as the CLI checks them before sending. */
#include "prototoken.h"

#include <stdlib.h>
#include <string.h>

#define TOKENINFO_KEYS 6

static const char *const token_roles[] = {"user", "admin"};

static int read_pname(const struct mlq_mpk_map *m, const char *key, char buf[MLQ_MAX_NAME + 1],
                      bool unused)
{
    (void)unused;
    struct mlq_err e;
    int rc = mlq_mpk_read_strbuf(m, key, buf, MLQ_MAX_NAME);
    if (rc == 0 && mlq_proto_principal_name_check(buf, &e) < 0)
        rc = mlq_err_set(m->err, MLQ_EPROTO, "%s: key '%s': %s", m->where, key, e.msg);
    return rc;
}

static int read_role(const struct mlq_mpk_map *m, char buf[MLQ_ROLE_NAME_MAX])
{
    int i = -1;
    int rc = mlq_mpk_read_enum(m, "role", token_roles, 2, false, &i);
    if (rc == 0)
        memcpy(buf, token_roles[i], strlen(token_roles[i]) + 1);
    return rc;
}

void mlq_prototoken_enc_create(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_str(pk, "name", m->u.token_create.name);
    mlq_mpk_kv_str(pk, "principal", m->u.token_create.principal);
    mlq_mpk_kv_str(pk, "role", m->u.token_create.role);
    mlq_mpk_kv_int(pk, "expires_in_ms", m->u.token_create.expires_in_ms);
}

int mlq_prototoken_dec_create(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int rc = read_pname(mp, "name", m->u.token_create.name, false);
    if (rc == 0)
        rc = read_pname(mp, "principal", m->u.token_create.principal, false);
    if (rc == 0)
        rc = read_role(mp, m->u.token_create.role);
    if (rc == 0)
        rc = mlq_mpk_read_int(mp, "expires_in_ms", 0, INT64_MAX / 2,
                              &m->u.token_create.expires_in_ms);
    return rc;
}

void mlq_prototoken_enc_rm(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_str(pk, "name", m->u.token_rm.name);
}

int mlq_prototoken_dec_rm(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    return read_pname(mp, "name", m->u.token_rm.name, false);
}

void mlq_prototoken_enc_list(msgpack_packer *pk, const struct mlq_msg *m)
{
    const struct mlq_tokeninfo *t = m->u.token_list.tokens;
    uint32_t n = t ? m->u.token_list.ntokens : 0;
    mlq_mpk_kv_array(pk, "tokens", n);
    for (uint32_t i = 0; i < n; i++) {
        msgpack_pack_map(pk, TOKENINFO_KEYS);
        mlq_mpk_kv_str(pk, "name", t[i].name);
        mlq_mpk_kv_str(pk, "principal", t[i].principal);
        mlq_mpk_kv_str(pk, "role", t[i].role);
        mlq_mpk_kv_int(pk, "created_ms", t[i].created_ms);
        mlq_mpk_kv_int(pk, "expires_ms", t[i].expires_ms);
        mlq_mpk_kv_str(pk, "secret", t[i].secret);
    }
}

static int read_tokeninfo(const struct mlq_mpk_map *m, struct mlq_tokeninfo *t)
{
    char *secret = NULL;
    int rc = read_pname(m, "name", t->name, false);
    if (rc == 0)
        rc = read_pname(m, "principal", t->principal, false);
    if (rc == 0)
        rc = read_role(m, t->role);
    if (rc == 0)
        rc = mlq_mpk_read_int(m, "created_ms", 0, INT64_MAX, &t->created_ms);
    if (rc == 0)
        rc = mlq_mpk_read_int(m, "expires_ms", 0, INT64_MAX, &t->expires_ms);
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "secret", MLQ_TOKEN_SECRET_LEN, true, &secret);
    if (rc == 0 && secret)
        memcpy(t->secret, secret, strlen(secret) + 1);
    free(secret);
    return rc;
}

int mlq_prototoken_dec_list(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    const msgpack_object_array *a;
    int rc = mlq_mpk_read_array(mp, "tokens", 0, MLQ_MAX_LIST, &a);
    if (rc < 0 || a->size == 0)
        return rc;
    m->u.token_list.tokens = calloc(a->size, sizeof *m->u.token_list.tokens);
    if (!m->u.token_list.tokens)
        return mlq_err_set(mp->err, MLQ_ENOMEM, "token_list: out of memory");
    m->u.token_list.ntokens = a->size;
    for (uint32_t i = 0; i < a->size && rc == 0; i++) {
        struct mlq_mpk_map tm;
        rc = mlq_mpk_map_init(&tm, &a->ptr[i], "tokeninfo", mp->err);
        if (rc == 0)
            rc = read_tokeninfo(&tm, &m->u.token_list.tokens[i]);
    }
    return rc;
}

void mlq_prototoken_free_list(struct mlq_msg *m)
{
    free(m->u.token_list.tokens);
}

/* ---- usage_list ----------------------------------------------------------- */

void mlq_prototoken_enc_usage(msgpack_packer *pk, const struct mlq_msg *m)
{
    const struct mlq_usageinfo *u = m->u.usage_list.users;
    uint32_t n = u ? m->u.usage_list.nusers : 0;
    mlq_mpk_kv_array(pk, "users", n);
    for (uint32_t i = 0; i < n; i++) {
        msgpack_pack_map(pk, 3);
        mlq_mpk_kv_str(pk, "user", u[i].user);
        mlq_mpk_kv_int(pk, "core_s", u[i].core_s);
        mlq_mpk_kv_int(pk, "penalty_milli", u[i].penalty_milli);
    }
}

int mlq_prototoken_dec_usage(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    const msgpack_object_array *a;
    int rc = mlq_mpk_read_array(mp, "users", 0, MLQ_MAX_LIST, &a);
    if (rc < 0 || a->size == 0)
        return rc;
    m->u.usage_list.users = calloc(a->size, sizeof *m->u.usage_list.users);
    if (!m->u.usage_list.users)
        return mlq_err_set(mp->err, MLQ_ENOMEM, "usage_list: out of memory");
    m->u.usage_list.nusers = a->size;
    for (uint32_t i = 0; i < a->size && rc == 0; i++) {
        struct mlq_mpk_map um;
        struct mlq_usageinfo *u = &m->u.usage_list.users[i];
        rc = mlq_mpk_map_init(&um, &a->ptr[i], "usageinfo", mp->err);
        if (rc == 0)
            rc = mlq_mpk_read_strbuf(&um, "user", u->user, MLQ_MAX_NAME);
        if (rc == 0)
            rc = mlq_mpk_read_int(&um, "core_s", 0, INT64_MAX, &u->core_s);
        if (rc == 0)
            rc = mlq_mpk_read_int(&um, "penalty_milli", 0, INT64_MAX, &u->penalty_milli);
    }
    return rc;
}

void mlq_prototoken_free_usage(struct mlq_msg *m)
{
    free(m->u.usage_list.users);
}
