/* optloop: the option loop the commands share. Each command keeps its own
 * option table, help text and a function for its own options; this runs
 * getopt_long over them the same way everywhere: -h/--help prints the help,
 * --scheduler and --timeout go into the client, an unknown option or a
 * missing value is a usage error naming the command, and a usage error is
 * printed as "mlq: MSG (see `mlq CMD --help`)" with exit code 2. */
#ifndef MLQ_CLI_OPTLOOP_H
#define MLQ_CLI_OPTLOOP_H

#include <getopt.h>

#include "client.h"
#include "err.h"

struct mlq_optloop {
    const char *cmd;  /* in messages: "usage", "admin" */
    const char *see;  /* in "see `mlq SEE --help`": "usage", "admin team" */
    const char *help; /* printed on -h / --help */
    const struct option *longopts;
    /* The command's own option c (with optarg) into its options o; 0 or a
     * negative code with err set. */
    int (*opt)(int c, void *o, struct mlq_err *err);
};

/* Reads the options of argv (argv[0] is the command word, as getopt
 * expects): 0 when all are read (optind is at the first operand), 1 when
 * the help was printed, a negative code with err set on the first bad one. */
int mlq_optloop_read(const struct mlq_optloop *l, struct mlq_cli *cli, int argc, char **argv,
                     void *o, struct mlq_err *err);
/* MLQ_CLI_EUSAGE ("CMD: unexpected argument 'X'") when operands are left
 * after the options, else 0. */
int mlq_optloop_no_operands(const struct mlq_optloop *l, int argc, char **argv,
                            struct mlq_err *err);
/* What a command's parser returns for rc: MLQ_EXIT_OK after the help
 * (rc 1), MLQ_EXIT_USAGE with the message printed (rc < 0), else -1 (go
 * on). */
int mlq_optloop_result(const struct mlq_optloop *l, int rc, const struct mlq_err *err);

#endif
