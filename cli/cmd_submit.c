/* cmd_submit: `mlq submit [options] [--] CMD ARGS...`.
 *
 * Option parsing stops at the first word that is not an option ("+" in the
 * getopt string), so the job's own arguments are never taken for ours even
 * when they start with '-'. Everything is checked locally before anything is
 * sent: a bad request never reaches the scheduler. */
#include "cmd_submit.h"

#include <getopt.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "fsutil.h"
#include "mpk.h"
#include "bounds.h"
#include "output.h"
#include "res.h"
#include "submitpipe.h"

#define DEFAULT_MEM "1G"
#define MAX_SIGNAL  64

enum {
    OPT_NAME = MLQ_CLI_OPT_FIRST_FREE,
    OPT_CPUS,
    OPT_MEM,
    OPT_GPUS,
    OPT_ENV,
    OPT_WORKDIR,
    OPT_RETRIES,
    OPT_RETRY_BACKOFF,
    OPT_TIME_LIMIT,
    OPT_KILL_GRACE,
    OPT_SIGNAL,
    OPT_PRIORITY,
    OPT_POOL,
    OPT_REQUIRE,
    OPT_AFTER,
    OPT_AFTER_ANY,
    OPT_AFTER_FAILED,
    OPT_ARRAY,
    OPT_MAX_RUNNING,
    OPT_IDEM_KEY,
    OPT_NODES,
    OPT_IMAGE,
    OPT_INPUT,
    OPT_OUTPUT,
    OPT_END_ /* must equal MLQ_CLI_SUBMIT_OPT_END */
};

_Static_assert(OPT_END_ <= MLQ_CLI_SUBMIT_OPT_END, "submit options overlap the callers' codes");

static const struct option submit_longopts[] = {
    MLQ_CLI_COMMON_LONGOPTS,
    MLQ_CLI_TIMEOUT_LONGOPT,
    {"name", required_argument, NULL, OPT_NAME},
    {"cpus", required_argument, NULL, OPT_CPUS},
    {"mem", required_argument, NULL, OPT_MEM},
    {"gpus", required_argument, NULL, OPT_GPUS},
    {"nodes", required_argument, NULL, OPT_NODES},
    {"image", required_argument, NULL, OPT_IMAGE},
    {"env", required_argument, NULL, OPT_ENV},
    {"workdir", required_argument, NULL, OPT_WORKDIR},
    {"retries", required_argument, NULL, OPT_RETRIES},
    {"retry-backoff", required_argument, NULL, OPT_RETRY_BACKOFF},
    {"time-limit", required_argument, NULL, OPT_TIME_LIMIT},
    {"kill-grace", required_argument, NULL, OPT_KILL_GRACE},
    {"signal", required_argument, NULL, OPT_SIGNAL},
    {"priority", required_argument, NULL, OPT_PRIORITY},
    {"pool", required_argument, NULL, OPT_POOL},
    {"require", required_argument, NULL, OPT_REQUIRE},
    {"after", required_argument, NULL, OPT_AFTER},
    {"after-any", required_argument, NULL, OPT_AFTER_ANY},
    {"after-failed", required_argument, NULL, OPT_AFTER_FAILED},
    {"array", required_argument, NULL, OPT_ARRAY},
    {"max-running", required_argument, NULL, OPT_MAX_RUNNING},
    {"idempotency-key", required_argument, NULL, OPT_IDEM_KEY},
    {"input", required_argument, NULL, OPT_INPUT},
    {"output", required_argument, NULL, OPT_OUTPUT},
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
    "  --gpus G           GPUs (default 0); TYPE:G asks for G GPUs of one type,\n"
    "                     e.g. h100:2 (the type is not case sensitive)\n"
    "  --nodes N          a gang of N node parts (1..256) on N distinct workers, each\n"
    "                     with the --cpus, --mem and --gpus given, started and\n"
    "                     stopped as one; the job sees MLQ_NODE_RANK, MLQ_MASTER_ADDR...\n"
    "                     (not with --array)\n"
    "  --image REF        run the job in this OCI image through the worker's\n"
    "                     container runtime (podman), e.g. ghcr.io/team/train:1.2;\n"
    "                     the working directory is mounted at the same path\n"
    "  --env KEY=VALUE    set an environment variable for the job (repeatable)\n"
    "  --workdir DIR      working directory (default: the current one)\n"
    "  --retries N        run again up to N times (0..100) after it fails or times out\n"
    "                     (default 0)\n"
    "  --retry-backoff DUR  wait before the first retry, doubling each time, at most\n"
    "                     1h (default 30s)\n"
    "  --time-limit DUR   stop each attempt after DUR of run time (default: none)\n"
    "  --kill-grace DUR   time between SIGTERM and SIGKILL when the job is stopped\n"
    "                     (default 30s)\n"
    "  --signal SIG@DUR   send SIG (USR1, SIGUSR1, 10...) DUR before the time limit\n"
    "                     (needs --time-limit)\n"
    "  --priority N       -1000..1000 (default 0): higher runs first\n"
    "  --pool NAME        run only on workers of pool NAME (default: pool \"default\")\n"
    "  --require KEY=VALUE  run only on workers with this label (repeatable)\n"
    "  --after JOB[,JOB]  start only after these jobs (or arrays: all their tasks)\n"
    "                     succeeded; cancelled when one of them does not (repeatable)\n"
    "  --after-any JOB[,JOB]  start after these ended, however they ended\n"
    "  --after-failed JOB[,JOB]  start only if one of these did not succeed\n"
    "                     (JOB: any unique prefix of a job or array id, or ARRAY/N)\n"
    "  --array SPEC       submit a job array: one task per index, e.g. 0-999,\n"
    "                     0-99:10 (every 10th), 1,5,7; prints the array id\n"
    "  --max-running N    at most N tasks of the array run at once\n"
    "  --idempotency-key KEY  submitting again with the same KEY (within 7 days)\n"
    "                     prints the first id and creates nothing\n"
    "  --input PATH       a file or folder the job reads: its files' SHA-256, size and\n"
    "                     time are recorded in the run manifest when each attempt\n"
    "                     starts; a missing one stops the attempt before it runs\n"
    "                     (absolute or relative to --workdir; repeatable, at most 64)\n"
    "  --output PATH      the same for what the job writes, recorded when it ends\n"
    "  --json             print {\"id\": ..., \"is_array\": ...} instead of the bare id\n"
    "  --scheduler ADDR   scheduler address\n"
    "  --timeout DUR      how long to wait for the scheduler's answer (default 10s)\n"
    "  -h, --help         show this help\n";

const char *mlq_cli_submit_options_help(void)
{
    const char *o = strstr(submit_usage, "options:\n");
    return o ? o + strlen("options:\n") : submit_usage;
}

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

/* --env KEY=VALUE; a KEY given before (or by the job rerun) takes this
 * value: the job would see the last one anyway. */
static int add_env(struct mlq_jobspec *spec, const char *kv, struct mlq_err *err)
{
    const char *eq = strchr(kv, '=');
    if (!eq || eq == kv)
        return mlq_err_set(err, MLQ_EINVAL, "bad --env '%.40s' (expected KEY=VALUE)", kv);
    size_t klen = (size_t)(eq - kv) + 1;
    for (uint32_t i = 0; i < spec->envc; i++) {
        if (strncmp(spec->env[i], kv, klen) != 0)
            continue;
        char *copy = strdup(kv);
        if (!copy)
            return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
        free(spec->env[i]);
        spec->env[i] = copy;
        return 0;
    }
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

/* --input / --output: kept as given (the worker resolves a relative one
 * against the job's working directory). */
static int add_path(char ***v, uint32_t *n, const char *opt, const char *path, struct mlq_err *err)
{
    if (!*path || strlen(path) > MLQ_MAX_PATH || strchr(path, '\n'))
        return mlq_err_set(err, MLQ_EINVAL, "%s: expected a path of 1 to %d bytes", opt,
                           MLQ_MAX_PATH);
    if (*n >= MLQ_MAX_IO_PATHS)
        return mlq_err_set(err, MLQ_ETOOBIG, "too many %s (at most %d)", opt, MLQ_MAX_IO_PATHS);
    char **nv = realloc(*v, (*n + 1) * sizeof(*nv));
    if (!nv)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    *v = nv;
    if (!(nv[*n] = strdup(path)))
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    (*n)++;
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

/* "USR1", "SIGUSR1", "usr1" or "10" -> 10; 0 when unknown. */
static int parse_signal_name(const char *s)
{
    char *end = NULL;
    if (s[0] >= '0' && s[0] <= '9') {
        long v = strtol(s, &end, 10);
        return *end == '\0' && v >= 1 && v <= MAX_SIGNAL ? (int)v : 0;
    }
    if (strncasecmp(s, "SIG", 3) == 0)
        s += 3;
    for (int i = 1; i <= MAX_SIGNAL && s[0]; i++) {
        const char *abbrev = sigabbrev_np(i);
        if (abbrev && strcasecmp(abbrev, s) == 0)
            return i;
    }
    return 0;
}

/* --signal SIG@DUR: the signal and how long before the time limit. */
static int parse_warn_signal(const char *arg, struct mlq_jobspec *spec, struct mlq_err *err)
{
    char sig[32];
    const char *at = strchr(arg, '@');
    size_t n = at ? (size_t)(at - arg) : 0;
    if (!at || n == 0 || n >= sizeof(sig) || !at[1])
        return mlq_err_set(err, MLQ_EINVAL, "bad --signal '%.40s' (expected SIG@DUR, e.g. USR1@5m)",
                           arg);
    memcpy(sig, arg, n);
    sig[n] = '\0';
    spec->warn_signal = parse_signal_name(sig);
    if (spec->warn_signal == 0)
        return mlq_err_set(err, MLQ_EINVAL,
                           "bad --signal '%.40s': unknown signal '%s' (a name like USR1 or a "
                           "number 1..%d)",
                           arg, sig, MAX_SIGNAL);
    struct mlq_err e = {0};
    if (mlq_res_parse_duration(at + 1, &spec->warn_before_ms, &e) < 0)
        return mlq_err_set(err, MLQ_EINVAL, "bad --signal: %s", e.msg);
    return 0;
}

/* A duration option; the message names the option. */
static int parse_dur_opt(const char *opt, const char *arg, int64_t *out, struct mlq_err *err)
{
    struct mlq_err e = {0};
    if (mlq_res_parse_duration(arg, out, &e) < 0)
        return mlq_err_set(err, MLQ_EINVAL, "bad %s: %s", opt, e.msg);
    return 0;
}

static int parse_retries(const char *arg, int32_t *out, struct mlq_err *err)
{
    char *end = NULL;
    long v = arg[0] >= '0' && arg[0] <= '9' ? strtol(arg, &end, 10) : -1;
    if (v < 0 || v > MLQ_MAX_RETRIES || !end || *end != '\0')
        return mlq_err_set(err, MLQ_EINVAL, "bad --retries '%.40s' (expected 0..%d)", arg,
                           MLQ_MAX_RETRIES);
    *out = (int32_t)v;
    return 0;
}

/* --gpus N or --gpus TYPE:N; TYPE is lowercased ("H100:2" asks for h100). */
static int parse_gpus_opt(const char *arg, struct mlq_jobspec *spec, struct mlq_err *err)
{
    const char *colon = strrchr(arg, ':');
    free(spec->gpu_type);
    spec->gpu_type = NULL;
    if (!colon)
        return mlq_res_parse_gpus(arg, &spec->gpus, err);
    size_t n = (size_t)(colon - arg);
    if (n == 0 || n > MLQ_MAX_GPU_TYPE)
        return mlq_err_set(err, MLQ_EINVAL,
                           "bad --gpus '%.40s' (expected N or TYPE:N with a TYPE of 1 to %d "
                           "characters, e.g. h100:2)",
                           arg, MLQ_MAX_GPU_TYPE);
    if (!(spec->gpu_type = strndup(arg, n)))
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    for (char *p = spec->gpu_type; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    struct mlq_err e = {0};
    if (mlq_proto_gpu_type_check(spec->gpu_type, &e) < 0)
        return mlq_err_set(err, MLQ_EINVAL, "bad --gpus '%.40s': %s", arg, e.msg);
    int rc = mlq_res_parse_gpus(colon + 1, &spec->gpus, err);
    if (rc == 0 && spec->gpus < 1)
        return mlq_err_set(err, MLQ_EINVAL,
                           "bad --gpus '%.40s': a GPU type needs a count of 1 or more", arg);
    return rc;
}

static int parse_priority(const char *arg, int32_t *out, struct mlq_err *err)
{
    char *end = NULL;
    bool digits = (arg[0] == '-' || arg[0] == '+') ? arg[1] >= '0' && arg[1] <= '9'
                                                   : arg[0] >= '0' && arg[0] <= '9';
    long v = digits ? strtol(arg, &end, 10) : 0;
    if (!digits || *end != '\0' || v < -MLQ_MAX_PRIORITY || v > MLQ_MAX_PRIORITY)
        return mlq_err_set(err, MLQ_EINVAL,
                           "bad --priority '%.40s' (expected a whole number "
                           "from %d to %d)",
                           arg, -MLQ_MAX_PRIORITY, MLQ_MAX_PRIORITY);
    *out = (int32_t)v;
    return 0;
}

static int set_pool(struct mlq_jobspec *spec, const char *arg, struct mlq_err *err)
{
    struct mlq_err e = {0};
    if (mlq_proto_pool_check(arg, &e) < 0)
        return mlq_err_set(err, MLQ_EINVAL, "bad --pool '%.40s': %s", arg, e.msg);
    free(spec->pool);
    if (!(spec->pool = strdup(arg)))
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    return 0;
}

static int add_require(struct mlq_jobspec *spec, const char *kv, struct mlq_err *err)
{
    struct mlq_err e = {0};
    if (mlq_proto_label_check(kv, &e) < 0)
        return mlq_err_set(err, MLQ_EINVAL, "bad --require '%.40s': %s", kv, e.msg);
    if (spec->nrequire >= MLQ_MAX_LABELS)
        return mlq_err_set(err, MLQ_ETOOBIG, "too many --require (at most %d)", MLQ_MAX_LABELS);
    char **req = realloc(spec->require, (spec->nrequire + 1) * sizeof(*req));
    if (!req)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    spec->require = req;
    if (!(req[spec->nrequire] = strdup(kv)))
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    spec->nrequire++;
    return 0;
}

static int set_image(struct mlq_jobspec *spec, const char *arg, struct mlq_err *err)
{
    struct mlq_err e = {0};
    if (mlq_proto_image_check(arg, &e) < 0)
        return mlq_err_set(err, MLQ_EINVAL, "bad --image '%.60s': %s", arg, e.msg);
    free(spec->image);
    if (!(spec->image = strdup(arg)))
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    return 0;
}

/* --nodes N: a gang of N node parts. */
static int parse_nodes(const char *arg, uint32_t *out, struct mlq_err *err)
{
    char *end = NULL;
    long v = arg[0] >= '0' && arg[0] <= '9' ? strtol(arg, &end, 10) : -1;
    if (v < 1 || v > MLQ_MAX_NODES || !end || *end != '\0')
        return mlq_err_set(err, MLQ_EINVAL, "--nodes: expected 1 to %d", MLQ_MAX_NODES);
    *out = (uint32_t)v;
    return 0;
}

/* A gang is one job; an array is many: together they would be many gangs
 * with a meaning nobody asked for. */
static int check_nodes(const struct mlq_jobspec *spec, struct mlq_err *err)
{
    if (spec->nodes > 0 && spec->array)
        return mlq_err_set(err, MLQ_EINVAL, "--nodes cannot be combined with --array");
    return 0;
}

/* Pipeline options: dependencies, arrays, idempotency. */
static int pipeline_opt(int c, struct mlq_jobspec *spec, struct mlq_err *err)
{
    switch (c) {
    case OPT_AFTER:
        return mlq_submitpipe_add_deps(spec, MLQ_DEP_OK, "--after", optarg, err);
    case OPT_AFTER_ANY:
        return mlq_submitpipe_add_deps(spec, MLQ_DEP_ANY, "--after-any", optarg, err);
    case OPT_AFTER_FAILED:
        return mlq_submitpipe_add_deps(spec, MLQ_DEP_FAILED, "--after-failed", optarg, err);
    case OPT_ARRAY:
        return mlq_submitpipe_set_array(spec, optarg, err);
    case OPT_MAX_RUNNING:
        return mlq_submitpipe_set_max_running(spec, optarg, err);
    default:
        return mlq_submitpipe_set_idem_key(spec, optarg, err);
    }
}

/* Placement options: --priority, --pool, --require. */
static int placement_opt(int c, struct mlq_jobspec *spec, struct mlq_err *err)
{
    switch (c) {
    case OPT_PRIORITY:
        return parse_priority(optarg, &spec->priority, err);
    case OPT_POOL:
        return set_pool(spec, optarg, err);
    default:
        return add_require(spec, optarg, err);
    }
}

/* Retry and time-limit options. */
static int limit_opt(int c, struct mlq_jobspec *spec, struct mlq_err *err)
{
    switch (c) {
    case OPT_RETRIES:
        return parse_retries(optarg, &spec->retries, err);
    case OPT_RETRY_BACKOFF:
        return parse_dur_opt("--retry-backoff", optarg, &spec->retry_backoff_ms, err);
    case OPT_TIME_LIMIT:
        return parse_dur_opt("--time-limit", optarg, &spec->time_limit_ms, err);
    case OPT_KILL_GRACE:
        return parse_dur_opt("--kill-grace", optarg, &spec->kill_grace_ms, err);
    default:
        return parse_warn_signal(optarg, spec, err);
    }
}

/* Options may come in any order, so --signal is checked against
 * --time-limit once all are read. */
static int check_warn_signal(const struct mlq_jobspec *spec, struct mlq_err *err)
{
    char a[32], b[32];
    if (spec->warn_signal == 0)
        return 0;
    if (spec->time_limit_ms == 0)
        return mlq_err_set(err, MLQ_EINVAL, "--signal needs --time-limit");
    if (spec->warn_before_ms >= spec->time_limit_ms)
        return mlq_err_set(err, MLQ_EINVAL,
                           "--signal: DUR (%s) must be shorter than the --time-limit (%s)",
                           mlq_res_fmt_duration(spec->warn_before_ms, a, sizeof(a)),
                           mlq_res_fmt_duration(spec->time_limit_ms, b, sizeof(b)));
    return 0;
}

/* Handles one option; name and workdir are only remembered (last wins). */
static int submit_opt(int c, struct mlq_jobspec *spec, struct mlq_cli_submit_opts *opts,
                      const char **name, const char **workdir, struct mlq_err *err)
{
    if (c >= OPT_AFTER && c <= OPT_IDEM_KEY)
        return pipeline_opt(c, spec, err);
    switch (c) {
    case OPT_NAME:
        *name = optarg;
        return 0;
    case OPT_CPUS:
        return mlq_res_parse_cpus(optarg, &spec->cpus_m, err);
    case OPT_MEM:
        return mlq_res_parse_mem(optarg, &spec->mem, err);
    case OPT_GPUS:
        return parse_gpus_opt(optarg, spec, err);
    case OPT_NODES:
        return parse_nodes(optarg, &spec->nodes, err);
    case OPT_IMAGE:
        return set_image(spec, optarg, err);
    case OPT_ENV:
        return add_env(spec, optarg, err);
    case OPT_INPUT:
        return add_path(&spec->inputs, &spec->ninputs, "--input", optarg, err);
    case OPT_OUTPUT:
        return add_path(&spec->outputs, &spec->noutputs, "--output", optarg, err);
    case OPT_WORKDIR:
        *workdir = optarg;
        return 0;
    case OPT_RETRIES:
    case OPT_RETRY_BACKOFF:
    case OPT_TIME_LIMIT:
    case OPT_KILL_GRACE:
    case OPT_SIGNAL:
        return limit_opt(c, spec, err);
    case OPT_PRIORITY:
    case OPT_POOL:
    case OPT_REQUIRE:
        return placement_opt(c, spec, err);
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

/* submit's options followed by the caller's extra ones. */
static struct option *merge_longopts(const struct mlq_cli_submit_extra *extra)
{
    size_t n = sizeof(submit_longopts) / sizeof(submit_longopts[0]) - 1, m = 0;
    while (extra && extra->longopts[m].name)
        m++;
    struct option *all = calloc(n + m + 1, sizeof(*all));
    if (!all)
        return NULL;
    memcpy(all, submit_longopts, n * sizeof(*all));
    if (m > 0)
        memcpy(all + n, extra->longopts, m * sizeof(*all));
    return all;
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
 * protocol's own check of the whole spec. Over a base spec (rerun) the
 * command, name and workdir stay the base's unless given. */
static int submit_finish(int argc, char **argv, bool over, struct mlq_jobspec *spec,
                         const char *name, const char *workdir, struct mlq_err *err)
{
    int rc = check_warn_signal(spec, err);
    if (rc == 0)
        rc = check_nodes(spec, err);
    if (rc == 0)
        rc = mlq_submitpipe_finish(spec, err);
    if (rc == 0 && !(over && argc == optind)) {
        mlq_mpk_strv_free(spec->argv, spec->argc);
        spec->argv = NULL;
        spec->argc = 0;
        rc = copy_command(spec, argc - optind, argv + optind, err);
    }
    if (rc == 0 && !(over && !workdir))
        rc = set_workdir(spec, workdir, err);
    if (rc < 0)
        return rc;
    free(spec->owner);
    spec->owner = current_user();
    if (name || !over) {
        free(spec->name);
        spec->name = dup_or_null(name);
    }
    if (!spec->owner || (name && !spec->name))
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    return mlq_proto_jobspec_check(spec, err);
}

/* The starting point: submit's defaults, or a copy of base. */
static int submit_start(const struct mlq_jobspec *base, struct mlq_jobspec *spec,
                        struct mlq_err *err)
{
    memset(spec, 0, sizeof(*spec));
    if (base)
        return mlq_proto_jobspec_copy(spec, base, err);
    spec->cpus_m = 1000;
    return mlq_res_parse_mem(DEFAULT_MEM, &spec->mem, err);
}

int mlq_cli_submit_parse_over(int argc, char **argv, const struct mlq_cli_submit_extra *extra,
                              const struct mlq_jobspec *base, struct mlq_jobspec *spec,
                              struct mlq_cli_submit_opts *opts, struct mlq_err *err)
{
    memset(opts, 0, sizeof(*opts));
    int rc = submit_start(base, spec, err);
    const char *name = NULL, *workdir = NULL;
    const char *cmd = extra && extra->cmd ? extra->cmd : "submit";
    struct option *longopts = merge_longopts(extra);
    if (!longopts && rc == 0)
        rc = mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    int c;
    optind = 0; /* full reset: the parser may have run before */
    opterr = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, "+:h", longopts, NULL)) != -1) {
        if (c == '?' || c == ':')
            rc = mlq_cli_getopt_error(cmd, c, argc, argv, err);
        else if (c >= MLQ_CLI_SUBMIT_OPT_END && extra)
            rc = extra->fn(c, optarg, extra->ctx, err);
        else
            rc = submit_opt(c, spec, opts, &name, &workdir, err);
    }
    free(longopts);
    if (rc == 0 && !opts->help)
        rc = submit_finish(argc, argv, base != NULL, spec, name, workdir, err);
    if (rc < 0)
        mlq_proto_jobspec_free(spec);
    return rc;
}

int mlq_cli_submit_parse_ex(int argc, char **argv, const struct mlq_cli_submit_extra *extra,
                            struct mlq_jobspec *spec, struct mlq_cli_submit_opts *opts,
                            struct mlq_err *err)
{
    return mlq_cli_submit_parse_over(argc, argv, extra, NULL, spec, opts, err);
}

int mlq_cli_submit_parse(int argc, char **argv, struct mlq_jobspec *spec,
                         struct mlq_cli_submit_opts *opts, struct mlq_err *err)
{
    return mlq_cli_submit_parse_ex(argc, argv, NULL, spec, opts, err);
}

static int print_id(const char *id, bool json, bool is_array)
{
    if (!json) {
        printf("%s\n", id);
        return 0;
    }
    json_t *doc = json_pack("{s:s, s:b}", "id", id, "is_array", (int)is_array);
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
    bool is_array = spec.array != NULL;
    rc = mlq_cli_request(cli, &req, MLQ_MSG_SUBMITTED, &reply, &err);
    mlq_proto_jobspec_free(&spec);
    if (rc < 0)
        return mlq_out_fail(rc, &err);
    rc = print_id(reply.u.submitted.id, opts.json, is_array);
    mlq_proto_msg_free(&reply);
    return rc < 0 ? mlq_out_fail(rc, NULL) : MLQ_EXIT_OK;
}
