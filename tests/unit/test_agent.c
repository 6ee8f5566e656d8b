/* agent: drives the real worker loop against a fake scheduler (a ROUTER on
 * inproc://) with real shims (mlq-shim from the build's bin/ folder):
 * registration, assign -> started -> finished, report re-sends until
 * acknowledged, markers in the spool, log reads, kill and fencing,
 * re-registration, re-adoption of a spool left by a dead worker; log
 * uploads (chunks, the cap, eof, empty streams, resuming from the acked
 * offset, retries after an error, after a restart), self-fencing when the
 * scheduler goes silent for its lease, draining, and assignments refused
 * when the spool cannot hold them; over CURVE, a refused key (the agent
 * stops, retries a few seconds later and registers once the key is
 * accepted) and a security mismatch. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "agent.h"
#include "agent_fixture.h"
#include "clock.h"
#include "lease.h"
#include "exec.h"
#include "fsutil.h"
#include "spool.h"
#include "spoolgc.h"
#include "testdir.h"
#include "testuser.h"
#include "transport.h"

#define ATT_1 "11111111-1111-4111-8111-111111111111"
#define ATT_2 "22222222-2222-4222-8222-222222222222"
#define ATT_3 "33333333-3333-4333-8333-333333333333"
#define ATT_4 "44444444-4444-4444-8444-444444444444"

static int setup(void **state)
{
    return agent_fx_setup(state, "agent");
}

/* The fixture's agent with gpus GPUs, a log upload cap, a bound on its
 * attempts and gang rendezvous ports. */
static void start_agent_full(struct agent_fx *f, int32_t gpus, int64_t log_cap,
                             int32_t max_attempts)
{
    agent_fx_need_shim(f);
    struct mlq_agent_config cfg = agent_fx_config(f);
    cfg.gpus = gpus;
    cfg.log_cap = log_cap;
    cfg.max_attempts = max_attempts;
    cfg.rdv_lo = 29400;
    cfg.rdv_hi = 29499;
    agent_fx_create(f, &cfg);
}

static void start_agent_cap(struct agent_fx *f, int32_t gpus, int64_t log_cap)
{
    start_agent_full(f, gpus, log_cap, 0);
}

static void start_agent(struct agent_fx *f, int32_t gpus)
{
    start_agent_cap(f, gpus, 0);
}

static void do_register(struct agent_fx *f, struct mlq_msg *reg)
{
    agent_fx_register(f, reg, 2000);
}

/* Starts the agent with gpus GPUs and answers its registration. */
static void start_registered(struct agent_fx *f, int32_t gpus)
{
    struct mlq_msg reg;
    start_agent(f, gpus);
    do_register(f, &reg);
    mlq_proto_msg_free(&reg);
}

static void assign(struct agent_fx *f, const char *att, char **argv, uint32_t argc, int32_t *gpus,
                   uint32_t ngpus)
{
    struct mlq_msg m;
    agent_fx_fill_assign(f, &m, att, argv, argc, gpus, ngpus);
    agent_fx_send(f, &m);
}

static void ack(struct agent_fx *f, const char *att, enum mlq_report_phase phase, bool accepted)
{
    struct mlq_msg m = {.type = MLQ_MSG_REPORT_ACK};
    snprintf(m.u.report_ack.attempt_id, sizeof m.u.report_ack.attempt_id, "%s", att);
    m.u.report_ack.phase = phase;
    m.u.report_ack.accepted = accepted;
    agent_fx_send(f, &m);
}

static void expect_report(struct agent_fx *f, const char *att, enum mlq_report_phase phase,
                          struct mlq_msg *out)
{
    agent_fx_expect(f, MLQ_MSG_REPORT, out);
    assert_string_equal(out->u.report.attempt_id, att);
    assert_int_equal(out->u.report.phase, phase);
}

/* The scheduler cancels attempt att (a KILL). */
static void cancel(struct agent_fx *f, const char *att)
{
    struct mlq_msg k = {.type = MLQ_MSG_KILL};
    snprintf(k.u.kill.attempt_id, sizeof k.u.kill.attempt_id, "%s", att);
    k.u.kill.reason = "cancelled";
    agent_fx_send(f, &k);
}

/* Attempt att ends SIGTERMed, as a cancel ends it; its report is acked. */
static void expect_cancelled(struct agent_fx *f, const char *att)
{
    struct mlq_msg m;
    expect_report(f, att, MLQ_PHASE_FINISHED, &m);
    assert_int_equal(m.u.report.outcome, MLQ_OUT_SIGNALED);
    assert_int_equal(m.u.report.signal, SIGTERM);
    mlq_proto_msg_free(&m);
    ack(f, att, MLQ_PHASE_FINISHED, true);
}

static void expect_upload(struct agent_fx *f, const char *att, enum mlq_stream stream,
                          struct mlq_msg *out)
{
    agent_fx_expect(f, MLQ_MSG_LOG_UPLOAD, out);
    assert_string_equal(out->u.log_upload.attempt_id, att);
    assert_int_equal(out->u.log_upload.stream, stream);
}

static void upload_ack(struct agent_fx *f, const char *att, enum mlq_stream stream, int64_t offset,
                       int32_t err)
{
    struct mlq_msg m = {.type = MLQ_MSG_LOG_UPLOAD_ACK};
    snprintf(m.u.log_upload_ack.attempt_id, sizeof m.u.log_upload_ack.attempt_id, "%s", att);
    m.u.log_upload_ack.stream = stream;
    m.u.log_upload_ack.offset = offset;
    m.u.log_upload_ack.err = err;
    agent_fx_send(f, &m);
}

/* Expects one whole small stream in one chunk with eof, and acknowledges it. */
static void expect_small_stream(struct agent_fx *f, const char *att, enum mlq_stream stream,
                                const char *text)
{
    struct mlq_msg m;
    expect_upload(f, att, stream, &m);
    assert_int_equal(m.u.log_upload.offset, 0);
    assert_int_equal(m.u.log_upload.skipped, 0);
    assert_true(m.u.log_upload.eof);
    assert_int_equal(m.u.log_upload.len, strlen(text));
    if (*text)
        assert_memory_equal(m.u.log_upload.data, text, strlen(text));
    mlq_proto_msg_free(&m);
    upload_ack(f, att, stream, (int64_t)strlen(text), 0);
}

/* Steps the agent until the shim of att has written its pid file (10 s at
 * most): on a loaded machine a shim may take longer than a step to start. */
static void shim_pid_written(struct agent_fx *f, const char *att)
{
    char path[4096];
    snprintf(path, sizeof path, "%s/attempts/%s/shim.pid", f->root, att);
    int64_t end = mlq_clock_mono_ms() + 10000;
    while (access(path, F_OK) != 0 && mlq_clock_mono_ms() < end)
        agent_fx_step_for(f, 10);
    assert_int_equal(access(path, F_OK), 0);
}

static bool marker(struct agent_fx *f, const char *att, enum mlq_report_phase phase)
{
    char dir[4096];
    assert_int_equal(mlq_spool_attempt_dir(f->sp, att, dir, sizeof dir, NULL), 0);
    return mlq_spool_is_acked(dir, phase);
}

static bool uploaded(struct agent_fx *f, const char *att)
{
    char dir[4096];
    assert_int_equal(mlq_spool_attempt_dir(f->sp, att, dir, sizeof dir, NULL), 0);
    return mlq_spool_is_uploaded(dir);
}

/* Done with: the folder removed, a done record left (spoolgc.h). */
static bool removed(struct agent_fx *f, const char *att)
{
    return !mlq_spool_attempt_exists(f->sp, att) && mlq_spoolgc_was_removed(f->sp, att);
}

static void test_job_round_trip(void **state)
{
    struct agent_fx *f = *state;
    start_agent(f, 0);
    struct mlq_msg m;
    do_register(f, &m);
    assert_string_equal(m.u.reg.name, "w1");
    assert_int_equal(m.u.reg.cpus_m, 2000);
    assert_int_equal(m.u.reg.nattempts, 0);
    assert_int_equal(m.u.reg.rdv_lo, 29400); /* the gang ports it offers */
    assert_int_equal(m.u.reg.rdv_hi, 29499);
    mlq_proto_msg_free(&m);

    char *argv[] = {"/bin/sh", "-c", "echo hi; echo oops >&2; exit 3"};
    assign(f, ATT_1, argv, 3, NULL, 0);
    expect_report(f, ATT_1, MLQ_PHASE_STARTED, &m);
    assert_true(m.u.report.pid > 0);
    assert_int_equal(m.u.report.outcome, MLQ_OUT_NONE);
    mlq_proto_msg_free(&m);
    ack(f, ATT_1, MLQ_PHASE_STARTED, true);

    expect_report(f, ATT_1, MLQ_PHASE_FINISHED, &m);
    assert_int_equal(m.u.report.outcome, MLQ_OUT_EXITED);
    assert_int_equal(m.u.report.exit_code, 3);
    mlq_proto_msg_free(&m);
    assert_true(marker(f, ATT_1, MLQ_PHASE_STARTED));
    assert_false(marker(f, ATT_1, MLQ_PHASE_FINISHED));
    assert_int_equal(mlq_agent_held(f->agent), 1);
    ack(f, ATT_1, MLQ_PHASE_FINISHED, true);
    /* Accepted: the logs go up, stdout then stderr; held until both are. */
    struct mlq_msg up;
    expect_upload(f, ATT_1, MLQ_STREAM_STDOUT, &up);
    assert_true(up.u.log_upload.eof);
    assert_int_equal(up.u.log_upload.len, 3);
    assert_memory_equal(up.u.log_upload.data, "hi\n", 3);
    mlq_proto_msg_free(&up);
    assert_true(marker(f, ATT_1, MLQ_PHASE_FINISHED));
    assert_int_equal(mlq_agent_held(f->agent), 1);
    assert_false(uploaded(f, ATT_1));

    /* Logs stay readable from the worker until they are all uploaded (read
     * while the stdout chunk waits for its ack: nothing else is sent). */
    struct mlq_msg rd = {.type = MLQ_MSG_LOG_READ};
    rd.u.log_read.token = 77;
    snprintf(rd.u.log_read.attempt_id, sizeof rd.u.log_read.attempt_id, "%s", ATT_1);
    rd.u.log_read.stream = MLQ_STREAM_STDERR;
    rd.u.log_read.max = 100;
    agent_fx_send(f, &rd);
    agent_fx_expect(f, MLQ_MSG_LOG_CHUNK, &m);
    assert_int_equal(m.rid, rd.rid);
    assert_int_equal(m.u.log_chunk.token, 77);
    assert_int_equal(m.u.log_chunk.err, 0);
    assert_int_equal(m.u.log_chunk.size, 5);
    assert_int_equal(m.u.log_chunk.len, 5);
    assert_memory_equal(m.u.log_chunk.data, "oops\n", 5);
    mlq_proto_msg_free(&m);
    upload_ack(f, ATT_1, MLQ_STREAM_STDOUT, 3, 0);

    expect_small_stream(f, ATT_1, MLQ_STREAM_STDERR, "oops\n");
    agent_fx_step_for(f, 50);
    /* Outcome and logs at the scheduler: the attempt folder is gone, and
     * the scheduler answers for its logs from now on. */
    assert_true(removed(f, ATT_1));
    assert_int_equal(mlq_agent_held(f->agent), 0);
    agent_fx_send(f, &rd);
    agent_fx_expect(f, MLQ_MSG_LOG_CHUNK, &m);
    assert_int_equal(m.u.log_chunk.err, MLQ_ENOTFOUND);
    mlq_proto_msg_free(&m);

    snprintf(rd.u.log_read.attempt_id, sizeof rd.u.log_read.attempt_id, "%s", ATT_2);
    agent_fx_send(f, &rd);
    agent_fx_expect(f, MLQ_MSG_LOG_CHUNK, &m);
    assert_int_equal(m.u.log_chunk.err, MLQ_ENOTFOUND);
    assert_int_equal(m.u.log_chunk.len, 0);
    mlq_proto_msg_free(&m);

    /* An acknowledged attempt is never run or reported again. */
    assign(f, ATT_1, argv, 3, NULL, 0);
    agent_fx_step_for(f, 300);
    assert_int_equal(mlq_agent_held(f->agent), 0);
}

/* A batch (what one scheduler iteration has for this worker): each entry
 * handled as if it had come alone, in order; an entry that does not decode,
 * or is itself a batch, is dropped and the others still run. */
static void test_batch_entries_handled(void **state)
{
    struct agent_fx *f = *state;
    start_agent(f, 0);
    struct mlq_msg m;
    do_register(f, &m);
    assert_true(m.u.reg.batch); /* it says it reads batches */
    mlq_proto_msg_free(&m);

    char *argv[] = {"/bin/sh", "-c", "exit 0"};
    struct mlq_msg a1, a2, a3, inner = {.type = MLQ_MSG_BATCH};
    agent_fx_fill_assign(f, &a1, ATT_1, argv, 3, NULL, 0);
    agent_fx_fill_assign(f, &a2, ATT_2, argv, 3, NULL, 0);
    agent_fx_fill_assign(f, &a3, ATT_3, argv, 3, NULL, 0);
    char *body[5];
    size_t len[5];
    assert_int_equal(mlq_proto_encode(&a1, &body[0], &len[0], NULL), 0);
    body[1] = strdup("\x81\xa1t\xa4nope"); /* no valid message */
    len[1] = strlen(body[1]);
    assert_int_equal(mlq_proto_encode(&a3, &body[4], &len[4], NULL), 0);
    inner.u.batch.bodies = (const char **)&body[4];
    inner.u.batch.lens = &len[4];
    inner.u.batch.n = 1;
    assert_int_equal(mlq_proto_encode(&inner, &body[2], &len[2], NULL), 0);
    assert_int_equal(mlq_proto_encode(&a2, &body[3], &len[3], NULL), 0);
    struct mlq_msg b = {.type = MLQ_MSG_BATCH};
    b.u.batch.bodies = (const char **)body;
    b.u.batch.lens = len;
    b.u.batch.n = 4;
    agent_fx_send(f, &b);
    for (int i = 0; i < 5; i++)
        free(body[i]);

    bool seen[2] = {false, false};
    for (int i = 0; i < 2; i++) {
        agent_fx_expect(f, MLQ_MSG_REPORT, &m);
        assert_int_equal(m.u.report.phase, MLQ_PHASE_STARTED);
        bool one = strcmp(m.u.report.attempt_id, ATT_1) == 0;
        assert_true(one || strcmp(m.u.report.attempt_id, ATT_2) == 0);
        seen[one ? 0 : 1] = true;
        mlq_proto_msg_free(&m);
    }
    assert_true(seen[0] && seen[1]);
    agent_fx_step_for(f, 100);
    assert_int_equal(mlq_agent_held(f->agent), 2); /* the nested assign of ATT_3 did not run */
}

/* The reports among the entries of batch b: ids and phases, in order
 * (heartbeats and the rest skipped). */
static int batch_reports(const struct mlq_msg *b, char ids[][MLQ_ID_LEN + 1],
                         enum mlq_report_phase *phases, int max)
{
    int n = 0;
    for (uint32_t i = 0; i < b->u.batch.n && n < max; i++) {
        struct mlq_msg one;
        assert_int_equal(mlq_proto_batch_item(b, i, &one, NULL), 0);
        if (one.type == MLQ_MSG_REPORT) {
            memcpy(ids[n], one.u.report.attempt_id, sizeof ids[n]);
            phases[n++] = one.u.report.phase;
        }
        mlq_proto_msg_free(&one);
    }
    return n;
}

/* A scheduler whose `registered` says it reads batches gets what one loop
 * iteration queued as one `batch`: both started reports of two assigns
 * that came together, in order, after their folders were synced. */
static void test_reports_sent_as_batch(void **state)
{
    struct agent_fx *f = *state;
    start_agent(f, 0);
    struct mlq_msg reg;
    agent_fx_expect(f, MLQ_MSG_REGISTER, &reg);
    struct mlq_msg r = {.type = MLQ_MSG_REGISTERED};
    r.u.registered.heartbeat_ms = 200;
    r.u.registered.lease_ms = 2000;
    r.u.registered.batch = true;
    agent_fx_answer(f, &reg, &r);
    mlq_proto_msg_free(&reg);

    char *argv[] = {"/bin/sh", "-c", "sleep 1"};
    struct mlq_msg a1, a2;
    agent_fx_fill_assign(f, &a1, ATT_1, argv, 3, NULL, 0);
    agent_fx_fill_assign(f, &a2, ATT_2, argv, 3, NULL, 0);
    char *body[2];
    size_t len[2];
    assert_int_equal(mlq_proto_encode(&a1, &body[0], &len[0], NULL), 0);
    assert_int_equal(mlq_proto_encode(&a2, &body[1], &len[1], NULL), 0);
    struct mlq_msg b = {.type = MLQ_MSG_BATCH};
    b.u.batch.bodies = (const char **)body;
    b.u.batch.lens = len;
    b.u.batch.n = 2;
    agent_fx_send(f, &b);
    free(body[0]);
    free(body[1]);

    char ids[4][MLQ_ID_LEN + 1];
    enum mlq_report_phase ph[4];
    int n = 0;
    while (n == 0) {
        struct mlq_msg got;
        agent_fx_expect(f, MLQ_MSG_BATCH, &got);
        n = batch_reports(&got, ids, ph, 4);
        mlq_proto_msg_free(&got);
    }
    assert_int_equal(n, 2);
    assert_string_equal(ids[0], ATT_1);
    assert_string_equal(ids[1], ATT_2);
    assert_int_equal(ph[0], MLQ_PHASE_STARTED);
    assert_int_equal(ph[1], MLQ_PHASE_STARTED);
}

static void test_report_resent_until_acked(void **state)
{
    struct agent_fx *f = *state;
    start_registered(f, 0);
    struct mlq_msg m;
    char *argv[] = {"/bin/sleep", "30"};
    assign(f, ATT_1, argv, 2, NULL, 0);
    expect_report(f, ATT_1, MLQ_PHASE_STARTED, &m);
    int64_t pid = m.u.report.pid;
    mlq_proto_msg_free(&m);
    expect_report(f, ATT_1, MLQ_PHASE_STARTED, &m); /* again, no ack yet */
    assert_int_equal(m.u.report.pid, pid);
    mlq_proto_msg_free(&m);

    /* Assigned again: no second shim, the same report. */
    assign(f, ATT_1, argv, 2, NULL, 0);
    expect_report(f, ATT_1, MLQ_PHASE_STARTED, &m);
    assert_int_equal(m.u.report.pid, pid);
    mlq_proto_msg_free(&m);

    /* Scheduler-initiated kill: the job ends signaled. */
    cancel(f, ATT_1);
    expect_cancelled(f, ATT_1);
}

static void test_fenced_attempt_is_killed(void **state)
{
    struct agent_fx *f = *state;
    start_registered(f, 0);
    struct mlq_msg m;
    char *argv[] = {"/bin/sleep", "30"};
    assign(f, ATT_1, argv, 2, NULL, 0);
    expect_report(f, ATT_1, MLQ_PHASE_STARTED, &m);
    mlq_proto_msg_free(&m);
    ack(f, ATT_1, MLQ_PHASE_STARTED, false);
    expect_report(f, ATT_1, MLQ_PHASE_FINISHED, &m);
    assert_int_equal(m.u.report.outcome, MLQ_OUT_SIGNALED);
    mlq_proto_msg_free(&m);
    ack(f, ATT_1, MLQ_PHASE_FINISHED, false);
    agent_fx_step_for(f, 50);
    assert_int_equal(mlq_agent_held(f->agent), 0);
}

/* GPUs the worker does not have: the scheduler's view is wrong, not the
 * job, so the assignment is refused (the job goes elsewhere) and nothing
 * is left in the spool. */
static void test_bad_gpu_is_refused(void **state)
{
    struct agent_fx *f = *state;
    start_registered(f, 2);
    struct mlq_msg m;
    char *argv[] = {"/bin/true"};
    int32_t gpus[] = {5};
    assign(f, ATT_1, argv, 1, gpus, 1);
    expect_report(f, ATT_1, MLQ_PHASE_FINISHED, &m);
    assert_int_equal(m.u.report.outcome, MLQ_OUT_REFUSED);
    assert_string_equal(m.u.report.detail, "GPU 5 is not a device of this worker (it has 2)");
    mlq_proto_msg_free(&m);
    assert_false(mlq_spool_attempt_exists(f->sp, ATT_1));
    int32_t twice[] = {1, 1};
    assign(f, ATT_2, argv, 1, twice, 2);
    expect_report(f, ATT_2, MLQ_PHASE_FINISHED, &m);
    assert_int_equal(m.u.report.outcome, MLQ_OUT_REFUSED);
    assert_non_null(strstr(m.u.report.detail, "GPU 1"));
    mlq_proto_msg_free(&m);
}

static void expect_refused(struct agent_fx *f, const char *att, const char *why)
{
    struct mlq_msg m;
    expect_report(f, att, MLQ_PHASE_FINISHED, &m);
    assert_int_equal(m.u.report.outcome, MLQ_OUT_REFUSED);
    assert_non_null(strstr(m.u.report.detail, why));
    mlq_proto_msg_free(&m);
}

/* An assignment naming a GPU that an attempt still running here holds is
 * refused, also after a restart (the running attempt re-adopted). */
static void test_gpu_overlap_refused(void **state)
{
    struct agent_fx *f = *state;
    start_registered(f, 2);
    struct mlq_msg m;
    char *sleep_argv[] = {"/bin/sleep", "30"};
    int32_t one[] = {1}, zero[] = {0};
    assign(f, ATT_1, sleep_argv, 2, one, 1);
    expect_report(f, ATT_1, MLQ_PHASE_STARTED, &m);
    mlq_proto_msg_free(&m);
    ack(f, ATT_1, MLQ_PHASE_STARTED, true);
    assign(f, ATT_2, sleep_argv, 2, one, 1);
    expect_refused(f, ATT_2, "GPU 1 is still held by attempt 11111111");
    assign(f, ATT_3, sleep_argv, 2, zero, 1);
    expect_report(f, ATT_3, MLQ_PHASE_STARTED, &m);
    mlq_proto_msg_free(&m);
    ack(f, ATT_3, MLQ_PHASE_STARTED, true);
    agent_fx_step_for(f, 50);   /* the acks are marked before the restart */
    shim_pid_written(f, ATT_3); /* else the next agent finds it lost */

    mlq_agent_destroy(&f->agent);
    start_agent(f, 2);
    do_register(f, &m);
    assert_int_equal(m.u.reg.nattempts, 2);
    mlq_proto_msg_free(&m);
    assign(f, ATT_4, sleep_argv, 2, zero, 1);
    expect_refused(f, ATT_4, "GPU 0 is still held by attempt 33333333");
    struct mlq_msg k = {.type = MLQ_MSG_KILL};
    snprintf(k.u.kill.attempt_id, sizeof k.u.kill.attempt_id, "%s", ATT_1);
    k.u.kill.reason = "test over";
    agent_fx_send(f, &k);
    snprintf(k.u.kill.attempt_id, sizeof k.u.kill.attempt_id, "%s", ATT_3);
    agent_fx_send(f, &k);
    expect_report(f, ATT_1, MLQ_PHASE_FINISHED, &m);
    mlq_proto_msg_free(&m);
}

static void test_reregister(void **state)
{
    struct agent_fx *f = *state;
    start_registered(f, 0);
    struct mlq_msg m;
    assert_false(mlq_agent_registered(f->agent));
    agent_fx_step_for(f, 20);
    assert_true(mlq_agent_registered(f->agent));

    /* The scheduler forgot us: a heartbeat answered with not found. */
    struct mlq_msg hb;
    struct mlq_err e;
    int64_t end = mlq_clock_mono_ms() + AGENT_FX_WAIT;
    for (;;) {
        assert_true(mlq_clock_mono_ms() < end);
        mlq_agent_step(f->agent, 10, &e);
        if (mlq_transport_recv_from(f->router, &f->peer, &hb, &e) == 0) {
            bool is_hb = hb.type == MLQ_MSG_HEARTBEAT;
            mlq_proto_msg_free(&hb);
            if (is_hb)
                break;
        }
    }
    struct mlq_msg er = {.type = MLQ_MSG_ERROR};
    er.u.error.code = MLQ_ENOTFOUND;
    er.u.error.msg = "unknown worker";
    agent_fx_send(f, &er);
    do_register(f, &m);
    mlq_proto_msg_free(&m);
    agent_fx_step_for(f, 20);
    assert_true(mlq_agent_registered(f->agent));
}

static void test_silence_reregisters(void **state)
{
    struct agent_fx *f = *state;
    start_registered(f, 0);
    struct mlq_msg m;
    agent_fx_step_for(f, 20);
    assert_true(mlq_agent_registered(f->agent));
    /* Drop every heartbeat unanswered. */
    int64_t t0 = mlq_clock_mono_ms();
    struct mlq_err e;
    for (;;) {
        assert_true(mlq_clock_mono_ms() - t0 < AGENT_FX_WAIT);
        mlq_agent_step(f->agent, 10, &e);
        if (mlq_transport_recv_from(f->router, &f->peer, &m, &e) < 0)
            continue;
        bool reg = m.type == MLQ_MSG_REGISTER;
        mlq_proto_msg_free(&m);
        if (reg)
            break;
    }
    int64_t took = mlq_clock_mono_ms() - t0;
    assert_true(took >= 500); /* 3 x 200 ms, minus the first interval's slack */
}

/* A spool left behind by a worker killed with -9. */
static void test_readopt(void **state)
{
    struct agent_fx *f = *state;
    char dir[4096];
    struct mlq_err e;
    char *argv[] = {"/bin/true"};
    struct mlq_msg a = {.type = MLQ_MSG_ASSIGN};
    a.u.assign.attempt = 1;
    snprintf(a.u.assign.job_id, sizeof a.u.assign.job_id, "%s", AGENT_FX_JOB);
    a.u.assign.spec.owner = testuser_self();
    a.u.assign.allow_root = true;
    a.u.assign.spec.argv = argv;
    a.u.assign.spec.argc = 1;
    a.u.assign.spec.workdir = "/";
    a.u.assign.spec.cpus_m = 1000;
    a.u.assign.spec.mem = 1000;
    /* ATT_1 finished, not acknowledged. */
    snprintf(a.u.assign.attempt_id, sizeof a.u.assign.attempt_id, "%s", ATT_1);
    assert_int_equal(mlq_spool_create_attempt(f->sp, &a, dir, sizeof dir, &e), 0);
    struct mlq_status st = {.outcome = MLQ_OUT_EXITED, .exit_code = 0, .start_ms = 5, .end_ms = 9};
    assert_int_equal(mlq_spool_write_status(dir, &st, &e), 0);
    /* ATT_2 running under a live "shim" (this process), started acked. */
    snprintf(a.u.assign.attempt_id, sizeof a.u.assign.attempt_id, "%s", ATT_2);
    assert_int_equal(mlq_spool_create_attempt(f->sp, &a, dir, sizeof dir, &e), 0);
    struct mlq_shim_id me = {.pid = getpid(), .start_ms = 1};
    me.starttime = mlq_fs_pid_starttime(me.pid);
    assert_int_equal(mlq_spool_write_shim(dir, &me, &e), 0);
    assert_int_equal(mlq_spool_mark_acked(dir, MLQ_PHASE_STARTED, &e), 0);

    start_agent(f, 0);
    assert_int_equal(mlq_agent_held(f->agent), 2);
    struct mlq_msg m;
    do_register(f, &m);
    assert_int_equal(m.u.reg.nattempts, 2);
    for (uint32_t i = 0; i < 2; i++) {
        bool one = strcmp(m.u.reg.attempts[i].attempt_id, ATT_1) == 0;
        assert_int_equal(m.u.reg.attempts[i].finished, one);
    }
    mlq_proto_msg_free(&m);
    /* Only the finished report is due: ATT_2's start was acknowledged. */
    expect_report(f, ATT_1, MLQ_PHASE_FINISHED, &m);
    assert_int_equal(m.u.report.outcome, MLQ_OUT_EXITED);
    assert_int_equal(m.u.report.end_ms, 9);
    mlq_proto_msg_free(&m);
    ack(f, ATT_1, MLQ_PHASE_FINISHED, true);
    /* It never wrote logs: two empty streams. */
    expect_small_stream(f, ATT_1, MLQ_STREAM_STDOUT, "");
    expect_small_stream(f, ATT_1, MLQ_STREAM_STDERR, "");
    agent_fx_step_for(f, 1500);
    assert_int_equal(mlq_agent_held(f->agent), 1);
}

static void test_sigterm_stops(void **state)
{
    struct agent_fx *f = *state;
    start_agent(f, 0);
    struct mlq_err e;
    assert_int_equal(mlq_agent_step(f->agent, 10, &e), 0);
    assert_false(mlq_agent_stopped(f->agent));
    unsigned char b = SIGTERM;
    assert_int_equal(write(f->sig[1], &b, 1), 1);
    assert_int_equal(mlq_agent_run(f->agent, &e), 0);
    assert_true(mlq_agent_stopped(f->agent));
}

/* A registered worker that stops says goodbye, naming itself. */
static void test_sigterm_says_goodbye(void **state)
{
    struct agent_fx *f = *state;
    start_registered(f, 0);
    struct mlq_msg m;
    unsigned char b = SIGTERM;
    assert_int_equal(write(f->sig[1], &b, 1), 1);
    struct mlq_err e;
    assert_int_equal(mlq_agent_run(f->agent, &e), 0); /* no answer: gives up after 1 s */
    agent_fx_expect(f, MLQ_MSG_GOODBYE, &m);
    assert_string_equal(m.u.goodbye.name, "w1");
    assert_false(m.u.goodbye.drained);
    mlq_proto_msg_free(&m);
}

static void test_unexpected_messages_ignored(void **state)
{
    struct agent_fx *f = *state;
    start_registered(f, 0);
    struct mlq_msg sub = {.type = MLQ_MSG_WORKERS};
    agent_fx_send(f, &sub);
    struct mlq_msg kill = {.type = MLQ_MSG_KILL};
    snprintf(kill.u.kill.attempt_id, sizeof kill.u.kill.attempt_id, "%s", ATT_2);
    agent_fx_send(f, &kill); /* unknown attempt */
    agent_fx_step_for(f, 100);
    assert_true(mlq_agent_registered(f->agent));
    assert_int_equal(mlq_agent_held(f->agent), 0);
}

/* ---- log uploads ---- */

#define CAP       (1536 * 1024) /* 1.5 MiB: a full chunk and a half */
#define SEQ_BYTES 2688895       /* size of `seq 1 400000` */
#define SKIPPED   (SEQ_BYTES - CAP)

/* Runs ATT_1 with a big stdout and empty stderr up to its accepted finished
 * report; returns the stdout file's content (caller frees). */
static char *run_big_job(struct agent_fx *f)
{
    struct mlq_msg m;
    do_register(f, &m);
    mlq_proto_msg_free(&m);
    char *argv[] = {"/bin/sh", "-c", "seq 1 400000"};
    assign(f, ATT_1, argv, 3, NULL, 0);
    expect_report(f, ATT_1, MLQ_PHASE_STARTED, &m);
    mlq_proto_msg_free(&m);
    ack(f, ATT_1, MLQ_PHASE_STARTED, true);
    expect_report(f, ATT_1, MLQ_PHASE_FINISHED, &m);
    assert_int_equal(m.u.report.exit_code, 0);
    mlq_proto_msg_free(&m);
    char path[4200], *out = NULL;
    size_t len = 0;
    snprintf(path, sizeof path, "%s/attempts/%s/stdout", f->root, ATT_1);
    assert_int_equal(mlq_fs_read_all(path, 4 << 20, &out, &len, NULL), 0);
    assert_int_equal(len, SEQ_BYTES);
    ack(f, ATT_1, MLQ_PHASE_FINISHED, true);
    return out;
}

/* Expects a stdout chunk at offset and checks it against the file. */
static void expect_chunk(struct agent_fx *f, const char *out, int64_t offset, uint32_t len,
                         bool eof)
{
    struct mlq_msg m;
    expect_upload(f, ATT_1, MLQ_STREAM_STDOUT, &m);
    assert_int_equal(m.u.log_upload.offset, offset);
    assert_int_equal(m.u.log_upload.skipped, SKIPPED);
    assert_int_equal(m.u.log_upload.len, len);
    assert_int_equal(m.u.log_upload.eof, eof);
    assert_memory_equal(m.u.log_upload.data, out + SKIPPED + offset, len);
    mlq_proto_msg_free(&m);
}

static void test_log_upload_chunks(void **state)
{
    struct agent_fx *f = *state;
    start_agent_cap(f, 0, CAP);
    char *out = run_big_job(f);
    expect_chunk(f, out, 0, 1 << 20, false);
    /* The scheduler only kept 1000 bytes: the worker continues from there. */
    upload_ack(f, ATT_1, MLQ_STREAM_STDOUT, 1000, 0);
    expect_chunk(f, out, 1000, 1 << 20, false);
    /* Its disk is full: the same chunk again, but only after a while. */
    upload_ack(f, ATT_1, MLQ_STREAM_STDOUT, 1000, MLQ_EDB);
    int64_t t0 = mlq_clock_mono_ms();
    expect_chunk(f, out, 1000, 1 << 20, false);
    assert_true(mlq_clock_mono_ms() - t0 >= 900);
    upload_ack(f, ATT_1, MLQ_STREAM_STDOUT, 1000 + (1 << 20), 0);
    expect_chunk(f, out, 1000 + (1 << 20), CAP - 1000 - (1 << 20), true);
    upload_ack(f, ATT_1, MLQ_STREAM_STDOUT, CAP, 0);
    expect_small_stream(f, ATT_1, MLQ_STREAM_STDERR, "");
    agent_fx_step_for(f, 50);
    assert_true(removed(f, ATT_1));
    assert_int_equal(mlq_agent_held(f->agent), 0);
    free(out);
}

/* "Not found": the scheduler will never take these logs; the worker stops
 * (and can drain) instead of retrying forever. */
static void test_log_upload_not_found_ends(void **state)
{
    struct agent_fx *f = *state;
    start_registered(f, 0);
    struct mlq_msg m;
    char *argv[] = {"/bin/echo", "x"};
    assign(f, ATT_1, argv, 2, NULL, 0);
    expect_report(f, ATT_1, MLQ_PHASE_STARTED, &m);
    mlq_proto_msg_free(&m);
    expect_report(f, ATT_1, MLQ_PHASE_FINISHED, &m);
    mlq_proto_msg_free(&m);
    ack(f, ATT_1, MLQ_PHASE_FINISHED, true);
    expect_upload(f, ATT_1, MLQ_STREAM_STDOUT, &m);
    mlq_proto_msg_free(&m);
    upload_ack(f, ATT_1, MLQ_STREAM_STDOUT, 0, MLQ_ENOTFOUND);
    agent_fx_step_for(f, 50);
    assert_int_equal(mlq_agent_held(f->agent), 0);
    assert_true(removed(f, ATT_1));
}

/* A worker restarted in the middle of an upload resumes it from the offset
 * the scheduler acknowledged, without naming the attempt in register. */
static void test_log_upload_resumes_after_restart(void **state)
{
    struct agent_fx *f = *state;
    start_agent_cap(f, 0, CAP);
    char *out = run_big_job(f);
    expect_chunk(f, out, 0, 1 << 20, false);
    upload_ack(f, ATT_1, MLQ_STREAM_STDOUT, 1 << 20, 0);
    expect_chunk(f, out, 1 << 20, CAP - (1 << 20), true); /* not acknowledged */
    mlq_agent_destroy(&f->agent);

    start_agent_cap(f, 0, CAP);
    assert_int_equal(mlq_agent_held(f->agent), 1);
    struct mlq_msg m;
    do_register(f, &m);
    assert_int_equal(m.u.reg.nattempts, 0);
    mlq_proto_msg_free(&m);
    expect_chunk(f, out, 1 << 20, CAP - (1 << 20), true);
    upload_ack(f, ATT_1, MLQ_STREAM_STDOUT, CAP, 0);
    expect_small_stream(f, ATT_1, MLQ_STREAM_STDERR, "");
    agent_fx_step_for(f, 50);
    assert_true(removed(f, ATT_1));
    assert_int_equal(mlq_agent_held(f->agent), 0);
    free(out);
}

/* ---- self-fencing ---- */

/* Steps the agent for ms while the scheduler says nothing at all. */
static void silence(struct agent_fx *f, int ms)
{
    int64_t end = mlq_clock_mono_ms() + ms;
    struct mlq_err e;
    while (mlq_clock_mono_ms() < end) {
        mlq_agent_step(f->agent, 10, &e);
        struct mlq_msg m;
        if (mlq_transport_recv_from(f->router, &f->peer, &m, &e) == 0)
            mlq_proto_msg_free(&m);
    }
}

/* Steps the agent for ms while the scheduler answers heartbeats and
 * registrations (lease 1 s) and ignores the rest. */
static void converse(struct agent_fx *f, int ms)
{
    int64_t end = mlq_clock_mono_ms() + ms;
    struct mlq_err e;
    while (mlq_clock_mono_ms() < end) {
        mlq_agent_step(f->agent, 10, &e);
        struct mlq_msg m, r = {.type = MLQ_MSG_HB_ACK};
        if (mlq_transport_recv_from(f->router, &f->peer, &m, &e) < 0)
            continue;
        if (m.type == MLQ_MSG_REGISTER) {
            r.type = MLQ_MSG_REGISTERED;
            r.u.registered.heartbeat_ms = 200;
            r.u.registered.lease_ms = 1000;
        }
        if (m.type == MLQ_MSG_REGISTER || m.type == MLQ_MSG_HEARTBEAT)
            agent_fx_answer(f, &m, &r);
        mlq_proto_msg_free(&m);
    }
}

/* Gone or a zombie (the test process is the shim's parent and only reaps
 * it at teardown). */
static bool pid_gone(pid_t pid)
{
    return !mlq_fs_pid_alive(pid);
}

static void test_self_fence(void **state)
{
    struct agent_fx *f = *state;
    start_agent(f, 0);
    struct mlq_msg m;
    agent_fx_register(f, &m, 1000);
    mlq_proto_msg_free(&m);
    char *argv[] = {"/bin/sleep", "30"};
    assign(f, ATT_1, argv, 2, NULL, 0);
    expect_report(f, ATT_1, MLQ_PHASE_STARTED, &m);
    pid_t shim = (pid_t)m.u.report.pid;
    mlq_proto_msg_free(&m);
    ack(f, ATT_1, MLQ_PHASE_STARTED, true);
    agent_fx_step_for(f, 20);
    char path[4200], *lease = NULL;
    snprintf(path, sizeof path, "%s/lease_ms", f->root);
    assert_int_equal(mlq_fs_read_all(path, 100, &lease, NULL, NULL), 0);
    assert_string_equal(lease, "1000\n");
    free(lease);

    /* A cut shorter than the lease changes nothing. */
    silence(f, 550);
    converse(f, 700);
    assert_false(pid_gone(shim));

    /* Silent for the lease: the job is ended and recorded as lost. The last
     * word (an hb_ack) came at most one heartbeat before t0. */
    int64_t t0 = mlq_clock_mono_ms();
    silence(f, 700);
    assert_false(pid_gone(shim));
    while (!pid_gone(shim) && mlq_clock_mono_ms() - t0 < AGENT_FX_WAIT)
        silence(f, 20);
    assert_true(pid_gone(shim));
    assert_true(mlq_clock_mono_ms() - t0 >= 750);
    agent_fx_register(f, &m, 1000);
    mlq_proto_msg_free(&m);
    expect_report(f, ATT_1, MLQ_PHASE_FINISHED, &m);
    assert_int_equal(m.u.report.outcome, MLQ_OUT_LOST);
    /* The daemon and the shim fence on the same deadline: either may win. */
    assert_int_equal(strncmp(m.u.report.detail, "self-fenced: ", 13), 0);
    mlq_proto_msg_free(&m);
}

static int64_t lease_until(struct agent_fx *f)
{
    int64_t until = -1;
    assert_int_equal(mlq_lease_read(f->root, &until), 1);
    return until;
}

/* The lease is renewed only by answers to the worker's own registers and
 * heartbeats, dated from when those were SENT (never later than the
 * scheduler heard them); an answer to an unknown request renews nothing,
 * and a restarted worker keeps the deadline it had. */
static void test_lease_from_send_time(void **state)
{
    struct agent_fx *f = *state;
    start_agent(f, 0);
    struct mlq_msg reg, m;
    agent_fx_expect(f, MLQ_MSG_REGISTER, &reg);
    int64_t heard = mlq_clock_boot_ms(); /* after the send */
    struct mlq_peer peer = f->peer;      /* silence() receives over it */
    silence(f, 400);                     /* a slow answer */
    f->peer = peer;
    struct mlq_msg r = {.type = MLQ_MSG_REGISTERED};
    r.u.registered.heartbeat_ms = 200;
    r.u.registered.lease_ms = 1000;
    agent_fx_answer(f, &reg, &r);
    mlq_proto_msg_free(&reg);
    agent_fx_step_for(f, 50);
    int64_t until = lease_until(f);
    assert_true(until <= heard + 1000); /* from the send, not the answer */
    assert_true(until >= heard);        /* sent less than a lease before it was heard */

    /* A heartbeat answered late: again dated from its send. */
    struct mlq_msg hb = {0};
    int64_t end = mlq_clock_mono_ms() + AGENT_FX_WAIT;
    while (hb.type != MLQ_MSG_HEARTBEAT && mlq_clock_mono_ms() < end) {
        struct mlq_err e;
        mlq_proto_msg_free(&hb);
        mlq_agent_step(f->agent, 10, &e);
        if (mlq_transport_recv_from(f->router, &f->peer, &m, &e) == 0)
            hb = m;
    }
    assert_int_equal(hb.type, MLQ_MSG_HEARTBEAT);
    heard = mlq_clock_boot_ms();
    silence(f, 300);
    f->peer = peer;
    struct mlq_msg ack = {.type = MLQ_MSG_HB_ACK};
    agent_fx_answer(f, &hb, &ack);
    agent_fx_step_for(f, 50);
    int64_t renewed = lease_until(f);
    assert_true(renewed > until);
    assert_true(renewed <= heard + 1000);

    /* Answers to requests it never sent renew nothing. */
    silence(f, 300);
    f->peer = peer;
    struct mlq_msg bogus = {.type = MLQ_MSG_HB_ACK};
    bogus.rid = 999999;
    agent_fx_answer(f, &bogus, &ack);
    agent_fx_answer(f, &hb, &ack); /* a duplicate */
    mlq_proto_msg_free(&hb);
    agent_fx_step_for(f, 50);
    assert_int_equal(lease_until(f), renewed);

    /* A heartbeat answered "database error" (the scheduler rolled back and
     * rebuilt its state, a fresh lease for everyone) renews it too. */
    hb.type = 0;
    end = mlq_clock_mono_ms() + AGENT_FX_WAIT;
    while (hb.type != MLQ_MSG_HEARTBEAT && mlq_clock_mono_ms() < end) {
        struct mlq_err e;
        mlq_proto_msg_free(&hb);
        mlq_agent_step(f->agent, 10, &e);
        if (mlq_transport_recv_from(f->router, &f->peer, &m, &e) == 0)
            hb = m;
    }
    assert_int_equal(hb.type, MLQ_MSG_HEARTBEAT);
    f->peer = peer;
    struct mlq_msg dberr = {.type = MLQ_MSG_ERROR};
    dberr.u.error.code = MLQ_EDB;
    dberr.u.error.msg = "database error: disk full";
    agent_fx_answer(f, &hb, &dberr);
    mlq_proto_msg_free(&hb);
    agent_fx_step_for(f, 50);
    assert_true(lease_until(f) > renewed);
    renewed = lease_until(f);

    /* A restart reads the deadline back instead of starting a new one. */
    mlq_agent_destroy(&f->agent);
    start_agent(f, 0);
    agent_fx_step_for(f, 100);
    assert_int_equal(lease_until(f), renewed);
}

/* A deadline written before a reboot (CLOCK_BOOTTIME restarted, so it
 * looks far ahead) is over, and the first answered register replaces it. */
static void test_lease_from_other_boot(void **state)
{
    struct agent_fx *f = *state;
    struct mlq_err e;
    assert_int_equal(mlq_spool_write_lease(f->sp, 1000, &e), 0);
    int64_t stale = mlq_clock_boot_ms() + 3600 * 1000;
    assert_int_equal(mlq_lease_write(f->root, stale, &e), 0);
    start_agent(f, 0);
    struct mlq_msg reg;
    int64_t before = mlq_clock_boot_ms();
    agent_fx_register(f, &reg, 1000);
    mlq_proto_msg_free(&reg);
    agent_fx_step_for(f, 50);
    int64_t until = lease_until(f);
    assert_true(until >= before + 1000); /* sent after start_agent */
    assert_true(until <= mlq_clock_boot_ms() + 1000);
}

/* ---- draining and refusals ---- */

static void test_drain(void **state)
{
    struct agent_fx *f = *state;
    start_agent(f, 0);
    struct mlq_msg m;
    do_register(f, &m);
    assert_false(m.u.reg.draining);
    mlq_proto_msg_free(&m);
    char *argv[] = {"/bin/sh", "-c", "sleep 0.5; echo done"};
    assign(f, ATT_1, argv, 3, NULL, 0);
    expect_report(f, ATT_1, MLQ_PHASE_STARTED, &m);
    mlq_proto_msg_free(&m);
    ack(f, ATT_1, MLQ_PHASE_STARTED, true);

    unsigned char b = SIGUSR2;
    assert_int_equal(write(f->sig[1], &b, 1), 1);
    agent_fx_expect(f, MLQ_MSG_HEARTBEAT, &m);
    assert_true(m.u.heartbeat.draining);
    mlq_proto_msg_free(&m);
    assert_true(mlq_agent_draining(f->agent));

    /* New work is refused; the running job carries on. */
    assign(f, ATT_2, argv, 3, NULL, 0);
    expect_report(f, ATT_2, MLQ_PHASE_FINISHED, &m);
    assert_int_equal(m.u.report.outcome, MLQ_OUT_REFUSED);
    assert_string_equal(m.u.report.detail, "worker is draining");
    mlq_proto_msg_free(&m);
    assert_false(mlq_spool_attempt_exists(f->sp, ATT_2));
    ack(f, ATT_2, MLQ_PHASE_FINISHED, true);

    expect_report(f, ATT_1, MLQ_PHASE_FINISHED, &m);
    assert_int_equal(m.u.report.exit_code, 0);
    mlq_proto_msg_free(&m);
    assert_false(mlq_agent_stopped(f->agent));
    ack(f, ATT_1, MLQ_PHASE_FINISHED, true);
    expect_small_stream(f, ATT_1, MLQ_STREAM_STDOUT, "done\n");
    assert_false(mlq_agent_stopped(f->agent)); /* stderr still to upload */
    expect_small_stream(f, ATT_1, MLQ_STREAM_STDERR, "");
    struct mlq_err e;
    assert_int_equal(mlq_agent_run(f->agent, &e), 0); /* returns once drained */
    assert_true(mlq_agent_drained(f->agent));
    assert_int_equal(mlq_agent_held(f->agent), 0);
}

/* A worker running all it may run answers a further assignment with a
 * refusal (never drops it); a repeated KILL of an attempt being killed
 * changes nothing. */
static void test_full_worker_refuses(void **state)
{
    struct agent_fx *f = *state;
    start_agent_full(f, 0, 0, 1);
    struct mlq_msg m;
    do_register(f, &m);
    mlq_proto_msg_free(&m);
    char *argv[] = {"/bin/sleep", "30"};
    assign(f, ATT_1, argv, 2, NULL, 0);
    expect_report(f, ATT_1, MLQ_PHASE_STARTED, &m);
    mlq_proto_msg_free(&m);
    ack(f, ATT_1, MLQ_PHASE_STARTED, true);
    assign(f, ATT_2, argv, 2, NULL, 0);
    expect_report(f, ATT_2, MLQ_PHASE_FINISHED, &m);
    assert_int_equal(m.u.report.outcome, MLQ_OUT_REFUSED);
    assert_non_null(strstr(m.u.report.detail, "the most it may run at once"));
    mlq_proto_msg_free(&m);
    ack(f, ATT_2, MLQ_PHASE_FINISHED, true);
    assert_false(mlq_spool_attempt_exists(f->sp, ATT_2));

    cancel(f, ATT_1);
    cancel(f, ATT_1);
    expect_cancelled(f, ATT_1);
}

/* The spool cannot take the assignment: refused with the reason, nothing
 * half-written, and the worker takes the next one once the spool is fine. */
static void test_spool_unwritable_refused(void **state)
{
    struct agent_fx *f = *state;
    start_registered(f, 0);
    struct mlq_msg m;
    char attempts[4200], aside[4200];
    snprintf(attempts, sizeof attempts, "%s/attempts", f->root);
    snprintf(aside, sizeof aside, "%s/attempts.aside", f->root);
    assert_int_equal(rename(attempts, aside), 0);
    assert_int_equal(mlq_fs_write_atomic(attempts, "x", 1, NULL), 0);

    char *argv[] = {"/bin/true"};
    assign(f, ATT_1, argv, 1, NULL, 0);
    expect_report(f, ATT_1, MLQ_PHASE_FINISHED, &m);
    assert_int_equal(m.u.report.outcome, MLQ_OUT_REFUSED);
    char want[4200];
    snprintf(want, sizeof want, "spool %s: Not a directory", f->root);
    assert_string_equal(m.u.report.detail, want);
    mlq_proto_msg_free(&m);
    ack(f, ATT_1, MLQ_PHASE_FINISHED, true);
    agent_fx_step_for(f, 50);
    assert_int_equal(mlq_agent_held(f->agent), 0); /* nothing to upload */

    assert_int_equal(unlink(attempts), 0);
    assert_int_equal(rename(aside, attempts), 0);
    assign(f, ATT_3, argv, 1, NULL, 0);
    expect_report(f, ATT_3, MLQ_PHASE_STARTED, &m);
    mlq_proto_msg_free(&m);
    expect_report(f, ATT_3, MLQ_PHASE_FINISHED, &m);
    assert_int_equal(m.u.report.outcome, MLQ_OUT_EXITED);
    mlq_proto_msg_free(&m);
    assert_false(mlq_spool_attempt_exists(f->sp, ATT_1));
}

/* A shim killed with -9: the attempt is lost, and when the job had a cgroup
 * the worker ends what the shim left behind. */
static void test_shim_vanished(void **state)
{
    struct agent_fx *f = *state;
    start_registered(f, 0);
    struct mlq_msg m;
    char *argv[] = {"/bin/sh", "-c", "echo $$ > job.pid; exec sleep 30"};
    assign(f, ATT_1, argv, 3, NULL, 0);
    expect_report(f, ATT_1, MLQ_PHASE_STARTED, &m);
    pid_t shim = (pid_t)m.u.report.pid;
    mlq_proto_msg_free(&m);
    ack(f, ATT_1, MLQ_PHASE_STARTED, true);
    char path[4200], dir[4096], *text = NULL, cg[4096];
    snprintf(path, sizeof path, "%s/job.pid", f->root);
    int64_t end = mlq_clock_mono_ms() + AGENT_FX_WAIT;
    while (mlq_fs_read_all(path, 64, &text, NULL, NULL) < 0 && mlq_clock_mono_ms() < end)
        agent_fx_step_for(f, 10);
    assert_non_null(text);
    pid_t job = (pid_t)atol(text);
    free(text);
    assert_int_equal(mlq_spool_attempt_dir(f->sp, ATT_1, dir, sizeof dir, NULL), 0);
    bool has_cg = mlq_spool_read_note(dir, MLQ_SPOOL_CGROUP, cg, sizeof cg);

    assert_int_equal(kill(shim, SIGKILL), 0);
    expect_report(f, ATT_1, MLQ_PHASE_FINISHED, &m);
    assert_int_equal(m.u.report.outcome, MLQ_OUT_LOST);
    assert_string_equal(m.u.report.detail, "shim vanished");
    mlq_proto_msg_free(&m);
    if (!has_cg) {
        fprintf(stderr, "(no cgroup v2 here: the orphaned job cannot be found)\n");
        kill(job, SIGKILL);
        return;
    }
    assert_false(mlq_fs_pid_alive(job));
    struct stat sb;
    assert_int_not_equal(stat(cg, &sb), 0);
}

/* ---- CURVE ---- */

/* Replaces the fixture's plain inproc ROUTER with a CURVE one on loopback
 * TCP whose keys the ZAP handler (f->zap, answered by zap_answer) judges. */
static void curve_scheduler(struct agent_fx *f, struct mlq_keypair *server)
{
    struct mlq_err e;
    int linger = 0;
    assert_int_equal(mlq_keys_generate(server, &e), 0);
    f->zap = zmq_socket(f->zctx, ZMQ_REP);
    assert_non_null(f->zap);
    zmq_setsockopt(f->zap, ZMQ_LINGER, &linger, sizeof linger);
    assert_int_equal(zmq_bind(f->zap, MLQ_ZAP_ENDPOINT), 0);
    zmq_close(f->router);
    f->router = NULL;
    assert_int_equal(
        mlq_transport_router_curve(f->zctx, "tcp://127.0.0.1:*", server, &f->router, &e), 0);
    size_t len = sizeof f->endpoint;
    assert_int_equal(zmq_getsockopt(f->router, ZMQ_LAST_ENDPOINT, f->endpoint, &len), 0);
}

/* Answers one queued ZAP request: 200 (as worker:w1) or 400. Returns
 * whether there was one. */
static bool zap_answer(struct agent_fx *f, bool allow)
{
    char frames[7][64];
    int n = 0, more = 1;
    size_t ml = sizeof more;
    while (more && n < 7) {
        int len = zmq_recv(f->zap, frames[n], sizeof frames[n] - 1, n == 0 ? ZMQ_DONTWAIT : 0);
        if (len < 0)
            return false;
        frames[n][len < 63 ? len : 63] = '\0';
        zmq_getsockopt(f->zap, ZMQ_RCVMORE, &more, &ml);
        n++;
    }
    assert_int_equal(n, 7);
    const char *reply[6] = {"1.0",       frames[1], allow ? "200" : "400", allow ? "OK" : "no",
                            "worker:w1", ""};
    for (int i = 0; i < 6; i++)
        zmq_send(f->zap, reply[i], strlen(reply[i]), i < 5 ? ZMQ_SNDMORE : 0);
    return true;
}

static void start_curve_agent(struct agent_fx *f, const struct mlq_keypair *server, bool with_keys)
{
    struct mlq_keypair own;
    struct mlq_curve curve;
    struct mlq_err e;
    assert_int_equal(mlq_keys_generate(&own, &e), 0);
    memcpy(curve.server_public, server->public_z85, sizeof curve.server_public);
    memcpy(curve.own_public, own.public_z85, sizeof curve.own_public);
    memcpy(curve.own_secret, own.secret_z85, sizeof curve.own_secret);
    struct mlq_agent_config cfg = agent_fx_config(f);
    cfg.cpus_m = 1000;
    cfg.curve = with_keys ? &curve : NULL;
    agent_fx_create(f, &cfg);
    memset(&curve, 0, sizeof curve); /* the agent keeps its own copy */
}

/* Steps the agent for ms, answering ZAP; returns the number of requests. */
static int curve_step(struct agent_fx *f, int ms, bool allow, struct mlq_msg *reg)
{
    int64_t end = mlq_clock_mono_ms() + ms;
    int requests = 0;
    struct mlq_err e;
    while (mlq_clock_mono_ms() < end) {
        assert_int_equal(mlq_agent_step(f->agent, 10, &e), 0);
        while (zap_answer(f, allow))
            requests++;
        struct mlq_msg m;
        if (reg && mlq_transport_recv_from(f->router, &f->peer, &m, &e) == 0) {
            if (m.type == MLQ_MSG_REGISTER) {
                *reg = m;
                return requests;
            }
            mlq_proto_msg_free(&m);
        }
    }
    return requests;
}

/* A refused key: the agent says so, leaves the scheduler alone for a few
 * seconds rather than retrying every 100 ms, and registers as soon as the
 * key is accepted, with the identity's user_id on its messages. */
static void test_curve_refused_then_accepted(void **state)
{
    struct agent_fx *f = *state;
    struct mlq_keypair server;
    curve_scheduler(f, &server);
    start_curve_agent(f, &server, true);
    int64_t end = mlq_clock_mono_ms() + AGENT_FX_WAIT;
    while (!mlq_agent_refused(f->agent) && mlq_clock_mono_ms() < end)
        curve_step(f, 10, false, NULL);
    assert_true(mlq_agent_refused(f->agent));
    assert_false(mlq_agent_registered(f->agent));
    /* paused: no key lookups for the next two seconds */
    assert_int_equal(curve_step(f, 2000, false, NULL), 0);
    struct mlq_msg reg = {0};
    assert_true(curve_step(f, 6000, true, &reg) >= 1);
    assert_int_equal(reg.type, MLQ_MSG_REGISTER);
    assert_string_equal(f->peer.user_id, "worker:w1");
    struct mlq_msg r = {.type = MLQ_MSG_REGISTERED};
    r.u.registered.heartbeat_ms = 200;
    r.u.registered.lease_ms = 2000;
    agent_fx_answer(f, &reg, &r);
    mlq_proto_msg_free(&reg);
    end = mlq_clock_mono_ms() + AGENT_FX_WAIT;
    while (!mlq_agent_registered(f->agent) && mlq_clock_mono_ms() < end)
        curve_step(f, 10, true, NULL);
    assert_true(mlq_agent_registered(f->agent));
    assert_false(mlq_agent_refused(f->agent));
}

/* A plain (--insecure) worker against a CURVE scheduler: a mismatch, noticed
 * at once, never a registration. */
static void test_curve_mismatch(void **state)
{
    struct agent_fx *f = *state;
    struct mlq_keypair server;
    curve_scheduler(f, &server);
    start_curve_agent(f, &server, false);
    int64_t end = mlq_clock_mono_ms() + AGENT_FX_WAIT;
    while (!mlq_agent_refused(f->agent) && mlq_clock_mono_ms() < end)
        curve_step(f, 10, true, NULL);
    assert_true(mlq_agent_refused(f->agent));
    struct mlq_msg m;
    struct mlq_err e;
    assert_int_equal(mlq_transport_recv_from(f->router, &f->peer, &m, &e), MLQ_EUNAVAIL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_job_round_trip, setup, agent_fx_teardown),
        cmocka_unit_test_setup_teardown(test_batch_entries_handled, setup, agent_fx_teardown),
        cmocka_unit_test_setup_teardown(test_reports_sent_as_batch, setup, agent_fx_teardown),
        cmocka_unit_test_setup_teardown(test_report_resent_until_acked, setup, agent_fx_teardown),
        cmocka_unit_test_setup_teardown(test_fenced_attempt_is_killed, setup, agent_fx_teardown),
        cmocka_unit_test_setup_teardown(test_bad_gpu_is_refused, setup, agent_fx_teardown),
        cmocka_unit_test_setup_teardown(test_gpu_overlap_refused, setup, agent_fx_teardown),
        cmocka_unit_test_setup_teardown(test_reregister, setup, agent_fx_teardown),
        cmocka_unit_test_setup_teardown(test_silence_reregisters, setup, agent_fx_teardown),
        cmocka_unit_test_setup_teardown(test_readopt, setup, agent_fx_teardown),
        cmocka_unit_test_setup_teardown(test_sigterm_stops, setup, agent_fx_teardown),
        cmocka_unit_test_setup_teardown(test_sigterm_says_goodbye, setup, agent_fx_teardown),
        cmocka_unit_test_setup_teardown(test_unexpected_messages_ignored, setup, agent_fx_teardown),
        cmocka_unit_test_setup_teardown(test_log_upload_chunks, setup, agent_fx_teardown),
        cmocka_unit_test_setup_teardown(test_log_upload_resumes_after_restart, setup,
                                        agent_fx_teardown),
        cmocka_unit_test_setup_teardown(test_log_upload_not_found_ends, setup, agent_fx_teardown),
        cmocka_unit_test_setup_teardown(test_self_fence, setup, agent_fx_teardown),
        cmocka_unit_test_setup_teardown(test_lease_from_send_time, setup, agent_fx_teardown),
        cmocka_unit_test_setup_teardown(test_lease_from_other_boot, setup, agent_fx_teardown),
        cmocka_unit_test_setup_teardown(test_drain, setup, agent_fx_teardown),
        cmocka_unit_test_setup_teardown(test_full_worker_refuses, setup, agent_fx_teardown),
        cmocka_unit_test_setup_teardown(test_spool_unwritable_refused, setup, agent_fx_teardown),
        cmocka_unit_test_setup_teardown(test_shim_vanished, setup, agent_fx_teardown),
        cmocka_unit_test_setup_teardown(test_curve_refused_then_accepted, setup, agent_fx_teardown),
        cmocka_unit_test_setup_teardown(test_curve_mismatch, setup, agent_fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
