/* storeteam: the teams table and the team of each user (schema v12). See
 * store.h for the API and storeint.h for what it shares with store.c, whose
 * invariants hold here.
 *
 * A team is removed only when nobody is in it and none of its jobs is
 * pending or running: members would silently change how fair share and
 * reports see them, and live jobs would be left naming a team that no
 * longer exists. Every change appends an event, with the actor the
 * scheduler set. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "mpk.h"
#include "storeint.h"

/* Live job states (PENDING, ASSIGNED, RUNNING) as jobs_team_live spells
 * them, so that the partial index serves the queries. */
#define LIVE      "state <= 2"
#define IDS_SHOWN 5 /* ids named when a removal is refused */

enum tstmt {
    T_ADD,
    T_EXISTS,
    T_DEL,
    T_LIVE,
    T_MEMBERS,
    T_LIST,
    T_SET_USER,
    T_USER_TEAM,
    T_SET_PREEMPT,
    T_GET_PREEMPT,
    T_COUNT
};

static const char *const tsql[T_COUNT] = {
    [T_ADD] = "INSERT INTO teams (name, created_ms) VALUES (?1, ?2) ON CONFLICT DO NOTHING",
    [T_EXISTS] = "SELECT 1 FROM teams WHERE name = ?1",
    [T_DEL] = "DELETE FROM teams WHERE name = ?1",
    [T_LIVE] = "SELECT count(*), (SELECT group_concat(substr(id, 1, 8), ' ') FROM (SELECT id"
               " FROM jobs WHERE team = ?1 AND " LIVE " ORDER BY seq LIMIT ?2))"
               " FROM jobs WHERE team = ?1 AND " LIVE,
    [T_MEMBERS] = "SELECT count(*), group_concat(name, ' ') FROM (SELECT name FROM principals"
                  " WHERE kind = 'user' AND team = ?1 ORDER BY name)",
    [T_LIST] = "SELECT t.name, t.created_ms, m.members, COALESCE(l.running, 0),"
               " COALESCE(l.pending, 0), t.preempt_within FROM teams t"
               " LEFT JOIN (SELECT team, sum(state != 0) AS running, sum(state = 0) AS pending"
               " FROM jobs WHERE team IS NOT NULL AND " LIVE " GROUP BY team) l ON l.team = t.name"
               " LEFT JOIN (SELECT team, group_concat(name, ',') AS members FROM (SELECT team, name"
               " FROM principals WHERE kind = 'user' AND team IS NOT NULL ORDER BY name)"
               " GROUP BY team) m ON m.team = t.name"
               " WHERE ?1 IS NULL OR t.name = ?1 ORDER BY t.name LIMIT ?2",
    [T_SET_USER] = "UPDATE principals SET team = ?2 WHERE kind = 'user' AND name = ?1",
    [T_USER_TEAM] = "SELECT team FROM principals WHERE kind = 'user' AND name = ?1",
    [T_SET_PREEMPT] = "UPDATE teams SET preempt_within = ?2 WHERE name = ?1",
    [T_GET_PREEMPT] = "SELECT preempt_within FROM teams WHERE name = ?1",
};

struct mlq_storeteam {
    sqlite3_stmt *stmt[T_COUNT];
};

int mlq_storeteam_open(sqlite3 *db, struct mlq_storeteam **out, struct mlq_err *err)
{
    struct mlq_storeteam *p = calloc(1, sizeof *p);
    *out = NULL;
    if (!p)
        return mlq_err_set(err, MLQ_ENOMEM, "preparing statements: out of memory");
    int rc = mlq_storei_prepare(db, tsql, T_COUNT, p->stmt, err);
    if (rc < 0) {
        free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void mlq_storeteam_close(struct mlq_storeteam **pp)
{
    if (!pp || !*pp)
        return;
    mlq_storei_finalize((*pp)->stmt, T_COUNT);
    free(*pp);
    *pp = NULL;
}

static sqlite3_stmt *stmt(struct mlq_store *st, enum tstmt i)
{
    return mlq_storei_team(st)->stmt[i];
}

static int check_name(const char *name, struct mlq_err *err)
{
    struct mlq_err e;
    if (!name || mlq_proto_principal_name_check(name, &e) < 0)
        return mlq_err_set(err, MLQ_EINVAL, "team name \"%.140s\": %s", name ? name : "",
                           name ? e.msg : "missing");
    return 0;
}

/* Steps a statement bound to one name; *found: it gave a row (then the
 * caller reads it and finishes s). */
static int step_name(struct mlq_store *st, sqlite3_stmt *s, const char *name, bool *found,
                     const char *what, struct mlq_err *err)
{
    int rc = sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, what);
    }
    rc = sqlite3_step(s);
    *found = rc == SQLITE_ROW;
    if (rc == SQLITE_ROW || rc == SQLITE_DONE)
        return 0;
    rc = mlq_storei_db_err(st, err, what);
    mlq_storei_finish(s);
    return rc;
}

int mlq_store_team_exists(struct mlq_store *st, const char *name, bool *exists, struct mlq_err *err)
{
    *exists = false;
    int rc = check_name(name, err);
    sqlite3_stmt *s = stmt(st, T_EXISTS);
    if (rc == 0 && (rc = step_name(st, s, name, exists, "reading teams", err)) == 0)
        mlq_storei_finish(s);
    return rc;
}

static int team_insert(struct mlq_store *st, const char *name, int64_t now_ms, struct mlq_err *err)
{
    sqlite3_stmt *s = stmt(st, T_ADD);
    int rc = sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    rc |= sqlite3_bind_int64(s, 2, now_ms);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "adding a team");
    }
    rc = mlq_storei_exec_stmt(st, s, "adding a team", err);
    if (rc == 0 && sqlite3_changes(mlq_storei_db(st)) == 0)
        rc = mlq_err_set(err, MLQ_EINVAL, "team %s exists already", name);
    return rc;
}

int mlq_store_team_add(struct mlq_store *st, const char *name, int64_t now_ms, struct mlq_err *err)
{
    int rc = check_name(name, err);
    if (rc < 0)
        return rc;
    rc = mlq_storei_op_begin(st, err);
    if (rc < 0)
        return rc;
    rc = team_insert(st, name, now_ms, err);
    if (rc == 0)
        rc = mlq_store_event_add(st, "team_added", NULL, NULL, NULL, name, err);
    return mlq_storei_op_end(st, rc, err);
}

/* Reads "count, names" from a statement bound to (team, IDS_SHOWN). */
static int count_and_names(struct mlq_store *st, enum tstmt i, const char *team, int64_t *count,
                           char *names, size_t len, struct mlq_err *err)
{
    sqlite3_stmt *s = stmt(st, i);
    int rc = i == T_LIVE ? sqlite3_bind_int(s, 2, IDS_SHOWN) : SQLITE_OK;
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "reading a team");
    }
    bool row = false;
    rc = step_name(st, s, team, &row, "reading a team", err);
    if (rc < 0)
        return rc;
    *count = row ? sqlite3_column_int64(s, 0) : 0;
    const unsigned char *v = row ? sqlite3_column_text(s, 1) : NULL;
    snprintf(names, len, "%s", v ? (const char *)v : "");
    mlq_storei_finish(s);
    return 0;
}

/* MLQ_EINVAL (the request is refused) naming what still holds the team. */
static int check_team_unused(struct mlq_store *st, const char *name, struct mlq_err *err)
{
    int64_t n = 0;
    char names[1024];
    int rc = count_and_names(st, T_LIVE, name, &n, names, sizeof names, err);
    if (rc == 0 && n > 0)
        return mlq_err_set(err, MLQ_EINVAL,
                           "team %s still has %lld pending or running job(s) (%s%s): cancel them "
                           "or wait until they end",
                           name, (long long)n, names, n > IDS_SHOWN ? " ..." : "");
    if (rc == 0)
        rc = count_and_names(st, T_MEMBERS, name, &n, names, sizeof names, err);
    if (rc == 0 && n > 0)
        return mlq_err_set(err, MLQ_EINVAL,
                           "team %s still has %lld member(s): %.400s; move them first "
                           "(mlq admin user set NAME --team OTHER, or --no-team)",
                           name, (long long)n, names);
    return rc;
}

int mlq_store_team_rm(struct mlq_store *st, const char *name, struct mlq_err *err)
{
    bool exists = false;
    int rc = mlq_store_team_exists(st, name, &exists, err);
    if (rc == 0 && !exists)
        rc = mlq_err_set(err, MLQ_ENOTFOUND, "no team named %s", name);
    if (rc == 0)
        rc = check_team_unused(st, name, err);
    if (rc < 0)
        return rc;
    rc = mlq_storei_op_begin(st, err);
    if (rc < 0)
        return rc;
    sqlite3_stmt *s = stmt(st, T_DEL);
    bool row;
    rc = step_name(st, s, name, &row, "removing a team", err);
    if (rc == 0)
        mlq_storei_finish(s);
    if (rc == 0) /* its quotas go with it (storequota.c) */
        rc = mlq_storequota_rm_team(st, name, err);
    if (rc == 0)
        rc = mlq_store_event_add(st, "team_removed", NULL, NULL, NULL, name, err);
    return mlq_storei_op_end(st, rc, err);
}

int mlq_store_user_team_get(struct mlq_store *st, const char *user, char team[MLQ_MAX_NAME + 1],
                            struct mlq_err *err)
{
    team[0] = '\0';
    sqlite3_stmt *s = stmt(st, T_USER_TEAM);
    bool row = false;
    int rc = step_name(st, s, user ? user : "", &row, "reading a user's team", err);
    if (rc < 0)
        return rc;
    if (row && mlq_storei_col_fixed(s, 0, team, MLQ_MAX_NAME + 1) < 0)
        team[0] = '\0'; /* not a name we could have stored: none */
    mlq_storei_finish(s);
    return 0;
}

static int user_team_write(struct mlq_store *st, const char *user, const char *team,
                           struct mlq_err *err)
{
    sqlite3_stmt *s = stmt(st, T_SET_USER);
    int rc = sqlite3_bind_text(s, 1, user, -1, SQLITE_STATIC);
    rc |= mlq_storei_bind_opt(s, 2, team);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "setting a user's team");
    }
    rc = mlq_storei_exec_stmt(st, s, "setting a user's team", err);
    if (rc == 0 && sqlite3_changes(mlq_storei_db(st)) == 0)
        rc = mlq_err_set(err, MLQ_ENOTFOUND, "no user named %s", user);
    return rc;
}

int mlq_store_user_team_set(struct mlq_store *st, const char *user, const char *team,
                            struct mlq_err *err)
{
    bool exists = true;
    int rc = team && team[0] ? mlq_store_team_exists(st, team, &exists, err) : 0;
    if (rc == 0 && !exists)
        rc = mlq_err_set(err, MLQ_ENOTFOUND, "no team named %s", team);
    if (rc < 0)
        return rc;
    char detail[2 * MLQ_MAX_NAME + 8];
    snprintf(detail, sizeof detail, "%s %s", user, team && team[0] ? team : "-");
    rc = mlq_storei_op_begin(st, err);
    if (rc < 0)
        return rc;
    rc = user_team_write(st, user, team, err);
    if (rc == 0)
        rc = mlq_store_event_add(st, "team_set", NULL, NULL, NULL, detail, err);
    return mlq_storei_op_end(st, rc, err);
}

/* Splits "a,b,c" into t->members. */
static int split_members(const char *csv, struct mlq_teaminfo *t)
{
    if (!csv || !*csv)
        return 0;
    uint32_t n = 1;
    for (const char *p = csv; *p; p++)
        n += *p == ',';
    t->members = calloc(n, sizeof *t->members);
    if (!t->members)
        return MLQ_ENOMEM;
    for (const char *p = csv; *p && t->nmembers < n;) {
        size_t len = strcspn(p, ",");
        if (!(t->members[t->nmembers] = strndup(p, len)))
            return MLQ_ENOMEM;
        t->nmembers++;
        p += len + (p[len] == ',');
    }
    return 0;
}

static int team_from_row(sqlite3_stmt *s, struct mlq_teaminfo *t)
{
    memset(t, 0, sizeof *t);
    int rc = mlq_storei_col_fixed(s, 0, t->name, sizeof t->name);
    t->created_ms = sqlite3_column_int64(s, 1);
    t->running = sqlite3_column_int64(s, 3);
    t->pending = sqlite3_column_int64(s, 4);
    t->preempt_within = sqlite3_column_int(s, 5) != 0;
    return rc < 0 ? rc : split_members((const char *)sqlite3_column_text(s, 2), t);
}

void mlq_store_teaminfo_array_free(struct mlq_teaminfo **v, uint32_t n)
{
    for (uint32_t i = 0; *v && i < n; i++)
        mlq_mpk_strv_free((*v)[i].members, (*v)[i].nmembers);
    free(*v);
    *v = NULL;
}

int mlq_store_teams_list(struct mlq_store *st, const char *only, struct mlq_teaminfo **out,
                         uint32_t *n, struct mlq_err *err)
{
    *out = NULL;
    *n = 0;
    struct mlq_teaminfo *v = calloc(MLQ_MAX_LIST, sizeof *v);
    if (!v)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory listing teams");
    sqlite3_stmt *s = stmt(st, T_LIST);
    int rc = mlq_storei_bind_opt(s, 1, only);
    rc |= sqlite3_bind_int(s, 2, MLQ_MAX_LIST);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        free(v);
        return mlq_storei_bind_err(rc, err, "listing teams");
    }
    int step;
    rc = 0;
    while (rc == 0 && (step = sqlite3_step(s)) == SQLITE_ROW) {
        rc = team_from_row(s, &v[*n]);
        (*n)++;
    }
    if (rc < 0)
        rc = mlq_storei_row_err(rc, err, "listing teams");
    else if (step != SQLITE_DONE)
        rc = mlq_storei_db_err(st, err, "listing teams");
    mlq_storei_finish(s);
    if (rc < 0)
        mlq_store_teaminfo_array_free(&v, *n);
    *out = v;
    if (rc < 0)
        *n = 0;
    return rc;
}

int mlq_store_team_set_preempt(struct mlq_store *st, const char *name, bool on, struct mlq_err *err)
{
    int rc = check_name(name, err);
    if (rc == 0)
        rc = mlq_storei_op_begin(st, err);
    if (rc < 0)
        return rc;
    sqlite3_stmt *s = stmt(st, T_SET_PREEMPT);
    int brc = sqlite3_bind_text(s, 1, name, -1, SQLITE_STATIC);
    brc |= sqlite3_bind_int(s, 2, on ? 1 : 0);
    if (brc != SQLITE_OK) {
        mlq_storei_finish(s);
        rc = mlq_storei_bind_err(brc, err, "setting a team");
    } else {
        rc = mlq_storei_exec_stmt(st, s, "setting a team", err);
    }
    if (rc == 0 && sqlite3_changes(mlq_storei_db(st)) == 0)
        rc = mlq_err_set(err, MLQ_ENOTFOUND, "no team named %s", name);
    char detail[MLQ_MAX_NAME + 32];
    snprintf(detail, sizeof detail, "%s preempt_within=%s", name, on ? "on" : "off");
    if (rc == 0)
        rc = mlq_store_event_add(st, "team_preempt_within", NULL, NULL, NULL, detail, err);
    return mlq_storei_op_end(st, rc, err);
}

int mlq_store_team_preempt_within(struct mlq_store *st, const char *name, bool *on,
                                  struct mlq_err *err)
{
    *on = false;
    int rc = check_name(name, err);
    sqlite3_stmt *s = stmt(st, T_GET_PREEMPT);
    bool row = false;
    if (rc == 0 && (rc = step_name(st, s, name, &row, "reading a team", err)) == 0) {
        *on = row && sqlite3_column_int(s, 0) != 0;
        mlq_storei_finish(s);
    }
    return rc;
}
