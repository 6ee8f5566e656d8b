/* cmd_wsummary: `mlq workers --summary [--json]`, sinfo-like: one line per
 * pool with its workers up / drained / down / unhealthy, CPUs, memory and
 * GPUs by type (free/total), and a TOTAL line. Free counts what jobs can
 * be placed on now (UP workers neither drained, draining nor unhealthy);
 * total counts every UP worker's offer. */
#ifndef MLQ_CLI_CMD_WSUMMARY_H
#define MLQ_CLI_CMD_WSUMMARY_H

#include <stdbool.h>
#include <stdio.h>

#include "client.h"
#include "proto.h"

/* Prints the pools (GPU types get sorted in place) and their TOTAL: a
 * table, or {"pools": [{pool, nodes, up, drained, down, unhealthy,
 * cpus: {free, total}, mem: {free, total}, gpus: {TYPE: {free, total}}}],
 * "total": {the same but pool}}. 0 or MLQ_ENOMEM / MLQ_EIO. */
int mlq_cli_wsummary_print(FILE *f, struct mlq_poolsum *p, uint32_t n, bool json, bool colour);
/* Asks the scheduler and prints; returns the exit code. */
int mlq_cli_wsummary_run(struct mlq_cli *cli, bool json);

#endif
