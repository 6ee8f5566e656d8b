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
#include <time.h>
#include <unistd.h>

#include "fsutil.h"
#include "jsonview.h"
#include "mpk.h"
#include "bounds.h"
#include "outpath.h"
#include "output.h"
#include "res.h"
#include "submitenv.h"
#include "submitfrom.h"
#include "submitpipe.h"

extern char **environ;

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
    OPT_EXPORT,
    OPT_IMAGE,
    OPT_GPU_MEM,
    OPT_INPUT,
    OPT_OUTPUT,
    OPT_HOLD,
    OPT_PROJECT,
    OPT_DRY_RUN,
    OPT_FROM,
    OPT_PREEMPT_GRACE,
    OPT_NO_PREEMPT,
    OPT_MIN_RUNTIME,
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
    {"gpu-mem", required_argument, NULL, OPT_GPU_MEM},
    {"nodes", required_argument, NULL, OPT_NODES},
    {"env", required_argument, NULL, OPT_ENV},
    {"export", required_argument, NULL, OPT_EXPORT},
    {"image", required_argument, NULL, OPT_IMAGE},
    {"workdir", required_argument, NULL, OPT_WORKDIR},
    {"retries", required_argument, NULL, OPT_RETRIES},
    {"retry-backoff", required_argument, NULL, OPT_RETRY_BACKOFF},
    {"time-limit", required_argument, NULL, OPT_TIME_LIMIT},
    {"kill-grace", required_argument, NULL, OPT_KILL_GRACE},
    {"signal", required_argument, NULL, OPT_SIGNAL},
    {"priority", required_argument, NULL, OPT_PRIORITY},
    {"pool", required_argument, NULL, OPT_POOL},
    {"project", required_argument, NULL, OPT_PROJECT},
    {"require", required_argument, NULL, OPT_REQUIRE},
    {"after", required_argument, NULL, OPT_AFTER},
    {"after-any", required_argument, NULL, OPT_AFTER_ANY},
    {"after-failed", required_argument, NULL, OPT_AFTER_FAILED},
    {"array", required_argument, NULL, OPT_ARRAY},
    {"max-running", required_argument, NULL, OPT_MAX_RUNNING},
    {"idempotency-key", required_argument, NULL, OPT_IDEM_KEY},
    {"input", required_argument, NULL, OPT_INPUT},
    {"output", required_argument, NULL, OPT_OUTPUT},
    {"hold", no_argument, NULL, OPT_HOLD},
    {"stdout", required_argument, NULL, 'o'},
    {"stderr", required_argument, NULL, 'e'},
    {"dry-run", no_argument, NULL, OPT_DRY_RUN},
    {"from", required_argument, NULL, OPT_FROM},
    {"preempt-grace", required_argument, NULL, OPT_PREEMPT_GRACE},
    {"no-preempt", no_argument, NULL, OPT_NO_PREEMPT},
    {"min-runtime", required_argument, NULL, OPT_MIN_RUNTIME},
    {"json", no_argument, NULL, MLQ_CLI_OPT_JSON},
    {NULL, 0, NULL, 0},
};

static const char submit_usage[] =
    "usage: mlq submit [options] [--] CMD ARGS...\n"
    "       mlq submit --from FILE|- [options]\n"
    "\n"
    "Submits CMD ARGS... as a job and prints its id. With --from, submits one job\n"
    "per line of FILE (- for stdin), each a JSON object with the keys of the HTTP\n"
    "API's job spec ({\"argv\": [...], \"cpus\": 1, \"mem\": \"2G\", ...}), all or\n"
    "none, and prints their ids in order; the options are the defaults that each\n"
    "line may override (see the user guide, \"Many jobs at once\").\n"
    "\n"
    "options:\n"
    "  --name NAME        a name for the job\n"
    "  --cpus C           CPUs, may be fractional (default 1)\n"
    "  --mem M            memory, e.g. 512M, 4G (default 1G)\n"
    "  --gpus G           GPUs (default 0); TYPE:G asks for G GPUs of one type,\n"
    "                     e.g. h100:2 (the type is not case sensitive), T1|T2:G for\n"
    "                     any of several types (a100|h100:2); a G below 1 with at\n"
    "                     most two decimals (0.25, h100:0.5) is a share of one GPU\n"
    "  --gpu-mem SIZE     GPU memory wanted on a shared GPU, e.g. 10G; alone it asks\n"
    "                     for a share of one GPU with at least SIZE of its memory\n"
    "                     (not with whole GPUs)\n"
    "  --nodes N          a gang of N node parts (1..256) on N distinct workers, each\n"
    "                     with the --cpus, --mem and --gpus given, started and\n"
    "                     stopped as one; the job sees MLQ_NODE_RANK, MLQ_MASTER_ADDR...\n"
    "                     (not with --array)\n"
    "  --export ALL|NONE|VAR[,VAR...]  which variables of this environment the job\n"
    "                     gets (default ALL); the worker sets HOME, USER, MLQ_*...\n"
    "  --image REF        run the job in this OCI image through the worker's\n"
    "                     container runtime (podman), e.g. ghcr.io/team/train:1.2;\n"
    "                     the working directory is mounted at the same path\n"
    "  --env KEY=VALUE    set an environment variable for the job (repeatable);\n"
    "                     --env VAR passes this environment's value of VAR\n"
    "  --workdir DIR      working directory (default: the current one)\n"
    "  --retries N        run again up to N times (0..100) after it fails or times out\n"
    "                     (default 0)\n"
    "  --retry-backoff DUR  wait before the first retry, doubling each time, at most\n"
    "                     1h (default 30s)\n"
    "  --time-limit DUR   stop each attempt after DUR of run time (default: none)\n"
    "  --kill-grace DUR   time between SIGTERM and SIGKILL when the job is stopped\n"
    "                     (default 30s)\n"
    "  --signal SIG@DUR   send SIG (USR1, SIGUSR1, 10...) DUR before the time limit\n"
    "                     (needs --time-limit); also the signal a preemption sends\n"
    "  --signal SIG       the signal a preemption or a cancel sends (no warning,\n"
    "                     no time limit needed)\n"
    "  --preempt-grace DUR  when preempted: time between the signal (--signal's,\n"
    "                     else SIGTERM) and SIGKILL, to save a checkpoint (default\n"
    "                     and maximum: the scheduler's, 30s and 10m unless changed)\n"
    "  --no-preempt       do not preempt this job (holds while its team stays within\n"
    "                     its nominal quota; beyond it the job may be preempted)\n"
    "  --min-runtime DUR  not preempted before it ran DUR (default: the scheduler's)\n"
    "  --priority N       -1000..1000 (default 0): higher runs first\n"
    "  --pool NAME        run only on workers of pool NAME (default: pool \"default\")\n"
    "  --require KEY=VALUE  run only on workers with this label (repeatable)\n"
    "  --project LABEL    account the job to LABEL in `mlq usage --by project`\n"
    "                     (1..64 of A-Z a-z 0-9 _ . - /)\n"
    "  --after JOB[,JOB]  start only after these jobs (or arrays: all their tasks)\n"
    "                     succeeded; cancelled when one of them does not (repeatable)\n"
    "  --after-any JOB[,JOB]  start after these ended, however they ended\n"
    "  --after-failed JOB[,JOB]  start only if one of these did not succeed\n"
    "                     (JOB: any unique prefix of a job or array id, or ARRAY/N)\n"
    "  --array SPEC       submit a job array: one task per index, e.g. 0-999,\n"
    "                     0-99:10 (every 10th), 1,5,7; prints the array id\n"
    "  --max-running N    at most N tasks of the array run at once\n"
    "  --idempotency-key KEY  submitting again with the same KEY (within 7 days)\n"
    "                     prints the first id and creates nothing; the same KEY with\n"
    "                     a different request is refused\n"
    "  --input PATH       a file or folder the job reads: its files' SHA-256, size and\n"
    "                     time are recorded in the run manifest when each attempt\n"
    "                     starts; a missing one stops the attempt before it runs\n"
    "                     (absolute or relative to --workdir; repeatable, at most 64)\n"
    "  --output PATH      the same for what the job writes, recorded when it ends\n"
    "  --hold             submit it held: it waits until `mlq release`\n"
    "  -o, --stdout FILE  also write the job's stdout to FILE on the worker (opened\n"
    "                     as the job's user; relative to --workdir); %j job id,\n"
    "                     %a array index, %A attempt number, %% a percent sign\n"
    "  -e, --stderr FILE  the same for its stderr\n"
    "  --dry-run          store nothing; say whether it can ever fit (and why not),\n"
    "                     its position in the queue, where it would start now or an\n"
    "                     estimated start; exit 0 when it can ever fit, 1 when not\n"
    "  --from FILE        one job per line of FILE (- for stdin), at most 100000\n"
    "                     jobs and 64 MiB; not with a command or --array;\n"
    "                     --idempotency-key then covers the whole request\n"
    "  --json             print {\"id\": ..., \"is_array\": ...} instead of the bare id\n"
    "                     (with --dry-run: {\"fits_ever\", \"reasons\", \"position\",\n"
    "                     \"would_start\", \"estimate\", \"quota\", ...};\n"
    "                     with --from: {\"ids\": [...]})\n"
    "  --scheduler ADDR   scheduler address\n"
    "  --timeout DUR      how long to wait for the scheduler's answer (default 10s)\n"
    "  -h, --help         show this help\n";

static char *dup_or_null(const char *s)
{
    return s ? strdup(s) : NULL;
}

/* The submitting user's name; the numeric uid when it has no passwd entry
 * (containers often run under such uids). */
const char *mlq_cli_submit_options_help(void)
{
    const char *o = strstr(submit_usage, "options:\n");
    return o ? o + strlen("options:\n") : submit_usage;
}

static char *current_user(void)
{
    struct passwd *pw = getpwuid(getuid());
    if (pw && pw->pw_name && pw->pw_name[0])
        return strdup(pw->pw_name);
    char buf[32];
    snprintf(buf, sizeof(buf), "%u", (unsigned)getuid());
    return strdup(buf);
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

/* --signal SIG@DUR: the signal and how long before the time limit;
 * --signal SIG: the signal only, for preemption and cancel (no warning,
 * so no time limit needed: warn_before_ms stays 0). */
static int parse_warn_signal(const char *arg, struct mlq_jobspec *spec, struct mlq_err *err)
{
    char sig[32];
    const char *at = strchr(arg, '@');
    size_t n = at ? (size_t)(at - arg) : strlen(arg);
    if (n == 0 || n >= sizeof(sig) || (at && !at[1]))
        return mlq_err_set(err, MLQ_EINVAL,
                           "bad --signal '%.40s' (expected SIG or SIG@DUR, e.g. USR1 or USR1@5m)",
                           arg);
    memcpy(sig, arg, n);
    sig[n] = '\0';
    spec->warn_signal = parse_signal_name(sig);
    spec->warn_before_ms = 0;
    if (spec->warn_signal == 0)
        return mlq_err_set(err, MLQ_EINVAL,
                           "bad --signal '%.40s': unknown signal '%s' (a name like USR1 or a "
                           "number 1..%d)",
                           arg, sig, MAX_SIGNAL);
    if (!at)
        return 0;
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

/* TYPE or T1|T2 of --gpus TYPE:N, lowercased ("H100:2" asks for h100). */
static int set_gpu_types(const char *arg, size_t n, struct mlq_jobspec *spec, struct mlq_err *err)
{
    if (n == 0 || n > MLQ_MAX_GPU_TYPES)
        return mlq_err_set(err, MLQ_EINVAL,
                           "bad --gpus '%.40s' (expected N or TYPE:N with a TYPE of 1 to %d "
                           "characters, e.g. h100:2, or T1|T2:N)",
                           arg, MLQ_MAX_GPU_TYPE);
    if (!(spec->gpu_type = strndup(arg, n)))
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    for (char *p = spec->gpu_type; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    struct mlq_err e = {0};
    if (mlq_proto_gpu_types_check(spec->gpu_type, &e) < 0)
        return mlq_err_set(err, MLQ_EINVAL, "bad --gpus '%.40s': %s", arg, e.msg);
    return 0;
}

/* --gpus N, TYPE:N, T1|T2:N, or a share below 1 (0.25, TYPE:0.5). */
static int parse_gpus_opt(const char *arg, struct mlq_jobspec *spec, struct mlq_err *err)
{
    const char *colon = strrchr(arg, ':');
    free(spec->gpu_type);
    spec->gpu_type = NULL;
    spec->gpus = spec->gpu_frac = 0;
    int rc = colon ? set_gpu_types(arg, (size_t)(colon - arg), spec, err) : 0;
    struct mlq_err e = {0};
    if (rc == 0 &&
        mlq_res_parse_gpu_amount(colon ? colon + 1 : arg, &spec->gpus, &spec->gpu_frac, &e) < 0)
        rc = mlq_err_set(err, MLQ_EINVAL, "bad --gpus '%.40s': %s", arg, e.msg);
    if (rc == 0 && colon && spec->gpus < 1 && spec->gpu_frac < 1)
        return mlq_err_set(err, MLQ_EINVAL,
                           "bad --gpus '%.40s': a GPU type needs a count of 1 or more, or a "
                           "share such as 0.5",
                           arg);
    return rc;
}

static int parse_gpu_mem(const char *arg, struct mlq_jobspec *spec, struct mlq_err *err)
{
    struct mlq_err e = {0};
    if (mlq_res_parse_mem(arg, &spec->gpu_mem, &e) < 0)
        return mlq_err_set(err, MLQ_EINVAL, "bad --gpu-mem '%.40s': %s", arg, e.msg);
    return 0;
}

/* A share of one GPU is booked on one GPU of one worker: whole GPUs and
 * gangs (a share on each of N workers) are other requests. */
static int check_share(const struct mlq_jobspec *spec, struct mlq_err *err)
{
    if (spec->gpu_mem > 0 && spec->gpus > 0)
        return mlq_err_set(err, MLQ_EINVAL,
                           "--gpu-mem asks for a share of one GPU: it cannot be combined with "
                           "whole GPUs (--gpus %d); use --gpus 0.N or leave --gpus out",
                           spec->gpus);
    if ((spec->gpu_mem > 0 || spec->gpu_frac > 0) && spec->nodes > 0)
        return mlq_err_set(err, MLQ_EINVAL,
                           "--nodes cannot be combined with a share of a GPU (--gpus 0.N or "
                           "--gpu-mem): each node part needs whole GPUs");
    return 0;
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

static int set_project(struct mlq_jobspec *spec, const char *arg, struct mlq_err *err)
{
    struct mlq_err e = {0};
    if (mlq_proto_project_check(arg, &e) < 0)
        return mlq_err_set(err, MLQ_EINVAL, "bad --project: %s", e.msg);
    free(spec->project);
    if (!(spec->project = strdup(arg)))
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
    case OPT_PREEMPT_GRACE:
        return parse_dur_opt("--preempt-grace", optarg, &spec->preempt_grace_ms, err);
    case OPT_MIN_RUNTIME:
        return parse_dur_opt("--min-runtime", optarg, &spec->min_runtime_ms, err);
    case OPT_NO_PREEMPT:
        spec->no_preempt = true;
        return 0;
    default:
        return parse_warn_signal(optarg, spec, err);
    }
}

/* Options may come in any order, so --signal SIG@DUR is checked against
 * --time-limit once all are read (--signal SIG alone needs none). */
static int check_warn_signal(const struct mlq_jobspec *spec, struct mlq_err *err)
{
    char a[32], b[32];
    if (spec->warn_signal == 0 || spec->warn_before_ms == 0)
        return 0;
    if (spec->time_limit_ms == 0)
        return mlq_err_set(err, MLQ_EINVAL,
                           "--signal SIG@DUR needs --time-limit (--signal SIG alone does not)");
    if (spec->warn_before_ms >= spec->time_limit_ms)
        return mlq_err_set(err, MLQ_EINVAL,
                           "--signal: DUR (%s) must be shorter than the --time-limit (%s)",
                           mlq_res_fmt_duration(spec->warn_before_ms, a, sizeof(a)),
                           mlq_res_fmt_duration(spec->time_limit_ms, b, sizeof(b)));
    return 0;
}

/* What options leave for the end: name and workdir are only remembered
 * (last wins), the environment is put together once all are read. */
struct submit_later {
    const char *name, *workdir;
    struct mlq_submitenv env;
};

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

/* Handles one option. */
static int submit_opt(int c, struct mlq_jobspec *spec, struct mlq_cli_submit_opts *opts,
                      struct submit_later *later, struct mlq_err *err)
{
    if (c >= OPT_AFTER && c <= OPT_IDEM_KEY)
        return pipeline_opt(c, spec, err);
    switch (c) {
    case OPT_NAME:
        later->name = optarg;
        return 0;
    case OPT_CPUS:
        return mlq_res_parse_cpus(optarg, &spec->cpus_m, err);
    case OPT_MEM:
        return mlq_res_parse_mem(optarg, &spec->mem, err);
    case OPT_GPUS:
        return parse_gpus_opt(optarg, spec, err);
    case OPT_GPU_MEM:
        return parse_gpu_mem(optarg, spec, err);
    case OPT_NODES:
        return parse_nodes(optarg, &spec->nodes, err);
    case OPT_PROJECT:
        return set_project(spec, optarg, err);
    case OPT_IMAGE:
        return set_image(spec, optarg, err);
    case OPT_ENV:
        return mlq_submitenv_env(&later->env, optarg, err);
    case OPT_EXPORT:
        return mlq_submitenv_export(&later->env, optarg, err);
    case OPT_INPUT:
        return add_path(&spec->inputs, &spec->ninputs, "--input", optarg, err);
    case OPT_OUTPUT:
        return add_path(&spec->outputs, &spec->noutputs, "--output", optarg, err);
    case OPT_WORKDIR:
        later->workdir = optarg;
        return 0;
    case 'o':
    case 'e': {
        char **f = c == 'o' ? &spec->stdout_file : &spec->stderr_file;
        int rc = mlq_outpath_check(c == 'o' ? "--stdout" : "--stderr", optarg, err);
        free(*f);
        *f = rc == 0 ? strdup(optarg) : NULL;
        return rc < 0 || *f ? rc : mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    }
    case OPT_HOLD: /* the scheduler puts who and when */
        free(spec->held_by);
        spec->held_by = current_user();
        return spec->held_by ? 0 : mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    case OPT_RETRIES:
    case OPT_RETRY_BACKOFF:
    case OPT_TIME_LIMIT:
    case OPT_KILL_GRACE:
    case OPT_SIGNAL:
    case OPT_PREEMPT_GRACE:
    case OPT_NO_PREEMPT:
    case OPT_MIN_RUNTIME:
        return limit_opt(c, spec, err);
    case OPT_PRIORITY:
    case OPT_POOL:
    case OPT_REQUIRE:
        return placement_opt(c, spec, err);
    case MLQ_CLI_OPT_JSON:
        opts->json = true;
        return 0;
    case OPT_DRY_RUN:
        opts->dry_run = true;
        return 0;
    case OPT_FROM:
        opts->from = optarg;
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

/* The checks of options that depend on each other. */
static int check_combined(const struct mlq_jobspec *spec, struct mlq_err *err)
{
    int rc = check_warn_signal(spec, err);
    if (rc == 0)
        rc = check_nodes(spec, err);
    if (rc == 0)
        rc = check_share(spec, err);
    if (rc == 0)
        rc = mlq_submitpipe_finish(spec, err);
    if (rc == 0 && spec->no_preempt) /* whether the team borrows is known only later */
        fputs("mlq: note: --no-preempt holds while the job's team stays within its nominal "
              "quota; beyond it the job may be preempted\n",
              stderr);
    return rc;
}

int mlq_cli_submit_check(const struct mlq_jobspec *spec, struct mlq_err *err)
{
    int rc = check_combined(spec, err);
    return rc == 0 ? mlq_proto_jobspec_check(spec, err) : rc;
}

/* --from FILE: the jobs come from the file, the options are defaults. */
static int check_from(int argc, const struct mlq_jobspec *spec, const char *cmd,
                      struct mlq_err *err)
{
    if (argc - optind > 0)
        return mlq_err_set(err, MLQ_CLI_EUSAGE,
                           "%s: --from takes the commands from the file; give none here", cmd);
    if (spec->array)
        return mlq_err_set(err, MLQ_CLI_EUSAGE, "%s: --from cannot be combined with --array", cmd);
    return 0;
}

/* Everything after the options: owner, name, workdir, command,
 * environment, then the protocol's own check of the whole spec. With
 * --from there is no command: each line's spec is checked instead. Over a
 * base spec (rerun) the command, name, workdir and environment stay the
 * base's unless given (--env replaces a variable's value; --export adds
 * this environment's variables). */
static int submit_finish(int argc, char **argv, bool over, struct mlq_jobspec *spec,
                         const struct submit_later *later, const char *from, struct mlq_err *err)
{
    const char *name = later->name, *workdir = later->workdir;
    int rc = from ? check_from(argc, spec, "submit", err) : check_combined(spec, err);
    if (rc == 0 && !from && !(over && argc == optind)) {
        mlq_mpk_strv_free(spec->argv, spec->argc);
        spec->argv = NULL;
        spec->argc = 0;
        rc = copy_command(spec, argc - optind, argv + optind, err);
    }
    if (rc == 0)
        rc = mlq_submitenv_finish(&later->env, over && !later->env.given ? NULL : environ, spec,
                                  err);
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
    return from ? 0 : mlq_proto_jobspec_check(spec, err);
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
    struct submit_later later = {0};
    const char *cmd = extra && extra->cmd ? extra->cmd : "submit";
    struct option *longopts = merge_longopts(extra);
    if (!longopts && rc == 0)
        rc = mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    int c;
    optind = 0; /* full reset: the parser may have run before */
    opterr = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, "+:ho:e:", longopts, NULL)) != -1) {
        if (c == '?' || c == ':')
            rc = mlq_cli_getopt_error(cmd, c, argc, argv, err);
        else if (c >= MLQ_CLI_SUBMIT_OPT_END && extra)
            rc = extra->fn(c, optarg, extra->ctx, err);
        else
            rc = submit_opt(c, spec, opts, &later, err);
    }
    free(longopts);
    if (rc == 0 && opts->from && extra)
        rc = mlq_err_set(err, MLQ_CLI_EUSAGE, "%s: --from is only for mlq submit", cmd);
    if (rc == 0 && !opts->help)
        rc = submit_finish(argc, argv, base != NULL, spec, &later, opts->from, err);
    mlq_submitenv_free(&later.env);
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

/* ---- update: the submit's own parsers for the fields it may change ---- */

static const struct {
    const char *opt;
    unsigned bit;
} change_opts[] = {
    {"priority", MLQ_CHANGE_PRIORITY}, {"time-limit", MLQ_CHANGE_TIME_LIMIT},
    {"cpus", MLQ_CHANGE_CPUS},         {"mem", MLQ_CHANGE_MEM},
    {"gpus", MLQ_CHANGE_GPUS},         {"retries", MLQ_CHANGE_RETRIES},
};

unsigned mlq_cli_change_bit(const char *opt)
{
    for (size_t i = 0; i < sizeof(change_opts) / sizeof(change_opts[0]); i++)
        if (strcmp(change_opts[i].opt, opt) == 0)
            return change_opts[i].bit;
    return 0;
}

int mlq_cli_change_parse(unsigned bit, const char *arg, struct mlq_jobchange *ch,
                         struct mlq_err *err)
{
    int rc;
    switch (bit) {
    case MLQ_CHANGE_PRIORITY:
        rc = parse_priority(arg, &ch->priority, err);
        break;
    case MLQ_CHANGE_TIME_LIMIT:
        /* "none" (or 0) drops the limit */
        ch->time_limit_ms = 0;
        rc = strcmp(arg, "none") == 0 ? 0
                                      : parse_dur_opt("--time-limit", arg, &ch->time_limit_ms, err);
        break;
    case MLQ_CHANGE_CPUS:
        rc = mlq_res_parse_cpus(arg, &ch->cpus_m, err);
        break;
    case MLQ_CHANGE_MEM:
        rc = mlq_res_parse_mem(arg, &ch->mem, err);
        break;
    case MLQ_CHANGE_GPUS:
        rc = mlq_res_parse_gpus(arg, &ch->gpus, err);
        break;
    case MLQ_CHANGE_RETRIES:
        rc = parse_retries(arg, &ch->retries, err);
        break;
    default:
        return mlq_err_set(err, MLQ_CLI_EUSAGE, "update: unexpected option");
    }
    if (rc == 0)
        ch->set |= bit;
    return rc;
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

/* "14:20" today, else "2026-12-08 14:20", in local time. */
static void fmt_when(int64_t ms, char *buf, size_t len)
{
    time_t t = (time_t)(ms / 1000), now = time(NULL);
    struct tm tm, today;
    localtime_r(&t, &tm);
    localtime_r(&now, &today);
    bool same = tm.tm_year == today.tm_year && tm.tm_yday == today.tm_yday;
    strftime(buf, len, same ? "%H:%M" : "%Y-%m-%d %H:%M", &tm);
}

void mlq_cli_estimate_print(FILE *f, const struct mlq_msg *reply)
{
    const char *kind = reply->u.why_reply.est_kind;
    char why[MLQ_MAX_STR + 1], at[32], w[MLQ_MAX_NAME + 1], g[MLQ_MAX_STR + 1];
    if (!kind)
        return;
    mlq_out_clean(reply->u.why_reply.est_why ? reply->u.why_reply.est_why : "", why, sizeof why);
    fmt_when(reply->u.why_reply.est_at_ms, at, sizeof at);
    if (reply->u.why_reply.start_worker) {
        fprintf(f, "would start now on %s",
                mlq_out_clean(reply->u.why_reply.start_worker, w, sizeof w));
        if (reply->u.why_reply.start_gpus)
            fprintf(f, ", GPUs %s", mlq_out_clean(reply->u.why_reply.start_gpus, g, sizeof g));
        fputc('\n', f);
    } else if (strcmp(kind, "latest") == 0) {
        fprintf(f, "estimated start: at the latest %s %s\n", at, why);
    } else if (strcmp(kind, "not_before") == 0) {
        fprintf(f, "estimated start: not before %s (%s)\n", at, why);
    } else {
        fprintf(f, "estimated start: unknown: %s\n", why);
    }
}

int mlq_cli_dry_run_print(FILE *f, const struct mlq_msg *reply)
{
    char text[MLQ_MAX_STR + 1], w[MLQ_MAX_NAME + 1], lacks[MLQ_MAX_STR + 1];
    mlq_out_clean(reply->u.why_reply.text, text, sizeof text);
    if (!reply->u.why_reply.fits_ever) {
        fprintf(f, "never fits: %s\n", text);
        if (reply->u.why_reply.closest_worker && reply->u.why_reply.lacks)
            fprintf(f, "largest: %s, which lacks %s\n",
                    mlq_out_clean(reply->u.why_reply.closest_worker, w, sizeof w),
                    mlq_out_clean(reply->u.why_reply.lacks, lacks, sizeof lacks));
        return ferror(f) ? MLQ_EIO : 0;
    }
    fprintf(f, "fits: %s\n", text);
    fprintf(f, "position: %u (pending jobs ahead, by %s)\n", (unsigned)reply->u.why_reply.ahead,
            MLQ_JSONVIEW_QUEUE_ORDER);
    if (reply->u.why_reply.quota_text) {
        char q[MLQ_MAX_STR + 1];
        fprintf(f, "quota: %s\n", mlq_out_clean(reply->u.why_reply.quota_text, q, sizeof q));
    }
    mlq_cli_estimate_print(f, reply);
    return ferror(f) ? MLQ_EIO : 0;
}

/* Asks for the estimate of spec and prints it; exit 1 when it never fits. */
static int dry_run(struct mlq_cli *cli, struct mlq_jobspec *spec, bool json)
{
    struct mlq_err err = {0};
    struct mlq_msg req = {.type = MLQ_MSG_ESTIMATE}, reply;
    req.u.submit.spec = *spec;
    int rc = mlq_cli_request(cli, &req, MLQ_MSG_WHY_REPLY, &reply, &err);
    mlq_proto_jobspec_free(spec);
    if (rc < 0)
        return mlq_out_fail(rc, &err);
    if (json) {
        json_t *doc = mlq_jsonview_dry_run(&reply);
        rc = doc ? mlq_out_json_print(stdout, doc) : MLQ_ENOMEM;
        json_decref(doc);
    } else {
        rc = mlq_cli_dry_run_print(stdout, &reply);
    }
    bool fits = reply.u.why_reply.fits_ever;
    mlq_proto_msg_free(&reply);
    if (rc < 0)
        return mlq_out_fail(rc, NULL);
    return fits ? MLQ_EXIT_OK : MLQ_EXIT_FAILED;
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
    if (opts.from && opts.dry_run) {
        mlq_proto_jobspec_free(&spec);
        fprintf(stderr, "mlq: --dry-run estimates one job, not a --from file (see `mlq submit "
                        "--help`)\n");
        return MLQ_EXIT_USAGE;
    }
    if (opts.from) {
        rc = mlq_submitfrom_run(cli, &spec, opts.from, opts.json);
        mlq_proto_jobspec_free(&spec);
        return rc;
    }
    if (opts.dry_run)
        return dry_run(cli, &spec, opts.json);
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
