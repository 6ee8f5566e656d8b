/* bench_proc: the processes and files a benchmark run owns.
 *
 * Daemons are started with their output in a log file and with
 * PR_SET_PDEATHSIG, so that they die with the benchmark even when it is
 * killed without a chance to clean up; a normal exit stops them with SIGTERM
 * (SIGKILL after a grace period) and removes the temp dir. */
#ifndef BENCH_PROC_H
#define BENCH_PROC_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

/* A loopback TCP port nobody listened on a moment ago (bound to port 0 and
 * released). Another process may still take it first: callers retry. */
int bproc_free_port(struct mlq_err *err);

/* fork+exec argv[0] (searched in PATH when it has no slash) with stdout and stderr appended to
 * log_path and stdin from /dev/null; the child dies with the calling thread's process. */
int bproc_spawn(char *const argv[], const char *log_path, pid_t *out, struct mlq_err *err);

/* True while pid (a child of ours) has not exited; reaps it when it has. */
bool bproc_alive(pid_t pid);

/* SIGTERM, wait up to grace_ms, then SIGKILL and reap. Accepts pid <= 0. */
void bproc_stop(pid_t pid, int grace_ms);

/* VmRSS of pid in KiB, or a negative MLQ_E* code. */
int64_t bproc_rss_kib(pid_t pid, struct mlq_err *err);

/* CPU time pid has used so far (user and system, ms). */
int bproc_cpu_ms(pid_t pid, int64_t *user_ms, int64_t *sys_ms, struct mlq_err *err);

/* Bytes pid has written through write-like calls, and how many such
 * calls (wchar and syscw of /proc/PID/io). */
int bproc_io(pid_t pid, int64_t *wchar, int64_t *syscw, struct mlq_err *err);

/* rm -rf path (no symlinks followed). */
int bproc_rmtree(const char *path, struct mlq_err *err);

/* CLOCK_MONOTONIC in nanoseconds. */
int64_t bproc_now_ns(void);

/* Sleeps for us microseconds. */
void bproc_sleep_us(int64_t us);

#endif
