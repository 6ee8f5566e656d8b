/* cmd_drain: `mlq drain WORKER [--reason TEXT]` and `mlq resume WORKER`. */
#ifndef MLQ_CLI_CMD_DRAIN_H
#define MLQ_CLI_CMD_DRAIN_H

#include <stdbool.h>
#include <stdio.h>

#include "client.h"
#include "err.h"
#include "proto.h"

struct mlq_cli_drain_opts {
    bool help;             /* --help: nothing else was parsed */
    const char *worker;    /* points into argv */
    const char *reason;    /* --reason (drain only), or NULL; points into argv */
    const char *scheduler; /* --scheduler, or NULL */
    int timeout_ms;        /* --timeout, or 0 */
};

/* Parses argv (argv[0] is "drain" or "resume"; drain says which) without
 * touching the network. Returns 0, MLQ_CLI_EUSAGE (unknown option, not
 * exactly one WORKER, --reason given to resume) or MLQ_EINVAL (a worker name
 * of more than MLQ_MAX_NAME bytes, a reason longer than MLQ_MAX_REASON bytes
 * or holding control characters). */
int mlq_cli_drain_parse(int argc, char **argv, bool drain, struct mlq_cli_drain_opts *o,
                        struct mlq_err *err);
/* Writes the worker's new state after drain / resume, one line:
 * "w1: drained (bad fan), 2 jobs still running" or "w1: resumed, takes new
 * jobs". 0 or MLQ_EIO. */
int mlq_cli_drain_report(FILE *f, const struct mlq_workerinfo *w, bool drain);

/* Run `mlq drain` / `mlq resume`; return the exit code (4: no such worker). */
int mlq_cmd_drain(struct mlq_cli *cli, int argc, char **argv);
int mlq_cmd_resume(struct mlq_cli *cli, int argc, char **argv);

#endif
