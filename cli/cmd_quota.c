/* cmd_quota: see cmd_quota.h. Amounts are checked here as the scheduler
 * checks them, so that a bad value fails (exit 6, naming it) before
 * anything is sent; whether the caller may manage quotas, and whether the
 * team exists, is the scheduler's answer. */
#include "cmd_quota.h"

#include <ctype.h>
#include <getopt.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_teams.h"
#include "jsonview.h"
#include "output.h"
#include "res.h"

enum {
    OPT_POOL = MLQ_CLI_OPT_FIRST_FREE,
    OPT_GPUS,
    OPT_CPUS,
    OPT_MEM,
    OPT_BGPUS,
    OPT_BCPUS,
    OPT_BMEM,
    OPT_UMAXRUN,
    OPT_UMAXGPUS,
};

/* Far beyond any cluster, as the wire bound (protoquota.c). */
#define GPUS_MAX_H (INT64_C(100) * 1000 * 1000 * 1000)

static const char quota_usage[] =
    "usage: mlq admin quota set TEAM [--pool P] [--gpus N] [--cpus N] [--mem SIZE]\n"
    "           [--borrow-gpus N] [--borrow-cpus N] [--borrow-mem SIZE]\n"
    "           [--user-max-running N] [--user-max-gpus N] [--json]\n"
    "       mlq admin quota show [TEAM] [--pool P] [--json]\n"
    "       mlq admin quota rm TEAM [--pool P]\n\n"
    "Quotas per team and pool (admins only; docs/admin.md, \"Quotas per team and\n"
    "pool\"). A team runs up to its nominal amounts; beyond them it borrows, up\n"
    "to its borrow caps, only what other teams' quotas in the pool leave idle\n"
    "(and capacity no quota claims). Teams without a quota in a pool with quotas\n"
    "have nominal 0 and no borrow cap. Pools without quotas are not checked.\n"
    "`set` replaces the team's whole quota in the pool: a resource left out is\n"
    "not limited, a borrow cap left out is 0, a user limit left out is none.\n"
    "It holds from the next scheduling pass; running jobs are never stopped.\n"
    "  --pool P             the pool (default: \"default\", workers without a pool)\n"
    "  --gpus N             nominal GPUs, whole or with two decimals (0.5); or caps\n"
    "                       per GPU type, TYPE:N[,TYPE:N] (h100:8,a100:4): jobs\n"
    "                       asking for exactly that type stay within its cap\n"
    "                       (not borrowed beyond); the team's GPUs are their sum\n"
    "  --cpus N             nominal CPUs (0.5 allowed)\n"
    "  --mem SIZE           nominal memory (512M, 64G; 0 allowed)\n"
    "  --borrow-gpus N      at most N GPUs beyond nominal (default 0)\n"
    "  --borrow-cpus N      the same for CPUs\n"
    "  --borrow-mem SIZE    the same for memory\n"
    "  --user-max-running N each user of the team runs at most N jobs in the pool\n"
    "  --user-max-gpus N    each user of the team uses at most N GPUs in the pool\n"
    "  --json               (set, show) {\"quotas\": [{team, pool, nominal, borrow_cap,\n"
    "                       used, borrowed, running, user_max_running,\n"
    "                       user_max_gpus, gpu_types}]}; amounts are {gpus, cpus, mem},\n"
    "                       null where not limited\n"
    "  --scheduler ADDR     scheduler address\n"
    "  --timeout DUR        how long to wait for the scheduler's answer (default 10s)\n";

static const struct option longopts[] = {
    MLQ_CLI_COMMON_LONGOPTS,
    MLQ_CLI_TIMEOUT_LONGOPT,
    {"json", no_argument, NULL, MLQ_CLI_OPT_JSON},
    {"pool", required_argument, NULL, OPT_POOL},
    {"gpus", required_argument, NULL, OPT_GPUS},
    {"cpus", required_argument, NULL, OPT_CPUS},
    {"mem", required_argument, NULL, OPT_MEM},
    {"borrow-gpus", required_argument, NULL, OPT_BGPUS},
    {"borrow-cpus", required_argument, NULL, OPT_BCPUS},
    {"borrow-mem", required_argument, NULL, OPT_BMEM},
    {"user-max-running", required_argument, NULL, OPT_UMAXRUN},
    {"user-max-gpus", required_argument, NULL, OPT_UMAXGPUS},
    {NULL, 0, NULL, 0},
};

enum form { F_SET, F_SHOW, F_RM };

struct quota_opts {
    enum form form;
    bool json;
    struct mlq_quotainfo q;
};

int mlq_cli_parse_quota_gpus(const char *opt, const char *s, int64_t *out, struct mlq_err *err)
{
    int64_t whole = 0, frac = 0;
    int nd = 0, nf = -1;
    const char *p = s;
    for (; isdigit((unsigned char)*p) && whole <= GPUS_MAX_H; p++, nd++)
        whole = whole * 10 + (*p - '0');
    if (*p == '.')
        for (nf = 0, p++; isdigit((unsigned char)*p) && nf < 3; p++, nf++)
            frac = frac * 10 + (*p - '0');
    if (nd == 0 || *p || nf == 0 || nf > 2 || whole * 100 > GPUS_MAX_H)
        return mlq_err_set(err, MLQ_EINVAL,
                           "%s: bad GPU amount \"%.40s\" (a whole number, or one with at most two "
                           "decimals such as 0.5 or 2.25)",
                           opt, s);
    *out = whole * 100 + (nf == 1 ? frac * 10 : frac);
    return 0;
}

/* "h100:8,a100:0.5": caps per GPU type into q->gpu_types (wire form),
 * and their sum as the team's GPUs. */
static int parse_typed_gpus(const char *opt, const char *s, struct mlq_quotainfo *q,
                            struct mlq_err *err)
{
    struct mlq_quota_type t[MLQ_QUOTA_MAX_TYPES];
    int n = 0;
    q->gpus_h = 0;
    for (const char *p = s; *p; n++) {
        size_t len = strcspn(p, ","), tl = strcspn(p, ":");
        char item[MLQ_MAX_GPU_TYPE + 40];
        if (n == MLQ_QUOTA_MAX_TYPES || tl >= len || tl > MLQ_MAX_GPU_TYPE || len >= sizeof item)
            return mlq_err_set(err, MLQ_EINVAL,
                               "%s: bad GPU amounts \"%.60s\" (N, or TYPE:N[,TYPE:N], at most %d "
                               "types)",
                               opt, s, MLQ_QUOTA_MAX_TYPES);
        memcpy(item, p, len);
        item[len] = '\0';
        item[tl] = '\0';
        for (char *c = item; *c; c++)
            *c = (char)tolower((unsigned char)*c);
        memcpy(t[n].type, item, tl + 1); /* tl <= MLQ_MAX_GPU_TYPE, checked above */
        struct mlq_err e;
        if (mlq_cli_parse_quota_gpus(opt, item + tl + 1, &t[n].gpus_h, &e) < 0)
            return mlq_err_set(err, MLQ_EINVAL, "%s \"%.60s\": %s", opt, s,
                               e.msg + strlen(opt) + 2);
        q->gpus_h += t[n].gpus_h;
        p += len + (p[len] == ',');
    }
    mlq_proto_quota_types_fmt(t, n, q->gpu_types);
    struct mlq_err e;
    if (mlq_proto_quota_types_parse(q->gpu_types, t, &n, &e) < 0)
        return mlq_err_set(err, MLQ_EINVAL, "%s: \"%.60s\": %s", opt, s, e.msg);
    return 0;
}

/* CPUs or memory, where 0 is allowed (res.h refuses it for requests). */
static int parse_amount(const char *opt, const char *s, bool mem, int64_t *out, struct mlq_err *err)
{
    struct mlq_err e = {0};
    if (strcmp(s, "0") == 0) {
        *out = 0;
        return 0;
    }
    int rc = mem ? mlq_res_parse_mem(s, out, &e) : mlq_res_parse_cpus(s, out, &e);
    return rc < 0 ? mlq_err_set(err, MLQ_EINVAL, "%s: %s", opt, e.msg) : 0;
}

static int parse_count(const char *opt, const char *s, int64_t *out, struct mlq_err *err)
{
    char *end;
    long long v = strtoll(s, &end, 10);
    if (!isdigit((unsigned char)s[0]) || *end || v < 0 || v > 1000000000LL)
        return mlq_err_set(err, MLQ_EINVAL, "%s: bad count \"%.40s\" (0 or more)", opt, s);
    *out = v;
    return 0;
}

static int set_opt(int c, struct quota_opts *o, struct mlq_err *err)
{
    struct mlq_quotainfo *q = &o->q;
    const char *name = "--?";
    for (const struct option *lo = longopts; lo->name; lo++)
        if (lo->val == c)
            name = lo->name;
    char opt[48];
    snprintf(opt, sizeof opt, "--%s", name);
    if (o->form != F_SET && c != OPT_POOL)
        return mlq_err_set(err, MLQ_CLI_EUSAGE, "admin quota: %s only with set", opt);
    switch (c) {
    case OPT_POOL:
        snprintf(q->pool, sizeof q->pool, "%s", optarg);
        return mlq_proto_principal_name_check(q->pool, err) < 0
                   ? mlq_err_set(err, MLQ_EINVAL, "--pool: bad pool name \"%.40s\"", optarg)
                   : 0;
    case OPT_GPUS:
        q->gpu_types[0] = '\0';
        if (strchr(optarg, ':'))
            return parse_typed_gpus(opt, optarg, q, err);
        return mlq_cli_parse_quota_gpus(opt, optarg, &q->gpus_h, err);
    case OPT_BGPUS:
        return mlq_cli_parse_quota_gpus(opt, optarg, &q->borrow_gpus_h, err);
    case OPT_UMAXGPUS:
        return mlq_cli_parse_quota_gpus(opt, optarg, &q->user_max_gpus_h, err);
    case OPT_CPUS:
    case OPT_BCPUS:
        return parse_amount(opt, optarg, false, c == OPT_CPUS ? &q->cpus_m : &q->borrow_cpus_m,
                            err);
    case OPT_MEM:
    case OPT_BMEM:
        return parse_amount(opt, optarg, true, c == OPT_MEM ? &q->mem : &q->borrow_mem, err);
    default: /* OPT_UMAXRUN */
        return parse_count(opt, optarg, &q->user_max_running, err);
    }
}

static int quota_opt(int c, struct mlq_cli *cli, struct quota_opts *o, struct mlq_err *err)
{
    switch (c) {
    case MLQ_CLI_OPT_SCHEDULER:
        cli->scheduler_opt = optarg;
        return 0;
    case MLQ_CLI_OPT_TIMEOUT:
        return mlq_cli_parse_timeout(optarg, &cli->timeout_ms, err);
    case MLQ_CLI_OPT_JSON:
        o->json = true;
        return o->form != F_RM
                   ? 0
                   : mlq_err_set(err, MLQ_CLI_EUSAGE, "admin quota: --json not with rm");
    default:
        if (c >= OPT_POOL && c <= OPT_UMAXGPUS)
            return set_opt(c, o, err);
        return mlq_err_set(err, MLQ_CLI_EUSAGE, "admin quota: unexpected option");
    }
}

static int find_form(int argc, char **argv, enum form *f, struct mlq_err *err)
{
    if (argc >= 3 && strcmp(argv[2], "set") == 0)
        *f = F_SET;
    else if (argc >= 3 && strcmp(argv[2], "show") == 0)
        *f = F_SHOW;
    else if (argc >= 3 && strcmp(argv[2], "rm") == 0)
        *f = F_RM;
    else
        return mlq_err_set(err, MLQ_CLI_EUSAGE, "admin quota: expected set, show or rm");
    return 0;
}

static void opts_init(struct quota_opts *o)
{
    memset(o, 0, sizeof *o);
    o->q.gpus_h = o->q.cpus_m = o->q.mem = MLQ_QUOTA_UNLIMITED;
    o->q.user_max_running = o->q.user_max_gpus_h = MLQ_QUOTA_UNLIMITED;
}

/* Returns -1 to go on, else the exit code. */
static int quota_parse(struct mlq_cli *cli, int argc, char **argv, struct quota_opts *o)
{
    struct mlq_err err = {0};
    int c;
    opts_init(o);
    for (int i = 1; i < argc && i < 3; i++)
        if (strcmp(argv[i], "-h") == 0 || strcmp(argv[i], "--help") == 0) {
            fputs(quota_usage, stdout);
            return MLQ_EXIT_OK;
        }
    int rc = find_form(argc, argv, &o->form, &err);
    int subc = argc - 2;
    char **sub = argv + 2;
    optind = 0;
    opterr = 0;
    while (rc == 0 && (c = getopt_long(subc, sub, ":h", longopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(quota_usage, stdout);
            return MLQ_EXIT_OK;
        }
        rc = c == '?' || c == ':' ? mlq_cli_getopt_error("admin quota", c, subc, sub, &err)
                                  : quota_opt(c, cli, o, &err);
    }
    int left = rc == 0 ? subc - optind : 0;
    if (rc == 0 && (left > 1 || (o->form != F_SHOW && left != 1)))
        rc = mlq_err_set(&err, MLQ_CLI_EUSAGE, "admin quota: expected exactly one TEAM");
    if (rc == 0 && left == 1) {
        snprintf(o->q.team, sizeof o->q.team, "%s", sub[optind]);
        rc = mlq_cli_team_name_check(sub[optind], &err);
    }
    if (rc == MLQ_CLI_EUSAGE) {
        fprintf(stderr, "mlq: %s (see `mlq admin quota --help`)\n", err.msg);
        return MLQ_EXIT_USAGE;
    }
    return rc < 0 ? mlq_out_fail(rc, &err) : -1;
}

/* ---- output ---------------------------------------------------------- */

static int quotas_json_print(const struct mlq_quotainfo *q, uint32_t n)
{
    json_t *doc = mlq_jsonview_quotas(q, n);
    int rc = doc ? mlq_out_json_print(stdout, doc) : MLQ_ENOMEM;
    json_decref(doc);
    return rc;
}

static void fmt_gpus(int64_t h, char *buf, size_t len)
{
    if (h < 0)
        snprintf(buf, len, "-");
    else if (h % 100 == 0)
        snprintf(buf, len, "%lld", (long long)(h / 100));
    else
        snprintf(buf, len, "%lld.%02lld", (long long)(h / 100), (long long)(h % 100));
}

/* "used/nominal" for one resource ("3/-" where not limited). */
static void used_of(int r, int64_t used, int64_t nominal, char *buf, size_t len)
{
    char u[32], n[32];
    if (r == 0) {
        fmt_gpus(used, u, sizeof u);
        fmt_gpus(nominal, n, sizeof n);
    } else {
        (r == 1 ? mlq_res_fmt_cpus : mlq_res_fmt_mem)(used, u, sizeof u);
        if (used == 0)
            snprintf(u, sizeof u, "0");
        if (nominal < 0)
            snprintf(n, sizeof n, "-");
        else if (nominal == 0)
            snprintf(n, sizeof n, "0");
        else
            (r == 1 ? mlq_res_fmt_cpus : mlq_res_fmt_mem)(nominal, n, sizeof n);
    }
    snprintf(buf, len, "%s/%s", u, n);
}

/* Appends the caps per GPU type to buf, in GPUs: " (h100:8,a100:4)". */
static void gpus_with_types(const struct mlq_quotainfo *q, char *buf, size_t len)
{
    struct mlq_quota_type t[MLQ_QUOTA_MAX_TYPES];
    int n = 0;
    struct mlq_err e;
    if (mlq_proto_quota_types_parse(q->gpu_types, t, &n, &e) < 0)
        return;
    size_t off = strlen(buf);
    for (int i = 0; i < n && off < len; i++) {
        char a[32];
        fmt_gpus(t[i].gpus_h, a, sizeof a);
        off += (size_t)snprintf(buf + off, len - off, "%s%s:%s%s", i ? "," : " (", t[i].type, a,
                                i == n - 1 ? ")" : "");
    }
}

static int quotas_print(FILE *f, const struct mlq_quotainfo *q, uint32_t n, bool colour)
{
    static const char *const headers[] = {"TEAM", "POOL", "GPUS",    "BORROWED",
                                          "CPUS", "MEM",  "RUNNING", "PER USER"};
    struct mlq_table *tab = mlq_table_create(8, headers);
    int rc = tab ? 0 : MLQ_ENOMEM;
    for (uint32_t i = 0; rc == 0 && i < n; i++) {
        char g[MLQ_QUOTA_TYPES_LEN + 64], b[64], bg[32], bc[32], cp[64], m[64], run[24], per[64],
            um[32];
        used_of(0, q[i].used_gpus_h, q[i].gpus_h, g, sizeof g);
        fmt_gpus(q[i].borrowed_gpus_h, bg, sizeof bg);
        fmt_gpus(q[i].borrow_gpus_h, bc, sizeof bc);
        snprintf(b, sizeof b, "%s/%s", bg, bc);
        if (q[i].gpu_types[0]) /* "3/12 (h100:8,a100:4)" */
            gpus_with_types(&q[i], g, sizeof g);
        used_of(1, q[i].used_cpus_m, q[i].cpus_m, cp, sizeof cp);
        used_of(2, q[i].used_mem, q[i].mem, m, sizeof m);
        snprintf(run, sizeof run, "%lld", (long long)q[i].running);
        fmt_gpus(q[i].user_max_gpus_h, um, sizeof um);
        if (q[i].user_max_running < 0 && q[i].user_max_gpus_h < 0)
            snprintf(per, sizeof per, "-");
        else if (q[i].user_max_running < 0)
            snprintf(per, sizeof per, "%s GPUs", um);
        else
            snprintf(per, sizeof per, "%lld jobs, %s GPUs", (long long)q[i].user_max_running, um);
        const char *cells[] = {q[i].team, q[i].pool, g, b, cp, m, run, per};
        for (size_t k = 0; rc == 0 && k < 8; k++)
            rc = mlq_table_add(tab, cells[k], NULL);
    }
    if (rc == 0)
        rc = mlq_table_print(tab, f, colour);
    mlq_table_destroy(&tab);
    return rc < 0 ? rc : ferror(f) ? MLQ_EIO : 0;
}

/* ---- requests -------------------------------------------------------- */

static int do_quota(struct mlq_cli *cli, struct quota_opts *o, struct mlq_err *err)
{
    struct mlq_msg req = {.type = MLQ_MSG_QUOTA_CMD}, reply;
    const char *op = o->form == F_SET ? "set" : o->form == F_RM ? "rm" : "list";
    snprintf(req.u.quota_cmd.op, sizeof req.u.quota_cmd.op, "%s", op);
    req.u.quota_cmd.q = o->q;
    int rc =
        mlq_cli_request(cli, &req, o->form == F_RM ? MLQ_MSG_OK : MLQ_MSG_QUOTA_LIST, &reply, err);
    if (rc < 0)
        return rc;
    const char *pool = o->q.pool[0] ? o->q.pool : "default";
    if (o->form == F_RM)
        fprintf(stderr, "removed the quota of team %s in pool %s\n", o->q.team, pool);
    else if (o->json)
        rc = quotas_json_print(reply.u.quota_list.quotas, reply.u.quota_list.nquotas);
    else if (o->form == F_SHOW && o->q.team[0] && reply.u.quota_list.nquotas == 0)
        fprintf(stderr, "team %s has no quota%s%s\n", o->q.team, o->q.pool[0] ? " in pool " : "",
                o->q.pool);
    else if (o->form == F_SHOW)
        rc = quotas_print(stdout, reply.u.quota_list.quotas, reply.u.quota_list.nquotas,
                          cli->stdout_tty);
    else
        fprintf(stderr, "set the quota of team %s in pool %s\n", o->q.team, pool);
    mlq_proto_msg_free(&reply);
    return rc;
}

int mlq_cmd_admin_quota(struct mlq_cli *cli, int argc, char **argv)
{
    struct quota_opts o;
    int rc = quota_parse(cli, argc, argv, &o);
    if (rc >= 0)
        return rc;
    struct mlq_err err = {0};
    rc = do_quota(cli, &o, &err);
    return rc < 0 ? mlq_out_fail(rc, &err) : MLQ_EXIT_OK;
}
