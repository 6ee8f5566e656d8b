/* sendq: the messages a DEALER (mlq-worker, the bench's simulated workers)
 * queued during one loop iteration, sent together at its end: as one
 * "batch" message (docs/protocol.md) when the scheduler said it reads them,
 * else one message each, always in the order they were queued. Whatever a
 * message needed to be durable first (a status file, an attempt folder) was
 * synced before it was queued, so it still is before the batch leaves. */
#ifndef MLQ_SENDQ_H
#define MLQ_SENDQ_H

#include <stdbool.h>
#include <stddef.h>

#include "proto.h"

struct mlq_sendq;

struct mlq_sendq *mlq_sendq_create(void);
void mlq_sendq_destroy(struct mlq_sendq **q);
/* Encodes m and queues it; on failure nothing is queued. */
int mlq_sendq_add(struct mlq_sendq *q, const struct mlq_msg *m, struct mlq_err *err);
size_t mlq_sendq_len(const struct mlq_sendq *q);
/* Sends everything queued on sock and empties the queue: with batch, two
 * or more messages go as "batch" messages of at most MLQ_MAX_BATCH entries
 * and MLQ_MAX_BATCH_BYTES of bodies each (a larger message goes alone).
 * Returns how many queued messages could not be sent (the first error in
 * *err); sock NULL drops them all. */
size_t mlq_sendq_flush(struct mlq_sendq *q, void *sock, bool batch, struct mlq_err *err);

#endif
