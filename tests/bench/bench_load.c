/* bench_load: see bench_load.h.
 *
 * The body of a `submit` is the same for every job but its rid, so it is
 * encoded once per request like any client would; the cost is a few
 * microseconds, small next to the scheduler's durable commit. */
#include "bench_load.h"

#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "bench_proc.h"
#include "transport.h"

struct lclient {
    void *sock;
    uint64_t rid;
    int inflight;
    uint64_t quota; /* jobs this client still has to send */
    uint64_t sent;
};

static int send_submit(struct lclient *c, const struct bload_opts *o, struct mlq_err *err)
{
    struct mlq_msg m = {.type = MLQ_MSG_SUBMIT, .rid = ++c->rid};
    m.u.submit.spec = *o->spec;
    if (o->shapes > 1)
        m.u.submit.spec.cpus_m += (int64_t)(c->sent % o->shapes);
    int rc = mlq_transport_send(c->sock, &m, err);
    if (rc == 0) {
        c->inflight++;
        c->quota--;
        c->sent++;
    }
    return rc;
}

/* Reads every reply queued on c; counts `submitted`, fails on anything else. */
static int read_replies(struct lclient *c, struct bload_result *res)
{
    for (;;) {
        struct mlq_msg m;
        int rc = mlq_transport_recv(c->sock, &m, 0, &res->err);
        if (rc == MLQ_EUNAVAIL)
            return 0;
        if (rc < 0)
            return rc;
        if (m.type == MLQ_MSG_SUBMITTED) {
            c->inflight--;
            res->submitted++;
        } else {
            rc = mlq_err_set(&res->err, m.type == MLQ_MSG_ERROR ? m.u.error.code : MLQ_EPROTO,
                             "submit answered %s: %s", mlq_proto_type_name(m.type),
                             m.type == MLQ_MSG_ERROR && m.u.error.msg ? m.u.error.msg : "");
        }
        mlq_proto_msg_free(&m);
        if (rc < 0)
            return rc;
    }
}

static int fill(struct lclient *c, const struct bload_opts *o, struct mlq_err *err)
{
    while (c->quota > 0 && c->inflight < o->depth) {
        int rc = send_submit(c, o, err);
        if (rc == MLQ_EUNAVAIL)
            return 0; /* high-water mark: wait for replies */
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int open_clients(void *zctx, const struct bload_opts *o, struct lclient *cl,
                        zmq_pollitem_t *items, struct mlq_err *err)
{
    for (int i = 0; i < o->clients; i++) {
        cl[i].quota = o->njobs / (uint64_t)o->clients + ((uint64_t)i < o->njobs % o->clients);
        int rc = o->kp ? mlq_transport_dealer_curve(zctx, o->endpoint, o->server_pub, o->kp,
                                                    &cl[i].sock, err)
                       : mlq_transport_dealer(zctx, o->endpoint, &cl[i].sock, err);
        if (rc < 0)
            return rc;
        items[i] = (zmq_pollitem_t){.socket = cl[i].sock, .events = ZMQ_POLLIN};
    }
    return 0;
}

static void close_clients(struct lclient *cl, int n)
{
    for (int i = 0; i < n; i++) {
        if (!cl[i].sock)
            continue;
        int zero = 0;
        zmq_setsockopt(cl[i].sock, ZMQ_LINGER, &zero, sizeof zero);
        zmq_close(cl[i].sock);
    }
}

/* The poll loop: refill every client, wait for replies, read them. */
static int pump(const struct bload_opts *o, struct lclient *cl, zmq_pollitem_t *items,
                struct bload_result *res)
{
    while (res->submitted < o->njobs) {
        if (o->stop && *o->stop)
            return mlq_err_set(&res->err, MLQ_EINVAL, "interrupted");
        for (int i = 0; i < o->clients; i++) {
            int rc = fill(&cl[i], o, &res->err);
            if (rc < 0)
                return rc;
        }
        int n = zmq_poll(items, o->clients, o->timeout_ms);
        if (n == 0)
            return mlq_err_set(&res->err, MLQ_EUNREACH, "no reply to a submit within %d ms",
                               o->timeout_ms);
        for (int i = 0; i < o->clients && n > 0; i++) {
            int rc = read_replies(&cl[i], res);
            if (rc < 0)
                return rc;
        }
    }
    return 0;
}

int bload_run(void *zctx, const struct bload_opts *o, struct bload_result *res)
{
    memset(res, 0, sizeof *res);
    struct lclient *cl = calloc((size_t)o->clients, sizeof *cl);
    zmq_pollitem_t *items = calloc((size_t)o->clients, sizeof *items);
    int rc = cl && items ? 0 : mlq_err_set(&res->err, MLQ_ENOMEM, "out of memory");
    if (rc == 0)
        rc = open_clients(zctx, o, cl, items, &res->err);
    res->start_ns = bproc_now_ns();
    if (rc == 0)
        rc = pump(o, cl, items, res);
    res->end_ns = bproc_now_ns();
    if (cl)
        close_clients(cl, o->clients);
    free(cl);
    free(items);
    res->rc = rc;
    return rc;
}

static void *load_main(void *arg)
{
    struct bload_thread *t = arg;
    bload_run(t->zctx, &t->o, &t->res);
    atomic_store(&t->done, true);
    return NULL;
}

int bload_spawn(void *zctx, const struct bload_opts *o, struct bload_thread *t, struct mlq_err *err)
{
    memset(t, 0, sizeof *t);
    atomic_init(&t->done, false);
    t->zctx = zctx;
    t->o = *o;
    if (pthread_create(&t->tid, NULL, load_main, t) != 0)
        return mlq_err_set(err, MLQ_EIO, "cannot start a load thread");
    return 0;
}

int bload_join(struct bload_thread *t)
{
    pthread_join(t->tid, NULL);
    return t->res.rc;
}

int bload_request(void *sock, const struct mlq_msg *req, struct mlq_msg *reply, int timeout_ms,
                  struct mlq_err *err)
{
    memset(reply, 0, sizeof *reply);
    int rc = mlq_transport_send(sock, req, err);
    int64_t deadline = bproc_now_ns() + (int64_t)timeout_ms * 1000000;
    while (rc == 0) {
        int64_t left_ms = (deadline - bproc_now_ns()) / 1000000;
        if (left_ms < 0)
            return mlq_err_set(err, MLQ_EUNREACH, "no reply to %s within %d ms",
                               mlq_proto_type_name(req->type), timeout_ms);
        rc = mlq_transport_recv(sock, reply, (int)left_ms, err);
        if (rc == MLQ_EUNAVAIL)
            rc = 0;
        else if (rc == 0 && reply->rid != req->rid)
            mlq_proto_msg_free(reply); /* a late reply to an earlier request */
        else if (rc == 0)
            break;
    }
    if (rc == 0 && reply->type == MLQ_MSG_ERROR) {
        rc = mlq_err_set(err, reply->u.error.code, "%s",
                         reply->u.error.msg ? reply->u.error.msg : "");
        mlq_proto_msg_free(reply);
    }
    return rc;
}
