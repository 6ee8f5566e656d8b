/* loop: see loop.h. */
#include "loop.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <zmq.h>

#include "admin.h"
#include "client.h"
#include "clock.h"
#include "ctx.h"
#include "fsutil.h"
#include "deps.h"
#include "fairshare.h"
#include "pipeline.h"
#include "schedules.h"
#include "strmap.h"
#include "jobops.h"
#include "log.h"
#include "logrelay.h"
#include "logstore.h"
#include "queue.h"
#include "wproto.h"

#define BATCH_MAX    512  /* messages handled per iteration */
#define TICK_MS      250  /* lease and log-relay checks */
#define DB_RETRY_MS  1000 /* after a failed reload */
#define IDEM_KEEP_MS (7LL * 24 * 3600 * 1000)

enum { FROM_ANY, FROM_WORKER };

/* Which handler serves each message type, and who may send it. Types
 * missing here (replies, scheduler-to-worker messages) are refused. */
static const struct {
    mlq_handler_fn fn;
    int from;
} handlers[MLQ_MSG_TYPE_COUNT] = {
    [MLQ_MSG_SUBMIT] = {mlq_client_on_submit, FROM_ANY},
    [MLQ_MSG_JOBS] = {mlq_client_on_jobs, FROM_ANY},
    [MLQ_MSG_CANCEL] = {mlq_client_on_cancel, FROM_ANY},
    [MLQ_MSG_WORKERS] = {mlq_admin_on_workers, FROM_ANY},
    [MLQ_MSG_DRAIN] = {mlq_admin_on_drain, FROM_ANY},
    [MLQ_MSG_RESUME] = {mlq_admin_on_resume, FROM_ANY},
    [MLQ_MSG_WHY] = {mlq_client_on_why, FROM_ANY},
    [MLQ_MSG_SCHEDULE_ADD] = {mlq_schedules_on_add, FROM_ANY},
    [MLQ_MSG_SCHEDULE_CMD] = {mlq_schedules_on_cmd, FROM_ANY},
    [MLQ_MSG_SCHEDULES] = {mlq_schedules_on_list, FROM_ANY},
    [MLQ_MSG_LOGS] = {mlq_client_on_logs, FROM_ANY},
    [MLQ_MSG_REGISTER] = {mlq_wproto_on_register, FROM_ANY},
    [MLQ_MSG_HEARTBEAT] = {mlq_wproto_on_heartbeat, FROM_WORKER},
    [MLQ_MSG_REPORT] = {mlq_wproto_on_report, FROM_WORKER},
    [MLQ_MSG_LOG_CHUNK] = {mlq_client_on_log_chunk, FROM_WORKER},
    [MLQ_MSG_LOG_UPLOAD] = {mlq_wproto_on_log_upload, FROM_WORKER},
};

struct mlq_loop {
    struct mlq_ctx c;
    void *zctx;
    int64_t next_tick;
    bool failed;            /* the iteration hit a store error: roll it back */
    double time_scale;      /* test clock: wall time runs this much faster */
    int64_t time_offset_ms; /* test clock: shift */
    int64_t start_wall, start_mono;
    int64_t next_purge; /* monotonic time of the next idempotency sweep */
    struct mlq_err fail_err;
};

static int ctx_init_memory(struct mlq_ctx *c, struct mlq_err *err)
{
    c->jobs = mlq_jobtab_create();
    c->queue = mlq_queue_create();
    c->workers = mlq_workers_create();
    c->fs = mlq_fairshare_create(c->fs_half_life_ms);
    c->deps = mlq_deps_create();
    c->arrays = mlq_strmap_create();
    c->scheds = mlq_schedules_create();
    c->nended = 0;
    if (!c->jobs || !c->queue || !c->workers || !c->fs || !c->deps || !c->arrays || !c->scheds)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    return 0;
}

/* Everything ctx_init_memory made, in reverse; the queue and the
 * dependency index point at jobs, so they go before the job table. */
static void ctx_free_memory(struct mlq_ctx *c)
{
    mlq_schedules_destroy(&c->scheds);
    mlq_pipeline_free_arrays(c);
    mlq_deps_destroy(&c->deps);
    mlq_queue_destroy(&c->queue);
    mlq_fairshare_destroy(&c->fs);
    mlq_jobtab_destroy(&c->jobs);
    mlq_workers_destroy(&c->workers);
}

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

int mlq_loop_create(const struct mlq_loop_opts *o, struct mlq_loop **out, struct mlq_err *err)
{
    struct mlq_loop *s = calloc(1, sizeof *s);
    if (!s)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    struct mlq_ctx *c = &s->c;
    c->heartbeat_ms = o->heartbeat_ms;
    c->lease_ms = o->lease_ms;
    c->kill_grace_ms = o->kill_grace_ms;
    c->age_step_ms = o->age_step_ms;
    c->default_limit_ms = o->default_limit_ms;
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
        rc = ctx_init_memory(c, err);
    if (rc == 0 && (!(c->out = mlq_outbox_create()) || !(c->logs = mlq_logrelay_create())))
        rc = mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    snprintf(path, sizeof path, "%s/logs", o->state_dir);
    if (rc == 0)
        rc = mlq_logstore_open(path, &c->logstore, err);
    if (rc == 0)
        rc = mlq_jobops_recover(c, err);
    if (rc == 0)
        rc = mlq_schedules_load(c, err);
    if (rc == 0)
        rc = mlq_store_commit(c->store, err);
    if (rc == 0 && !(s->zctx = zmq_ctx_new()))
        rc = mlq_err_set(err, MLQ_EIO, "zmq_ctx_new: %s", zmq_strerror(errno));
    if (rc == 0)
        rc = mlq_transport_router(s->zctx, o->listen, &c->router, err);
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
    if (s->zctx)
        zmq_ctx_term(s->zctx);
    mlq_store_close(&s->c.store);
    ctx_free_memory(&s->c);
    free(s->c.ended);
    mlq_outbox_destroy(&s->c.out);
    mlq_logrelay_destroy(&s->c.logs);
    mlq_logstore_close(&s->c.logstore);
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

/* Decodes, checks the sender, runs the handler; answers errors. */
static void handle_one(struct mlq_loop *s, const struct mlq_peer *peer, struct mlq_msg *msg)
{
    struct mlq_ctx *c = &s->c;
    struct mlq_err e = {0};
    int rc;
    if ((unsigned)msg->type >= MLQ_MSG_TYPE_COUNT || !handlers[msg->type].fn)
        rc = mlq_err_set(&e, MLQ_EPROTO, "message type %s is not a request",
                         mlq_proto_type_name(msg->type));
    else if (handlers[msg->type].from == FROM_WORKER && !mlq_workers_by_peer(c->workers, peer))
        rc = mlq_err_set(&e, MLQ_ENOTFOUND, "unknown worker connection; register first");
    else
        rc = handlers[msg->type].fn(c, peer, msg, &e);
    if (rc == MLQ_EDB) {
        s->failed = true;
        s->fail_err = e;
    } else if (rc < 0) {
        reply_error(c, peer, msg->rid, &e);
    }
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
        if (rc < 0) {
            mlq_warn("bad message: %s", e.msg);
            if (rc == MLQ_EPROTO)
                reply_error(&s->c, &peer, 0, &e);
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
    ctx_free_memory(c);
    int rc = ctx_init_memory(c, err);
    if (rc == 0)
        rc = mlq_jobops_recover(c, err);
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
    if (!s->failed && mlq_store_commit(c->store, &e) < 0) {
        s->failed = true;
        s->fail_err = e;
    }
    if (s->failed) {
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
    mlq_outbox_flush(c->out, c->router);
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
    if (mlq_jobops_check_leases(c, &e) < 0 || mlq_schedules_tick(c, &e) < 0) {
        s->failed = true;
        s->fail_err = e;
    }
    mlq_client_expire_logs(c);
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

int mlq_loop_run(struct mlq_loop *s, int stop_fd, struct mlq_err *err)
{
    struct mlq_ctx *c = &s->c;
    bool stop = false;
    while (!stop) {
        int64_t wait = s->next_tick - mlq_clock_mono_ms();
        zmq_pollitem_t items[] = {{c->router, 0, ZMQ_POLLIN, 0}, {NULL, stop_fd, ZMQ_POLLIN, 0}};
        int n = zmq_poll(items, 2, wait < 0 ? 0 : (long)wait);
        if (n < 0 && errno != EINTR)
            return mlq_err_set(err, MLQ_EIO, "zmq_poll: %s", zmq_strerror(errno));
        c->now_mono = mlq_clock_mono_ms();
        c->now_wall = sched_wall(s);
        stop = n > 0 && (items[1].revents & ZMQ_POLLIN);
        drain_socket(s);
        run_timers(s);
        schedule_if_dirty(s);
        end_iteration(s);
    }
    return 0;
}
