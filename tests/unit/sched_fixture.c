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

#include "jobops.h"
#include "logrelay.h"
#include "recover.h"
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

int sched_fx_open(void **state, const char *name, int64_t lease_ms)
{
    struct sched_fx *f = calloc(1, sizeof *f);
    assert_non_null(f);
    snprintf(f->path, sizeof f->path, "/tmp/mlq-test-%s-XXXXXX", name);
    /* mkstemp only for a unique name: the store makes the database itself. */
    int fd = mkstemp(f->path);
    assert_true(fd >= 0);
    close(fd);
    unlink(f->path);
    sched_ctx_open(&f->c, f->path, lease_ms);
    *state = f;
    return 0;
}

int sched_fx_close(void **state)
{
    struct sched_fx *f = *state;
    sched_ctx_close(&f->c);
    sched_db_remove(f->path);
    free(f);
    return 0;
}

void sched_fx_restart(struct sched_fx *f)
{
    int64_t lease_ms = f->c.lease_ms;
    sched_ctx_close(&f->c);
    sched_ctx_open(&f->c, f->path, lease_ms);
    assert_int_equal(mlq_recover_run(&f->c, NULL), 0);
}

struct mlq_worker *sched_worker_up(struct mlq_ctx *c, const char *name, int32_t gpus)
{
    struct mlq_worker *w = mlq_workers_add(c->workers, name);
    assert_non_null(w);
    w->state = MLQ_WORKER_UP;
    w->cpus_m = 4000;
    w->mem = 8 * SCHED_GIB;
    w->gpus = gpus;
    struct mlq_peer peer = {.len = strlen(name)};
    memcpy(peer.id, name, peer.len);
    assert_int_equal(mlq_workers_connect(c->workers, w, &peer), 0);
    w->last_seen_mono = c->now_mono;
    return w;
}

void sched_speak_as(struct mlq_ctx *c, const char *name, unsigned roles)
{
    memset(&c->who, 0, sizeof c->who);
    c->who.roles = roles;
    snprintf(c->who.name, sizeof c->who.name, "%s", name);
}

void sched_commit(struct mlq_ctx *c)
{
    assert_int_equal(mlq_jobops_flush(c, NULL), 0);
    assert_int_equal(mlq_store_commit(c->store, NULL), 0);
}

struct mlq_jobspec sched_spec(const char *owner, int64_t cpus_m, int32_t gpus)
{
    struct mlq_jobspec spec = {.argc = 1, .cpus_m = cpus_m, .mem = SCHED_GIB, .gpus = gpus};
    spec.argv = malloc(sizeof(char *));
    assert_non_null(spec.argv);
    spec.argv[0] = strdup("/bin/true");
    spec.owner = strdup(owner);
    spec.workdir = strdup("/tmp");
    return spec;
}

void sched_report_exit(struct mlq_ctx *c, struct mlq_job *job, int code)
{
    struct mlq_msg m = {.type = MLQ_MSG_REPORT};
    memcpy(m.u.report.attempt_id, job->att->id, sizeof m.u.report.attempt_id);
    m.u.report.phase = MLQ_PHASE_FINISHED;
    m.u.report.outcome = MLQ_OUT_EXITED;
    m.u.report.exit_code = code;
    assert_int_equal(mlq_jobops_finished(c, job, &m, NULL), 0);
}
