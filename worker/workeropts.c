/* workeropts: see workeropts.h. */
#include "workeropts.h"

#include <ctype.h>
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgfavor.h"
#include "cglimit.h"
#include "container.h"
#include "exec.h"
#include "gangenv.h"
#include "gpu.h"
#include "hostaddr.h"
#include "keys.h"
#include "logupload.h"
#include "manifest.h"
#include "proto.h"
#include "res.h"
#include "transport.h"
#include "version.h"

#define DEFAULT_SCHEDULER    "tcp://127.0.0.1:7710"
#define DEFAULT_CONFIG       "/etc/mlq/worker.conf"
#define DEFAULT_HEARTBEAT_MS 5000
#define MIN_HEARTBEAT_MS     100
#define MAX_ENDPOINT         256

static void usage(FILE *f)
{
    fprintf(f,
            "usage: mlq-worker [options]\n"
            "Runs jobs for an mlq scheduler on this machine.\n\n"
            "  --config FILE         read these options from FILE (\"key = value\" lines,\n"
            "                        keys named as the options below without --; the\n"
            "                        command line wins); default " DEFAULT_CONFIG " when\n"
            "                        it exists; \"none\" reads no file. SIGHUP reads it again\n"
            "  --scheduler ENDPOINT  scheduler address (default: $MLQ_SCHEDULER, then %s)\n"
            "  --key FILE            this worker's secret key (its public key in FILE.pub must\n"
            "                        be registered: mlq admin worker add NAME --key FILE.pub)\n"
            "  --scheduler-key FILE  the scheduler's public key file\n"
            "  --insecure            plain TCP without keys, only to a scheduler on a loopback\n"
            "                        address that runs with --insecure itself; refused as\n"
            "                        root (use keys: `mlq up` makes them for a local cluster)\n"
            "  --name NAME           worker name (default: the host name)\n"
            "  --advertise-addr HOST the address (IP or DNS name) other hosts reach this\n"
            "                        worker at, shown by `mlq workers` and given to jobs as\n"
            "                        MLQ_WORKER_ADDR (default: this machine's address on its\n"
            "                        route to the scheduler)\n"
            "  --cpus N              CPUs offered, may be fractional (default: online CPUs)\n"
            "  --mem SIZE            memory offered, e.g. 512M, 4G (default: physical memory)\n"
            "  --gpus N              offer N fake GPUs (indices 0..N-1, type \"fake\") instead\n"
            "                        of discovering the real ones; TYPE:N gives them TYPE;\n"
            "                        a list mixes types: a100:2,h100:2 or a100-1g.10gb:7\n"
            "  --gpu-discovery HOW   auto, nvml, nvidia-smi or none (default: auto: NVML, then\n"
            "                        nvidia-smi ($MLQ_NVIDIA_SMI names another), then none);\n"
            "                        a GPU in MIG mode is offered as its MIG devices\n"
            "  --nvml-library PATH   the NVML library to load (default: " MLQ_GPU_NVML_LIBRARY ")\n"
            "  --pool NAME           the worker pool jobs choose with --pool (default: default)\n"
            "  --label K=V           a label jobs can --require; repeatable\n"
            "  --rendezvous-ports LO-HI  TCP ports this machine offers to gang jobs\n"
            "                        (--nodes) whose node 0 runs here, one per gang, as\n"
            "                        MLQ_MASTER_PORT (default: %d-%d)\n"
            "  --spool DIR           state folder: job logs, outcomes, pid and lock files\n"
            "                        (default: /var/spool/mlq/NAME)\n"
            "  --heartbeat DURATION  heartbeat interval, e.g. 5s, 500ms (default: 5s; the\n"
            "                        scheduler's own interval wins when it is shorter)\n"
            "  --shim PATH           the mlq-shim executable (default: next to mlq-worker)\n"
            "  --log-cap SIZE        bytes of each job stream uploaded to the scheduler when\n"
            "                        the job ends, the last ones kept (default: 16M)\n"
            "  --secret-env PATTERN  environment names whose values run manifests record only\n"
            "                        as a hash (glob, any case), besides *TOKEN* *SECRET*\n"
            "                        *PASSWORD* *KEY*; repeatable\n"
            "  --manifest-hash-time DURATION  time each attempt may spend hashing its --input\n"
            "                        files at the start, and its --output files at the end\n"
            "                        (default: 10s); files past it are recorded unhashed\n"
            "  --manifest-hash-max-file SIZE  larger --input/--output files are recorded\n"
            "                        unhashed (default: 1G)\n"
            "  --log-level LEVEL     debug, info, warn or error (default: info)\n"
            "  --log-file PATH       append the log there instead of stderr; reopened on\n"
            "                        SIGHUP (for logrotate)\n"
            "  --limits MODE         enforce: hold each job to its --mem and --cpus in a\n"
            "                        cgroup (v2, else v1) and record what it used; account:\n"
            "                        cgroups to record usage, no limits; off: no cgroups,\n"
            "                        usage from /proc (default: enforce; without cgroup\n"
            "                        access the worker says so and runs as with off)\n"
            "  --cgroup-favordynmods on|off  on: keep the kernel's favordynmods cgroup mode\n"
            "                        on while the worker runs (cgroup v1: a hierarchy without\n"
            "                        controllers mounted in the spool; v2: says how to turn\n"
            "                        it on), so that moving a job into its cgroups does not\n"
            "                        wait for an RCU grace period; forks and exits cost\n"
            "                        slightly more (default: on)\n"
            "  --container-runtime PATH  the podman that runs jobs submitted with --image\n"
            "                        (default: podman on PATH; \"none\": such jobs fail to\n"
            "                        start on this worker)\n"
            "  --list-gpus           do not run a worker: print the GPUs this machine would\n"
            "                        offer (as --gpus or --gpu-discovery say) and exit\n"
            "  --drain-and-exit      do not run a worker: ask the one running on --spool to\n"
            "                        drain (finish its jobs, take no new ones, exit) and wait\n"
            "                        until it has exited\n"
            "  --help                show this help\n"
            "  --version             show the version and the wire protocol's\n\n"
            "SIGTERM or SIGINT stops the worker and leaves running jobs alive; the next\n"
            "worker started on the same spool re-adopts them. SIGUSR2 makes it drain: it\n"
            "refuses new jobs and exits once its jobs are done, reported and their logs\n"
            "uploaded. SIGHUP re-reads the config file: the log level and log file change\n"
            "at once; any other change (labels and pool included) is logged as needing a\n"
            "restart.\n\n"
            "Run as root, the worker runs each job as the Unix account of the user who\n"
            "submitted it (as root only when the scheduler runs with --allow-root-jobs);\n"
            "otherwise jobs run as the worker's own user. A refused key is logged as \"not\n"
            "authorized\" and retried every few seconds until an admin adds it.\n",
            DEFAULT_SCHEDULER, MLQ_GANGENV_PORTS_LO, MLQ_GANGENV_PORTS_HI);
}

static int bad(const char *opt, const char *msg)
{
    fprintf(stderr, "mlq-worker: %s: %s\n", opt, msg);
    return 2;
}

/* A bad value: optconf names the option and where it came from. */
static int badv(struct mlq_err *err, const char *msg)
{
    return mlq_err_set(err, MLQ_EINVAL, "%s", msg);
}

static bool name_ok(const char *s)
{
    size_t n = strlen(s);
    return n >= 1 && n <= MLQ_MAX_NAME &&
           strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n &&
           s[0] != '.';
}

static bool endpoint_ok(const char *s)
{
    size_t n = strlen(s);
    return n > 6 && n <= MAX_ENDPOINT &&
           (strncmp(s, "tcp://", 6) == 0 || strncmp(s, "ipc://", 6) == 0);
}

static int set_defaults(struct mlq_workeropts *o)
{
    const char *env = getenv("MLQ_SCHEDULER");
    o->scheduler = env && *env ? env : DEFAULT_SCHEDULER;
    if (gethostname(o->name, sizeof o->name) != 0)
        snprintf(o->name, sizeof o->name, "worker");
    o->name[sizeof o->name - 1] = '\0';
    long ncpu = sysconf(_SC_NPROCESSORS_ONLN);
    o->cpus_m = (ncpu > 0 ? ncpu : 1) * 1000;
    if (o->cpus_m > MLQ_MAX_CPUS_M)
        o->cpus_m = MLQ_MAX_CPUS_M;
    long pages = sysconf(_SC_PHYS_PAGES), psize = sysconf(_SC_PAGESIZE);
    o->mem = pages > 0 && psize > 0 ? (int64_t)pages * psize : 1LL << 30;
    if (o->mem > MLQ_MAX_MEM)
        o->mem = MLQ_MAX_MEM;
    o->heartbeat_ms = DEFAULT_HEARTBEAT_MS;
    o->level = MLQ_LOG_INFO;
    o->log_cap = MLQ_LOGUPLOAD_DEFAULT_CAP;
    o->rdv_lo = MLQ_GANGENV_PORTS_LO;
    o->rdv_hi = MLQ_GANGENV_PORTS_HI;
    o->cgroup_favor = true;
    mlq_runmanifest_conf_init(&o->manifest);
    return 0;
}

enum {
    OPT_SCHED = 256,
    OPT_NAME,
    OPT_ADVERTISE,
    OPT_CPUS,
    OPT_MEM,
    OPT_GPUS,
    OPT_SPOOL,
    OPT_HB,
    OPT_SHIM,
    OPT_LEVEL,
    OPT_LOG_CAP,
    OPT_DRAIN,
    OPT_GPU_DISC,
    OPT_NVML_LIB,
    OPT_POOL,
    OPT_LABEL,
    OPT_KEY,
    OPT_SCHED_KEY,
    OPT_INSECURE,
    OPT_LIST_GPUS,
    OPT_LOG_FILE,
    OPT_CONFIG,
    OPT_RDV_PORTS,
    OPT_LIMITS,
    OPT_CGROUP_FAVOR,
    OPT_RUNTIME,
    OPT_SECRET_ENV,
    OPT_HASH_TIME,
    OPT_HASH_MAX_FILE,
    OPT_HELP,
    OPT_VERSION
};

static const struct option long_opts[] = {
    {"scheduler", required_argument, NULL, OPT_SCHED},
    {"name", required_argument, NULL, OPT_NAME},
    {"advertise-addr", required_argument, NULL, OPT_ADVERTISE},
    {"cpus", required_argument, NULL, OPT_CPUS},
    {"mem", required_argument, NULL, OPT_MEM},
    {"gpus", required_argument, NULL, OPT_GPUS},
    {"spool", required_argument, NULL, OPT_SPOOL},
    {"heartbeat", required_argument, NULL, OPT_HB},
    {"shim", required_argument, NULL, OPT_SHIM},
    {"log-level", required_argument, NULL, OPT_LEVEL},
    {"log-cap", required_argument, NULL, OPT_LOG_CAP},
    {"drain-and-exit", no_argument, NULL, OPT_DRAIN},
    {"gpu-discovery", required_argument, NULL, OPT_GPU_DISC},
    {"nvml-library", required_argument, NULL, OPT_NVML_LIB},
    {"pool", required_argument, NULL, OPT_POOL},
    {"label", required_argument, NULL, OPT_LABEL},
    {"key", required_argument, NULL, OPT_KEY},
    {"scheduler-key", required_argument, NULL, OPT_SCHED_KEY},
    {"insecure", no_argument, NULL, OPT_INSECURE},
    {"list-gpus", no_argument, NULL, OPT_LIST_GPUS},
    {"log-file", required_argument, NULL, OPT_LOG_FILE},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"rendezvous-ports", required_argument, NULL, OPT_RDV_PORTS},
    {"limits", required_argument, NULL, OPT_LIMITS},
    {"cgroup-favordynmods", required_argument, NULL, OPT_CGROUP_FAVOR},
    {"container-runtime", required_argument, NULL, OPT_RUNTIME},
    {"secret-env", required_argument, NULL, OPT_SECRET_ENV},
    {"manifest-hash-time", required_argument, NULL, OPT_HASH_TIME},
    {"manifest-hash-max-file", required_argument, NULL, OPT_HASH_MAX_FILE},
    {"help", no_argument, NULL, 'h'},
    {"version", no_argument, NULL, OPT_VERSION},
    {NULL, 0, NULL, 0},
};

static const int repeatable_opts[] = {OPT_LABEL, OPT_SECRET_ENV, 0};
/* Actions and the file itself are no config keys. */
static const int not_config_keys[] = {OPT_CONFIG, 'h', OPT_VERSION, OPT_DRAIN, OPT_LIST_GPUS, 0};

static const struct mlq_optconf_spec worker_spec = {
    .prog = "mlq-worker",
    .table = long_opts,
    .shortopts = "h",
    .repeatable = repeatable_opts,
    .not_keys = not_config_keys,
};

/* --label K=V: checked, and each key once. */
static int add_label(struct mlq_workeropts *o, const char *arg, struct mlq_err *err)
{
    if (mlq_proto_label_check(arg, err) < 0)
        return MLQ_EINVAL;
    if (o->nlabels == MLQ_MAX_LABELS)
        return badv(err, "too many labels (at most 32)");
    size_t klen = (size_t)(strchr(arg, '=') - arg);
    for (uint32_t i = 0; i < o->nlabels; i++)
        if (strncmp(o->labels[i], arg, klen + 1) == 0)
            return badv(err, "the same key given twice");
    o->labels[o->nlabels++] = arg;
    return 0;
}

/* --gpus N, TYPE:N or a list of those (fake GPUs; TYPE lowercased),
 * checked here and kept as given. */
static int parse_fake_gpus(struct mlq_workeropts *o, const char *arg, struct mlq_err *err)
{
    struct mlq_err e = {0};
    struct mlq_gpu_set set = {0};
    if (strlen(arg) > MLQ_WORKEROPTS_FAKE_GPUS_MAX)
        return badv(err, "longer than 512 bytes");
    if (mlq_gpu_fake_spec(arg, &set, &e) < 0)
        return badv(err, e.msg);
    mlq_gpu_set_clear(&set);
    snprintf(o->fake_gpus, sizeof o->fake_gpus, "%s", arg);
    return 0;
}

/* The options saying where jobs may go: pool, labels, GPUs, gang ports. */
static int parse_placement(struct mlq_workeropts *o, int c, const char *arg, struct mlq_err *err)
{
    struct mlq_err e = {0};
    switch (c) {
    case OPT_GPUS:
        o->gpus_given = true;
        return parse_fake_gpus(o, arg, err);
    case OPT_GPU_DISC:
        o->method_given = true;
        return mlq_gpu_method_parse(arg, &o->gpu_method, &e) < 0 ? badv(err, e.msg) : 0;
    case OPT_NVML_LIB:
        o->nvml_library = arg;
        return *arg && strlen(arg) < MLQ_MAX_PATH ? 0 : badv(err, "empty or too long path");
    case OPT_POOL:
        o->pool = arg;
        return mlq_proto_pool_check(arg, &e) < 0 ? badv(err, e.msg) : 0;
    case OPT_RDV_PORTS:
        return mlq_gangenv_parse_ports(arg, &o->rdv_lo, &o->rdv_hi, &e) < 0 ? badv(err, e.msg) : 0;
    default:
        return add_label(o, arg, err);
    }
}

/* --container-runtime PATH or none: an absolute path to an executable. */
static int set_runtime(struct mlq_workeropts *o, const char *arg, struct mlq_err *err)
{
    free(o->runtime);
    o->runtime = NULL;
    o->runtime_given = true;
    if (strcmp(arg, "none") == 0)
        return 0;
    if (arg[0] != '/' || strlen(arg) >= MLQ_MAX_PATH)
        return badv(err, "expected an absolute path or none");
    if (access(arg, X_OK) != 0)
        return badv(err, "not an executable file");
    o->runtime = strdup(arg);
    return o->runtime ? 0 : badv(err, "out of memory");
}

/* What run manifests record: secret names, hashing bounds. */
static int parse_manifest(struct mlq_workeropts *o, int c, const char *arg, struct mlq_err *err)
{
    struct mlq_err e = {0};
    switch (c) {
    case OPT_SECRET_ENV:
        return mlq_manifest_secrets_add(&o->manifest.secrets, arg) == 0
                   ? 0
                   : badv(err, "expected a glob of 1 to 128 characters (at most 60 of them)");
    case OPT_HASH_TIME:
        if (mlq_res_parse_duration(arg, &o->manifest.hash_time_ms, &e) < 0)
            return badv(err, e.msg);
        return o->manifest.hash_time_ms >= 1 && o->manifest.hash_time_ms <= 3600 * 1000
                   ? 0
                   : badv(err, "expected 1ms to 1h");
    default:
        return mlq_res_parse_mem(arg, &o->manifest.max_file, &e) < 0 ? badv(err, e.msg) : 0;
    }
}

/* One option (optconf.h's apply); returns 0 or MLQ_EINVAL with err set. */
static int parse_one(void *ctx, int c, const char *arg, struct mlq_err *err)
{
    struct mlq_workeropts *o = ctx;
    struct mlq_err e = {0};
    switch (c) {
    case OPT_SCHED:
        o->scheduler = arg;
        return endpoint_ok(arg) ? 0 : badv(err, "expected tcp://HOST:PORT or ipc://PATH");
    case OPT_NAME:
        snprintf(o->name, sizeof o->name, "%s", arg);
        return name_ok(arg) ? 0 : badv(err, "expected 1 to 128 characters among A-Z a-z 0-9 . _ -");
    case OPT_ADVERTISE:
        if (mlq_hostaddr_check(arg, &e) < 0)
            return badv(err, e.msg);
        snprintf(o->addr, sizeof o->addr, "%s", arg);
        o->addr_given = true;
        return 0;
    case OPT_CPUS:
        return mlq_res_parse_cpus(arg, &o->cpus_m, &e) < 0 ? badv(err, e.msg) : 0;
    case OPT_MEM:
        return mlq_res_parse_mem(arg, &o->mem, &e) < 0 ? badv(err, e.msg) : 0;
    case OPT_GPUS:
    case OPT_GPU_DISC:
    case OPT_NVML_LIB:
    case OPT_POOL:
    case OPT_LABEL:
    case OPT_RDV_PORTS:
        return parse_placement(o, c, arg, err);
    case OPT_SPOOL:
        free(o->spool);
        o->spool = strdup(arg);
        return *arg ? 0 : badv(err, "empty path");
    case OPT_HB:
        if (mlq_res_parse_duration(arg, &o->heartbeat_ms, &e) < 0)
            return badv(err, e.msg);
        return o->heartbeat_ms >= MIN_HEARTBEAT_MS ? 0 : badv(err, "at least 100ms");
    case OPT_SHIM:
        free(o->shim);
        o->shim = strdup(arg);
        o->shim_given = true;
        return 0;
    case OPT_LEVEL:
        return mlq_log_parse_level(arg, &o->level) == 0 ? 0
                                                        : badv(err, "expected debug, info, "
                                                                    "warn or error");
    case OPT_LOG_CAP:
        return mlq_res_parse_mem(arg, &o->log_cap, &e) < 0 ? badv(err, e.msg) : 0;
    case OPT_DRAIN:
        o->drain_and_exit = true;
        return 0;
    case OPT_KEY:
        o->key_path = arg;
        return *arg ? 0 : badv(err, "empty path");
    case OPT_SCHED_KEY:
        o->sched_key = arg;
        return *arg ? 0 : badv(err, "empty path");
    case OPT_INSECURE:
        o->insecure = true;
        return 0;
    case OPT_LIST_GPUS:
        o->list_gpus = true;
        return 0;
    case OPT_LOG_FILE:
        o->log_file = arg;
        return *arg ? 0 : badv(err, "empty path");
    case OPT_SECRET_ENV:
    case OPT_HASH_TIME:
    case OPT_HASH_MAX_FILE:
        return parse_manifest(o, c, arg, err);
    case OPT_LIMITS: {
        int m = mlq_cglimit_mode_parse(arg);
        if (m < 0)
            return badv(err, "expected enforce, account or off");
        o->limits = (enum mlq_cglimit_mode)m;
        return 0;
    }
    case OPT_CGROUP_FAVOR: {
        int on = mlq_cgfavor_parse(arg);
        if (on < 0)
            return badv(err, "expected on or off");
        o->cgroup_favor = on == 1;
        return 0;
    }
    case OPT_RUNTIME:
        return set_runtime(o, arg, err);
    case 'h':
        o->help = true;
        return 0;
    case OPT_VERSION:
        o->version = true;
        return 0;
    default:
        return 0; /* --config: read by parse_opts */
    }
}

/* A worker running as root runs each job as the account its owner names;
 * without keys that owner is whatever an unauthenticated client claimed, so
 * any local user could run code as any account, root included. */
static int refuse_root_insecure(void)
{
    fprintf(stderr,
            "mlq-worker: --insecure: refused as root: without keys the owner of a job is\n"
            "  whatever the client claims, and a root worker runs jobs as that account (root\n"
            "  included). Give the worker keys instead: `mlq keygen --out FILE`, then an admin\n"
            "  runs `mlq admin worker add NAME --key FILE.pub`, and the worker takes --key FILE\n"
            "  --scheduler-key SERVER.pub. For a local cluster, `mlq up` (without --insecure)\n"
            "  makes and registers every key itself.\n");
    return 2;
}

/* --insecure, or both key files, read here so that a bad one is a usage
 * error at start rather than a worker that can never connect. */
static int load_keys(struct mlq_workeropts *o)
{
    struct mlq_err e = {0};
    struct mlq_keypair kp;
    if (o->insecure && (o->key_path || o->sched_key))
        return bad("--insecure", "plain TCP uses no keys: drop --key and --scheduler-key");
    if (o->insecure && !mlq_transport_is_local(o->scheduler))
        return bad("--insecure", "plain TCP only to a scheduler on a loopback address");
    if (o->insecure)
        return geteuid() == 0 ? refuse_root_insecure() : 0;
    if (!o->key_path || !o->sched_key) {
        fprintf(stderr,
                "mlq-worker: missing %s: a worker needs --key FILE and --scheduler-key "
                "FILE.pub (or --insecure for a scheduler on a loopback address)\n",
                o->key_path ? "--scheduler-key" : "--key");
        return 2;
    }
    if (mlq_keys_read_secret(o->key_path, &kp, &e) < 0)
        return bad("--key", e.msg);
    memcpy(o->curve.own_public, kp.public_z85, sizeof o->curve.own_public);
    memcpy(o->curve.own_secret, kp.secret_z85, sizeof o->curve.own_secret);
    explicit_bzero(&kp, sizeof kp);
    if (mlq_keys_read_public(o->sched_key, o->curve.server_public, &e) < 0)
        return bad("--scheduler-key", e.msg);
    return 0;
}

/* Without --advertise-addr: the local address of the route to the
 * scheduler, which is the one other hosts on that network reach this
 * machine at. Not fatal when there is none yet (a name that does not
 * resolve at boot): the worker then advertises no address. */
static void default_addr(struct mlq_workeropts *o)
{
    struct mlq_err e = {0};
    if (o->addr_given || strncmp(o->scheduler, "tcp://", 6) != 0)
        return;
    if (mlq_hostaddr_route(o->scheduler, o->addr, sizeof o->addr, &e) < 0 ||
        mlq_hostaddr_check(o->addr, &e) < 0) {
        o->addr[0] = '\0';
        fprintf(stderr, "mlq-worker: no address to advertise (%s); pass --advertise-addr\n", e.msg);
    }
}

/* Fills the paths that depend on other options and checks the shim. */
static int finish_opts(struct mlq_workeropts *o)
{
    if (!name_ok(o->name))
        return bad("--name", "the host name is not a valid worker name; pass --name");
    if (o->gpus_given && o->method_given)
        return bad("--gpus", "fake GPUs and --gpu-discovery exclude each other");
    if (o->list_gpus)
        return 0; /* needs no spool, shim or keys */
    if (!o->spool && asprintf(&o->spool, "/var/spool/mlq/%s", o->name) < 0)
        o->spool = NULL;
    if (!o->shim)
        o->shim = mlq_exec_default_shim();
    if (!o->runtime_given)
        o->runtime = mlq_container_find_default();
    if (o->drain_and_exit)
        return o->spool ? 0 : 1;
    if (!o->spool || !o->shim) {
        fprintf(stderr, "mlq-worker: out of memory or no /proc/self/exe\n");
        return 1;
    }
    if (access(o->shim, X_OK) != 0) {
        fprintf(stderr, "mlq-worker: shim %s: %s\n", o->shim, strerror(errno));
        return o->shim_given ? 2 : 1;
    }
    default_addr(o);
    return load_keys(o);
}

/* The config file to read: --config's, else the default one when it
 * exists; NULL for none. */
static const char *config_path(const struct mlq_optconf *cmd)
{
    const char *c = mlq_optconf_get(cmd, OPT_CONFIG);
    if (c)
        return strcmp(c, "none") == 0 ? NULL : c;
    return access(DEFAULT_CONFIG, F_OK) == 0 ? DEFAULT_CONFIG : NULL;
}

/* o from the defaults, then file (may be NULL), then cmd. */
static int build_opts(struct mlq_workeropts *o, const struct mlq_optconf *file,
                      const struct mlq_optconf *cmd, struct mlq_err *err)
{
    set_defaults(o);
    return mlq_optconf_apply(&worker_spec, file, cmd, parse_one, o, err);
}

/* Returns 0 to run, else the exit code (-1 for 0 after --help). */
int mlq_workeropts_parse(int argc, char **argv, struct mlq_workeropts *o)
{
    struct mlq_err e = {0};
    int rc = mlq_optconf_argv(&worker_spec, argc, argv, &o->cmd, &e);
    if (rc == 0 && !mlq_optconf_get(&o->cmd, 'h') && !mlq_optconf_get(&o->cmd, OPT_VERSION) &&
        (o->config = config_path(&o->cmd)) &&
        (rc = mlq_optconf_file(&worker_spec, o->config, &o->file, &e)) == MLQ_ENOTFOUND)
        mlq_err_set(&e, rc, "--config %s: no such file", o->config);
    if (rc == 0)
        rc = build_opts(o, &o->file, &o->cmd, &e);
    if (rc < 0) {
        if (strcmp(e.msg, "bad command line") != 0) /* else getopt said why */
            fprintf(stderr, "mlq-worker: %s\n", e.msg);
        return 2;
    }
    if (o->help) {
        usage(stdout);
        return -1;
    }
    if (o->version) {
        mlq_version_print(stdout, "mlq-worker");
        return -1;
    }
    return finish_opts(o);
}

/* Applies one changed key of a reload; false when it needs a restart. */
static bool reload_key(int code, const struct mlq_workeropts *next)
{
    char why[256];
    if (code == OPT_LEVEL) {
        mlq_log_set_level(next->level);
        return true;
    }
    if (code != OPT_LOG_FILE || !next->log_file)
        return false;
    if (mlq_log_open_file(next->log_file, why, sizeof why) < 0)
        mlq_error("reload: log-file: %s", why);
    return true;
}

/* SIGHUP (agent.h's on_reload): reopens the log file, reads the config file
 * again with the checks start makes (a bad one changes nothing), applies
 * the log level and log file, and names every other changed key as needing
 * a restart. The start's file stays: the running agent borrows its strings. */
void mlq_workeropts_reload(void *arg)
{
    struct mlq_workeropts *o = arg, next = {0};
    struct mlq_optconf file = {0};
    struct mlq_err e = {0};
    char why[256], done[256] = "";
    size_t used = 0;
    if (mlq_log_reopen(why, sizeof why) < 0)
        mlq_error("reload: reopening the log file: %s", why);
    if (!o->config) {
        mlq_info("reload: no config file (reopened the log file)");
        return;
    }
    int rc = mlq_optconf_file(&worker_spec, o->config, &file, &e);
    if (rc == 0)
        rc = build_opts(&next, &file, &o->cmd, &e);
    free(next.spool);
    free(next.shim);
    free(next.runtime);
    if (rc < 0) {
        mlq_error("reload: %s; nothing changed", e.msg);
        mlq_optconf_clear(&file);
        return;
    }
    const struct mlq_optconf *last = o->reloaded ? &o->last : &o->file;
    for (const struct option *opt = long_opts; opt->name; opt++) {
        /* What needs a restart is compared with what runs (start's file). */
        bool live = opt->val == OPT_LEVEL || opt->val == OPT_LOG_FILE;
        if (!mlq_optconf_changed(live ? last : &o->file, &file, &o->cmd, opt->val))
            continue;
        if (!reload_key(opt->val, &next)) {
            mlq_warn("reload: needs a restart: %s", opt->name);
            continue;
        }
        int n = snprintf(done + used, sizeof done - used, "%s%s", used ? ", " : "", opt->name);
        if (n > 0 && (size_t)n < sizeof done - used)
            used += (size_t)n;
    }
    mlq_optconf_clear(&o->last);
    o->last = file;
    o->reloaded = true;
    mlq_info("reload: read %s; applied: %s", o->config, done[0] ? done : "nothing changed");
}

void mlq_workeropts_clear(struct mlq_workeropts *o)
{
    mlq_optconf_clear(&o->cmd);
    mlq_optconf_clear(&o->file);
    mlq_optconf_clear(&o->last);
    free(o->spool);
    free(o->shim);
    free(o->runtime);
    o->spool = o->shim = o->runtime = NULL;
    explicit_bzero(&o->curve, sizeof o->curve);
}
