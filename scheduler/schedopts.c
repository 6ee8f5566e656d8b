/* schedopts: see schedopts.h. */
#include "schedopts.h"

#include <errno.h>
#include <string.h>
#include <unistd.h>

#include "placepolicy.h"
#include "res.h"
#include "retention.h"

enum {
    OPT_LISTEN = 256,
    OPT_STATE_DIR,
    OPT_HEARTBEAT,
    OPT_LEASE,
    OPT_KILL_GRACE,
    OPT_AGEING,
    OPT_DEFAULT_LIMIT,
    OPT_HALF_LIFE,
    OPT_KEY,
    OPT_AUTHORIZE,
    OPT_INSECURE,
    OPT_ALLOW_ROOT,
    OPT_LOG_LEVEL,
    OPT_LOG_FILE,
    OPT_RETAIN_JOBS,
    OPT_RETAIN_EVENTS,
    OPT_RETAIN_LOGS,
    OPT_HTTP,
    OPT_HTTP_CERT,
    OPT_HTTP_KEY,
    OPT_HTTP_ROOT,
    OPT_CONFIG,
    OPT_PLACEMENT,
    OPT_HELP = 'h',
    OPT_VERSION = OPT_PLACEMENT + 1,
    OPT_RESTORE,
    OPT_PREEMPT_GRACE_DEFAULT,
    OPT_PREEMPT_GRACE_MAX,
    OPT_PREEMPT_MIN_RUNTIME,
};

static const struct option sched_table[] = {
    {"listen", required_argument, NULL, OPT_LISTEN},
    {"state-dir", required_argument, NULL, OPT_STATE_DIR},
    {"heartbeat", required_argument, NULL, OPT_HEARTBEAT},
    {"lease", required_argument, NULL, OPT_LEASE},
    {"kill-grace", required_argument, NULL, OPT_KILL_GRACE},
    {"ageing", required_argument, NULL, OPT_AGEING},
    {"default-time-limit", required_argument, NULL, OPT_DEFAULT_LIMIT},
    {"fairshare-half-life", required_argument, NULL, OPT_HALF_LIFE},
    {"key", required_argument, NULL, OPT_KEY},
    {"authorize", required_argument, NULL, OPT_AUTHORIZE},
    {"insecure", no_argument, NULL, OPT_INSECURE},
    {"allow-root-jobs", no_argument, NULL, OPT_ALLOW_ROOT},
    {"log-level", required_argument, NULL, OPT_LOG_LEVEL},
    {"log-file", required_argument, NULL, OPT_LOG_FILE},
    {"retain-jobs", required_argument, NULL, OPT_RETAIN_JOBS},
    {"retain-events", required_argument, NULL, OPT_RETAIN_EVENTS},
    {"retain-logs-size", required_argument, NULL, OPT_RETAIN_LOGS},
    {"http", required_argument, NULL, OPT_HTTP},
    {"http-cert", required_argument, NULL, OPT_HTTP_CERT},
    {"http-key", required_argument, NULL, OPT_HTTP_KEY},
    {"http-root", required_argument, NULL, OPT_HTTP_ROOT},
    {"config", required_argument, NULL, OPT_CONFIG},
    {"placement", required_argument, NULL, OPT_PLACEMENT},
    {"help", no_argument, NULL, OPT_HELP},
    {"version", no_argument, NULL, OPT_VERSION},
    {"restore", required_argument, NULL, OPT_RESTORE},
    {"preempt-grace-default", required_argument, NULL, OPT_PREEMPT_GRACE_DEFAULT},
    {"preempt-grace-max", required_argument, NULL, OPT_PREEMPT_GRACE_MAX},
    {"preempt-min-runtime", required_argument, NULL, OPT_PREEMPT_MIN_RUNTIME},
    {NULL, 0, NULL, 0},
};

static const int sched_repeatable[] = {OPT_AUTHORIZE, 0};
static const int sched_not_keys[] = {OPT_CONFIG, OPT_HELP, OPT_VERSION, OPT_RESTORE, 0};

static const struct mlq_optconf_spec sched_spec = {
    .prog = "mlq-scheduler",
    .table = sched_table,
    .shortopts = "h",
    .repeatable = sched_repeatable,
    .not_keys = sched_not_keys,
};

const struct mlq_optconf_spec *mlq_schedopts_spec(void)
{
    return &sched_spec;
}

void mlq_schedopts_usage(FILE *f)
{
    fprintf(f,
            "usage: mlq-scheduler [options]\n"
            "\n"
            "The mlq scheduler daemon: queues jobs, places them on workers, keeps\n"
            "every state change in DIR/mlq.db.\n"
            "\n"
            "  --config FILE       read these options from FILE (\"key = value\" lines, keys\n"
            "                      named as the options below without --; the command\n"
            "                      line wins); default " MLQ_SCHEDOPTS_DEFAULT_CONFIG " when it\n"
            "                      exists; \"none\" reads no file. SIGHUP reads it again\n"
            "  --listen ADDR       ZeroMQ endpoint to bind (default tcp://127.0.0.1:7710):\n"
            "                      any address with keys, e.g. tcp://10.0.0.5:7710 for\n"
            "                      workers on other hosts; loopback only with --insecure\n"
            "  --state-dir DIR     state directory: mlq.db, scheduler.pid (default ./.mlq)\n"
            "  --heartbeat DUR     how often workers heartbeat (default 5s)\n"
            "  --lease DUR         a worker silent this long is lost (default 30s)\n"
            "  --kill-grace DUR    default SIGTERM to SIGKILL delay of jobs (default 30s)\n"
            "  --ageing DUR        waiting this long adds one priority point (default 1m)\n"
            "  --default-time-limit DUR\n"
            "                      run time assumed for jobs without --time-limit when\n"
            "                      reserving for a blocked job (default 24h)\n"
            "  --fairshare-half-life DUR\n"
            "                      how fast a user's past use stops counting (default 24h)\n"
            "  --key FILE          the scheduler's CURVE secret key (default\n"
            "                      DIR/keys/server.key, created when missing)\n"
            "  --authorize ROLE:NAME:FILE.pub\n"
            "                      register a key at start (role user, admin or worker);\n"
            "                      repeatable\n"
            "  --retain-jobs DUR   delete finished jobs (attempts, events, logs) this\n"
            "                      long after they ended; 0 or off keeps them (default 30d)\n"
            "  --retain-events DUR delete events older than this; 0 or off keeps them\n"
            "                      (default 90d)\n"
            "  --retain-logs-size SIZE\n"
            "                      cap on the stored job logs (DIR/logs), oldest removed\n"
            "                      first; 0 or off for none (default 20G)\n"
            "  --http ADDR:PORT    serve the HTTP API and the dashboard there (off by\n"
            "                      default; port 0 picks a free one, written to\n"
            "                      DIR/http.url); plain HTTP on 127.0.0.0/8 only\n"
            "  --http-cert FILE    TLS certificate (PEM) for --http\n"
            "  --http-key FILE     TLS private key (PEM) for --http\n"
            "  --http-root DIR     dashboard files (default: the installed share/mlq/web,\n"
            "                      else the source tree's scheduler/web)\n"
            "  --placement POLICY  which worker and GPUs a job gets: pack (least\n"
            "                      fragmentation for the recent mix of GPU requests;\n"
            "                      the default), best-fit (fewest GPUs, CPUs, memory\n"
            "                      left over) or spread (most free first)\n"
            "  --preempt-grace-default DUR\n"
            "                      a preempted job's wait between its signal and SIGKILL\n"
            "                      when it asks for none (--preempt-grace; default 30s)\n"
            "  --preempt-grace-max DUR\n"
            "                      the most a job may ask for with --preempt-grace\n"
            "                      (default 10m)\n"
            "  --preempt-min-runtime DUR\n"
            "                      a job is not preempted before it ran this long, unless\n"
            "                      it asks otherwise with --min-runtime (default 0s)\n"
            "  --insecure          plain TCP without keys (loopback addresses only)\n"
            "  --allow-root-jobs   let jobs of user root run as root on workers\n"
            "  --restore FILE      with the scheduler stopped: check FILE (a backup made by\n"
            "                      `mlq admin backup`), install it as DIR/mlq.db (the old\n"
            "                      one is kept beside it) and exit\n"
            "  --log-level LEVEL   debug, info, warn or error (default info)\n"
            "  --log-file PATH     append the log there instead of stderr; reopened on\n"
            "                      SIGHUP (for logrotate)\n"
            "  -h, --help          show this help\n"
            "  --version           show the version and the wire protocol's\n"
            "\n"
            "SIGHUP re-reads the config file: log level, log file, authorize keys and\n"
            "retention and placement change at once; other changes are logged as\n"
            "needing a restart.\n");
}

static int parse_duration(const char *v, int64_t *out, struct mlq_err *err)
{
    return mlq_res_parse_duration(v, out, err);
}

/* A retention setting: a duration, or 0 / "off" for keeping forever. */
static int parse_retain(const char *v, int64_t *out, bool size, struct mlq_err *err)
{
    if (strcmp(v, "0") == 0 || strcmp(v, "off") == 0) {
        *out = 0;
        return 0;
    }
    return size ? mlq_res_parse_mem(v, out, err) : mlq_res_parse_duration(v, out, err);
}

static int set_string(const char **dst, const char *v, struct mlq_err *err)
{
    if (!*v)
        return mlq_err_set(err, MLQ_EINVAL, "expected a value");
    *dst = v;
    return 0;
}

/* The options that take a duration or a size. */
static int apply_number(struct mlq_schedopts *o, int code, const char *v, struct mlq_err *err)
{
    switch (code) {
    case OPT_HEARTBEAT:
        return parse_duration(v, &o->s.heartbeat_ms, err);
    case OPT_LEASE:
        return parse_duration(v, &o->s.lease_ms, err);
    case OPT_KILL_GRACE:
        return parse_duration(v, &o->s.kill_grace_ms, err);
    case OPT_AGEING:
        return parse_duration(v, &o->s.age_step_ms, err);
    case OPT_DEFAULT_LIMIT:
        return parse_duration(v, &o->s.default_limit_ms, err);
    case OPT_HALF_LIFE:
        return parse_duration(v, &o->s.fairshare_half_life_ms, err);
    case OPT_PREEMPT_GRACE_DEFAULT:
        return parse_duration(v, &o->s.preempt_grace_default_ms, err);
    case OPT_PREEMPT_GRACE_MAX:
        return parse_duration(v, &o->s.preempt_grace_max_ms, err);
    case OPT_PREEMPT_MIN_RUNTIME:
        return parse_duration(v, &o->s.preempt_min_runtime_ms, err);
    case OPT_RETAIN_JOBS:
        return parse_retain(v, &o->s.retain_jobs_ms, false, err);
    case OPT_RETAIN_EVENTS:
        return parse_retain(v, &o->s.retain_events_ms, false, err);
    default:
        return parse_retain(v, &o->s.retain_logs_bytes, true, err);
    }
}

static int apply_one(void *ctx, int code, const char *v, struct mlq_err *err)
{
    struct mlq_schedopts *o = ctx;
    switch (code) {
    case OPT_LISTEN:
        return set_string(&o->s.listen, v, err);
    case OPT_STATE_DIR:
        return set_string(&o->s.state_dir, v, err);
    case OPT_KEY:
        return set_string(&o->s.key_path, v, err);
    case OPT_HTTP:
        return set_string(&o->http.addr, v, err);
    case OPT_HTTP_CERT:
        return set_string(&o->http.cert_path, v, err);
    case OPT_HTTP_KEY:
        return set_string(&o->http.key_path, v, err);
    case OPT_HTTP_ROOT:
        return set_string(&o->http.root, v, err);
    case OPT_LOG_FILE:
        return set_string(&o->log_file, v, err);
    case OPT_AUTHORIZE:
        if (o->nauth == MLQ_SCHEDOPTS_MAX_AUTHORIZE)
            return mlq_err_set(err, MLQ_ETOOBIG, "at most %d keys", MLQ_SCHEDOPTS_MAX_AUTHORIZE);
        if (!strchr(v, ':'))
            return mlq_err_set(err, MLQ_EINVAL, "expected ROLE:NAME:FILE.pub");
        o->auth[o->nauth++] = v;
        return 0;
    case OPT_INSECURE:
        o->s.insecure = true;
        return 0;
    case OPT_ALLOW_ROOT:
        o->s.allow_root = true;
        return 0;
    case OPT_LOG_LEVEL:
        return mlq_log_parse_level(v, &o->level) == 0
                   ? 0
                   : mlq_err_set(err, MLQ_EINVAL, "expected debug, info, warn or error");
    case OPT_HELP:
        o->help = true;
        return 0;
    case OPT_VERSION:
        o->version = true;
        return 0;
    case OPT_CONFIG:
        return 0; /* read by mlq_schedopts_load */
    case OPT_RESTORE:
        return set_string(&o->restore, v, err);
    case OPT_PLACEMENT: {
        enum mlq_place_policy p;
        if (mlq_pp_parse(v, &p) < 0)
            return mlq_err_set(err, MLQ_EINVAL, "expected best-fit, pack or spread");
        o->s.placement = (int)p;
        return 0;
    }
    default:
        return apply_number(o, code, v, err);
    }
}

static void set_defaults(struct mlq_schedopts *o)
{
    *o = (struct mlq_schedopts){
        .s =
            {
                .listen = "tcp://127.0.0.1:7710",
                .state_dir = ".mlq",
                .heartbeat_ms = 5000,
                .lease_ms = 30000,
                .kill_grace_ms = 30000,
                .preempt_grace_default_ms = 30000,
                .preempt_grace_max_ms = 10 * 60 * 1000,
                .age_step_ms = 60 * 1000,
                .default_limit_ms = 24 * 3600 * 1000LL,
                .fairshare_half_life_ms = 24 * 3600 * 1000LL,
                .retain_jobs_ms = MLQ_RETENTION_DEFAULT_JOBS_MS,
                .retain_events_ms = MLQ_RETENTION_DEFAULT_EVENTS_MS,
                .retain_logs_bytes = MLQ_RETENTION_DEFAULT_LOGS_BYTES,
                .placement = MLQ_PLACE_PACK,
            },
        .level = MLQ_LOG_INFO,
    };
}

int mlq_schedopts_build(const struct mlq_optconf *file, const struct mlq_optconf *cmd,
                        struct mlq_schedopts *o, struct mlq_err *err)
{
    set_defaults(o);
    int rc = mlq_optconf_apply(&sched_spec, file, cmd, apply_one, o, err);
    if (rc < 0)
        return rc;
    if (o->s.lease_ms <= o->s.heartbeat_ms)
        return mlq_err_set(err, MLQ_EINVAL,
                           "lease (%lld ms) must be longer than heartbeat "
                           "(%lld ms)",
                           (long long)o->s.lease_ms, (long long)o->s.heartbeat_ms);
    if (o->s.preempt_grace_default_ms > o->s.preempt_grace_max_ms)
        return mlq_err_set(err, MLQ_EINVAL,
                           "preempt-grace-default (%lld ms) must not exceed "
                           "preempt-grace-max (%lld ms)",
                           (long long)o->s.preempt_grace_default_ms,
                           (long long)o->s.preempt_grace_max_ms);
    return 0;
}

/* The config file to read: --config's, else the default one when it
 * exists; NULL for none. */
static const char *config_path(const struct mlq_optconf *cmd)
{
    const char *c = mlq_optconf_get(cmd, OPT_CONFIG);
    if (c)
        return strcmp(c, "none") == 0 ? NULL : c;
    return access(MLQ_SCHEDOPTS_DEFAULT_CONFIG, F_OK) == 0 ? MLQ_SCHEDOPTS_DEFAULT_CONFIG : NULL;
}

int mlq_schedopts_load(int argc, char **argv, struct mlq_schedopts_src *src,
                       struct mlq_schedopts *o, struct mlq_err *err)
{
    memset(src, 0, sizeof *src);
    int rc = mlq_optconf_argv(&sched_spec, argc, argv, &src->cmd, err);
    if (rc < 0)
        return rc;
    if (mlq_optconf_get(&src->cmd, OPT_HELP) || mlq_optconf_get(&src->cmd, OPT_VERSION))
        return mlq_schedopts_build(NULL, &src->cmd, o, err);
    src->config = config_path(&src->cmd);
    if (src->config && (rc = mlq_optconf_file(&sched_spec, src->config, &src->file, err)) < 0) {
        if (rc == MLQ_ENOTFOUND)
            mlq_err_set(err, rc, "--config %s: no such file", src->config);
        return rc;
    }
    return mlq_schedopts_build(&src->file, &src->cmd, o, err);
}

void mlq_schedopts_src_clear(struct mlq_schedopts_src *src)
{
    mlq_optconf_clear(&src->cmd);
    mlq_optconf_clear(&src->file);
}
