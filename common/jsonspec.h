/* jsonspec: a job spec from one JSON object with the keys of the HTTP API's
 * JobSubmit (docs/openapi.yaml): argv, name, workdir, env, cpus, mem, gpus,
 * gpu_type, gpu_share, gpu_mem, pool, require, priority, nodes, retries,
 * retry_backoff, time_limit, kill_grace, warn_signal, warn_before, after,
 * after_any, after_failed, array, max_running, idempotency_key, inputs,
 * outputs, project, image. Shared by
 * the HTTP API and `mlq submit --from`, so that both read a job the same way.
 *
 * Unknown keys and wrong types are refused with a one-line message naming
 * the key; the whole spec is then checked by the caller with
 * mlq_proto_jobspec_check(), as every submission is. */
#ifndef MLQ_JSONSPEC_H
#define MLQ_JSONSPEC_H

#include <jansson.h>

#include "err.h"
#include "proto.h"

/* Sets in spec every key o gives (null counts as absent), keeping spec's
 * value for every other one: spec holds the defaults. A key's value
 * replaces the default whole (argv, require: the list; after, after_any,
 * after_failed: all three lists together when any is given), except env,
 * whose object replaces spec->env (the caller adds what it shares; see
 * mlq_envname_merge). Afterwards spec must have an argv. MLQ_EINVAL with a
 * message naming the key; spec then holds a mix and is only fit to free. */
int mlq_jsonspec_apply(const json_t *o, struct mlq_jobspec *spec, struct mlq_err *err);

#endif
