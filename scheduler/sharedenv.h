/* sharedenv: the scheduler's copies of shared environments (the envs rows
 * of the store, storeenv.c) that jobs in memory name by env_id.
 *
 * A job of a `submit --from` batch keeps no environment in its spec, in
 * memory as in its row: it names its batch's one stored copy. Those copies
 * are read from the store when a job needs one (its ASSIGN, a rerun's
 * spec) and a few are kept, so that dispatching a batch reads its
 * environment once. It is a cache of rows that never change while a job
 * names them: a copy may be dropped at any time and read again. An id may
 * name another environment once its row went with its last job (SQLite
 * hands the highest rowid out again) or once the transaction that stored
 * it rolled back: whoever stores an environment forgets its id here
 * (mlq_sharedenv_forget), and the loop drops every copy when it rolls an
 * iteration back. */
#ifndef MLQ_SHAREDENV_H
#define MLQ_SHAREDENV_H

#include <stdint.h>

#include "err.h"
#include "store.h"

struct mlq_sharedenv;

struct mlq_sharedenv *mlq_sharedenv_create(void); /* NULL on allocation failure */
/* Frees every copy; sets *p to NULL; accepts NULL. */
void mlq_sharedenv_destroy(struct mlq_sharedenv **p);

/* Environment id (> 0), read from st unless a copy is kept: *env and
 * *envc point into the cache and stay valid until the next call. */
int mlq_sharedenv_get(struct mlq_sharedenv *e, struct mlq_store *st, int64_t id, char ***env,
                      uint32_t *envc, struct mlq_err *err);

/* Drops the copy of id, if kept: the id was just handed out for an
 * environment (mlq_store_env_put), maybe another one than the copy's. */
void mlq_sharedenv_forget(struct mlq_sharedenv *e, int64_t id);

/* Environments read from the store so far (tests). */
uint64_t mlq_sharedenv_loads(const struct mlq_sharedenv *e);

#endif
