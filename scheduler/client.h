/* client: handlers for requests from `mlq` (submit, jobs, cancel, workers,
 * logs) and for the worker's answer to a relayed log read.
 *
 * Every handler either queues its reply in the outbox or returns a negative
 * MLQ_E* code with err filled; the loop turns that into an `error` reply
 * (and, for MLQ_EDB, abandons the iteration's transaction). */
#ifndef MLQ_CLIENT_H
#define MLQ_CLIENT_H

#include "ctx.h"
#include "err.h"
#include "proto.h"
#include "transport.h"

/* Makes the authenticated identity the owner of spec (unless insecure:
 * then the client's word stands). */
int mlq_client_set_owner(struct mlq_ctx *c, struct mlq_jobspec *spec, struct mlq_err *err);

/* MLQ_EPERM unless the requester owns the job (or array) id or is an
 * admin. */
int mlq_client_check_owner(struct mlq_ctx *c, const char *id, bool is_array, struct mlq_err *err);
/* A listing cursor the scheduler handed out: a non-negative decimal number
 * (the seq or index where the next page starts). */
int mlq_client_cursor_parse(const char *cursor, int64_t *out, struct mlq_err *err);

typedef int (*mlq_handler_fn)(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                              struct mlq_err *err);

int mlq_client_on_submit(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                         struct mlq_err *err);
int mlq_client_on_jobs(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                       struct mlq_err *err);
int mlq_client_on_cancel(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                         struct mlq_err *err);
/* `manifest`: an attempt's run manifest, to the job's owner and admins
 * only (it holds the job's environment). */
int mlq_client_on_manifest(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                           struct mlq_err *err);
int mlq_client_on_why(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                      struct mlq_err *err);
int mlq_client_on_logs(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                       struct mlq_err *err);
/* A worker's log_chunk: answers the client request it belongs to. */
int mlq_client_on_log_chunk(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                            struct mlq_err *err);
/* `usage`: every user's fair-share use (fairshare.h). */
int mlq_client_on_usage(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                        struct mlq_err *err);
/* Answers relayed log reads that waited too long. */
void mlq_client_expire_logs(struct mlq_ctx *c);

#endif
