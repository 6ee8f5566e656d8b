/* outbox: messages the scheduler loop will send once the iteration's
 * transaction has committed (DESIGN.md rules 1 and 2: a job id or an ASSIGN
 * never leaves before the state it depends on is durable).
 *
 * Messages are encoded when queued. If the commit fails, every queued reply
 * to a request is turned into an error reply and every other message is
 * dropped, so no client is told something the database does not hold. */
#ifndef MLQ_OUTBOX_H
#define MLQ_OUTBOX_H

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "proto.h"
#include "transport.h"

struct mlq_outbox;

struct mlq_outbox *mlq_outbox_create(void);
void mlq_outbox_destroy(struct mlq_outbox **ob);

/* Queues a reply to a request (converted to an error on commit failure). */
int mlq_outbox_reply(struct mlq_outbox *ob, const struct mlq_peer *peer, const struct mlq_msg *msg,
                     struct mlq_err *err);
/* Sets what a listing reply cut to its first n entries says comes next
 * (its `next` cursor); arg is the caller's. */
typedef void (*mlq_outbox_cut_fn)(struct mlq_msg *msg, uint32_t n, void *arg);
/* Queues a listing reply whose *count entries may not fit one message: while
 * the encoding exceeds MLQ_MAX_MSG, halves *count and calls cut, so a
 * listing too big for one reply becomes a first page with a continuation
 * instead of an error. */
int mlq_outbox_reply_fit(struct mlq_outbox *ob, const struct mlq_peer *peer, struct mlq_msg *msg,
                         uint32_t *count, mlq_outbox_cut_fn cut, void *arg, struct mlq_err *err);
/* Queues a message that only makes sense if the commit succeeds. */
int mlq_outbox_push(struct mlq_outbox *ob, const struct mlq_peer *peer, const struct mlq_msg *msg,
                    struct mlq_err *err);
/* Whether peer reads "batch" messages (a worker that registered with
 * "batch"); arg is the caller's. */
typedef bool (*mlq_outbox_batch_fn)(const struct mlq_peer *peer, void *arg);
/* From now on the flush sends what is queued for a peer that fn accepts as
 * one "batch" message (or a few: at most MLQ_MAX_BATCH messages and
 * MLQ_OUTBOX_BATCH_BYTES each), in queue order. NULL: one message each. */
#define MLQ_OUTBOX_BATCH_BYTES (1024 * 1024)
void mlq_outbox_set_batching(struct mlq_outbox *ob, mlq_outbox_batch_fn fn, void *arg);
/* Sends everything and empties the box: to local peers (the HTTP threads)
 * on local, to the others on router. Each peer gets its messages in the
 * order they were queued (batched where set_batching allows); the order
 * between peers is not kept. Returns how many could not be delivered (peer
 * gone). */
size_t mlq_outbox_flush(struct mlq_outbox *ob, void *router, void *local);
/* Replaces replies by `error` (code, msg) and drops pushes. */
void mlq_outbox_fail(struct mlq_outbox *ob, int code, const char *msg);
size_t mlq_outbox_count(const struct mlq_outbox *ob);
/* The encoded body of queued message i (NULL past the end): exactly what
 * would go on the wire, for tests that check what a reply reveals. */
const char *mlq_outbox_body(const struct mlq_outbox *ob, size_t i, size_t *len);

#endif
