/* sched_fixture: see sched_fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "logrelay.h"
#include "sched_fixture.h"

void sched_ctx_open(struct mlq_ctx *c, const char *db_path, int64_t lease_ms)
{
    memset(c, 0, sizeof *c);
    assert_int_equal(mlq_store_open(db_path, &c->store, NULL), 0);
    c->fs_half_life_ms = 24 * 3600 * 1000LL;
    c->age_step_ms = 60000;
    c->default_limit_ms = 3600 * 1000;
    c->heartbeat_ms = 1000;
    c->lease_ms = lease_ms;
    c->kill_grace_ms = 1000;
    c->now_mono = 1000000;
    c->now_wall = 1700000000000;
    assert_int_equal(mlq_ctx_init_memory(c, NULL), 0);
    c->out = mlq_outbox_create();
    c->logs = mlq_logrelay_create();
    assert_non_null(c->out);
    assert_non_null(c->logs);
}

void sched_ctx_close(struct mlq_ctx *c)
{
    mlq_store_close(&c->store);
    mlq_ctx_free_memory(c);
    free(c->ended);
    free(c->late);
    mlq_outbox_destroy(&c->out);
    mlq_logrelay_destroy(&c->logs);
}

void sched_db_remove(const char *db_path)
{
    char p[256];
    unlink(db_path);
    snprintf(p, sizeof p, "%s-wal", db_path);
    unlink(p);
    snprintf(p, sizeof p, "%s-shm", db_path);
    unlink(p);
}
