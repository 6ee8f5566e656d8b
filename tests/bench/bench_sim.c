/* bench_sim: see bench_sim.h.
 *
 * One zmq_poll over every worker's socket; a message is handled as soon as
 * it is read, so the scheduler sees a worker that answers in microseconds.
 * What a worker's handling of one read queued leaves at its end, as one
 * "batch" when the scheduler said it reads them, as mlq-worker sends what
 * one loop iteration queued (sendq.h). */
#include "bench_sim.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "bench_proc.h"
#include "clock.h"
#include "proto.h"
#include "sendq.h"
#include "transport.h"

#define HELD_MAX        64   /* attempts one worker keeps running in hold mode */
#define DEFAULT_HB_MS   5000 /* until `registered` names the interval */
#define MAX_PER_SOCKET  256  /* messages read from one socket per poll */
#define SIM_PID         4242 /* reported as the shim's pid */
#define NS_PER_MS       1000000
#define KEYS_TIMEOUT_MS 60000 /* longest wait for one key registration's reply */

struct simw {
    void *sock;
    char name[MLQ_MAX_NAME + 1];
    bool registered;
    bool batch;          /* the scheduler's `registered` said it reads batches */
    struct mlq_sendq *q; /* reports, log chunks, heartbeats until flush() */
    int64_t hb_ms;
    int64_t next_hb_ns;
    uint64_t rid;
    char held[HELD_MAX][MLQ_ID_LEN + 1]; /* FIFO of running attempts */
    int held_head, held_n;
};

struct bsim {
    struct bsim_opts o;
    struct simw *w;
    zmq_pollitem_t *items;
    struct bsim_stats st;
};

static int send_register(struct bsim *s, struct simw *w, struct mlq_err *err)
{
    struct mlq_msg m = {.type = MLQ_MSG_REGISTER, .rid = ++w->rid};
    const struct bsim_node *nd = s->o.nodes ? &s->o.nodes[w - s->w] : NULL;
    struct mlq_gpuinfo gl[MLQ_MAX_GPUS];
    m.u.reg.name = w->name;
    m.u.reg.cpus_m = nd ? nd->cpus_m : s->o.cpus_m;
    m.u.reg.mem = nd ? nd->mem : s->o.mem;
    m.u.reg.gpus = nd && nd->gpus <= MLQ_MAX_GPUS ? nd->gpus : 0;
    for (int32_t i = 0; i < m.u.reg.gpus; i++)
        gl[i] = (struct mlq_gpuinfo){.index = i, .type = (char *)nd->gpu_type};
    if (m.u.reg.gpus > 0 && nd->gpu_type) {
        m.u.reg.gpu_list = gl;
        m.u.reg.ngpu_list = (uint32_t)m.u.reg.gpus;
    }
    m.u.reg.batch = true; /* handle() reads them, as mlq-worker does */
    m.u.reg.rdv_lo = s->o.rdv_lo;
    m.u.reg.rdv_hi = s->o.rdv_hi;
    /* Holds nothing: a fresh worker, or one whose attempts the scheduler may
     * declare lost; neither happens in a benchmark run. */
    return mlq_transport_send(w->sock, &m, err);
}

/* Waits for n replies on the admin socket; any error reply fails. */
static int await_user_adds(void *admin, int n, struct mlq_err *err)
{
    for (int got = 0; got < n;) {
        struct mlq_msg m;
        int rc = mlq_transport_recv(admin, &m, KEYS_TIMEOUT_MS, err);
        if (rc == MLQ_EUNAVAIL)
            continue;
        if (rc < 0)
            return rc;
        if (m.type == MLQ_MSG_ERROR)
            rc = mlq_err_set(err, MLQ_EPROTO, "registering a worker key: %s",
                             m.u.error.msg ? m.u.error.msg : "error");
        got += m.type == MLQ_MSG_USER_LIST;
        mlq_proto_msg_free(&m);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* A key pair per worker, each registered as its worker's (pipelined: the
 * scheduler commits them in a few transactions). */
static int make_keys(const struct bsim_opts *o, struct simw *w, struct mlq_keypair *kp,
                     struct mlq_err *err)
{
    for (int i = 0; i < o->nworkers; i++) {
        struct mlq_msg m = {.type = MLQ_MSG_USER_ADD, .rid = (uint64_t)i + 1};
        int rc = mlq_keys_generate(&kp[i], err);
        snprintf(m.u.user_add.name, sizeof m.u.user_add.name, "%s", w[i].name);
        snprintf(m.u.user_add.key, sizeof m.u.user_add.key, "%s", kp[i].public_z85);
        snprintf(m.u.user_add.role, sizeof m.u.user_add.role, "worker");
        if (rc == 0)
            rc = mlq_transport_send(o->admin, &m, err);
        if (rc < 0)
            return rc;
    }
    return await_user_adds(o->admin, o->nworkers, err);
}

static void name_workers(const struct bsim_opts *o, struct simw *w)
{
    for (int i = 0; i < o->nworkers; i++) {
        if (o->nodes && o->nodes[i].name)
            snprintf(w[i].name, sizeof w[i].name, "%s", o->nodes[i].name);
        else
            snprintf(w[i].name, sizeof w[i].name, "%s-%04d", o->prefix, i);
    }
}

int bsim_create(void *zctx, const struct bsim_opts *o, struct bsim **out, struct mlq_err *err)
{
    struct bsim *s = calloc(1, sizeof *s);
    if (!s)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    s->o = *o;
    s->st.last_assign_worker = -1;
    s->w = calloc((size_t)o->nworkers, sizeof *s->w);
    s->items = calloc((size_t)o->nworkers, sizeof *s->items);
    struct mlq_keypair *kp = o->admin ? calloc((size_t)o->nworkers, sizeof *kp) : NULL;
    int rc =
        s->w && s->items && (kp || !o->admin) ? 0 : mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    if (rc == 0)
        name_workers(o, s->w);
    if (rc == 0 && o->admin)
        rc = make_keys(o, s->w, kp, err);
    for (int i = 0; rc == 0 && i < o->nworkers; i++) {
        struct simw *w = &s->w[i];
        w->hb_ms = DEFAULT_HB_MS;
        if (!(w->q = mlq_sendq_create())) {
            rc = mlq_err_set(err, MLQ_ENOMEM, "out of memory");
            break;
        }
        rc =
            kp ? mlq_transport_dealer_curve(zctx, o->endpoint, o->server_pub, &kp[i], &w->sock, err)
               : mlq_transport_dealer(zctx, o->endpoint, &w->sock, err);
        if (rc == 0 && (!o->in_order || i == 0))
            rc = send_register(s, w, err);
        s->items[i] = (zmq_pollitem_t){.socket = w->sock, .events = ZMQ_POLLIN};
    }
    if (kp)
        explicit_bzero(kp, (size_t)o->nworkers * sizeof *kp);
    free(kp);
    if (rc < 0) {
        bsim_destroy(&s);
        return rc;
    }
    *out = s;
    return 0;
}

void bsim_destroy(struct bsim **sp)
{
    if (!sp || !*sp)
        return;
    struct bsim *s = *sp;
    for (int i = 0; s->w && i < s->o.nworkers; i++) {
        if (s->w[i].sock) {
            int zero = 0;
            zmq_setsockopt(s->w[i].sock, ZMQ_LINGER, &zero, sizeof zero);
            zmq_close(s->w[i].sock);
        }
        mlq_sendq_destroy(&s->w[i].q);
    }
    free(s->w);
    free(s->items);
    free(s);
    *sp = NULL;
}

const struct bsim_stats *bsim_stats(const struct bsim *s)
{
    return &s->st;
}

/* Sends what w queued: one batch when the scheduler reads them. */
static int flush(struct bsim *s, struct simw *w, struct mlq_err *err)
{
    size_t n = mlq_sendq_len(w->q);
    s->st.batches_sent += w->batch && n > 1;
    return mlq_sendq_flush(w->q, w->sock, w->batch, err) ? err->code : 0;
}

static int send_report(struct simw *w, const char *attempt_id, enum mlq_report_phase phase,
                       struct mlq_err *err)
{
    struct mlq_msg m = {.type = MLQ_MSG_REPORT, .rid = ++w->rid};
    snprintf(m.u.report.attempt_id, sizeof m.u.report.attempt_id, "%s", attempt_id);
    m.u.report.phase = phase;
    m.u.report.outcome = phase == MLQ_PHASE_STARTED ? MLQ_OUT_NONE : MLQ_OUT_EXITED;
    m.u.report.exit_code = 0;
    m.u.report.pid = SIM_PID;
    m.u.report.start_ms = mlq_clock_wall_ms();
    m.u.report.end_ms = phase == MLQ_PHASE_FINISHED ? m.u.report.start_ms : 0;
    return mlq_sendq_add(w->q, &m, err);
}

static int on_assign(struct bsim *s, int idx, const struct mlq_msg *m, struct mlq_err *err)
{
    struct simw *w = &s->w[idx];
    s->st.assigned++;
    s->st.gang_assigned += m->u.assign.gang.nnodes > 0;
    s->st.last_assign_ns = bproc_now_ns();
    s->st.last_assign_worker = idx;
    int rc = send_report(w, m->u.assign.attempt_id, MLQ_PHASE_STARTED, err);
    if (rc < 0)
        return rc;
    if (s->o.on_assign) {
        s->o.on_assign(s->o.arg, idx, m);
        return 0;
    }
    if (s->o.hold && w->held_n < HELD_MAX) {
        int slot = (w->held_head + w->held_n++) % HELD_MAX;
        memcpy(w->held[slot], m->u.assign.attempt_id, sizeof w->held[slot]);
        return 0;
    }
    return send_report(w, m->u.assign.attempt_id, MLQ_PHASE_FINISHED, err);
}

int bsim_finish(struct bsim *s, int idx, struct mlq_err *err)
{
    if (idx < 0 || idx >= s->o.nworkers || s->w[idx].held_n == 0)
        return mlq_err_set(err, MLQ_ENOTFOUND, "simulated worker %d holds no attempt", idx);
    struct simw *w = &s->w[idx];
    char id[MLQ_ID_LEN + 1];
    memcpy(id, w->held[w->held_head], sizeof id);
    w->held_head = (w->held_head + 1) % HELD_MAX;
    w->held_n--;
    int rc = send_report(w, id, MLQ_PHASE_FINISHED, err);
    return rc < 0 ? rc : flush(s, w, err);
}

int bsim_report_finished(struct bsim *s, int idx, const char *attempt_id, struct mlq_err *err)
{
    if (idx < 0 || idx >= s->o.nworkers)
        return mlq_err_set(err, MLQ_ENOTFOUND, "no simulated worker %d", idx);
    int rc = send_report(&s->w[idx], attempt_id, MLQ_PHASE_FINISHED, err);
    return rc < 0 ? rc : flush(s, &s->w[idx], err);
}

static void on_report_ack(struct bsim *s, const struct mlq_msg *m)
{
    if (!m->u.report_ack.accepted)
        s->st.fenced++;
    else if (m->u.report_ack.phase == MLQ_PHASE_STARTED)
        s->st.started_acked++;
    else
        s->st.finished_acked++;
}

static int on_error(struct bsim *s, struct simw *w, const struct mlq_msg *m, struct mlq_err *err)
{
    s->st.errors++;
    snprintf(s->st.last_error, sizeof s->st.last_error, "%s: error %d: %s", w->name,
             m->u.error.code, m->u.error.msg ? m->u.error.msg : "");
    /* "register first": the scheduler forgot this connection. */
    if (m->u.error.code != MLQ_ENOTFOUND)
        return 0;
    w->batch = false; /* until its `registered` says so again */
    return send_register(s, w, err);
}

static int on_log_read(struct simw *w, const struct mlq_msg *m, struct mlq_err *err)
{
    struct mlq_msg r = {.type = MLQ_MSG_LOG_CHUNK, .rid = m->rid};
    r.u.log_chunk.token = m->u.log_read.token;
    r.u.log_chunk.err = MLQ_ENOTFOUND; /* simulated jobs write no output */
    return mlq_sendq_add(w->q, &r, err);
}

static int handle(struct bsim *s, int idx, const struct mlq_msg *m, struct mlq_err *err);

/* Each message of a batch as if it had come alone. */
static int on_batch(struct bsim *s, int idx, const struct mlq_msg *m, struct mlq_err *err)
{
    s->st.batches++;
    for (uint32_t i = 0; i < m->u.batch.n; i++) {
        struct mlq_msg one;
        int rc = mlq_proto_batch_item(m, i, &one, err);
        if (rc == 0)
            rc = handle(s, idx, &one, err);
        mlq_proto_msg_free(&one);
        if (rc < 0)
            return rc;
    }
    return 0;
}

static int handle(struct bsim *s, int idx, const struct mlq_msg *m, struct mlq_err *err)
{
    struct simw *w = &s->w[idx];
    switch (m->type) {
    case MLQ_MSG_BATCH:
        return on_batch(s, idx, m, err);
    case MLQ_MSG_REGISTERED: {
        bool first = !w->registered;
        s->st.registered += first;
        w->registered = true;
        w->batch = m->u.registered.batch;
        if (m->u.registered.heartbeat_ms > 0)
            w->hb_ms = m->u.registered.heartbeat_ms;
        /* Spread the heartbeats of a fleet over one interval. */
        w->next_hb_ns = bproc_now_ns() + (w->hb_ms * NS_PER_MS) * (idx + 1) / s->o.nworkers;
        if (first && s->o.in_order && idx + 1 < s->o.nworkers)
            return send_register(s, &s->w[idx + 1], err);
        return 0;
    }
    case MLQ_MSG_ASSIGN:
        return on_assign(s, idx, m, err);
    case MLQ_MSG_REPORT_ACK:
        on_report_ack(s, m);
        return 0;
    case MLQ_MSG_KILL:
        s->st.kills++;
        return 0;
    case MLQ_MSG_LOG_READ:
        return on_log_read(w, m, err);
    case MLQ_MSG_ERROR:
        return on_error(s, w, m, err);
    default: /* hb_ack and anything else needs no answer */
        return 0;
    }
}

/* Reads what is queued on worker idx's socket. */
static int drain_one(struct bsim *s, int idx, struct mlq_err *err)
{
    int n = 0;
    for (; n < MAX_PER_SOCKET; n++) {
        struct mlq_msg m;
        struct mlq_err e = {0};
        int rc = mlq_transport_recv(s->w[idx].sock, &m, 0, &e);
        if (rc == MLQ_EUNAVAIL)
            break;
        if (rc < 0) {
            s->st.errors++;
            snprintf(s->st.last_error, sizeof s->st.last_error, "%s", e.msg);
            if (rc == MLQ_EPROTO)
                continue;
            *err = e;
            return rc;
        }
        rc = handle(s, idx, &m, err);
        mlq_proto_msg_free(&m);
        if (rc == 0)
            rc = flush(s, &s->w[idx], err);
        if (rc < 0)
            return rc;
    }
    return n;
}

static int send_heartbeats(struct bsim *s, struct mlq_err *err)
{
    int64_t now = bproc_now_ns();
    for (int i = 0; i < s->o.nworkers; i++) {
        struct simw *w = &s->w[i];
        if (!w->registered || now < w->next_hb_ns)
            continue;
        w->next_hb_ns = now + w->hb_ms * NS_PER_MS;
        struct mlq_msg m = {.type = MLQ_MSG_HEARTBEAT, .rid = ++w->rid};
        m.u.heartbeat.name = w->name;
        int rc = mlq_sendq_add(w->q, &m, err);
        if (rc == 0)
            rc = flush(s, w, err);
        if (rc < 0 && rc != MLQ_EUNAVAIL)
            return rc;
    }
    return 0;
}

int bsim_poll(struct bsim *s, int timeout_ms, struct mlq_err *err)
{
    int n = zmq_poll(s->items, s->o.nworkers, timeout_ms);
    if (n < 0)
        return mlq_err_set(err, MLQ_EIO, "zmq_poll: %s", zmq_strerror(zmq_errno()));
    int handled = 0;
    for (int i = 0; i < s->o.nworkers && n > 0; i++) {
        if (!(s->items[i].revents & ZMQ_POLLIN))
            continue;
        int rc = drain_one(s, i, err);
        if (rc < 0)
            return rc;
        handled += rc;
    }
    int rc = send_heartbeats(s, err);
    return rc < 0 ? rc : handled;
}
