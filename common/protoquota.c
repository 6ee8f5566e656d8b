/* protoquota: see protoquota.h, proto.h and docs/protocol.md (normative).
 *
 * The invariants of proto.c hold here: a decoded message starts zeroed,
 * every pointer is NULL or owned, and an array's count is set as soon as
 * the zeroed array is allocated. Team and pool names are checked on decode
 * as principal names are; every amount is bounded: nominal amounts and
 * user limits are MLQ_QUOTA_UNLIMITED or 0..QUOTA_MAX, borrow caps and use
 * 0..QUOTA_MAX. */
#include "protoquota.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protoauth.h"

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))
/* Far beyond any cluster (2^50 bytes of memory, 10^13 GPUs), small enough
 * that sums over a listing never overflow. */
#define QUOTA_MAX (INT64_C(1) << 50)

static const char *const op_names[] = {"set", "rm", "list"};

/* The amounts of q in wire order, with whether each may be unlimited. */
struct field {
    const char *key;
    size_t off;
    bool unlimited_ok;
};

#define F(name, u)                                                                                 \
    {                                                                                              \
#name, offsetof(struct mlq_quotainfo, name), u                                             \
    }
static const struct field fields[] = {
    F(gpus_h, true),           F(cpus_m, true),           F(mem, true),
    F(borrow_gpus_h, false),   F(borrow_cpus_m, false),   F(borrow_mem, false),
    F(user_max_running, true), F(user_max_gpus_h, true),  F(used_gpus_h, false),
    F(used_cpus_m, false),     F(used_mem, false),        F(running, false),
    F(borrowed_gpus_h, false), F(borrowed_cpus_m, false), F(borrowed_mem, false),
};
#undef F

_Static_assert(NELEM(fields) + 3 == MLQ_PROTOQUOTA_INFO_KEYS,
               "team, pool, the amounts and the GPU types");

static int64_t *at(struct mlq_quotainfo *q, int i)
{
    return (int64_t *)((char *)q + fields[i].off);
}

int mlq_proto_quota_types_parse(const char *s, struct mlq_quota_type out[MLQ_QUOTA_MAX_TYPES],
                                int *n, struct mlq_err *err)
{
    *n = 0;
    for (const char *p = s; *p;) {
        size_t len = strcspn(p, ","), tl = strcspn(p, ":");
        char type[MLQ_MAX_GPU_TYPE + 1], *end;
        if (*n == MLQ_QUOTA_MAX_TYPES)
            return mlq_err_set(err, MLQ_EINVAL, "at most %d GPU types in a quota",
                               MLQ_QUOTA_MAX_TYPES);
        if (tl >= len || tl > MLQ_MAX_GPU_TYPE)
            return mlq_err_set(err, MLQ_EINVAL, "GPU type amount \"%.*s\" is not TYPE:AMOUNT",
                               (int)(len < 60 ? len : 60), p);
        memcpy(type, p, tl);
        type[tl] = '\0';
        int rc = mlq_proto_gpu_type_check(type, err);
        long long v = strtoll(p + tl + 1, &end, 10);
        if (rc < 0)
            return rc;
        if (end != p + len || p[tl + 1] < '0' || p[tl + 1] > '9' || v > QUOTA_MAX)
            return mlq_err_set(err, MLQ_EINVAL, "GPU type %s: bad amount", type);
        for (int i = 0; i < *n; i++)
            if (strcmp(out[i].type, type) == 0)
                return mlq_err_set(err, MLQ_EINVAL, "GPU type %s given twice", type);
        snprintf(out[*n].type, sizeof out[*n].type, "%s", type);
        out[(*n)++].gpus_h = v;
        p += len + (p[len] == ',');
    }
    return 0;
}

void mlq_proto_quota_types_fmt(const struct mlq_quota_type *t, int n,
                               char buf[MLQ_QUOTA_TYPES_LEN + 1])
{
    size_t off = 0;
    buf[0] = '\0';
    for (int i = 0; i < n && off < MLQ_QUOTA_TYPES_LEN + 1; i++)
        off += (size_t)snprintf(buf + off, MLQ_QUOTA_TYPES_LEN + 1 - off, "%s%s:%lld", i ? "," : "",
                                t[i].type, (long long)t[i].gpus_h);
}

static void put_info(msgpack_packer *pk, const struct mlq_quotainfo *q)
{
    mlq_mpk_kv_str(pk, "team", q->team[0] ? q->team : NULL);
    mlq_mpk_kv_str(pk, "pool", q->pool[0] ? q->pool : NULL);
    for (int i = 0; i < NELEM(fields); i++)
        mlq_mpk_kv_int(pk, fields[i].key, *at((struct mlq_quotainfo *)q, i));
    mlq_mpk_kv_str(pk, "gpu_types", q->gpu_types[0] ? q->gpu_types : NULL);
}

/* A name under key into buf, nil or absent = "". */
static int read_name(const struct mlq_mpk_map *m, const char *key, char buf[MLQ_MAX_NAME + 1])
{
    const msgpack_object *o = mlq_mpk_get(m, key);
    struct mlq_err e;
    buf[0] = '\0';
    if (!o || o->type == MSGPACK_OBJECT_NIL)
        return 0;
    int rc = mlq_mpk_read_strbuf(m, key, buf, MLQ_MAX_NAME);
    if (rc == 0 && mlq_proto_principal_name_check(buf, &e) < 0)
        rc = mlq_err_set(m->err, MLQ_EPROTO, "%s: key '%s': %s", m->where, key, e.msg);
    return rc;
}

static int read_info(const struct mlq_mpk_map *m, struct mlq_quotainfo *q)
{
    int rc = read_name(m, "team", q->team);
    if (rc == 0)
        rc = read_name(m, "pool", q->pool);
    for (int i = 0; rc == 0 && i < NELEM(fields); i++)
        rc = mlq_mpk_opt_int(m, fields[i].key, fields[i].unlimited_ok ? MLQ_QUOTA_UNLIMITED : 0,
                             QUOTA_MAX, at(q, i));
    const msgpack_object *o = mlq_mpk_get(m, "gpu_types");
    if (rc == 0 && o && o->type != MSGPACK_OBJECT_NIL)
        rc = mlq_mpk_read_strbuf(m, "gpu_types", q->gpu_types, MLQ_QUOTA_TYPES_LEN);
    struct mlq_quota_type t[MLQ_QUOTA_MAX_TYPES];
    struct mlq_err e;
    int n;
    if (rc == 0 && mlq_proto_quota_types_parse(q->gpu_types, t, &n, &e) < 0)
        rc = mlq_err_set(m->err, MLQ_EPROTO, "%s: key 'gpu_types': %s", m->where, e.msg);
    return rc;
}

void mlq_protoquota_enc_cmd(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_str(pk, "op", m->u.quota_cmd.op);
    mlq_mpk_kv_map(pk, "quota", MLQ_PROTOQUOTA_INFO_KEYS);
    put_info(pk, &m->u.quota_cmd.q);
}

int mlq_protoquota_dec_cmd(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int op = 0;
    int rc = mlq_mpk_read_enum(mp, "op", op_names, NELEM(op_names), false, &op);
    if (rc == 0)
        snprintf(m->u.quota_cmd.op, sizeof m->u.quota_cmd.op, "%s", op_names[op]);
    struct mlq_mpk_map qm;
    if (rc == 0)
        rc = mlq_mpk_read_map(mp, "quota", "quota", &qm);
    if (rc == 0)
        rc = read_info(&qm, &m->u.quota_cmd.q);
    if (rc == 0 && op != 2 && !m->u.quota_cmd.q.team[0])
        rc = mlq_err_set(mp->err, MLQ_EPROTO, "%s: quota %s needs a team", mp->where, op_names[op]);
    return rc;
}

void mlq_protoquota_enc_list(msgpack_packer *pk, const struct mlq_msg *m)
{
    const struct mlq_quotainfo *q = m->u.quota_list.quotas;
    uint32_t n = q ? m->u.quota_list.nquotas : 0;
    mlq_mpk_kv_array(pk, "quotas", n);
    for (uint32_t i = 0; i < n; i++) {
        msgpack_pack_map(pk, MLQ_PROTOQUOTA_INFO_KEYS);
        put_info(pk, &q[i]);
    }
}

int mlq_protoquota_dec_list(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    const msgpack_object_array *a;
    int rc = mlq_mpk_read_array(mp, "quotas", 0, MLQ_MAX_LIST, &a);
    if (rc < 0 || a->size == 0)
        return rc;
    m->u.quota_list.quotas = calloc(a->size, sizeof *m->u.quota_list.quotas);
    if (!m->u.quota_list.quotas)
        return mlq_err_set(mp->err, MLQ_ENOMEM, "quota_list: out of memory");
    m->u.quota_list.nquotas = a->size;
    for (uint32_t i = 0; i < a->size && rc == 0; i++) {
        struct mlq_mpk_map qm;
        rc = mlq_mpk_map_init(&qm, &a->ptr[i], "quotainfo", mp->err);
        if (rc == 0)
            rc = read_info(&qm, &m->u.quota_list.quotas[i]);
    }
    return rc;
}

void mlq_protoquota_free_list(struct mlq_msg *m)
{
    free(m->u.quota_list.quotas);
}
