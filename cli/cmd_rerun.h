/* cmd_rerun: `mlq rerun JOB [--failed] [--strict] [submit options] [-- CMD...]`:
 * submits a job (or array, or only an array's failed tasks) again with the
 * spec it was submitted with, overridden by submit's options. */
#ifndef MLQ_CLI_CMD_RERUN_H
#define MLQ_CLI_CMD_RERUN_H

#include "client.h"

/* Runs `mlq rerun`; returns the exit code. */
int mlq_cmd_rerun(struct mlq_cli *cli, int argc, char **argv);

#endif
