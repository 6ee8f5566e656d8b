/* cmd_submit: `mlq submit [options] [--] CMD ARGS...`.
 *
 * Option parsing stops at the first word that is not an option ("+" in the
 * getopt string), so the job's own arguments are never taken for ours even
 * when they start with '-'. Everything is checked locally before anything is
 * sent: a bad request never reaches the scheduler. */
#include "cmd_submit.h"

#include <getopt.h>
#include <pwd.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "fsutil.h"
#include "bounds.h"
#include "output.h"
#include "res.h"

#define DEFAULT_MEM "1G"

enum {
    OPT_NAME = MLQ_CLI_OPT_FIRST_FREE,
    OPT_CPUS,
    OPT_MEM,
    OPT_GPUS,
    OPT_ENV,
    OPT_WORKDIR,
};

static const struct option submit_longopts[] = {
    MLQ_CLI_COMMON_LONGOPTS,
    MLQ_CLI_TIMEOUT_LONGOPT,
    {"name", required_argument, NULL, OPT_NAME},
    {"cpus", required_argument, NULL, OPT_CPUS},
    {"mem", required_argument, NULL, OPT_MEM},
    {"gpus", required_argument, NULL, OPT_GPUS},
    {"env", required_argument, NULL, OPT_ENV},
    {"workdir", required_argument, NULL, OPT_WORKDIR},
    {"json", no_argument, NULL, MLQ_CLI_OPT_JSON},
    {NULL, 0, NULL, 0},
};

static const char submit_usage[] =
    "usage: mlq submit [options] [--] CMD ARGS...\n"
    "\n"
    "Submits CMD ARGS... as a job and prints its id.\n"
    "\n"
    "options:\n"
    "  --name NAME        a name for the job\n"
    "  --cpus C           CPUs, may be fractional (default 1)\n"
    "  --mem M            memory, e.g. 512M, 4G (default 1G)\n"
    "  --gpus G           GPUs (default 0)\n"
    "  --env KEY=VALUE    set an environment variable for the job (repeatable)\n"
    "  --workdir DIR      working directory (default: the current one)\n"
    "  --json             print {\"id\": ...} instead of the bare id\n"
    "  --scheduler ADDR   scheduler address\n"
    "  --timeout DUR      how long to wait for the scheduler's answer (default 10s)\n"
    "  -h, --help         show this help\n";

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* The submitting user's name; the numeric uid when it has no passwd entry
 * (containers often run under such uids). */
static char *current_user(void)
{
    struct passwd *pw = getpwuid(getuid());
    if (pw && pw->pw_name && pw->pw_name[0])
        return strdup(pw->pw_name);
    char buf[32];
    snprintf(buf, sizeof(buf), "%u", (unsigned)getuid());
    return strdup(buf);
}

static int add_env(struct mlq_jobspec *spec, const char *kv, struct mlq_err *err)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv)
        return mlq_err_set(err, MLQ_EINVAL, "bad --env '%.40s' (expected KEY=VALUE)", kv);
    if (spec->envc >= MLQ_MAX_ENVC)
        return mlq_err_set(err, MLQ_ETOOBIG, "too many --env (at most %d)", MLQ_MAX_ENVC);
    char **env = realloc(spec->env, (spec->envc + 1) * sizeof(*env));
    if (!env)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    spec->env = env;
    if (!(env[spec->envc] = strdup(kv)))
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    spec->envc++;
    return 0;
}

static int set_workdir(struct mlq_jobspec *spec, const char *dir, struct mlq_err *err)
{
    free(spec->workdir);
    spec->workdir = dir ? mlq_fs_abspath(dir) : getcwd(NULL, 0);
    if (!spec->workdir)
        return mlq_err_set(err, MLQ_EIO, "cannot resolve the working directory");
    return 0;
}

/* Handles one option; name and workdir are only remembered (last wins). */
static int submit_opt(int c, struct mlq_jobspec *spec, struct mlq_cli_submit_opts *opts,
                      const char **name, const char **workdir, struct mlq_err *err)
{
    switch (c) {
    case OPT_NAME:
        *name = optarg;
        return 0;
    case OPT_CPUS:
        return mlq_res_parse_cpus(optarg, &spec->cpus_m, err);
    case OPT_MEM:
        return mlq_res_parse_mem(optarg, &spec->mem, err);
    case OPT_GPUS:
        return mlq_res_parse_gpus(optarg, &spec->gpus, err);
    case OPT_ENV:
        return add_env(spec, optarg, err);
    case OPT_WORKDIR:
        *workdir = optarg;
        return 0;
    case MLQ_CLI_OPT_JSON:
        opts->json = true;
        return 0;
    case MLQ_CLI_OPT_SCHEDULER:
        opts->scheduler = optarg;
        return 0;
    case MLQ_CLI_OPT_TIMEOUT:
        return mlq_cli_parse_timeout(optarg, &opts->timeout_ms, err);
    case 'h':
        opts->help = true;
        return 0;
    default:
        return mlq_err_set(err, MLQ_CLI_EUSAGE, "submit: unexpected option");
    }
}

static int copy_command(struct mlq_jobspec *spec, int argc, char **argv, struct mlq_err *err)
{
    if (argc <= 0)
        return mlq_err_set(err, MLQ_CLI_EUSAGE, "submit: no command given");
    if (argc > MLQ_MAX_ARGC)
        return mlq_err_set(err, MLQ_ETOOBIG, "command has %d words (at most %d)", argc,
                           MLQ_MAX_ARGC);
    spec->argv = calloc((size_t)argc, sizeof(*spec->argv));
    if (!spec->argv)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    for (int i = 0; i < argc; i++) {
        if (!(spec->argv[i] = strdup(argv[i])))
            return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
        spec->argc = (uint32_t)i + 1;
    }
    return 0;
}

/* Everything after the options: owner, name, workdir, command, then the
 * protocol's own check of the whole spec. */
static int submit_finish(int argc, char **argv, struct mlq_jobspec *spec, const char *name,
                         const char *workdir, struct mlq_err *err)
{
    int rc = copy_command(spec, argc - optind, argv + optind, err);
    if (rc < 0 || (rc = set_workdir(spec, workdir, err)) < 0)
        return rc;
    spec->owner = current_user();
    spec->name = dup_or_null(name);
    if (!spec->owner || (name && !spec->name))
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    return mlq_proto_jobspec_check(spec, err);
}

int mlq_cli_submit_parse(int argc, char **argv, struct mlq_jobspec *spec,
                         struct mlq_cli_submit_opts *opts, struct mlq_err *err)
{
    memset(spec, 0, sizeof(*spec));
    memset(opts, 0, sizeof(*opts));
    spec->cpus_m = 1000;
    int rc = mlq_res_parse_mem(DEFAULT_MEM, &spec->mem, err);
    const char *name = NULL, *workdir = NULL;
    int c;
    optind = 0; /* full reset: the parser may have run before */
    opterr = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, "+:h", submit_longopts, NULL)) != -1) {
        if (c == '?' || c == ':')
            rc = mlq_cli_getopt_error("submit", c, argc, argv, err);
        else
            rc = submit_opt(c, spec, opts, &name, &workdir, err);
    }
    if (rc == 0 && !opts->help)
        rc = submit_finish(argc, argv, spec, name, workdir, err);
    if (rc < 0)
        mlq_proto_jobspec_free(spec);
    return rc;
}

static int print_id(const char *id, bool json)
{
    if (!json) {
        printf("%s\n", id);
        return 0;
    }
    json_t *doc = json_pack("{s:s}", "id", id);
    int rc = doc ? mlq_out_json_print(stdout, doc) : MLQ_ENOMEM;
    json_decref(doc);
    return rc;
}

int mlq_cmd_submit(struct mlq_cli *cli, int argc, char **argv)
{
    struct mlq_err err = {0};
    struct mlq_jobspec spec;
    struct mlq_cli_submit_opts opts;
    int rc = mlq_cli_submit_parse(argc, argv, &spec, &opts, &err);
    if (rc == MLQ_CLI_EUSAGE) {
        fprintf(stderr, "mlq: %s (see `mlq submit --help`)\n", err.msg);
        return MLQ_EXIT_USAGE;
    }
    if (rc < 0)
        return mlq_out_fail(rc, &err);
    if (opts.help) {
        fputs(submit_usage, stdout);
        mlq_proto_jobspec_free(&spec);
        return MLQ_EXIT_OK;
    }
    if (opts.scheduler)
        cli->scheduler_opt = opts.scheduler;
    if (opts.timeout_ms > 0)
        cli->timeout_ms = opts.timeout_ms;
    struct mlq_msg req = {.type = MLQ_MSG_SUBMIT}, reply;
    req.u.submit.spec = spec;
    rc = mlq_cli_request(cli, &req, MLQ_MSG_SUBMITTED, &reply, &err);
    mlq_proto_jobspec_free(&spec);
    if (rc < 0)
        return mlq_out_fail(rc, &err);
    rc = print_id(reply.u.submitted.id, opts.json);
    mlq_proto_msg_free(&reply);
    return rc < 0 ? mlq_out_fail(rc, NULL) : MLQ_EXIT_OK;
}
