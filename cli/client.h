/* client: what every mlq command shares. The scheduler address (option, then
 * $MLQ_SCHEDULER, then the client config, then the default), one request
 * helper that turns an `error` reply into an error code, the mapping from
 * error codes to exit codes, and option-parsing helpers.
 *
 * Nothing here prints or exits; commands decide what the user sees. */
#ifndef MLQ_CLI_CLIENT_H
#define MLQ_CLI_CLIENT_H

#include <getopt.h>
#include <stdbool.h>
#include <stdint.h>

#include "creds.h"
#include "err.h"
#include "proto.h"

#define MLQ_CLI_DEFAULT_SCHEDULER  "tcp://127.0.0.1:7710"
#define MLQ_CLI_DEFAULT_TIMEOUT_MS 10000

/* CLI-only error codes, beyond the shared MLQ_E* range; never on the wire. */
enum {
    MLQ_CLI_EUSAGE = -100,   /* bad command line (exit 2) */
    MLQ_CLI_ETIMEOUT = -101, /* `mlq wait --timeout` expired (exit 7) */
    MLQ_CLI_EFAILED = -102,  /* a job or operation failed (exit 1) */
};

/* Exit codes (DESIGN.md "CLI conventions"). */
enum {
    MLQ_EXIT_OK = 0,
    MLQ_EXIT_FAILED = 1,
    MLQ_EXIT_USAGE = 2,
    MLQ_EXIT_UNREACHABLE = 3,
    MLQ_EXIT_NOT_FOUND = 4,
    MLQ_EXIT_PERM = 5,
    MLQ_EXIT_INVALID = 6,
    MLQ_EXIT_TIMEOUT = 7,
};

/* Long-option values shared by every command (outside the char range). */
enum {
    MLQ_CLI_OPT_SCHEDULER = 0x1000,
    MLQ_CLI_OPT_TIMEOUT,
    MLQ_CLI_OPT_JSON,
    MLQ_CLI_OPT_FIRST_FREE, /* commands number their own options from here */
};

/* Entries every command's long-option table starts with. */
#define MLQ_CLI_COMMON_LONGOPTS                                                                    \
    {"scheduler", required_argument, NULL, MLQ_CLI_OPT_SCHEDULER},                                 \
    {                                                                                              \
        "help", no_argument, NULL, 'h'                                                             \
    }

/* --timeout (per-request timeout), taken by every command but `wait`. */
#define MLQ_CLI_TIMEOUT_LONGOPT                                                                    \
    {                                                                                              \
        "timeout", required_argument, NULL, MLQ_CLI_OPT_TIMEOUT                                    \
    }

/* The state of one mlq invocation; lives on main()'s stack. */
struct mlq_cli {
    const char *scheduler_opt; /* --scheduler, or NULL; points into argv */
    int timeout_ms;            /* per-request timeout */
    uint64_t next_rid;
    void *zctx; /* ZeroMQ context, created on the first request */
    /* the connection requests share, made by the first one (transport.h) */
    struct mlq_link *link;
    char *addr; /* resolved scheduler address, owned */
    bool stdout_tty;
    /* How requests are secured (creds.h). */
    bool insecure;           /* global --insecure */
    const char *config_path; /* client config for the keys; NULL = the default */
    bool creds_ready;        /* creds loaded (or set by `mlq up`) */
    struct mlq_creds creds;
};

/* Sets defaults. Never fails. */
void mlq_cli_init(struct mlq_cli *cli);
/* Releases the context and the resolved address; wipes the credentials. */
void mlq_cli_fini(struct mlq_cli *cli);
/* The same but for the ZeroMQ context, left to the process's exit (main.c
 * says when that is safe). */
void mlq_cli_fini_at_exit(struct mlq_cli *cli);

/* Maps an error code (0, MLQ_E*, MLQ_CLI_E*) to the process exit code. */
int mlq_cli_exit_code(int code);

/* Resolves the scheduler address: opt, then $MLQ_SCHEDULER, then the key
 * `scheduler` of the client config (mlq_config_default_path()), then
 * MLQ_CLI_DEFAULT_SCHEDULER. *out is malloc'd; caller frees. */
int mlq_cli_resolve_scheduler(const char *opt, char **out, struct mlq_err *err);

/* Address the requests of this invocation go to (resolved once). The string
 * belongs to cli. */
int mlq_cli_address(struct mlq_cli *cli, const char **out, struct mlq_err *err);

/* Sends req (its rid is set here) and waits for the reply, over CURVE with
 * the credentials of creds.h unless plain TCP was asked for (loaded on the
 * first request). An `error` reply becomes its code with the scheduler's
 * message in err, a reply of a type other than `expect` becomes MLQ_EPROTO;
 * no answer is MLQ_EUNREACH with the address in the message; a key the
 * scheduler refuses is MLQ_EPERM ("not authorized by the scheduler at
 * ADDR ..."). On success *reply must be freed with mlq_proto_msg_free(); on
 * failure it holds nothing. */
int mlq_cli_request(struct mlq_cli *cli, struct mlq_msg *req, enum mlq_msg_type expect,
                    struct mlq_msg *reply, struct mlq_err *err);

/* True when ref is a job or array id prefix (mlq_id_prefix_valid), or
 * ARRAY/N (a prefix, '/', 1..7 digits). */
bool mlq_cli_ref_id_shaped(const char *ref);
/* True when ref is what a user may name a job by: id-shaped as above, or
 * the name of one of their active jobs (printable, at most MLQ_MAX_NAME
 * bytes, not starting with '-'); the scheduler resolves it. */
bool mlq_cli_ref_valid(const char *ref);
/* Checks every reference the user typed (MLQ_EINVAL naming the first bad
 * one; MLQ_ETOOBIG above MLQ_MAX_IDS). */
int mlq_cli_check_ids(char *const *ids, int n, struct mlq_err *err);

/* Fetches what the given references name (one `jobs` request): jobs in
 * order in jobs[], arrays in order in arrays[] (together n). On success
 * *reply is a job_list the caller frees. */
int mlq_cli_fetch_refs(struct mlq_cli *cli, char *const *ids, int n, struct mlq_msg *reply,
                       struct mlq_err *err);
/* The same for commands about single jobs: a reference naming a whole array
 * is MLQ_EINVAL ("use ARRAY/N"). */
int mlq_cli_fetch_jobs(struct mlq_cli *cli, char *const *ids, int n, struct mlq_msg *reply,
                       struct mlq_err *err);
/* Which entry of a mlq_cli_fetch_refs() answer the reference ref (the
 * caller walks the references in order, *next_job starting at 0) names:
 * an array whose id starts with ref, else the next job. MLQ_EPROTO when the
 * answer has no entry left. */
int mlq_cli_ref_find(const struct mlq_msg *list, const char *ref, const struct mlq_jobinfo **job,
                     const struct mlq_arrayinfo **arr, uint32_t *next_job);

/* Fills err for a getopt_long failure: c is '?' (unknown option) or ':'
 * (missing value); optind must still be the value getopt left. Returns
 * MLQ_CLI_EUSAGE. */
int mlq_cli_getopt_error(const char *cmd, int c, int argc, char **argv, struct mlq_err *err);

/* Parses a request timeout ("10s", "500ms"; at most 1h) into *out_ms;
 * MLQ_CLI_EUSAGE when bad. */
int mlq_cli_parse_timeout(const char *s, int *out_ms, struct mlq_err *err);

/* Sleeps ms milliseconds (restarting after signals). */
void mlq_cli_sleep_ms(int64_t ms);

/* Parses a decimal integer in [min, max]; MLQ_CLI_EUSAGE naming what on
 * failure. */
int mlq_cli_parse_int(const char *what, const char *s, long min, long max, long *out,
                      struct mlq_err *err);

#endif
