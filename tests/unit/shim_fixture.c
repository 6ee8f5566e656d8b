/* shim_fixture: see shim_fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <grp.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "shim.h"
#include "shim_fixture.h"
#include "testuser.h"

void shim_fx_sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    nanosleep(&ts, NULL);
}

pid_t shim_fx_start(const char *dir, uid_t uid, gid_t gid)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        struct mlq_err e;
        if (uid != 0 && (setgid(gid) != 0 || setgroups(0, NULL) != 0 || setuid(uid) != 0))
            _exit(3);
        _exit(mlq_shim_run(dir, &e) == 0 ? 0 : 1);
    }
    return pid;
}

int shim_fx_wait(pid_t *pid, int64_t timeout_ms)
{
    int64_t end = mlq_clock_mono_ms() + timeout_ms;
    int ws = 0;
    while (waitpid(*pid, &ws, WNOHANG) == 0) {
        if (mlq_clock_mono_ms() > end)
            fail_msg("shim still running after %ld ms", (long)timeout_ms);
        shim_fx_sleep_ms(10);
    }
    *pid = 0;
    assert_true(WIFEXITED(ws));
    return WEXITSTATUS(ws);
}

struct mlq_status shim_fx_status(const char *dir)
{
    struct mlq_status st;
    struct mlq_err e;
    assert_int_equal(mlq_spool_read_status(dir, &st, &e), 0);
    return st;
}

/* The spec's resources and limits of j, as the scheduler would send them. */
static void fill_spec(struct mlq_jobspec *s, const char *dir, const struct shim_fx_job *j)
{
    s->owner = (char *)(j->owner ? j->owner : testuser_self());
    s->argv = j->argv;
    s->argc = j->argc;
    s->env = j->env;
    s->envc = j->envc;
    s->workdir = (char *)(j->workdir ? j->workdir : dir);
    s->cpus_m = 500;
    s->mem = 1 << 20;
    s->gpus = j->gpu_frac || j->gpu_mem ? 0 : (int32_t)j->ngpus;
    s->gpu_frac = j->gpu_frac;
    s->gpu_mem = j->gpu_mem;
    s->kill_grace_ms = j->spec_grace_ms;
    s->time_limit_ms = j->limit_ms;
    s->warn_signal = j->warn_signal;
    s->warn_before_ms = j->warn_before_ms;
    s->stdout_file = (char *)j->stdout_file;
    s->stderr_file = (char *)j->stderr_file;
    if (j->gang)
        s->nodes = j->gang->nnodes;
}

void shim_fx_write_assign(const char *dir, const struct shim_fx_job *j)
{
    struct mlq_msg m;
    memset(&m, 0, sizeof m);
    m.type = MLQ_MSG_ASSIGN;
    snprintf(m.u.assign.attempt_id, sizeof m.u.assign.attempt_id, "%s", SHIM_FX_ATT_ID);
    snprintf(m.u.assign.job_id, sizeof m.u.assign.job_id, "%s", SHIM_FX_JOB_ID);
    m.u.assign.attempt = j->attempt ? j->attempt : 3;
    m.u.assign.allow_root = !j->deny_root;
    fill_spec(&m.u.assign.spec, dir, j);
    m.u.assign.gpu_ids = j->gpus;
    m.u.assign.ngpu_ids = j->ngpus;
    m.u.assign.kill_grace_ms = j->grace_ms ? j->grace_ms : 5000;
    if (j->array_id) {
        snprintf(m.u.assign.array_id, sizeof m.u.assign.array_id, "%s", j->array_id);
        m.u.assign.array_index = j->array_index;
        m.u.assign.array_size = j->array_size;
    }
    if (j->gang)
        m.u.assign.gang = *j->gang;
    struct mlq_err e;
    assert_int_equal(mlq_spool_write_assign(dir, &m, &e), 0);
}

void shim_fx_run(pid_t *pid, const char *dir, uid_t uid, gid_t gid)
{
    *pid = shim_fx_start(dir, uid, gid);
    assert_int_equal(shim_fx_wait(pid, 10000), 0);
}

void shim_fx_stop(pid_t *pid)
{
    if (*pid <= 0)
        return;
    kill(*pid, SIGKILL);
    waitpid(*pid, NULL, 0);
    *pid = 0;
}
