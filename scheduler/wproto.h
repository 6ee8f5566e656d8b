/* wproto: the scheduler's side of the worker protocol (register, heartbeat,
 * report). See docs/protocol.md. Same handler contract as client.h. */
#ifndef MLQ_WPROTO_H
#define MLQ_WPROTO_H

#include "client.h"

/* Persists w (resources, pool, drain state) and appends event (with detail,
 * may be NULL) to the history. */
int mlq_wproto_save_worker(struct mlq_ctx *c, const struct mlq_worker *w, const char *event,
                           const char *detail, struct mlq_err *err);
/* The registered worker behind this connection, provided the connection's
 * key speaks for that worker's name (a routing id proves nothing: any
 * client may choose one). MLQ_ENOTFOUND: register first; MLQ_EPERM
 * (logged): the key is another worker's. */
int mlq_wproto_sender(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_worker **out,
                      struct mlq_err *err);
/* Called for each entry of a worker's batch that decodes (the loop's own
 * handling of one message, with its checks and its reply); false stops the
 * batch (the iteration failed and is thrown away). */
typedef bool (*mlq_wproto_entry_fn)(void *arg, const struct mlq_peer *peer, struct mlq_msg *one);
/* A "batch" from the connection of a registered worker whose key speaks for
 * it (c->who, as for any worker message): each entry passed to fn in order,
 * as if it had come alone. An entry that does not decode, or is itself a
 * batch, is refused alone (warning, "error" reply with rid 0) and the rest
 * still run. An error return refuses the whole batch, nothing run. */
int mlq_wproto_on_batch(struct mlq_ctx *c, const struct mlq_peer *peer, const struct mlq_msg *batch,
                        mlq_wproto_entry_fn fn, void *arg, struct mlq_err *err);
int mlq_wproto_on_register(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                           struct mlq_err *err);
int mlq_wproto_on_goodbye(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                          struct mlq_err *err);
int mlq_wproto_on_heartbeat(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                            struct mlq_err *err);
/* A chunk of a finished attempt's log (docs/protocol.md "log_upload"). */
int mlq_wproto_on_log_upload(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                             struct mlq_err *err);
int mlq_wproto_on_report(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                         struct mlq_err *err);

#endif
