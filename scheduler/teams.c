/* teams: see teams.h. Teams live in the store only (storeteam.c); the
 * loop keeps no copy, so what an admin changes holds from the next
 * request on, and a job's team is read once, when it is submitted. */
#include "teams.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "acctrun.h"
#include "admin.h"
#include "auth.h"
#include "log.h"
#include "quotabook.h"

static int check_admin(struct mlq_ctx *c, struct mlq_err *err)
{
    if (c->who.roles & MLQ_ROLE_ADMIN)
        return 0;
    return mlq_err_set(err, MLQ_EPERM, "only admins may manage teams (you are %s, a %s)",
                       c->who.name, mlq_auth_role_name((enum mlq_role)c->who.roles));
}

int mlq_teams_check_exists(struct mlq_ctx *c, const char *team, struct mlq_err *err)
{
    bool exists = false;
    int rc = mlq_store_team_exists(c->store, team, &exists, err);
    if (rc == 0 && !exists)
        rc = mlq_err_set(err, MLQ_ENOTFOUND, "no team named %s", team);
    return rc;
}

int mlq_teams_set_job_team(struct mlq_ctx *c, struct mlq_jobspec *spec, struct mlq_err *err)
{
    char team[MLQ_MAX_NAME + 1];
    free(spec->team);
    spec->team = NULL;
    int rc = mlq_store_user_team_get(c->store, spec->owner, team, err);
    if (rc == 0 && team[0] && !(spec->team = strdup(team)))
        rc = mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    return rc;
}

static int reply_teams(struct mlq_ctx *c, const struct mlq_peer *peer, uint64_t rid,
                       const char *only, struct mlq_err *err)
{
    struct mlq_msg m = {.type = MLQ_MSG_TEAM_LIST, .rid = rid};
    int rc = mlq_store_teams_list(c->store, only, &m.u.team_list.teams, &m.u.team_list.nteams, err);
    if (rc == 0)
        rc = mlq_outbox_reply(c->out, peer, &m, err);
    mlq_store_teaminfo_array_free(&m.u.team_list.teams, m.u.team_list.nteams);
    return rc;
}

/* `mlq admin team set NAME --preempt-within on|off`. */
static int set_team(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                    struct mlq_err *err)
{
    const char *name = msg->u.team_cmd.name;
    bool on = msg->u.team_cmd.preempt_within == 1;
    int rc = mlq_store_team_set_preempt(c->store, name, on, err);
    if (rc < 0)
        return rc;
    mlq_info("team %s: preempt-within %s, set by %s", name, on ? "on" : "off", c->who.name);
    return reply_teams(c, peer, msg->rid, name, err);
}

int mlq_teams_on_cmd(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                     struct mlq_err *err)
{
    const char *op = msg->u.team_cmd.op, *name = msg->u.team_cmd.name;
    int rc = check_admin(c, err);
    if (rc == 0 && strcmp(op, "list") == 0)
        return reply_teams(c, peer, msg->rid, name[0] ? name : NULL, err);
    if (rc == 0)
        rc = mlq_store_begin(c->store, err);
    if (rc == 0 && strcmp(op, "set") == 0)
        return set_team(c, peer, msg, err);
    bool add = strcmp(op, "add") == 0;
    if (rc == 0)
        rc = add ? mlq_store_team_add(c->store, name, c->now_wall, err)
                 : mlq_store_team_rm(c->store, name, err);
    if (rc < 0)
        return rc;
    mlq_info("team %s %s by %s", name, add ? "added" : "removed", c->who.name);
    if (!add) /* its quotas went with it (storequota.c) */
        mlq_qbook_rm_team(c->quota, name);
    if (add)
        return reply_teams(c, peer, msg->rid, name, err);
    struct mlq_msg m = {.type = MLQ_MSG_OK, .rid = msg->rid};
    return mlq_outbox_reply(c->out, peer, &m, err);
}

int mlq_teams_on_user_set(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                          struct mlq_err *err)
{
    const char *name = msg->u.user_set.name, *team = msg->u.user_set.team;
    int rc = check_admin(c, err);
    if (rc == 0)
        rc = mlq_store_begin(c->store, err);
    if (rc == 0)
        rc = mlq_store_user_team_set(c->store, name, team, err);
    if (rc < 0)
        return rc;
    mlq_info("user %s put in team %s by %s", name, team[0] ? team : "(none)", c->who.name);
    return mlq_admin_reply_users(c, peer, msg->rid, "user", name, err);
}

int mlq_teams_on_acct(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                      struct mlq_err *err)
{
    struct mlq_acct_query q = {.by = msg->u.acct.by};
    q.until_ms = msg->u.acct.until_ms ? msg->u.acct.until_ms : c->now_wall;
    q.since_ms =
        msg->u.acct.since_ms ? msg->u.acct.since_ms : q.until_ms - MLQ_TEAMS_DEFAULT_WINDOW_MS;
    if (q.since_ms < 0)
        q.since_ms = 0;
    if (q.until_ms <= q.since_ms)
        return mlq_err_set(err, MLQ_EINVAL, "usage: --until must be later than --since");
    /* Like `mlq list`: a user sees their own jobs only. */
    if (!(c->who.roles & MLQ_ROLE_ADMIN))
        snprintf(q.only_user, sizeof q.only_user, "%s", c->who.name);
    if (c->acctrun) /* off the loop's thread: answered by mlq_acctrun_poll */
        return mlq_acctrun_start(c->acctrun, peer, msg->rid, &q, err);
    struct mlq_msg m = {.type = MLQ_MSG_ACCT_REPORT, .rid = msg->rid};
    m.u.acct_report.since_ms = q.since_ms;
    m.u.acct_report.until_ms = q.until_ms;
    m.u.acct_report.by = q.by;
    int rc =
        mlq_store_acct_report(c->store, &q, &m.u.acct_report.rows, &m.u.acct_report.nrows, err);
    if (rc == 0)
        rc = mlq_outbox_reply(c->out, peer, &m, err);
    free(m.u.acct_report.rows);
    return rc;
}
