/* ctx: the scheduler's state, shared by its modules (loop, job operations,
 * client and worker handlers). One thread owns it; nothing else touches it.
 * main() creates one per process; there is no global instance. */
#ifndef MLQ_CTX_H
#define MLQ_CTX_H

#include <stdbool.h>
#include <stdint.h>

#include "jobtab.h"
#include "outbox.h"
#include "store.h"
#include "workers.h"

struct mlq_logrelay;
struct mlq_logstore;
struct mlq_queue;

struct mlq_ctx {
    void *router;
    struct mlq_store *store;
    struct mlq_jobtab *jobs;
    struct mlq_queue *queue; /* the PENDING jobs of jobs */
    struct mlq_workers *workers;
    struct mlq_outbox *out;
    struct mlq_logrelay *logs;
    struct mlq_logstore *logstore; /* uploaded job logs */
    int64_t heartbeat_ms;          /* told to workers */
    int64_t lease_ms;              /* a worker silent this long is lost */
    int64_t kill_grace_ms;
    int64_t now_mono, now_wall; /* read once per loop iteration */
    bool dirty;                 /* something changed that may let a job start */
};

#endif
