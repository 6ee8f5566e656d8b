/* proto_fixture: see proto_fixture.h. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "jobstate.h"
#include "mpk.h"
#include "proto.h"
#include "protousage.h"

#include "proto_fixture.h"
#include "proto_sample.h"

static void assert_str_same(const char *a, const char *b);
static void assert_strv_same(char *const *a, uint32_t na, char *const *b, uint32_t nb);

static void mlq_test_assert_workerset_eq(const struct mlq_msg *a, const struct mlq_msg *b)
{
    if (a->type == MLQ_MSG_WORKER_SET) {
        const __typeof__(a->u.worker_set) *x = &a->u.worker_set, *y = &b->u.worker_set;
        assert_str_same(x->worker, y->worker);
        assert_int_equal(x->reset, y->reset);
        assert_str_same(x->pool, y->pool);
        assert_int_equal(x->clear_labels, y->clear_labels);
        assert_strv_same(x->labels, x->nlabels, y->labels, y->nlabels);
        assert_int_equal(x->cpus_m, y->cpus_m);
        assert_int_equal(x->mem, y->mem);
        assert_int_equal(x->gpus, y->gpus);
        assert_str_same(x->gpu_type, y->gpu_type);
        return;
    }
    assert_int_equal(a->u.worker_summary.npools, b->u.worker_summary.npools);
    for (uint32_t i = 0; i < a->u.worker_summary.npools; i++) {
        const struct mlq_poolsum *x = &a->u.worker_summary.pools[i],
                                 *y = &b->u.worker_summary.pools[i];
        assert_str_same(x->pool, y->pool);
        assert_int_equal(x->up, y->up);
        assert_int_equal(x->drained, y->drained);
        assert_int_equal(x->down, y->down);
        assert_int_equal(x->unhealthy, y->unhealthy);
        assert_int_equal(x->cpus_m, y->cpus_m);
        assert_int_equal(x->cpus_free_m, y->cpus_free_m);
        assert_int_equal(x->mem, y->mem);
        assert_int_equal(x->mem_free, y->mem_free);
        assert_int_equal(x->gpus_stranded_h, y->gpus_stranded_h);
        assert_int_equal(x->ngpus, y->ngpus);
        for (uint32_t k = 0; k < x->ngpus; k++) {
            assert_str_same(x->gpus[k].type, y->gpus[k].type);
            assert_int_equal(x->gpus[k].free, y->gpus[k].free);
            assert_int_equal(x->gpus[k].total, y->gpus[k].total);
        }
    }
}

/* Two arrays: one with every field set, one empty-handed. */

static void assert_str_same(const char *a, const char *b)
{
    if (!a || !b)
        assert_ptr_equal(a, b);
    else
        assert_string_equal(a, b);
}

static void assert_strv_same(char *const *a, uint32_t na, char *const *b, uint32_t nb)
{
    assert_int_equal(na, nb);
    for (uint32_t i = 0; i < na; i++)
        assert_str_same(a[i], b[i]);
}

static void assert_deps_eq(const struct mlq_dep *a, uint32_t na, const struct mlq_dep *b,
                           uint32_t nb)
{
    assert_int_equal(na, nb);
    for (uint32_t i = 0; i < na; i++) {
        assert_string_equal(a[i].target, b[i].target);
        assert_int_equal(a[i].kind, b[i].kind);
    }
}

void assert_spec_eq(const struct mlq_jobspec *a, const struct mlq_jobspec *b)
{
    assert_str_same(a->name, b->name);
    assert_str_same(a->owner, b->owner);
    assert_strv_same(a->argv, a->argc, b->argv, b->argc);
    assert_strv_same(a->env, a->envc, b->env, b->envc);
    assert_str_same(a->workdir, b->workdir);
    assert_int_equal(a->cpus_m, b->cpus_m);
    assert_int_equal(a->mem, b->mem);
    assert_int_equal(a->gpus, b->gpus);
    assert_str_same(a->held_by, b->held_by);
    assert_true(a->held_ms == b->held_ms);
    assert_int_equal(a->retries, b->retries);
    assert_int_equal(a->retry_backoff_ms, b->retry_backoff_ms);
    assert_int_equal(a->time_limit_ms, b->time_limit_ms);
    assert_int_equal(a->kill_grace_ms, b->kill_grace_ms);
    assert_int_equal(a->warn_signal, b->warn_signal);
    assert_int_equal(a->warn_before_ms, b->warn_before_ms);
    assert_int_equal(a->priority, b->priority);
    assert_str_same(a->pool, b->pool);
    assert_strv_same(a->require, a->nrequire, b->require, b->nrequire);
    assert_str_same(a->gpu_type, b->gpu_type);
    assert_int_equal(a->gpu_frac, b->gpu_frac);
    assert_int_equal(a->gpu_mem, b->gpu_mem);
    assert_deps_eq(a->deps, a->ndeps, b->deps, b->ndeps);
    assert_str_same(a->array, b->array);
    assert_int_equal(a->max_running, b->max_running);
    assert_str_same(a->idempotency_key, b->idempotency_key);
    assert_str_same(a->image, b->image);
    assert_strv_same(a->inputs, a->ninputs, b->inputs, b->ninputs);
    assert_strv_same(a->outputs, a->noutputs, b->outputs, b->noutputs);
    assert_str_same(a->held_by, b->held_by);
    assert_true(a->held_ms == b->held_ms);
    assert_str_same(a->stdout_file, b->stdout_file);
    assert_str_same(a->stderr_file, b->stderr_file);
    assert_str_same(a->team, b->team);
    assert_str_same(a->project, b->project);
    assert_true(a->preempt_grace_ms == b->preempt_grace_ms);
    assert_true(a->min_runtime_ms == b->min_runtime_ms);
    assert_int_equal(a->no_preempt, b->no_preempt);
    assert_int_equal(a->preemptions, b->preemptions);
    assert_str_same(a->preempt_note, b->preempt_note);
}

static void assert_gpus_eq(const struct mlq_gpuinfo *a, uint32_t na, const struct mlq_gpuinfo *b,
                           uint32_t nb)
{
    assert_int_equal(na, nb);
    for (uint32_t i = 0; i < na; i++) {
        assert_int_equal(a[i].index, b[i].index);
        assert_str_same(a[i].uuid, b[i].uuid);
        assert_str_same(a[i].model, b[i].model);
        assert_str_same(a[i].type, b[i].type);
        assert_int_equal(a[i].mem, b[i].mem);
        assert_str_same(a[i].job_id, b[i].job_id);
        assert_int_equal(a[i].util_known, b[i].util_known);
        assert_int_equal(a[i].util, b[i].util);
        assert_int_equal(a[i].mem_used, b[i].mem_used);
        assert_int_equal(a[i].idle_ms, b[i].idle_ms);
        assert_int_equal(a[i].withheld, b[i].withheld);
    }
}

/* A usage round-trips whole; one with nothing measured (no source) comes
 * back cleared. */
static void assert_usage_eq(const struct mlq_usage *a, const struct mlq_usage *b)
{
    if (!mlq_usage_any(a)) {
        assert_false(mlq_usage_any(b));
        assert_int_equal(b->mem_peak, -1);
        assert_int_equal(b->cpu_us, -1);
        return;
    }
    assert_string_equal(a->source, b->source);
    assert_int_equal(a->mem_peak, b->mem_peak);
    assert_int_equal(a->cpu_us, b->cpu_us);
    assert_int_equal(a->wall_ms, b->wall_ms);
    assert_int_equal(a->gpu_mem_peak, b->gpu_mem_peak);
    assert_int_equal(a->gpu_util, b->gpu_util);
}

static void assert_attemptinfo_eq(const struct mlq_attemptinfo *a, const struct mlq_attemptinfo *b)
{
    assert_int_equal(a->num, b->num);
    assert_string_equal(a->id, b->id);
    assert_str_same(a->worker, b->worker);
    assert_int_equal(a->state, b->state);
    assert_str_same(a->gpu_ids, b->gpu_ids);
    assert_int_equal(a->start_ms, b->start_ms);
    assert_int_equal(a->end_ms, b->end_ms);
    assert_int_equal(a->exit_code, b->exit_code);
    assert_int_equal(a->signal, b->signal);
    assert_str_same(a->detail, b->detail);
    assert_usage_eq(&a->usage, &b->usage);
}

static void assert_jobinfo_eq(const struct mlq_jobinfo *a, const struct mlq_jobinfo *b)
{
    assert_string_equal(a->id, b->id);
    assert_str_same(a->name, b->name);
    assert_str_same(a->owner, b->owner);
    assert_int_equal(a->state, b->state);
    assert_str_same(a->reason, b->reason);
    assert_strv_same(a->argv, a->argc, b->argv, b->argc);
    assert_str_same(a->workdir, b->workdir);
    assert_int_equal(a->cpus_m, b->cpus_m);
    assert_int_equal(a->mem, b->mem);
    assert_int_equal(a->gpus, b->gpus);
    assert_int_equal(a->submit_ms, b->submit_ms);
    assert_int_equal(a->start_ms, b->start_ms);
    assert_int_equal(a->end_ms, b->end_ms);
    assert_int_equal(a->attempt, b->attempt);
    assert_str_same(a->attempt_id, b->attempt_id);
    assert_str_same(a->worker, b->worker);
    assert_str_same(a->gpu_ids, b->gpu_ids);
    assert_int_equal(a->exit_code, b->exit_code);
    assert_int_equal(a->signal, b->signal);
    assert_int_equal(a->retries, b->retries);
    assert_int_equal(a->node_failures, b->node_failures);
    assert_int_equal(a->not_before_ms, b->not_before_ms);
    assert_int_equal(a->time_limit_ms, b->time_limit_ms);
    assert_int_equal(a->nattempts, b->nattempts);
    for (uint32_t i = 0; i < a->nattempts; i++)
        assert_attemptinfo_eq(&a->attempts[i], &b->attempts[i]);
    assert_str_same(a->array_id, b->array_id);
    assert_int_equal(a->array_id ? a->array_index : -1, b->array_index);
    assert_deps_eq(a->deps, a->ndeps, b->deps, b->ndeps);
    assert_str_same(a->pool, b->pool);
    assert_str_same(a->gpu_type, b->gpu_type);
    assert_int_equal(a->gpu_frac, b->gpu_frac);
    assert_int_equal(a->gpu_mem, b->gpu_mem);
    assert_strv_same(a->require, a->nrequire, b->require, b->nrequire);
    assert_int_equal(a->priority, b->priority);
    assert_str_same(a->team, b->team);
    assert_str_same(a->project, b->project);
}

static void assert_arrayinfo_eq(const struct mlq_arrayinfo *a, const struct mlq_arrayinfo *b)
{
    assert_string_equal(a->id, b->id);
    assert_str_same(a->name, b->name);
    assert_str_same(a->owner, b->owner);
    assert_strv_same(a->argv, a->argc, b->argv, b->argc);
    assert_int_equal(a->size, b->size);
    assert_int_equal(a->max_running, b->max_running);
    assert_int_equal(a->submit_ms, b->submit_ms);
    assert_memory_equal(a->counts, b->counts, sizeof a->counts);
    assert_str_same(a->failed, b->failed);
}

static void assert_sched_eq(const struct mlq_scheduleinfo *a, const struct mlq_scheduleinfo *b)
{
    assert_str_same(a->name, b->name);
    assert_str_same(a->cron, b->cron);
    assert_str_same(a->timezone, b->timezone);
    assert_spec_eq(&a->spec, &b->spec);
    assert_str_same(a->concurrency, b->concurrency);
    assert_int_equal(a->catch_up_ms, b->catch_up_ms);
    assert_int_equal(a->paused, b->paused);
    assert_int_equal(a->nnext, b->nnext);
    for (uint32_t i = 0; i < a->nnext; i++)
        assert_int_equal(a->next_fires[i], b->next_fires[i]);
    assert_int_equal(a->nruns, b->nruns);
    for (uint32_t i = 0; i < a->nruns; i++) {
        assert_int_equal(a->runs[i].fire_ms, b->runs[i].fire_ms);
        assert_string_equal(a->runs[i].job_id, b->runs[i].job_id);
        assert_int_equal(a->runs[i].state, b->runs[i].state);
        assert_int_equal(a->runs[i].array_size, b->runs[i].array_size);
        assert_int_equal(a->runs[i].array_ended, b->runs[i].array_ended);
        assert_int_equal(a->runs[i].array_running, b->runs[i].array_running);
    }
}

static void assert_pipeline_msgs_eq(const struct mlq_msg *a, const struct mlq_msg *b)
{
    if (a->type == MLQ_MSG_SCHEDULE_ADD) {
        assert_sched_eq(&a->u.schedule_add.sched, &b->u.schedule_add.sched);
    } else if (a->type == MLQ_MSG_SCHEDULE_CMD) {
        assert_str_same(a->u.schedule_cmd.name, b->u.schedule_cmd.name);
        assert_str_same(a->u.schedule_cmd.op, b->u.schedule_cmd.op);
    } else if (a->type == MLQ_MSG_SCHEDULES) {
        assert_str_same(a->u.schedules.name, b->u.schedules.name);
        assert_str_same(a->u.schedules.cursor, b->u.schedules.cursor);
    } else if (a->type == MLQ_MSG_SCHEDULE_LIST) {
        assert_int_equal(a->u.schedule_list.nschedules, b->u.schedule_list.nschedules);
        assert_str_same(a->u.schedule_list.next, b->u.schedule_list.next);
        for (uint32_t i = 0; i < a->u.schedule_list.nschedules; i++)
            assert_sched_eq(&a->u.schedule_list.schedules[i], &b->u.schedule_list.schedules[i]);
    }
}

static void assert_workerinfo_eq(const struct mlq_workerinfo *a, const struct mlq_workerinfo *b)
{
    assert_str_same(a->name, b->name);
    assert_str_same(a->state, b->state);
    assert_int_equal(a->cpus_m, b->cpus_m);
    assert_int_equal(a->cpus_used_m, b->cpus_used_m);
    assert_int_equal(a->mem, b->mem);
    assert_int_equal(a->mem_used, b->mem_used);
    assert_int_equal(a->gpus, b->gpus);
    assert_int_equal(a->gpus_used, b->gpus_used);
    assert_int_equal(a->running, b->running);
    assert_int_equal(a->draining, b->draining);
    assert_int_equal(a->last_seen_ms, b->last_seen_ms);
    assert_str_same(a->pool, b->pool);
    assert_strv_same(a->labels, a->nlabels, b->labels, b->nlabels);
    assert_str_same(a->drain_reason, b->drain_reason);
    assert_int_equal(a->unhealthy, b->unhealthy);
    assert_str_same(a->health, b->health);
    assert_str_same(a->addr, b->addr);
    assert_str_same(a->version, b->version);
    assert_str_same(a->git, b->git);
    assert_str_same(a->limits, b->limits);
    assert_gpus_eq(a->gpu_list, a->ngpu_list, b->gpu_list, b->ngpu_list);
    assert_int_equal(a->set_by_admin, b->set_by_admin);
    assert_str_same(a->rep_pool, b->rep_pool);
    assert_strv_same(a->rep_labels, a->rep_nlabels, b->rep_labels, b->rep_nlabels);
    assert_int_equal(a->rep_cpus_m, b->rep_cpus_m);
    assert_int_equal(a->rep_mem, b->rep_mem);
    assert_int_equal(a->rep_gpus, b->rep_gpus);
}

static void assert_bytes_eq(const uint8_t *a, uint32_t na, const uint8_t *b, uint32_t nb)
{
    assert_int_equal(na, nb);
    if (na)
        assert_memory_equal(a, b, na);
}

static void assert_lists_eq(const struct mlq_msg *a, const struct mlq_msg *b)
{
    if (a->type == MLQ_MSG_JOB_LIST) {
        assert_int_equal(a->u.job_list.njobs, b->u.job_list.njobs);
        assert_str_same(a->u.job_list.next, b->u.job_list.next);
        for (uint32_t i = 0; i < a->u.job_list.njobs; i++)
            assert_jobinfo_eq(&a->u.job_list.jobs[i], &b->u.job_list.jobs[i]);
        assert_int_equal(a->u.job_list.narrays, b->u.job_list.narrays);
        for (uint32_t i = 0; i < a->u.job_list.narrays; i++)
            assert_arrayinfo_eq(&a->u.job_list.arrays[i], &b->u.job_list.arrays[i]);
    } else if (a->type == MLQ_MSG_WORKER_LIST) {
        assert_int_equal(a->u.worker_list.nworkers, b->u.worker_list.nworkers);
        assert_str_same(a->u.worker_list.next, b->u.worker_list.next);
        for (uint32_t i = 0; i < a->u.worker_list.nworkers; i++)
            assert_workerinfo_eq(&a->u.worker_list.workers[i], &b->u.worker_list.workers[i]);
    } else if (a->type == MLQ_MSG_REGISTER) {
        assert_str_same(a->u.reg.name, b->u.reg.name);
        assert_int_equal(a->u.reg.cpus_m, b->u.reg.cpus_m);
        assert_int_equal(a->u.reg.mem, b->u.reg.mem);
        assert_int_equal(a->u.reg.gpus, b->u.reg.gpus);
        assert_int_equal(a->u.reg.draining, b->u.reg.draining);
        assert_str_same(a->u.reg.addr, b->u.reg.addr);
        assert_str_same(a->u.reg.limits, b->u.reg.limits);
        assert_int_equal(a->u.reg.nattempts, b->u.reg.nattempts);
        for (uint32_t i = 0; i < a->u.reg.nattempts; i++) {
            assert_string_equal(a->u.reg.attempts[i].attempt_id, b->u.reg.attempts[i].attempt_id);
            assert_int_equal(a->u.reg.attempts[i].finished, b->u.reg.attempts[i].finished);
        }
        assert_str_same(a->u.reg.pool, b->u.reg.pool);
        assert_strv_same(a->u.reg.labels, a->u.reg.nlabels, b->u.reg.labels, b->u.reg.nlabels);
        assert_gpus_eq(a->u.reg.gpu_list, a->u.reg.ngpu_list, b->u.reg.gpu_list,
                       b->u.reg.ngpu_list);
        assert_str_same(a->u.reg.version, b->u.reg.version);
        assert_str_same(a->u.reg.git, b->u.reg.git);
        assert_int_equal(a->u.reg.batch, b->u.reg.batch);
    }
}

static void assert_worker_msgs_eq(const struct mlq_msg *a, const struct mlq_msg *b)
{
    if (a->type == MLQ_MSG_REPORT) {
        assert_string_equal(a->u.report.attempt_id, b->u.report.attempt_id);
        assert_int_equal(a->u.report.phase, b->u.report.phase);
        assert_int_equal(a->u.report.outcome, b->u.report.outcome);
        assert_int_equal(a->u.report.exit_code, b->u.report.exit_code);
        assert_int_equal(a->u.report.signal, b->u.report.signal);
        assert_int_equal(a->u.report.pid, b->u.report.pid);
        assert_int_equal(a->u.report.start_ms, b->u.report.start_ms);
        assert_int_equal(a->u.report.end_ms, b->u.report.end_ms);
        assert_str_same(a->u.report.detail, b->u.report.detail);
        assert_usage_eq(&a->u.report.usage, &b->u.report.usage);
        assert_str_same(a->u.report.manifest, b->u.report.manifest);
        assert_int_equal(a->u.report.no_retry, b->u.report.no_retry);
    } else if (a->type == MLQ_MSG_ASSIGN) {
        assert_string_equal(a->u.assign.attempt_id, b->u.assign.attempt_id);
        assert_string_equal(a->u.assign.job_id, b->u.assign.job_id);
        assert_int_equal(a->u.assign.attempt, b->u.assign.attempt);
        assert_spec_eq(&a->u.assign.spec, &b->u.assign.spec);
        assert_int_equal(a->u.assign.ngpu_ids, b->u.assign.ngpu_ids);
        for (uint32_t i = 0; i < a->u.assign.ngpu_ids; i++)
            assert_int_equal(a->u.assign.gpu_ids[i], b->u.assign.gpu_ids[i]);
        assert_int_equal(a->u.assign.kill_grace_ms, b->u.assign.kill_grace_ms);
        assert_string_equal(a->u.assign.array_id, b->u.assign.array_id);
        assert_int_equal(a->u.assign.array_id[0] ? a->u.assign.array_index : -1,
                         b->u.assign.array_index);
        assert_int_equal(a->u.assign.array_id[0] ? a->u.assign.array_size : 0,
                         b->u.assign.array_size);
        assert_int_equal(a->u.assign.allow_root, b->u.assign.allow_root);
    } else if (a->type == MLQ_MSG_LOG_CHUNK) {
        assert_true(a->u.log_chunk.token == b->u.log_chunk.token);
        assert_bytes_eq(a->u.log_chunk.data, a->u.log_chunk.len, b->u.log_chunk.data,
                        b->u.log_chunk.len);
        assert_int_equal(a->u.log_chunk.size, b->u.log_chunk.size);
        assert_int_equal(a->u.log_chunk.err, b->u.log_chunk.err);
    } else if (a->type == MLQ_MSG_LOG_READ) {
        assert_true(a->u.log_read.token == b->u.log_read.token);
        assert_string_equal(a->u.log_read.attempt_id, b->u.log_read.attempt_id);
        assert_int_equal(a->u.log_read.stream, b->u.log_read.stream);
        assert_int_equal(a->u.log_read.offset, b->u.log_read.offset);
        assert_int_equal(a->u.log_read.max, b->u.log_read.max);
    } else if (a->type == MLQ_MSG_LOG_UPLOAD) {
        assert_string_equal(a->u.log_upload.attempt_id, b->u.log_upload.attempt_id);
        assert_int_equal(a->u.log_upload.stream, b->u.log_upload.stream);
        assert_int_equal(a->u.log_upload.offset, b->u.log_upload.offset);
        assert_bytes_eq(a->u.log_upload.data, a->u.log_upload.len, b->u.log_upload.data,
                        b->u.log_upload.len);
        assert_int_equal(a->u.log_upload.skipped, b->u.log_upload.skipped);
        assert_int_equal(a->u.log_upload.eof, b->u.log_upload.eof);
    } else if (a->type == MLQ_MSG_LOG_UPLOAD_ACK) {
        assert_string_equal(a->u.log_upload_ack.attempt_id, b->u.log_upload_ack.attempt_id);
        assert_int_equal(a->u.log_upload_ack.stream, b->u.log_upload_ack.stream);
        assert_int_equal(a->u.log_upload_ack.offset, b->u.log_upload_ack.offset);
        assert_int_equal(a->u.log_upload_ack.err, b->u.log_upload_ack.err);
    }
}

static void assert_placement_msgs_eq(const struct mlq_msg *a, const struct mlq_msg *b)
{
    if (a->type == MLQ_MSG_DRAIN || a->type == MLQ_MSG_RESUME) {
        assert_str_same(a->u.drain.worker, b->u.drain.worker);
        /* resume carries no reason */
        assert_str_same(a->type == MLQ_MSG_DRAIN ? a->u.drain.reason : NULL, b->u.drain.reason);
    } else if (a->type == MLQ_MSG_WHY || a->type == MLQ_MSG_JOB_SPEC) {
        assert_str_same(a->u.why.job, b->u.why.job);
    } else if (a->type == MLQ_MSG_JOB_SPEC_REPLY) {
        assert_string_equal(a->u.job_spec_reply.id, b->u.job_spec_reply.id);
        assert_int_equal(a->u.job_spec_reply.is_array, b->u.job_spec_reply.is_array);
        assert_spec_eq(&a->u.job_spec_reply.spec, &b->u.job_spec_reply.spec);
    } else if (a->type == MLQ_MSG_WHY_REPLY) {
        assert_string_equal(a->u.why_reply.job_id, b->u.why_reply.job_id);
        assert_int_equal(a->u.why_reply.state, b->u.why_reply.state);
        assert_str_same(a->u.why_reply.blocker, b->u.why_reply.blocker);
        assert_str_same(a->u.why_reply.text, b->u.why_reply.text);
        assert_str_same(a->u.why_reply.closest_worker, b->u.why_reply.closest_worker);
        assert_str_same(a->u.why_reply.lacks, b->u.why_reply.lacks);
        assert_int_equal(a->u.why_reply.ahead, b->u.why_reply.ahead);
        assert_int_equal(a->u.why_reply.fits_ever, b->u.why_reply.fits_ever);
        assert_str_same(a->u.why_reply.start_worker, b->u.why_reply.start_worker);
        assert_str_same(a->u.why_reply.start_gpus, b->u.why_reply.start_gpus);
        assert_str_same(a->u.why_reply.est_kind, b->u.why_reply.est_kind);
        assert_int_equal(a->u.why_reply.est_at_ms, b->u.why_reply.est_at_ms);
        assert_str_same(a->u.why_reply.est_why, b->u.why_reply.est_why);
        assert_str_same(a->u.why_reply.quota_team, b->u.why_reply.quota_team);
        assert_str_same(a->u.why_reply.quota_pool, b->u.why_reply.quota_pool);
        assert_str_same(a->u.why_reply.quota_text, b->u.why_reply.quota_text);
        assert_int_equal(a->u.why_reply.quota_borrows, b->u.why_reply.quota_borrows);
        assert_int_equal(a->u.why_reply.quota_admits, b->u.why_reply.quota_admits);
    }
}

static void assert_event_eq(const struct mlq_eventinfo *a, const struct mlq_eventinfo *b)
{
    assert_true(a->seq == b->seq);
    assert_true(a->time_ms == b->time_ms);
    assert_str_same(a->kind, b->kind);
    assert_str_same(a->job_id, b->job_id);
    assert_str_same(a->attempt_id, b->attempt_id);
    assert_str_same(a->worker, b->worker);
    assert_str_same(a->actor, b->actor);
    assert_str_same(a->from, b->from);
    assert_str_same(a->to, b->to);
    assert_str_same(a->detail, b->detail);
}

static void assert_keys_msgs_eq(const struct mlq_msg *a, const struct mlq_msg *b)
{
    if (a->type == MLQ_MSG_USER_ADD) {
        assert_string_equal(a->u.user_add.name, b->u.user_add.name);
        assert_string_equal(a->u.user_add.key, b->u.user_add.key);
        assert_string_equal(a->u.user_add.role, b->u.user_add.role);
        assert_string_equal(a->u.user_add.team, b->u.user_add.team);
    } else if (a->type == MLQ_MSG_USER_RM) {
        assert_string_equal(a->u.user_rm.name, b->u.user_rm.name);
        assert_string_equal(a->u.user_rm.kind, b->u.user_rm.kind);
    } else if (a->type == MLQ_MSG_USER_LIST) {
        assert_int_equal(a->u.user_list.nusers, b->u.user_list.nusers);
        for (uint32_t i = 0; i < a->u.user_list.nusers; i++) {
            const struct mlq_userinfo *x = &a->u.user_list.users[i], *y = &b->u.user_list.users[i];
            assert_string_equal(x->name, y->name);
            assert_string_equal(x->role, y->role);
            assert_string_equal(x->key, y->key);
            assert_true(x->added_ms == y->added_ms);
            assert_string_equal(x->team, y->team);
        }
    } else if (a->type == MLQ_MSG_TOKEN_CREATE) {
        assert_string_equal(a->u.token_create.name, b->u.token_create.name);
        assert_string_equal(a->u.token_create.principal, b->u.token_create.principal);
        assert_string_equal(a->u.token_create.role, b->u.token_create.role);
        assert_true(a->u.token_create.expires_in_ms == b->u.token_create.expires_in_ms);
    } else if (a->type == MLQ_MSG_TOKEN_RM) {
        assert_string_equal(a->u.token_rm.name, b->u.token_rm.name);
    } else if (a->type == MLQ_MSG_TOKEN_LIST) {
        assert_int_equal(a->u.token_list.ntokens, b->u.token_list.ntokens);
        for (uint32_t i = 0; i < a->u.token_list.ntokens; i++) {
            const struct mlq_tokeninfo *x = &a->u.token_list.tokens[i],
                                       *y = &b->u.token_list.tokens[i];
            assert_string_equal(x->name, y->name);
            assert_string_equal(x->principal, y->principal);
            assert_string_equal(x->role, y->role);
            assert_true(x->created_ms == y->created_ms && x->expires_ms == y->expires_ms);
            assert_string_equal(x->secret, y->secret);
        }
    } else if (a->type == MLQ_MSG_BACKUP) {
        assert_string_equal(a->u.backup.path, b->u.backup.path);
    } else if (a->type == MLQ_MSG_BACKUP_DONE) {
        assert_string_equal(a->u.backup_done.path, b->u.backup_done.path);
        assert_true(a->u.backup_done.size == b->u.backup_done.size);
        assert_true(a->u.backup_done.pages == b->u.backup_done.pages);
        assert_true(a->u.backup_done.page_size == b->u.backup_done.page_size);
        assert_true(a->u.backup_done.duration_ms == b->u.backup_done.duration_ms);
        assert_int_equal(a->u.backup_done.schema, b->u.backup_done.schema);
        assert_string_equal(a->u.backup_done.integrity, b->u.backup_done.integrity);
    } else if (a->type == MLQ_MSG_USAGE_LIST) {
        assert_int_equal(a->u.usage_list.nusers, b->u.usage_list.nusers);
        for (uint32_t i = 0; i < a->u.usage_list.nusers; i++) {
            assert_string_equal(a->u.usage_list.users[i].user, b->u.usage_list.users[i].user);
            assert_true(a->u.usage_list.users[i].core_s == b->u.usage_list.users[i].core_s);
            assert_true(a->u.usage_list.users[i].penalty_milli ==
                        b->u.usage_list.users[i].penalty_milli);
        }
    } else if (a->type == MLQ_MSG_EVENTS) {
        assert_str_same(a->u.events.job, b->u.events.job);
        assert_true(a->u.events.since_ms == b->u.events.since_ms);
        assert_int_equal(a->u.events.limit, b->u.events.limit);
    } else if (a->type == MLQ_MSG_EVENT_LIST) {
        assert_int_equal(a->u.event_list.nevents, b->u.event_list.nevents);
        for (uint32_t i = 0; i < a->u.event_list.nevents; i++)
            assert_event_eq(&a->u.event_list.events[i], &b->u.event_list.events[i]);
    }
}

static void assert_acctrow_eq(const struct mlq_acctrow *x, const struct mlq_acctrow *y)
{
    assert_string_equal(x->key, y->key);
    for (int k = 0; k < MLQ_ACCT_OUTCOMES; k++)
        assert_true(x->runs[k] == y->runs[k]);
    assert_true(x->cpu_ms == y->cpu_ms && x->gpu_ms == y->gpu_ms);
    assert_true(x->gpu_known_ms == y->gpu_known_ms && x->gpu_idle_ms == y->gpu_idle_ms);
    assert_true(x->wait_ms == y->wait_ms && x->n_waits == y->n_waits);
}

static void assert_quotainfo_eq(const struct mlq_quotainfo *x, const struct mlq_quotainfo *y)
{
    assert_string_equal(x->team, y->team);
    assert_string_equal(x->pool, y->pool);
    /* every field is an int64_t after the two names */
    assert_memory_equal(&x->gpus_h, &y->gpus_h, sizeof *x - offsetof(struct mlq_quotainfo, gpus_h));
}

static void assert_team_msgs_eq(const struct mlq_msg *a, const struct mlq_msg *b)
{
    if (a->type == MLQ_MSG_QUOTA_CMD) {
        assert_string_equal(a->u.quota_cmd.op, b->u.quota_cmd.op);
        assert_quotainfo_eq(&a->u.quota_cmd.q, &b->u.quota_cmd.q);
    } else if (a->type == MLQ_MSG_QUOTA_LIST) {
        assert_int_equal(a->u.quota_list.nquotas, b->u.quota_list.nquotas);
        for (uint32_t i = 0; i < a->u.quota_list.nquotas; i++)
            assert_quotainfo_eq(&a->u.quota_list.quotas[i], &b->u.quota_list.quotas[i]);
    } else if (a->type == MLQ_MSG_TEAM_CMD) {
        assert_string_equal(a->u.team_cmd.op, b->u.team_cmd.op);
        assert_string_equal(a->u.team_cmd.name, b->u.team_cmd.name);
        assert_int_equal(a->u.team_cmd.preempt_within, b->u.team_cmd.preempt_within);
    } else if (a->type == MLQ_MSG_TEAM_LIST) {
        assert_int_equal(a->u.team_list.nteams, b->u.team_list.nteams);
        for (uint32_t i = 0; i < a->u.team_list.nteams; i++) {
            const struct mlq_teaminfo *x = &a->u.team_list.teams[i], *y = &b->u.team_list.teams[i];
            assert_string_equal(x->name, y->name);
            assert_true(x->created_ms == y->created_ms);
            assert_strv_same(x->members, x->nmembers, y->members, y->nmembers);
            assert_true(x->running == y->running && x->pending == y->pending);
        }
    } else if (a->type == MLQ_MSG_USER_SET) {
        assert_string_equal(a->u.user_set.name, b->u.user_set.name);
        assert_string_equal(a->u.user_set.team, b->u.user_set.team);
    } else if (a->type == MLQ_MSG_ACCT) {
        assert_true(a->u.acct.since_ms == b->u.acct.since_ms);
        assert_true(a->u.acct.until_ms == b->u.acct.until_ms);
        assert_int_equal(a->u.acct.by, b->u.acct.by);
    } else if (a->type == MLQ_MSG_ACCT_REPORT) {
        assert_true(a->u.acct_report.since_ms == b->u.acct_report.since_ms);
        assert_true(a->u.acct_report.until_ms == b->u.acct_report.until_ms);
        assert_int_equal(a->u.acct_report.by, b->u.acct_report.by);
        assert_int_equal(a->u.acct_report.nrows, b->u.acct_report.nrows);
        for (uint32_t i = 0; i < a->u.acct_report.nrows; i++)
            assert_acctrow_eq(&a->u.acct_report.rows[i], &b->u.acct_report.rows[i]);
    }
}

/* Compares every field of two messages of the same type. */
static void assert_msg_eq(const struct mlq_msg *a, const struct mlq_msg *b)
{
    assert_int_equal(a->type, b->type);
    assert_true(a->rid == b->rid);
    switch (a->type) {
    case MLQ_MSG_ERROR:
        assert_int_equal(a->u.error.code, b->u.error.code);
        assert_str_same(a->u.error.msg, b->u.error.msg);
        break;
    case MLQ_MSG_WORKERS:
        assert_str_same(a->u.workers.cursor, b->u.workers.cursor);
        break;
    case MLQ_MSG_OK:
    case MLQ_MSG_HB_ACK:
    case MLQ_MSG_TYPE_COUNT:
        break;
    case MLQ_MSG_SUBMIT:
    case MLQ_MSG_ESTIMATE:
        assert_spec_eq(&a->u.submit.spec, &b->u.submit.spec);
        break;
    case MLQ_MSG_SUBMITTED:
        assert_string_equal(a->u.submitted.id, b->u.submitted.id);
        break;
    case MLQ_MSG_JOBS:
        assert_strv_same(a->u.jobs.ids, a->u.jobs.nids, b->u.jobs.ids, b->u.jobs.nids);
        assert_int_equal(a->u.jobs.state, b->u.jobs.state);
        assert_int_equal(a->u.jobs.limit, b->u.jobs.limit);
        assert_str_same(a->u.jobs.cursor, b->u.jobs.cursor);
        assert_str_same(a->u.jobs.name, b->u.jobs.name);
        assert_str_same(a->u.jobs.owner, b->u.jobs.owner);
        assert_str_same(a->u.jobs.array, b->u.jobs.array);
        assert_int_equal(a->u.jobs.states, b->u.jobs.states);
        assert_int_equal(a->u.jobs.since_ms, b->u.jobs.since_ms);
        assert_int_equal(a->u.jobs.mine, b->u.jobs.mine);
        break;
    case MLQ_MSG_CANCEL:
        assert_strv_same(a->u.cancel.ids, a->u.cancel.nids, b->u.cancel.ids, b->u.cancel.nids);
        break;
    case MLQ_MSG_HOLD:
        assert_strv_same(a->u.hold.ids, a->u.hold.nids, b->u.hold.ids, b->u.hold.nids);
        assert_int_equal(a->u.hold.release, b->u.hold.release);
        break;
    case MLQ_MSG_UPDATE:
        assert_str_same(a->u.update.job, b->u.update.job);
        assert_int_equal(a->u.update.set, b->u.update.set);
        assert_int_equal(a->u.update.priority, b->u.update.priority);
        assert_true(a->u.update.time_limit_ms == b->u.update.time_limit_ms);
        assert_true(a->u.update.cpus_m == b->u.update.cpus_m);
        assert_true(a->u.update.mem == b->u.update.mem);
        assert_int_equal(a->u.update.gpus, b->u.update.gpus);
        assert_int_equal(a->u.update.retries, b->u.update.retries);
        break;
    case MLQ_MSG_LOGS:
        assert_str_same(a->u.logs.job, b->u.logs.job);
        assert_int_equal(a->u.logs.stream, b->u.logs.stream);
        assert_int_equal(a->u.logs.offset, b->u.logs.offset);
        assert_int_equal(a->u.logs.max, b->u.logs.max);
        assert_int_equal(a->u.logs.attempt, b->u.logs.attempt);
        break;
    case MLQ_MSG_LOG_DATA:
        assert_bytes_eq(a->u.log_data.data, a->u.log_data.len, b->u.log_data.data,
                        b->u.log_data.len);
        assert_int_equal(a->u.log_data.offset, b->u.log_data.offset);
        assert_int_equal(a->u.log_data.size, b->u.log_data.size);
        assert_int_equal(a->u.log_data.state, b->u.log_data.state);
        assert_int_equal(a->u.log_data.done, b->u.log_data.done);
        break;
    case MLQ_MSG_HEARTBEAT:
        assert_str_same(a->u.heartbeat.name, b->u.heartbeat.name);
        assert_int_equal(a->u.heartbeat.draining, b->u.heartbeat.draining);
        assert_int_equal(a->u.heartbeat.ngpu_load, b->u.heartbeat.ngpu_load);
        for (uint32_t i = 0; i < a->u.heartbeat.ngpu_load; i++) {
            const struct mlq_gpuload *x = &a->u.heartbeat.gpu_load[i],
                                     *y = &b->u.heartbeat.gpu_load[i];
            assert_int_equal(x->index, y->index);
            assert_int_equal(x->util, y->util);
            assert_true(x->mem_used == y->mem_used && x->mem_total == y->mem_total);
        }
        break;
    case MLQ_MSG_METRICS:
        break;
    case MLQ_MSG_METRICS_TEXT:
        assert_str_same(a->u.metrics_text.text, b->u.metrics_text.text);
        break;
    case MLQ_MSG_BATCH:
        assert_int_equal(a->u.batch.n, b->u.batch.n);
        for (uint32_t i = 0; i < a->u.batch.n; i++) {
            assert_int_equal(a->u.batch.lens[i], b->u.batch.lens[i]);
            assert_memory_equal(a->u.batch.bodies[i], b->u.batch.bodies[i], a->u.batch.lens[i]);
        }
        break;
    case MLQ_MSG_GOODBYE:
        assert_str_same(a->u.goodbye.name, b->u.goodbye.name);
        assert_int_equal(a->u.goodbye.drained, b->u.goodbye.drained);
        break;
    case MLQ_MSG_REGISTERED:
        assert_int_equal(a->u.registered.heartbeat_ms, b->u.registered.heartbeat_ms);
        assert_int_equal(a->u.registered.lease_ms, b->u.registered.lease_ms);
        assert_int_equal(a->u.registered.batch, b->u.registered.batch);
        break;
    case MLQ_MSG_KILL:
        assert_string_equal(a->u.kill.attempt_id, b->u.kill.attempt_id);
        assert_str_same(a->u.kill.reason, b->u.kill.reason);
        assert_int_equal(a->u.kill.preempt, b->u.kill.preempt);
        break;
    case MLQ_MSG_MANIFEST:
        assert_str_same(a->u.manifest.job, b->u.manifest.job);
        assert_int_equal(a->u.manifest.attempt, b->u.manifest.attempt);
        break;
    case MLQ_MSG_MANIFEST_DATA:
        assert_string_equal(a->u.manifest_data.job_id, b->u.manifest_data.job_id);
        assert_string_equal(a->u.manifest_data.attempt_id, b->u.manifest_data.attempt_id);
        assert_int_equal(a->u.manifest_data.attempt, b->u.manifest_data.attempt);
        assert_str_same(a->u.manifest_data.json, b->u.manifest_data.json);
        break;
    case MLQ_MSG_REPORT_ACK:
        assert_string_equal(a->u.report_ack.attempt_id, b->u.report_ack.attempt_id);
        assert_int_equal(a->u.report_ack.phase, b->u.report_ack.phase);
        assert_int_equal(a->u.report_ack.accepted, b->u.report_ack.accepted);
        break;
    case MLQ_MSG_JOB_LIST:
    case MLQ_MSG_WORKER_LIST:
    case MLQ_MSG_REGISTER:
        assert_lists_eq(a, b);
        break;
    case MLQ_MSG_DRAIN:
    case MLQ_MSG_RESUME:
    case MLQ_MSG_WHY:
    case MLQ_MSG_WHY_REPLY:
    case MLQ_MSG_JOB_SPEC:
    case MLQ_MSG_JOB_SPEC_REPLY:
        assert_placement_msgs_eq(a, b);
        break;
    case MLQ_MSG_WORKER_SET:
    case MLQ_MSG_WORKER_SUMMARY:
    case MLQ_MSG_WORKER_SUMMARY_LIST:
        mlq_test_assert_workerset_eq(a, b);
        break;
    case MLQ_MSG_SUBMIT_MANY:
        assert_strv_same(a->u.submit_many.env, a->u.submit_many.envc, b->u.submit_many.env,
                         b->u.submit_many.envc);
        assert_int_equal(a->u.submit_many.nspecs, b->u.submit_many.nspecs);
        for (uint32_t i = 0; i < a->u.submit_many.nspecs; i++)
            assert_spec_eq(&a->u.submit_many.specs[i], &b->u.submit_many.specs[i]);
        assert_str_same(a->u.submit_many.idempotency_key, b->u.submit_many.idempotency_key);
        break;
    case MLQ_MSG_SUBMITTED_MANY:
        assert_int_equal(a->u.submitted_many.nids, b->u.submitted_many.nids);
        for (uint32_t i = 0; i < a->u.submitted_many.nids; i++)
            assert_string_equal(a->u.submitted_many.ids[i], b->u.submitted_many.ids[i]);
        break;
    case MLQ_MSG_SCHEDULE_ADD:
    case MLQ_MSG_SCHEDULE_CMD:
    case MLQ_MSG_SCHEDULES:
    case MLQ_MSG_SCHEDULE_LIST:
        assert_pipeline_msgs_eq(a, b);
        break;
    case MLQ_MSG_USER_ADD:
    case MLQ_MSG_USER_RM:
    case MLQ_MSG_USERS:
    case MLQ_MSG_USER_LIST:
    case MLQ_MSG_EVENTS:
    case MLQ_MSG_EVENT_LIST:
    case MLQ_MSG_TOKEN_CREATE:
    case MLQ_MSG_TOKEN_RM:
    case MLQ_MSG_TOKENS:
    case MLQ_MSG_TOKEN_LIST:
    case MLQ_MSG_USAGE:
    case MLQ_MSG_USAGE_LIST:
    case MLQ_MSG_BACKUP:
    case MLQ_MSG_BACKUP_DONE:
        assert_keys_msgs_eq(a, b);
        break;
    case MLQ_MSG_QUOTA_CMD:
    case MLQ_MSG_QUOTA_LIST:
    case MLQ_MSG_TEAM_CMD:
    case MLQ_MSG_TEAM_LIST:
    case MLQ_MSG_USER_SET:
    case MLQ_MSG_ACCT:
    case MLQ_MSG_ACCT_REPORT:
        assert_team_msgs_eq(a, b);
        break;
    case MLQ_MSG_REPORT:
    case MLQ_MSG_ASSIGN:
    case MLQ_MSG_LOG_CHUNK:
    case MLQ_MSG_LOG_READ:
    case MLQ_MSG_LOG_UPLOAD:
    case MLQ_MSG_LOG_UPLOAD_ACK:
        assert_worker_msgs_eq(a, b);
        break;
    }
}

/* ---- helpers ------------------------------------------------------------ */

void encode_ok(const struct mlq_msg *m, char **buf, size_t *len)
{
    struct mlq_err err = {0};
    int rc = mlq_proto_encode(m, buf, len, &err);
    if (rc != 0)
        fail_msg("encode %s: %d %s", mlq_proto_type_name(m->type), rc, err.msg);
}

void roundtrip(const struct mlq_msg *in)
{
    char *buf;
    size_t len;
    struct mlq_msg out;
    struct mlq_err err = {0};
    encode_ok(in, &buf, &len);
    int rc = mlq_proto_decode(buf, len, &out, &err);
    if (rc != 0)
        fail_msg("decode %s: %d %s", mlq_proto_type_name(in->type), rc, err.msg);
    assert_msg_eq(in, &out);
    mlq_proto_msg_free(&out);
    free(buf);
}

static bool all_zero(const void *p, size_t n)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++)
        if (b[i])
            return false;
    return true;
}

/* Decoding must fail with MLQ_EPROTO, a message containing want (when
 * given), and leave nothing in *msg. */
void expect_reject(const void *buf, size_t len, const char *want)
{
    struct mlq_msg m;
    struct mlq_err err = {0};
    memset(&m, 0xa5, sizeof m);
    int rc = mlq_proto_decode(buf, len, &m, &err);
    if (rc != MLQ_EPROTO || (want && !strstr(err.msg, want)))
        fail_msg("rc %d, message \"%s\", wanted \"%s\"", rc, err.msg, want ? want : "");
    assert_int_equal(err.code, MLQ_EPROTO);
    assert_true(all_zero(&m, sizeof m));
}

void expect_msg_reject(const struct mlq_msg *m, const char *want)
{
    char *buf;
    size_t len;
    encode_ok(m, &buf, &len);
    expect_reject(buf, len, want);
    free(buf);
}

/* Hand-built bodies: header with nkeys entries in all (v, t and rid count). */
void raw_begin(struct mlq_mpk_out *o, uint32_t nkeys, const char *t)
{
    mlq_mpk_out_init(o, 2 * MLQ_MAX_MSG);
    msgpack_pack_map(&o->pk, nkeys);
    mlq_mpk_kv_uint(&o->pk, "v", MLQ_PROTO_VERSION);
    mlq_mpk_kv_str(&o->pk, "t", t);
    mlq_mpk_kv_uint(&o->pk, "rid", 1);
}

void raw_reject(struct mlq_mpk_out *o, const char *want)
{
    char *buf;
    size_t len;
    assert_int_equal(mlq_mpk_out_finish(o, &buf, &len, NULL), 0);
    expect_reject(buf, len, want);
    free(buf);
}

int raw_decode(struct mlq_mpk_out *o, struct mlq_msg *m, struct mlq_err *err)
{
    char *buf;
    size_t len;
    assert_int_equal(mlq_mpk_out_finish(o, &buf, &len, NULL), 0);
    int rc = mlq_proto_decode(buf, len, m, err);
    free(buf);
    return rc;
}

void write_seed(const char *dir, const char *name, const char *buf, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}
