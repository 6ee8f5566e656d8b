/* prototeam: see prototeam.h, proto.h and docs/protocol.md (normative).
 *
 * The invariants of proto.c hold here: a decoded message starts zeroed,
 * every pointer is NULL or owned, and an array's count is set as soon as
 * the zeroed array is allocated, so mlq_proto_msg_free() can always clean
 * up. Team names are checked on decode as principal names are. */
#include "prototeam.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "protoauth.h"

#define NELEM(a) ((int)(sizeof(a) / sizeof((a)[0])))

#define TEAMINFO_KEYS 6
#define ACCTROW_KEYS  (1 + MLQ_ACCT_OUTCOMES + 6)
#define WALL_MAX_MS   (INT64_C(1) << 50) /* wall-clock ms, far past any real date */

const char *const mlq_acct_by_names[MLQ_ACCT_BY_COUNT] = {"user", "team", "project", "pool",
                                                          "gpu-type"};
const char *const mlq_acct_outcome_names[MLQ_ACCT_OUTCOMES] = {"succeeded", "failed", "timed_out",
                                                               "cancelled", "lost"};
static const char *const op_names[] = {"add", "rm", "list", "set"};

/* ---- team_cmd, user_set --------------------------------------------------- */

void mlq_prototeam_enc_cmd(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_str(pk, "op", m->u.team_cmd.op);
    mlq_mpk_kv_str(pk, "name", m->u.team_cmd.name[0] ? m->u.team_cmd.name : NULL);
    mlq_mpk_kv_int(pk, "preempt_within", m->u.team_cmd.preempt_within);
}

/* A team name under key into buf: required, or nil/absent = "" (nullable). */
static int read_team_name(const struct mlq_mpk_map *m, const char *key, bool nullable,
                          char buf[MLQ_MAX_NAME + 1])
{
    const msgpack_object *o = mlq_mpk_get(m, key);
    struct mlq_err e;
    buf[0] = '\0';
    if (nullable && (!o || o->type == MSGPACK_OBJECT_NIL))
        return 0;
    int rc = mlq_mpk_read_strbuf(m, key, buf, MLQ_MAX_NAME);
    if (rc == 0 && mlq_proto_principal_name_check(buf, &e) < 0)
        rc = mlq_err_set(m->err, MLQ_EPROTO, "%s: key '%s': %s", m->where, key, e.msg);
    return rc;
}

int mlq_prototeam_dec_cmd(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int op = 0;
    int rc = mlq_mpk_read_enum(mp, "op", op_names, NELEM(op_names), false, &op);
    if (rc == 0)
        snprintf(m->u.team_cmd.op, sizeof m->u.team_cmd.op, "%s", op_names[op]);
    if (rc == 0)
        rc = read_team_name(mp, "name", op == 2, m->u.team_cmd.name);
    m->u.team_cmd.preempt_within = -1;
    if (rc == 0)
        rc = mlq_mpk_opt_i32(mp, "preempt_within", -1, 1, &m->u.team_cmd.preempt_within);
    if (rc == 0 && op == 3 && m->u.team_cmd.preempt_within < 0)
        rc = mlq_err_set(mp->err, MLQ_EPROTO, "%s: set needs preempt_within 0 or 1", mp->where);
    return rc;
}

void mlq_prototeam_enc_user_set(msgpack_packer *pk, const struct mlq_msg *m)
{
    mlq_mpk_kv_str(pk, "name", m->u.user_set.name);
    mlq_mpk_kv_str(pk, "team", m->u.user_set.team[0] ? m->u.user_set.team : NULL);
}

int mlq_prototeam_dec_user_set(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int rc = read_team_name(mp, "name", false, m->u.user_set.name);
    if (rc == 0)
        rc = read_team_name(mp, "team", true, m->u.user_set.team);
    return rc;
}

/* ---- team_list ------------------------------------------------------------ */

void mlq_prototeam_enc_list(msgpack_packer *pk, const struct mlq_msg *m)
{
    const struct mlq_teaminfo *t = m->u.team_list.teams;
    uint32_t n = t ? m->u.team_list.nteams : 0;
    mlq_mpk_kv_array(pk, "teams", n);
    for (uint32_t i = 0; i < n; i++) {
        msgpack_pack_map(pk, TEAMINFO_KEYS);
        mlq_mpk_kv_str(pk, "name", t[i].name);
        mlq_mpk_kv_int(pk, "created_ms", t[i].created_ms);
        mlq_mpk_kv_strv(pk, "members", t[i].members, t[i].members ? t[i].nmembers : 0);
        mlq_mpk_kv_int(pk, "running", t[i].running);
        mlq_mpk_kv_int(pk, "pending", t[i].pending);
        mlq_mpk_kv_bool(pk, "preempt_within", t[i].preempt_within);
    }
}

static int read_teaminfo(const struct mlq_mpk_map *m, struct mlq_teaminfo *t)
{
    int rc = read_team_name(m, "name", false, t->name);
    if (rc == 0)
        rc = mlq_mpk_read_int(m, "created_ms", 0, INT64_MAX, &t->created_ms);
    if (rc == 0)
        rc = mlq_mpk_read_strv(m, "members", 0, MLQ_MAX_TEAM_MEMBERS, MLQ_MAX_NAME,
                               (size_t)MLQ_MAX_TEAM_MEMBERS * (MLQ_MAX_NAME + 1), &t->members,
                               &t->nmembers);
    if (rc == 0)
        rc = mlq_mpk_read_int(m, "running", 0, INT64_MAX, &t->running);
    if (rc == 0)
        rc = mlq_mpk_read_int(m, "pending", 0, INT64_MAX, &t->pending);
    if (rc == 0)
        rc = mlq_mpk_opt_bool(m, "preempt_within", &t->preempt_within);
    return rc;
}

int mlq_prototeam_dec_list(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    const msgpack_object_array *a;
    int rc = mlq_mpk_read_array(mp, "teams", 0, MLQ_MAX_LIST, &a);
    if (rc < 0 || a->size == 0)
        return rc;
    m->u.team_list.teams = calloc(a->size, sizeof *m->u.team_list.teams);
    if (!m->u.team_list.teams)
        return mlq_err_set(mp->err, MLQ_ENOMEM, "team_list: out of memory");
    m->u.team_list.nteams = a->size;
    for (uint32_t i = 0; i < a->size && rc == 0; i++) {
        struct mlq_mpk_map tm;
        rc = mlq_mpk_map_init(&tm, &a->ptr[i], "teaminfo", mp->err);
        if (rc == 0)
            rc = read_teaminfo(&tm, &m->u.team_list.teams[i]);
    }
    return rc;
}

void mlq_prototeam_free_list(struct mlq_msg *m)
{
    for (uint32_t i = 0; m->u.team_list.teams && i < m->u.team_list.nteams; i++)
        mlq_mpk_strv_free(m->u.team_list.teams[i].members, m->u.team_list.teams[i].nmembers);
    free(m->u.team_list.teams);
}

/* ---- acct, acct_report ---------------------------------------------------- */

static void put_window(msgpack_packer *pk, int64_t since, int64_t until, enum mlq_acct_by by)
{
    mlq_mpk_kv_int(pk, "since_ms", since);
    mlq_mpk_kv_int(pk, "until_ms", until);
    mlq_mpk_kv_str(pk, "by", mlq_acct_by_names[(unsigned)by < MLQ_ACCT_BY_COUNT ? by : 0]);
}

static int read_window(const struct mlq_mpk_map *m, int64_t *since, int64_t *until,
                       enum mlq_acct_by *by)
{
    int b = 0;
    int rc = mlq_mpk_read_int(m, "since_ms", 0, WALL_MAX_MS, since);
    if (rc == 0)
        rc = mlq_mpk_read_int(m, "until_ms", 0, WALL_MAX_MS, until);
    if (rc == 0)
        rc = mlq_mpk_read_enum(m, "by", mlq_acct_by_names, MLQ_ACCT_BY_COUNT, false, &b);
    *by = (enum mlq_acct_by)b;
    return rc;
}

void mlq_prototeam_enc_acct(msgpack_packer *pk, const struct mlq_msg *m)
{
    put_window(pk, m->u.acct.since_ms, m->u.acct.until_ms, m->u.acct.by);
}

int mlq_prototeam_dec_acct(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    return read_window(mp, &m->u.acct.since_ms, &m->u.acct.until_ms, &m->u.acct.by);
}

static void put_row(msgpack_packer *pk, const struct mlq_acctrow *r)
{
    msgpack_pack_map(pk, ACCTROW_KEYS);
    mlq_mpk_kv_str(pk, "key", r->key);
    for (int k = 0; k < MLQ_ACCT_OUTCOMES; k++)
        mlq_mpk_kv_int(pk, mlq_acct_outcome_names[k], r->runs[k]);
    mlq_mpk_kv_int(pk, "cpu_ms", r->cpu_ms);
    mlq_mpk_kv_int(pk, "gpu_ms", r->gpu_ms);
    mlq_mpk_kv_int(pk, "gpu_known_ms", r->gpu_known_ms);
    mlq_mpk_kv_int(pk, "gpu_idle_ms", r->gpu_idle_ms);
    mlq_mpk_kv_int(pk, "wait_ms", r->wait_ms);
    mlq_mpk_kv_int(pk, "n_waits", r->n_waits);
}

void mlq_prototeam_enc_report(msgpack_packer *pk, const struct mlq_msg *m)
{
    const struct mlq_acctrow *r = m->u.acct_report.rows;
    uint32_t n = r ? m->u.acct_report.nrows : 0;
    put_window(pk, m->u.acct_report.since_ms, m->u.acct_report.until_ms, m->u.acct_report.by);
    mlq_mpk_kv_array(pk, "rows", n);
    for (uint32_t i = 0; i < n; i++)
        put_row(pk, &r[i]);
}

static int read_row(const struct mlq_mpk_map *m, struct mlq_acctrow *r)
{
    char *key = NULL;
    int rc = mlq_mpk_read_str(m, "key", MLQ_MAX_NAME, false, &key);
    if (rc == 0)
        snprintf(r->key, sizeof r->key, "%s", key);
    free(key);
    for (int k = 0; rc == 0 && k < MLQ_ACCT_OUTCOMES; k++)
        rc = mlq_mpk_read_int(m, mlq_acct_outcome_names[k], 0, INT64_MAX, &r->runs[k]);
    int64_t *v[] = {&r->cpu_ms,      &r->gpu_ms,  &r->gpu_known_ms,
                    &r->gpu_idle_ms, &r->wait_ms, &r->n_waits};
    const char *names[] = {"cpu_ms", "gpu_ms", "gpu_known_ms", "gpu_idle_ms", "wait_ms", "n_waits"};
    for (int k = 0; rc == 0 && k < NELEM(names); k++)
        rc = mlq_mpk_read_int(m, names[k], 0, INT64_MAX, v[k]);
    return rc;
}

int mlq_prototeam_dec_report(const struct mlq_mpk_map *mp, struct mlq_msg *m)
{
    int rc = read_window(mp, &m->u.acct_report.since_ms, &m->u.acct_report.until_ms,
                         &m->u.acct_report.by);
    const msgpack_object_array *a;
    if (rc == 0)
        rc = mlq_mpk_read_array(mp, "rows", 0, MLQ_MAX_LIST, &a);
    if (rc < 0 || a->size == 0)
        return rc;
    m->u.acct_report.rows = calloc(a->size, sizeof *m->u.acct_report.rows);
    if (!m->u.acct_report.rows)
        return mlq_err_set(mp->err, MLQ_ENOMEM, "acct_report: out of memory");
    m->u.acct_report.nrows = a->size;
    for (uint32_t i = 0; i < a->size && rc == 0; i++) {
        struct mlq_mpk_map rm;
        rc = mlq_mpk_map_init(&rm, &a->ptr[i], "acctrow", mp->err);
        if (rc == 0)
            rc = read_row(&rm, &m->u.acct_report.rows[i]);
    }
    return rc;
}

void mlq_prototeam_free_report(struct mlq_msg *m)
{
    free(m->u.acct_report.rows);
}
