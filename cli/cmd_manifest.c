/* cmd_manifest: see cmd_manifest.h. The scheduler keeps each attempt's
 * manifest as its worker recorded it; this file fetches, shows and
 * compares. */
#include "cmd_manifest.h"

#include <getopt.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "manifestdiff.h"
#include "output.h"

#define SHOW_MAX 1024

enum { OPT_ATTEMPT = MLQ_CLI_OPT_FIRST_FREE };

static const char manifest_usage[] =
    "usage: mlq manifest JOB [--attempt N] [--json]\n\n"
    "Shows what an attempt of JOB ran: command, working directory, environment\n"
    "(secret values as hashes), account, host and worker, mlq version, GPUs and\n"
    "driver, the git commit of the working directory, and the --input/--output\n"
    "files with their SHA-256. Recorded by the worker; stored when the attempt\n"
    "ends. JOB may also be JOB@N for attempt N.\n"
    "  --attempt N       attempt N (default: the latest)\n"
    "  --json            the manifest document itself\n"
    "  --scheduler ADDR  scheduler address\n"
    "  --timeout DUR     how long to wait for the scheduler's answer (default 10s)\n";

static const char diff_usage[] =
    "usage: mlq diff JOB1 JOB2 [--json]\n\n"
    "Shows what differs between two runs: code (commit, branch, dirty, diff),\n"
    "command, working directory, environment, inputs, outputs, GPUs and driver,\n"
    "image. Each JOB is its latest attempt, or JOB@N for attempt N.\n"
    "Exit status: 0 when the runs are the same, 1 when they differ.\n"
    "  --json            {\"identical\", \"a\", \"b\", \"differences\"}\n"
    "  --scheduler ADDR  scheduler address\n"
    "  --timeout DUR     how long to wait for the scheduler's answer (default 10s)\n";

static const struct option longopts[] = {
    MLQ_CLI_COMMON_LONGOPTS,
    MLQ_CLI_TIMEOUT_LONGOPT,
    {"json", no_argument, NULL, MLQ_CLI_OPT_JSON},
    {"attempt", required_argument, NULL, OPT_ATTEMPT},
    {NULL, 0, NULL, 0},
};

/* Returns -1 to go on (operands from argv[optind]), else the exit code. */
static int parse(struct mlq_cli *cli, const char *cmd, const char *usage, int want, int argc,
                 char **argv, bool *json, int32_t *attempt)
{
    struct mlq_err err = {0};
    int c, rc = 0;
    long n = 0;
    *json = false;
    optind = 0;
    opterr = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, ":h", longopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(usage, stdout);
            return MLQ_EXIT_OK;
        } else if (c == MLQ_CLI_OPT_JSON) {
            *json = true;
        } else if (c == OPT_ATTEMPT && attempt) {
            rc = mlq_cli_parse_int("--attempt", optarg, 1, MLQ_MAX_RETRIES + 1, &n, &err);
            *attempt = (int32_t)n;
        } else if (c == MLQ_CLI_OPT_SCHEDULER) {
            cli->scheduler_opt = optarg;
        } else if (c == MLQ_CLI_OPT_TIMEOUT) {
            rc = mlq_cli_parse_timeout(optarg, &cli->timeout_ms, &err);
        } else {
            rc = mlq_cli_getopt_error(cmd, c, argc, argv, &err);
        }
    }
    if (rc == 0 && argc - optind != want)
        rc = mlq_err_set(&err, MLQ_CLI_EUSAGE, "%s: expected %s", cmd,
                         want == 1 ? "exactly one JOB" : "two jobs, JOB1 JOB2");
    if (rc < 0) {
        fprintf(stderr, "mlq: %s (see `mlq %s --help`)\n", err.msg, cmd);
        return MLQ_EXIT_USAGE;
    }
    return -1;
}

/* "JOB" or "JOB@N": the job part into job, N into *attempt (0: none). */
static int split_ref(const char *ref, char *job, size_t len, int32_t *attempt, struct mlq_err *err)
{
    const char *at = strchr(ref, '@');
    size_t jl = at ? (size_t)(at - ref) : strlen(ref);
    long n = 0;
    if (jl == 0 || jl >= len)
        return mlq_err_set(err, MLQ_CLI_EUSAGE, "bad job '%.60s'", ref);
    memcpy(job, ref, jl);
    job[jl] = '\0';
    if (at && mlq_cli_parse_int("attempt", at + 1, 1, MLQ_MAX_RETRIES + 1, &n, err) < 0)
        return MLQ_CLI_EUSAGE;
    if (at)
        *attempt = (int32_t)n;
    char *ids[] = {job};
    return mlq_cli_check_ids(ids, 1, err);
}

/* Fetches the manifest of ref (attempt: unless ref names one); *doc is the
 * parsed document, reply keeps the ids. */
static int fetch(struct mlq_cli *cli, const char *ref, int32_t attempt, struct mlq_msg *reply,
                 json_t **doc, struct mlq_err *err)
{
    char job[MLQ_MAX_REF + 1];
    int rc = split_ref(ref, job, sizeof job, &attempt, err);
    if (rc < 0)
        return rc;
    struct mlq_msg req = {.type = MLQ_MSG_MANIFEST};
    req.u.manifest.job = job;
    req.u.manifest.attempt = attempt;
    if ((rc = mlq_cli_request(cli, &req, MLQ_MSG_MANIFEST_DATA, reply, err)) < 0)
        return rc;
    json_error_t je;
    *doc = json_loads(reply->u.manifest_data.json, 0, &je);
    if (json_is_object(*doc))
        return 0;
    json_decref(*doc);
    *doc = NULL;
    mlq_proto_msg_free(reply);
    return mlq_err_set(err, MLQ_EPROTO, "the stored manifest is not a JSON object: %s", je.text);
}

/* ---- mlq manifest ---- */

static const char *str(const json_t *o, const char *key, char *buf, size_t len)
{
    const json_t *v = json_object_get(o, key);
    if (json_is_string(v))
        return mlq_out_clean(json_string_value(v), buf, len);
    if (json_is_integer(v)) {
        snprintf(buf, len, "%" JSON_INTEGER_FORMAT, json_integer_value(v));
        return buf;
    }
    return "-";
}

static void print_code(FILE *f, const json_t *g)
{
    char a[SHOW_MAX], b[SHOW_MAX], c[SHOW_MAX];
    if (!g || json_is_null(g)) {
        fprintf(f, "code:     not in a git work tree\n");
    } else if (json_object_get(g, "error")) {
        fprintf(f, "code:     git: %s\n", str(g, "error", a, sizeof a));
    } else {
        fprintf(f, "code:     %s on %s%s%s", str(g, "commit", a, sizeof a),
                str(g, "branch", b, sizeof b),
                json_is_true(json_object_get(g, "dirty")) ? ", dirty, diff sha256 " : "",
                json_is_true(json_object_get(g, "dirty")) ? str(g, "diff_sha256", c, sizeof c)
                                                          : "");
        fprintf(f, ", %s untracked file(s)\n", str(g, "untracked", a, sizeof a));
    }
}

static void print_gpus(FILE *f, const json_t *doc)
{
    char a[SHOW_MAX], b[SHOW_MAX], c[SHOW_MAX];
    const json_t *list = json_object_get(doc, "gpus"), *drv = json_object_get(doc, "gpu_driver");
    size_t i;
    json_t *g;
    if (json_array_size(list) == 0)
        fprintf(f, "gpus:     none\n");
    json_array_foreach((json_t *)list, i, g) fprintf(
        f, "gpu:      %s %s %s\n", str(g, "index", a, sizeof a),
        json_object_get(g, "model") ? str(g, "model", b, sizeof b) : str(g, "type", b, sizeof b),
        str(g, "uuid", c, sizeof c));
    if (json_is_object(drv))
        fprintf(f, "driver:   %s, CUDA %s\n", str(drv, "version", a, sizeof a),
                str(drv, "cuda", b, sizeof b));
}

static void print_files(FILE *f, const char *what, const json_t *doc)
{
    char a[SHOW_MAX], b[SHOW_MAX], c[SHOW_MAX], key[32];
    const json_t *list = json_object_get(doc, what);
    size_t i;
    json_t *e;
    json_array_foreach((json_t *)list, i, e)
    {
        const char *h = json_is_string(json_object_get(e, "sha256")) ? str(e, "sha256", a, sizeof a)
                        : json_object_get(e, "missing")              ? "(missing)"
                        : json_object_get(e, "error")                ? str(e, "error", a, sizeof a)
                                                      : str(e, "reason", a, sizeof a);
        fprintf(f, "%-9s %s %s %s\n", i == 0 ? what : "", h, str(e, "size", b, sizeof b),
                str(e, "path", c, sizeof c));
    }
    snprintf(key, sizeof key, "%s_truncated", what);
    if (json_is_true(json_object_get(doc, key)))
        fprintf(f, "%-9s (list truncated)\n", what);
    snprintf(key, sizeof key, "%s_error", what);
    if (json_object_get(doc, key))
        fprintf(f, "%-9s %s\n", what, str(doc, key, a, sizeof a));
}

static void print_manifest(FILE *f, const struct mlq_msg *r, const json_t *doc)
{
    char a[SHOW_MAX], b[SHOW_MAX], c[SHOW_MAX];
    const json_t *acc = json_object_get(doc, "account"), *m = json_object_get(doc, "mlq");
    fprintf(f, "job:      %s attempt %d (%s)\n", r->u.manifest_data.job_id,
            (int)r->u.manifest_data.attempt, r->u.manifest_data.attempt_id);
    char *argv_text = json_dumps(json_object_get(doc, "argv"), JSON_COMPACT | JSON_ENCODE_ANY);
    fprintf(f, "command:  %s\n", mlq_out_clean(argv_text ? argv_text : "-", a, sizeof a));
    free(argv_text);
    fprintf(f, "workdir:  %s\n", str(doc, "workdir", a, sizeof a));
    fprintf(f, "account:  %s (uid %s)\n", str(acc, "user", a, sizeof a),
            str(acc, "uid", b, sizeof b));
    fprintf(f, "host:     %s (worker %s)\n", str(doc, "host", a, sizeof a),
            str(doc, "worker", b, sizeof b));
    fprintf(f, "mlq:      %s (git %s)\n", str(m, "version", a, sizeof a),
            str(m, "git", b, sizeof b));
    print_code(f, json_object_get(doc, "git"));
    print_gpus(f, doc);
    const json_t *img = json_object_get(doc, "image");
    if (img)
        fprintf(f, "image:    %s %s\n", str(img, "ref", a, sizeof a),
                str(img, "digest", b, sizeof b));
    print_files(f, "inputs", doc);
    print_files(f, "outputs", doc);
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)json_object_get(doc, "env"), k, v)
        fprintf(f, "env:      %s=%s\n", mlq_out_clean(k, a, sizeof a),
                json_is_string(v) ? mlq_out_clean(json_string_value(v), c, sizeof c) : "-");
}

int mlq_cmd_manifest(struct mlq_cli *cli, int argc, char **argv)
{
    bool json;
    int32_t attempt = 0;
    int rc = parse(cli, "manifest", manifest_usage, 1, argc, argv, &json, &attempt);
    if (rc >= 0)
        return rc;
    struct mlq_err err = {0};
    struct mlq_msg reply;
    json_t *doc = NULL;
    if ((rc = fetch(cli, argv[optind], attempt, &reply, &doc, &err)) < 0)
        return mlq_out_fail(rc, &err);
    if (json)
        rc = mlq_out_json_print(stdout, doc);
    else
        print_manifest(stdout, &reply, doc);
    json_decref(doc);
    mlq_proto_msg_free(&reply);
    return rc < 0 || fflush(stdout) != 0 ? mlq_out_fail(MLQ_EIO, NULL) : MLQ_EXIT_OK;
}

/* ---- mlq diff ---- */

static json_t *side(const struct mlq_msg *r)
{
    return json_pack("{s:s,s:i,s:s}", "job_id", r->u.manifest_data.job_id, "attempt",
                     r->u.manifest_data.attempt, "attempt_id", r->u.manifest_data.attempt_id);
}

static int show_diff(const struct mlq_msg *ra, const struct mlq_msg *rb, const json_t *d, bool json)
{
    bool same = json_object_size(d) == 0;
    int rc = 0;
    if (json) {
        json_t *doc = json_pack("{s:b,s:o,s:o,s:O}", "identical", same, "a", side(ra), "b",
                                side(rb), "differences", d);
        rc = doc ? mlq_out_json_print(stdout, doc) : MLQ_ENOMEM;
        json_decref(doc);
    } else if (same) {
        printf("no differences between %.8s attempt %d and %.8s attempt %d\n",
               ra->u.manifest_data.job_id, (int)ra->u.manifest_data.attempt,
               rb->u.manifest_data.job_id, (int)rb->u.manifest_data.attempt);
    } else {
        printf("--- %.8s attempt %d\n+++ %.8s attempt %d\n", ra->u.manifest_data.job_id,
               (int)ra->u.manifest_data.attempt, rb->u.manifest_data.job_id,
               (int)rb->u.manifest_data.attempt);
        rc = mlq_mdiff_print(stdout, d);
    }
    if (rc < 0 || fflush(stdout) != 0)
        return mlq_out_fail(MLQ_EIO, NULL);
    return same ? MLQ_EXIT_OK : MLQ_EXIT_FAILED;
}

int mlq_cmd_diff(struct mlq_cli *cli, int argc, char **argv)
{
    bool json;
    int rc = parse(cli, "diff", diff_usage, 2, argc, argv, &json, NULL);
    if (rc >= 0)
        return rc;
    struct mlq_err err = {0};
    struct mlq_msg ra, rb;
    json_t *a = NULL, *b = NULL;
    char *refb = argv[optind + 1];
    if ((rc = fetch(cli, argv[optind], 0, &ra, &a, &err)) < 0)
        return mlq_out_fail(rc, &err);
    if ((rc = fetch(cli, refb, 0, &rb, &b, &err)) < 0) {
        json_decref(a);
        mlq_proto_msg_free(&ra);
        return mlq_out_fail(rc, &err);
    }
    json_t *d = mlq_mdiff(a, b);
    rc = d ? show_diff(&ra, &rb, d, json) : mlq_out_fail(MLQ_ENOMEM, NULL);
    json_decref(d);
    json_decref(a);
    json_decref(b);
    mlq_proto_msg_free(&ra);
    mlq_proto_msg_free(&rb);
    return rc;
}
