/* agent: see agent.h. The attempts themselves live in attempts.c; this file
 * is the connection, the loop, signals and timers.
 *
 * Connection state: `registered` is false at start, after the scheduler
 * answers a heartbeat with "not found" (-4) and after three heartbeat
 * intervals without any message from it; while false, only "register" is
 * sent (every 2 s). Reports wait for the registration so the scheduler can
 * tie them to this worker.
 *
 * After a silence, each registration goes out on a new connection: the old
 * one may sit behind TCP's retransmission back-off for seconds after the
 * network is back (a partition sends no reset), long enough to miss the
 * lease although the cut itself was shorter. */
#include "agent.h"
#include "gpuload.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "attempts.h"
#include "clock.h"
#include "id.h"
#include "lease.h"
#include "log.h"
#include "version.h"
#include "logupload.h"
#include "sendq.h"
#include "transport.h"

#define REGISTER_EVERY_MS 2000
#define WATCH_EVERY_MS    200
#define SILENT_HEARTBEATS 3     /* intervals without a word before re-registering */
#define RECV_MAX          64    /* messages handled per loop iteration */
#define RETRY_REFUSED_MS  5000  /* fresh connection after a failed handshake */
#define REFUSED_LOG_MS    60000 /* repeat the refusal in the log this often */
#define GOODBYE_WAIT_MS   1000  /* for the scheduler's answer to a goodbye */
#define SENT_RING         32    /* registers and heartbeats remembered by rid */
#define LEASE_WRITE_MS    150   /* the lease file moves on in steps of at least this */

struct mlq_agent {
    struct mlq_agent_config cfg;
    struct mlq_spool *spool;
    void *zctx;
    bool own_zctx;
    void *sock;              /* NULL after a failed handshake, until retry_at */
    struct mlq_watch *watch; /* handshake events of sock */
    struct mlq_curve curve;  /* valid when use_curve */
    bool use_curve;
    bool refused;             /* the last handshake failed */
    int64_t retry_at;         /* when sock is NULL: next connection */
    int64_t next_refusal_log; /* a lasting refusal is logged again from then */
    struct mlq_attempts *att;
    bool registered;
    bool sched_batch;       /* the scheduler's "registered" said it reads batches */
    struct mlq_sendq *outq; /* what this step sends, flushed at its end */
    bool reconnect;         /* register on a fresh connection (after a silence) */
    bool stop;
    struct mlq_err fatal; /* code set: stop and return it (a protocol mismatch) */
    bool draining, drained;
    uint64_t rid;
    int64_t hb_ms;
    int64_t lease_ms; /* 0 until the scheduler told it (here or before) */
    int64_t next_register, next_hb, next_watch, last_rx;
    int64_t standby_at; /* next call of mlq_attempts_standby */
    /* The lease (lease.h), CLOCK_BOOTTIME: lease_until is the deadline in
     * the lease file, which the self-fence and the shims obey (0: none);
     * sent[] is when each recent register and heartbeat went out. */
    int64_t lease_until;
    struct {
        uint64_t rid;
        int64_t at;
    } sent[SENT_RING];
    unsigned next_sent;
};

typedef void (*agent_handler)(struct mlq_agent *a, const struct mlq_msg *m);

/* ---- sending ---- */

/* Queued for the end of the step (flush_out), or sent at once when it
 * cannot be queued. */
static void send_msg(struct mlq_agent *a, struct mlq_msg *m)
{
    struct mlq_err e;
    if (!a->sock)
        mlq_debug("%s not sent: not connected", mlq_proto_type_name(m->type));
    else if (mlq_sendq_add(a->outq, m, &e) < 0 && mlq_transport_send(a->sock, m, &e) < 0)
        mlq_debug("%s not sent: %s", mlq_proto_type_name(m->type), e.msg);
}

/* What the step queued: one "batch" when the scheduler reads them. */
static void flush_out(struct mlq_agent *a)
{
    struct mlq_err e;
    if (!a->outq)
        return; /* a half-made agent being destroyed */
    size_t n = mlq_sendq_len(a->outq);
    size_t failed = mlq_sendq_flush(a->outq, a->sock, a->sched_batch && a->registered, &e);
    if (failed)
        mlq_debug("%zu of %zu message(s) not sent: %s", failed, n, e.msg);
}

static void send_request(struct mlq_agent *a, struct mlq_msg *m)
{
    m->rid = ++a->rid;
    send_msg(a, m);
}

/* A register or heartbeat whose answer may renew the lease: its send time
 * is kept, taken before the send so it is never later than the real one. */
static void send_renewing(struct mlq_agent *a, struct mlq_msg *m)
{
    unsigned i = a->next_sent++ % SENT_RING;
    a->sent[i].at = mlq_clock_boot_ms();
    send_request(a, m);
    a->sent[i].rid = m->rid;
}

/* The attempts table's way of sending. */
static void send_for_attempts(void *ctx, struct mlq_msg *m)
{
    send_request(ctx, m);
}

static void send_register(struct mlq_agent *a)
{
    struct mlq_msg m = {.type = MLQ_MSG_REGISTER};
    struct mlq_held_attempt *held = NULL;
    uint32_t n = 0;
    struct mlq_err e;
    if (mlq_attempts_held(a->att, &held, &n, &e) < 0) {
        mlq_error("cannot build the register message: %s", e.msg);
        return;
    }
    m.u.reg.name = (char *)a->cfg.name;
    m.u.reg.cpus_m = a->cfg.cpus_m;
    m.u.reg.mem = a->cfg.mem;
    m.u.reg.gpus = a->cfg.gpus;
    m.u.reg.gpu_list = (struct mlq_gpuinfo *)a->cfg.gpu_list;
    m.u.reg.ngpu_list = a->cfg.gpu_list ? (uint32_t)a->cfg.gpus : 0;
    m.u.reg.pool = (char *)a->cfg.pool;
    m.u.reg.labels = (char **)a->cfg.labels;
    m.u.reg.nlabels = a->cfg.nlabels;
    m.u.reg.batch = true; /* dispatch() reads them */
    m.u.reg.rdv_lo = a->cfg.rdv_lo;
    m.u.reg.rdv_hi = a->cfg.rdv_hi;
    m.u.reg.attempts = held;
    m.u.reg.nattempts = n;
    m.u.reg.draining = a->draining;
    m.u.reg.addr = (char *)a->cfg.addr;
    m.u.reg.version = (char *)mlq_version();
    m.u.reg.git = (char *)mlq_version_git();
    m.u.reg.limits = (char *)a->cfg.limits;
    mlq_debug("registering with %" PRIu32 " held attempt(s)", n);
    send_renewing(a, &m);
    free(held);
}

static void send_heartbeat(struct mlq_agent *a)
{
    struct mlq_msg m = {.type = MLQ_MSG_HEARTBEAT};
    m.u.heartbeat.name = (char *)a->cfg.name;
    m.u.heartbeat.draining = a->draining;
    struct mlq_gpuload load[MLQ_MAX_GPUS];
    if (a->cfg.gpuload) {
        m.u.heartbeat.ngpu_load = mlq_gpuload_read(a->cfg.gpuload, load, MLQ_MAX_GPUS);
        m.u.heartbeat.gpu_load = load;
    }
    send_renewing(a, &m);
}

static void unregister(struct mlq_agent *a, int64_t now)
{
    a->registered = false;
    a->sched_batch = false; /* until a "registered" says so again */
    a->next_register = now;
    mlq_attempts_set_online(a->att, false, now);
}

/* ---- messages ---- */

static void write_lease(struct mlq_agent *a, int64_t until)
{
    struct mlq_err e;
    if (mlq_lease_write(mlq_spool_root(a->spool), until, &e) < 0) {
        mlq_warn("cannot renew the lease file: %s", e.msg); /* the shims fence early */
        return;
    }
    a->lease_until = until;
}

/* The lease is what self-fencing waits for; kept in the spool so that a
 * restarted worker that cannot reach the scheduler still fences. */
static void learn_lease(struct mlq_agent *a, int64_t lease_ms)
{
    struct mlq_err e;
    if (lease_ms <= 0 || lease_ms == a->lease_ms)
        return;
    if (a->lease_until > 0 && a->lease_ms > lease_ms)
        write_lease(a, a->lease_until - (a->lease_ms - lease_ms)); /* a shorter lease now */
    a->lease_ms = lease_ms;
    if (mlq_spool_write_lease(a->spool, lease_ms, &e) < 0)
        mlq_warn("%s", e.msg);
}

/* The answer to our message rid: the scheduler counted us alive when it
 * heard it, which was after we sent it, so send time + lease is a deadline
 * it cannot pass. Answers to anything else renew nothing. Written in steps
 * of LEASE_WRITE_MS at least: a file behind the best deadline only fences
 * earlier. */
static void renew_lease(struct mlq_agent *a, uint64_t rid)
{
    if (a->lease_ms <= 0 || rid == 0)
        return;
    for (unsigned i = 0; i < SENT_RING; i++) {
        if (a->sent[i].rid != rid)
            continue;
        int64_t until = a->sent[i].at + a->lease_ms;
        a->sent[i].rid = 0; /* a duplicate answer renews nothing more */
        if (until >= a->lease_until + LEASE_WRITE_MS)
            write_lease(a, until);
        return;
    }
}

static void on_registered(struct mlq_agent *a, const struct mlq_msg *m)
{
    int64_t now = mlq_clock_mono_ms();
    int64_t hb = m->u.registered.heartbeat_ms;
    a->hb_ms = hb > 0 && hb < a->cfg.heartbeat_ms ? hb : a->cfg.heartbeat_ms;
    learn_lease(a, m->u.registered.lease_ms);
    renew_lease(a, m->rid);
    if (a->refused)
        mlq_info("the scheduler at %s accepts this worker's key now", a->cfg.endpoint);
    a->refused = false;
    a->sched_batch = m->u.registered.batch;
    if (a->registered)
        return; /* a duplicate answer to a re-sent register */
    mlq_info("registered with %s as %s (heartbeat %" PRId64 " ms, lease %" PRId64 " ms)",
             a->cfg.endpoint, a->cfg.name, a->hb_ms, m->u.registered.lease_ms);
    a->registered = true;
    a->reconnect = false;
    a->next_hb = now + a->hb_ms;
    mlq_attempts_set_online(a->att, true, now);
}

static void on_error(struct mlq_agent *a, const struct mlq_msg *m)
{
    const char *text = m->u.error.msg ? m->u.error.msg : "";
    /* A database error answers every request of an iteration the scheduler
     * threw away; it then rebuilt its state from the database, giving every
     * attempt a fresh lease from that moment: it heard us and cannot lose
     * us before send time + lease either (a full disk must not fence). */
    if (m->u.error.code == MLQ_EDB)
        renew_lease(a, m->rid);
    if (mlq_proto_error_refuses_us(m)) {
        /* Retrying cannot help: the two releases must be brought together. */
        mlq_err_set(&a->fatal, MLQ_EVERSION, "%.150s", text);
        return;
    }
    if (m->u.error.code == MLQ_ENOTFOUND) {
        if (a->registered)
            mlq_info("the scheduler does not know this worker (%s): registering again", text);
        unregister(a, mlq_clock_mono_ms());
        return;
    }
    mlq_warn("scheduler error %" PRId32 " (%s) for request %" PRIu64 ": %s", m->u.error.code,
             mlq_strerror(m->u.error.code), m->rid, text);
}

static void on_log_read(struct mlq_agent *a, const struct mlq_msg *m)
{
    struct mlq_msg r = {.type = MLQ_MSG_LOG_CHUNK, .rid = m->rid};
    r.u.log_chunk.token = m->u.log_read.token;
    struct mlq_err e;
    int rc;
    if (m->u.log_read.max > MLQ_MAX_LOG_CHUNK || m->u.log_read.offset < 0)
        rc = MLQ_EINVAL;
    else if (!mlq_id_valid(m->u.log_read.attempt_id))
        rc = MLQ_ENOTFOUND;
    else
        rc = mlq_spool_read_log(a->spool, m->u.log_read.attempt_id, m->u.log_read.stream,
                                m->u.log_read.offset, m->u.log_read.max, &r.u.log_chunk.data,
                                &r.u.log_chunk.len, &r.u.log_chunk.size, &e);
    if (rc < 0 && rc != MLQ_ENOTFOUND)
        mlq_warn("log_read for attempt %s refused: %s", m->u.log_read.attempt_id,
                 rc == MLQ_EINVAL ? "invalid offset or size" : e.msg);
    r.u.log_chunk.err = rc == MLQ_ENOTFOUND || rc == MLQ_EINVAL ? rc : rc < 0 ? MLQ_EIO : 0;
    send_msg(a, &r);
    free(r.u.log_chunk.data);
}

static void on_hb_ack(struct mlq_agent *a, const struct mlq_msg *m)
{
    renew_lease(a, m->rid);
}

static void on_assign(struct mlq_agent *a, const struct mlq_msg *m)
{
    mlq_attempts_assign(a->att, m, a->draining ? "worker is draining" : NULL);
}

static void on_kill(struct mlq_agent *a, const struct mlq_msg *m)
{
    mlq_attempts_kill(a->att, m);
}

static void on_report_ack(struct mlq_agent *a, const struct mlq_msg *m)
{
    mlq_attempts_report_ack(a->att, m);
}

static void on_log_upload_ack(struct mlq_agent *a, const struct mlq_msg *m)
{
    mlq_attempts_upload_ack(a->att, m);
}

static void on_batch(struct mlq_agent *a, const struct mlq_msg *m);

/* What a worker accepts; anything else is logged and dropped. */
static const agent_handler handlers[MLQ_MSG_TYPE_COUNT] = {
    [MLQ_MSG_ERROR] = on_error,
    [MLQ_MSG_OK] = on_hb_ack,
    [MLQ_MSG_REGISTERED] = on_registered,
    [MLQ_MSG_HB_ACK] = on_hb_ack,
    [MLQ_MSG_ASSIGN] = on_assign,
    [MLQ_MSG_KILL] = on_kill,
    [MLQ_MSG_REPORT_ACK] = on_report_ack,
    [MLQ_MSG_LOG_READ] = on_log_read,
    [MLQ_MSG_LOG_UPLOAD_ACK] = on_log_upload_ack,
    [MLQ_MSG_BATCH] = on_batch,
};

static void dispatch(struct mlq_agent *a, const struct mlq_msg *m)
{
    agent_handler h = (unsigned)m->type < MLQ_MSG_TYPE_COUNT ? handlers[m->type] : NULL;
    if (!h) {
        mlq_warn("unexpected '%s' message from the scheduler ignored",
                 mlq_proto_type_name(m->type));
        return;
    }
    h(a, m);
}

/* What one loop iteration of the scheduler had for this worker, in order:
 * each message is handled as if it had come alone; a malformed one is
 * dropped like a malformed message on its own. */
static void on_batch(struct mlq_agent *a, const struct mlq_msg *m)
{
    for (uint32_t i = 0; i < m->u.batch.n; i++) {
        struct mlq_msg one;
        struct mlq_err e;
        if (mlq_proto_batch_item(m, i, &one, &e) < 0) {
            mlq_warn("malformed message %u of a batch from the scheduler: %s", i, e.msg);
            continue;
        }
        dispatch(a, &one);
        mlq_proto_msg_free(&one);
    }
}

/* ---- loop ---- */

static void recv_all(struct mlq_agent *a)
{
    for (int i = 0; i < RECV_MAX; i++) {
        struct mlq_msg m;
        struct mlq_err e;
        int rc = mlq_transport_recv(a->sock, &m, 0, &e);
        if (rc == MLQ_EUNAVAIL)
            return;
        if (rc == MLQ_EPROTO) {
            mlq_warn("malformed message from the scheduler: %s", e.msg);
            continue;
        }
        if (rc == MLQ_EVERSION) {
            mlq_err_set(&a->fatal, rc,
                        "the scheduler speaks wire protocol %u; this mlq-worker %s speaks "
                        "%d..%d: upgrade the older of the two",
                        m.wire_v, mlq_version(), MLQ_PROTO_MIN, MLQ_PROTO_MAX);
            return;
        }
        if (rc < 0) {
            mlq_warn("receive failed: %s", e.msg);
            return;
        }
        a->last_rx = mlq_clock_mono_ms();
        dispatch(a, &m);
        mlq_proto_msg_free(&m);
    }
}

/* Each shim that ended is looked at alone: a scan of every attempt per
 * SIGCHLD would cost a burst O(running jobs) reads per job. */
static void reap_children(struct mlq_agent *a)
{
    for (;;) {
        pid_t p = waitpid(-1, NULL, WNOHANG);
        if (p > 0)
            mlq_attempts_reaped(a->att, p);
        else if (!(p < 0 && errno == EINTR))
            break;
    }
}

static void start_draining(struct mlq_agent *a)
{
    if (a->draining)
        return;
    a->draining = true;
    mlq_info("draining: no new jobs; exiting once %zu held attempt(s) are done",
             mlq_attempts_count(a->att));
    if (a->registered)
        send_heartbeat(a); /* so the scheduler stops placing jobs here now */
}

static void read_signals(struct mlq_agent *a)
{
    unsigned char buf[64];
    bool child = false;
    ssize_t n;
    while ((n = read(a->cfg.signal_fd, buf, sizeof buf)) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] == SIGTERM || buf[i] == SIGINT)
                a->stop = true;
            else if (buf[i] == SIGUSR2)
                start_draining(a);
            else if (buf[i] == SIGCHLD)
                child = true;
            else if (buf[i] == SIGHUP && a->cfg.on_reload)
                a->cfg.on_reload(a->cfg.reload_arg);
        }
    }
    if (child) {
        reap_children(a);
    }
}

/* ---- connection ---- */

static void close_conn(struct mlq_agent *a)
{
    flush_out(a);                           /* what was queued for this connection goes on it */
    mlq_transport_watch_destroy(&a->watch); /* before its socket */
    if (a->sock)
        zmq_close(a->sock);
    a->sock = NULL;
}

/* A new watched DEALER in place of the old one (if any); on failure the old
 * one stays. */
static int open_conn(struct mlq_agent *a, struct mlq_err *err)
{
    void *sock = NULL;
    struct mlq_watch *w = NULL;
    int rc = mlq_transport_dealer_watched(a->zctx, a->cfg.endpoint, a->use_curve ? &a->curve : NULL,
                                          &sock, &w, err);
    if (rc < 0)
        return rc;
    /* Drop what the old connection still queues (a register sent into the
     * silence): delivered during its linger after the new connection's
     * register, it would make the scheduler route to a peer that is gone. */
    if (a->sock) {
        int zero = 0;
        zmq_setsockopt(a->sock, ZMQ_LINGER, &zero, sizeof zero);
    }
    close_conn(a);
    a->sock = sock;
    a->watch = w;
    return 0;
}

static void reconnect(struct mlq_agent *a)
{
    struct mlq_err e;
    if (open_conn(a, &e) < 0)
        mlq_warn("cannot reconnect to %s: %s", a->cfg.endpoint, e.msg);
}

/* Says why the handshake failed: in full the first time, then at most once
 * every REFUSED_LOG_MS while it keeps failing. */
static void log_refusal(struct mlq_agent *a, int rc, const char *why, int64_t now)
{
    if (a->refused && now < a->next_refusal_log) {
        mlq_debug("%s", why);
        return;
    }
    a->next_refusal_log = now + REFUSED_LOG_MS;
    if (rc == MLQ_EPERM)
        mlq_error("%s; an admin can add this worker's key with `mlq admin "
                  "worker add %s --key FILE.pub` (public key %s); retrying every %d s",
                  why, a->cfg.name, a->curve.own_public, RETRY_REFUSED_MS / 1000);
    else
        mlq_error("%s; retrying every %d s", why, RETRY_REFUSED_MS / 1000);
}

/* Reads the handshake events; after a failure the connection is dropped
 * (libzmq would retry every 100 ms, each try a key lookup on the scheduler)
 * and a fresh one is tried RETRY_REFUSED_MS later. */
static void check_handshake(struct mlq_agent *a)
{
    struct mlq_err e;
    int rc = mlq_transport_watch_check(a->watch, &e);
    if (rc == 0)
        return;
    int64_t now = mlq_clock_mono_ms();
    log_refusal(a, rc, e.msg, now);
    a->refused = true;
    close_conn(a);
    a->retry_at = now + RETRY_REFUSED_MS;
    if (a->registered)
        unregister(a, now);
    a->reconnect = false;
}

/* While disconnected after a failed handshake: a fresh connection once the
 * pause is over, then registration at once. */
static void retry_conn(struct mlq_agent *a, int64_t now)
{
    struct mlq_err e;
    if (now < a->retry_at)
        return;
    if (open_conn(a, &e) < 0) {
        mlq_warn("cannot connect to %s: %s", a->cfg.endpoint, e.msg);
        a->retry_at = now + RETRY_REFUSED_MS;
        return;
    }
    a->next_register = now;
}

/* The self-fence obeys the same deadline as the shims (the lease file's). */
static bool lease_over(const struct mlq_agent *a, int64_t boot_now)
{
    return a->lease_until > 0 && mlq_lease_expired(a->lease_until, boot_now);
}

static void run_timers(struct mlq_agent *a, int64_t now)
{
    int64_t boot = mlq_clock_boot_ms();
    if (lease_over(a, boot) && mlq_attempts_running_unfenced(a->att))
        mlq_attempts_fence(a->att, boot - (a->lease_until - a->lease_ms));
    if (a->registered && now - a->last_rx > SILENT_HEARTBEATS * a->hb_ms) {
        mlq_warn("no word from the scheduler for %" PRId64 " ms: registering again",
                 now - a->last_rx);
        unregister(a, now);
        a->reconnect = true;
    }
    if (!a->sock)
        retry_conn(a, now);
    if (a->sock && !a->registered && now >= a->next_register) {
        if (a->reconnect)
            reconnect(a);
        send_register(a);
        a->next_register = now + REGISTER_EVERY_MS;
    }
    if (a->registered && now >= a->next_hb) {
        send_heartbeat(a);
        a->next_hb = now + a->hb_ms;
    }
    if (now >= a->next_watch) {
        mlq_attempts_tick(a->att, now);
        a->next_watch = now + WATCH_EVERY_MS;
    }
    a->standby_at = mlq_attempts_standby(a->att, now);
    if (a->draining && mlq_attempts_count(a->att) == 0 && !a->stop) {
        mlq_info("drained: every attempt is done, reported and uploaded");
        a->stop = a->drained = true;
    }
}

static int poll_timeout(const struct mlq_agent *a, int64_t now, int max_wait_ms)
{
    int64_t next = a->next_watch;
    int64_t other = !a->sock ? a->retry_at : a->registered ? a->next_hb : a->next_register;
    if (other < next)
        next = other;
    if (a->standby_at < next)
        next = a->standby_at;
    if (a->lease_until > 0 && mlq_attempts_running_unfenced(a->att)) {
        int64_t fence_at = now + (a->lease_until - mlq_clock_boot_ms());
        if (fence_at < next)
            next = fence_at;
    }
    int64_t t = next > now ? next - now : 0;
    return t < max_wait_ms ? (int)t : max_wait_ms;
}

static int step(struct mlq_agent *a, int max_wait_ms, struct mlq_err *err)
{
    /* [signals] [socket, its handshake watch]: the socket may be closed */
    zmq_pollitem_t items[3];
    int nitems = 0, sig = -1, sock = -1;
    if (a->cfg.signal_fd >= 0) {
        sig = nitems;
        items[nitems++] = (zmq_pollitem_t){.fd = a->cfg.signal_fd, .events = ZMQ_POLLIN};
    }
    if (a->sock) {
        sock = nitems;
        items[nitems++] = (zmq_pollitem_t){.socket = a->sock, .events = ZMQ_POLLIN};
        items[nitems++] =
            (zmq_pollitem_t){.socket = mlq_transport_watch_socket(a->watch), .events = ZMQ_POLLIN};
    }
    int rc = zmq_poll(items, nitems, poll_timeout(a, mlq_clock_mono_ms(), max_wait_ms));
    if (rc < 0 && zmq_errno() != EINTR)
        return mlq_err_set(err, MLQ_EIO, "poll: %s", zmq_strerror(zmq_errno()));
    if (rc > 0 && sig >= 0 && (items[sig].revents & ZMQ_POLLIN))
        read_signals(a);
    if (rc > 0 && sock >= 0 && (items[sock].revents & ZMQ_POLLIN)) {
        recv_all(a);
        mlq_attempts_sync_started(a->att);
    }
    if (rc > 0 && sock >= 0 && (items[sock + 1].revents & ZMQ_POLLIN))
        check_handshake(a);
    if (a->fatal.code < 0) {
        *err = a->fatal;
        return a->fatal.code;
    }
    run_timers(a, mlq_clock_mono_ms());
    return 0;
}

int mlq_agent_step(struct mlq_agent *a, int max_wait_ms, struct mlq_err *err)
{
    int rc = step(a, max_wait_ms, err);
    flush_out(a);
    return rc;
}

/* A clean stop says so: the scheduler marks this worker DOWN at once instead
 * of waiting for its lease, and leaves the running jobs (which stay under
 * their shims) alone until the lease runs out. The answer is awaited a
 * little, so that the message leaves before the socket closes; without one
 * the scheduler finds out at the lease, as after a crash. */
static bool answers_goodbye(const struct mlq_agent *a, const struct mlq_msg *r)
{
    if (r->type != MLQ_MSG_BATCH)
        return r->rid == a->rid && (r->type == MLQ_MSG_OK || r->type == MLQ_MSG_ERROR);
    bool answered = false;
    for (uint32_t i = 0; i < r->u.batch.n && !answered; i++) {
        struct mlq_msg one;
        if (mlq_proto_batch_item(r, i, &one, NULL) == 0)
            answered = answers_goodbye(a, &one);
        mlq_proto_msg_free(&one);
    }
    return answered;
}

static void say_goodbye(struct mlq_agent *a)
{
    if (!a->sock || !a->registered)
        return;
    struct mlq_msg m = {.type = MLQ_MSG_GOODBYE};
    m.u.goodbye.name = (char *)a->cfg.name;
    m.u.goodbye.drained = a->drained;
    send_request(a, &m);
    flush_out(a);
    int64_t until = mlq_clock_mono_ms() + GOODBYE_WAIT_MS;
    for (int64_t now = mlq_clock_mono_ms(); now < until; now = mlq_clock_mono_ms()) {
        struct mlq_msg r;
        int rc = mlq_transport_recv(a->sock, &r, (int)(until - now), NULL);
        if (rc == MLQ_EUNAVAIL)
            break;
        if (rc < 0)
            continue;
        bool answered = answers_goodbye(a, &r);
        mlq_proto_msg_free(&r);
        if (answered) {
            mlq_info("said goodbye to the scheduler");
            return;
        }
    }
    mlq_warn("no answer to the goodbye: the scheduler notices the stop at the lease");
}

int mlq_agent_run(struct mlq_agent *a, struct mlq_err *err)
{
    while (!a->stop) {
        int rc = mlq_agent_step(a, 1000, err);
        if (rc < 0)
            return rc;
    }
    say_goodbye(a);
    return 0;
}

/* ---- setup ---- */

/* A restart keeps the fence clock: the deadline comes back from the lease
 * file. A deadline further away than one lease was written before a reboot
 * (CLOCK_BOOTTIME started again): it is over, as is an unreadable one. A
 * spool with a lease but no file (an older worker's) gets the deadline such
 * a worker had: one lease from now. */
static void load_lease(struct mlq_agent *a)
{
    int64_t until = 0;
    if (mlq_lease_read(mlq_spool_root(a->spool), &until) == 1) {
        bool other_boot = a->lease_ms <= 0 || until > mlq_clock_boot_ms() + a->lease_ms;
        a->lease_until = until > 0 && !other_boot ? until : 1;
        return;
    }
    if (a->lease_ms > 0)
        write_lease(a, mlq_clock_boot_ms() + a->lease_ms);
}

static int check_config(const struct mlq_agent_config *cfg, struct mlq_err *err)
{
    if (!cfg->endpoint || !cfg->name || !cfg->shim_path)
        return mlq_err_set(err, MLQ_EINVAL, "scheduler endpoint, name and shim are required");
    if (!*cfg->name || strlen(cfg->name) > MLQ_MAX_NAME)
        return mlq_err_set(err, MLQ_EINVAL, "worker name must have 1 to %d characters",
                           MLQ_MAX_NAME);
    if (cfg->cpus_m <= 0 || cfg->mem <= 0 || cfg->gpus < 0 || cfg->gpus > MLQ_MAX_GPUS)
        return mlq_err_set(err, MLQ_EINVAL, "invalid worker resources");
    if (cfg->heartbeat_ms <= 0)
        return mlq_err_set(err, MLQ_EINVAL, "heartbeat interval must be positive");
    for (int32_t i = 0; cfg->gpu_list && i < cfg->gpus; i++)
        if (cfg->gpu_list[i].index != i || !cfg->gpu_list[i].type)
            return mlq_err_set(err, MLQ_EINVAL, "GPU list entry %" PRId32 " is not GPU %" PRId32, i,
                               i);
    if (cfg->nlabels > MLQ_MAX_LABELS || (cfg->nlabels > 0 && !cfg->labels))
        return mlq_err_set(err, MLQ_EINVAL, "at most %d labels", MLQ_MAX_LABELS);
    return 0;
}

int mlq_agent_create(const struct mlq_agent_config *cfg, struct mlq_spool *spool,
                     struct mlq_agent **out, struct mlq_err *err)
{
    *out = NULL;
    int rc = check_config(cfg, err);
    if (rc < 0)
        return rc;
    struct mlq_agent *a = calloc(1, sizeof *a);
    if (!a)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    a->cfg = *cfg;
    a->cfg.curve = NULL; /* the copy below is ours; the caller's may go */
    if (cfg->curve) {
        a->curve = *cfg->curve;
        a->use_curve = true;
    }
    if (a->cfg.log_cap <= 0)
        a->cfg.log_cap = MLQ_LOGUPLOAD_DEFAULT_CAP;
    a->spool = spool;
    a->hb_ms = cfg->heartbeat_ms;
    a->lease_ms = mlq_spool_read_lease(spool);
    a->zctx = cfg->zctx;
    if (!a->zctx) {
        a->zctx = zmq_ctx_new();
        a->own_zctx = true;
    }
    if (!a->zctx)
        rc = mlq_err_set(err, MLQ_EIO, "cannot create a ZeroMQ context");
    struct mlq_attempts_config acfg = {
        .spool = spool,
        .shim_path = cfg->shim_path,
        .gpus = cfg->gpus,
        .log_cap = a->cfg.log_cap,
        .max_attempts = cfg->max_attempts,
        .send = send_for_attempts,
        .ctx = a,
    };
    if (rc == 0 && !(a->outq = mlq_sendq_create()))
        rc = mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    if (rc == 0)
        rc = mlq_attempts_create(&acfg, &a->att, err);
    if (rc == 0)
        rc = open_conn(a, err);
    if (rc < 0) {
        mlq_agent_destroy(&a);
        return rc;
    }
    int64_t now = mlq_clock_mono_ms();
    a->next_register = a->next_hb = a->next_watch = a->last_rx = now;
    load_lease(a);
    *out = a;
    return 0;
}

void mlq_agent_destroy(struct mlq_agent **a)
{
    if (!a || !*a)
        return;
    int saved = errno;
    struct mlq_agent *p = *a;
    close_conn(p);
    if (p->own_zctx && p->zctx)
        zmq_ctx_term(p->zctx);
    mlq_attempts_destroy(&p->att);
    mlq_sendq_destroy(&p->outq);
    explicit_bzero(&p->curve, sizeof p->curve);
    free(p);
    *a = NULL;
    errno = saved;
}

bool mlq_agent_registered(const struct mlq_agent *a)
{
    return a->registered;
}

bool mlq_agent_stopped(const struct mlq_agent *a)
{
    return a->stop;
}

bool mlq_agent_draining(const struct mlq_agent *a)
{
    return a->draining;
}

bool mlq_agent_refused(const struct mlq_agent *a)
{
    return a->refused;
}

bool mlq_agent_drained(const struct mlq_agent *a)
{
    return a->drained;
}

size_t mlq_agent_held(const struct mlq_agent *a)
{
    return mlq_attempts_count(a->att);
}
