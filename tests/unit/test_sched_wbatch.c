/* A worker's batch (wproto.h, mlq_wproto_on_batch): each entry is handled
 * as if it had come alone, in order, with its own reply; a bad entry or a
 * nested batch is refused alone and the rest still run; a batch from a
 * key that is not a registered worker's is refused whole. A real (file)
 * store; the outbox stands in for the socket. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "jobops.h"
#include "sched_fixture.h"
#include "wproto.h"

struct run {
    struct mlq_ctx *c;
    int calls, stop_after; /* stop_after 0: never stop */
};

/* What the loop does with one entry, for the worker messages used here. */
static bool entry(void *arg, const struct mlq_peer *peer, struct mlq_msg *one)
{
    struct run *r = arg;
    r->calls++;
    int rc = one->type == MLQ_MSG_REPORT      ? mlq_wproto_on_report(r->c, peer, one, NULL)
             : one->type == MLQ_MSG_HEARTBEAT ? mlq_wproto_on_heartbeat(r->c, peer, one, NULL)
                                              : -1;
    assert_int_equal(rc, 0);
    return r->stop_after == 0 || r->calls < r->stop_after;
}

static int setup(void **state)
{
    return sched_fx_open(state, "wbatch", 10000);
}

static void clear_outbox(struct mlq_ctx *c)
{
    mlq_outbox_destroy(&c->out);
    c->out = mlq_outbox_create();
}

/* Reply i of the outbox, decoded. */
static void reply_at(struct mlq_ctx *c, size_t i, struct mlq_msg *m)
{
    size_t len;
    const char *body = mlq_outbox_body(c->out, i, &len);
    assert_non_null(body);
    assert_int_equal(mlq_proto_decode(body, len, m, NULL), 0);
}

static void put(char **bodies, size_t *lens, size_t i, const struct mlq_msg *m)
{
    assert_int_equal(mlq_proto_encode(m, &bodies[i], &lens[i], NULL), 0);
}

static struct mlq_msg report(const char *attempt_id, enum mlq_report_phase phase, uint64_t rid)
{
    struct mlq_msg m = {.type = MLQ_MSG_REPORT, .rid = rid};
    memcpy(m.u.report.attempt_id, attempt_id, sizeof m.u.report.attempt_id);
    m.u.report.phase = phase;
    m.u.report.outcome = phase == MLQ_PHASE_STARTED ? MLQ_OUT_NONE : MLQ_OUT_EXITED;
    m.u.report.pid = 42;
    return m;
}

/* A decoded batch of the n bodies (as the loop receives it). */
static void decoded_batch(char **bodies, size_t *lens, uint32_t n, struct mlq_msg *out)
{
    struct mlq_msg b = {.type = MLQ_MSG_BATCH, .rid = 0};
    b.u.batch.bodies = (const char **)bodies;
    b.u.batch.lens = lens;
    b.u.batch.n = n;
    char *buf;
    size_t len;
    assert_int_equal(mlq_proto_encode(&b, &buf, &len, NULL), 0);
    assert_int_equal(mlq_proto_decode(buf, len, out, NULL), 0);
    free(buf);
}

static void assert_ack(struct mlq_ctx *c, size_t i, uint64_t rid, enum mlq_report_phase phase)
{
    struct mlq_msg m;
    reply_at(c, i, &m);
    assert_int_equal(m.type, MLQ_MSG_REPORT_ACK);
    assert_int_equal(m.rid, rid);
    assert_int_equal(m.u.report_ack.phase, phase);
    assert_true(m.u.report_ack.accepted);
    mlq_proto_msg_free(&m);
}

static void assert_refused(struct mlq_ctx *c, size_t i)
{
    struct mlq_msg m;
    reply_at(c, i, &m);
    assert_int_equal(m.type, MLQ_MSG_ERROR);
    assert_int_equal(m.u.error.code, MLQ_EPROTO);
    mlq_proto_msg_free(&m);
}

/* started, garbage, a nested batch, finished: both reports applied and
 * acknowledged in order, the two bad entries refused between them. */
static void test_entries_each_alone(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_worker *w = sched_worker_up(c, "w1", 0);
    sched_speak_as(c, "w1", MLQ_ROLE_WORKER);
    struct mlq_jobspec spec = sched_spec("alice", 1000, 0);
    char id[MLQ_ID_LEN + 1];
    assert_int_equal(mlq_jobops_submit(c, &spec, id, NULL), 0);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    sched_commit(c);
    struct mlq_job *job = mlq_jobtab_get(c->jobs, id);
    assert_true(job && job->live);
    char att[MLQ_ID_LEN + 1];
    memcpy(att, job->att->id, sizeof att);
    clear_outbox(c);

    char *bodies[4], *inner[1];
    size_t lens[4], inner_lens[1];
    struct mlq_msg m = report(att, MLQ_PHASE_STARTED, 11);
    put(bodies, lens, 0, &m);
    bodies[1] = strdup("\x81\xa1v"); /* a map cut short */
    lens[1] = 3;
    m = (struct mlq_msg){.type = MLQ_MSG_HEARTBEAT, .rid = 12};
    put(inner, inner_lens, 0, &m);
    struct mlq_msg nested = {.type = MLQ_MSG_BATCH};
    nested.u.batch.bodies = (const char **)inner;
    nested.u.batch.lens = inner_lens;
    nested.u.batch.n = 1;
    put(bodies, lens, 2, &nested);
    m = report(att, MLQ_PHASE_FINISHED, 14);
    put(bodies, lens, 3, &m);
    struct mlq_msg batch;
    decoded_batch(bodies, lens, 4, &batch);

    struct run r = {.c = c};
    assert_int_equal(mlq_wproto_on_batch(c, &w->peer, &batch, entry, &r, NULL), 0);
    assert_int_equal(r.calls, 2);
    assert_int_equal(mlq_outbox_count(c->out), 4);
    assert_ack(c, 0, 11, MLQ_PHASE_STARTED);
    assert_refused(c, 1);
    assert_refused(c, 2);
    assert_ack(c, 3, 14, MLQ_PHASE_FINISHED);
    job = mlq_jobtab_get(c->jobs, id);
    assert_true(!job || !job->live); /* its attempt is over */
    sched_commit(c);
    mlq_proto_msg_free(&batch);
    for (int i = 0; i < 4; i++)
        free(bodies[i]);
    free(inner[0]);
}

static struct mlq_msg heartbeats(char **bodies, size_t *lens, uint32_t n)
{
    for (uint32_t i = 0; i < n; i++) {
        struct mlq_msg m = {.type = MLQ_MSG_HEARTBEAT, .rid = 100 + i};
        m.u.heartbeat.name = "w1";
        put(bodies, lens, i, &m);
    }
    struct mlq_msg batch;
    decoded_batch(bodies, lens, n, &batch);
    for (uint32_t i = 0; i < n; i++)
        free(bodies[i]);
    return batch;
}

/* A user's key, or a worker's connection that has not registered: the
 * whole batch is refused and no entry runs. */
static void test_refused_whole(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_worker *w = sched_worker_up(c, "w1", 0);
    char *bodies[2];
    size_t lens[2];
    struct mlq_msg batch = heartbeats(bodies, lens, 2);
    struct run r = {.c = c};
    struct mlq_err e = {0};
    sched_speak_as(c, "w1", MLQ_ROLE_USER);
    assert_int_equal(mlq_wproto_on_batch(c, &w->peer, &batch, entry, &r, &e), MLQ_EPERM);
    sched_speak_as(c, "w2", MLQ_ROLE_WORKER);
    struct mlq_peer stranger = {.len = 2, .id = "w2"};
    assert_int_equal(mlq_wproto_on_batch(c, &stranger, &batch, entry, &r, &e), MLQ_ENOTFOUND);
    sched_speak_as(c, "w2", MLQ_ROLE_WORKER); /* another worker's key on w1's connection */
    assert_int_equal(mlq_wproto_on_batch(c, &w->peer, &batch, entry, &r, &e), MLQ_EPERM);
    assert_int_equal(r.calls, 0);
    assert_int_equal(mlq_outbox_count(c->out), 0);
    mlq_proto_msg_free(&batch);
}

/* The entry handler says the iteration failed: the rest is not run. */
static void test_stops_on_failure(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_worker *w = sched_worker_up(c, "w1", 0);
    sched_speak_as(c, "w1", MLQ_ROLE_WORKER);
    char *bodies[3];
    size_t lens[3];
    struct mlq_msg batch = heartbeats(bodies, lens, 3);
    struct run r = {.c = c, .stop_after = 2};
    assert_int_equal(mlq_wproto_on_batch(c, &w->peer, &batch, entry, &r, NULL), 0);
    assert_int_equal(r.calls, 2);
    assert_int_equal(mlq_outbox_count(c->out), 2);
    mlq_proto_msg_free(&batch);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_entries_each_alone, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_refused_whole, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_stops_on_failure, setup, sched_fx_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
