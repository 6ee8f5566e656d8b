/* admin: requests about workers and keys: the `workers` listing (with each
 * GPU and the job holding it), `drain` / `resume`, the key registry and the
 * audit history. Same handler contract as client.h; the loop's handler table
 * says which roles may send each. */
#ifndef MLQ_ADMIN_H
#define MLQ_ADMIN_H

#include "client.h"

int mlq_admin_on_workers(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                         struct mlq_err *err);
/* Replies with a worker_list holding w alone. */
int mlq_admin_reply_worker(struct mlq_ctx *c, const struct mlq_peer *peer, uint64_t rid,
                           const struct mlq_worker *w, struct mlq_err *err);
int mlq_admin_on_drain(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                       struct mlq_err *err);
int mlq_admin_on_resume(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                        struct mlq_err *err);

/* Keys: `mlq admin user|worker add|rm`, `mlq admin users` (admins only). */
int mlq_admin_on_user_add(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                          struct mlq_err *err);
int mlq_admin_on_user_rm(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                         struct mlq_err *err);
/* Replies with a user_list: every principal, or the one (kind, name). */
int mlq_admin_reply_users(struct mlq_ctx *c, const struct mlq_peer *peer, uint64_t rid,
                          const char *kind, const char *name, struct mlq_err *err);
int mlq_admin_on_users(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                       struct mlq_err *err);
/* The history: admins see everything; users the events of their own jobs. */
int mlq_admin_on_events(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                        struct mlq_err *err);

#endif
