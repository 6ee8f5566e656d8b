/* sched_fixture: a scheduler context for the scheduler's unit tests, built
 * as mlq-scheduler builds it (mlq_ctx_init_memory) on a real database, with
 * fixed clocks and short timers, and the steps most of them take (a worker
 * up, a job spec, a commit, a report). Linked into every test_sched_* test. */
#ifndef MLQ_SCHED_FIXTURE_H
#define MLQ_SCHED_FIXTURE_H

#include <stdint.h>

#include "ctx.h"

#define SCHED_GIB (1024LL * 1024 * 1024)

/* Opens (or reopens, as a restarted scheduler would) the database at
 * db_path into a zeroed c, with heartbeat 1 s, kill grace 1 s, the given
 * lease, and the clocks at fixed values. Fails the test on any error. */
void sched_ctx_open(struct mlq_ctx *c, const char *db_path, int64_t lease_ms);
/* Frees everything sched_ctx_open made (and what the test added to the
 * context's late and ended lists); the database file stays. */
void sched_ctx_close(struct mlq_ctx *c);
/* Removes the database db_path with its -wal and -shm files. */
void sched_db_remove(const char *db_path);

/* What most scheduler tests run in: a context on a database of its own. */
struct sched_fx {
    struct mlq_ctx c;
    char path[64];
};
/* A cmocka setup's body: a sched_fx into *state, its context opened (as by
 * sched_ctx_open) on a fresh database /tmp/mlq-test-NAME-XXXXXX. */
int sched_fx_open(void **state, const char *name, int64_t lease_ms);
/* A cmocka teardown: closes and frees the sched_fx in *state and removes
 * its database. */
int sched_fx_close(void **state);
/* A restart of the scheduler: a fresh context over the same database, with
 * the same lease, recovered (mlq_recover_run) as mlq-scheduler does at
 * start. What was not committed is lost, as in a crash. */
void sched_fx_restart(struct sched_fx *f);

/* Adds worker name as UP (4 CPUs, 8 GiB, gpus GPUs, seen now), its peer id
 * its name, as if it had registered. */
struct mlq_worker *sched_worker_up(struct mlq_ctx *c, const char *name, int32_t gpus);
/* The connection speaks as name with roles (loop.c checks the key before a
 * handler runs: a worker's key is the worker's own). */
void sched_speak_as(struct mlq_ctx *c, const char *name, unsigned roles);
/* As the loop ends an iteration: the late rows, then the commit. */
void sched_commit(struct mlq_ctx *c);
/* A job spec as `mlq submit` sends it: /bin/true in /tmp for owner, with
 * cpus_m, 1 GiB and gpus; its strings are the spec's own (heap). */
struct mlq_jobspec sched_spec(const char *owner, int64_t cpus_m, int32_t gpus);
/* The worker's FINISHED report of job's live attempt: exited with code. */
void sched_report_exit(struct mlq_ctx *c, struct mlq_job *job, int code);

#endif
