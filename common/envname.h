/* envname: the rules on a job's environment variables that the CLI (what it
 * sends), the scheduler (what only it may set) and the worker (what it drops
 * from the user's set) must agree on. docs/user-guide.md "The job's
 * environment" is the table these functions implement. */
#ifndef MLQ_ENVNAME_H
#define MLQ_ENVNAME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "proto.h"

/* Set by the scheduler on each run of a schedule (and only there): the
 * schedule's name, and the fire time the run is for, in the schedule's zone
 * and in UTC (ISO 8601). */
#define MLQ_ENV_SCHEDULE           "MLQ_SCHEDULE"
#define MLQ_ENV_SCHEDULED_TIME     "MLQ_SCHEDULED_TIME"
#define MLQ_ENV_SCHEDULED_TIME_UTC "MLQ_SCHEDULED_TIME_UTC"
#define MLQ_ENV_SCHEDULE_VARS      3

/* Room a submitted environment leaves under the wire bounds (bounds.h) for
 * the scheduler's own entries: a schedule's runs get MLQ_ENV_SCHEDULE_VARS
 * more, so what users send is held to slightly less than the wire allows. */
#define MLQ_ENV_USER_MAX_C     (MLQ_MAX_ENVC - MLQ_ENV_SCHEDULE_VARS)
#define MLQ_ENV_USER_MAX_BYTES (MLQ_MAX_ENV_BYTES - 1024)

/* Length of the name in "KEY=VALUE" (the whole string without '='). */
size_t mlq_envname_len(const char *kv);

/* True when name[0..len) is a portable variable name: [A-Za-z_][A-Za-z0-9_]*. */
bool mlq_envname_valid(const char *name, size_t len);

/* True when the worker never passes the user's value of name[0..len) to the
 * job: mlq sets it itself (MLQ_*, CUDA_VISIBLE_DEVICES,
 * NVIDIA_VISIBLE_DEVICES, HOME, USER, LOGNAME, SHELL) or it would let the
 * job talk to the worker's service manager (NOTIFY_SOCKET, LISTEN_FDS,
 * LISTEN_PID, LISTEN_FDNAMES, INVOCATION_ID, JOURNAL_STREAM). */
bool mlq_envname_dropped(const char *name, size_t len);

/* True for the names only the scheduler may put in a spec (MLQ_SCHEDULE...):
 * the worker passes these from the spec although they are MLQ_* names. */
bool mlq_envname_scheduler_set(const char *name, size_t len);

/* Removes from spec->env the entries with scheduler-set names, so that a
 * client cannot make its job look like a schedule's run. */
void mlq_envname_strip_scheduler_set(struct mlq_jobspec *spec);

/* Sum of the lengths of the n entries. */
size_t mlq_envname_bytes(char *const *env, uint32_t n);

/* Checks that an environment a user sends leaves the scheduler's room:
 * at most MLQ_ENV_USER_MAX_C entries and MLQ_ENV_USER_MAX_BYTES bytes.
 * MLQ_ETOOBIG saying how large it is. */
int mlq_envname_check_user(char *const *env, uint32_t n, struct mlq_err *err);

/* The environment of one job of a `submit_many`: the request's shared
 * entries, less those whose name own sets, then own's entries (own wins).
 * *out is a new vector of new strings (NULL and 0 when both are empty).
 * MLQ_ENOMEM; the sizes are checked afterwards, by the spec's check. */
int mlq_envname_merge(char *const *shared, uint32_t nshared, char *const *own, uint32_t nown,
                      char ***out, uint32_t *nout, struct mlq_err *err);

#endif
