/* cmd_teams: see cmd_teams.h. Names are checked here as the scheduler
 * checks them, so a typo fails (exit 6, naming it) before anything is
 * sent; whether the caller may manage teams is the scheduler's answer. */
#include "cmd_teams.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "jsonview.h"
#include "optloop.h"
#include "output.h"

enum { OPT_TEAM = MLQ_CLI_OPT_FIRST_FREE, OPT_NO_TEAM, OPT_PREEMPT_WITHIN };

static const char team_usage[] =
    "usage: mlq admin team add NAME [--json]\n"
    "       mlq admin team rm NAME\n"
    "       mlq admin team set NAME --preempt-within on|off\n"
    "       mlq admin teams [--json]\n"
    "       mlq admin user set NAME --team TEAM | --no-team\n\n"
    "Manages teams (admins only). A user belongs to at most one team; their jobs\n"
    "carry the team they had when submitted. Fair share weighs teams first, then\n"
    "users within a team, and `mlq usage --by team` reports per team.\n"
    "A team is removed only once it has no members and no pending or running\n"
    "jobs: move its members first (user set ... --no-team). Its quotas\n"
    "(mlq admin quota --help) are removed with it.\n"
    "NAME and TEAM are 1..128 characters of A-Z a-z 0-9 _ . @ -.\n"
    "  --team TEAM       (user set) put the user in TEAM (\"\" = in none)\n"
    "  --no-team         (user set) take the user out of their team\n"
    "  --preempt-within on|off\n"
    "                    (team set) let the team's higher-priority jobs preempt\n"
    "                    its lower-priority running ones (default off)\n"
    "  --json            (team add, teams) {\"teams\": [{name, members, running,\n"
    "                    pending, created, preempt_within}]}\n"
    "  --scheduler ADDR  scheduler address\n"
    "  --timeout DUR     how long to wait for the scheduler's answer (default 10s)\n";

static const struct option longopts[] = {
    MLQ_CLI_COMMON_LONGOPTS,
    MLQ_CLI_TIMEOUT_LONGOPT,
    {"json", no_argument, NULL, MLQ_CLI_OPT_JSON},
    {"team", required_argument, NULL, OPT_TEAM},
    {"no-team", no_argument, NULL, OPT_NO_TEAM},
    {"preempt-within", required_argument, NULL, OPT_PREEMPT_WITHIN},
    {NULL, 0, NULL, 0},
};

enum form { F_ADD, F_RM, F_LIST, F_USER_SET, F_SET };

struct team_opts {
    enum form form;
    const char *name, *team;
    bool json, team_given;
    int preempt_within; /* set: 0 off, 1 on; -1 not given */
};

int mlq_cli_team_name_check(const char *name, struct mlq_err *err)
{
    struct mlq_err e;
    if (mlq_proto_principal_name_check(name, &e) == 0)
        return 0;
    return mlq_err_set(err, MLQ_EINVAL, "bad team name \"%.140s\": %s", name, e.msg);
}

static int find_form(int argc, char **argv, enum form *f, int *skip, struct mlq_err *err)
{
    *skip = 2;
    if (strcmp(argv[1], "teams") == 0) {
        *f = F_LIST;
        *skip = 1;
    } else if (strcmp(argv[1], "user") == 0) {
        *f = F_USER_SET;
    } else if (argc >= 3 && strcmp(argv[2], "add") == 0) {
        *f = F_ADD;
    } else if (argc >= 3 && strcmp(argv[2], "rm") == 0) {
        *f = F_RM;
    } else if (argc >= 3 && strcmp(argv[2], "set") == 0) {
        *f = F_SET;
    } else {
        return mlq_err_set(err, MLQ_CLI_EUSAGE, "admin team: expected add, rm or set");
    }
    return 0;
}

static int team_opt(int c, void *p, struct mlq_err *err)
{
    struct team_opts *o = p;
    switch (c) {
    case MLQ_CLI_OPT_JSON:
        o->json = true;
        return o->form == F_ADD || o->form == F_LIST
                   ? 0
                   : mlq_err_set(err, MLQ_CLI_EUSAGE, "admin: --json only with team add or teams");
    case OPT_TEAM:
    case OPT_NO_TEAM:
        if (o->form != F_USER_SET)
            return mlq_err_set(err, MLQ_CLI_EUSAGE, "admin: --team only with user add or set");
        if (o->team_given)
            return mlq_err_set(err, MLQ_CLI_EUSAGE, "admin: --team or --no-team, once");
        o->team_given = true;
        o->team = c == OPT_TEAM ? optarg : "";
        return 0;
    case OPT_PREEMPT_WITHIN:
        if (o->form != F_SET)
            return mlq_err_set(err, MLQ_CLI_EUSAGE, "admin: --preempt-within only with team set");
        if (strcmp(optarg, "on") != 0 && strcmp(optarg, "off") != 0)
            return mlq_err_set(err, MLQ_CLI_EUSAGE,
                               "admin: --preempt-within takes on or off, not '%.40s'", optarg);
        o->preempt_within = strcmp(optarg, "on") == 0;
        return 0;
    default:
        return mlq_err_set(err, MLQ_CLI_EUSAGE, "admin: unexpected option");
    }
}

static const struct mlq_optloop team_loop = {"admin", "admin team", team_usage, longopts, team_opt};

/* Returns -1 to go on, else the exit code. */
static int team_parse(struct mlq_cli *cli, int argc, char **argv, struct team_opts *o)
{
    struct mlq_err err = {0};
    int skip;
    memset(o, 0, sizeof *o);
    o->preempt_within = -1;
    for (int i = 1; i < argc && i < 3; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(team_usage, stdout);
            return MLQ_EXIT_OK;
        }
    int rc = find_form(argc, argv, &o->form, &skip, &err);
    int subc = argc - skip;
    char **sub = argv + skip;
    if (rc == 0)
        rc = mlq_optloop_read(&team_loop, cli, subc, sub, o, &err);
    bool want = o->form != F_LIST;
    if (rc == 0 && want && subc - optind != 1)
        rc = mlq_err_set(&err, MLQ_CLI_EUSAGE, "admin: expected exactly one NAME");
    if (rc == 0 && !want)
        rc = mlq_optloop_no_operands(&team_loop, subc, sub, &err);
    if (rc == 0 && o->form == F_USER_SET && !o->team_given)
        rc = mlq_err_set(&err, MLQ_CLI_EUSAGE, "admin: user set needs --team TEAM or --no-team");
    if (rc == 0 && o->form == F_SET && o->preempt_within < 0)
        rc = mlq_err_set(&err, MLQ_CLI_EUSAGE, "admin: team set needs --preempt-within on|off");
    if (rc == 0)
        o->name = want ? sub[optind] : NULL;
    return mlq_optloop_result(&team_loop, rc, &err);
}

/* ---- output ---------------------------------------------------------- */

static json_t *teams_json(const struct mlq_teaminfo *t, uint32_t n)
{
    json_t *arr = json_array();
    for (uint32_t i = 0; arr && i < n; i++) {
        char created[40];
        mlq_jsonview_time_iso(t[i].created_ms, created, sizeof created);
        json_t *m = json_array();
        for (uint32_t k = 0; m && k < t[i].nmembers; k++)
            json_array_append_new(m, json_string(t[i].members[k]));
        json_t *o =
            m ? json_pack("{s:s, s:o, s:I, s:I, s:o, s:b}", "name", t[i].name, "members", m,
                          "running", (json_int_t)t[i].running, "pending", (json_int_t)t[i].pending,
                          "created", created[0] ? json_string(created) : json_null(),
                          "preempt_within", t[i].preempt_within)
              : NULL;
        if (!o || json_array_append_new(arr, o) < 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    return arr ? json_pack("{s:o}", "teams", arr) : NULL;
}

static int teams_print(FILE *f, const struct mlq_teaminfo *t, uint32_t n, bool colour)
{
    static const char *const headers[] = {"NAME", "MEMBERS", "RUNNING", "PENDING"};
    struct mlq_table *tab = mlq_table_create(4, headers);
    int rc = tab ? 0 : MLQ_ENOMEM;
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        char members[1024] = "", run[24], pend[24];
        size_t used = 0;
        for (uint32_t k = 0; k < t[i].nmembers && used < sizeof members; k++)
            used += (size_t)snprintf(members + used, sizeof members - used, "%s%s", k ? "," : "",
                                     t[i].members[k]);
        snprintf(run, sizeof run, "%lld", (long long)t[i].running);
        snprintf(pend, sizeof pend, "%lld", (long long)t[i].pending);
        char clean[1024];
        const char *cells[] = {
            t[i].name, members[0] ? mlq_out_clean(members, clean, sizeof clean) : "-", run, pend};
        rc = mlq_table_add_row(tab, cells, 4);
    }
    return mlq_table_finish(&tab, f, colour, rc);
}

static int show_teams(struct mlq_cli *cli, const struct mlq_msg *reply, bool json)
{
    const struct mlq_teaminfo *t = reply->u.team_list.teams;
    uint32_t n = reply->u.team_list.nteams;
    return json ? mlq_out_json_emit(stdout, teams_json(t, n))
                : teams_print(stdout, t, n, cli->stdout_tty);
}

/* ---- requests -------------------------------------------------------- */

static int do_team(struct mlq_cli *cli, const struct team_opts *o, struct mlq_err *err)
{
    struct mlq_msg req = {.type = MLQ_MSG_TEAM_CMD}, reply;
    int rc = o->name ? mlq_cli_team_name_check(o->name, err) : 0;
    if (rc < 0)
        return rc;
    const char *op = o->form == F_ADD   ? "add"
                     : o->form == F_RM  ? "rm"
                     : o->form == F_SET ? "set"
                                        : "list";
    snprintf(req.u.team_cmd.op, sizeof req.u.team_cmd.op, "%s", op);
    req.u.team_cmd.preempt_within = o->preempt_within;
    snprintf(req.u.team_cmd.name, sizeof req.u.team_cmd.name, "%s", o->name ? o->name : "");
    rc = mlq_cli_request(cli, &req, o->form == F_RM ? MLQ_MSG_OK : MLQ_MSG_TEAM_LIST, &reply, err);
    if (rc < 0)
        return rc;
    if (o->form == F_LIST || (o->form == F_ADD && o->json))
        rc = show_teams(cli, &reply, o->json);
    else if (o->form == F_SET)
        fprintf(stderr, "team %s: preempt-within %s\n", o->name, o->preempt_within ? "on" : "off");
    else
        fprintf(stderr, "%s team %s\n", o->form == F_ADD ? "added" : "removed", o->name);
    mlq_proto_msg_free(&reply);
    return rc;
}

static int do_user_set(struct mlq_cli *cli, const struct team_opts *o, struct mlq_err *err)
{
    struct mlq_msg req = {.type = MLQ_MSG_USER_SET}, reply;
    int rc = mlq_proto_principal_name_check(o->name, err);
    if (rc == 0 && o->team[0])
        rc = mlq_cli_team_name_check(o->team, err);
    if (rc < 0)
        return rc;
    snprintf(req.u.user_set.name, sizeof req.u.user_set.name, "%s", o->name);
    snprintf(req.u.user_set.team, sizeof req.u.user_set.team, "%s", o->team);
    if ((rc = mlq_cli_request(cli, &req, MLQ_MSG_USER_LIST, &reply, err)) < 0)
        return rc;
    mlq_proto_msg_free(&reply);
    if (o->team[0])
        fprintf(stderr, "user %s is in team %s\n", o->name, o->team);
    else
        fprintf(stderr, "user %s is in no team\n", o->name);
    return 0;
}

int mlq_cmd_admin_team(struct mlq_cli *cli, int argc, char **argv)
{
    struct team_opts o;
    int rc = team_parse(cli, argc, argv, &o);
    if (rc >= 0)
        return rc;
    struct mlq_err err = {0};
    rc = o.form == F_USER_SET ? do_user_set(cli, &o, &err) : do_team(cli, &o, &err);
    return rc < 0 ? mlq_out_fail(rc, &err) : MLQ_EXIT_OK;
}
