/* cmd_manifest: `mlq manifest JOB [--attempt N] [--json]`, what an attempt
 * ran (its run manifest), and `mlq diff JOB1 JOB2 [--json]`, what differs
 * between two runs (manifestdiff.h). */
#ifndef MLQ_CLI_CMD_MANIFEST_H
#define MLQ_CLI_CMD_MANIFEST_H

#include "client.h"

/* Runs `mlq manifest`; returns the exit code. */
int mlq_cmd_manifest(struct mlq_cli *cli, int argc, char **argv);
/* Runs `mlq diff`; 0 when the runs are the same, 1 when they differ (like
 * diff(1)), else the usual error codes. */
int mlq_cmd_diff(struct mlq_cli *cli, int argc, char **argv);

#endif
