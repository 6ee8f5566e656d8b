/* jobref: what the CLI says when a job name the user typed names nothing
 * or several jobs. The scheduler resolves names (one request); only when it
 * answers that a name is ambiguous does the CLI ask it which jobs carry the
 * name, to list them. */
#ifndef MLQ_CLI_JOBREF_H
#define MLQ_CLI_JOBREF_H

#include <stdio.h>

#include "client.h"

/* Prints err as mlq_out_fail() does; when code is MLQ_EAMBIG, lists after
 * it, for each name among refs[0..n) that several of the user's active
 * jobs carry, those jobs (id, state, submitted) on stderr. Returns the
 * exit code for code. */
int mlq_cli_refs_fail(struct mlq_cli *cli, int code, const struct mlq_err *err, char *const *refs,
                      int n);

/* The same listing for one name: 0, or an error code (nothing printed). */
int mlq_cli_print_named(struct mlq_cli *cli, const char *name, FILE *f);

#endif
