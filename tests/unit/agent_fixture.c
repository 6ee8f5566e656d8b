/* agent_fixture: see agent_fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "agent_fixture.h"
#include "clock.h"
#include "exec.h"
#include "testdir.h"
#include "testuser.h"

int agent_fx_setup(void **state, const char *name)
{
    struct agent_fx *f = calloc(1, sizeof *f);
    struct mlq_err e;
    if (!f || testdir_make(f->root, sizeof f->root, name) < 0)
        return -1;
    snprintf(f->endpoint, sizeof f->endpoint, "inproc://%s-%ld", name, (long)getpid());
    f->zctx = zmq_ctx_new();
    if (mlq_transport_router(f->zctx, f->endpoint, &f->router, &e) < 0 ||
        mlq_spool_open(f->root, &f->sp, &e) < 0 || pipe2(f->sig, O_NONBLOCK | O_CLOEXEC) != 0)
        return -1;
    f->shim = mlq_exec_default_shim();
    *state = f;
    return 0;
}

int agent_fx_teardown(void **state)
{
    struct agent_fx *f = *state;
    mlq_agent_destroy(&f->agent);
    if (f->zap)
        zmq_close(f->zap);
    zmq_close(f->router);
    zmq_ctx_term(f->zctx);
    mlq_spool_close(&f->sp);
    close(f->sig[0]);
    close(f->sig[1]);
    while (waitpid(-1, NULL, f->reap_wait ? 0 : WNOHANG) > 0)
        ;
    testdir_remove(f->root);
    free(f->shim);
    free(f);
    return 0;
}

void agent_fx_need_shim(struct agent_fx *f)
{
    if (access(f->shim, X_OK) != 0) {
        fprintf(stderr, "%s not built: skipping\n", f->shim);
        skip();
    }
}

struct mlq_agent_config agent_fx_config(struct agent_fx *f)
{
    return (struct mlq_agent_config){
        .endpoint = f->endpoint,
        .name = "w1",
        .shim_path = f->shim,
        .cpus_m = 2000,
        .mem = 1 << 30,
        .heartbeat_ms = 200,
        .signal_fd = f->sig[0],
        .zctx = f->zctx,
    };
}

void agent_fx_create(struct agent_fx *f, const struct mlq_agent_config *cfg)
{
    struct mlq_err e;
    assert_int_equal(mlq_agent_create(cfg, f->sp, &f->agent, &e), 0);
}

void agent_fx_step_for(struct agent_fx *f, int ms)
{
    int64_t end = mlq_clock_mono_ms() + ms;
    struct mlq_err e;
    while (mlq_clock_mono_ms() < end)
        mlq_agent_step(f->agent, 10, &e);
}

static void answer_heartbeat(struct agent_fx *f, const struct mlq_msg *m)
{
    struct mlq_err e;
    struct mlq_msg ack = {.type = MLQ_MSG_HB_ACK, .rid = m->rid};
    mlq_transport_send_to(f->router, &f->peer, &ack, &e);
}

void agent_fx_expect(struct agent_fx *f, enum mlq_msg_type t, struct mlq_msg *out)
{
    int64_t end = mlq_clock_mono_ms() + AGENT_FX_WAIT;
    struct mlq_err e;
    while (mlq_clock_mono_ms() < end) {
        assert_int_equal(mlq_agent_step(f->agent, 10, &e), 0);
        struct mlq_msg m;
        if (mlq_transport_recv_from(f->router, &f->peer, &m, &e) < 0)
            continue;
        if (m.type == t) {
            *out = m;
            return;
        }
        if (m.type == MLQ_MSG_HEARTBEAT)
            answer_heartbeat(f, &m);
        mlq_proto_msg_free(&m);
    }
    fail_msg("no '%s' message within %d ms", mlq_proto_type_name(t), AGENT_FX_WAIT);
}

void agent_fx_idle_for(struct agent_fx *f, int ms)
{
    int64_t end = mlq_clock_mono_ms() + ms;
    struct mlq_err e;
    while (mlq_clock_mono_ms() < end) {
        assert_int_equal(mlq_agent_step(f->agent, 10, &e), 0);
        struct mlq_msg m;
        struct mlq_peer peer; /* f->peer stays valid when nothing came */
        if (mlq_transport_recv_from(f->router, &peer, &m, &e) < 0)
            continue;
        f->peer = peer;
        if (m.type == MLQ_MSG_HEARTBEAT)
            answer_heartbeat(f, &m);
        mlq_proto_msg_free(&m);
    }
}

void agent_fx_send(struct agent_fx *f, struct mlq_msg *m)
{
    struct mlq_err e;
    m->rid = ++f->rid;
    assert_int_equal(mlq_transport_send_to(f->router, &f->peer, m, &e), 0);
}

void agent_fx_answer(struct agent_fx *f, const struct mlq_msg *req, struct mlq_msg *m)
{
    struct mlq_err e;
    m->rid = req->rid;
    assert_int_equal(mlq_transport_send_to(f->router, &f->peer, m, &e), 0);
}

void agent_fx_register(struct agent_fx *f, struct mlq_msg *reg, int64_t lease_ms)
{
    agent_fx_expect(f, MLQ_MSG_REGISTER, reg);
    struct mlq_msg r = {.type = MLQ_MSG_REGISTERED};
    r.u.registered.heartbeat_ms = 200;
    r.u.registered.lease_ms = lease_ms;
    agent_fx_answer(f, reg, &r);
}

void agent_fx_fill_assign(struct agent_fx *f, struct mlq_msg *msg, const char *att, char **argv,
                          uint32_t argc, int32_t *gpus, uint32_t ngpus)
{
    struct mlq_msg m = {.type = MLQ_MSG_ASSIGN};
    snprintf(m.u.assign.attempt_id, sizeof m.u.assign.attempt_id, "%s", att);
    snprintf(m.u.assign.job_id, sizeof m.u.assign.job_id, "%s", AGENT_FX_JOB);
    m.u.assign.attempt = 1;
    m.u.assign.spec.owner = testuser_self();
    m.u.assign.allow_root = true;
    m.u.assign.spec.argv = argv;
    m.u.assign.spec.argc = argc;
    m.u.assign.spec.workdir = f->root;
    m.u.assign.spec.cpus_m = 1000;
    m.u.assign.spec.mem = 1 << 20;
    m.u.assign.spec.gpus = (int32_t)ngpus;
    m.u.assign.gpu_ids = gpus;
    m.u.assign.ngpu_ids = ngpus;
    m.u.assign.kill_grace_ms = 1000;
    *msg = m;
}
