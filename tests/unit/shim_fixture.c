/* shim_fixture: see shim_fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <grp.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"
#include "shim.h"
#include "shim_fixture.h"

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
