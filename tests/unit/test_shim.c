/* shim: runs the real supervisor (mlq_shim_run) in a forked child on a temp
 * attempt folder and checks the status and log files it leaves: exit codes,
 * signals, the kill grace, time limits and their warning signal, whole
 * process trees (setsid, double forks, ignored SIGTERM) ended before the
 * status is written, start failures (the job's environment is
 * test_shim_env.c's); as root, jobs
 * run as their owner's account (a throwaway user made with useradd and
 * removed in the teardown), unknown accounts and root without allow_root
 * are start failures, and a shim that is not root runs jobs as itself; what
 * a standby shim accepts as its folders and the shim it forks for each;
 * an outcome that cannot be written
 * is kept and written once it can. Every test
 * bounds its waits and kills what it started.
 *
 * The tree tests run with whatever the machine offers: a cgroup v2 per job
 * where /sys/fs/cgroup (or $MLQ_CGROUP_FS) allows one, else the /proc walk;
 * run them with MLQ_CGROUP_FS=none and with a cgroup2 mount to cover both. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <errno.h>
#include <pwd.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "clock.h"
#include "fsutil.h"
#include "lease.h"
#include "shim.h"
#include "shim_fixture.h"
#include "shimzygote.h"
#include "spool.h"
#include "testdir.h"
#include "testuser.h"

struct fx {
    char dir[64];
    char root[32]; /* the spool above dir (lease tests), "" when none */
    pid_t shim;    /* forked child running mlq_shim_run, 0 when none */
    char user[32]; /* throwaway account made by make_user, "" when none */
    uid_t uid;
    gid_t gid;
    uid_t shim_uid; /* 0: the shim runs as the test; else it becomes this uid first */
};

static int setup(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (testdir_make(f->dir, sizeof f->dir, "shim") < 0)
        return -1;
    *state = f;
    return 0;
}

/* Kills the job groups of a shim left running by a failed test, then the
 * shim itself (its children are the jobs, each leading its own group). */
static void kill_leftovers(pid_t shim)
{
    char path[64];
    snprintf(path, sizeof path, "/proc/%ld/task/%ld/children", (long)shim, (long)shim);
    FILE *fp = fopen(path, "r");
    long pid;
    while (fp && fscanf(fp, "%ld", &pid) == 1)
        kill((pid_t)-pid, SIGKILL);
    if (fp)
        fclose(fp);
    kill(shim, SIGKILL);
    waitpid(shim, NULL, 0);
}

/* Kills the processes a failed tree test may have left (named in "pids"). */
static void kill_listed(struct fx *f)
{
    char path[128];
    snprintf(path, sizeof path, "%s/pids", f->dir);
    FILE *fp = fopen(path, "r");
    long pid;
    while (fp && fscanf(fp, "%ld", &pid) == 1) {
        if (pid > 0)
            kill((pid_t)pid, SIGKILL);
    }
    if (fp)
        fclose(fp);
}

/* A spool-like layout, ROOT/a/DIR, so that the shim finds ROOT's lease
 * file where a worker keeps it (two levels above the attempt folder). */
static int setup_spool(void **state)
{
    struct fx *f = calloc(1, sizeof *f);
    if (testdir_make(f->root, sizeof f->root, "shim") < 0)
        return -1;
    snprintf(f->dir, sizeof f->dir, "%s/a", f->root);
    if (mkdir(f->dir, 0700) != 0)
        return -1;
    snprintf(f->dir, sizeof f->dir, "%s/a/b", f->root);
    if (mkdir(f->dir, 0700) != 0)
        return -1;
    *state = f;
    return 0;
}

static int teardown(void **state)
{
    struct fx *f = *state;
    if (f->shim > 0)
        kill_leftovers(f->shim);
    kill_listed(f);
    testdir_remove(f->root[0] ? f->root : f->dir);
    testuser_remove(f->user);
    free(f);
    return 0;
}

static void start_shim(struct fx *f)
{
    f->shim = shim_fx_start(f->dir, f->shim_uid, f->gid);
}

/* Waits for the shim to exit (at most timeout_ms) and returns its exit
 * status; fails the test on timeout (the teardown kills it). */
static int wait_shim(struct fx *f, int64_t timeout_ms)
{
    return shim_fx_wait(&f->shim, timeout_ms);
}

/* Runs the shim to its end (at most 10 s); it must exit 0. */
static void run_shim(struct fx *f)
{
    shim_fx_run(&f->shim, f->dir, f->shim_uid, f->gid);
}

/* Waits until the named file contains text (the job is running). */
static void wait_for_text(struct fx *f, const char *name, const char *text)
{
    int64_t end = mlq_clock_mono_ms() + 5000;
    for (;;) {
        char *s = testdir_read(f->dir, name);
        bool found = s && strstr(s, text);
        free(s);
        if (found)
            return;
        if (mlq_clock_mono_ms() > end)
            fail_msg("%s never contained '%s'", name, text);
        shim_fx_sleep_ms(10);
    }
}

static struct mlq_status status_of(struct fx *f)
{
    return shim_fx_status(f->dir);
}

static void test_exit_code_and_logs(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"/bin/sh", "-c", "echo out; echo err >&2; exit 3"};
    struct shim_fx_job j = {.argv = argv, .argc = 3};
    shim_fx_write_assign(f->dir, &j);
    int64_t before = mlq_clock_wall_ms();
    run_shim(f);
    struct mlq_status st = status_of(f);
    assert_int_equal(st.outcome, MLQ_OUT_EXITED);
    assert_int_equal(st.exit_code, 3);
    assert_int_equal(st.signal, 0);
    assert_true(st.start_ms >= before);
    assert_true(st.end_ms >= st.start_ms);
    char *out = testdir_read(f->dir, "stdout"), *err = testdir_read(f->dir, "stderr");
    assert_string_equal(out, "out\n");
    assert_string_equal(err, "err\n");
    free(out);
    free(err);
    /* shim.pid names the shim itself. */
    struct mlq_shim_id id;
    struct mlq_err e;
    assert_int_equal(mlq_spool_read_shim(f->dir, &id, &e), 0);
    assert_true(id.pid > 0);
    assert_true(id.starttime > 0);
}

/* An outcome that cannot be written (here "status" is a folder, as a full
 * spool would refuse the file) is kept: the shim stays alive, retrying, and
 * writes it once it can, instead of exiting and leaving the attempt to look
 * lost. */
static void test_status_kept_until_written(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"/bin/sh", "-c", "echo out"};
    struct shim_fx_job j = {.argv = argv, .argc = 3};
    char blocker[128];
    snprintf(blocker, sizeof blocker, "%s/status", f->dir);
    shim_fx_write_assign(f->dir, &j);
    assert_int_equal(mkdir(blocker, 0700), 0);
    start_shim(f);
    wait_for_text(f, "stdout", "out");
    shim_fx_sleep_ms(500);
    int ws;
    assert_int_equal(waitpid(f->shim, &ws, WNOHANG), 0); /* still there */
    struct mlq_status st;
    assert_int_not_equal(mlq_spool_read_status(f->dir, &st, NULL), 0);
    assert_int_equal(rmdir(blocker), 0);
    assert_int_equal(wait_shim(f, 10000), 0);
    st = status_of(f);
    assert_int_equal(st.outcome, MLQ_OUT_EXITED);
    assert_int_equal(st.exit_code, 0);
}

static void test_sigterm_ends_signaled(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"/bin/sh", "-c", "echo ready; exec sleep 30"};
    struct shim_fx_job j = {.argv = argv, .argc = 3};
    shim_fx_write_assign(f->dir, &j);
    start_shim(f);
    wait_for_text(f, "stdout", "ready");
    int64_t t0 = mlq_clock_mono_ms();
    kill(f->shim, SIGTERM);
    assert_int_equal(wait_shim(f, 10000), 0);
    assert_true(mlq_clock_mono_ms() - t0 < 3000);
    struct mlq_status st = status_of(f);
    assert_int_equal(st.outcome, MLQ_OUT_SIGNALED);
    assert_int_equal(st.signal, SIGTERM);
    assert_int_equal(st.exit_code, -1);
}

static void test_sigkill_after_grace(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"/bin/sh", "-c", "trap '' TERM; echo ready; sleep 20; echo survived"};
    struct shim_fx_job j = {.argv = argv, .argc = 3, .grace_ms = 300};
    shim_fx_write_assign(f->dir, &j);
    start_shim(f);
    wait_for_text(f, "stdout", "ready");
    int64_t t0 = mlq_clock_mono_ms();
    kill(f->shim, SIGTERM);
    assert_int_equal(wait_shim(f, 10000), 0);
    int64_t took = mlq_clock_mono_ms() - t0;
    assert_true(took >= 250);
    assert_true(took < 5000);
    struct mlq_status st = status_of(f);
    assert_int_equal(st.outcome, MLQ_OUT_SIGNALED);
    assert_int_equal(st.signal, SIGKILL);
    char *out = testdir_read(f->dir, "stdout");
    assert_null(strstr(out, "survived"));
    free(out);
}

/* A background process left in the job's group dies with the job. */
static void test_group_cleaned_up(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"/bin/sh", "-c", "sleep 30 & echo $! > bg.pid; exit 0"};
    struct shim_fx_job j = {.argv = argv, .argc = 3};
    shim_fx_write_assign(f->dir, &j);
    run_shim(f);
    struct mlq_status st = status_of(f);
    assert_int_equal(st.outcome, MLQ_OUT_EXITED);
    assert_int_equal(st.exit_code, 0);
    char *s = testdir_read(f->dir, "bg.pid");
    assert_non_null(s);
    pid_t bg = (pid_t)atol(s);
    free(s);
    assert_true(bg > 0);
    assert_false(mlq_fs_pid_alive(bg));
}

static void test_missing_workdir(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"/bin/echo", "never"};
    struct shim_fx_job j = {.argv = argv, .argc = 2, .workdir = "/nonexistent/mlq-dir"};
    shim_fx_write_assign(f->dir, &j);
    run_shim(f);
    struct mlq_status st = status_of(f);
    assert_int_equal(st.outcome, MLQ_OUT_START_FAILED);
    assert_string_equal(st.detail, "workdir /nonexistent/mlq-dir: no such directory");
    assert_true(st.no_retry);
    char *out = testdir_read(f->dir, "stdout");
    assert_true(out == NULL || out[0] == '\0');
    free(out);
}

static void test_nonexistent_program(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"no-such-program-mlq", "x"};
    struct shim_fx_job j = {.argv = argv, .argc = 2};
    shim_fx_write_assign(f->dir, &j);
    run_shim(f);
    struct mlq_status st = status_of(f);
    assert_int_equal(st.outcome, MLQ_OUT_START_FAILED);
    assert_string_equal(st.detail, "no-such-program-mlq: command not found");
    assert_true(st.no_retry);
    assert_int_equal(st.start_ms, 0);
}

/* A path that is there but may not be run, and one that is not there. */
static void test_program_not_executable(void **state)
{
    struct fx *f = *state;
    char prog[256];
    snprintf(prog, sizeof prog, "%s/run.sh", f->dir);
    assert_int_equal(mlq_fs_write_atomic(prog, "#!/bin/sh\necho hi\n", 18, NULL), 0);
    assert_int_equal(chmod(prog, 0644), 0);
    char *argv[] = {prog};
    struct shim_fx_job j = {.argv = argv, .argc = 1};
    shim_fx_write_assign(f->dir, &j);
    run_shim(f);
    struct mlq_status st = status_of(f);
    assert_int_equal(st.outcome, MLQ_OUT_START_FAILED);
    char want[300];
    snprintf(want, sizeof want, "%s: permission denied", prog);
    assert_string_equal(st.detail, want);
    assert_true(st.no_retry);
}

static void test_program_path_missing(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"./no-such-script.sh"};
    struct shim_fx_job j = {.argv = argv, .argc = 1};
    shim_fx_write_assign(f->dir, &j);
    run_shim(f);
    struct mlq_status st = status_of(f);
    assert_int_equal(st.outcome, MLQ_OUT_START_FAILED);
    assert_string_equal(st.detail, "./no-such-script.sh: no such file");
}

static void test_bad_assign_is_start_failed(void **state)
{
    struct fx *f = *state;
    char path[256];
    snprintf(path, sizeof path, "%s/assign", f->dir);
    assert_int_equal(mlq_fs_write_atomic(path, "garbage", 7, NULL), 0);
    run_shim(f);
    struct mlq_status st = status_of(f);
    assert_int_equal(st.outcome, MLQ_OUT_START_FAILED);
    assert_non_null(strstr(st.detail, "assign"));
}

/* An attempt that already has an outcome is never run again. */
static void test_never_runs_twice(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"/bin/sh", "-c", "echo ran"};
    struct shim_fx_job j = {.argv = argv, .argc = 3};
    shim_fx_write_assign(f->dir, &j);
    struct mlq_status st = {.outcome = MLQ_OUT_LOST, .exit_code = -1};
    struct mlq_err e;
    assert_int_equal(mlq_spool_write_status(f->dir, &st, &e), 0);
    run_shim(f);
    assert_int_equal(status_of(f).outcome, MLQ_OUT_LOST);
    char *out = testdir_read(f->dir, "stdout");
    assert_null(out);
}

static void test_output_appends(void **state)
{
    struct fx *f = *state;
    char path[256];
    snprintf(path, sizeof path, "%s/stdout", f->dir);
    assert_int_equal(mlq_fs_write_atomic(path, "before\n", 7, NULL), 0);
    char *argv[] = {"/bin/echo", "after"};
    struct shim_fx_job j = {.argv = argv, .argc = 2};
    shim_fx_write_assign(f->dir, &j);
    run_shim(f);
    char *out = testdir_read(f->dir, "stdout");
    assert_string_equal(out, "before\nafter\n");
    free(out);
}

/* ---- time limits and whole trees ---- */

/* A job that leaves behind, each writing its pid to "pids": a process in a
 * new session that ignores SIGTERM (and its child, which inherits that), and
 * a double-forked orphan. The main shell itself ignores SIGTERM when
 * main_ignores_term. */
static char *tree_script(bool main_ignores_term)
{
    static char buf[1024];
    snprintf(buf, sizeof buf,
             "%s: > pids\n"
             "setsid sh -c 'trap \"\" TERM; sleep 300 & echo $! >> pids; echo $$ >> pids; wait' &\n"
             "(sh -c 'sleep 300 & echo $! >> pids' &)\n"
             "while [ \"$(wc -l < pids)\" -lt 3 ]; do sleep 0.01; done\n"
             "echo ready\n"
             "sleep 300 & wait\n",
             main_ignores_term ? "trap '' TERM\n" : "");
    return buf;
}

/* Reads the pids the job wrote; returns how many. */
static int listed_pids(struct fx *f, pid_t *out, int max)
{
    char *s = testdir_read(f->dir, "pids");
    int n = 0;
    for (char *p = s, *end; p && *p && n < max; p = end) {
        long v = strtol(p, &end, 10);
        if (end == p)
            break;
        out[n++] = (pid_t)v;
    }
    free(s);
    return n;
}

/* Every listed process is gone (not even a zombie). */
static void assert_all_gone(struct fx *f)
{
    pid_t pids[8];
    int n = listed_pids(f, pids, 8);
    assert_int_equal(n, 3);
    for (int i = 0; i < n; i++) {
        if (kill(pids[i], 0) == 0)
            fail_msg("process %ld of the job is still there", (long)pids[i]);
    }
}

/* Waits for the status file, then checks at once that the job's processes
 * are all gone: the status must only appear after the whole tree ended. */
static void wait_status_then_check(struct fx *f)
{
    wait_for_text(f, "status", "end_ms=");
    assert_all_gone(f);
    assert_int_equal(wait_shim(f, 10000), 0);
}

static void test_sigterm_ends_whole_tree(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"/bin/sh", "-c", tree_script(false)};
    struct shim_fx_job j = {.argv = argv, .argc = 3, .spec_grace_ms = 400, .grace_ms = 60000};
    shim_fx_write_assign(f->dir, &j);
    start_shim(f);
    wait_for_text(f, "stdout", "ready");
    int64_t t0 = mlq_clock_mono_ms();
    kill(f->shim, SIGTERM);
    wait_status_then_check(f);
    int64_t took = mlq_clock_mono_ms() - t0;
    assert_true(took >= 350); /* the leftovers ignore SIGTERM: the spec's grace */
    assert_true(took < 5000); /* ... not the assign's 60 s */
    struct mlq_status st = status_of(f);
    assert_int_equal(st.outcome, MLQ_OUT_SIGNALED);
    assert_int_equal(st.signal, SIGTERM);
}

static void test_time_limit_ends_whole_tree(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"/bin/sh", "-c", tree_script(true)};
    struct shim_fx_job j = {.argv = argv, .argc = 3, .limit_ms = 700, .spec_grace_ms = 300};
    shim_fx_write_assign(f->dir, &j);
    int64_t t0 = mlq_clock_mono_ms();
    start_shim(f);
    wait_for_text(f, "stdout", "ready");
    wait_status_then_check(f);
    int64_t took = mlq_clock_mono_ms() - t0;
    assert_true(took >= 950);
    assert_true(took < 6000);
    struct mlq_status st = status_of(f);
    assert_int_equal(st.outcome, MLQ_OUT_TIMED_OUT);
    assert_int_equal(st.signal, SIGKILL); /* the main shell ignored SIGTERM */
    assert_int_equal(st.exit_code, -1);
    assert_string_equal(st.detail, "time limit of 700ms reached");
}

static void test_time_limit_sigterm_suffices(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"/bin/sh", "-c", "echo ready; exec sleep 30"};
    struct shim_fx_job j = {.argv = argv, .argc = 3, .limit_ms = 300, .spec_grace_ms = 20000};
    shim_fx_write_assign(f->dir, &j);
    int64_t t0 = mlq_clock_mono_ms();
    run_shim(f);
    int64_t took = mlq_clock_mono_ms() - t0;
    assert_true(took >= 280);
    assert_true(took < 5000);
    struct mlq_status st = status_of(f);
    assert_int_equal(st.outcome, MLQ_OUT_TIMED_OUT);
    assert_int_equal(st.signal, SIGTERM);
}

/* The warning comes warn_before_ms before the limit; a job that handles it
 * and exits in time is not timed out. */
static void test_warn_signal(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"/bin/sh", "-c",
                    "trap 'echo warned; exit 7' USR1; echo ready; "
                    "while :; do sleep 0.05; done"};
    struct shim_fx_job j = {
        .argv = argv, .argc = 3, .limit_ms = 1500, .warn_signal = SIGUSR1, .warn_before_ms = 1100};
    shim_fx_write_assign(f->dir, &j);
    int64_t t0 = mlq_clock_mono_ms();
    run_shim(f);
    int64_t took = mlq_clock_mono_ms() - t0;
    assert_true(took >= 350);
    assert_true(took < 1450);
    struct mlq_status st = status_of(f);
    assert_int_equal(st.outcome, MLQ_OUT_EXITED);
    assert_int_equal(st.exit_code, 7);
    char *out = testdir_read(f->dir, "stdout");
    assert_string_equal(out, "ready\nwarned\n");
    free(out);
}

/* The main process exits on its own: its leftovers are killed before the
 * status appears. */
static void test_main_exit_ends_whole_tree(void **state)
{
    struct fx *f = *state;
    char *script = tree_script(false);
    char *cut = strstr(script, "sleep 300 & wait");
    snprintf(cut, 32, "exit 4\n");
    char *argv[] = {"/bin/sh", "-c", script};
    struct shim_fx_job j = {.argv = argv, .argc = 3};
    shim_fx_write_assign(f->dir, &j);
    start_shim(f);
    wait_status_then_check(f);
    struct mlq_status st = status_of(f);
    assert_int_equal(st.outcome, MLQ_OUT_EXITED);
    assert_int_equal(st.exit_code, 4);
}

/* A worker that fenced itself writes "fenced" before the SIGTERM. */
static void test_fenced_is_lost(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"/bin/sh", "-c", "echo ready; exec sleep 30"};
    struct shim_fx_job j = {.argv = argv, .argc = 3};
    shim_fx_write_assign(f->dir, &j);
    start_shim(f);
    wait_for_text(f, "stdout", "ready");
    struct mlq_err e;
    assert_int_equal(mlq_spool_write_note(f->dir, MLQ_SPOOL_FENCED, "self-fenced: test", &e), 0);
    kill(f->shim, SIGTERM);
    assert_int_equal(wait_shim(f, 10000), 0);
    struct mlq_status st = status_of(f);
    assert_int_equal(st.outcome, MLQ_OUT_LOST);
    assert_string_equal(st.detail, "self-fenced: test");
}

/* ---- the worker's lease ---- */

static void put_lease(struct fx *f, int64_t until)
{
    struct mlq_err e;
    assert_int_equal(mlq_lease_write(f->root, until, &e), 0);
}

static void assert_self_fenced(struct fx *f)
{
    struct mlq_status st = status_of(f);
    assert_int_equal(st.outcome, MLQ_OUT_LOST);
    assert_int_equal(st.exit_code, -1);
    assert_int_equal(strncmp(st.detail, "self-fenced: ", 13), 0);
}

/* Nobody renews the lease (the worker daemon is dead): the shim ends the
 * job once it runs out, SIGKILL after the grace for a job that ignores
 * SIGTERM, and records it lost. */
static void test_lease_expired_fences(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"/bin/sh", "-c", "trap '' TERM; echo ready; while :; do sleep 0.05; done"};
    struct shim_fx_job j = {.argv = argv, .argc = 3, .spec_grace_ms = 300};
    shim_fx_write_assign(f->dir, &j);
    int64_t t0 = mlq_clock_boot_ms();
    put_lease(f, t0 + 700);
    start_shim(f);
    wait_for_text(f, "stdout", "ready");
    assert_int_equal(wait_shim(f, 10000), 0);
    int64_t took = mlq_clock_boot_ms() - t0;
    assert_true(took >= 700 + 300); /* the lease, then the grace */
    assert_true(took < 700 + 300 + 3000);
    assert_self_fenced(f);
}

/* A renewed lease keeps the job running; once renewals stop, it ends. */
static void test_lease_renewed_keeps_running(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"/bin/sh", "-c", "echo ready; exec sleep 30"};
    struct shim_fx_job j = {.argv = argv, .argc = 3};
    shim_fx_write_assign(f->dir, &j);
    /* Renewed 1 s ahead every 50 ms: well past each deadline the shim read
     * first, however slow this machine is. */
    put_lease(f, mlq_clock_boot_ms() + 1000);
    start_shim(f);
    wait_for_text(f, "stdout", "ready");
    int64_t end = mlq_clock_boot_ms() + 2500;
    while (mlq_clock_boot_ms() < end) {
        put_lease(f, mlq_clock_boot_ms() + 1000);
        shim_fx_sleep_ms(50);
        assert_int_equal(waitpid(f->shim, NULL, WNOHANG), 0);
    }
    int64_t stopped = mlq_clock_boot_ms();
    assert_int_equal(wait_shim(f, 10000), 0);
    assert_true(mlq_clock_boot_ms() - stopped >= 900);
    assert_self_fenced(f);
}

/* An attempt whose lease is already over is never started. */
static void test_lease_over_at_start(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"/bin/sh", "-c", "echo ran"};
    struct shim_fx_job j = {.argv = argv, .argc = 3};
    shim_fx_write_assign(f->dir, &j);
    put_lease(f, mlq_clock_boot_ms() - 1);
    run_shim(f);
    assert_self_fenced(f);
    char *out = testdir_read(f->dir, "stdout");
    assert_true(!out || !strstr(out, "ran"));
    free(out);
}

/* No lease file (no worker wrote one): the job runs to its end. */
static void test_no_lease_file_runs(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"/bin/sh", "-c", "sleep 0.3; exit 4"};
    struct shim_fx_job j = {.argv = argv, .argc = 3};
    shim_fx_write_assign(f->dir, &j);
    run_shim(f);
    struct mlq_status st = status_of(f);
    assert_int_equal(st.outcome, MLQ_OUT_EXITED);
    assert_int_equal(st.exit_code, 4);
}

/* With a usable cgroup v2 the job ran in its own cgroup, removed at the end;
 * without one, nothing is recorded. */
static void test_cgroup_note(void **state)
{
    struct fx *f = *state;
    char *argv[] = {"/bin/sh", "-c", "cat /proc/self/cgroup"};
    struct shim_fx_job j = {.argv = argv, .argc = 3};
    shim_fx_write_assign(f->dir, &j);
    run_shim(f);
    char cg[4096];
    if (!mlq_spool_read_note(f->dir, MLQ_SPOOL_CGROUP, cg, sizeof cg)) {
        fprintf(stderr, "(no cgroup v2 here: the /proc walk was used)\n");
        return;
    }
    char *out = testdir_read(f->dir, "stdout");
    assert_non_null(strstr(out, "/mlq-" SHIM_FX_ATT_ID));
    free(out);
    struct stat st;
    assert_int_equal(stat(cg, &st), -1); /* removed */
}

/* ---- running as the job's owner ---- */

static void make_user(struct fx *f)
{
    testuser_make("mlqtest", f->user, sizeof f->user, &f->uid, &f->gid);
}

static void file_owner(struct fx *f, const char *name, uid_t *uid, gid_t *gid)
{
    char path[256];
    struct stat st;
    snprintf(path, sizeof path, "%s/%s", f->dir, name);
    assert_int_equal(stat(path, &st), 0);
    *uid = st.st_uid;
    *gid = st.st_gid;
}

/* As root, the job runs as its owner's account (uid, gid, HOME, USER,
 * LOGNAME; no way back to root), and its log files are the owner's. */
static void test_runs_as_owner(void **state)
{
    struct fx *f = *state;
    make_user(f);
    char *argv[] = {"/bin/sh", "-c",
                    "id -u; id -g; echo \"$USER $LOGNAME $HOME\"; echo err >&2; "
                    "grep -E '^(Uid|Gid):' /proc/self/status"};
    char *env[] = {"USER=forged"};
    struct shim_fx_job j = {.argv = argv,
                            .argc = 3,
                            .env = env,
                            .envc = 1,
                            .workdir = "/tmp",
                            .owner = f->user,
                            .deny_root = true};
    shim_fx_write_assign(f->dir, &j);
    setenv("MLQ_WORKER", "wtest", 1);
    run_shim(f);
    unsetenv("MLQ_WORKER");
    struct mlq_status st = status_of(f);
    assert_int_equal(st.outcome, MLQ_OUT_EXITED);
    assert_int_equal(st.exit_code, 0);
    struct passwd *pw = getpwnam(f->user);
    assert_non_null(pw);
    char want[512];
    /* real, effective, saved and file system ids: no way back to root */
    snprintf(want, sizeof want,
             "%ld\n%ld\n%s %s %s\nUid:\t%ld\t%ld\t%ld\t%ld\nGid:\t%ld\t%ld\t%ld\t%ld\n",
             (long)f->uid, (long)f->gid, f->user, f->user, pw->pw_dir, (long)f->uid, (long)f->uid,
             (long)f->uid, (long)f->uid, (long)f->gid, (long)f->gid, (long)f->gid, (long)f->gid);
    char *out = testdir_read(f->dir, "stdout");
    assert_string_equal(out, want);
    free(out);
    uid_t u;
    gid_t g;
    file_owner(f, "stdout", &u, &g);
    assert_int_equal(u, f->uid);
    assert_int_equal(g, f->gid);
    file_owner(f, "stderr", &u, &g);
    assert_int_equal(u, f->uid);
}

/* An owner without an account on this worker never runs: start_failed
 * naming the account and the worker. */
static void test_unknown_account(void **state)
{
    struct fx *f = *state;
    make_user(f); /* only for the root and useradd checks */
    char *argv[] = {"/bin/echo", "never"};
    char owner[64];
    snprintf(owner, sizeof owner, "%s_none", f->user);
    struct shim_fx_job j = {.argv = argv, .argc = 2, .owner = owner};
    shim_fx_write_assign(f->dir, &j);
    setenv("MLQ_WORKER", "wtest", 1);
    run_shim(f);
    unsetenv("MLQ_WORKER");
    struct mlq_status st = status_of(f);
    assert_int_equal(st.outcome, MLQ_OUT_START_FAILED);
    assert_int_equal(st.start_ms, 0);
    char want[128];
    snprintf(want, sizeof want, "no Unix account %s on worker wtest", owner);
    assert_string_equal(st.detail, want);
    char *out = testdir_read(f->dir, "stdout");
    assert_true(out == NULL || out[0] == '\0');
    free(out);
}

/* A job of root runs as root only when the assign allows it. */
static void test_root_needs_allow_root(void **state)
{
    struct fx *f = *state;
    if (geteuid() != 0)
        skip();
    char *argv[] = {"/bin/sh", "-c", "id -u"};
    struct shim_fx_job j = {.argv = argv, .argc = 3, .owner = "root", .deny_root = true};
    shim_fx_write_assign(f->dir, &j);
    run_shim(f);
    struct mlq_status st = status_of(f);
    assert_int_equal(st.outcome, MLQ_OUT_START_FAILED);
    assert_non_null(strstr(st.detail, "refusing to run as root"));
    char *out = testdir_read(f->dir, "stdout");
    assert_true(out == NULL || out[0] == '\0');
    free(out);

    /* the same job with allow_root runs, as root */
    char path[256];
    snprintf(path, sizeof path, "%s/status", f->dir);
    assert_int_equal(unlink(path), 0);
    j.deny_root = false;
    shim_fx_write_assign(f->dir, &j);
    run_shim(f);
    st = status_of(f);
    assert_int_equal(st.outcome, MLQ_OUT_EXITED);
    out = testdir_read(f->dir, "stdout");
    assert_string_equal(out, "0\n");
    free(out);
}

/* The working directory is entered as the owner: one it may not enter is a
 * start failure that says so (reported from the child before the exec). */
static void test_workdir_denied_to_owner(void **state)
{
    struct fx *f = *state;
    make_user(f);
    char *argv[] = {"/bin/echo", "never"};
    char dir[128];
    snprintf(dir, sizeof dir, "%s/private", f->dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    struct shim_fx_job j = {.argv = argv, .argc = 2, .workdir = dir, .owner = f->user};
    shim_fx_write_assign(f->dir, &j);
    run_shim(f);
    struct mlq_status st = status_of(f);
    assert_int_equal(st.outcome, MLQ_OUT_START_FAILED);
    char want[256];
    snprintf(want, sizeof want, "workdir %s: permission denied (as %s)", dir, f->user);
    assert_string_equal(st.detail, want);
}

/* -o/-e: the files are created as the owner, get what the job writes (as
 * the spool logs do), with the placeholders expanded. */
static void test_output_files_as_owner(void **state)
{
    struct fx *f = *state;
    make_user(f);
    char dir[] = "/tmp/mlq-test-out-XXXXXX", want[300], path[300];
    assert_non_null(mkdtemp(dir));
    assert_int_equal(chmod(dir, 0777), 0);
    char tmpl[300];
    snprintf(tmpl, sizeof tmpl, "%s/o-%%j-%%A.log", dir);
    char *argv[] = {"/bin/sh", "-c", "echo one; echo two >&2; echo three"};
    struct shim_fx_job j = {.argv = argv,
                            .argc = 3,
                            .workdir = "/tmp",
                            .owner = f->user,
                            .stdout_file = tmpl,
                            .stderr_file = "e.log"}; /* relative: in the workdir */
    snprintf(path, sizeof path, "/tmp/e.log");
    unlink(path);
    shim_fx_write_assign(f->dir, &j);
    run_shim(f);
    struct mlq_status st = status_of(f);
    assert_int_equal(st.outcome, MLQ_OUT_EXITED);
    assert_int_equal(st.exit_code, 0);
    snprintf(want, sizeof want, "%s/o-%s-3.log", dir, SHIM_FX_JOB_ID);
    struct stat sb;
    assert_int_equal(stat(want, &sb), 0);
    assert_int_equal(sb.st_uid, f->uid); /* created as the owner */
    char *out = testdir_read(f->dir, "stdout");
    assert_string_equal(out, "one\nthree\n"); /* the spool log too */
    free(out);
    FILE *fp = fopen(want, "r");
    char line[64] = "";
    assert_non_null(fp);
    assert_non_null(fgets(line, sizeof line, fp));
    assert_string_equal(line, "one\n");
    fclose(fp);
    fp = fopen(path, "r");
    assert_non_null(fp);
    assert_non_null(fgets(line, sizeof line, fp));
    assert_string_equal(line, "two\n");
    fclose(fp);
    unlink(path);
    unlink(want);
    rmdir(dir);
}

/* A file the owner may not create is a start failure of the request. */
static void test_output_file_denied_to_owner(void **state)
{
    struct fx *f = *state;
    make_user(f);
    char dir[128], file[160], want[300];
    snprintf(dir, sizeof dir, "%s/private", f->dir);
    assert_int_equal(mkdir(dir, 0700), 0);
    snprintf(file, sizeof file, "%s/o.log", dir);
    char *argv[] = {"/bin/echo", "never"};
    struct shim_fx_job j = {
        .argv = argv, .argc = 2, .workdir = "/tmp", .owner = f->user, .stdout_file = file};
    shim_fx_write_assign(f->dir, &j);
    run_shim(f);
    struct mlq_status st = status_of(f);
    assert_int_equal(st.outcome, MLQ_OUT_START_FAILED);
    assert_true(st.no_retry);
    snprintf(want, sizeof want, "cannot open output file %s: permission denied (as %s)", file,
             f->user);
    assert_string_equal(st.detail, want);
    struct stat sb;
    assert_int_not_equal(stat(file, &sb), 0); /* root did not make it either */
}

/* A shim that is not root runs the job as its own user, whoever owns it. */
static void test_not_root_runs_as_itself(void **state)
{
    struct fx *f = *state;
    make_user(f); /* the shim becomes this user before it starts */
    char *argv[] = {"/bin/sh", "-c", "id -u"};
    struct shim_fx_job j = {.argv = argv, .argc = 3, .owner = "root", .deny_root = true};
    shim_fx_write_assign(f->dir, &j);
    char path[256];
    snprintf(path, sizeof path, "%s/assign", f->dir);
    assert_int_equal(chown(f->dir, f->uid, f->gid), 0);
    assert_int_equal(chown(path, f->uid, f->gid), 0);
    f->shim_uid = f->uid;
    run_shim(f);
    struct mlq_status st = status_of(f);
    assert_int_equal(st.outcome, MLQ_OUT_EXITED);
    char want[32];
    snprintf(want, sizeof want, "%ld\n", (long)f->uid);
    char *out = testdir_read(f->dir, "stdout");
    assert_string_equal(out, want);
    free(out);
}

/* What a standby shim accepts from the worker: folders right inside its
 * attempts folder, one a line; end of file after whole lines means "no
 * more". */
static int standby_says(const char *text)
{
    int fds[2];
    char dir[MLQ_SHIMZYGOTE_LINE_MAX];
    assert_int_equal(pipe(fds), 0);
    if (*text)
        assert_int_equal(write(fds[1], text, strlen(text)), (ssize_t)strlen(text));
    close(fds[1]);
    struct mlq_shimzygote_in in = {.fd = fds[0]};
    int rc = mlq_shimzygote_next(&in, "/spool/attempts", dir, sizeof dir);
    close(fds[0]);
    return rc;
}

static void test_standby_wait(void **state)
{
    (void)state;
    assert_int_equal(standby_says("/spool/attempts/" SHIM_FX_ATT_ID "\n"), 1);
    assert_int_equal(standby_says(""), 0);
    assert_int_equal(standby_says("/spool/attempts/" SHIM_FX_ATT_ID), MLQ_EINVAL);
    assert_int_equal(standby_says("/spool/other/" SHIM_FX_ATT_ID "\n"), MLQ_EINVAL);
    assert_int_equal(standby_says("/spool/attempts/a/b\n"), MLQ_EINVAL);
    assert_int_equal(standby_says("/spool/attempts/.tmp-x\n"), MLQ_EINVAL);
    assert_int_equal(standby_says("/spool/attempts/\n"), MLQ_EINVAL);
    assert_int_equal(standby_says("/spool/attemptsX/y\n"), MLQ_EINVAL);
}

/* Several folders in one read are taken one at a time, in order. */
static void test_standby_lines(void **state)
{
    (void)state;
    int fds[2];
    char dir[MLQ_SHIMZYGOTE_LINE_MAX];
    const char *text = "/spool/attempts/a\n/spool/attempts/b\n";
    assert_int_equal(pipe(fds), 0);
    assert_int_equal(write(fds[1], text, strlen(text)), (ssize_t)strlen(text));
    close(fds[1]);
    struct mlq_shimzygote_in in = {.fd = fds[0]};
    assert_int_equal(mlq_shimzygote_next(&in, "/spool/attempts", dir, sizeof dir), 1);
    assert_string_equal(dir, "/spool/attempts/a");
    assert_int_equal(mlq_shimzygote_next(&in, "/spool/attempts", dir, sizeof dir), 1);
    assert_string_equal(dir, "/spool/attempts/b");
    assert_int_equal(mlq_shimzygote_next(&in, "/spool/attempts", dir, sizeof dir), 0);
    close(fds[0]);
}

/* The zygote in a child: each forked shim writes its pid and folder to
 * report and ends; the zygote ends when the worker's end closes. */
static pid_t start_zygote(const int sv[2], const int rep[2])
{
    pid_t z = fork();
    assert_true(z >= 0);
    if (z != 0)
        return z;
    close(sv[0]); /* the worker's end: its close must reach the zygote */
    close(rep[0]);
    int sock = sv[1], report = rep[1];
    char dir[MLQ_SHIMZYGOTE_LINE_MAX], line[MLQ_SHIMZYGOTE_LINE_MAX + 32];
    int rc = mlq_shimzygote_serve(sock, "/spool/attempts", dir, sizeof dir);
    if (rc == 1) {
        int n = snprintf(line, sizeof line, "%ld %s\n", (long)getpid(), dir);
        ssize_t w = write(report, line, (size_t)n);
        _exit(w == n ? 0 : 1);
    }
    _exit(rc == 0 ? 0 : 1);
}

/* One standby forks a shim per folder, answers each with that shim's
 * identity, and stays for the next; the shims are the children of the
 * standby's parent (the test here, the worker in real life). */
static void test_standby_forks_per_folder(void **state)
{
    (void)state;
    int sv[2], rep[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_STREAM, 0, sv), 0);
    assert_int_equal(pipe(rep), 0);
    pid_t z = start_zygote(sv, rep);
    close(sv[1]);
    close(rep[1]);
    long pids[2];
    for (int i = 0; i < 2; i++) {
        char line[64] = {0};
        const char *dir = i == 0 ? "/spool/attempts/a\n" : "/spool/attempts/b\n";
        assert_int_equal(write(sv[0], dir, strlen(dir)), (ssize_t)strlen(dir));
        assert_true(read(sv[0], line, sizeof line - 1) > 0);
        unsigned long long start = 0;
        assert_int_equal(sscanf(line, "%ld %llu", &pids[i], &start), 2);
        assert_true(pids[i] > 0 && pids[i] != z);
        assert_true(start > 0);
    }
    assert_true(pids[0] != pids[1]);
    close(sv[0]); /* the standby ends; its shims had ended already */
    int ws = 0;
    assert_int_equal(waitpid(z, &ws, 0), z);
    assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    for (int i = 0; i < 2; i++) { /* ours to reap, not the standby's */
        assert_int_equal(waitpid((pid_t)pids[i], &ws, 0), (pid_t)pids[i]);
        assert_true(WIFEXITED(ws) && WEXITSTATUS(ws) == 0);
    }
    char got[256] = {0}, want[2][128];
    size_t n = 0;
    ssize_t r;
    while ((r = read(rep[0], got + n, sizeof got - 1 - n)) > 0)
        n += (size_t)r;
    close(rep[0]);
    /* The two shims run side by side: either may write first. */
    snprintf(want[0], sizeof want[0], "%ld /spool/attempts/a\n", pids[0]);
    snprintf(want[1], sizeof want[1], "%ld /spool/attempts/b\n", pids[1]);
    assert_non_null(strstr(got, want[0]));
    assert_non_null(strstr(got, want[1]));
    assert_int_equal(n, strlen(want[0]) + strlen(want[1]));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_standby_wait),
        cmocka_unit_test(test_standby_lines),
        cmocka_unit_test(test_standby_forks_per_folder),
        cmocka_unit_test_setup_teardown(test_exit_code_and_logs, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status_kept_until_written, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigterm_ends_signaled, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigkill_after_grace, setup, teardown),
        cmocka_unit_test_setup_teardown(test_group_cleaned_up, setup, teardown),
        cmocka_unit_test_setup_teardown(test_missing_workdir, setup, teardown),
        cmocka_unit_test_setup_teardown(test_nonexistent_program, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_assign_is_start_failed, setup, teardown),
        cmocka_unit_test_setup_teardown(test_program_not_executable, setup, teardown),
        cmocka_unit_test_setup_teardown(test_program_path_missing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_never_runs_twice, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_appends, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sigterm_ends_whole_tree, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time_limit_ends_whole_tree, setup, teardown),
        cmocka_unit_test_setup_teardown(test_time_limit_sigterm_suffices, setup, teardown),
        cmocka_unit_test_setup_teardown(test_warn_signal, setup, teardown),
        cmocka_unit_test_setup_teardown(test_main_exit_ends_whole_tree, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fenced_is_lost, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lease_expired_fences, setup_spool, teardown),
        cmocka_unit_test_setup_teardown(test_lease_renewed_keeps_running, setup_spool, teardown),
        cmocka_unit_test_setup_teardown(test_lease_over_at_start, setup_spool, teardown),
        cmocka_unit_test_setup_teardown(test_no_lease_file_runs, setup_spool, teardown),
        cmocka_unit_test_setup_teardown(test_cgroup_note, setup, teardown),
        cmocka_unit_test_setup_teardown(test_runs_as_owner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_unknown_account, setup, teardown),
        cmocka_unit_test_setup_teardown(test_root_needs_allow_root, setup, teardown),
        cmocka_unit_test_setup_teardown(test_workdir_denied_to_owner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_files_as_owner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_output_file_denied_to_owner, setup, teardown),
        cmocka_unit_test_setup_teardown(test_not_root_runs_as_itself, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
