/* cmd_admin: see cmd_admin.h. One parser for the five forms; what each
 * form accepts is a row of `forms` below, so a wrong combination (a key on
 * rm, --admin for a worker) is a usage error rather than silently ignored.
 * Names and keys are checked here as the scheduler will check them, so a
 * typo fails before anything is sent. */
#include "cmd_admin.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "keys.h"
#include "cmd_backup.h"
#include "cmd_quota.h"
#include "cmd_teams.h"
#include "cmd_tokens.h"
#include "cmd_workerset.h"
#include "optloop.h"
#include "output.h"

enum { OPT_KEY = MLQ_CLI_OPT_FIRST_FREE, OPT_ADMIN, OPT_TEAM };

static const char admin_usage[] =
    "usage: mlq admin user add NAME --key FILE.pub [--admin] [--team TEAM]\n"
    "       mlq admin user set NAME --team TEAM | --no-team\n"
    "       mlq admin user rm NAME\n"
    "       mlq admin worker add NAME --key FILE.pub\n"
    "       mlq admin worker rm NAME\n"
    "       mlq admin worker set NAME [--pool P] [--label K=V ...] [--cpus N] ...\n"
    "                                 (what it offers: mlq admin worker set --help)\n"
    "       mlq admin users [--json]\n"
    "       mlq admin team add|rm|set NAME, mlq admin teams [--json]\n"
    "                                 (teams: mlq admin team --help)\n"
    "       mlq admin quota set|show|rm TEAM ...\n"
    "                                 (quotas: mlq admin quota --help)\n"
    "       mlq admin token create NAME [--admin] [--user P] [--expires DUR]\n"
    "       mlq admin token rm NAME\n"
    "       mlq admin tokens [--json]   (HTTP API tokens: mlq admin token --help)\n"
    "       mlq admin metrics\n"
    "       mlq admin backup FILE [--json]   (mlq admin backup --help)\n\n"
    "Manages the keys the scheduler accepts (admins only). A user's key lets its\n"
    "holder submit jobs and manage their own; --admin also lets them manage every\n"
    "job, worker and key. A worker's key lets mlq-worker --name NAME register.\n"
    "NAME is 1..128 characters of A-Z a-z 0-9 _ . @ -; FILE.pub is a public key\n"
    "file made by `mlq keygen` (or by `mlq up` under STATE/keys).\n"
    "`metrics` prints the scheduler's Prometheus metrics (any user may).\n"
    "  --key FILE.pub    the public key to register\n"
    "  --admin           (user add) give the user the admin role\n"
    "  --team TEAM       (user add) put the user in TEAM (it must exist)\n"
    "  --json            (users) {\"users\": [{name, role, key, added, team}]}\n"
    "  --scheduler ADDR  scheduler address\n"
    "  --timeout DUR     how long to wait for the scheduler's answer (default 10s)\n";

static const struct option admin_longopts[] = {
    MLQ_CLI_COMMON_LONGOPTS,
    MLQ_CLI_TIMEOUT_LONGOPT,
    {"json", no_argument, NULL, MLQ_CLI_OPT_JSON},
    {"key", required_argument, NULL, OPT_KEY},
    {"admin", no_argument, NULL, OPT_ADMIN},
    {"team", required_argument, NULL, OPT_TEAM},
    {NULL, 0, NULL, 0},
};

enum form { F_USER_ADD, F_USER_RM, F_WORKER_ADD, F_WORKER_RM, F_USERS, F_METRICS };

/* What each form takes. */
static const struct {
    const char *group, *verb; /* verb NULL: `mlq admin users` */
    const char *kind;         /* principal kind */
    bool name, key, admin, json;
} forms[] = {
    [F_USER_ADD] = {"user", "add", "user", true, true, true, false},
    [F_USER_RM] = {"user", "rm", "user", true, false, false, false},
    [F_WORKER_ADD] = {"worker", "add", "worker", true, true, false, false},
    [F_WORKER_RM] = {"worker", "rm", "worker", true, false, false, false},
    [F_USERS] = {"users", NULL, NULL, false, false, false, true},
    [F_METRICS] = {"metrics", NULL, NULL, false, false, false, false},
};

struct admin_opts {
    enum form form;
    const char *name, *key_path, *team;
    bool admin, json;
};

int mlq_cli_admin_read_pub(const char *path, char out[MLQ_KEY_Z85_LEN + 1], struct mlq_err *err)
{
    size_t n = strlen(path);
    struct stat st;
    char pub[MLQ_MAX_PATH + 8];
    if (n > MLQ_MAX_PATH)
        return mlq_err_set(err, MLQ_EINVAL, "key file path too long");
    snprintf(pub, sizeof pub, "%s.pub", path);
    if ((n < 4 || strcmp(path + n - 4, ".pub") != 0) && stat(pub, &st) == 0)
        return mlq_err_set(err, MLQ_EINVAL,
                           "%.60s looks like a secret key (%.60s.pub is beside it): pass the .pub "
                           "file",
                           path, path);
    return mlq_keys_read_public(path, out, err);
}

/* Finds the form named by argv[1] (and argv[2]); *skip is how many words
 * it took. */
static int find_form(int argc, char **argv, enum form *out, int *skip, struct mlq_err *err)
{
    for (size_t i = 0; argc >= 2 && i < sizeof forms / sizeof forms[0]; i++) {
        if (strcmp(argv[1], forms[i].group) != 0)
            continue;
        if (!forms[i].verb || (argc >= 3 && strcmp(argv[2], forms[i].verb) == 0)) {
            *out = (enum form)i;
            *skip = forms[i].verb ? 2 : 1;
            return 0;
        }
    }
    if (argc >= 2 && (strcmp(argv[1], "user") == 0 || strcmp(argv[1], "worker") == 0))
        return mlq_err_set(err, MLQ_CLI_EUSAGE, "admin %s: expected add, rm or set", argv[1]);
    return mlq_err_set(err, MLQ_CLI_EUSAGE,
                       "admin: expected user, worker, users, team, teams, "
                       "token, tokens, metrics or backup");
}

static int admin_opt(int c, void *p, struct mlq_err *err)
{
    struct admin_opts *o = p;
    switch (c) {
    case OPT_KEY:
        o->key_path = optarg;
        return forms[o->form].key ? 0
                                  : mlq_err_set(err, MLQ_CLI_EUSAGE, "admin: --key only with add");
    case OPT_ADMIN:
        o->admin = true;
        return forms[o->form].admin
                   ? 0
                   : mlq_err_set(err, MLQ_CLI_EUSAGE, "admin: --admin only with user add");
    case OPT_TEAM: /* same rule as --admin: users only */
        o->team = optarg;
        return forms[o->form].admin
                   ? 0
                   : mlq_err_set(err, MLQ_CLI_EUSAGE, "admin: --team only with user add or set");
    case MLQ_CLI_OPT_JSON:
        o->json = true;
        return forms[o->form].json
                   ? 0
                   : mlq_err_set(err, MLQ_CLI_EUSAGE, "admin: --json only with users");
    default:
        return mlq_err_set(err, MLQ_CLI_EUSAGE, "admin: unexpected option");
    }
}

/* The positional NAME (or none) after the options. */
static int admin_positional(int argc, char **argv, struct admin_opts *o, struct mlq_err *err)
{
    bool want = forms[o->form].name;
    if (want && argc - optind != 1)
        return mlq_err_set(err, MLQ_CLI_EUSAGE, "admin: expected exactly one NAME");
    if (!want && optind < argc)
        return mlq_err_set(err, MLQ_CLI_EUSAGE, "admin: unexpected argument '%.40s'", argv[optind]);
    o->name = want ? argv[optind] : NULL;
    if (forms[o->form].key && !o->key_path)
        return mlq_err_set(err, MLQ_CLI_EUSAGE, "admin: add needs --key FILE.pub");
    return 0;
}

static const struct mlq_optloop admin_loop = {"admin", "admin", admin_usage, admin_longopts,
                                              admin_opt};

/* Returns -1 to go on, else the exit code. */
static int admin_parse(struct mlq_cli *cli, int argc, char **argv, struct admin_opts *o)
{
    struct mlq_err err = {0};
    int skip = 0, rc = 0;
    memset(o, 0, sizeof *o);
    if (argc >= 2 && (strcmp(argv[1], "-h") == 0 || strcmp(argv[1], "--help") == 0)) {
        fputs(admin_usage, stdout);
        return MLQ_EXIT_OK;
    }
    rc = find_form(argc, argv, &o->form, &skip, &err);
    /* getopt sees the last word of the form ("add", "users") as argv[0] */
    int subc = argc - skip;
    char **sub = argv + skip;
    if (rc == 0)
        rc = mlq_optloop_read(&admin_loop, cli, subc, sub, o, &err);
    if (rc == 0)
        rc = admin_positional(subc, sub, o, &err);
    return mlq_optloop_result(&admin_loop, rc, &err);
}

/* ---- output ---------------------------------------------------------- */

static int role_rank(const char *role)
{
    return strcmp(role, "admin") == 0 ? 0 : strcmp(role, "user") == 0 ? 1 : 2;
}

/* admins, then users, then workers; names in version order (w2 < w10). */
static int by_role_name(const void *a, const void *b)
{
    const struct mlq_userinfo *x = a, *y = b;
    int d = role_rank(x->role) - role_rank(y->role);
    return d ? d : strverscmp(x->name, y->name);
}

int mlq_cli_users_print(FILE *f, struct mlq_userinfo *u, uint32_t n, bool colour)
{
    static const char *const headers[] = {"NAME", "ROLE", "TEAM", "KEY", "ADDED"};
    if (n > 1)
        qsort(u, n, sizeof *u, by_role_name);
    struct mlq_table *t = mlq_table_create(5, headers);
    int rc = t ? 0 : MLQ_ENOMEM;
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        char name[MLQ_MAX_NAME + 1], key[MLQ_KEY_Z85_LEN + 1], added[32];
        char team[MLQ_MAX_NAME + 1];
        const char *cells[] = {mlq_out_clean(u[i].name, name, sizeof name), u[i].role,
                               u[i].team[0] ? mlq_out_clean(u[i].team, team, sizeof team) : "-",
                               mlq_out_clean(u[i].key, key, sizeof key),
                               mlq_out_time_local(u[i].added_ms, added, sizeof added)};
        rc = mlq_table_add_row(t, cells, 5);
    }
    return mlq_table_finish(&t, f, colour, rc);
}

json_t *mlq_cli_users_json(const struct mlq_userinfo *u, uint32_t n)
{
    json_t *arr = json_array();
    for (uint32_t i = 0; arr && i < n; i++) {
        char added[40];
        mlq_out_time_iso(u[i].added_ms, added, sizeof added);
        json_t *o = json_pack("{s:s, s:s, s:s, s:o, s:o}", "name", u[i].name, "role", u[i].role,
                              "key", u[i].key, "added", added[0] ? json_string(added) : json_null(),
                              "team", u[i].team[0] ? json_string(u[i].team) : json_null());
        if (!o || json_array_append_new(arr, o) < 0) {
            json_decref(arr);
            arr = NULL;
        }
    }
    return arr ? json_pack("{s:o}", "users", arr) : NULL;
}

/* ---- requests -------------------------------------------------------- */

static int do_add(struct mlq_cli *cli, const struct admin_opts *o, struct mlq_err *err)
{
    struct mlq_msg req = {.type = MLQ_MSG_USER_ADD}, reply;
    int rc = mlq_proto_principal_name_check(o->name, err);
    if (rc == 0)
        rc = mlq_cli_admin_read_pub(o->key_path, req.u.user_add.key, err);
    if (rc == 0 && o->team && o->team[0])
        rc = mlq_cli_team_name_check(o->team, err);
    if (rc < 0)
        return rc;
    snprintf(req.u.user_add.team, sizeof req.u.user_add.team, "%s", o->team ? o->team : "");
    const char *role = o->form == F_WORKER_ADD ? "worker" : o->admin ? "admin" : "user";
    snprintf(req.u.user_add.name, sizeof req.u.user_add.name, "%s", o->name);
    snprintf(req.u.user_add.role, sizeof req.u.user_add.role, "%s", role);
    if ((rc = mlq_cli_request(cli, &req, MLQ_MSG_USER_LIST, &reply, err)) < 0)
        return rc;
    mlq_proto_msg_free(&reply);
    fprintf(stderr, "registered %s %s with key %.8s...\n", role, o->name, req.u.user_add.key);
    return 0;
}

static int do_rm(struct mlq_cli *cli, const struct admin_opts *o, struct mlq_err *err)
{
    struct mlq_msg req = {.type = MLQ_MSG_USER_RM}, reply;
    int rc = mlq_proto_principal_name_check(o->name, err);
    if (rc < 0)
        return rc;
    snprintf(req.u.user_rm.name, sizeof req.u.user_rm.name, "%s", o->name);
    snprintf(req.u.user_rm.kind, sizeof req.u.user_rm.kind, "%s", forms[o->form].kind);
    if ((rc = mlq_cli_request(cli, &req, MLQ_MSG_OK, &reply, err)) < 0)
        return rc;
    mlq_proto_msg_free(&reply);
    if (o->form == F_WORKER_RM)
        fprintf(stderr,
                "removed worker %s: its key, and its line in `mlq workers` once it has stopped\n",
                o->name);
    else
        fprintf(stderr, "removed the key of %s %s\n", forms[o->form].kind, o->name);
    return 0;
}

static int do_users(struct mlq_cli *cli, const struct admin_opts *o, struct mlq_err *err)
{
    struct mlq_msg req = {.type = MLQ_MSG_USERS}, reply;
    int rc = mlq_cli_request(cli, &req, MLQ_MSG_USER_LIST, &reply, err);
    if (rc < 0)
        return rc;
    struct mlq_userinfo *u = reply.u.user_list.users;
    uint32_t n = reply.u.user_list.nusers;
    rc = o->json ? mlq_out_json_emit(stdout, mlq_cli_users_json(u, n))
                 : mlq_cli_users_print(stdout, u, n, cli->stdout_tty);
    mlq_proto_msg_free(&reply);
    return rc;
}

/* The text as the scheduler rendered it (what GET /metrics serves). */
static int do_metrics(struct mlq_cli *cli, struct mlq_err *err)
{
    struct mlq_msg req = {.type = MLQ_MSG_METRICS}, reply;
    int rc = mlq_cli_request(cli, &req, MLQ_MSG_METRICS_TEXT, &reply, err);
    if (rc < 0)
        return rc;
    if (fputs(reply.u.metrics_text.text, stdout) == EOF || fflush(stdout) != 0)
        rc = mlq_err_set(err, MLQ_EIO, "writing the metrics failed");
    mlq_proto_msg_free(&reply);
    return rc;
}

int mlq_cmd_admin(struct mlq_cli *cli, int argc, char **argv)
{
    if (argc >= 2 && (strcmp(argv[1], "token") == 0 || strcmp(argv[1], "tokens") == 0))
        return mlq_cmd_admin_token(cli, argc, argv);
    if (argc >= 2 && strcmp(argv[1], "quota") == 0)
        return mlq_cmd_admin_quota(cli, argc, argv);
    if (argc >= 2 && strcmp(argv[1], "backup") == 0)
        return mlq_cmd_admin_backup(cli, argc, argv);
    if (argc >= 3 && strcmp(argv[1], "worker") == 0 && strcmp(argv[2], "set") == 0)
        return mlq_cmd_admin_worker_set(cli, argc - 2, argv + 2);
    if (argc >= 2 && (strcmp(argv[1], "team") == 0 || strcmp(argv[1], "teams") == 0 ||
                      (argc >= 3 && strcmp(argv[1], "user") == 0 && strcmp(argv[2], "set") == 0)))
        return mlq_cmd_admin_team(cli, argc, argv);
    struct admin_opts o;
    int rc = admin_parse(cli, argc, argv, &o);
    if (rc >= 0)
        return rc;
    struct mlq_err err = {0};
    if (o.form == F_USERS)
        rc = do_users(cli, &o, &err);
    else if (o.form == F_METRICS)
        rc = do_metrics(cli, &err);
    else if (o.form == F_USER_RM || o.form == F_WORKER_RM)
        rc = do_rm(cli, &o, &err);
    else
        rc = do_add(cli, &o, &err);
    return rc < 0 ? mlq_out_fail(rc, &err) : MLQ_EXIT_OK;
}
