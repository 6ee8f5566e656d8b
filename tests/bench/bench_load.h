/* bench_load: clients that submit jobs, and one-off requests.
 *
 * A load is `clients` DEALERs in one thread, each keeping up to `depth`
 * `submit` requests in flight: depth 1 is a client that waits for each
 * `submitted` before sending the next, a larger depth is a pipelining
 * client. A load can run on its own thread (bload_spawn) while another
 * thread drives simulated workers. */
#ifndef BENCH_LOAD_H
#define BENCH_LOAD_H

#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "keys.h"
#include "proto.h"

struct bload_opts {
    const char *endpoint;
    int clients;
    int depth;
    uint64_t njobs;                 /* in all, spread over the clients */
    const struct mlq_jobspec *spec; /* submitted njobs times */
    /* > 1: the k-th job of a client asks for spec->cpus_m + k % shapes */
    uint32_t shapes;
    int timeout_ms;                    /* longest wait for any one reply */
    volatile const sig_atomic_t *stop; /* optional: stop early when *stop != 0 */
    /* With keys (both set): every client connects with CURVE as kp, the
     * scheduler's public key being server_pub; NULL: plain TCP. */
    const char *server_pub;
    const struct mlq_keypair *kp;
};

struct bload_result {
    uint64_t submitted; /* `submitted` replies received */
    int64_t start_ns, end_ns;
    int rc; /* 0, or why the load stopped */
    struct mlq_err err;
};

/* Runs a load to the end on the calling thread. */
int bload_run(void *zctx, const struct bload_opts *o, struct bload_result *res);

struct bload_thread {
    pthread_t tid;
    void *zctx;
    struct bload_opts o;
    struct bload_result res;
    atomic_bool done; /* set when the load has ended, before the thread exits */
};

/* Runs bload_run on a new thread; bload_join waits for it. o->spec and the
 * strings in o must outlive the thread. */
int bload_spawn(void *zctx, const struct bload_opts *o, struct bload_thread *t,
                struct mlq_err *err);
int bload_join(struct bload_thread *t);

/* One request on an existing DEALER: sends req and waits up to timeout_ms
 * for the reply with the same rid (other replies are dropped). An `error`
 * reply becomes its code with its message in err. */
int bload_request(void *sock, const struct mlq_msg *req, struct mlq_msg *reply, int timeout_ms,
                  struct mlq_err *err);

#endif
