/* workerset on a real store: an admin's override of a worker's pool,
 * labels and resources. Placement follows at once; a cap below what is in
 * use holds nothing new back beyond it and keeps the GPUs in use; only
 * less than the worker reports may be offered; the override wins when the
 * worker registers again and survives a restart; --reset and forgetting
 * the worker drop it; the summary counts what is offered. */
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
#include "placement.h"
#include "recover.h"
#include "sched_fixture.h"
#include "workerset.h"
#include "wproto.h"

#define G (1024LL * 1024 * 1024)

static int setup(void **state)
{
    return sched_fx_open(state, "wset", 5000);
}

static struct mlq_peer peer_of(const char *name)
{
    struct mlq_peer p = {.len = strlen(name)};
    memcpy(p.id, name, p.len);
    return p;
}

static char *g_types_a[] = {"a100", "a100", "h100", "h100"};

/* Worker name registers as mlq-worker would: 4 CPUs, 8G, 4 GPUs (two
 * a100, two h100), pool default, label zone=us. */
static struct mlq_worker *reg(struct mlq_ctx *c, const char *name)
{
    static char *labels[] = {"zone=us"};
    struct mlq_gpuinfo g[4];
    memset(g, 0, sizeof g);
    for (int i = 0; i < 4; i++) {
        g[i].index = i;
        g[i].type = g_types_a[i];
    }
    struct mlq_msg m = {.type = MLQ_MSG_REGISTER};
    m.u.reg.name = (char *)name;
    m.u.reg.cpus_m = 4000;
    m.u.reg.mem = 8 * G;
    m.u.reg.gpus = 4;
    m.u.reg.labels = labels;
    m.u.reg.nlabels = 1;
    m.u.reg.gpu_list = g;
    m.u.reg.ngpu_list = 4;
    struct mlq_peer p = peer_of(name);
    struct mlq_err e = {0};
    sched_speak_as(c, name, MLQ_ROLE_WORKER);
    if (mlq_wproto_on_register(c, &p, &m, &e) != 0)
        fail_msg("register %s: %s", name, e.msg);
    return mlq_workers_get(c->workers, name);
}

/* An admin's worker_set; returns its code. */
struct set {
    bool reset, clear;
    const char *pool, *gpu_type;
    char **labels;
    uint32_t nlabels;
    int64_t cpus_m, mem;
    int32_t gpus;
};

static int set(struct mlq_ctx *c, const char *worker, struct set s)
{
    struct mlq_msg m = {.type = MLQ_MSG_WORKER_SET};
    m.u.worker_set.worker = (char *)worker;
    m.u.worker_set.reset = s.reset;
    m.u.worker_set.clear_labels = s.clear;
    m.u.worker_set.pool = (char *)s.pool;
    m.u.worker_set.labels = s.labels;
    m.u.worker_set.nlabels = s.nlabels;
    m.u.worker_set.cpus_m = s.cpus_m;
    m.u.worker_set.mem = s.mem;
    m.u.worker_set.gpus = s.gpus;
    m.u.worker_set.gpu_type = (char *)s.gpu_type;
    struct mlq_peer p = peer_of("admin-cli");
    struct mlq_err e = {0};
    sched_speak_as(c, "alice", MLQ_ROLE_ADMIN);
    return mlq_workerset_on_set(c, &p, &m, &e);
}

static struct mlq_job *submit(struct mlq_ctx *c, int64_t cpus_m, int32_t gpus, const char *pool)
{
    struct mlq_jobspec spec = sched_spec("alice", cpus_m, gpus);
    spec.pool = pool ? strdup(pool) : NULL;
    char id[MLQ_ID_LEN + 1];
    assert_int_equal(mlq_jobops_submit(c, &spec, id, NULL), 0);
    return mlq_jobtab_get(c->jobs, id);
}

static void test_pool_and_labels_follow_at_once(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_worker *w = reg(c, "w1");
    struct mlq_job *jb = submit(c, 1000, 0, "batch");
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(jb->row.state, MLQ_JOB_PENDING);
    char *labels[] = {"zone=eu", "rack=r7"};
    assert_int_equal(
        set(c, "w1", (struct set){.pool = "batch", .labels = labels, .nlabels = 2, .gpus = -1}), 0);
    assert_string_equal(w->pool, "batch");
    assert_string_equal(w->rep_pool, "default");
    /* zone=eu replaces the worker's own zone=us */
    assert_true(mlq_worker_has_label(w, "zone=eu"));
    assert_true(mlq_worker_has_label(w, "rack=r7"));
    assert_false(mlq_worker_has_label(w, "zone=us"));
    assert_true(c->dirty);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(jb->row.state, MLQ_JOB_ASSIGNED);
    /* w1 left pool default: a job pinned there is not placed on it */
    struct mlq_job *jd = submit(c, 1000, 0, NULL);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(jd->row.state, MLQ_JOB_PENDING);
    /* --clear-labels drops the worker's own labels and those set before */
    char *only[] = {"ib=hdr"};
    assert_int_equal(
        set(c, "w1", (struct set){.clear = true, .labels = only, .nlabels = 1, .gpus = -1}), 0);
    assert_int_equal(w->nlabels, 1);
    assert_string_equal(w->labels[0], "ib=hdr");
    assert_string_equal(w->pool, "batch"); /* kept from the first set */
    /* --reset: back to what it reports; the default job starts */
    assert_int_equal(set(c, "w1", (struct set){.reset = true, .gpus = -1}), 0);
    assert_null(w->ov);
    assert_string_equal(w->pool, "default");
    assert_true(mlq_worker_has_label(w, "zone=us"));
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(jd->row.state, MLQ_JOB_ASSIGNED);
}

static void test_only_less_than_reported(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_worker *w = reg(c, "w1");
    assert_int_equal(set(c, "nosuch", (struct set){.cpus_m = 1000, .gpus = -1}), MLQ_ENOTFOUND);
    assert_int_equal(set(c, "w1", (struct set){.cpus_m = 4001, .gpus = -1}), MLQ_EINVAL);
    assert_int_equal(set(c, "w1", (struct set){.mem = 8 * G + 1, .gpus = -1}), MLQ_EINVAL);
    assert_int_equal(set(c, "w1", (struct set){.gpus = 5}), MLQ_EINVAL);
    assert_int_equal(set(c, "w1", (struct set){.gpus = 3, .gpu_type = "h100"}), MLQ_EINVAL);
    assert_int_equal(set(c, "w1", (struct set){.gpus = 1, .gpu_type = "v100"}), MLQ_EINVAL);
    assert_null(w->ov);
    assert_int_equal(w->cpus_m, 4000);
    /* as much as it reports is allowed */
    assert_int_equal(set(c, "w1", (struct set){.cpus_m = 4000, .gpus = 4}), 0);
    assert_int_equal(w->cpus_m, 4000);
    assert_int_equal(mlq_place_gpus_total(w, NULL), 4);
}

static void test_cap_below_use_takes_effect_as_jobs_end(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_worker *w = reg(c, "w1");
    struct mlq_job *big = submit(c, 3000, 0, NULL);
    struct mlq_job *gj = submit(c, 500, 1, NULL);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(big->row.state, MLQ_JOB_ASSIGNED);
    assert_int_equal(gj->row.state, MLQ_JOB_ASSIGNED);
    assert_int_equal(mlq_job_run(gj)->gpu_mask, 1); /* GPU 0 */
    /* offer 2 CPUs and 1 GPU: both jobs keep running, nothing new fits */
    assert_int_equal(set(c, "w1", (struct set){.cpus_m = 2000, .gpus = 1}), 0);
    assert_int_equal(w->cpus_m, 2000);
    assert_int_equal(w->rep_cpus_m, 4000);
    assert_int_equal(w->gpu_withheld, 0xe); /* GPU 0, in use, is the one kept */
    assert_true(big->live);
    assert_true(gj->live);
    struct mlq_job *small = submit(c, 500, 0, NULL);
    struct mlq_job *g2 = submit(c, 100, 1, NULL);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(small->row.state, MLQ_JOB_PENDING);
    assert_int_equal(g2->row.state, MLQ_JOB_PENDING);
    sched_report_exit(c, big, 0);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(small->row.state, MLQ_JOB_ASSIGNED);
    assert_int_equal(g2->row.state, MLQ_JOB_PENDING); /* the one GPU is still held */
    sched_report_exit(c, gj, 0);
    assert_int_equal(mlq_jobops_schedule(c, NULL), 0);
    assert_int_equal(g2->row.state, MLQ_JOB_ASSIGNED);
    assert_int_equal(mlq_job_run(g2)->gpu_mask, 1);
}

static void test_typed_gpu_cap(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    struct mlq_worker *w = reg(c, "w1");
    assert_int_equal(set(c, "w1", (struct set){.gpus = 1, .gpu_type = "h100"}), 0);
    assert_int_equal(mlq_place_gpus_total(w, "h100"), 1);
    assert_int_equal(mlq_place_gpus_total(w, "a100"), 2);
    assert_int_equal(mlq_place_gpus_total(w, NULL), 3);
    uint64_t mask = 0;
    assert_int_equal(mlq_place_pick_gpus(w, 3, NULL, &mask), 0);
    assert_int_equal(mask, 0x7); /* GPU 3, the second h100, is withheld */
    assert_int_equal(mlq_place_pick_gpus(w, 2, "h100", &mask), MLQ_EINVAL);
}

/* The override wins over what the worker says when it registers again,
 * and is back after a restart; forgetting the worker drops it. */
static void test_survives_register_and_restart(void **state)
{
    struct sched_fx *f = *state;
    struct mlq_ctx *c = &f->c;
    reg(c, "w1");
    assert_int_equal(
        set(c, "w1", (struct set){.pool = "batch", .cpus_m = 1500, .gpus = 2, .gpu_type = "a100"}),
        0);
    sched_commit(c);
    struct mlq_worker *w = reg(c, "w1");
    assert_string_equal(w->pool, "batch");
    assert_int_equal(w->cpus_m, 1500);
    assert_int_equal(w->rep_cpus_m, 4000);
    sched_commit(c);
    sched_fx_restart(f);
    w = mlq_workers_get(c->workers, "w1");
    assert_non_null(w);
    assert_string_equal(w->pool, "batch");
    assert_int_equal(w->cpus_m, 1500);
    w = reg(c, "w1");
    assert_string_equal(w->pool, "batch");
    assert_int_equal(w->cpus_m, 1500);
    assert_int_equal(mlq_place_gpus_total(w, "a100"), 2);
    assert_int_equal(mlq_place_gpus_total(w, "h100"), 2);
    sched_commit(c);
    /* the event says who did what */
    struct mlq_eventinfo *ev = NULL;
    uint32_t n = 0;
    assert_int_equal(mlq_store_events_list(c->store, NULL, 0, 100, &ev, &n, NULL), 0);
    bool found = false;
    for (uint32_t i = 0; i < n; i++)
        if (strcmp(ev[i].kind, "worker_set") == 0 && ev[i].detail &&
            strstr(ev[i].detail, "pool batch, cpus 1.5, gpus a100:2"))
            found = true;
    mlq_store_eventinfo_array_free(&ev, n);
    assert_true(found);
}

static void test_summary_counts_the_offer(void **state)
{
    struct mlq_ctx *c = &((struct sched_fx *)*state)->c;
    reg(c, "w1");
    struct mlq_worker *w2 = reg(c, "w2");
    assert_int_equal(
        set(c, "w1", (struct set){.pool = "gpu", .cpus_m = 2000, .gpus = 1, .gpu_type = "h100"}),
        0);
    w2->drained = true;
    struct mlq_peer p = peer_of("cli");
    struct mlq_msg m = {.type = MLQ_MSG_WORKER_SUMMARY};
    size_t before = mlq_outbox_count(c->out), len = 0;
    assert_int_equal(mlq_workerset_on_summary(c, &p, &m, NULL), 0);
    assert_int_equal(mlq_outbox_count(c->out), before + 1);
    const char *body = mlq_outbox_body(c->out, before, &len);
    struct mlq_msg r;
    assert_int_equal(mlq_proto_decode(body, len, &r, NULL), 0);
    assert_int_equal(r.type, MLQ_MSG_WORKER_SUMMARY_LIST);
    assert_int_equal(r.u.worker_summary.npools, 2);
    const struct mlq_poolsum *d = &r.u.worker_summary.pools[0], *g = &r.u.worker_summary.pools[1];
    /* default: w2, drained: counted in total, nothing free */
    assert_string_equal(d->pool, "default");
    assert_int_equal(d->drained, 1);
    assert_int_equal(d->up, 0);
    assert_int_equal(d->cpus_m, 4000);
    assert_int_equal(d->cpus_free_m, 0);
    assert_int_equal(d->ngpus, 2);
    /* gpu: w1 as the admin set it, 2 CPUs, both a100 and one h100 */
    assert_string_equal(g->pool, "gpu");
    assert_int_equal(g->up, 1);
    assert_int_equal(g->cpus_m, 2000);
    assert_int_equal(g->cpus_free_m, 2000);
    assert_int_equal(g->mem_free, 8 * G);
    assert_int_equal(g->ngpus, 2);
    for (uint32_t i = 0; i < 2; i++) {
        bool a100 = strcmp(g->gpus[i].type, "a100") == 0;
        assert_int_equal(g->gpus[i].total, a100 ? 2 : 1);
        assert_int_equal(g->gpus[i].free, a100 ? 2 : 1);
    }
    mlq_proto_msg_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_pool_and_labels_follow_at_once, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_only_less_than_reported, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_cap_below_use_takes_effect_as_jobs_end, setup,
                                        sched_fx_close),
        cmocka_unit_test_setup_teardown(test_typed_gpu_cap, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_survives_register_and_restart, setup, sched_fx_close),
        cmocka_unit_test_setup_teardown(test_summary_counts_the_offer, setup, sched_fx_close),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
