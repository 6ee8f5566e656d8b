/* logrelay: `mlq logs` requests the scheduler has forwarded to a worker and
 * is waiting to answer. Bounded: at most MLQ_LOGRELAY_MAX at once, each with
 * a deadline after which the client gets an error instead of silence. */
#ifndef MLQ_LOGRELAY_H
#define MLQ_LOGRELAY_H

#include <stddef.h>
#include <stdint.h>

#include "bounds.h"
#include "transport.h"

#define MLQ_LOGRELAY_MAX 1024

struct mlq_logreq {
    uint64_t token; /* set by add */
    struct mlq_peer client;
    uint64_t rid;
    char job_id[MLQ_ID_LEN + 1];
    char worker[MLQ_MAX_NAME + 1];
    int64_t offset;
    int64_t deadline_mono;
    bool ended; /* an attempt asked for by number that has ended: its log is final */
};

struct mlq_logrelay;

struct mlq_logrelay *mlq_logrelay_create(void);
void mlq_logrelay_destroy(struct mlq_logrelay **lr);
/* Stores a copy of req with a fresh non-zero token; returns the token, or 0
 * when the relay is full. */
uint64_t mlq_logrelay_add(struct mlq_logrelay *lr, const struct mlq_logreq *req);
/* Removes the request with this token into *out; MLQ_ENOTFOUND if none. */
int mlq_logrelay_take(struct mlq_logrelay *lr, uint64_t token, struct mlq_logreq *out);
/* Removes one request past its deadline into *out; 0 when none is left. */
int mlq_logrelay_take_expired(struct mlq_logrelay *lr, int64_t now_mono, struct mlq_logreq *out);

#endif
