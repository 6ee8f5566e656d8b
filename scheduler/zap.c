/* zap: see zap.h.
 *
 * A ZAP request (after the REP socket strips its envelope) is: version
 * "1.0", request id, domain, address, routing id, mechanism, then the
 * mechanism's credentials (CURVE: one 32-byte public key). The reply is:
 * version, the same request id, status code, status text, user id, and
 * metadata (empty here). Every request is read whole and gets a reply, so
 * the REP socket never falls out of step; whatever cannot be read as a ZAP
 * 1.0 request is answered 500, which the CURVE server takes as a refusal.
 * Requests come from libzmq inside this process, but their fields come
 * from the network (the address, the key), so nothing is trusted.
 *
 * Once started, the handler answers on a thread of its own: a CURVE
 * handshake then waits only for the lookup, never for the loop's thread
 * to finish what it is doing (a commit, a scheduling pass) and to go
 * round its loop once for each command libzmq sends the ZAP socket. The
 * socket belongs to that thread from mlq_zap_start() until
 * mlq_zap_destroy() has joined it. */
#include "zap.h"

#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <time.h>
#include <unistd.h>
#include <zmq.h>

#define ZAP_VERSION "1.0"
#define FRAMES_MIN  6   /* version .. mechanism, no credentials (NULL) */
#define FRAMES_MAX  8   /* PLAIN's is the longest: user and password */
#define FRAME_MAX   255 /* every field of a request is short */
#define BATCH_MAX   256 /* requests answered per mlq_zap_handle() call */

struct mlq_zap {
    void *sock;
    mlq_zap_lookup_fn lookup;
    void *ctx;
    /* written by whichever thread answers, read by any */
    atomic_uint_fast64_t accepted, refused, malformed, failures;
    pthread_t thread;
    bool started;
    int stop_fd; /* eventfd: tells the thread to end; -1 until started */
};

struct request {
    zmq_msg_t part[FRAMES_MAX];
    int n;          /* frames received, kept or not */
    bool oversized; /* some frame was longer than FRAME_MAX */
};

struct answer {
    const char *code;
    const char *text;
    const char *user;
};

int mlq_zap_create(void *zctx, mlq_zap_lookup_fn lookup, void *ctx, struct mlq_zap **out,
                   struct mlq_err *err)
{
    *out = NULL;
    if (!zctx || !lookup)
        return mlq_err_set(err, MLQ_EINVAL, "no ZeroMQ context or key lookup");
    struct mlq_zap *z = calloc(1, sizeof *z);
    if (!z)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    z->lookup = lookup;
    z->ctx = ctx;
    z->stop_fd = -1;
    z->sock = zmq_socket(zctx, ZMQ_REP);
    int linger = 0;
    int rc = 0;
    if (!z->sock || zmq_setsockopt(z->sock, ZMQ_LINGER, &linger, sizeof linger) < 0)
        rc = mlq_err_set(err, MLQ_EIO, "cannot create the ZAP socket: %s", zmq_strerror(errno));
    else if (zmq_bind(z->sock, MLQ_ZAP_ENDPOINT) < 0)
        rc = mlq_err_set(err, errno == EADDRINUSE ? MLQ_ESTATE : MLQ_EIO,
                         "cannot bind the ZAP handler at %s: %s", MLQ_ZAP_ENDPOINT,
                         zmq_strerror(errno));
    if (rc < 0) {
        if (z->sock)
            zmq_close(z->sock);
        free(z);
        return rc;
    }
    *out = z;
    return 0;
}

void *mlq_zap_socket(struct mlq_zap *zap)
{
    return zap ? zap->sock : NULL;
}

void mlq_zap_stats(const struct mlq_zap *zap, struct mlq_zap_stats *out)
{
    out->accepted = atomic_load(&zap->accepted);
    out->refused = atomic_load(&zap->refused);
    out->malformed = atomic_load(&zap->malformed);
    out->failures = atomic_load(&zap->failures);
}

/* Ends the thread and takes the socket back. */
static void stop(struct mlq_zap *z)
{
    if (!z->started)
        return;
    uint64_t one = 1;
    while (write(z->stop_fd, &one, sizeof one) < 0 && errno == EINTR)
        ;
    pthread_join(z->thread, NULL);
    z->started = false;
}

void mlq_zap_destroy(struct mlq_zap **zap)
{
    if (!zap || !*zap)
        return;
    stop(*zap);
    if ((*zap)->stop_fd >= 0)
        close((*zap)->stop_fd);
    /* unbinding an inproc endpoint is immediate; closing alone releases it
     * later, and a handler created right after would find it taken */
    zmq_unbind((*zap)->sock, MLQ_ZAP_ENDPOINT);
    zmq_close((*zap)->sock);
    free(*zap);
    *zap = NULL;
}

/* ---- one request -------------------------------------------------------- */

static void request_close(struct request *r)
{
    for (int i = 0; i < FRAMES_MAX; i++)
        zmq_msg_close(&r->part[i]);
}

/* Reads every frame of the next request, keeping the first FRAMES_MAX.
 * 1 when one was read, 0 when none is queued, MLQ_EIO on failure. */
static int request_recv(void *sock, struct request *r)
{
    r->n = 0;
    r->oversized = false;
    for (int i = 0; i < FRAMES_MAX; i++)
        zmq_msg_init(&r->part[i]);
    for (;;) {
        zmq_msg_t spare;
        zmq_msg_t *dst = r->n < FRAMES_MAX ? &r->part[r->n] : &spare;
        if (dst == &spare)
            zmq_msg_init(&spare);
        int rc;
        do /* a message arrives whole: only the first frame may be absent */
            rc = zmq_msg_recv(dst, sock, r->n == 0 ? ZMQ_DONTWAIT : 0);
        while (rc < 0 && errno == EINTR && r->n > 0);
        int more = rc >= 0 && zmq_msg_more(dst);
        if (rc >= 0 && zmq_msg_size(dst) > FRAME_MAX)
            r->oversized = true;
        if (dst == &spare)
            zmq_msg_close(&spare);
        if (rc < 0)
            return r->n == 0 && (errno == EAGAIN || errno == EINTR) ? 0 : MLQ_EIO;
        r->n++;
        if (!more)
            return 1;
    }
}

static bool frame_is(struct request *r, int i, const char *s)
{
    size_t len = strlen(s);
    return zmq_msg_size(&r->part[i]) == len && memcmp(zmq_msg_data(&r->part[i]), s, len) == 0;
}

/* Asks the lookup about the 32-byte key in frame 6. */
static struct answer decide_key(struct mlq_zap *zap, struct request *r, char *user, size_t len)
{
    const struct answer unknown = {"400", "unknown key", ""};
    if (r->n != 7 || zmq_msg_size(&r->part[6]) != MLQ_KEY_BIN_LEN)
        return (struct answer){"500", "malformed CURVE credentials", ""};
    char key[MLQ_KEY_Z85_SIZE];
    mlq_keys_z85_from_bin(zmq_msg_data(&r->part[6]), key);
    user[0] = '\0';
    if (zap->lookup(zap->ctx, key, user, len) != 0)
        return unknown;
    /* an empty identity would read as "no CURVE at all"; a missing NUL as
     * garbage: both refused */
    if (user[0] == '\0' || strnlen(user, len) >= len)
        return unknown;
    return (struct answer){"200", "OK", user};
}

static struct answer decide(struct mlq_zap *zap, struct request *r, char *user, size_t len)
{
    if (r->n < FRAMES_MIN || r->n > FRAMES_MAX || r->oversized)
        return (struct answer){"500", "malformed ZAP request", ""};
    if (!frame_is(r, 0, ZAP_VERSION))
        return (struct answer){"500", "unsupported ZAP version", ""};
    if (!frame_is(r, 2, MLQ_ZAP_DOMAIN))
        return (struct answer){"400", "wrong ZAP domain", ""};
    if (!frame_is(r, 5, "CURVE"))
        return (struct answer){"400", "only CURVE is accepted", ""};
    return decide_key(zap, r, user, len);
}

static int answer_send(void *sock, struct request *r, const struct answer *a)
{
    /* echo the request id when there is a readable one */
    bool id = r->n >= 2 && zmq_msg_size(&r->part[1]) <= FRAME_MAX;
    const void *frames[] = {
        ZAP_VERSION, id ? zmq_msg_data(&r->part[1]) : "", a->code, a->text, a->user, ""};
    size_t lens[] = {strlen(ZAP_VERSION), id ? zmq_msg_size(&r->part[1]) : 0,
                     strlen(a->code),     strlen(a->text),
                     strlen(a->user),     0};
    int n = (int)(sizeof lens / sizeof lens[0]);
    for (int i = 0; i < n; i++)
        if (zmq_send(sock, frames[i], lens[i], (i + 1 < n ? ZMQ_SNDMORE : 0) | ZMQ_DONTWAIT) < 0)
            return MLQ_EIO;
    return 0;
}

static void count(struct mlq_zap *z, const struct answer *a)
{
    if (a->code[0] == '2')
        atomic_fetch_add(&z->accepted, 1);
    else if (a->code[0] == '4')
        atomic_fetch_add(&z->refused, 1);
    else
        atomic_fetch_add(&z->malformed, 1);
}

int mlq_zap_handle(struct mlq_zap *zap)
{
    int answered = 0;
    while (answered < BATCH_MAX) {
        struct request r;
        int rc = request_recv(zap->sock, &r);
        if (rc <= 0) {
            request_close(&r);
            return rc < 0 ? rc : answered;
        }
        char user[MLQ_PEER_USER_MAX];
        struct answer a = decide(zap, &r, user, sizeof user);
        rc = answer_send(zap->sock, &r, &a);
        request_close(&r);
        if (rc < 0)
            return rc;
        count(zap, &a);
        answered++;
    }
    return answered;
}

/* ---- the handler's thread ----------------------------------------------- */

/* After a failed poll or receive: counted, and a pause so that a failure
 * that lasts cannot spin the thread. */
static void failed(struct mlq_zap *z)
{
    atomic_fetch_add(&z->failures, 1);
    struct timespec ts = {.tv_sec = 0, .tv_nsec = 10 * 1000 * 1000};
    nanosleep(&ts, NULL);
}

/* Answers until stop_fd is readable. A failure is counted and the wait
 * goes on: the next request may well be readable, and a handshake whose
 * request is lost fails on its own after libzmq's handshake timeout. */
static void *serve(void *arg)
{
    struct mlq_zap *z = arg;
    zmq_pollitem_t it[2] = {{z->sock, -1, ZMQ_POLLIN, 0}, {NULL, z->stop_fd, ZMQ_POLLIN, 0}};
    for (;;) {
        int n = zmq_poll(it, 2, -1);
        if (n < 0 && errno == ETERM)
            break;
        if (n < 0) {
            if (errno != EINTR)
                failed(z);
            continue;
        }
        if (it[1].revents & ZMQ_POLLIN)
            break;
        if ((it[0].revents & ZMQ_POLLIN) && mlq_zap_handle(z) < 0)
            failed(z);
    }
    return NULL;
}

int mlq_zap_start(struct mlq_zap *zap, struct mlq_err *err)
{
    if (zap->started)
        return mlq_err_set(err, MLQ_ESTATE, "the ZAP handler runs already");
    if (zap->stop_fd < 0)
        zap->stop_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (zap->stop_fd < 0)
        return mlq_err_set(err, MLQ_EIO, "cannot start the ZAP handler: eventfd: %s",
                           strerror(errno));
    /* Signals stay with the loop's thread (it reads them from a descriptor);
     * the handler's thread starts with all of them blocked. */
    sigset_t all, old;
    sigfillset(&all);
    pthread_sigmask(SIG_SETMASK, &all, &old);
    int rc = pthread_create(&zap->thread, NULL, serve, zap);
    pthread_sigmask(SIG_SETMASK, &old, NULL);
    if (rc != 0)
        return mlq_err_set(err, MLQ_EIO, "cannot start the ZAP handler: %s", strerror(rc));
    zap->started = true;
    return 0;
}
