/* upkeys: the keys of a local cluster, made by `mlq up`.
 *
 * Under STATE/keys (mode 0700):
 *   server.key(.pub)          the scheduler's pair
 *   users/USER.key(.pub)      the admin key of whoever ran `mlq up`
 *   workers/wN.key(.pub)      one pair per worker
 * Existing pairs are kept (a restarted cluster keeps its identities); a
 * secret key without its .pub is an error rather than silently replaced.
 * With insecure set, no key is made and the daemons get --insecure. */
#ifndef MLQ_CLI_UPKEYS_H
#define MLQ_CLI_UPKEYS_H

#include <stdbool.h>
#include <stddef.h>

#include "bounds.h"
#include "err.h"

struct mlq_upkeys {
    bool insecure;
    char dir[MLQ_MAX_PATH];    /* STATE/keys */
    char server[MLQ_MAX_PATH]; /* STATE/keys/server.key */
    char user[MLQ_MAX_PATH];   /* STATE/keys/users/USER.key */
    char user_name[MLQ_MAX_NAME + 1];
};

/* The name of the admin key: the account name of the real uid (what `mlq
 * submit` puts in owner), else $USER. MLQ_EINVAL when neither is a valid
 * principal name. */
int mlq_upkeys_user(char *out, size_t len, struct mlq_err *err);

/* Fills *k for state dir `state` and, unless insecure, makes every key that
 * is missing (the server's, the user's, w1..wN's). */
int mlq_upkeys_prepare(const char *state, long nworkers, bool insecure, struct mlq_upkeys *k,
                       struct mlq_err *err);

/* Path of worker i's secret key (STATE/keys/workers/wI.key). */
void mlq_upkeys_worker_path(const struct mlq_upkeys *k, long i, char *buf, size_t len);

/* The security options of the scheduler ("--allow-root-jobs" when run by
 * root, since a local cluster's jobs are its user's; "--insecure", or
 * "--key" SERVER and one "--authorize" ROLE:NAME:FILE.pub per key) and of worker i
 * ("--insecure", or "--key" ... "--scheduler-key" ...): a NULL-terminated
 * malloc'd vector of malloc'd strings, freed with mlq_upkeys_argv_free. */
int mlq_upkeys_sched_argv(const struct mlq_upkeys *k, long nworkers, char ***out,
                          struct mlq_err *err);
int mlq_upkeys_worker_argv(const struct mlq_upkeys *k, long i, char ***out, struct mlq_err *err);
void mlq_upkeys_argv_free(char ***v);

#endif
