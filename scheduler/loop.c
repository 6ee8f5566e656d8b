/* loop: see loop.h. */
#include "loop.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <zmq.h>

#include "admin.h"
#include "acctrun.h"
#include "backup.h"
#include "workerset.h"
#include "client.h"
#include "clock.h"
#include "ctx.h"
#include "fsutil.h"
#include "deliver.h"
#include "deps.h"
#include "health.h"
#include "resend.h"
#include "fairshare.h"
#include "pipeline.h"
#include "schedules.h"
#include "specreq.h"
#include "strmap.h"
#include "jobops.h"
#include "recover.h"
#include "workerloss.h"
#include "keys.h"
#include "zap.h"
#include "log.h"
#include "logrelay.h"
#include "logstore.h"
#include "metrics.h"
#include "queue.h"
#include "retention.h"
#include "version.h"
#include "tokens.h"
#include "jobedit.h"
#include "quota.h"
#include "teams.h"
#include "submitmany.h"
#include "wproto.h"

#define BATCH_MAX    512  /* messages handled per iteration */
#define TICK_MS      250  /* lease and log-relay checks */
#define DB_RETRY_MS  1000 /* after a failed reload */
#define IDEM_KEEP_MS (7LL * 24 * 3600 * 1000)

enum { FROM_ANY, FROM_WORKER };

#define PEOPLE (MLQ_ROLE_USER | MLQ_ROLE_ADMIN)
#define ADMIN  MLQ_ROLE_ADMIN
#define WORKER MLQ_ROLE_WORKER

/* Which handler serves each message type, who may send it (roles from the
 * authenticated identity, never from the routing id), and whether the
 * connection must belong to a registered worker. Types missing here
 * (replies, scheduler-to-worker messages) are refused. */
static const struct {
    mlq_handler_fn fn;
    unsigned roles;
    int from;
} handlers[MLQ_MSG_TYPE_COUNT] = {
    [MLQ_MSG_SUBMIT] = {mlq_client_on_submit, PEOPLE, FROM_ANY},
    [MLQ_MSG_SUBMIT_MANY] = {mlq_submitmany_on_request, PEOPLE, FROM_ANY},
    [MLQ_MSG_JOBS] = {mlq_client_on_jobs, PEOPLE, FROM_ANY},
    [MLQ_MSG_CANCEL] = {mlq_client_on_cancel, PEOPLE, FROM_ANY},
    [MLQ_MSG_HOLD] = {mlq_jobedit_on_hold, PEOPLE, FROM_ANY},
    [MLQ_MSG_UPDATE] = {mlq_jobedit_on_update, PEOPLE, FROM_ANY},
    [MLQ_MSG_WORKERS] = {mlq_admin_on_workers, PEOPLE, FROM_ANY},
    [MLQ_MSG_DRAIN] = {mlq_admin_on_drain, ADMIN, FROM_ANY},
    [MLQ_MSG_RESUME] = {mlq_admin_on_resume, ADMIN, FROM_ANY},
    [MLQ_MSG_WHY] = {mlq_client_on_why, PEOPLE, FROM_ANY},
    [MLQ_MSG_JOB_SPEC] = {mlq_specreq_on_request, PEOPLE, FROM_ANY},
    [MLQ_MSG_MANIFEST] = {mlq_client_on_manifest, PEOPLE, FROM_ANY},
    [MLQ_MSG_ESTIMATE] = {mlq_client_on_estimate, PEOPLE, FROM_ANY},
    [MLQ_MSG_SCHEDULE_ADD] = {mlq_schedules_on_add, PEOPLE, FROM_ANY},
    [MLQ_MSG_SCHEDULE_CMD] = {mlq_schedules_on_cmd, PEOPLE, FROM_ANY},
    [MLQ_MSG_SCHEDULES] = {mlq_schedules_on_list, PEOPLE, FROM_ANY},
    [MLQ_MSG_LOGS] = {mlq_client_on_logs, PEOPLE, FROM_ANY},
    [MLQ_MSG_USER_ADD] = {mlq_admin_on_user_add, ADMIN, FROM_ANY},
    [MLQ_MSG_USER_RM] = {mlq_admin_on_user_rm, ADMIN, FROM_ANY},
    [MLQ_MSG_USERS] = {mlq_admin_on_users, ADMIN, FROM_ANY},
    [MLQ_MSG_EVENTS] = {mlq_admin_on_events, PEOPLE, FROM_ANY},
    /* Any user: the numbers name owners and workers, never a job's spec. */
    [MLQ_MSG_METRICS] = {mlq_metrics_on_request, PEOPLE, FROM_ANY},
    [MLQ_MSG_TOKEN_CREATE] = {mlq_tokens_on_create, ADMIN, FROM_ANY},
    [MLQ_MSG_TOKEN_RM] = {mlq_tokens_on_rm, ADMIN, FROM_ANY},
    [MLQ_MSG_TOKENS] = {mlq_tokens_on_list, ADMIN, FROM_ANY},
    [MLQ_MSG_USAGE] = {mlq_client_on_usage, PEOPLE, FROM_ANY},
    [MLQ_MSG_BACKUP] = {mlq_backup_on_request, ADMIN, FROM_ANY},
    [MLQ_MSG_WORKER_SET] = {mlq_workerset_on_set, ADMIN, FROM_ANY},
    [MLQ_MSG_WORKER_SUMMARY] = {mlq_workerset_on_summary, PEOPLE, FROM_ANY},
    /* Admins only, refused in the handler with the reason spelt out. */
    [MLQ_MSG_TEAM_CMD] = {mlq_teams_on_cmd, PEOPLE, FROM_ANY},
    [MLQ_MSG_USER_SET] = {mlq_teams_on_user_set, PEOPLE, FROM_ANY},
    [MLQ_MSG_ACCT] = {mlq_teams_on_acct, PEOPLE, FROM_ANY},
    [MLQ_MSG_QUOTA_CMD] = {mlq_quota_on_cmd, PEOPLE, FROM_ANY},
    [MLQ_MSG_REGISTER] = {mlq_wproto_on_register, WORKER, FROM_ANY},
    [MLQ_MSG_HEARTBEAT] = {mlq_wproto_on_heartbeat, WORKER, FROM_WORKER},
    [MLQ_MSG_REPORT] = {mlq_wproto_on_report, WORKER, FROM_WORKER},
    [MLQ_MSG_LOG_CHUNK] = {mlq_client_on_log_chunk, WORKER, FROM_WORKER},
    [MLQ_MSG_LOG_UPLOAD] = {mlq_wproto_on_log_upload, WORKER, FROM_WORKER},
    [MLQ_MSG_GOODBYE] = {mlq_wproto_on_goodbye, WORKER, FROM_WORKER},
};

struct mlq_loop {
    struct mlq_ctx c;
    void *zctx;
    int64_t next_tick;
    bool failed;            /* the iteration hit a store error: roll it back */
    struct mlq_zap *zap;    /* CURVE key checks; NULL when insecure */
    double time_scale;      /* test clock: wall time runs this much faster */
    int64_t time_offset_ms; /* test clock: shift */
    int64_t start_wall, start_mono;
    int64_t next_purge; /* monotonic time of the next idempotency sweep */
    struct mlq_retention *retention;
    struct mlq_err fail_err;
    mlq_loop_reload_fn reload_fn; /* SIGHUP: main's config reload */
    void *reload_arg;
};

/* The scheduler's wall clock: real time, unless the tests asked for a
 * faster or shifted one (MLQ_TEST_TIME_SCALE / MLQ_TEST_TIME_OFFSET, read by
 * main() only). Timeouts and leases never use it. */
static int64_t sched_wall(const struct mlq_loop *s)
{
    if (s->time_scale <= 0)
        return mlq_clock_wall_ms() + s->time_offset_ms;
    double elapsed = (double)(mlq_clock_mono_ms() - s->start_mono);
    return s->start_wall + s->time_offset_ms + (int64_t)(elapsed * s->time_scale);
}

/* Plain TCP when insecure; else CURVE, with the ZAP handler bound first so
 * that no client is ever let in without its key being checked. */
static int bind_router(struct mlq_loop *s, const struct mlq_loop_opts *o, struct mlq_err *err)
{
    struct mlq_ctx *c = &s->c;
    if (o->insecure)
        return mlq_transport_router(s->zctx, o->listen, &c->router, err);
    struct mlq_keypair kp;
    int rc = mlq_keys_read_secret(o->key_path, &kp, err);
    if (rc == MLQ_ENOTFOUND) { /* first start: make the scheduler's key */
        char dir[MLQ_MAX_PATH];
        snprintf(dir, sizeof dir, "%s", o->key_path);
        char *slash = strrchr(dir, '/');
        if (slash)
            *slash = '\0';
        rc = slash ? mlq_fs_mkdirs(dir, 0700, err) : 0;
        if (rc == 0)
            rc = mlq_keys_generate(&kp, err);
        if (rc == 0)
            rc = mlq_keys_write(o->key_path, &kp, false, err);
        if (rc == 0)
            mlq_info("created the scheduler key %s (public key %s)", o->key_path, kp.public_z85);
    }
    if (rc == 0)
        rc = mlq_zap_create(s->zctx, mlq_auth_lookup, c->auth, &s->zap, err);
    if (rc == 0) /* answers on its own thread: handshakes never wait for this loop */
        rc = mlq_zap_start(s->zap, err);
    if (rc == 0)
        c->zap = s->zap;
    if (rc == 0)
        rc = mlq_transport_router_curve(s->zctx, o->listen, &kp, &c->router, err);
    memset(&kp, 0, sizeof kp);
    return rc;
}

/* The in-process socket the HTTP threads send requests to. Its queue is
 * bounded: an HTTP thread whose request cannot be queued answers 503. */
static int bind_local(struct mlq_loop *s, struct mlq_err *err)
{
    int hwm = 1024;
    s->c.local = zmq_socket(s->zctx, ZMQ_ROUTER);
    if (!s->c.local || zmq_setsockopt(s->c.local, ZMQ_RCVHWM, &hwm, sizeof hwm) < 0 ||
        zmq_bind(s->c.local, MLQ_LOOP_API_ENDPOINT) < 0)
        return mlq_err_set(err, MLQ_EIO, "binding %s: %s", MLQ_LOOP_API_ENDPOINT,
                           zmq_strerror(errno));
    return 0;
}

void *mlq_loop_zctx(struct mlq_loop *s)
{
    return s->zctx;
}

/* "ROLE:NAME:FILE.pub" from --authorize: registers that key. */
static int authorize_one(struct mlq_ctx *c, const char *spec, struct mlq_err *err)
{
    const char *a = strchr(spec, ':'), *b = a ? strchr(a + 1, ':') : NULL;
    struct mlq_store_principal p = {0};
    if (!a || !b || (size_t)(a - spec) >= sizeof p.role || (size_t)(b - a - 1) > MLQ_MAX_NAME ||
        b == a + 1)
        return mlq_err_set(err, MLQ_EINVAL, "--authorize wants ROLE:NAME:FILE.pub, not \"%.80s\"",
                           spec);
    memcpy(p.role, spec, (size_t)(a - spec));
    memcpy(p.name, a + 1, (size_t)(b - a - 1));
    enum mlq_role role = mlq_auth_role_parse(p.role);
    if (role == MLQ_ROLE_NONE)
        return mlq_err_set(err, MLQ_EINVAL, "--authorize: role must be user, admin or worker");
    snprintf(p.kind, sizeof p.kind, "%s", role == MLQ_ROLE_WORKER ? "worker" : "user");
    int rc = mlq_keys_read_public(b + 1, p.key, err);
    p.added_ms = c->now_wall;
    if (rc == 0)
        rc = mlq_store_begin(c->store, err);
    if (rc == 0)
        rc = mlq_store_principal_save(c->store, &p, err);
    if (rc == 0 && mlq_auth_put(c->auth, &p) < 0)
        rc = mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    return rc;
}

int mlq_loop_authorize(struct mlq_loop *s, const char *spec, struct mlq_err *err)
{
    if (!s->zap)
        return mlq_err_set(err, MLQ_ESTATE, "keys are not used with --insecure");
    mlq_store_set_actor(s->c.store, "config");
    int rc = authorize_one(&s->c, spec, err);
    mlq_store_set_actor(s->c.store, NULL);
    if (rc == MLQ_EDB) {
        s->failed = true; /* the iteration rolls back and reloads */
        s->fail_err = *err;
    }
    return rc;
}

int mlq_loop_set_retention(struct mlq_loop *s, int64_t jobs_ms, int64_t events_ms,
                           int64_t logs_bytes, struct mlq_err *err)
{
    struct mlq_retention_opts ro = {jobs_ms, events_ms, logs_bytes};
    return mlq_retention_set(s->retention, &ro, err);
}

void mlq_loop_set_placement(struct mlq_loop *s, int policy)
{
    s->c.placer.policy = (enum mlq_place_policy)policy;
    s->c.dirty = true; /* a pass under the policy now in force */
}

void mlq_loop_on_reload(struct mlq_loop *s, mlq_loop_reload_fn fn, void *arg)
{
    s->reload_fn = fn;
    s->reload_arg = arg;
}

/* Reads the signal pipe: true when a stop was asked for. A SIGHUP calls the
 * reload hook here, in the loop, inside the iteration's transaction. */
static bool read_signals(struct mlq_loop *s, int fd)
{
    unsigned char sig[16];
    bool stop = false;
    ssize_t n;
    while ((n = read(fd, sig, sizeof sig)) > 0) {
        for (ssize_t i = 0; i < n; i++) {
            if (sig[i] != SIGHUP)
                stop = true;
            else if (s->reload_fn)
                s->reload_fn(s, s->reload_arg);
        }
    }
    return stop;
}

/* Loads the key registry and adds the --authorize principals. */
static int load_principals(struct mlq_loop *s, const struct mlq_loop_opts *o, struct mlq_err *err)
{
    struct mlq_ctx *c = &s->c;
    int rc = mlq_auth_load(c->auth, c->store, err);
    mlq_store_set_actor(c->store, "bootstrap");
    for (size_t i = 0; rc == 0 && i < o->nauthorize; i++)
        rc = authorize_one(c, o->authorize[i], err);
    mlq_store_set_actor(c->store, NULL);
    return rc;
}

/* A worker on its current connection that registered with "batch": the
 * flush sends it one message for all the iteration has for it (assigns,
 * kills, report acks) instead of one each. */
static bool takes_batch(const struct mlq_peer *peer, void *arg)
{
    const struct mlq_worker *w = mlq_workers_by_peer(((struct mlq_ctx *)arg)->workers, peer);
    return w && w->batch;
}

int mlq_loop_create(const struct mlq_loop_opts *o, struct mlq_loop **out, struct mlq_err *err)
{
    struct mlq_loop *s = calloc(1, sizeof *s);
    if (!s)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    struct mlq_ctx *c = &s->c;
    c->insecure = o->insecure;
    c->allow_root = o->allow_root;
    c->heartbeat_ms = o->heartbeat_ms;
    c->lease_ms = o->lease_ms;
    c->kill_grace_ms = o->kill_grace_ms;
    c->preempt_grace_default_ms = o->preempt_grace_default_ms;
    c->preempt_grace_max_ms = o->preempt_grace_max_ms;
    c->preempt_min_runtime_ms = o->preempt_min_runtime_ms;
    c->age_step_ms = o->age_step_ms;
    c->default_limit_ms = o->default_limit_ms;
    c->placer.policy = (enum mlq_place_policy)o->placement;
    c->fs_half_life_ms = o->fairshare_half_life_ms;
    c->now_mono = mlq_clock_mono_ms();
    s->time_scale = o->time_scale;
    s->time_offset_ms = o->time_offset_ms;
    s->start_wall = mlq_clock_wall_ms();
    s->start_mono = mlq_clock_mono_ms();
    c->now_wall = sched_wall(s);
    char path[MLQ_MAX_PATH + 16];
    snprintf(path, sizeof path, "%s/mlq.db", o->state_dir);
    int rc = mlq_store_open(path, &c->store, err);
    if (rc == 0)
        mlq_store_defer_checkpoints(c->store); /* copied after the replies (run loop) */
    if (rc == 0 &&
        (!(c->backup = mlq_backup_create(path)) || !(c->acctrun = mlq_acctrun_create(path))))
        rc = mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    if (rc == 0 && !(c->metrics = mlq_metrics_create(o->state_dir)))
        rc = mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    if (rc == 0)
        rc = mlq_ctx_init_memory(c, err);
    if (rc == 0 && (!(c->out = mlq_outbox_create()) || !(c->logs = mlq_logrelay_create()) ||
                    !(c->auth = mlq_auth_create())))
        rc = mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    if (rc == 0)
        mlq_outbox_set_batching(c->out, takes_batch, c);
    snprintf(path, sizeof path, "%s/logs", o->state_dir);
    if (rc == 0)
        rc = mlq_logstore_open(path, &c->logstore, err);
    struct mlq_retention_opts ro = {o->retain_jobs_ms, o->retain_events_ms, o->retain_logs_bytes};
    if (rc == 0)
        rc = mlq_retention_create(&ro, &s->retention, err);
    if (rc == 0)
        rc = mlq_recover_run(c, err);
    if (rc == 0)
        rc = mlq_schedules_load(c, err);
    if (rc == 0 && !o->insecure)
        rc = load_principals(s, o, err);
    if (rc == 0)
        rc = mlq_store_commit(c->store, err);
    if (rc == 0 && !(s->zctx = zmq_ctx_new()))
        rc = mlq_err_set(err, MLQ_EIO, "zmq_ctx_new: %s", zmq_strerror(errno));
    if (rc == 0)
        rc = bind_router(s, o, err);
    if (rc == 0)
        rc = bind_local(s, err);
    if (rc < 0) {
        mlq_loop_destroy(&s);
        return rc;
    }
    *out = s;
    return 0;
}

void mlq_loop_destroy(struct mlq_loop **sp)
{
    if (!sp || !*sp)
        return;
    struct mlq_loop *s = *sp;
    if (s->c.router)
        zmq_close(s->c.router);
    if (s->c.local)
        zmq_close(s->c.local);
    s->c.zap = NULL;
    mlq_zap_destroy(&s->zap);
    if (s->zctx)
        zmq_ctx_term(s->zctx);
    mlq_auth_destroy(&s->c.auth);
    mlq_backup_destroy(&s->c.backup); /* before the store: stops its copy first */
    mlq_acctrun_destroy(&s->c.acctrun);
    mlq_store_close(&s->c.store);
    mlq_ctx_free_memory(&s->c);
    free(s->c.ended);
    free(s->c.late);
    mlq_outbox_destroy(&s->c.out);
    mlq_logrelay_destroy(&s->c.logs);
    mlq_logstore_close(&s->c.logstore);
    mlq_retention_destroy(&s->retention);
    mlq_metrics_destroy(&s->c.metrics);
    free(s);
    *sp = NULL;
}

static void reply_error(struct mlq_ctx *c, const struct mlq_peer *peer, uint64_t rid,
                        const struct mlq_err *e)
{
    struct mlq_msg m = {.type = MLQ_MSG_ERROR, .rid = rid};
    m.u.error.code = e->code;
    m.u.error.msg = (char *)e->msg;
    mlq_outbox_reply(c->out, peer, &m, NULL);
}

/* A body in a wire protocol version this scheduler does not speak: an
 * "error" naming both sides' versions, written in the peer's own version
 * (the layout of "error" never changes) and echoing its rid, so that an
 * older or newer mlq or mlq-worker can read it and stop. */
static void refuse_version(struct mlq_ctx *c, const struct mlq_peer *peer,
                           const struct mlq_msg *got)
{
    struct mlq_err e = {0};
    if (got->wire_v > MLQ_PROTO_MAX)
        mlq_err_set(&e, MLQ_EPROTO,
                    "scheduler %s speaks wire protocol %d..%d; this client speaks %u: upgrade "
                    "the scheduler, or use an mlq of release %s",
                    mlq_version(), MLQ_PROTO_MIN, MLQ_PROTO_MAX, got->wire_v, mlq_version());
    else
        mlq_err_set(&e, MLQ_EPROTO,
                    "scheduler %s speaks wire protocol %d..%d; this client speaks %u: upgrade "
                    "it to release %s",
                    mlq_version(), MLQ_PROTO_MIN, MLQ_PROTO_MAX, got->wire_v, mlq_version());
    mlq_warn("refused a request in wire protocol %u (this scheduler speaks %d..%d) from %.64s",
             got->wire_v, MLQ_PROTO_MIN, MLQ_PROTO_MAX,
             peer->user_id[0] ? peer->user_id : "an unauthenticated peer");
    struct mlq_msg m = {.type = MLQ_MSG_ERROR, .rid = got->rid, .wire_v = got->wire_v};
    /* MLQ_EPROTO, a code every release knows (an older mlq shows the text
     * of a code it knows); speaks_min/max tell a newer one it was refused. */
    m.u.error.code = MLQ_EPROTO;
    m.u.error.msg = e.msg;
    mlq_outbox_reply(c->out, peer, &m, NULL);
}

/* Decodes, checks the sender, runs the handler; answers errors. */
/* Refuses the message unless its sender's identity has a role allowed to
 * send it (and, for worker traffic, is a registered worker connection). */
static int admit(struct mlq_ctx *c, const struct mlq_peer *peer, const struct mlq_msg *msg,
                 struct mlq_err *e)
{
    if ((unsigned)msg->type >= MLQ_MSG_TYPE_COUNT || !handlers[msg->type].fn)
        return mlq_err_set(e, MLQ_EPROTO, "message type %s is not a request",
                           mlq_proto_type_name(msg->type));
    /* HTTP requests always carry a token's identity, even when insecure. */
    int rc = mlq_auth_identity(peer->user_id, c->insecure && !peer->local, &c->who, e);
    if (rc < 0)
        return rc;
    if (!(c->who.roles & handlers[msg->type].roles))
        return mlq_auth_refuse(&c->who, msg->type, handlers[msg->type].roles, e);
    struct mlq_worker *w;
    if (handlers[msg->type].from == FROM_WORKER && (rc = mlq_wproto_sender(c, peer, &w, e)) < 0)
        return rc;
    return 0;
}

/* Submits and worker traffic never read jobs from the store; anything else
 * may, and must find the jobs submitted earlier in this iteration there. */
static bool reads_jobs(enum mlq_msg_type t)
{
    return t != MLQ_MSG_SUBMIT && t != MLQ_MSG_HEARTBEAT && t != MLQ_MSG_REPORT;
}

static void handle_one(struct mlq_loop *s, const struct mlq_peer *peer, struct mlq_msg *msg)
{
    struct mlq_ctx *c = &s->c;
    struct mlq_err e = {0};
    int rc = admit(c, peer, msg, &e);
    if (rc == 0 && c->nlate && reads_jobs(msg->type))
        rc = mlq_jobops_flush(c, &e);
    if (rc == 0)
        mlq_debug("request %s (rid %llu) from %.64s", mlq_proto_type_name(msg->type),
                  (unsigned long long)msg->rid, c->who.name[0] ? c->who.name : "?");
    if (rc == 0) {
        /* Every event the request appends names who asked for it. */
        mlq_store_set_actor(c->store, c->insecure && !peer->local ? "insecure" : peer->user_id);
        rc = handlers[msg->type].fn(c, peer, msg, &e);
        mlq_store_set_actor(c->store, NULL);
    }
    if (rc == MLQ_EDB) {
        s->failed = true;
        s->fail_err = e;
    } else if (rc < 0) {
        if (msg->type == MLQ_MSG_SUBMIT || msg->type == MLQ_MSG_SUBMIT_MANY)
            mlq_metrics_rejected(c->metrics);
        reply_error(c, peer, msg->rid, &e);
    }
}

/* One entry of a worker's batch (wproto.h), as if it had come alone. */
static bool batch_entry(void *arg, const struct mlq_peer *peer, struct mlq_msg *one)
{
    struct mlq_loop *s = arg;
    handle_one(s, peer, one);
    return !s->failed;
}

/* After a database failure the rest of the batch goes with the iteration:
 * the worker sends its reports again until they are acknowledged. */
static void handle_batch(struct mlq_loop *s, const struct mlq_peer *peer, struct mlq_msg *batch)
{
    struct mlq_ctx *c = &s->c;
    struct mlq_err e = {0};
    int rc = mlq_auth_identity(peer->user_id, c->insecure && !peer->local, &c->who, &e);
    if (rc == 0)
        rc = mlq_wproto_on_batch(c, peer, batch, batch_entry, s, &e);
    if (rc < 0)
        reply_error(c, peer, batch->rid, &e);
}

static void drain_socket(struct mlq_loop *s)
{
    for (int i = 0; i < BATCH_MAX && !s->failed; i++) {
        struct mlq_peer peer;
        struct mlq_msg msg;
        struct mlq_err e = {0};
        int rc = mlq_transport_recv_from(s->c.router, &peer, &msg, &e);
        if (rc == MLQ_EUNAVAIL)
            return;
        if (rc == MLQ_EVERSION) {
            refuse_version(&s->c, &peer, &msg);
            continue;
        }
        if (rc < 0) {
            mlq_warn("bad message: %s", e.msg);
            if (rc == MLQ_EPROTO)
                reply_error(&s->c, &peer, 0, &e);
            continue;
        }
        if (msg.type == MLQ_MSG_BATCH) {
            handle_batch(s, &peer, &msg);
            i += (int)msg.u.batch.n - 1; /* each entry counts as a message */
        } else {
            handle_one(s, &peer, &msg);
        }
        mlq_proto_msg_free(&msg);
    }
}

/* One request from an HTTP thread: [routing id]["" delimiter][token
 * hash][body]. The hash is looked up here, on the loop, so the identity
 * comes from the tokens table and nothing else; only this in-process socket
 * can set it. Returns MLQ_EUNAVAIL when nothing is queued. */
static int recv_local(struct mlq_loop *s, struct mlq_peer *peer, struct mlq_msg *msg,
                      struct mlq_err *e)
{
    zmq_msg_t part[4];
    int n = 0, more = 1;
    memset(peer, 0, sizeof *peer);
    memset(msg, 0, sizeof *msg);
    peer->local = true;
    while (more) {
        zmq_msg_t scratch, *p = n < 4 ? &part[n] : &scratch;
        zmq_msg_init(p);
        if (zmq_msg_recv(p, s->c.local, n == 0 ? ZMQ_DONTWAIT : 0) < 0) {
            zmq_msg_close(p);
            for (int i = 0; i < n && i < 4; i++)
                zmq_msg_close(&part[i]);
            return n == 0 ? MLQ_EUNAVAIL : mlq_err_set(e, MLQ_EPROTO, "truncated API request");
        }
        more = zmq_msg_more(p);
        if (p == &scratch)
            zmq_msg_close(p);
        n++;
    }
    int rc = 0;
    size_t idlen = zmq_msg_size(&part[0]);
    peer->len = idlen > MLQ_ROUTING_ID_MAX ? MLQ_ROUTING_ID_MAX : idlen;
    memcpy(peer->id, zmq_msg_data(&part[0]), peer->len);
    char hash[MLQ_TOKEN_HASH_HEX + 1];
    if (n != 4 || zmq_msg_size(&part[2]) != MLQ_TOKEN_HASH_HEX)
        rc = mlq_err_set(e, MLQ_EPROTO, "malformed API request");
    if (rc == 0) {
        memcpy(hash, zmq_msg_data(&part[2]), MLQ_TOKEN_HASH_HEX);
        hash[MLQ_TOKEN_HASH_HEX] = '\0';
        rc = mlq_proto_decode(zmq_msg_data(&part[3]), zmq_msg_size(&part[3]), msg, e);
    }
    if (rc == 0)
        rc = mlq_tokens_identity(&s->c, hash, peer->user_id, sizeof peer->user_id, e);
    if (rc < 0 && rc != MLQ_EPROTO && msg->rid == 0)
        rc = MLQ_EPROTO; /* cannot answer a request we could not read */
    for (int i = 0; i < n && i < 4; i++)
        zmq_msg_close(&part[i]);
    return rc;
}

static void drain_local(struct mlq_loop *s)
{
    for (int i = 0; s->c.local && i < BATCH_MAX && !s->failed; i++) {
        struct mlq_peer peer;
        struct mlq_msg msg;
        struct mlq_err e = {0};
        int rc = recv_local(s, &peer, &msg, &e);
        if (rc == MLQ_EUNAVAIL)
            return;
        if (rc < 0) {
            reply_error(&s->c, &peer, msg.rid, &e);
            mlq_proto_msg_free(&msg);
            continue;
        }
        handle_one(s, &peer, &msg);
        mlq_proto_msg_free(&msg);
    }
}

/* Throws away the iteration and rebuilds memory from the database, as at
 * start-up. Workers find out through the "register first" answer to their
 * next heartbeat, and re-register with the attempts they hold. */
static int reload(struct mlq_loop *s, struct mlq_err *err)
{
    struct mlq_ctx *c = &s->c;
    mlq_store_rollback(c->store);
    mlq_jobops_forget_late(c);
    mlq_ctx_free_memory(c);
    int rc = mlq_ctx_init_memory(c, err);
    if (rc == 0)
        rc = mlq_recover_run(c, err);
    if (rc == 0)
        rc = mlq_schedules_load(c, err);
    if (rc == 0)
        rc = mlq_store_commit(c->store, err);
    return rc;
}

static void end_iteration(struct mlq_loop *s)
{
    struct mlq_ctx *c = &s->c;
    struct mlq_err e = {0};
    if (!s->failed && mlq_jobops_flush(c, &e) < 0) {
        s->failed = true;
        s->fail_err = e;
    }
    /* Before the acknowledgements of the uploads it stored leave. */
    if (!s->failed && mlq_logstore_sync(c->logstore, &e) < 0) {
        s->failed = true;
        s->fail_err = e;
    }
    if (!s->failed) {
        bool wrote = mlq_store_in_tx(c->store);
        int64_t t0 = wrote ? mlq_metrics_now_us() : 0;
        if (mlq_store_commit(c->store, &e) < 0) {
            s->failed = true;
            s->fail_err = e;
        } else if (wrote) {
            mlq_metrics_commit_us(c->metrics, mlq_metrics_now_us() - t0);
        }
    }
    if (!s->failed && mlq_auth_apply_staged(c->auth) < 0)
        mlq_error("out of memory applying a committed key change; restart the scheduler");
    if (s->failed) {
        mlq_auth_drop_staged(c->auth);
        mlq_error("database write failed, iteration rolled back: %s", s->fail_err.msg);
        char msg[MLQ_ERR_MSG_MAX + 32];
        snprintf(msg, sizeof msg, "database error: %s", s->fail_err.msg);
        mlq_outbox_fail(c->out, MLQ_EDB, msg);
        if (reload(s, &e) < 0) {
            mlq_error("reload from database failed: %s", e.msg);
            s->next_tick = c->now_mono + DB_RETRY_MS;
        }
        s->failed = false;
    }
    mlq_outbox_flush(c->out, c->router, c->local);
}

static void run_timers(struct mlq_loop *s)
{
    struct mlq_ctx *c = &s->c;
    if (c->now_mono < s->next_tick || s->failed)
        return;
    s->next_tick = c->now_mono + TICK_MS;
    int64_t next_due;
    if (mlq_queue_release_due(c->queue, c->now_wall, &next_due) > 0)
        c->dirty = true; /* a retry's backoff is over */
    struct mlq_err e = {0};
    mlq_health_tick(c);
    if (mlq_workerloss_check_leases(c, &e) < 0 || mlq_deliver_tick(c, &e) < 0 ||
        mlq_schedules_tick(c, &e) < 0) {
        s->failed = true;
        s->fail_err = e;
    }
    mlq_client_expire_logs(c);
    mlq_backup_poll(c);
    mlq_acctrun_poll(c);
    /* Idempotency keys are kept 7 days; sweep hourly. */
    if (c->now_mono >= s->next_purge) {
        s->next_purge = c->now_mono + 3600 * 1000;
        if (mlq_store_begin(c->store, &e) < 0 ||
            mlq_store_idem_purge(c->store, c->now_wall - IDEM_KEEP_MS, &e) < 0) {
            s->failed = true;
            s->fail_err = e;
        }
    }
}

/* Finished jobs, old events, logs over the cap: a small batch when one is
 * due, in its own short transaction after the iteration's replies and
 * assignments are out, so that it never delays them. It touches nothing in
 * memory, so a failure only rolls the batch back. */
static void run_retention(struct mlq_loop *s)
{
    struct mlq_ctx *c = &s->c;
    struct mlq_err e = {0};
    int rc = mlq_retention_tick(s->retention, c, &e);
    if (rc == 0)
        rc = mlq_store_commit(c->store, &e);
    if (rc < 0) {
        mlq_store_rollback(c->store);
        mlq_retention_rolled_back(s->retention);
        mlq_warn("retention batch rolled back (tried again later): %s", e.msg);
        return;
    }
    mlq_retention_committed(s->retention, c);
}

static void schedule_if_dirty(struct mlq_loop *s)
{
    struct mlq_err e = {0};
    if (s->c.nended && !s->failed && mlq_jobops_settle(&s->c, &e) < 0) {
        s->failed = true;
        s->fail_err = e;
    }
    if (s->c.dirty && !s->failed && mlq_jobops_schedule(&s->c, &e) < 0) {
        s->failed = true;
        s->fail_err = e;
    }
}

/* Whether messages already wait on the router: the next iteration starts
 * at once (zmq_poll would not wait), so a checkpoint may wait for more WAL
 * (mlq_store_checkpoint_idle). */
static bool requests_wait(void *router)
{
    int events = 0;
    size_t len = sizeof events;
    return zmq_getsockopt(router, ZMQ_EVENTS, &events, &len) == 0 && (events & ZMQ_POLLIN);
}

int mlq_loop_run(struct mlq_loop *s, int stop_fd, struct mlq_err *err)
{
    struct mlq_ctx *c = &s->c;
    bool stop = false;
    mlq_log_hold(true); /* an iteration's lines go out in one write, before the wait */
    while (!stop) {
        int64_t wait = s->next_tick - mlq_clock_mono_ms();
        zmq_pollitem_t items[] = {{c->router, 0, ZMQ_POLLIN, 0},
                                  {NULL, stop_fd, ZMQ_POLLIN, 0},
                                  {c->local, -1, ZMQ_POLLIN, 0}};
        int n = zmq_poll(items, 3, wait < 0 ? 0 : (long)wait);
        if (n < 0 && errno != EINTR) {
            mlq_log_hold(false);
            return mlq_err_set(err, MLQ_EIO, "zmq_poll: %s", zmq_strerror(errno));
        }
        int64_t t0 = mlq_metrics_now_us();
        c->now_mono = mlq_clock_mono_ms();
        c->now_wall = sched_wall(s);
        if (n > 0 && (items[1].revents & ZMQ_POLLIN))
            stop = read_signals(s, stop_fd);
        drain_socket(s);
        drain_local(s);
        run_timers(s);
        schedule_if_dirty(s);
        end_iteration(s);
        run_retention(s);
        mlq_store_checkpoint_idle(c->store, requests_wait(c->router));
        mlq_metrics_iteration_us(c->metrics, mlq_metrics_now_us() - t0);
        mlq_log_flush();
    }
    mlq_log_hold(false);
    return 0;
}
