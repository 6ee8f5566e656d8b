/* jobview: the human-readable page `mlq status` prints for one job: its
 * fields one per line, how its retries stand, and a table of its attempts.
 *
 * Everything that came from the scheduler is untrusted text: it is cleaned of
 * control characters before it reaches the terminal. */
#ifndef MLQ_CLI_JOBVIEW_H
#define MLQ_CLI_JOBVIEW_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "proto.h"

/* Writes the page for job to f; colour for a terminal; now_ms (wall clock)
 * for relative times such as "in 25s". Returns 0 or MLQ_ENOMEM / MLQ_EIO. */
int mlq_jobview_print(FILE *f, const struct mlq_jobinfo *job, bool colour, int64_t now_ms);

/* Writes the summary of a job array: size, counts per state, the indices of
 * the tasks that did not succeed. Returns 0 or MLQ_EIO. */
int mlq_jobview_print_array(FILE *f, const struct mlq_arrayinfo *a, bool colour);

#endif
