/* submitpipe: the pipeline options of `mlq submit` (and `mlq schedule add`):
 * --after / --after-any / --after-failed, --array, --max-running and
 * --idempotency-key, each checked locally with a message naming the option.
 *
 * A dependency is any unique prefix of a job or array id, or ARRAY/N (task N
 * of an array). The protocol carries at most MLQ_ID_LEN bytes per target, so
 * a full array id followed by "/N" is sent with the id shortened to fit:
 * the first 28 or more characters of a random id are as good as all 36. */
#ifndef MLQ_CLI_SUBMITPIPE_H
#define MLQ_CLI_SUBMITPIPE_H

#include "err.h"
#include "proto.h"

/* Appends the comma-separated targets of list (as given to opt, e.g.
 * "--after") with the given kind to spec->deps. MLQ_EINVAL for a bad or
 * empty item, MLQ_ETOOBIG past MLQ_MAX_DEPS. */
int mlq_submitpipe_add_deps(struct mlq_jobspec *spec, enum mlq_dep_kind kind, const char *opt,
                            const char *list, struct mlq_err *err);
/* --array SPEC: parsed in full (mlq_arrayspec_parse) so a bad spec is
 * refused here with the parser's message; stored as given. */
int mlq_submitpipe_set_array(struct mlq_jobspec *spec, const char *arg, struct mlq_err *err);
/* --max-running N: 1..MLQ_MAX_ARRAY. */
int mlq_submitpipe_set_max_running(struct mlq_jobspec *spec, const char *arg, struct mlq_err *err);
/* --idempotency-key KEY: 1..MLQ_MAX_IDEM_KEY printable ASCII bytes. */
int mlq_submitpipe_set_idem_key(struct mlq_jobspec *spec, const char *arg, struct mlq_err *err);
/* Checks once every option is read: --max-running needs --array. */
int mlq_submitpipe_finish(const struct mlq_jobspec *spec, struct mlq_err *err);

#endif
