/* cmd_submit: `mlq submit [options] [--] CMD ARGS...`. */
#ifndef MLQ_CLI_CMD_SUBMIT_H
#define MLQ_CLI_CMD_SUBMIT_H

#include <getopt.h>
#include <stdbool.h>
#include <stdio.h>

#include "client.h"
#include "err.h"
#include "proto.h"

struct mlq_cli_submit_opts {
    bool json;             /* --json */
    bool help;             /* --help: nothing else was parsed */
    const char *scheduler; /* --scheduler, or NULL; points into argv */
    int timeout_ms;        /* --timeout, or 0 */
    bool dry_run;          /* --dry-run: estimate, store nothing */
    const char *from;      /* --from FILE ("-": stdin), or NULL; points into argv */
};

/* Parses argv (argv[0] is "submit") into spec and opts without touching the
 * network. spec gets owner (the current user), workdir (absolute; default
 * the current directory) and defaults cpus 1, mem 1G, gpus 0, priority 0, no
 * pool (the default one), no required labels, any GPU type, not a gang, no
 * dependencies, not an array, no idempotency key, and the environment of
 * --export (default ALL: this process's environment, less what the worker
 * drops) with the --env entries (submitenv.h); it is checked
 * with mlq_proto_jobspec_check(). With --from (opts->from) there is no
 * command: spec holds the defaults of each line, not checked as a whole,
 * and has no argv. Returns 0, MLQ_CLI_EUSAGE (unknown option,
 * no command), MLQ_EINVAL / MLQ_ETOOBIG (bad value), with err filled. On
 * success the caller frees spec with mlq_proto_jobspec_free(); on failure it
 * holds nothing. */
int mlq_cli_submit_parse(int argc, char **argv, struct mlq_jobspec *spec,
                         struct mlq_cli_submit_opts *opts, struct mlq_err *err);

/* Options a caller adds to submit's own (`mlq schedule add`): their codes
 * start at MLQ_CLI_SUBMIT_OPT_END; fn handles each (arg is optarg). */
#define MLQ_CLI_SUBMIT_OPT_END (MLQ_CLI_OPT_FIRST_FREE + 64)
struct mlq_cli_submit_extra {
    const char *cmd;               /* names the command in messages ("schedule add") */
    const struct option *longopts; /* ends with a zero entry */
    int (*fn)(int c, const char *arg, void *ctx, struct mlq_err *err);
    void *ctx;
};
/* mlq_cli_submit_parse() with extra options (extra may be NULL). */
int mlq_cli_submit_parse_ex(int argc, char **argv, const struct mlq_cli_submit_extra *extra,
                            struct mlq_jobspec *spec, struct mlq_cli_submit_opts *opts,
                            struct mlq_err *err);

/* Prints a dry run's answer (an estimate's why_reply) for people. */
int mlq_cli_dry_run_print(FILE *f, const struct mlq_msg *reply);
/* Prints the start estimate lines of a why_reply (also `mlq why`). */
void mlq_cli_estimate_print(FILE *f, const struct mlq_msg *reply);

/* The checks a submitted spec must pass: the options that depend on each
 * other (--signal needs --time-limit, ...), then mlq_proto_jobspec_check().
 * `mlq submit --from` applies them to every line. */
int mlq_cli_submit_check(const struct mlq_jobspec *spec, struct mlq_err *err);

/* The same over base (`mlq rerun`): spec starts as a copy of base, each
 * option given overrides (--env KEY=VALUE replaces KEY's value, --require
 * and --after add), and the command, --name and --workdir stay base's when
 * not given; owner becomes the current user. base NULL: the defaults. */
int mlq_cli_submit_parse_over(int argc, char **argv, const struct mlq_cli_submit_extra *extra,
                              const struct mlq_jobspec *base, struct mlq_jobspec *spec,
                              struct mlq_cli_submit_opts *opts, struct mlq_err *err);

/* The option lines of `mlq submit --help` (for `mlq rerun --help`). */
const char *mlq_cli_submit_options_help(void);

/* Runs `mlq submit`; returns the exit code. With --dry-run: 0 when the job
 * could ever run, 1 when it never could. */
int mlq_cmd_submit(struct mlq_cli *cli, int argc, char **argv);

/* `mlq update`: the MLQ_CHANGE_* bit of a long option name ("priority",
 * "time-limit", "cpus", "mem", "gpus", "retries"), 0 for another one; and
 * its argument parsed by the submit's own parser into ch (bit added to
 * ch->set). */
unsigned mlq_cli_change_bit(const char *opt);
int mlq_cli_change_parse(unsigned bit, const char *arg, struct mlq_jobchange *ch,
                         struct mlq_err *err);

#endif
