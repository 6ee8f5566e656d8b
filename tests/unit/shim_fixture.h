/* shim_fixture: the real supervisor (mlq_shim_run) run in a forked child on
 * an attempt folder, as mlq-worker would start mlq-shim, for the shim's unit
 * tests (test_shim*): started, waited for within a bound, its outcome read
 * back. */
#ifndef MLQ_SHIM_FIXTURE_H
#define MLQ_SHIM_FIXTURE_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "spool.h"

/* The job and attempt ids every shim test's assign carries. */
#define SHIM_FX_JOB_ID "99999999-9999-4999-8999-999999999999"
#define SHIM_FX_ATT_ID "11111111-1111-4111-8111-111111111111"

/* A job to run, as the worker's assign describes it; zero fields take the
 * defaults named beside them. */
struct shim_fx_job {
    char **argv;
    uint32_t argc;
    char **env;
    uint32_t envc;
    const char *workdir; /* NULL: the attempt folder */
    int32_t *gpus;
    uint32_t ngpus;
    int32_t gpu_frac; /* a share of its one GPU (spec.gpus is then 0) */
    int64_t gpu_mem;
    int32_t attempt;       /* 0: attempt 3 */
    int64_t grace_ms;      /* assign.kill_grace_ms (5 s when 0) */
    int64_t spec_grace_ms; /* spec.kill_grace_ms, wins when set */
    int64_t limit_ms;
    int32_t warn_signal;
    int64_t warn_before_ms;
    const char *array_id; /* NULL: not a task */
    int32_t array_index;
    uint32_t array_size;
    const char *owner; /* NULL: the account running the test */
    bool deny_root;    /* assign.allow_root false (true by default, for root test runs) */
    const char *stdout_file, *stderr_file; /* -o / -e templates; NULL: none */
    struct mlq_ganginfo *gang;             /* NULL: not a gang */
};

/* Writes the assign for j into the attempt folder dir (the job's spec
 * asks for half a CPU and 1 MiB). */
void shim_fx_write_assign(const char *dir, const struct shim_fx_job *j);

/* Sleeps ms milliseconds (the tests' polling step). */
void shim_fx_sleep_ms(long ms);
/* Forks a child that runs the shim on dir and exits 0 when it returned 0,
 * else 1; when uid is not 0 the child first becomes uid and gid (exit 3
 * when it cannot). Returns the child's pid. */
pid_t shim_fx_start(const char *dir, uid_t uid, gid_t gid);
/* Waits for the shim *pid to exit, at most timeout_ms, and returns its exit
 * status (*pid is then 0); fails the test on timeout, leaving *pid for the
 * teardown to kill. */
int shim_fx_wait(pid_t *pid, int64_t timeout_ms);
/* Runs the shim on dir to its end (at most 10 s), as uid/gid as for
 * shim_fx_start; it must exit 0. */
void shim_fx_run(pid_t *pid, const char *dir, uid_t uid, gid_t gid);
/* Kills the shim *pid a failed test left running (none when 0). */
void shim_fx_stop(pid_t *pid);
/* The outcome the shim wrote to dir; fails the test when there is none. */
struct mlq_status shim_fx_status(const char *dir);

#endif
