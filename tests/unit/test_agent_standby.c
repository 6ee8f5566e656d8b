/* agent_standby: the worker's standby shim (attempts.h) against a fake
 * scheduler (a ROUTER on inproc://) with the build's real mlq-shim. A
 * worker keeps one standby ready from its start and through any idle time,
 * so that the first assignment after a pause (the cold path) is started by
 * an already executed and linked shim, like the next one of a busy run; a
 * standby that cannot be started is retried quietly. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <signal.h>
#include <sys/stat.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <zmq.h>

#include "agent.h"
#include "clock.h"
#include "exec.h"
#include "log.h"
#include "spool.h"
#include "testdir.h"
#include "testuser.h"
#include "transport.h"

#define JOB        "99999999-9999-4999-8999-999999999999"
#define ATT_1      "11111111-1111-4111-8111-111111111111"
#define ATT_2      "22222222-2222-4222-8222-222222222222"
#define WAIT       5000
#define IDLE       2500 /* longer than the 2 s after which a standby used to go */
#define RETRY_WAIT 5600 /* past a failed standby's retry (attempts.c: 5 s) */

struct fx {
    char root[64];
    char endpoint[64];
    void *zctx, *router;
    struct mlq_peer peer;
    struct mlq_spool *sp;
    struct mlq_agent *agent;
    char *shim;
    int sig[2];
    uint64_t rid;
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    struct mlq_err e;
    if (!f || testdir_make(f->root, sizeof f->root, "standby") < 0)
        return -1;
    snprintf(f->endpoint, sizeof f->endpoint, "inproc://standby-%ld", (long)getpid());
    f->zctx = zmq_ctx_new();
    if (mlq_transport_router(f->zctx, f->endpoint, &f->router, &e) < 0 ||
        mlq_spool_open(f->root, &f->sp, &e) < 0 || pipe2(f->sig, O_NONBLOCK | O_CLOEXEC) != 0)
        return -1;
    f->shim = mlq_exec_default_shim();
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    mlq_agent_destroy(&f->agent);
    zmq_close(f->router);
    zmq_ctx_term(f->zctx);
    mlq_spool_close(&f->sp);
    close(f->sig[0]);
    close(f->sig[1]);
    while (waitpid(-1, NULL, 0) > 0) /* the standby exits once the agent is gone */
        ;
    testdir_remove(f->root);
    free(f->shim);
    free(f);
    return 0;
}

static void step_for(struct fx *f, int ms)
{
    int64_t end = mlq_clock_mono_ms() + ms;
    struct mlq_err e;
    while (mlq_clock_mono_ms() < end)
        mlq_agent_step(f->agent, 10, &e);
}

/* Steps the agent until the fake scheduler receives a message of type t,
 * answering heartbeats on the way (and dropping anything else). */
static void expect(struct fx *f, enum mlq_msg_type t, struct mlq_msg *out)
{
    int64_t end = mlq_clock_mono_ms() + WAIT;
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
        if (m.type == MLQ_MSG_HEARTBEAT) {
            struct mlq_msg hb = {.type = MLQ_MSG_HB_ACK, .rid = m.rid};
            mlq_transport_send_to(f->router, &f->peer, &hb, &e);
        }
        mlq_proto_msg_free(&m);
    }
    fail_msg("no '%s' message within %d ms", mlq_proto_type_name(t), WAIT);
}

/* Steps the agent for ms while the fake scheduler answers its heartbeats
 * (a silent scheduler would have it register again). */
static void idle_for(struct fx *f, int ms)
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
        if (m.type == MLQ_MSG_HEARTBEAT) { /* reports and uploads are left unanswered */
            struct mlq_msg hb = {.type = MLQ_MSG_HB_ACK, .rid = m.rid};
            mlq_transport_send_to(f->router, &f->peer, &hb, &e);
        }
        mlq_proto_msg_free(&m);
    }
}

static void sched_send(struct fx *f, struct mlq_msg *m)
{
    struct mlq_err e;
    m->rid = ++f->rid;
    assert_int_equal(mlq_transport_send_to(f->router, &f->peer, m, &e), 0);
}

static void start_agent(struct fx *f)
{
    if (access(f->shim, X_OK) != 0) {
        fprintf(stderr, "%s not built: skipping\n", f->shim);
        skip();
    }
    struct mlq_agent_config cfg = {
        .endpoint = f->endpoint,
        .name = "w1",
        .shim_path = f->shim,
        .cpus_m = 2000,
        .mem = 1 << 30,
        .heartbeat_ms = 200,
        .signal_fd = f->sig[0],
        .zctx = f->zctx,
    };
    struct mlq_err e;
    assert_int_equal(mlq_agent_create(&cfg, f->sp, &f->agent, &e), 0);
}

/* The agent's registration, answered (its first steps). */
static void registered(struct fx *f)
{
    struct mlq_err e;
    struct mlq_msg reg, r = {.type = MLQ_MSG_REGISTERED};
    expect(f, MLQ_MSG_REGISTER, &reg);
    r.rid = reg.rid;
    r.u.registered.heartbeat_ms = 200;
    r.u.registered.lease_ms = 60000;
    assert_int_equal(mlq_transport_send_to(f->router, &f->peer, &r, &e), 0);
    mlq_proto_msg_free(&reg);
}

static void start_registered(struct fx *f)
{
    start_agent(f);
    registered(f);
}

/* The pid of the standby shim whose prepared folder is in the spool (it
 * names itself in it), 0 when there is none or it is not alive. */
static pid_t standby_pid(struct fx *f)
{
    DIR *d = opendir(mlq_spool_attempts(f->sp));
    assert_non_null(d);
    pid_t pid = 0;
    for (struct dirent *de; (de = readdir(d)) && !pid;) {
        if (strncmp(de->d_name, ".tmp-standby-", 13) != 0)
            continue;
        char dir[4096];
        struct mlq_shim_id id;
        snprintf(dir, sizeof dir, "%s/%s", mlq_spool_attempts(f->sp), de->d_name);
        if (mlq_spool_read_shim(dir, &id, NULL) == 0 && mlq_spool_shim_alive(&id))
            pid = id.pid;
    }
    closedir(d);
    return pid;
}

/* The inode of the standby's prepared folder (0 when there is none): an
 * attempt run by the standby takes that folder, renamed. */
static ino_t standby_ino(struct fx *f)
{
    DIR *d = opendir(mlq_spool_attempts(f->sp));
    assert_non_null(d);
    ino_t ino = 0;
    for (struct dirent *de; (de = readdir(d)) && !ino;)
        if (strncmp(de->d_name, ".tmp-standby-", 13) == 0)
            ino = de->d_ino;
    closedir(d);
    return ino;
}

static ino_t attempt_ino(struct fx *f, const char *att)
{
    char dir[4096];
    struct stat sb;
    assert_int_equal(mlq_spool_attempt_dir(f->sp, att, dir, sizeof dir, NULL), 0);
    assert_int_equal(stat(dir, &sb), 0);
    return sb.st_ino;
}

static pid_t standby_pid_within(struct fx *f, int ms)
{
    int64_t end = mlq_clock_mono_ms() + ms;
    pid_t pid = standby_pid(f);
    while (!pid && mlq_clock_mono_ms() < end) {
        step_for(f, 20);
        pid = standby_pid(f);
    }
    return pid;
}

/* Assigns `true` as att and follows it to its finished report (acked);
 * returns the pid of the shim that ran it. */
static pid_t run_true(struct fx *f, const char *att)
{
    char *argv[] = {"true"};
    struct mlq_msg m = {.type = MLQ_MSG_ASSIGN}, rep;
    snprintf(m.u.assign.attempt_id, sizeof m.u.assign.attempt_id, "%s", att);
    snprintf(m.u.assign.job_id, sizeof m.u.assign.job_id, "%s", JOB);
    m.u.assign.attempt = 1;
    m.u.assign.spec.owner = testuser_self();
    m.u.assign.allow_root = true;
    m.u.assign.spec.argv = argv;
    m.u.assign.spec.argc = 1;
    m.u.assign.spec.workdir = f->root;
    m.u.assign.spec.cpus_m = 1000;
    m.u.assign.spec.mem = 1 << 20;
    m.u.assign.kill_grace_ms = 1000;
    sched_send(f, &m);
    expect(f, MLQ_MSG_REPORT, &rep);
    assert_string_equal(rep.u.report.attempt_id, att);
    assert_int_equal(rep.u.report.phase, MLQ_PHASE_STARTED);
    mlq_proto_msg_free(&rep);
    expect(f, MLQ_MSG_REPORT, &rep);
    assert_int_equal(rep.u.report.phase, MLQ_PHASE_FINISHED);
    assert_int_equal(rep.u.report.exit_code, 0);
    mlq_proto_msg_free(&rep);
    /* written before the job started (by the worker for a standby) */
    char dir[4096];
    struct mlq_shim_id id;
    assert_int_equal(mlq_spool_attempt_dir(f->sp, att, dir, sizeof dir, NULL), 0);
    assert_int_equal(mlq_spool_read_shim(dir, &id, NULL), 0);
    return id.pid;
}

/* A worker that has not had an assignment yet has a standby ready, and its
 * first assignment runs in the standby's folder, in a shim it forks (the
 * standby stays for the next one). */
static void test_standby_before_first_assignment(void **state)
{
    struct fx *f = *state;
    start_registered(f);
    pid_t sb = standby_pid_within(f, WAIT);
    assert_true(sb > 0);
    ino_t ino = standby_ino(f);
    pid_t shim = run_true(f, ATT_1);
    assert_int_not_equal(shim, sb);
    assert_int_equal(attempt_ino(f, ATT_1), ino);
    assert_int_equal(kill(sb, 0), 0);
}

/* Idle for longer than a standby used to be kept: the next assignment is
 * still served by a standby, started before it came. */
static void test_standby_kept_while_idle(void **state)
{
    struct fx *f = *state;
    start_registered(f);
    run_true(f, ATT_1);
    idle_for(f, IDLE);
    pid_t sb = standby_pid(f);
    assert_true(sb > 0);
    ino_t ino = standby_ino(f);
    run_true(f, ATT_2);
    assert_int_equal(attempt_ino(f, ATT_2), ino);
    assert_int_equal(kill(sb, 0), 0);
}

/* Lines of the log file at path that contain text. */
static int log_count(const char *path, const char *text)
{
    FILE *fp = fopen(path, "r");
    assert_non_null(fp);
    char line[2048];
    int n = 0;
    while (fgets(line, sizeof line, fp))
        n += strstr(line, text) != NULL;
    fclose(fp);
    return n;
}

/* A standby that cannot be started (the spool's attempts folder is not
 * one) is retried every few seconds for as long as the worker idles, but
 * said once in the log, not at each try; once the spool is back, a
 * standby is ready again without any assignment. */
static void test_standby_failure_said_once(void **state)
{
    struct fx *f = *state;
    char attempts[4200], aside[4200], logpath[4200], why[256];
    snprintf(attempts, sizeof attempts, "%s/attempts", f->root);
    snprintf(aside, sizeof aside, "%s/attempts.aside", f->root);
    snprintf(logpath, sizeof logpath, "%s/worker.log", f->root);
    assert_int_equal(mlq_log_open_file(logpath, why, sizeof why), 0);
    start_agent(f); /* reads the spool: its first standby comes at its first step */
    assert_int_equal(rename(attempts, aside), 0);
    int fd = open(attempts, O_WRONLY | O_CREAT | O_EXCL, 0600);
    assert_true(fd >= 0);
    close(fd);
    registered(f);
    idle_for(f, RETRY_WAIT); /* the first try and at least one more */
    assert_int_equal(log_count(logpath, "cannot start a standby shim"), 1);
    assert_int_equal(unlink(attempts), 0);
    assert_int_equal(rename(aside, attempts), 0);
    idle_for(f, RETRY_WAIT);
    assert_true(standby_pid(f) > 0);
    assert_int_equal(log_count(logpath, "standby shim started again"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_standby_before_first_assignment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_standby_kept_while_idle, setup, teardown),
        /* last: it sends the log to a file */
        cmocka_unit_test_setup_teardown(test_standby_failure_said_once, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
