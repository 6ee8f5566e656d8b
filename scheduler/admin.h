/* admin: requests about workers: the `workers` listing (with each GPU and
 * the job holding it), and `drain` / `resume`. Same handler contract as
 * client.h. (Who may drain is enforced once identities exist, issue 5.) */
#ifndef MLQ_ADMIN_H
#define MLQ_ADMIN_H

#include "client.h"

int mlq_admin_on_workers(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                         struct mlq_err *err);
int mlq_admin_on_drain(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                       struct mlq_err *err);
int mlq_admin_on_resume(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                        struct mlq_err *err);

#endif
