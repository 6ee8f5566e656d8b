/* cmd_rerun: see cmd_rerun.h. The spec comes from the scheduler (`job_spec`,
 * owner and admins only: it holds the environment); the overrides go
 * through submit's own parser (mlq_cli_submit_parse_over), so they are
 * read and checked exactly as `mlq submit` reads and checks them. */
#include "cmd_rerun.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "arrayspec.h"
#include "cmd_submit.h"
#include "output.h"
#include "rerunchk.h"

enum { OPT_FAILED = MLQ_CLI_SUBMIT_OPT_END, OPT_STRICT };

static const struct option rerun_longopts[] = {
    {"failed", no_argument, NULL, OPT_FAILED},
    {"strict", no_argument, NULL, OPT_STRICT},
    {NULL, 0, NULL, 0},
};

static const char rerun_usage[] =
    "usage: mlq rerun JOB [--failed] [--strict] [submit options] [-- CMD ARGS...]\n"
    "       (JOB first; only --scheduler and --timeout may come before it)\n"
    "\n"
    "Submits JOB again (a job, a task ARRAY/N, or a whole array) with the spec it\n"
    "was submitted with: command, environment, working directory, resources,\n"
    "limits, placement and image; dependencies are not carried over. Any option\n"
    "of `mlq submit` overrides (--env KEY=VALUE replaces KEY's value), and a\n"
    "command after the options replaces the command. Prints the rerun's id.\n"
    "\n"
    "Before submitting it compares, on this machine, the working directory's git\n"
    "commit and uncommitted changes and the --input files (hash and size) with\n"
    "the manifest of JOB's last attempt, and warns on stderr for each difference.\n"
    "\n"
    "  --failed   JOB is an array: submit, as an array of their own with the same indices,\n"
    "             only its tasks that ended without success (FAILED, TIMED_OUT,\n"
    "             CANCELLED); with none, says so and exits 0 without submitting\n"
    "  --strict   refuse (exit 1, nothing submitted) when anything differs\n"
    "  -h, --help show this help\n"
    "\n"
    "exit: 0 submitted (or nothing to rerun), 1 refused by --strict, and the\n"
    "codes of `mlq submit` otherwise.\n"
    "\n"
    "options of `mlq submit`, each overriding the original's:\n";

struct rerun_opts {
    bool failed, strict;
};

static void print_usage(void)
{
    fputs(rerun_usage, stdout);
    fputs(mlq_cli_submit_options_help(), stdout);
}

static int usage_error(const struct mlq_err *err)
{
    fprintf(stderr, "mlq: %s (see `mlq rerun --help`)\n", err->msg);
    return MLQ_EXIT_USAGE;
}

static int rerun_opt(int c, const char *arg, void *ctx, struct mlq_err *err)
{
    struct rerun_opts *o = ctx;
    (void)arg;
    (void)err;
    if (c == OPT_FAILED)
        o->failed = true;
    else
        o->strict = true;
    return 0;
}

/* The spec JOB was submitted with (full id in id). */
static int fetch_spec(struct mlq_cli *cli, const char *ref, struct mlq_msg *reply,
                      struct mlq_err *err)
{
    struct mlq_msg req = {.type = MLQ_MSG_JOB_SPEC};
    req.u.why.job = (char *)ref;
    return mlq_cli_request(cli, &req, MLQ_MSG_JOB_SPEC_REPLY, reply, err);
}

/* --failed: the array's tasks that ended without success, as its index
 * spec; 1 when there are none. */
static int failed_indices(struct mlq_cli *cli, const char *id, struct mlq_jobspec *spec,
                          struct mlq_err *err)
{
    char *ids[] = {(char *)id};
    struct mlq_msg list;
    int rc = mlq_cli_fetch_refs(cli, ids, 1, &list, err);
    if (rc < 0)
        return rc;
    if (list.u.job_list.narrays != 1)
        rc = mlq_err_set(err, MLQ_EPROTO, "the scheduler did not describe array %.8s", id);
    const char *failed = rc == 0 ? list.u.job_list.arrays[0].failed : NULL;
    if (rc == 0 && !failed)
        rc = 1;
    else if (rc == 0 && (strstr(failed, "...") || strlen(failed) > MLQ_ARRAYSPEC_MAX_LEN))
        rc =
            mlq_err_set(err, MLQ_ETOOBIG,
                        "array %.8s has too many failed runs of indices to rerun as one array", id);
    if (rc == 0) {
        free(spec->array);
        if (!(spec->array = strdup(failed)))
            rc = mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    }
    mlq_proto_msg_free(&list);
    return rc;
}

/* The base spec of the rerun: JOB's, without its dependencies (they were
 * for the first run), and for --failed only the failed indices. Returns 1
 * when --failed finds nothing to rerun. */
static int make_base(struct mlq_cli *cli, const char *ref, const struct rerun_opts *o,
                     struct mlq_msg *reply, struct mlq_err *err)
{
    int rc = fetch_spec(cli, ref, reply, err);
    if (rc < 0)
        return rc;
    struct mlq_jobspec *spec = &reply->u.job_spec_reply.spec;
    free(spec->deps);
    spec->deps = NULL;
    spec->ndeps = 0;
    if (o->failed && !reply->u.job_spec_reply.is_array)
        rc = mlq_err_set(err, MLQ_CLI_EUSAGE, "rerun --failed: %.8s is not an array",
                         reply->u.job_spec_reply.id);
    else if (o->failed)
        rc = failed_indices(cli, reply->u.job_spec_reply.id, spec, err);
    if (rc != 0)
        mlq_proto_msg_free(reply);
    return rc;
}

static int submit_spec(struct mlq_cli *cli, struct mlq_jobspec *spec,
                       const struct mlq_cli_submit_opts *opts)
{
    struct mlq_err err = {0};
    struct mlq_msg req = {.type = MLQ_MSG_SUBMIT}, reply;
    req.u.submit.spec = *spec;
    bool is_array = spec->array != NULL;
    int rc = mlq_cli_request(cli, &req, MLQ_MSG_SUBMITTED, &reply, &err);
    if (rc < 0)
        return mlq_out_fail(rc, &err);
    if (opts->json)
        printf("{\"id\": \"%s\", \"is_array\": %s}\n", reply.u.submitted.id,
               is_array ? "true" : "false");
    else
        printf("%s\n", reply.u.submitted.id);
    mlq_proto_msg_free(&reply);
    return fflush(stdout) == 0 ? MLQ_EXIT_OK : mlq_out_fail(MLQ_EIO, NULL);
}

/* What the rerun is compared with: the job, or the array's first task
 * that runs again. */
static int manifest_ref(const struct mlq_msg *base, char out[MLQ_MAX_REF + 1], struct mlq_err *err)
{
    const char *id = base->u.job_spec_reply.id;
    uint32_t *idx = NULL, n = 0;
    snprintf(out, MLQ_MAX_REF + 1, "%s", id);
    if (!base->u.job_spec_reply.is_array)
        return 0;
    int rc = mlq_arrayspec_parse(base->u.job_spec_reply.spec.array, &idx, &n, err);
    if (rc == 0 && n > 0)
        snprintf(out, MLQ_MAX_REF + 1, "%s/%u", id, idx[0]);
    free(idx);
    return rc;
}

/* The spec to submit: base, then the overrides of argv (after JOB). */
static int build(struct mlq_cli *cli, int argc, char **argv, struct rerun_opts *o,
                 struct mlq_jobspec *spec, struct mlq_cli_submit_opts *opts,
                 char mref[MLQ_MAX_REF + 1])
{
    struct mlq_err err = {0};
    struct mlq_cli_submit_extra extra = {"rerun", rerun_longopts, rerun_opt, o};
    /* A first pass for our own options and --scheduler / --timeout. */
    int rc =
        mlq_cli_submit_parse_over(argc, argv, &extra, &(struct mlq_jobspec){0}, spec, opts, &err);
    mlq_proto_jobspec_free(spec);
    if (rc == MLQ_CLI_EUSAGE)
        return usage_error(&err);
    if (opts->help) {
        print_usage();
        return MLQ_EXIT_OK;
    }
    if (opts->scheduler)
        cli->scheduler_opt = opts->scheduler;
    if (opts->timeout_ms > 0)
        cli->timeout_ms = opts->timeout_ms;
    struct mlq_msg base;
    rc = make_base(cli, argv[0], o, &base, &err);
    if (rc == 1) {
        fprintf(stderr, "mlq: nothing to rerun: no task of array %.8s ended without success\n",
                argv[0]);
        return MLQ_EXIT_OK;
    }
    if (rc == MLQ_CLI_EUSAGE)
        return usage_error(&err);
    if (rc < 0)
        return mlq_out_fail(rc, &err);
    rc = manifest_ref(&base, mref, &err);
    if (rc == 0)
        rc = mlq_cli_submit_parse_over(argc, argv, &extra, &base.u.job_spec_reply.spec, spec, opts,
                                       &err);
    mlq_proto_msg_free(&base);
    if (rc == MLQ_CLI_EUSAGE)
        return usage_error(&err);
    return rc < 0 ? mlq_out_fail(rc, &err) : -1;
}

/* Where JOB is: the first word, after --scheduler and --timeout (which
 * the CLI's callers put right after the command name) and their values;
 * 0 when missing. */
static int find_job(int argc, char **argv)
{
    int i = 1;
    while (i < argc && (strcmp(argv[i], "--scheduler") == 0 || strcmp(argv[i], "--timeout") == 0))
        i += 2;
    while (i < argc &&
           (strncmp(argv[i], "--scheduler=", 12) == 0 || strncmp(argv[i], "--timeout=", 10) == 0))
        i++;
    return i < argc && argv[i][0] != '-' ? i : 0;
}

int mlq_cmd_rerun(struct mlq_cli *cli, int argc, char **argv)
{
    for (int i = 1; i < argc && strcmp(argv[i], "--") != 0; i++) {
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            print_usage();
            return MLQ_EXIT_OK;
        }
    }
    struct mlq_err err = {0};
    int j = find_job(argc, argv);
    if (j == 0) {
        mlq_err_set(&err, MLQ_CLI_EUSAGE, "rerun: expected JOB first");
        return usage_error(&err);
    }
    if (mlq_cli_check_ids(argv + j, 1, &err) < 0)
        return mlq_out_fail(MLQ_EINVAL, &err);
    /* JOB takes the place of the command name for the parser. */
    char **args = calloc((size_t)argc, sizeof *args);
    if (!args)
        return mlq_out_fail(MLQ_ENOMEM, NULL);
    args[0] = argv[j];
    for (int i = 1, k = 1; i < argc; i++)
        if (i != j)
            args[k++] = argv[i];
    struct rerun_opts o = {0};
    struct mlq_jobspec spec;
    struct mlq_cli_submit_opts opts;
    char mref[MLQ_MAX_REF + 1];
    int rc = build(cli, argc - 1, args, &o, &spec, &opts, mref);
    if (rc < 0) {
        rc = mlq_rerunchk_run(cli, mref, &spec, o.strict);
        if (rc == 0)
            rc = submit_spec(cli, &spec, &opts);
        mlq_proto_jobspec_free(&spec);
    }
    free(args);
    return rc;
}
