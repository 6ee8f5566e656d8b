/* cmd_tokens: see cmd_tokens.h. */
#include "cmd_tokens.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "res.h"

enum { OPT_ADMIN = MLQ_CLI_OPT_FIRST_FREE, OPT_USER, OPT_EXPIRES };

static const char token_usage[] =
    "usage: mlq admin token create NAME [--admin] [--user PRINCIPAL] [--expires DUR]\n"
    "       mlq admin token rm NAME\n"
    "       mlq admin tokens [--json]\n\n"
    "Bearer tokens for the HTTP API and the dashboard (admins only). A token acts\n"
    "as PRINCIPAL (default NAME) with the user role, or the admin role with\n"
    "--admin, exactly like a key. create prints the token once: the scheduler\n"
    "keeps only its SHA-256. rm revokes it at once.\n"
    "  --admin           the token has the admin role\n"
    "  --user PRINCIPAL  whose token it is (default NAME)\n"
    "  --expires DUR     it stops working after DUR (e.g. 30d); default never\n"
    "  --json            (tokens) {\"tokens\": [{name, principal, role, created, expires}]}\n"
    "  --scheduler ADDR  scheduler address\n"
    "  --timeout DUR     how long to wait for the scheduler's answer (default 10s)\n";

static const struct option longopts[] = {
    MLQ_CLI_COMMON_LONGOPTS,
    MLQ_CLI_TIMEOUT_LONGOPT,
    {"json", no_argument, NULL, MLQ_CLI_OPT_JSON},
    {"admin", no_argument, NULL, OPT_ADMIN},
    {"user", required_argument, NULL, OPT_USER},
    {"expires", required_argument, NULL, OPT_EXPIRES},
    {NULL, 0, NULL, 0},
};

int mlq_cli_token_create(struct mlq_cli *cli, const char *name, const char *principal, bool admin,
                         int64_t expires_in_ms, char *out, struct mlq_err *err)
{
    struct mlq_msg req = {.type = MLQ_MSG_TOKEN_CREATE}, reply;
    int rc = mlq_proto_principal_name_check(name, err);
    if (rc == 0 && principal)
        rc = mlq_proto_principal_name_check(principal, err);
    if (rc < 0)
        return rc;
    snprintf(req.u.token_create.name, sizeof req.u.token_create.name, "%s", name);
    snprintf(req.u.token_create.principal, sizeof req.u.token_create.principal, "%s",
             principal ? principal : name);
    snprintf(req.u.token_create.role, sizeof req.u.token_create.role, "%s",
             admin ? "admin" : "user");
    req.u.token_create.expires_in_ms = expires_in_ms;
    if ((rc = mlq_cli_request(cli, &req, MLQ_MSG_TOKEN_LIST, &reply, err)) < 0)
        return rc;
    if (reply.u.token_list.ntokens != 1 || !reply.u.token_list.tokens[0].secret[0])
        rc = mlq_err_set(err, MLQ_EPROTO, "scheduler sent no token");
    else
        memcpy(out, reply.u.token_list.tokens[0].secret, MLQ_TOKEN_SECRET_LEN + 1);
    mlq_proto_msg_free(&reply);
    return rc;
}

static json_t *tokens_json(const struct mlq_tokeninfo *t, uint32_t n)
{
    json_t *arr = json_array();
    for (uint32_t i = 0; arr && i < n; i++) {
        char c[40], e[40];
        mlq_jsonview_time_iso(t[i].created_ms, c, sizeof c);
        mlq_jsonview_time_iso(t[i].expires_ms, e, sizeof e);
        json_array_append_new(arr, json_pack("{s:s, s:s, s:s, s:o, s:o}", "name", t[i].name,
                                             "principal", t[i].principal, "role", t[i].role,
                                             "created", c[0] ? json_string(c) : json_null(),
                                             "expires", e[0] ? json_string(e) : json_null()));
    }
    return arr ? json_pack("{s:o}", "tokens", arr) : NULL;
}

static int list(struct mlq_cli *cli, bool json, struct mlq_err *err)
{
    struct mlq_msg req = {.type = MLQ_MSG_TOKENS}, reply;
    int rc = mlq_cli_request(cli, &req, MLQ_MSG_TOKEN_LIST, &reply, err);
    if (rc < 0)
        return rc;
    const struct mlq_tokeninfo *t = reply.u.token_list.tokens;
    uint32_t n = reply.u.token_list.ntokens;
    if (json) {
        json_t *doc = tokens_json(t, n);
        rc = doc ? mlq_out_json_print(stdout, doc) : MLQ_ENOMEM;
        json_decref(doc);
    } else {
        printf("%-24s %-24s %-6s %-20s %s\n", "NAME", "PRINCIPAL", "ROLE", "CREATED", "EXPIRES");
        for (uint32_t i = 0; i < n; i++) {
            char c[40], e[40];
            mlq_out_time_local(t[i].created_ms, c, sizeof c);
            mlq_out_time_local(t[i].expires_ms, e, sizeof e);
            printf("%-24s %-24s %-6s %-20s %s\n", t[i].name, t[i].principal, t[i].role, c,
                   t[i].expires_ms ? e : "never");
        }
    }
    mlq_proto_msg_free(&reply);
    return rc;
}

int mlq_cmd_admin_token(struct mlq_cli *cli, int argc, char **argv)
{
    struct mlq_err err = {0};
    bool tokens = strcmp(argv[1], "tokens") == 0, create = false, rm = false;
    if (!tokens) {
        create = argc >= 3 && strcmp(argv[2], "create") == 0;
        rm = argc >= 3 && strcmp(argv[2], "rm") == 0;
        if (!create && !rm) {
            fprintf(stderr, "mlq: admin token: expected create or rm (see `mlq admin --help`)\n");
            return MLQ_EXIT_USAGE;
        }
    }
    int skip = tokens ? 1 : 2, subc = argc - skip, c, rc = 0;
    char **sub = argv + skip;
    bool admin = false, json = false;
    const char *user = NULL;
    int64_t expires = 0;
    optind = 0;
    opterr = 0;
    while (rc == 0 && (c = getopt_long(subc, sub, ":h", longopts, NULL)) != -1) {
        switch (c) {
        case 'h':
            fputs(token_usage, stdout);
            return MLQ_EXIT_OK;
        case MLQ_CLI_OPT_SCHEDULER:
            cli->scheduler_opt = optarg;
            break;
        case MLQ_CLI_OPT_TIMEOUT:
            rc = mlq_cli_parse_timeout(optarg, &cli->timeout_ms, &err);
            break;
        case MLQ_CLI_OPT_JSON:
            json = true;
            rc = tokens ? 0 : mlq_err_set(&err, MLQ_CLI_EUSAGE, "admin: --json only with tokens");
            break;
        case OPT_ADMIN:
            admin = true;
            rc = create ? 0 : mlq_err_set(&err, MLQ_CLI_EUSAGE, "admin: --admin only with create");
            break;
        case OPT_USER:
            user = optarg;
            rc = create ? 0 : mlq_err_set(&err, MLQ_CLI_EUSAGE, "admin: --user only with create");
            break;
        case OPT_EXPIRES:
            rc = create ? mlq_res_parse_duration(optarg, &expires, &err)
                        : mlq_err_set(&err, MLQ_CLI_EUSAGE, "admin: --expires only with create");
            if (rc < 0)
                err.code = MLQ_CLI_EUSAGE;
            rc = rc < 0 ? MLQ_CLI_EUSAGE : 0;
            break;
        default:
            rc = mlq_cli_getopt_error("admin", c, subc, sub, &err);
        }
    }
    if (rc == 0 && tokens && optind < subc)
        rc = mlq_err_set(&err, MLQ_CLI_EUSAGE, "admin: unexpected argument '%.40s'", sub[optind]);
    if (rc == 0 && !tokens && subc - optind != 1)
        rc = mlq_err_set(&err, MLQ_CLI_EUSAGE, "admin: expected exactly one NAME");
    if (rc < 0) {
        fprintf(stderr, "mlq: %s (see `mlq admin --help`)\n", err.msg);
        return MLQ_EXIT_USAGE;
    }
    if (tokens) {
        rc = list(cli, json, &err);
    } else if (create) {
        char secret[MLQ_TOKEN_SECRET_LEN + 1];
        rc = mlq_cli_token_create(cli, sub[optind], user, admin, expires, secret, &err);
        if (rc == 0) {
            printf("%s\n", secret);
            fprintf(stderr, "created token %s for %s %s; it is shown only this once\n", sub[optind],
                    admin ? "admin" : "user", user ? user : sub[optind]);
        }
    } else {
        struct mlq_msg req = {.type = MLQ_MSG_TOKEN_RM}, reply;
        rc = mlq_proto_principal_name_check(sub[optind], &err);
        if (rc == 0) {
            snprintf(req.u.token_rm.name, sizeof req.u.token_rm.name, "%s", sub[optind]);
            rc = mlq_cli_request(cli, &req, MLQ_MSG_OK, &reply, &err);
        }
        if (rc == 0) {
            mlq_proto_msg_free(&reply);
            fprintf(stderr, "removed token %s; it no longer works\n", sub[optind]);
        }
    }
    return rc < 0 ? mlq_out_fail(rc, &err) : MLQ_EXIT_OK;
}
