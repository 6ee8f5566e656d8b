/* shim_fixture: the real supervisor (mlq_shim_run) run in a forked child on
 * an attempt folder, as mlq-worker would start mlq-shim, for the shim's unit
 * tests (test_shim*): started, waited for within a bound, its outcome read
 * back. */
#ifndef MLQ_SHIM_FIXTURE_H
#define MLQ_SHIM_FIXTURE_H

#include <stdint.h>
#include <sys/types.h>

#include "spool.h"

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
/* The outcome the shim wrote to dir; fails the test when there is none. */
struct mlq_status shim_fx_status(const char *dir);

#endif
