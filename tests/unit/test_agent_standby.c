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
#include "agent_fixture.h"
#include "clock.h"
#include "exec.h"
#include "log.h"
#include "spool.h"
#include "testdir.h"
#include "testuser.h"
#include "transport.h"

#define ATT_1      "11111111-1111-4111-8111-111111111111"
#define ATT_2      "22222222-2222-4222-8222-222222222222"
#define IDLE       2500 /* longer than the 2 s after which a standby used to go */
#define RETRY_WAIT 5600 /* past a failed standby's retry (attempts.c: 5 s) */

static int setup(void **state)
{
    int rc = agent_fx_setup(state, "standby");
    if (rc == 0)
        ((struct agent_fx *)*state)->reap_wait = true;
    return rc;
}

static void start_agent(struct agent_fx *f)
{
    agent_fx_need_shim(f);
    struct mlq_agent_config cfg = agent_fx_config(f);
    agent_fx_create(f, &cfg);
}

/* The agent's registration, answered (its first steps). */
static void registered(struct agent_fx *f)
{
    struct mlq_msg reg;
    agent_fx_register(f, &reg, 60000);
    mlq_proto_msg_free(&reg);
}

static void start_registered(struct agent_fx *f)
{
    start_agent(f);
    registered(f);
}

/* The pid of the standby shim whose prepared folder is in the spool (it
 * names itself in it), 0 when there is none or it is not alive. */
static pid_t standby_pid(struct agent_fx *f)
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
static ino_t standby_ino(struct agent_fx *f)
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

static ino_t attempt_ino(struct agent_fx *f, const char *att)
{
    char dir[4096];
    struct stat sb;
    assert_int_equal(mlq_spool_attempt_dir(f->sp, att, dir, sizeof dir, NULL), 0);
    assert_int_equal(stat(dir, &sb), 0);
    return sb.st_ino;
}

static pid_t standby_pid_within(struct agent_fx *f, int ms)
{
    int64_t end = mlq_clock_mono_ms() + ms;
    pid_t pid = standby_pid(f);
    while (!pid && mlq_clock_mono_ms() < end) {
        agent_fx_step_for(f, 20);
        pid = standby_pid(f);
    }
    return pid;
}

/* Assigns `true` as att and follows it to its finished report (acked);
 * returns the pid of the shim that ran it. */
static pid_t run_true(struct agent_fx *f, const char *att)
{
    char *argv[] = {"true"};
    struct mlq_msg m, rep;
    agent_fx_fill_assign(f, &m, att, argv, 1, NULL, 0);
    agent_fx_send(f, &m);
    agent_fx_expect(f, MLQ_MSG_REPORT, &rep);
    assert_string_equal(rep.u.report.attempt_id, att);
    assert_int_equal(rep.u.report.phase, MLQ_PHASE_STARTED);
    mlq_proto_msg_free(&rep);
    agent_fx_expect(f, MLQ_MSG_REPORT, &rep);
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
    struct agent_fx *f = *state;
    start_registered(f);
    pid_t sb = standby_pid_within(f, AGENT_FX_WAIT);
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
    struct agent_fx *f = *state;
    start_registered(f);
    run_true(f, ATT_1);
    agent_fx_idle_for(f, IDLE);
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
    struct agent_fx *f = *state;
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
    agent_fx_idle_for(f, RETRY_WAIT); /* the first try and at least one more */
    assert_int_equal(log_count(logpath, "cannot start a standby shim"), 1);
    assert_int_equal(unlink(attempts), 0);
    assert_int_equal(rename(aside, attempts), 0);
    agent_fx_idle_for(f, RETRY_WAIT);
    assert_true(standby_pid(f) > 0);
    assert_int_equal(log_count(logpath, "standby shim started again"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_standby_before_first_assignment, setup,
                                        agent_fx_teardown),
        cmocka_unit_test_setup_teardown(test_standby_kept_while_idle, setup, agent_fx_teardown),
        /* last: it sends the log to a file */
        cmocka_unit_test_setup_teardown(test_standby_failure_said_once, setup, agent_fx_teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
