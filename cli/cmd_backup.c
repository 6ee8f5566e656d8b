/* cmd_backup: see cmd_backup.h. The answer comes once the copy is checked,
 * fsynced and in place, so the default timeout is long. */
#include "cmd_backup.h"

#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "output.h"
#include "protobackup.h"

#define BACKUP_DEFAULT_TIMEOUT_MS (10 * 60 * 1000)

static const char backup_usage[] =
    "usage: mlq admin backup FILE [--json] [--timeout DUR]\n\n"
    "Makes the scheduler write a consistent copy of its database to FILE while it\n"
    "keeps serving (admins only). FILE is an absolute path ON THE SCHEDULER'S HOST,\n"
    "in an existing folder the scheduler's account may write; it must not exist\n"
    "(a backup never overwrites). The copy passes PRAGMA integrity_check and is\n"
    "fsynced before it appears under its name; on any failure nothing is left.\n"
    "Restore with `mlq-scheduler --restore FILE --state-dir DIR` (scheduler stopped).\n"
    "  --json            {path, size, pages, page_size, duration_ms, schema, integrity}\n"
    "  --scheduler ADDR  scheduler address\n"
    "  --timeout DUR     how long to wait for the finished copy (default 10m)\n";

static const struct option longopts[] = {
    MLQ_CLI_COMMON_LONGOPTS,
    MLQ_CLI_TIMEOUT_LONGOPT,
    {"json", no_argument, NULL, MLQ_CLI_OPT_JSON},
    {NULL, 0, NULL, 0},
};

static int parse(struct mlq_cli *cli, int argc, char **argv, bool *json, const char **path,
                 struct mlq_err *err)
{
    int c, rc = 0;
    optind = 0;
    opterr = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (c == 'h')
            return 1;
        if (c == MLQ_CLI_OPT_SCHEDULER)
            cli->scheduler_opt = optarg;
        else if (c == MLQ_CLI_OPT_TIMEOUT)
            rc = mlq_cli_parse_timeout(optarg, &cli->timeout_ms, err);
        else if (c == MLQ_CLI_OPT_JSON)
            *json = true;
        else
            rc = mlq_cli_getopt_error("admin backup", c, argc, argv, err);
    }
    if (rc == 0 && argc - optind != 1)
        rc = mlq_err_set(err, MLQ_CLI_EUSAGE, "admin backup: expected exactly one FILE");
    if (rc == 0)
        *path = argv[optind];
    if (rc == 0 && mlq_protobackup_path_check(*path, err) < 0)
        rc = MLQ_CLI_EUSAGE;
    return rc;
}

static int print(const struct mlq_msg *r, bool json)
{
    if (!json) {
        printf("backup %s: %lld bytes, %lld pages of %lld bytes, schema %d, integrity %s, "
               "%lld ms\n",
               r->u.backup_done.path, (long long)r->u.backup_done.size,
               (long long)r->u.backup_done.pages, (long long)r->u.backup_done.page_size,
               r->u.backup_done.schema, r->u.backup_done.integrity,
               (long long)r->u.backup_done.duration_ms);
        return fflush(stdout) == 0 ? 0 : MLQ_EIO;
    }
    json_t *doc =
        json_pack("{s:s, s:I, s:I, s:I, s:I, s:i, s:s}", "path", r->u.backup_done.path, "size",
                  (json_int_t)r->u.backup_done.size, "pages", (json_int_t)r->u.backup_done.pages,
                  "page_size", (json_int_t)r->u.backup_done.page_size, "duration_ms",
                  (json_int_t)r->u.backup_done.duration_ms, "schema", r->u.backup_done.schema,
                  "integrity", r->u.backup_done.integrity);
    int rc = doc ? mlq_out_json_print(stdout, doc) : MLQ_ENOMEM;
    json_decref(doc);
    return rc;
}

int mlq_cmd_admin_backup(struct mlq_cli *cli, int argc, char **argv)
{
    struct mlq_err err = {0};
    bool json = false;
    const char *path = NULL;
    cli->timeout_ms = BACKUP_DEFAULT_TIMEOUT_MS;
    int rc = parse(cli, argc - 1, argv + 1, &json, &path, &err);
    if (rc > 0) {
        fputs(backup_usage, stdout);
        return MLQ_EXIT_OK;
    }
    if (rc < 0) {
        fprintf(stderr, "mlq: %s (see `mlq admin backup --help`)\n", err.msg);
        return MLQ_EXIT_USAGE;
    }
    struct mlq_msg req = {.type = MLQ_MSG_BACKUP}, reply;
    req.u.backup.path = (char *)path;
    rc = mlq_cli_request(cli, &req, MLQ_MSG_BACKUP_DONE, &reply, &err);
    if (rc < 0)
        return mlq_out_fail(rc, &err);
    rc = print(&reply, json);
    mlq_proto_msg_free(&reply);
    return rc < 0 ? mlq_out_fail(rc, &err) : MLQ_EXIT_OK;
}
