/* optloop: see optloop.h. */
#include "optloop.h"

#include <stdio.h>

int mlq_optloop_read(const struct mlq_optloop *l, struct mlq_cli *cli, int argc, char **argv,
                     void *o, struct mlq_err *err)
{
    int c, rc = 0;
    optind = 0; /* a fresh scan: commands may run one after another in a test */
    opterr = 0;
    while (rc == 0 && (c = getopt_long(argc, argv, ":h", l->longopts, NULL)) != -1) {
        if (c == 'h') {
            fputs(l->help, stdout);
            return 1;
        }
        if (c == '?' || c == ':')
            rc = mlq_cli_getopt_error(l->cmd, c, argc, argv, err);
        else if (c == MLQ_CLI_OPT_SCHEDULER)
            cli->scheduler_opt = optarg;
        else if (c == MLQ_CLI_OPT_TIMEOUT)
            rc = mlq_cli_parse_timeout(optarg, &cli->timeout_ms, err);
        else
            rc = l->opt(c, o, err);
    }
    return rc;
}

int mlq_optloop_no_operands(const struct mlq_optloop *l, int argc, char **argv, struct mlq_err *err)
{
    if (optind < argc)
        return mlq_err_set(err, MLQ_CLI_EUSAGE, "%s: unexpected argument '%.40s'", l->cmd,
                           argv[optind]);
    return 0;
}

int mlq_optloop_result(const struct mlq_optloop *l, int rc, const struct mlq_err *err)
{
    if (rc == 1)
        return MLQ_EXIT_OK;
    if (rc < 0) {
        fprintf(stderr, "mlq: %s (see `mlq %s --help`)\n", err->msg, l->see);
        return MLQ_EXIT_USAGE;
    }
    return -1;
}
