/* protoauth: see protoauth.h, proto.h and docs/protocol.md (normative).
 *
 * The invariants of proto.c hold here: a decoded message starts zeroed,
 * every pointer is NULL or owned, and an array's count is set as soon as
 * the zeroed array is allocated, so mlq_proto_msg_free() can always clean
 * up. Names and keys are checked on decode exactly as the CLI checks them
 * before sending, so a scheduler never stores a name it could not print. */
#include "protoauth.h"

#include <stdlib.h>
#include <string.h>

#include "keys.h"
#include "z85.h"

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

static const char *const role_names[] = {"user", "admin", "worker"};
static const char *const kind_names[] = {"user", "worker"};

#define USERINFO_KEYS  5
#define EVENTINFO_KEYS 10

int mlq_proto_principal_name_check(const char *name, struct mlq_err *err)
{
    size_t n = name ? strnlen(name, MLQ_MAX_NAME + 1) : 0;
    if (n == 0)
        return mlq_err_set(err, MLQ_EINVAL, "a name must not be empty");
    if (n > MLQ_MAX_NAME)
        return mlq_err_set(err, MLQ_EINVAL, "a name is at most %d bytes", MLQ_MAX_NAME);
    size_t ok = strspn(name, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.@-");
    if (ok != n)
        return mlq_err_set(err, MLQ_EINVAL, "a name may hold only A-Z a-z 0-9 _ . @ -");
    return 0;
}

void mlq_proto_eventinfo_free(struct mlq_eventinfo *e)
{
    if (!e)
        return;
    free(e->kind);
    free(e->job_id);
    free(e->attempt_id);
    free(e->worker);
    free(e->actor);
    free(e->from);
    free(e->to);
    free(e->detail);
    memset(e, 0, sizeof *e);
}

/* ---- assign ------------------------------------------------------------- */

void mlq_protoauth_put_assign(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_bool(pk, "allow_root", m->u.assign.allow_root);
}

int mlq_protoauth_read_assign(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    return mlq_mpk_opt_bool(mp, "allow_root", &m->u.assign.allow_root);
}

/* ---- shared readers ----------------------------------------------------- */

static int read_name(const struct mlq_mpk_map *m, char buf[MLQ_MAX_NAME + 1])
{
    struct mlq_err e;
    int rc = mlq_mpk_read_strbuf(m, "name", buf, MLQ_MAX_NAME);
    if (rc == 0 && mlq_proto_principal_name_check(buf, &e) < 0)
        rc = mlq_err_set(m->err, MLQ_EPROTO, "%s: key 'name': %s", m->where, e.msg);
    return rc;
}

static int read_key(const struct mlq_mpk_map *m, char buf[MLQ_KEY_Z85_LEN + 1])
{
    int rc = mlq_mpk_read_strbuf(m, "key", buf, MLQ_KEY_Z85_LEN);
    if (rc == 0 && !mlq_z85_valid(buf, MLQ_KEY_Z85_LEN))
        rc = mlq_err_set(m->err, MLQ_EPROTO, "%s: key 'key' is not a z85 public key", m->where);
    return rc;
}

/* One of names[] into buf (MLQ_ROLE_NAME_MAX bytes). */
static int read_word(const struct mlq_mpk_map *m, const char *key, const char *const *names, int n,
                     char buf[MLQ_ROLE_NAME_MAX])
{
    int i = -1;
    int rc = mlq_mpk_read_enum(m, key, names, n, false, &i);
    if (rc == 0)
        memcpy(buf, names[i], strlen(names[i]) + 1);
    return rc;
}

/* ---- user_add, user_rm -------------------------------------------------- */

void mlq_protoauth_enc_user_add(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_str(pk, "name", m->u.user_add.name);
    mlq_mpk_kv_str(pk, "key", m->u.user_add.key);
    mlq_mpk_kv_str(pk, "role", m->u.user_add.role);
    mlq_mpk_kv_str(pk, "team", m->u.user_add.team[0] ? m->u.user_add.team : NULL);
}

/* An optional team name ("team": nil or absent = "") into buf. */
int mlq_protoauth_read_team(const struct mlq_mpk_map *m, char buf[MLQ_MAX_NAME + 1])
{
    const msgpack_object *o = mlq_mpk_get(m, "team");
    struct mlq_err e;
    buf[0] = '\0';
    if (!o || o->type == MSGPACK_OBJECT_NIL)
        return 0;
    int rc = mlq_mpk_read_strbuf(m, "team", buf, MLQ_MAX_NAME);
    if (rc == 0 && mlq_proto_principal_name_check(buf, &e) < 0)
        rc = mlq_err_set(m->err, MLQ_EPROTO, "%s: key 'team': %s", m->where, e.msg);
    return rc;
}

int mlq_protoauth_dec_user_add(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int rc = read_name(mp, m->u.user_add.name);
    if (rc == 0)
        rc = read_key(mp, m->u.user_add.key);
    if (rc == 0)
        rc = read_word(mp, "role", role_names, NELEM(role_names), m->u.user_add.role);
    if (rc == 0)
        rc = mlq_protoauth_read_team(mp, m->u.user_add.team);
    return rc;
}

void mlq_protoauth_enc_user_rm(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_str(pk, "name", m->u.user_rm.name);
    mlq_mpk_kv_str(pk, "kind", m->u.user_rm.kind);
}

int mlq_protoauth_dec_user_rm(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int rc = read_name(mp, m->u.user_rm.name);
    if (rc == 0)
        rc = read_word(mp, "kind", kind_names, NELEM(kind_names), m->u.user_rm.kind);
    return rc;
}

/* ---- user_list ---------------------------------------------------------- */

void mlq_protoauth_enc_user_list(msgpack_packer *pk, const struct mlq_msg *m)
{
    const struct mlq_userinfo *u = m->u.user_list.users;
    uint32_t n = u ? m->u.user_list.nusers : 0;
    mlq_mpk_kv_array(pk, "users", n);
    for (uint32_t i = 0; i < n; i++) {
        msgpack_pack_map(pk, USERINFO_KEYS);
        mlq_mpk_kv_str(pk, "name", u[i].name);
        mlq_mpk_kv_str(pk, "role", u[i].role);
        mlq_mpk_kv_str(pk, "key", u[i].key);
        mlq_mpk_kv_int(pk, "added_ms", u[i].added_ms);
        mlq_mpk_kv_str(pk, "team", u[i].team[0] ? u[i].team : NULL);
    }
}

static int read_userinfo(const struct mlq_mpk_map *m, struct mlq_userinfo *u)
{
    int rc = read_name(m, u->name);
    if (rc == 0)
        rc = read_word(m, "role", role_names, NELEM(role_names), u->role);
    if (rc == 0)
        rc = read_key(m, u->key);
    if (rc == 0)
        rc = mlq_mpk_read_int(m, "added_ms", 0, INT64_MAX, &u->added_ms);
    if (rc == 0)
        rc = mlq_protoauth_read_team(m, u->team);
    return rc;
}

int mlq_protoauth_dec_user_list(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    const msgpack_object_array *a;
    int rc = mlq_mpk_read_array(mp, "users", 0, MLQ_MAX_LIST, &a);
    if (rc < 0 || a->size == 0)
        return rc;
    m->u.user_list.users = calloc(a->size, sizeof *m->u.user_list.users);
    if (!m->u.user_list.users)
        return mlq_err_set(mp->err, MLQ_ENOMEM, "user_list: out of memory");
    m->u.user_list.nusers = a->size;
    for (uint32_t i = 0; i < a->size && rc == 0; i++) {
        struct mlq_mpk_map um;
        rc = mlq_mpk_map_init(&um, &a->ptr[i], "userinfo", mp->err);
        if (rc == 0)
            rc = read_userinfo(&um, &m->u.user_list.users[i]);
    }
    return rc;
}

void mlq_protoauth_free_user_list(struct mlq_msg *m)
{
    free(m->u.user_list.users);
}

/* ---- events ------------------------------------------------------------- */

void mlq_protoauth_enc_events(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_str(pk, "job", m->u.events.job);
    mlq_mpk_kv_int(pk, "since_ms", m->u.events.since_ms);
    mlq_mpk_kv_uint(pk, "limit", m->u.events.limit);
}

int mlq_protoauth_dec_events(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    uint64_t since = 0, limit = 0;
    int rc = mlq_mpk_read_str(mp, "job", MLQ_MAX_JOBREF, true, &m->u.events.job);
    if (rc == 0 && m->u.events.job && m->u.events.job[0] == '\0')
        rc = mlq_err_set(mp->err, MLQ_EPROTO, "events: key 'job' must not be empty");
    if (rc == 0)
        rc = mlq_mpk_read_uint(mp, "since_ms", INT64_MAX, &since);
    if (rc == 0)
        rc = mlq_mpk_read_uint(mp, "limit", MLQ_MAX_LIST, &limit);
    m->u.events.since_ms = (int64_t)since;
    m->u.events.limit = (uint32_t)limit;
    return rc;
}

void mlq_protoauth_free_events(struct mlq_msg *m)
{
    free(m->u.events.job);
}

/* ---- event_list --------------------------------------------------------- */

static void put_eventinfo(msgpack_packer *pk, const struct mlq_eventinfo *e)
{
    msgpack_pack_map(pk, EVENTINFO_KEYS);
    mlq_mpk_kv_uint(pk, "seq", (uint64_t)(e->seq > 0 ? e->seq : 0));
    mlq_mpk_kv_int(pk, "time_ms", e->time_ms);
    mlq_mpk_kv_str(pk, "kind", e->kind);
    mlq_mpk_kv_str(pk, "job_id", e->job_id);
    mlq_mpk_kv_str(pk, "attempt_id", e->attempt_id);
    mlq_mpk_kv_str(pk, "worker", e->worker);
    mlq_mpk_kv_str(pk, "actor", e->actor);
    mlq_mpk_kv_str(pk, "from", e->from);
    mlq_mpk_kv_str(pk, "to", e->to);
    mlq_mpk_kv_str(pk, "detail", e->detail);
}

void mlq_protoauth_enc_event_list(msgpack_packer *pk, const struct mlq_msg *m)
{
    const struct mlq_eventinfo *e = m->u.event_list.events;
    uint32_t n = e ? m->u.event_list.nevents : 0;
    mlq_mpk_kv_array(pk, "events", n);
    for (uint32_t i = 0; i < n; i++)
        put_eventinfo(pk, &e[i]);
}

static int read_eventinfo_text(const struct mlq_mpk_map *m, struct mlq_eventinfo *e)
{
    int rc = mlq_mpk_read_str(m, "kind", MLQ_MAX_NAME, false, &e->kind);
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "job_id", MLQ_MAX_REF, true, &e->job_id);
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "attempt_id", MLQ_MAX_REF, true, &e->attempt_id);
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "worker", MLQ_MAX_NAME, true, &e->worker);
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "actor", MLQ_MAX_ACTOR, true, &e->actor);
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "from", MLQ_MAX_NAME, true, &e->from);
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "to", MLQ_MAX_NAME, true, &e->to);
    if (rc == 0)
        rc = mlq_mpk_read_str(m, "detail", MLQ_MAX_STR, true, &e->detail);
    return rc;
}

static int read_eventinfo(const struct mlq_mpk_map *m, struct mlq_eventinfo *e)
{
    uint64_t seq = 0;
    int rc = mlq_mpk_read_uint(m, "seq", INT64_MAX, &seq);
    e->seq = (int64_t)seq;
    if (rc == 0)
        rc = mlq_mpk_read_int(m, "time_ms", 0, INT64_MAX, &e->time_ms);
    if (rc == 0)
        rc = read_eventinfo_text(m, e);
    return rc;
}

int mlq_protoauth_dec_event_list(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    const msgpack_object_array *a;
    int rc = mlq_mpk_read_array(mp, "events", 0, MLQ_MAX_LIST, &a);
    if (rc < 0 || a->size == 0)
        return rc;
    m->u.event_list.events = calloc(a->size, sizeof *m->u.event_list.events);
    if (!m->u.event_list.events)
        return mlq_err_set(mp->err, MLQ_ENOMEM, "event_list: out of memory");
    m->u.event_list.nevents = a->size;
    for (uint32_t i = 0; i < a->size && rc == 0; i++) {
        struct mlq_mpk_map em;
        rc = mlq_mpk_map_init(&em, &a->ptr[i], "eventinfo", mp->err);
        if (rc == 0)
            rc = read_eventinfo(&em, &m->u.event_list.events[i]);
    }
    return rc;
}

void mlq_protoauth_free_event_list(struct mlq_msg *m)
{
    for (uint32_t i = 0; m->u.event_list.events && i < m->u.event_list.nevents; i++)
        mlq_proto_eventinfo_free(&m->u.event_list.events[i]);
    free(m->u.event_list.events);
}
