/* agent: see agent.h.
 *
 * Attempt lifecycle in memory (mirrors the spool):
 *   running   shim alive, no status; "started" re-sent until acknowledged
 *   finished  status in the spool; "finished" re-sent until acknowledged,
 *             then acked_finished is written and the attempt is dropped
 * A started report is never sent once the attempt has finished: the finished
 * report supersedes it.
 *
 * Connection state: `registered` is false at start, after the scheduler
 * answers a heartbeat with "not found" (-4) and after three heartbeat
 * intervals without any message from it; while false, only "register" is
 * sent (every 2 s). Reports wait for the registration so the scheduler can
 * tie them to this worker. */
#include "agent.h"

#include <errno.h>
#include <inttypes.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "clock.h"
#include "exec.h"
#include "id.h"
#include "log.h"
#include "transport.h"

#define REGISTER_EVERY_MS 2000
#define RESEND_EVERY_MS   1000
#define WATCH_EVERY_MS    200
#define SILENT_HEARTBEATS 3  /* intervals without a word before re-registering */
#define DRAIN_MAX         64 /* messages handled per loop iteration */

struct attempt {
    char id[MLQ_ID_LEN + 1];
    struct mlq_shim_id shim;
    bool finished;
    bool acked_started;
    bool persisted;    /* the spool has its folder (markers can be written) */
    int64_t next_send; /* monotonic ms of the next (re-)send of its report */
    struct mlq_status status;
};

struct mlq_agent {
    struct mlq_agent_config cfg;
    struct mlq_spool *spool;
    void *zctx;
    bool own_zctx;
    void *sock;
    struct attempt *att;
    size_t natt, cap;
    bool registered;
    bool stop;
    uint64_t rid;
    int64_t hb_ms;
    int64_t next_register, next_hb, next_watch, last_rx;
};

typedef void (*agent_handler)(struct mlq_agent *a, const struct mlq_msg *m);

/* ---- attempt table ---- */

static struct attempt *find_attempt(struct mlq_agent *a, const char *id)
{
    for (size_t i = 0; i < a->natt; i++) {
        if (strcmp(a->att[i].id, id) == 0)
            return &a->att[i];
    }
    return NULL;
}

static struct attempt *add_attempt(struct mlq_agent *a, const char *id)
{
    if (a->natt >= MLQ_MAX_ATTEMPTS_LIST)
        return NULL;
    if (a->natt == a->cap) {
        size_t ncap = a->cap ? a->cap * 2 : 16;
        struct attempt *na = realloc(a->att, ncap * sizeof *na);
        if (!na)
            return NULL;
        a->att = na;
        a->cap = ncap;
    }
    struct attempt *at = &a->att[a->natt++];
    memset(at, 0, sizeof *at);
    snprintf(at->id, sizeof at->id, "%s", id);
    at->status.exit_code = -1;
    return at;
}

static void remove_attempt(struct mlq_agent *a, struct attempt *at)
{
    size_t i = (size_t)(at - a->att);
    a->att[i] = a->att[--a->natt];
}

static bool attempt_dir(struct mlq_agent *a, const struct attempt *at, char *dir, size_t len)
{
    return at->persisted && mlq_spool_attempt_dir(a->spool, at->id, dir, len, NULL) == 0;
}

/* ---- sending ---- */

static void send_msg(struct mlq_agent *a, struct mlq_msg *m)
{
    struct mlq_err e;
    if (mlq_transport_send(a->sock, m, &e) < 0)
        mlq_debug("%s not sent: %s", mlq_proto_type_name(m->type), e.msg);
}

static void send_request(struct mlq_agent *a, struct mlq_msg *m)
{
    m->rid = ++a->rid;
    send_msg(a, m);
}

static void send_register(struct mlq_agent *a)
{
    struct mlq_msg m = {.type = MLQ_MSG_REGISTER};
    struct mlq_held_attempt *held = calloc(a->natt ? a->natt : 1, sizeof *held);
    if (!held) {
        mlq_error("out of memory building the register message");
        return;
    }
    for (size_t i = 0; i < a->natt; i++) {
        snprintf(held[i].attempt_id, sizeof held[i].attempt_id, "%s", a->att[i].id);
        held[i].finished = a->att[i].finished;
    }
    m.u.reg.name = (char *)a->cfg.name;
    m.u.reg.cpus_m = a->cfg.cpus_m;
    m.u.reg.mem = a->cfg.mem;
    m.u.reg.gpus = a->cfg.gpus;
    m.u.reg.attempts = held;
    m.u.reg.nattempts = (uint32_t)a->natt;
    mlq_debug("registering with %zu held attempt(s)", a->natt);
    send_request(a, &m);
    free(held);
}

static void send_heartbeat(struct mlq_agent *a)
{
    struct mlq_msg m = {.type = MLQ_MSG_HEARTBEAT};
    m.u.heartbeat.name = (char *)a->cfg.name;
    send_request(a, &m);
}

/* Sends the attempt's current report (started or finished) now; it is sent
 * again after RESEND_EVERY_MS unless acknowledged. Before registration it
 * only schedules the send. */
static void send_report(struct mlq_agent *a, struct attempt *at)
{
    at->next_send = mlq_clock_mono_ms() + RESEND_EVERY_MS;
    if (!a->registered)
        return;
    struct mlq_msg m = {.type = MLQ_MSG_REPORT};
    snprintf(m.u.report.attempt_id, sizeof m.u.report.attempt_id, "%s", at->id);
    m.u.report.pid = at->shim.pid;
    if (at->finished) {
        m.u.report.phase = MLQ_PHASE_FINISHED;
        m.u.report.outcome = at->status.outcome;
        m.u.report.exit_code = at->status.exit_code;
        m.u.report.signal = at->status.signal;
        m.u.report.start_ms = at->status.start_ms;
        m.u.report.end_ms = at->status.end_ms;
        m.u.report.detail = at->status.detail[0] ? at->status.detail : NULL;
    } else {
        m.u.report.phase = MLQ_PHASE_STARTED;
        m.u.report.outcome = MLQ_OUT_NONE;
        m.u.report.exit_code = -1;
        m.u.report.start_ms = at->shim.start_ms;
    }
    send_request(a, &m);
}

static bool needs_report(const struct attempt *at)
{
    return at->finished || !at->acked_started;
}

static void resend_reports(struct mlq_agent *a, int64_t now, bool all)
{
    for (size_t i = 0; i < a->natt; i++) {
        struct attempt *at = &a->att[i];
        if (needs_report(at) && (all || now >= at->next_send))
            send_report(a, at);
    }
}

static void unregister(struct mlq_agent *a, int64_t now)
{
    a->registered = false;
    a->next_register = now;
}

/* ---- attempts finishing ---- */

static void finished(struct mlq_agent *a, struct attempt *at)
{
    at->finished = true;
    mlq_info("attempt %.8s finished: %s exit_code=%" PRId32 " signal=%" PRId32 "%s%s", at->id,
             mlq_spool_outcome_name(at->status.outcome), at->status.exit_code, at->status.signal,
             at->status.detail[0] ? " " : "", at->status.detail);
    send_report(a, at);
}

/* Records an outcome decided by the worker itself (start failure, lost
 * shim): into the spool first, then reported. */
static void finish_here(struct mlq_agent *a, struct attempt *at, enum mlq_outcome outcome,
                        const char *detail)
{
    char dir[MLQ_MAX_PATH];
    mlq_spool_status_lost(&at->status, at->shim.start_ms, detail);
    at->status.outcome = outcome;
    struct mlq_err e;
    if (attempt_dir(a, at, dir, sizeof dir) && mlq_spool_write_status(dir, &at->status, &e) < 0)
        mlq_error("attempt %.8s: cannot record its outcome: %s", at->id, e.msg);
    finished(a, at);
}

static void watch_one(struct mlq_agent *a, struct attempt *at)
{
    char dir[MLQ_MAX_PATH];
    if (!attempt_dir(a, at, dir, sizeof dir))
        return;
    if (mlq_spool_read_status(dir, &at->status, NULL) == 0) {
        finished(a, at);
        return;
    }
    if (mlq_spool_shim_alive(&at->shim))
        return;
    /* The shim writes its status before exiting: look once more. */
    if (mlq_spool_read_status(dir, &at->status, NULL) == 0) {
        finished(a, at);
        return;
    }
    mlq_warn("attempt %.8s: shim %ld vanished without an outcome", at->id, (long)at->shim.pid);
    finish_here(a, at, MLQ_OUT_LOST, "shim vanished");
}

static void watch_all(struct mlq_agent *a)
{
    for (size_t i = 0; i < a->natt; i++) {
        if (!a->att[i].finished)
            watch_one(a, &a->att[i]);
    }
}

static void kill_attempt(struct mlq_agent *a, struct attempt *at, const char *why)
{
    (void)a;
    if (at->finished)
        return;
    struct mlq_err e;
    if (mlq_exec_signal(&at->shim, SIGTERM, &e) < 0)
        mlq_warn("attempt %.8s: cannot kill (%s): %s", at->id, why, e.msg);
    else
        mlq_info("attempt %.8s: killing (%s)", at->id, why);
}

/* ---- assign ---- */

/* The scheduler's GPU choice must name distinct devices of this worker, as
 * many as the spec asks for. */
static bool gpus_ok(const struct mlq_agent *a, const struct mlq_msg *m, char *why, size_t len)
{
    uint64_t seen = 0;
    if ((int64_t)m->u.assign.ngpu_ids != m->u.assign.spec.gpus) {
        snprintf(why, len, "assigned %" PRIu32 " GPU(s) for a job asking for %" PRId32,
                 m->u.assign.ngpu_ids, m->u.assign.spec.gpus);
        return false;
    }
    for (uint32_t i = 0; i < m->u.assign.ngpu_ids; i++) {
        int32_t g = m->u.assign.gpu_ids[i];
        if (g < 0 || g >= a->cfg.gpus || g >= MLQ_MAX_GPUS || (seen & (1ULL << g))) {
            snprintf(why, len, "GPU %" PRId32 " is not a free device of this worker", g);
            return false;
        }
        seen |= 1ULL << g;
    }
    return true;
}

static void start_attempt(struct mlq_agent *a, struct attempt *at, const struct mlq_msg *m)
{
    char dir[MLQ_MAX_PATH], why[MLQ_SPOOL_DETAIL_MAX];
    struct mlq_err e;
    if (mlq_spool_create_attempt(a->spool, m, dir, sizeof dir, &e) < 0) {
        mlq_error("attempt %.8s: cannot create its spool folder: %s", at->id, e.msg);
        finish_here(a, at, MLQ_OUT_START_FAILED, e.msg);
        return;
    }
    at->persisted = true;
    if (!gpus_ok(a, m, why, sizeof why)) {
        finish_here(a, at, MLQ_OUT_START_FAILED, why);
        return;
    }
    if (mlq_exec_start_shim(a->cfg.shim_path, dir, &at->shim, &e) < 0) {
        mlq_error("attempt %.8s: %s", at->id, e.msg);
        finish_here(a, at, MLQ_OUT_START_FAILED, e.msg);
        return;
    }
    mlq_info("attempt %.8s (job %.8s #%" PRId32 ") started under shim %ld", at->id,
             m->u.assign.job_id, m->u.assign.attempt, (long)at->shim.pid);
    send_report(a, at);
}

static void on_assign(struct mlq_agent *a, const struct mlq_msg *m)
{
    const char *id = m->u.assign.attempt_id;
    if (!mlq_id_valid(id)) {
        mlq_warn("assign with an invalid attempt id ignored");
        return;
    }
    struct attempt *at = find_attempt(a, id);
    if (at) {
        mlq_info("attempt %.8s assigned again: re-sending its report", id);
        send_report(a, at);
        return;
    }
    if (mlq_spool_attempt_exists(a->spool, id)) {
        mlq_warn("attempt %.8s assigned again after it was reported and acknowledged; ignored", id);
        return;
    }
    if (!(at = add_attempt(a, id))) {
        mlq_error("attempt %.8s refused: too many attempts held", id);
        return;
    }
    start_attempt(a, at, m);
}

/* ---- other messages ---- */

static void on_registered(struct mlq_agent *a, const struct mlq_msg *m)
{
    int64_t now = mlq_clock_mono_ms();
    int64_t hb = m->u.registered.heartbeat_ms;
    a->hb_ms = hb > 0 && hb < a->cfg.heartbeat_ms ? hb : a->cfg.heartbeat_ms;
    if (a->registered)
        return; /* a duplicate answer to a re-sent register */
    mlq_info("registered with %s as %s (heartbeat %" PRId64 " ms, lease %" PRId64 " ms)",
             a->cfg.endpoint, a->cfg.name, a->hb_ms, m->u.registered.lease_ms);
    a->registered = true;
    a->next_hb = now + a->hb_ms;
    resend_reports(a, now, true);
}

static void on_error(struct mlq_agent *a, const struct mlq_msg *m)
{
    const char *text = m->u.error.msg ? m->u.error.msg : "";
    if (m->u.error.code == MLQ_ENOTFOUND) {
        if (a->registered)
            mlq_info("the scheduler does not know this worker (%s): registering again", text);
        unregister(a, mlq_clock_mono_ms());
        return;
    }
    mlq_warn("scheduler error %" PRId32 " (%s) for request %" PRIu64 ": %s", m->u.error.code,
             mlq_strerror(m->u.error.code), m->rid, text);
}

static void on_report_ack(struct mlq_agent *a, const struct mlq_msg *m)
{
    const char *id = m->u.report_ack.attempt_id;
    struct attempt *at = find_attempt(a, id);
    char dir[MLQ_MAX_PATH];
    struct mlq_err e;
    if (!at) {
        mlq_debug("report_ack for attempt %.8s that is not held", id);
        return;
    }
    bool have_dir = attempt_dir(a, at, dir, sizeof dir);
    if (m->u.report_ack.phase == MLQ_PHASE_STARTED) {
        if (!at->acked_started && have_dir && mlq_spool_mark_acked(dir, MLQ_PHASE_STARTED, &e) < 0)
            mlq_error("attempt %.8s: %s", id, e.msg);
        at->acked_started = true;
        if (!m->u.report_ack.accepted)
            kill_attempt(a, at, "fenced by the scheduler");
        return;
    }
    if (!at->finished) {
        mlq_warn("finished report of running attempt %.8s acknowledged; ignored", id);
        return;
    }
    if (have_dir && mlq_spool_mark_acked(dir, MLQ_PHASE_FINISHED, &e) < 0)
        mlq_error("attempt %.8s: %s", id, e.msg);
    mlq_debug("attempt %.8s done (accepted=%d)", id, m->u.report_ack.accepted);
    remove_attempt(a, at);
}

static void on_kill(struct mlq_agent *a, const struct mlq_msg *m)
{
    struct attempt *at = find_attempt(a, m->u.kill.attempt_id);
    const char *reason = m->u.kill.reason ? m->u.kill.reason : "asked by the scheduler";
    if (!at || at->finished) {
        mlq_debug("kill for attempt %.8s that is not running", m->u.kill.attempt_id);
        return;
    }
    kill_attempt(a, at, reason);
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
        mlq_warn("log_read for attempt %.8s refused: %s", m->u.log_read.attempt_id,
                 rc == MLQ_EINVAL ? "invalid offset or size" : e.msg);
    r.u.log_chunk.err = rc == MLQ_ENOTFOUND || rc == MLQ_EINVAL ? rc : rc < 0 ? MLQ_EIO : 0;
    send_msg(a, &r);
    free(r.u.log_chunk.data);
}

static void on_hb_ack(struct mlq_agent *a, const struct mlq_msg *m)
{
    (void)a;
    (void)m; /* receiving it already refreshed last_rx */
}

/* What a worker accepts; anything else is logged and dropped. */
static const agent_handler handlers[MLQ_MSG_TYPE_COUNT] = {
    [MLQ_MSG_ERROR] = on_error,           [MLQ_MSG_OK] = on_hb_ack,
    [MLQ_MSG_REGISTERED] = on_registered, [MLQ_MSG_HB_ACK] = on_hb_ack,
    [MLQ_MSG_ASSIGN] = on_assign,         [MLQ_MSG_KILL] = on_kill,
    [MLQ_MSG_REPORT_ACK] = on_report_ack, [MLQ_MSG_LOG_READ] = on_log_read,
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

/* ---- loop ---- */

static void drain(struct mlq_agent *a)
{
    for (int i = 0; i < DRAIN_MAX; i++) {
        struct mlq_msg m;
        struct mlq_err e;
        int rc = mlq_transport_recv(a->sock, &m, 0, &e);
        if (rc == MLQ_EUNAVAIL)
            return;
        if (rc == MLQ_EPROTO) {
            mlq_warn("malformed message from the scheduler: %s", e.msg);
            continue;
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

static void reap_children(void)
{
    pid_t p;
    do {
        p = waitpid(-1, NULL, WNOHANG);
    } while (p > 0 || (p < 0 && errno == EINTR));
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
            else if (buf[i] == SIGCHLD)
                child = true;
        }
    }
    if (child) {
        reap_children();
        watch_all(a); /* a shim that exited has just written its status */
    }
}

static void run_timers(struct mlq_agent *a, int64_t now)
{
    if (a->registered && now - a->last_rx > SILENT_HEARTBEATS * a->hb_ms) {
        mlq_warn("no word from the scheduler for %" PRId64 " ms: registering again",
                 now - a->last_rx);
        unregister(a, now);
    }
    if (!a->registered && now >= a->next_register) {
        send_register(a);
        a->next_register = now + REGISTER_EVERY_MS;
    }
    if (a->registered && now >= a->next_hb) {
        send_heartbeat(a);
        a->next_hb = now + a->hb_ms;
    }
    if (now >= a->next_watch) {
        watch_all(a);
        if (a->registered)
            resend_reports(a, now, false);
        a->next_watch = now + WATCH_EVERY_MS;
    }
}

static int poll_timeout(const struct mlq_agent *a, int64_t now, int max_wait_ms)
{
    int64_t next = a->next_watch;
    int64_t other = a->registered ? a->next_hb : a->next_register;
    if (other < next)
        next = other;
    int64_t t = next > now ? next - now : 0;
    return t < max_wait_ms ? (int)t : max_wait_ms;
}

int mlq_agent_step(struct mlq_agent *a, int max_wait_ms, struct mlq_err *err)
{
    zmq_pollitem_t items[2] = {
        {.socket = a->sock, .events = ZMQ_POLLIN},
        {.fd = a->cfg.signal_fd, .events = ZMQ_POLLIN},
    };
    int nitems = a->cfg.signal_fd >= 0 ? 2 : 1;
    int rc = zmq_poll(items, nitems, poll_timeout(a, mlq_clock_mono_ms(), max_wait_ms));
    if (rc < 0 && zmq_errno() != EINTR)
        return mlq_err_set(err, MLQ_EIO, "poll: %s", zmq_strerror(zmq_errno()));
    if (rc > 0 && nitems == 2 && (items[1].revents & ZMQ_POLLIN))
        read_signals(a);
    if (rc > 0 && (items[0].revents & ZMQ_POLLIN))
        drain(a);
    run_timers(a, mlq_clock_mono_ms());
    return 0;
}

int mlq_agent_run(struct mlq_agent *a, struct mlq_err *err)
{
    while (!a->stop) {
        int rc = mlq_agent_step(a, 1000, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* ---- setup ---- */

static int load_held(struct mlq_agent *a, struct mlq_err *err)
{
    struct mlq_spool_held *held = NULL;
    size_t n = 0;
    int rc = mlq_spool_scan(a->spool, &held, &n, err);
    if (rc < 0)
        return rc;
    for (size_t i = 0; i < n && rc == 0; i++) {
        struct attempt *at = add_attempt(a, held[i].attempt_id);
        if (!at) {
            rc = mlq_err_set(err, MLQ_ENOMEM, "out of memory");
            break;
        }
        at->shim = held[i].shim;
        at->finished = held[i].finished;
        at->acked_started = held[i].acked_started;
        at->persisted = true;
        at->status = held[i].status;
        mlq_info("re-adopted attempt %.8s (%s)", at->id,
                 at->finished ? mlq_spool_outcome_name(at->status.outcome) : "running");
    }
    free(held);
    return rc;
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
    a->spool = spool;
    a->hb_ms = cfg->heartbeat_ms;
    a->zctx = cfg->zctx;
    if (!a->zctx) {
        a->zctx = zmq_ctx_new();
        a->own_zctx = true;
    }
    if (!a->zctx)
        rc = mlq_err_set(err, MLQ_EIO, "cannot create a ZeroMQ context");
    if (rc == 0)
        rc = load_held(a, err);
    if (rc == 0)
        rc = mlq_transport_dealer(a->zctx, cfg->endpoint, &a->sock, err);
    if (rc < 0) {
        mlq_agent_destroy(&a);
        return rc;
    }
    int64_t now = mlq_clock_mono_ms();
    a->next_register = a->next_hb = a->next_watch = a->last_rx = now;
    *out = a;
    return 0;
}

void mlq_agent_destroy(struct mlq_agent **a)
{
    if (!a || !*a)
        return;
    int saved = errno;
    struct mlq_agent *p = *a;
    if (p->sock)
        zmq_close(p->sock);
    if (p->own_zctx && p->zctx)
        zmq_ctx_term(p->zctx);
    free(p->att);
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

size_t mlq_agent_held(const struct mlq_agent *a)
{
    return a->natt;
}
