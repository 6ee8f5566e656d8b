/* rerunchk: what `mlq rerun` compares before it submits: the working
 * directory's git state and the declared inputs, as this machine sees them
 * now, against the manifest of the original job's last attempt. Each
 * difference is one warning on stderr; with strict any difference refuses
 * the rerun. */
#ifndef MLQ_CLI_RERUNCHK_H
#define MLQ_CLI_RERUNCHK_H

#include <stdbool.h>

#include "client.h"
#include "proto.h"

/* Compares spec (the rerun's) with the manifest of ref's last attempt.
 * Returns 0 to go on, else the exit code (1 refused by strict). */
int mlq_rerunchk_run(struct mlq_cli *cli, const char *ref, const struct mlq_jobspec *spec,
                     bool strict);

#endif
