/* client: scheduler address resolution, the request helper and the mapping
 * from error codes to exit codes, shared by every mlq command.
 *
 * Every reply is untrusted: an error message from the scheduler is copied
 * with control characters replaced, so a hostile peer cannot drive the
 * user's terminal through it. */
#include "client.h"
#include "version.h"
#include "pages.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <zmq.h>

#include "config.h"
#include "id.h"
#include "bounds.h"
#include "res.h"
#include "transport.h"

void mlq_cli_init(struct mlq_cli *cli)
{
    memset(cli, 0, sizeof(*cli));
    cli->timeout_ms = MLQ_CLI_DEFAULT_TIMEOUT_MS;
    cli->next_rid = 1;
}

void mlq_cli_fini(struct mlq_cli *cli)
{
    mlq_transport_link_close(&cli->link);
    if (cli->zctx)
        zmq_ctx_term(cli->zctx);
    cli->zctx = NULL;
    mlq_cli_fini_at_exit(cli);
}

void mlq_cli_fini_at_exit(struct mlq_cli *cli)
{
    free(cli->addr);
    cli->addr = NULL;
    mlq_creds_wipe(&cli->creds);
    cli->creds_ready = false;
}

/* One row per code; anything not listed is a plain failure (exit 1). */
static const struct {
    int code;
    int exit_code;
} exit_map[] = {
    {MLQ_OK, MLQ_EXIT_OK},
    {MLQ_ENOTFOUND, MLQ_EXIT_NOT_FOUND},
    {MLQ_EAMBIG, MLQ_EXIT_INVALID},
    {MLQ_EINVAL, MLQ_EXIT_INVALID},
    {MLQ_ETOOBIG, MLQ_EXIT_INVALID},
    {MLQ_EPERM, MLQ_EXIT_PERM},
    {MLQ_EUNREACH, MLQ_EXIT_UNREACHABLE},
    {MLQ_CLI_EUSAGE, MLQ_EXIT_USAGE},
    {MLQ_CLI_ETIMEOUT, MLQ_EXIT_TIMEOUT},
    {MLQ_CLI_EFAILED, MLQ_EXIT_FAILED},
};

int mlq_cli_exit_code(int code)
{
    for (size_t i = 0; i < sizeof(exit_map) / sizeof(exit_map[0]); i++)
        if (exit_map[i].code == code)
            return exit_map[i].exit_code;
    return MLQ_EXIT_FAILED;
}

/* A scheduler listens on tcp:// (or ipc:// on the same machine); the other
 * libzmq transports cannot carry a request and reply, and the static build
 * of mlq leaves them out (cli/zmqlink/zmqtrim.c). */
static bool addr_scheme_ok(const char *addr)
{
    return strncmp(addr, "tcp://", 6) == 0 || strncmp(addr, "ipc://", 6) == 0;
}

static int dup_addr(const char *addr, const char *origin, char **out, struct mlq_err *err)
{
    if (addr[0] == '\0' || strlen(addr) > MLQ_MAX_PATH)
        return mlq_err_set(err, MLQ_EINVAL, "bad scheduler address from %s", origin);
    if (!addr_scheme_ok(addr))
        return mlq_err_set(err, MLQ_EINVAL,
                           "bad scheduler address '%.100s' from %s: expected tcp://HOST:PORT or "
                           "ipc://PATH",
                           addr, origin);
    *out = strdup(addr);
    if (!*out)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    return 0;
}

/* The `scheduler` key of the client config; *out stays NULL when there is no
 * config file or no such key. A config that exists but is broken is an error:
 * silently ignoring it would send requests somewhere the user did not mean. */
static int addr_from_config(char **out, struct mlq_err *err)
{
    char *path = mlq_config_default_path();
    if (!path)
        return 0;
    struct mlq_config *cfg = NULL;
    int rc = mlq_config_load(path, &cfg, err);
    if (rc == MLQ_ENOTFOUND) {
        mlq_err_clear(err);
        rc = 0;
    } else if (rc == 0) {
        const char *v = mlq_config_get(cfg, "scheduler");
        if (v)
            rc = dup_addr(v, path, out, err);
    }
    mlq_config_destroy(&cfg);
    free(path);
    return rc;
}

int mlq_cli_resolve_scheduler(const char *opt, char **out, struct mlq_err *err)
{
    *out = NULL;
    if (opt)
        return dup_addr(opt, "--scheduler", out, err);
    const char *env = getenv("MLQ_SCHEDULER");
    if (env && env[0])
        return dup_addr(env, "MLQ_SCHEDULER", out, err);
    int rc = addr_from_config(out, err);
    if (rc < 0 || *out)
        return rc;
    return dup_addr(MLQ_CLI_DEFAULT_SCHEDULER, "the default", out, err);
}

int mlq_cli_address(struct mlq_cli *cli, const char **out, struct mlq_err *err)
{
    if (!cli->addr) {
        int rc = mlq_cli_resolve_scheduler(cli->scheduler_opt, &cli->addr, err);
        if (rc < 0)
            return rc;
    }
    *out = cli->addr;
    return 0;
}

/* Copies an untrusted message, replacing control characters. */
static void copy_clean(char *dst, size_t len, const char *src)
{
    size_t i = 0;
    for (; src && src[i] && i + 1 < len; i++) {
        unsigned char c = (unsigned char)src[i];
        dst[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    dst[i] = '\0';
}

/* Turns an `error` reply into a code and message; the code must be one of
 * ours, otherwise the peer is speaking nonsense. */
static int from_error_reply(const struct mlq_msg *reply, struct mlq_err *err)
{
    int code = reply->u.error.code;
    char msg[MLQ_ERR_MSG_MAX];
    copy_clean(msg, sizeof(msg), reply->u.error.msg);
    /* A code of a later release: its text still says what went wrong. */
    if (code >= 0 || code < MLQ_EVERSION)
        return mlq_err_set(err, MLQ_EPROTO, "scheduler error %d: %s", code, msg);
    if (msg[0] == '\0')
        return mlq_err_set(err, code, "%s", mlq_strerror(code));
    return mlq_err_set(err, code, "%s", msg);
}

/* Sockets one command may hold at once; libzmq sizes its tables for it. */
#define MLQ_CLI_MAX_SOCKETS 64

static int ensure_ctx(struct mlq_cli *cli, struct mlq_err *err)
{
    if (cli->zctx)
        return 0;
    cli->zctx = zmq_ctx_new();
    if (!cli->zctx)
        return mlq_err_set(err, MLQ_EIO, "cannot create ZeroMQ context: %s", strerror(errno));
    /* A command holds three sockets at a time (a request, the monitor
     * libzmq makes for it and our end of that; requests go one after the
     * other): a small socket table, one I/O thread, and an exit that never
     * waits on unsent messages. */
    if (zmq_ctx_set(cli->zctx, ZMQ_MAX_SOCKETS, MLQ_CLI_MAX_SOCKETS) < 0 ||
        zmq_ctx_set(cli->zctx, ZMQ_IO_THREADS, 1) < 0 || zmq_ctx_set(cli->zctx, ZMQ_BLOCKY, 0) < 0)
        return mlq_err_set(err, MLQ_EIO, "cannot set up the ZeroMQ context: %s",
                           zmq_strerror(errno));
    return 0;
}

/* Loads the credentials once per invocation. */
static int ensure_creds(struct mlq_cli *cli, struct mlq_err *err)
{
    if (cli->creds_ready)
        return 0;
    struct mlq_creds_src src = {
        .insecure = cli->insecure, .config_path = cli->config_path, .env_key = getenv("MLQ_KEY")};
    int rc = mlq_creds_load(&src, &cli->creds, err);
    cli->creds_ready = rc == 0;
    /* A missing or broken key setup is the user's configuration to fix
     * (exit 2), not a refusal by the scheduler. */
    if (rc < 0 && rc != MLQ_ENOMEM) {
        rc = MLQ_CLI_EUSAGE;
        if (err)
            err->code = rc;
    }
    return rc;
}

int mlq_cli_request(struct mlq_cli *cli, struct mlq_msg *req, enum mlq_msg_type expect,
                    struct mlq_msg *reply, struct mlq_err *err)
{
    memset(reply, 0, sizeof(*reply));
    const char *addr;
    int rc = mlq_cli_address(cli, &addr, err);
    if (rc < 0 || (rc = ensure_creds(cli, err)) < 0 || (rc = ensure_ctx(cli, err)) < 0)
        return rc;
    /* Without keys, anyone on the path could read or forge the traffic. */
    if (cli->creds.plain && !mlq_transport_is_local(addr))
        return mlq_err_set(err, MLQ_CLI_EUSAGE,
                           "plain TCP (--insecure or insecure = yes) only to a scheduler on a "
                           "loopback address, not %.100s: use keys (see the admin guide)",
                           addr);
    req->rid = cli->next_rid++;
    const struct mlq_curve *curve = cli->creds.plain ? NULL : &cli->creds.curve;
    /* One connection for all of a command's requests: a command that asks
     * several times (pages, polls) shakes hands once. */
    rc = mlq_transport_link_request(cli->zctx, &cli->link, addr, curve, req, reply, cli->timeout_ms,
                                    err);
    if (rc == MLQ_EPERM)
        return mlq_err_set(err, rc,
                           "not authorized by the scheduler at %s (is your key registered? see "
                           "mlq admin user add)",
                           addr);
    if (rc == MLQ_ENOLISTEN) { /* its message says so; callers see an unreachable scheduler */
        if (err)
            err->code = MLQ_EUNREACH;
        return MLQ_EUNREACH;
    }
    if (rc == MLQ_EUNREACH) {
        char dur[32];
        return mlq_err_set(err, rc, "no answer from the scheduler at %s within %s", addr,
                           mlq_res_fmt_duration(cli->timeout_ms, dur, sizeof(dur)));
    }
    if (rc == MLQ_EVERSION)
        return mlq_err_set(err, rc,
                           "the scheduler at %s answered in wire protocol %u; this mlq %s speaks "
                           "%d..%d: upgrade mlq",
                           addr, reply->wire_v, mlq_version(), MLQ_PROTO_MIN, MLQ_PROTO_MAX);
    if (rc < 0)
        return rc;
    if (reply->type == MLQ_MSG_ERROR) {
        rc = from_error_reply(reply, err);
    } else if (reply->type != expect) {
        rc = mlq_err_set(err, MLQ_EPROTO, "scheduler answered %s to %s",
                         mlq_proto_type_name(reply->type), mlq_proto_type_name(req->type));
    }
    if (rc < 0)
        mlq_proto_msg_free(reply);
    return rc;
}

/* A job name the scheduler may look up: printable, at most a name long,
 * not an option. */
static bool name_valid(const char *ref)
{
    size_t n = strnlen(ref, MLQ_MAX_NAME + 1);
    if (n == 0 || n > MLQ_MAX_NAME || ref[0] == '-')
        return false;
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)ref[i] < 0x20 || ref[i] == 0x7f)
            return false;
    return true;
}

bool mlq_cli_ref_id_shaped(const char *ref)
{
    char prefix[MLQ_ID_LEN + 1];
    const char *slash = strchr(ref, '/');
    if (!slash)
        return mlq_id_prefix_valid(ref);
    size_t plen = (size_t)(slash - ref), nd = strlen(slash + 1);
    if (plen == 0 || plen > MLQ_ID_LEN || nd == 0 || nd > 7 ||
        strspn(slash + 1, "0123456789") != nd)
        return false;
    memcpy(prefix, ref, plen);
    prefix[plen] = '\0';
    return mlq_id_prefix_valid(prefix);
}

bool mlq_cli_ref_valid(const char *ref)
{
    return mlq_cli_ref_id_shaped(ref) || name_valid(ref);
}

int mlq_cli_check_ids(char *const *ids, int n, struct mlq_err *err)
{
    if (n > MLQ_MAX_IDS)
        return mlq_err_set(err, MLQ_ETOOBIG, "too many job ids (at most %d)", MLQ_MAX_IDS);
    for (int i = 0; i < n; i++) {
        if (!mlq_cli_ref_valid(ids[i])) {
            char shown[64];
            copy_clean(shown, sizeof(shown), ids[i]);
            return mlq_err_set(err, MLQ_EINVAL,
                               "'%s' is not a job or array id (or a prefix of one), ARRAY/N, nor "
                               "a job name",
                               shown);
        }
    }
    return 0;
}

int mlq_cli_fetch_refs(struct mlq_cli *cli, char *const *ids, int n, struct mlq_msg *reply,
                       struct mlq_err *err)
{
    struct mlq_msg req = {.type = MLQ_MSG_JOBS};
    req.u.jobs.ids = (char **)ids;
    req.u.jobs.nids = (uint32_t)n;
    req.u.jobs.state = -1;
    int rc = mlq_pages_request(cli, &req, MLQ_MSG_JOB_LIST, 0, reply, err);
    if (rc < 0)
        return rc;
    if (reply->u.job_list.njobs + reply->u.job_list.narrays != (uint32_t)n) {
        mlq_proto_msg_free(reply);
        return mlq_err_set(err, MLQ_EPROTO, "scheduler answered %d ids with %u jobs and %u arrays",
                           n, reply->u.job_list.njobs, reply->u.job_list.narrays);
    }
    return 0;
}

int mlq_cli_fetch_jobs(struct mlq_cli *cli, char *const *ids, int n, struct mlq_msg *reply,
                       struct mlq_err *err)
{
    int rc = mlq_cli_fetch_refs(cli, ids, n, reply, err);
    if (rc == 0 && reply->u.job_list.narrays > 0) {
        char id[MLQ_SHORT_ID_LEN + 1];
        mlq_id_short(reply->u.job_list.arrays[0].id, id);
        mlq_proto_msg_free(reply);
        return mlq_err_set(err, MLQ_EINVAL,
                           "%s is a job array: name one task as %s/N (N = its index)", id, id);
    }
    return rc;
}

int mlq_cli_ref_find(const struct mlq_msg *list, const char *ref, const struct mlq_jobinfo **job,
                     const struct mlq_arrayinfo **arr, uint32_t *next_job)
{
    *job = NULL;
    *arr = NULL;
    size_t n = strlen(ref);
    bool by_name = !mlq_cli_ref_id_shaped(ref);
    const struct mlq_jobinfo *next =
        *next_job < list->u.job_list.njobs ? &list->u.job_list.jobs[*next_job] : NULL;
    /* A name the next job carries is that job's; else an array's of that
     * name (the scheduler named one or the other, never both). */
    bool job_named = by_name && next && next->name && strcmp(next->name, ref) == 0;
    for (uint32_t i = 0; !job_named && !strchr(ref, '/') && i < list->u.job_list.narrays; i++) {
        const struct mlq_arrayinfo *a = &list->u.job_list.arrays[i];
        if (by_name ? a->name && strcmp(a->name, ref) == 0 : strncmp(a->id, ref, n) == 0) {
            *arr = a;
            return 0;
        }
    }
    if (*next_job >= list->u.job_list.njobs)
        return MLQ_EPROTO;
    *job = &list->u.job_list.jobs[(*next_job)++];
    return 0;
}

int mlq_cli_getopt_error(const char *cmd, int c, int argc, char **argv, struct mlq_err *err)
{
    /* getopt leaves optind just past the offending element, except for an
     * unknown short option inside a cluster, where it may not advance yet. */
    const char *bad = (optind > 0 && optind <= argc) ? argv[optind - 1] : "?";
    char shown[64];
    copy_clean(shown, sizeof(shown), bad);
    if (c == ':')
        return mlq_err_set(err, MLQ_CLI_EUSAGE, "%s: option '%s' needs a value", cmd, shown);
    if (optopt > 0 && optopt < 0x100) /* a short option */
        return mlq_err_set(err, MLQ_CLI_EUSAGE, "%s: unknown option '-%c'", cmd, optopt);
    return mlq_err_set(err, MLQ_CLI_EUSAGE, "%s: unknown option '%s'", cmd, shown);
}

int mlq_cli_parse_int(const char *what, const char *s, long min, long max, long *out,
                      struct mlq_err *err)
{
    char *end = NULL;
    errno = 0;
    long v = strtol(s, &end, 10);
    if (errno || end == s || *end != '\0' || v < min || v > max)
        return mlq_err_set(err, MLQ_CLI_EUSAGE, "bad %s '%.40s' (expected %ld..%ld)", what, s, min,
                           max);
    *out = v;
    return 0;
}

void mlq_cli_sleep_ms(int64_t ms)
{
    if (ms <= 0)
        return;
    struct timespec ts = {.tv_sec = (time_t)(ms / 1000), .tv_nsec = (long)(ms % 1000) * 1000000L};
    while (nanosleep(&ts, &ts) == -1 && errno == EINTR)
        ;
}

int mlq_cli_parse_timeout(const char *s, int *out_ms, struct mlq_err *err)
{
    int64_t ms;
    if (mlq_res_parse_duration(s, &ms, err) < 0 || ms > 3600 * 1000)
        return mlq_err_set(err, MLQ_CLI_EUSAGE,
                           "bad --timeout '%.40s' (e.g. 10s, 500ms; at most 1h)", s);
    *out_ms = (int)ms;
    return 0;
}
