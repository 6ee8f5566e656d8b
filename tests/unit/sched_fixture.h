/* sched_fixture: a scheduler context for the scheduler's unit tests, built
 * as mlq-scheduler builds it (mlq_ctx_init_memory) on a real database, with
 * fixed clocks and short timers. Linked into every test_sched_* test. */
#ifndef MLQ_SCHED_FIXTURE_H
#define MLQ_SCHED_FIXTURE_H

#include <stdint.h>

#include "ctx.h"

/* Opens (or reopens, as a restarted scheduler would) the database at
 * db_path into a zeroed c, with heartbeat 1 s, kill grace 1 s, the given
 * lease, and the clocks at fixed values. Fails the test on any error. */
void sched_ctx_open(struct mlq_ctx *c, const char *db_path, int64_t lease_ms);
/* Frees everything sched_ctx_open made (and what the test added to the
 * context's late and ended lists); the database file stays. */
void sched_ctx_close(struct mlq_ctx *c);
/* Removes the database db_path with its -wal and -shm files. */
void sched_db_remove(const char *db_path);

#endif
