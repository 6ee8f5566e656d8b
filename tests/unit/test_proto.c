/* Unit tests for common/proto (and its private helper common/mpk): a round
 * trip of a filled-in sample of every message type compared field by field,
 * then hostile and malformed input: wrong version, missing or unknown type,
 * mistyped and oversized fields, huge declared lengths in a few bytes,
 * trailing garbage, every truncation, deep nesting, flipped bytes.
 *
 * With MLQ_PROTO_SEED_DIR set, the encoded samples are also written there
 * (that is how tests/fuzz/corpus/fuzz_proto/ was seeded). */
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

#define N(a) (sizeof(a) / sizeof((a)[0]))

static const char ID1[] = "0b8e7c1e-4a4f-4c5e-9d3a-2f1b6c7d8e9f";
static const char ID2[] = "f0e1d2c3-b4a5-4968-8776-655443322110";

/* ---- samples ------------------------------------------------------------ */

static char *spec_argv[] = {"python", "train.py", "--lr=0.1", ""};
static char *spec_env[] = {"CUDA_VISIBLE_DEVICES=", "A=b=c"};
static char *spec_require[] = {"zone=eu-west", "ib=", "rack.row_1-a=R7/x=y"};
static struct mlq_dep spec_deps[] = {
    {"0b8e", MLQ_DEP_OK}, {"f0e1d2c3/17", MLQ_DEP_ANY}, {"", MLQ_DEP_FAILED}};

static void fill_spec(struct mlq_jobspec *s)
{
    s->name = "resnet";
    s->owner = "alice";
    s->argv = spec_argv;
    s->argc = N(spec_argv);
    s->env = spec_env;
    s->envc = N(spec_env);
    s->workdir = "/home/alice/work";
    s->cpus_m = 2500;
    s->mem = 16LL << 30;
    s->gpus = 2;
    s->retries = 3;
    s->retry_backoff_ms = 30000;
    s->time_limit_ms = 2 * 3600 * 1000;
    s->kill_grace_ms = 45000;
    s->warn_signal = 10;
    s->warn_before_ms = 600000;
    s->priority = -MLQ_MAX_PRIORITY;
    s->pool = "gpu-big_1.x";
    s->require = spec_require;
    s->nrequire = N(spec_require);
    s->gpu_type = "h100";
    strcpy(spec_deps[2].target, ID2);
    s->deps = spec_deps;
    s->ndeps = N(spec_deps);
    s->array = "0-999:3,1000";
    s->max_running = 25;
    s->idempotency_key = "nightly 2024-05-01 #1";
    s->nodes = 0; /* arrays cannot be gangs */
}

static struct mlq_jobinfo sample_jobs[2];
static struct mlq_dep sample_full_deps[] = {
    {"0b8e7c1e-4a4f-4c5e-9d3a-2f1b6c7d8e9f", MLQ_DEP_FAILED},
    {"f0e1d2c3-b4a5-4968-8776-655443322110", MLQ_DEP_OK}};
static struct mlq_arrayinfo sample_arrays[2];
static struct mlq_scheduleinfo sample_scheds[2];
static int64_t sample_fires[] = {1700000060000, 1700000120000, 1700000180000, 1700000240000,
                                 1700000300000};
static struct mlq_schedrun sample_runs[2];
static struct mlq_attemptinfo sample_attempts[3];
static struct mlq_workerinfo sample_workers[2];
static struct mlq_held_attempt sample_held[2];
static char *sample_ids[] = {"0b8e", "f0e1d2c3-b4a5", "0b8e7c1e-4a4f-4c5e-9d3a-2f1b6c7d8e9f"};
static int32_t sample_gpus[] = {0, 3, 63};
static uint8_t sample_bytes[] = {'h', 'i', 0, 0xff, '\n'};
static char *sample_labels[] = {"zone=eu-west", "ib=hdr"};
static struct mlq_gpuinfo sample_gpu_list[8];
static struct mlq_gpuload sample_gpu_load[] = {
    {.index = 63, .util = 100, .mem_used = MLQ_MAX_MEM, .mem_total = MLQ_MAX_MEM},
    {.index = 0, .util = 0, .mem_used = 0, .mem_total = 85899345920LL},
    {.index = 5, .util = 37, .mem_used = 1 << 30, .mem_total = 85899345920LL},
};

/* Eight GPUs, in a shuffled index order; the first two busy, the others
 * with every optional string unset. */
static void fill_gpu_list(void)
{
    static const int32_t order[] = {7, 0, 63, 2, 5, 1, 6, 3};
    memset(sample_gpu_list, 0, sizeof sample_gpu_list);
    for (size_t i = 0; i < N(sample_gpu_list); i++) {
        sample_gpu_list[i].index = order[i];
        sample_gpu_list[i].type = i < 4 ? "h100" : "fake";
    }
    sample_gpu_list[0] = (struct mlq_gpuinfo){.index = 7,
                                              .uuid = "GPU-5d2c1a9e-0b3f-4e6a-8c7d-1234567890ab",
                                              .model = "NVIDIA H100 80GB HBM3",
                                              .type = "h100",
                                              .mem = 85899345920LL,
                                              .job_id = (char *)ID1};
    sample_gpu_list[1].job_id = (char *)ID2;
    sample_gpu_list[1].mem = 1;
    /* utilisation: known and idle, known and busy, unknown (the rest) */
    sample_gpu_list[0].util_known = true;
    sample_gpu_list[0].idle_ms = 7200000;
    sample_gpu_list[1].util_known = true;
    sample_gpu_list[1].util = 100;
    sample_gpu_list[1].mem_used = 85899345920LL;
}

static void fill_attempts(void)
{
    memset(sample_attempts, 0, sizeof sample_attempts);
    sample_attempts[0] =
        (struct mlq_attemptinfo){.num = 1,
                                 .worker = "node-a",
                                 .state = MLQ_ATT_LOST,
                                 .gpu_ids = "0,1",
                                 .start_ms = 1700000000500,
                                 .end_ms = 1700000001500,
                                 .exit_code = -1,
                                 .detail = "self-fenced: no contact with the scheduler for 30 s"};
    strcpy(sample_attempts[0].id, ID1);
    sample_attempts[1] = (struct mlq_attemptinfo){.num = 2,
                                                  .worker = "node-b",
                                                  .state = MLQ_ATT_TIMED_OUT,
                                                  .start_ms = 1,
                                                  .end_ms = 2,
                                                  .exit_code = -1,
                                                  .signal = 15};
    strcpy(sample_attempts[1].id, ID2);
    /* assigned, never started: every optional string unset */
    sample_attempts[2] =
        (struct mlq_attemptinfo){.num = 3, .state = MLQ_ATT_ASSIGNED, .exit_code = INT32_MIN};
    strcpy(sample_attempts[2].id, ID1);
}

static void fill_jobinfo(void)
{
    struct mlq_jobinfo *j = &sample_jobs[0];
    memset(sample_jobs, 0, sizeof sample_jobs);
    strcpy(j->id, ID1);
    j->name = "resnet";
    j->owner = "alice";
    j->state = MLQ_JOB_FAILED;
    j->reason = "exit code 3";
    j->argv = spec_argv;
    j->argc = N(spec_argv);
    j->workdir = "/w";
    j->cpus_m = 1500;
    j->mem = 1LL << 40;
    j->gpus = 1;
    j->submit_ms = 1700000000000;
    j->start_ms = 1700000000500;
    j->end_ms = 1700000009999;
    j->attempt = 3;
    j->attempt_id = (char *)ID2;
    j->worker = "node-a";
    j->gpu_ids = "0,1";
    j->exit_code = 3;
    j->signal = 0;
    j->retries = 2;
    j->node_failures = 1;
    j->not_before_ms = 1700000010000;
    j->time_limit_ms = 3600000;
    fill_attempts();
    j->attempts = sample_attempts;
    j->nattempts = N(sample_attempts);
    j->array_id = (char *)ID2;
    j->array_index = 999999;
    j->deps = sample_full_deps;
    j->ndeps = N(sample_full_deps);
    j->pool = "gpu-a100";
    /* the second one is pending: every optional string unset */
    sample_jobs[1].array_index = -1;
    strcpy(sample_jobs[1].id, ID2);
    sample_jobs[1].owner = "bob";
    sample_jobs[1].exit_code = -1;
}

static void fill_workers(void)
{
    memset(sample_workers, 0, sizeof sample_workers);
    sample_workers[0] = (struct mlq_workerinfo){.name = "node-a",
                                                .state = "UP",
                                                .cpus_m = 8000,
                                                .cpus_used_m = 2500,
                                                .mem = 1LL << 34,
                                                .mem_used = 1LL << 30,
                                                .gpus = 4,
                                                .gpus_used = 1,
                                                .running = 2,
                                                .draining = true,
                                                .last_seen_ms = 1700000000123,
                                                .pool = "a100-pool",
                                                .labels = sample_labels,
                                                .nlabels = N(sample_labels),
                                                .drain_reason = "bad fan: ticket #42, \xc3\xa9",
                                                .gpu_list = sample_gpu_list,
                                                .ngpu_list = 4,
                                                .unhealthy = true,
                                                .health = "refused 3 assignments in a row",
                                                .addr = "gpu1.example.org"};
    sample_workers[1] =
        (struct mlq_workerinfo){.name = "node-b", .state = "LOST", .cpus_m = 1000, .mem = 1 << 20};
    memset(sample_held, 0, sizeof sample_held);
    strcpy(sample_held[0].attempt_id, ID1);
    strcpy(sample_held[1].attempt_id, ID2);
    sample_held[1].finished = true;
    fill_gpu_list();
}

/* Two arrays: one with every field set, one empty-handed. */
static void fill_arrays(void)
{
    memset(sample_arrays, 0, sizeof sample_arrays);
    struct mlq_arrayinfo *a = &sample_arrays[0];
    strcpy(a->id, ID2);
    a->name = "score";
    a->owner = "alice";
    a->argv = spec_argv;
    a->argc = N(spec_argv);
    a->size = MLQ_MAX_ARRAY;
    a->max_running = 2;
    a->submit_ms = 1700000000000;
    for (int i = 0; i < MLQ_JOB_STATE_COUNT; i++)
        a->counts[i] = (uint32_t)(i + 1) * 1000;
    a->failed = "3,17-19,99999";
    strcpy(sample_arrays[1].id, ID1);
    sample_arrays[1].size = 1;
    sample_arrays[1].counts[MLQ_JOB_PENDING] = 1;
}

/* Two schedules: one with every field set, one with the optional ones left. */
static void fill_schedules(void)
{
    memset(sample_scheds, 0, sizeof sample_scheds);
    memset(sample_runs, 0, sizeof sample_runs);
    sample_runs[0].fire_ms = 1700000000000;
    strcpy(sample_runs[0].job_id, ID1);
    sample_runs[0].state = MLQ_JOB_RUNNING;
    sample_runs[1].fire_ms = 1;
    strcpy(sample_runs[1].job_id, ID2);
    sample_runs[1].state = MLQ_JOB_TIMED_OUT;
    struct mlq_scheduleinfo *s = &sample_scheds[0];
    s->name = "nightly.eval_v2-A";
    s->cron = "*/15 9-17 * JAN-MAR mon-fri";
    s->timezone = "Europe/Paris";
    fill_spec(&s->spec);
    s->concurrency = "replace";
    s->catch_up_ms = MLQ_MAX_TIME_MS;
    s->paused = true;
    s->next_fires = sample_fires;
    s->nnext = N(sample_fires);
    s->runs = sample_runs;
    s->nruns = N(sample_runs);
    sample_scheds[1].name = "x";
    sample_scheds[1].cron = "@daily";
    fill_spec(&sample_scheds[1].spec);
    sample_scheds[1].spec.deps = NULL;
    sample_scheds[1].spec.ndeps = 0;
}

static struct mlq_userinfo sample_users[] = {
    {"alice@example.org", "admin", "raj>LODIwg27-AAQ%{e]RoL0:?#QEUIHb29}&e*G", 1700000000000},
    {"w-1.gpu_a", "worker", "nB[I@b4U6Ywy63oW?1l]bQm^*uRc-2yTUV2j@my7", 0},
};
static struct mlq_eventinfo sample_events[] = {
    {.seq = 7,
     .time_ms = 1700000000123,
     .kind = "state",
     .job_id = (char *)ID1,
     .attempt_id = (char *)ID2,
     .worker = "node-a",
     .actor = "user:alice",
     .from = "PENDING",
     .to = "CANCELLED",
     .detail = "cancelled by alice"},
    {.seq = INT64_MAX, .time_ms = 0, .kind = "key_added"},
};

static struct mlq_usageinfo sample_usage[] = {
    {"alice", 7200, 120000},
    {"b", 0, 0},
};
static struct mlq_tokeninfo sample_tokens[] = {
    {"ci-bot", "alice@example.org", "admin", 1700000000000, 1800000000000,
     "mlq_0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"},
    {"x", "bob", "user", 0, 0, ""},
};

/* user_add, user_rm, users, user_list, events, event_list, token_* */
static void fill_keys_sample(struct mlq_msg *m)
{
    switch (m->type) {
    case MLQ_MSG_TOKEN_CREATE:
        strcpy(m->u.token_create.name, "ci-bot");
        strcpy(m->u.token_create.principal, "alice@example.org");
        strcpy(m->u.token_create.role, "admin");
        m->u.token_create.expires_in_ms = 86400000;
        break;
    case MLQ_MSG_TOKEN_RM:
        strcpy(m->u.token_rm.name, "ci-bot");
        break;
    case MLQ_MSG_TOKENS:
        break;
    case MLQ_MSG_TOKEN_LIST:
        m->u.token_list.tokens = sample_tokens;
        m->u.token_list.ntokens = N(sample_tokens);
        break;
    case MLQ_MSG_USAGE:
        break;
    case MLQ_MSG_USAGE_LIST:
        m->u.usage_list.users = sample_usage;
        m->u.usage_list.nusers = N(sample_usage);
        break;
    case MLQ_MSG_USER_ADD:
        strcpy(m->u.user_add.name, "bob.smith");
        strcpy(m->u.user_add.key, sample_users[0].key);
        strcpy(m->u.user_add.role, "user");
        break;
    case MLQ_MSG_USER_RM:
        strcpy(m->u.user_rm.name, "w-1.gpu_a");
        strcpy(m->u.user_rm.kind, "worker");
        break;
    case MLQ_MSG_USERS:
        break;
    case MLQ_MSG_USER_LIST:
        m->u.user_list.users = sample_users;
        m->u.user_list.nusers = N(sample_users);
        break;
    case MLQ_MSG_EVENTS:
        m->u.events.job = "0b8e7c";
        m->u.events.since_ms = INT64_MAX;
        m->u.events.limit = MLQ_MAX_LIST;
        break;
    case MLQ_MSG_EVENT_LIST:
        m->u.event_list.events = sample_events;
        m->u.event_list.nevents = N(sample_events);
        break;
    case MLQ_MSG_METRICS:
        break;
    case MLQ_MSG_METRICS_TEXT:
        m->u.metrics_text.text = "# HELP mlq_jobs Jobs.\n# TYPE mlq_jobs gauge\n"
                                 "mlq_jobs{state=\"PENDING\",pool=\"a\\\"b\"} 3\n";
        break;
    default:
        fail_msg("no client sample for type %d", m->type);
    }
}

/* schedule_add, schedule_cmd, schedules, schedule_list */
static void fill_pipeline_sample(struct mlq_msg *m)
{
    fill_schedules();
    switch (m->type) {
    case MLQ_MSG_SCHEDULE_ADD:
        m->u.schedule_add.sched = sample_scheds[0];
        break;
    case MLQ_MSG_SCHEDULE_CMD:
        m->u.schedule_cmd.name = "nightly";
        m->u.schedule_cmd.op = "run_now";
        break;
    case MLQ_MSG_SCHEDULES:
        m->u.schedules.name = "nightly";
        m->u.schedules.cursor = "nightly";
        break;
    case MLQ_MSG_SCHEDULE_LIST:
        m->u.schedule_list.schedules = sample_scheds;
        m->u.schedule_list.nschedules = N(sample_scheds);
        m->u.schedule_list.next = "nightly";
        break;
    default:
        fill_keys_sample(m);
    }
}

/* drain, resume, why, why_reply */
static void fill_placement_sample(struct mlq_msg *m)
{
    switch (m->type) {
    case MLQ_MSG_DRAIN:
        m->u.drain.worker = "node-a";
        m->u.drain.reason = "replacing GPU 3 (ticket 42)";
        break;
    case MLQ_MSG_RESUME:
        m->u.drain.worker = "node-b";
        break;
    case MLQ_MSG_WHY:
        m->u.why.job = "0b8e7c";
        break;
    case MLQ_MSG_WHY_REPLY:
        strcpy(m->u.why_reply.job_id, ID2);
        m->u.why_reply.state = MLQ_JOB_PENDING;
        m->u.why_reply.blocker = "gpu_type";
        m->u.why_reply.text = "no worker in pool default has 2 free h100 GPUs";
        m->u.why_reply.closest_worker = "node-a";
        m->u.why_reply.lacks = "GPU type h100 (has a100)";
        m->u.why_reply.ahead = UINT32_MAX;
        break;
    default:
        fill_pipeline_sample(m);
    }
}

static void fill_client_sample(struct mlq_msg *m)
{
    switch (m->type) {
    case MLQ_MSG_ERROR:
        m->u.error.code = MLQ_ENOTFOUND;
        m->u.error.msg = "no job matches 'abc'";
        break;
    case MLQ_MSG_OK:
        break;
    case MLQ_MSG_WORKERS:
        m->u.workers.cursor = "17";
        break;
    case MLQ_MSG_SUBMIT:
        fill_spec(&m->u.submit.spec);
        break;
    case MLQ_MSG_SUBMITTED:
        strcpy(m->u.submitted.id, ID1);
        break;
    case MLQ_MSG_JOBS:
        m->u.jobs.ids = sample_ids;
        m->u.jobs.nids = N(sample_ids);
        m->u.jobs.state = MLQ_JOB_TIMED_OUT;
        m->u.jobs.limit = 250;
        m->u.jobs.cursor = "12345";
        break;
    case MLQ_MSG_JOB_LIST:
        m->u.job_list.jobs = sample_jobs;
        m->u.job_list.njobs = N(sample_jobs);
        fill_arrays();
        m->u.job_list.arrays = sample_arrays;
        m->u.job_list.narrays = N(sample_arrays);
        m->u.job_list.next = "j:98";
        break;
    case MLQ_MSG_CANCEL:
        m->u.cancel.ids = sample_ids;
        m->u.cancel.nids = N(sample_ids);
        break;
    case MLQ_MSG_WORKER_LIST:
        m->u.worker_list.workers = sample_workers;
        m->u.worker_list.nworkers = N(sample_workers);
        m->u.worker_list.next = "2";
        break;
    case MLQ_MSG_LOGS:
        m->u.logs.job = "0b8e7c";
        m->u.logs.stream = MLQ_STREAM_STDERR;
        m->u.logs.offset = 5000000000LL;
        m->u.logs.max = MLQ_MAX_LOG_CHUNK;
        break;
    case MLQ_MSG_LOG_DATA:
        m->u.log_data.data = sample_bytes;
        m->u.log_data.len = sizeof sample_bytes;
        m->u.log_data.offset = 10;
        m->u.log_data.size = 15;
        m->u.log_data.state = MLQ_JOB_SUCCEEDED;
        m->u.log_data.done = true;
        break;
    default:
        fill_placement_sample(m);
    }
}

static void fill_upload_sample(struct mlq_msg *m)
{
    if (m->type == MLQ_MSG_LOG_UPLOAD) {
        strcpy(m->u.log_upload.attempt_id, ID2);
        m->u.log_upload.stream = MLQ_STREAM_STDERR;
        m->u.log_upload.offset = 3LL << 20;
        m->u.log_upload.data = sample_bytes;
        m->u.log_upload.len = sizeof sample_bytes;
        m->u.log_upload.skipped = 5LL << 30;
        m->u.log_upload.eof = true;
    } else {
        strcpy(m->u.log_upload_ack.attempt_id, ID1);
        m->u.log_upload_ack.stream = MLQ_STREAM_STDERR;
        m->u.log_upload_ack.offset = 1LL << 24;
        m->u.log_upload_ack.err = MLQ_EDB; /* disk full: retry later */
    }
}

static void fill_worker_sample(struct mlq_msg *m)
{
    switch (m->type) {
    case MLQ_MSG_HB_ACK:
        break;
    case MLQ_MSG_REGISTER:
        m->u.reg.name = "node-a";
        m->u.reg.cpus_m = 64000;
        m->u.reg.mem = 256LL << 30;
        m->u.reg.gpus = 8;
        m->u.reg.attempts = sample_held;
        m->u.reg.nattempts = N(sample_held);
        m->u.reg.draining = true;
        m->u.reg.pool = "a100-pool";
        m->u.reg.labels = sample_labels;
        m->u.reg.nlabels = N(sample_labels);
        m->u.reg.gpu_list = sample_gpu_list;
        m->u.reg.ngpu_list = N(sample_gpu_list);
        m->u.reg.addr = "fd00::11";
        break;
    case MLQ_MSG_HEARTBEAT:
        m->u.heartbeat.name = "node-b";
        m->u.heartbeat.draining = true;
        m->u.heartbeat.gpu_load = sample_gpu_load;
        m->u.heartbeat.ngpu_load = N(sample_gpu_load);
        break;
    case MLQ_MSG_GOODBYE:
        m->u.goodbye.name = "node-b";
        m->u.goodbye.drained = true;
        break;
    case MLQ_MSG_REPORT:
        strcpy(m->u.report.attempt_id, ID2);
        m->u.report.phase = MLQ_PHASE_FINISHED;
        m->u.report.outcome = MLQ_OUT_SIGNALED;
        m->u.report.exit_code = -1;
        m->u.report.signal = 9;
        m->u.report.pid = 4242;
        m->u.report.start_ms = 1700000000000;
        m->u.report.end_ms = 1700000001000;
        m->u.report.detail = "killed by SIGKILL";
        break;
    case MLQ_MSG_LOG_CHUNK:
        m->u.log_chunk.token = UINT64_MAX - 1;
        m->u.log_chunk.data = sample_bytes;
        m->u.log_chunk.len = sizeof sample_bytes;
        m->u.log_chunk.size = 1LL << 33;
        m->u.log_chunk.err = MLQ_ENOTFOUND;
        break;
    case MLQ_MSG_REGISTERED:
        m->u.registered.heartbeat_ms = 1000;
        m->u.registered.lease_ms = 30000;
        break;
    case MLQ_MSG_ASSIGN:
        strcpy(m->u.assign.attempt_id, ID2);
        strcpy(m->u.assign.job_id, ID1);
        m->u.assign.attempt = 2;
        fill_spec(&m->u.assign.spec);
        m->u.assign.gpu_ids = sample_gpus;
        m->u.assign.ngpu_ids = N(sample_gpus);
        m->u.assign.kill_grace_ms = 10000;
        strcpy(m->u.assign.array_id, ID1);
        m->u.assign.array_index = 1000000;
        m->u.assign.array_size = MLQ_MAX_ARRAY;
        m->u.assign.allow_root = true;
        break;
    case MLQ_MSG_KILL:
        strcpy(m->u.kill.attempt_id, ID1);
        m->u.kill.reason = "fenced";
        break;
    case MLQ_MSG_REPORT_ACK:
        strcpy(m->u.report_ack.attempt_id, ID1);
        m->u.report_ack.phase = MLQ_PHASE_FINISHED;
        m->u.report_ack.accepted = true;
        break;
    case MLQ_MSG_LOG_READ:
        m->u.log_read.token = 77;
        strcpy(m->u.log_read.attempt_id, ID2);
        m->u.log_read.stream = MLQ_STREAM_STDERR;
        m->u.log_read.offset = 123;
        m->u.log_read.max = 4096;
        break;
    case MLQ_MSG_LOG_UPLOAD:
    case MLQ_MSG_LOG_UPLOAD_ACK:
        fill_upload_sample(m);
        break;
    default:
        fail_msg("no worker sample for type %d", m->type);
    }
}

/* A filled-in message of type t whose every field differs from zero where
 * it can. Points at static data: never free it. */
static void fill_sample(enum mlq_msg_type t, struct mlq_msg *m)
{
    memset(m, 0, sizeof *m);
    m->type = t;
    m->rid = 0x1234567890abcdefULL + t;
    fill_jobinfo();
    fill_workers();
    if (t < MLQ_MSG_REGISTER)
        fill_client_sample(m);
    else
        fill_worker_sample(m);
}

/* ---- comparisons -------------------------------------------------------- */

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

static void assert_spec_eq(const struct mlq_jobspec *a, const struct mlq_jobspec *b)
{
    assert_str_same(a->name, b->name);
    assert_str_same(a->owner, b->owner);
    assert_strv_same(a->argv, a->argc, b->argv, b->argc);
    assert_strv_same(a->env, a->envc, b->env, b->envc);
    assert_str_same(a->workdir, b->workdir);
    assert_int_equal(a->cpus_m, b->cpus_m);
    assert_int_equal(a->mem, b->mem);
    assert_int_equal(a->gpus, b->gpus);
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
    assert_deps_eq(a->deps, a->ndeps, b->deps, b->ndeps);
    assert_str_same(a->array, b->array);
    assert_int_equal(a->max_running, b->max_running);
    assert_str_same(a->idempotency_key, b->idempotency_key);
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
    }
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
    assert_gpus_eq(a->gpu_list, a->ngpu_list, b->gpu_list, b->ngpu_list);
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
        assert_int_equal(a->u.reg.nattempts, b->u.reg.nattempts);
        for (uint32_t i = 0; i < a->u.reg.nattempts; i++) {
            assert_string_equal(a->u.reg.attempts[i].attempt_id, b->u.reg.attempts[i].attempt_id);
            assert_int_equal(a->u.reg.attempts[i].finished, b->u.reg.attempts[i].finished);
        }
        assert_str_same(a->u.reg.pool, b->u.reg.pool);
        assert_strv_same(a->u.reg.labels, a->u.reg.nlabels, b->u.reg.labels, b->u.reg.nlabels);
        assert_gpus_eq(a->u.reg.gpu_list, a->u.reg.ngpu_list, b->u.reg.gpu_list,
                       b->u.reg.ngpu_list);
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
    } else if (a->type == MLQ_MSG_WHY) {
        assert_str_same(a->u.why.job, b->u.why.job);
    } else if (a->type == MLQ_MSG_WHY_REPLY) {
        assert_string_equal(a->u.why_reply.job_id, b->u.why_reply.job_id);
        assert_int_equal(a->u.why_reply.state, b->u.why_reply.state);
        assert_str_same(a->u.why_reply.blocker, b->u.why_reply.blocker);
        assert_str_same(a->u.why_reply.text, b->u.why_reply.text);
        assert_str_same(a->u.why_reply.closest_worker, b->u.why_reply.closest_worker);
        assert_str_same(a->u.why_reply.lacks, b->u.why_reply.lacks);
        assert_int_equal(a->u.why_reply.ahead, b->u.why_reply.ahead);
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
        break;
    case MLQ_MSG_CANCEL:
        assert_strv_same(a->u.cancel.ids, a->u.cancel.nids, b->u.cancel.ids, b->u.cancel.nids);
        break;
    case MLQ_MSG_LOGS:
        assert_str_same(a->u.logs.job, b->u.logs.job);
        assert_int_equal(a->u.logs.stream, b->u.logs.stream);
        assert_int_equal(a->u.logs.offset, b->u.logs.offset);
        assert_int_equal(a->u.logs.max, b->u.logs.max);
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
    case MLQ_MSG_GOODBYE:
        assert_str_same(a->u.goodbye.name, b->u.goodbye.name);
        assert_int_equal(a->u.goodbye.drained, b->u.goodbye.drained);
        break;
    case MLQ_MSG_REGISTERED:
        assert_int_equal(a->u.registered.heartbeat_ms, b->u.registered.heartbeat_ms);
        assert_int_equal(a->u.registered.lease_ms, b->u.registered.lease_ms);
        break;
    case MLQ_MSG_KILL:
        assert_string_equal(a->u.kill.attempt_id, b->u.kill.attempt_id);
        assert_str_same(a->u.kill.reason, b->u.kill.reason);
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
        assert_placement_msgs_eq(a, b);
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
        assert_keys_msgs_eq(a, b);
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

static void encode_ok(const struct mlq_msg *m, char **buf, size_t *len)
{
    struct mlq_err err = {0};
    int rc = mlq_proto_encode(m, buf, len, &err);
    if (rc != 0)
        fail_msg("encode %s: %d %s", mlq_proto_type_name(m->type), rc, err.msg);
}

static void roundtrip(const struct mlq_msg *in)
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
static void expect_reject(const void *buf, size_t len, const char *want)
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

static void expect_msg_reject(const struct mlq_msg *m, const char *want)
{
    char *buf;
    size_t len;
    encode_ok(m, &buf, &len);
    expect_reject(buf, len, want);
    free(buf);
}

/* Hand-built bodies: header with nkeys entries in all (v, t and rid count). */
static void raw_begin(struct mlq_mpk_out *o, uint32_t nkeys, const char *t)
{
    mlq_mpk_out_init(o, 2 * MLQ_MAX_MSG);
    msgpack_pack_map(&o->pk, nkeys);
    mlq_mpk_kv_uint(&o->pk, "v", MLQ_PROTO_VERSION);
    mlq_mpk_kv_str(&o->pk, "t", t);
    mlq_mpk_kv_uint(&o->pk, "rid", 1);
}

static void raw_reject(struct mlq_mpk_out *o, const char *want)
{
    char *buf;
    size_t len;
    assert_int_equal(mlq_mpk_out_finish(o, &buf, &len, NULL), 0);
    expect_reject(buf, len, want);
    free(buf);
}

static int raw_decode(struct mlq_mpk_out *o, struct mlq_msg *m, struct mlq_err *err)
{
    char *buf;
    size_t len;
    assert_int_equal(mlq_mpk_out_finish(o, &buf, &len, NULL), 0);
    int rc = mlq_proto_decode(buf, len, m, err);
    free(buf);
    return rc;
}

static void write_seed(const char *dir, const char *name, const char *buf, size_t len)
{
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(buf, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* ---- round trips -------------------------------------------------------- */

static void test_every_type_roundtrips(void **state)
{
    (void)state;
    const char *seed_dir = getenv("MLQ_PROTO_SEED_DIR");
    for (int t = 0; t < MLQ_MSG_TYPE_COUNT; t++) {
        struct mlq_msg m;
        fill_sample((enum mlq_msg_type)t, &m);
        roundtrip(&m);
        if (seed_dir) {
            char *buf, name[64];
            size_t len;
            encode_ok(&m, &buf, &len);
            snprintf(name, sizeof name, "valid_%s", mlq_proto_type_name(m.type));
            write_seed(seed_dir, name, buf, len);
            free(buf);
        }
    }
}

static void test_type_names(void **state)
{
    (void)state;
    for (int t = 0; t < MLQ_MSG_TYPE_COUNT; t++) {
        const char *name = mlq_proto_type_name((enum mlq_msg_type)t);
        assert_string_not_equal(name, "?");
        for (int u = 0; u < t; u++)
            assert_string_not_equal(name, mlq_proto_type_name((enum mlq_msg_type)u));
    }
    assert_string_equal(mlq_proto_type_name(MLQ_MSG_SUBMIT), "submit");
    assert_string_equal(mlq_proto_type_name(MLQ_MSG_TYPE_COUNT), "?");
}

/* Every enum value survives, and job states use mlq_job_state_name()'s
 * spelling on the wire. */
static void test_enum_values_roundtrip(void **state)
{
    (void)state;
    struct mlq_msg m;
    fill_sample(MLQ_MSG_LOG_DATA, &m);
    for (int s = 0; s < MLQ_JOB_STATE_COUNT; s++) {
        char *buf;
        size_t len;
        m.u.log_data.state = (enum mlq_job_state)s;
        encode_ok(&m, &buf, &len);
        assert_non_null(memmem(buf, len, mlq_job_state_name(s), strlen(mlq_job_state_name(s))));
        free(buf);
        roundtrip(&m);
    }
    fill_sample(MLQ_MSG_REPORT, &m);
    for (int o = MLQ_OUT_NONE; o <= MLQ_OUT_REFUSED; o++) {
        m.u.report.outcome = (enum mlq_outcome)o;
        m.u.report.phase = o == MLQ_OUT_NONE ? MLQ_PHASE_STARTED : MLQ_PHASE_FINISHED;
        roundtrip(&m);
    }
    fill_sample(MLQ_MSG_LOGS, &m);
    m.u.logs.stream = MLQ_STREAM_STDOUT;
    roundtrip(&m);
    fill_sample(MLQ_MSG_JOB_LIST, &m); /* attempt states use their own names */
    for (int s = 0; s < MLQ_ATT_STATE_COUNT; s++) {
        char *buf;
        size_t len;
        const char *name = mlq_attempt_state_name((enum mlq_attempt_state)s);
        sample_attempts[1].state = (enum mlq_attempt_state)s;
        encode_ok(&m, &buf, &len);
        assert_non_null(memmem(buf, len, name, strlen(name)));
        free(buf);
        roundtrip(&m);
    }
}

/* Placement parts left out: no pool, labels, GPU list, reason, closest worker. */
static void test_sparse_placement(void)
{
    struct mlq_msg m;
    fill_sample(MLQ_MSG_REGISTER, &m);
    m.u.reg.pool = NULL;
    m.u.reg.labels = NULL;
    m.u.reg.nlabels = 0;
    m.u.reg.gpu_list = NULL;
    m.u.reg.ngpu_list = 0; /* GPUs without descriptions */
    roundtrip(&m);
    fill_sample(MLQ_MSG_WORKER_LIST, &m);
    sample_workers[0].pool = NULL;
    sample_workers[0].labels = NULL;
    sample_workers[0].nlabels = 0;
    sample_workers[0].drain_reason = NULL;
    sample_workers[0].gpu_list = NULL;
    sample_workers[0].ngpu_list = 0;
    roundtrip(&m);
    fill_sample(MLQ_MSG_DRAIN, &m);
    m.u.drain.reason = NULL;
    roundtrip(&m);
    fill_sample(MLQ_MSG_WHY_REPLY, &m);
    m.u.why_reply.state = MLQ_JOB_SUCCEEDED;
    m.u.why_reply.blocker = "none";
    m.u.why_reply.closest_worker = NULL;
    m.u.why_reply.lacks = NULL;
    m.u.why_reply.ahead = 0;
    roundtrip(&m);
}

/* Optional parts left out: nil strings, empty arrays and bins, extremes. */
static void test_sparse_roundtrips(void **state)
{
    (void)state;
    struct mlq_msg m;
    fill_sample(MLQ_MSG_JOBS, &m);
    m.u.jobs.ids = NULL;
    m.u.jobs.nids = 0;
    m.u.jobs.state = -1;
    m.u.jobs.limit = 0;
    roundtrip(&m);
    fill_sample(MLQ_MSG_SUBMIT, &m);
    m.u.submit.spec.name = NULL;
    m.u.submit.spec.env = NULL;
    m.u.submit.spec.envc = 0;
    m.u.submit.spec.gpus = 0;
    m.u.submit.spec.gpu_type = NULL;
    m.u.submit.spec.pool = NULL;
    m.u.submit.spec.require = NULL;
    m.u.submit.spec.nrequire = 0;
    m.u.submit.spec.priority = MLQ_MAX_PRIORITY;
    roundtrip(&m);
    test_sparse_placement();
    fill_sample(MLQ_MSG_REPORT, &m);
    m.u.report.detail = NULL;
    m.u.report.exit_code = INT32_MIN;
    m.u.report.pid = -1;
    roundtrip(&m);
    fill_sample(MLQ_MSG_LOG_DATA, &m);
    m.u.log_data.data = NULL;
    m.u.log_data.len = 0;
    roundtrip(&m);
    fill_sample(MLQ_MSG_JOB_LIST, &m);
    m.u.job_list.njobs = 0;
    roundtrip(&m);
    fill_sample(MLQ_MSG_KILL, &m);
    m.u.kill.reason = NULL;
    m.rid = 0;
    roundtrip(&m);
}

/* Bodies from a peer that predates the optional keys still
 * decode, with every new field 0 / false / NULL. */
static void test_optional_keys_absent(void **state)
{
    (void)state;
    struct mlq_mpk_out o;
    struct mlq_msg m;
    struct mlq_err err = {0};
    raw_begin(&o, 4, "heartbeat");
    mlq_mpk_kv_str(&o.pk, "name", "old");
    assert_int_equal(raw_decode(&o, &m, &err), 0);
    assert_false(m.u.heartbeat.draining);
    mlq_proto_msg_free(&m);

    raw_begin(&o, 5, "heartbeat"); /* nil counts as absent */
    mlq_mpk_kv_str(&o.pk, "name", "old");
    mlq_mpk_kv_str(&o.pk, "draining", NULL);
    assert_int_equal(raw_decode(&o, &m, &err), 0);
    assert_false(m.u.heartbeat.draining);
    mlq_proto_msg_free(&m);

    raw_begin(&o, 4, "submit"); /* a version-1 spec: the 8 original keys */
    mlq_mpk_put_str(&o.pk, "spec");
    msgpack_pack_map(&o.pk, 8);
    mlq_mpk_kv_str(&o.pk, "name", NULL);
    mlq_mpk_kv_str(&o.pk, "owner", "alice");
    mlq_mpk_kv_strv(&o.pk, "argv", spec_argv, 1);
    mlq_mpk_kv_strv(&o.pk, "env", NULL, 0);
    mlq_mpk_kv_str(&o.pk, "workdir", "/");
    mlq_mpk_kv_int(&o.pk, "cpus_m", 1000);
    mlq_mpk_kv_int(&o.pk, "mem", 1 << 20);
    mlq_mpk_kv_int(&o.pk, "gpus", 0);
    assert_int_equal(raw_decode(&o, &m, &err), 0);
    const struct mlq_jobspec *sp = &m.u.submit.spec;
    assert_int_equal(sp->retries + sp->warn_signal, 0);
    assert_int_equal(sp->retry_backoff_ms + sp->time_limit_ms + sp->kill_grace_ms, 0);
    assert_int_equal(sp->warn_before_ms, 0);
    assert_int_equal(sp->priority, 0);
    assert_null(sp->pool);
    assert_null(sp->require);
    assert_int_equal(sp->nrequire, 0);
    assert_null(sp->gpu_type);
    mlq_proto_msg_free(&m);

    raw_begin(&o, 8, "register"); /* an older worker: no pool, labels, GPU list */
    mlq_mpk_kv_str(&o.pk, "name", "old");
    mlq_mpk_kv_int(&o.pk, "cpus_m", 1000);
    mlq_mpk_kv_int(&o.pk, "mem", 1 << 20);
    mlq_mpk_kv_int(&o.pk, "gpus", 2);
    mlq_mpk_kv_array(&o.pk, "attempts", 0);
    assert_int_equal(raw_decode(&o, &m, &err), 0);
    assert_int_equal(m.u.reg.gpus, 2);
    assert_null(m.u.reg.pool);
    assert_null(m.u.reg.labels);
    assert_null(m.u.reg.gpu_list);
    assert_null(m.u.reg.addr); /* no address advertised */
    assert_int_equal(m.u.reg.nlabels + m.u.reg.ngpu_list, 0);
    mlq_proto_msg_free(&m);
}

static void test_optional_lists_absent(void **state)
{
    (void)state;
    struct mlq_mpk_out o;
    struct mlq_msg m;
    struct mlq_err err = {0};
    raw_begin(&o, 4, "worker_list");
    mlq_mpk_kv_array(&o.pk, "workers", 1);
    msgpack_pack_map(&o.pk, 10);
    mlq_mpk_kv_str(&o.pk, "name", "w");
    mlq_mpk_kv_str(&o.pk, "state", "UP");
    const char *nums[] = {"cpus_m", "cpus_used_m", "mem",     "mem_used",
                          "gpus",   "gpus_used",   "running", "last_seen_ms"};
    for (size_t i = 0; i < N(nums); i++)
        mlq_mpk_kv_int(&o.pk, nums[i], 1);
    assert_int_equal(raw_decode(&o, &m, &err), 0);
    assert_int_equal(m.u.worker_list.nworkers, 1);
    assert_false(m.u.worker_list.workers[0].draining);
    assert_null(m.u.worker_list.workers[0].pool);
    assert_null(m.u.worker_list.workers[0].labels);
    assert_null(m.u.worker_list.workers[0].drain_reason);
    assert_null(m.u.worker_list.workers[0].gpu_list);
    assert_int_equal(m.u.worker_list.workers[0].nlabels + m.u.worker_list.workers[0].ngpu_list, 0);
    mlq_proto_msg_free(&m);

    /* a version-1 jobinfo: the 19 original keys only */
    raw_begin(&o, 4, "job_list");
    mlq_mpk_kv_array(&o.pk, "jobs", 1);
    msgpack_pack_map(&o.pk, 19);
    mlq_mpk_kv_str(&o.pk, "id", ID1);
    const char *strs[] = {"name", "owner", "reason", "workdir", "attempt_id", "worker", "gpu_ids"};
    for (size_t i = 0; i < N(strs); i++)
        mlq_mpk_kv_str(&o.pk, strs[i], NULL);
    mlq_mpk_kv_str(&o.pk, "state", "PENDING");
    mlq_mpk_kv_strv(&o.pk, "argv", NULL, 0);
    const char *jnums[] = {"cpus_m", "mem",     "gpus",      "submit_ms", "start_ms",
                           "end_ms", "attempt", "exit_code", "signal"};
    for (size_t i = 0; i < N(jnums); i++)
        mlq_mpk_kv_int(&o.pk, jnums[i], 7);
    assert_int_equal(raw_decode(&o, &m, &err), 0);
    const struct mlq_jobinfo *j = &m.u.job_list.jobs[0];
    assert_int_equal(j->exit_code, 7);
    assert_int_equal(j->retries + j->node_failures, 0);
    assert_int_equal(j->not_before_ms + j->time_limit_ms, 0);
    assert_null(j->attempts);
    assert_int_equal(j->nattempts, 0);
    assert_null(j->pool); /* absent: the default pool */
    mlq_proto_msg_free(&m);

    char *buf; /* the encoder leaves "attempts" out when there are none */
    size_t len;
    fill_sample(MLQ_MSG_JOB_LIST, &m);
    m.u.job_list.jobs = &sample_jobs[1];
    m.u.job_list.njobs = 1;
    encode_ok(&m, &buf, &len);
    assert_null(memmem(buf, len, "attempts", 8));
    free(buf);
    fill_sample(MLQ_MSG_JOB_LIST, &m);
    encode_ok(&m, &buf, &len);
    assert_non_null(memmem(buf, len, "attempts", 8));
    free(buf);
}

/* ---- rejections --------------------------------------------------------- */

static void test_reject_version(void **state)
{
    (void)state;
    struct mlq_mpk_out o;
    mlq_mpk_out_init(&o, MLQ_MAX_MSG);
    msgpack_pack_map(&o.pk, 3);
    mlq_mpk_kv_uint(&o.pk, "v", 2);
    mlq_mpk_kv_str(&o.pk, "t", "ok");
    mlq_mpk_kv_uint(&o.pk, "rid", 1);
    raw_reject(&o, "unsupported protocol version 2");

    mlq_mpk_out_init(&o, MLQ_MAX_MSG);
    msgpack_pack_map(&o.pk, 2);
    mlq_mpk_kv_str(&o.pk, "t", "ok");
    mlq_mpk_kv_uint(&o.pk, "rid", 1);
    raw_reject(&o, "'v'");

    mlq_mpk_out_init(&o, MLQ_MAX_MSG);
    msgpack_pack_map(&o.pk, 3);
    mlq_mpk_kv_int(&o.pk, "v", -1);
    mlq_mpk_kv_str(&o.pk, "t", "ok");
    mlq_mpk_kv_uint(&o.pk, "rid", 1);
    raw_reject(&o, "unsupported protocol version -1");
}

static void test_reject_type(void **state)
{
    (void)state;
    struct mlq_mpk_out o;
    mlq_mpk_out_init(&o, MLQ_MAX_MSG);
    msgpack_pack_map(&o.pk, 2);
    mlq_mpk_kv_uint(&o.pk, "v", 1);
    mlq_mpk_kv_uint(&o.pk, "rid", 1);
    raw_reject(&o, "missing key 't'");

    raw_begin(&o, 3, "launch_missiles");
    raw_reject(&o, "unknown message type");

    raw_begin(&o, 3, "o"); /* a prefix is not a match */
    raw_reject(&o, "unknown message type");
    raw_begin(&o, 3, "okay");
    raw_reject(&o, "unknown message type");

    mlq_mpk_out_init(&o, MLQ_MAX_MSG);
    msgpack_pack_map(&o.pk, 3);
    mlq_mpk_kv_uint(&o.pk, "v", 1);
    mlq_mpk_kv_int(&o.pk, "t", 1);
    mlq_mpk_kv_uint(&o.pk, "rid", 1);
    raw_reject(&o, "key 't' must be a string");

    mlq_mpk_out_init(&o, MLQ_MAX_MSG); /* rid is required */
    msgpack_pack_map(&o.pk, 2);
    mlq_mpk_kv_uint(&o.pk, "v", 1);
    mlq_mpk_kv_str(&o.pk, "t", "ok");
    raw_reject(&o, "missing key 'rid'");

    mlq_mpk_out_init(&o, MLQ_MAX_MSG); /* the body must be a map */
    msgpack_pack_array(&o.pk, 0);
    raw_reject(&o, "not a map");
}

static void test_reject_field_types(void **state)
{
    (void)state;
    struct mlq_mpk_out o;
    raw_begin(&o, 4, "heartbeat");
    mlq_mpk_kv_int(&o.pk, "name", 5);
    raw_reject(&o, "heartbeat: key 'name' must be a string");

    raw_begin(&o, 3, "heartbeat");
    raw_reject(&o, "heartbeat: missing key 'name'");

    raw_begin(&o, 4, "heartbeat");
    mlq_mpk_kv_str(&o.pk, "name", NULL); /* nil where a string is required */
    raw_reject(&o, "'name'");

    raw_begin(&o, 5, "registered");
    mlq_mpk_kv_str(&o.pk, "heartbeat_ms", "1000");
    mlq_mpk_kv_int(&o.pk, "lease_ms", 1);
    raw_reject(&o, "'heartbeat_ms' must be an integer");

    raw_begin(&o, 5, "registered");
    mlq_mpk_put_str(&o.pk, "heartbeat_ms");
    msgpack_pack_double(&o.pk, 1.5);
    mlq_mpk_kv_int(&o.pk, "lease_ms", 1);
    raw_reject(&o, "'heartbeat_ms' must be an integer");

    raw_begin(&o, 6, "report_ack");
    mlq_mpk_kv_str(&o.pk, "attempt_id", ID1);
    mlq_mpk_kv_str(&o.pk, "phase", "started");
    mlq_mpk_kv_int(&o.pk, "accepted", 1);
    raw_reject(&o, "'accepted' must be a boolean");

    raw_begin(&o, 6, "report_ack");
    mlq_mpk_kv_str(&o.pk, "attempt_id", ID1);
    mlq_mpk_kv_str(&o.pk, "phase", "STARTED"); /* enums are exact */
    mlq_mpk_kv_bool(&o.pk, "accepted", true);
    raw_reject(&o, "'phase' has an unknown value");

    raw_begin(&o, 5, "log_chunk"); /* data must be bin, not str */
    mlq_mpk_kv_uint(&o.pk, "token", 1);
    mlq_mpk_kv_str(&o.pk, "data", "text");
    raw_reject(&o, "'data' must be binary");
}

static void test_reject_ints(void **state)
{
    (void)state;
    struct mlq_mpk_out o;
    mlq_mpk_out_init(&o, MLQ_MAX_MSG);
    msgpack_pack_map(&o.pk, 3);
    mlq_mpk_kv_uint(&o.pk, "v", 1);
    mlq_mpk_kv_str(&o.pk, "t", "ok");
    mlq_mpk_kv_int(&o.pk, "rid", -1);
    raw_reject(&o, "'rid' must be a non-negative integer");

    raw_begin(&o, 9, "log_read");
    mlq_mpk_kv_uint(&o.pk, "token", 1);
    mlq_mpk_kv_str(&o.pk, "attempt_id", ID1);
    mlq_mpk_kv_str(&o.pk, "stream", "stdout");
    mlq_mpk_kv_int(&o.pk, "offset", -5);
    mlq_mpk_kv_uint(&o.pk, "max", 10);
    mlq_mpk_kv_uint(&o.pk, "extra", 10); /* unknown keys are ignored */
    raw_reject(&o, "'offset' out of range");

    raw_begin(&o, 8, "log_read");
    mlq_mpk_kv_uint(&o.pk, "token", 1);
    mlq_mpk_kv_str(&o.pk, "attempt_id", ID1);
    mlq_mpk_kv_str(&o.pk, "stream", "stdout");
    mlq_mpk_kv_int(&o.pk, "offset", 0);
    mlq_mpk_kv_uint(&o.pk, "max", MLQ_MAX_LOG_CHUNK + 1);
    raw_reject(&o, "'max' is above");

    raw_begin(&o, 5, "error");
    mlq_mpk_kv_int(&o.pk, "code", (int64_t)INT32_MAX + 1);
    mlq_mpk_kv_str(&o.pk, "msg", "x");
    raw_reject(&o, "'code' out of range");

    raw_begin(&o, 5, "error");
    mlq_mpk_kv_uint(&o.pk, "code", UINT64_MAX);
    mlq_mpk_kv_str(&o.pk, "msg", "x");
    raw_reject(&o, "'code' is out of range");
}

static void test_unknown_keys_ignored(void **state)
{
    (void)state;
    struct mlq_mpk_out o;
    struct mlq_msg m;
    struct mlq_err err = {0};
    raw_begin(&o, 6, "registered");
    mlq_mpk_kv_map(&o.pk, "future", 1); /* any shape, even nested */
    mlq_mpk_kv_array(&o.pk, "x", 2);
    msgpack_pack_nil(&o.pk);
    msgpack_pack_double(&o.pk, 2.5);
    mlq_mpk_kv_int(&o.pk, "lease_ms", 30000);
    mlq_mpk_kv_int(&o.pk, "heartbeat_ms", 1000);
    assert_int_equal(raw_decode(&o, &m, &err), 0);
    assert_int_equal(m.type, MLQ_MSG_REGISTERED);
    assert_int_equal(m.u.registered.heartbeat_ms, 1000);
    assert_int_equal(m.u.registered.lease_ms, 30000);
    mlq_proto_msg_free(&m);
}

/* A goodbye names its worker; the name may not be empty. */
static void test_goodbye(void **state)
{
    (void)state;
    struct mlq_msg m;
    fill_sample(MLQ_MSG_GOODBYE, &m);
    m.u.goodbye.drained = false;
    roundtrip(&m);
    assert_string_equal(mlq_proto_type_name(MLQ_MSG_GOODBYE), "goodbye");
    m.u.goodbye.name = "";
    expect_msg_reject(&m, "'name' must not be empty");
}

static void test_reject_strings(void **state)
{
    (void)state;
    struct mlq_msg m;
    char name[MLQ_MAX_NAME + 2];
    memset(name, 'n', sizeof name - 1);
    name[sizeof name - 1] = '\0';
    fill_sample(MLQ_MSG_HEARTBEAT, &m);
    m.u.heartbeat.name = name;
    expect_msg_reject(&m, "'name' is longer than 128 bytes");
    name[MLQ_MAX_NAME] = '\0'; /* exactly the bound is fine */
    roundtrip(&m);

    static char big[MLQ_MAX_STR + 2];
    memset(big, 'x', sizeof big - 1);
    fill_sample(MLQ_MSG_ERROR, &m);
    m.u.error.msg = big;
    expect_msg_reject(&m, "'msg' is longer than 4096 bytes");

    struct mlq_mpk_out o; /* a NUL inside a string would cut it short */
    raw_begin(&o, 4, "heartbeat");
    mlq_mpk_put_str(&o.pk, "name");
    msgpack_pack_str(&o.pk, 5);
    msgpack_pack_str_body(&o.pk, "ab\0cd", 5);
    raw_reject(&o, "contains a NUL byte");

    fill_sample(MLQ_MSG_SUBMITTED, &m);
    strcpy(m.u.submitted.id, "0B8E7C1E-4A4F-4C5E-9D3A-2F1B6C7D8E9F");
    expect_msg_reject(&m, "'id' is not a full lower-case id");
    strcpy(m.u.submitted.id, "0b8e7c1e");
    expect_msg_reject(&m, "'id' is not a full lower-case id");
    strcpy(m.u.submitted.id, "0b8e7c1e-4a4f-4c5e-9d3a-2f1b6c7d8e9g");
    expect_msg_reject(&m, "'id'");
    strcpy(m.u.submitted.id, "0b8e7c1e04a4f-4c5e-9d3a-2f1b6c7d8e9f");
    expect_msg_reject(&m, "'id'");

    fill_sample(MLQ_MSG_JOB_LIST, &m); /* a job's pool is checked like a worker's */
    m.u.job_list.jobs[0].pool = "a b";
    expect_msg_reject(&m, "key 'pool'");
    m.u.job_list.jobs[0].pool = "gpu-a100";

    fill_sample(MLQ_MSG_LOGS, &m);
    m.u.logs.job = "";
    expect_msg_reject(&m, "'job' must not be empty");
    m.u.logs.job = "0b8e7c1e-4a4f-4c5e-9d3a-2f1b6c7d8e9f/1234567"; /* ARRAY/N fits */
    roundtrip(&m);
    m.u.logs.job = "0b8e7c1e-4a4f-4c5e-9d3a-2f1b6c7d8e9f/12345678";
    expect_msg_reject(&m, "'job' is longer");
}

static void test_reject_spec(void **state)
{
    (void)state;
    struct mlq_msg m;
    fill_sample(MLQ_MSG_SUBMIT, &m);
    m.u.submit.spec.argc = 0;
    expect_msg_reject(&m, "'argv' must have 1..1024 entries");

    char *empty_cmd[] = {""};
    fill_sample(MLQ_MSG_SUBMIT, &m);
    m.u.submit.spec.argv = empty_cmd;
    m.u.submit.spec.argc = 1;
    expect_msg_reject(&m, "argv[0]");

    fill_sample(MLQ_MSG_ASSIGN, &m);
    m.u.assign.spec.cpus_m = 0;
    expect_msg_reject(&m, "'cpus_m' out of range");

    fill_sample(MLQ_MSG_ASSIGN, &m);
    m.u.assign.spec.workdir = "relative";
    expect_msg_reject(&m, "workdir must be an absolute path");

    char *bad_env[] = {"=x"};
    fill_sample(MLQ_MSG_SUBMIT, &m);
    m.u.submit.spec.env = bad_env;
    m.u.submit.spec.envc = 1;
    expect_msg_reject(&m, "env[0] is not KEY=VALUE");

    int32_t bad_gpu[] = {MLQ_MAX_GPUS};
    fill_sample(MLQ_MSG_ASSIGN, &m);
    m.u.assign.gpu_ids = bad_gpu;
    m.u.assign.ngpu_ids = 1;
    expect_msg_reject(&m, "'gpu_ids' entries must be integers below 64");
}

static void test_reject_retry_fields(void **state)
{
    (void)state;
    struct mlq_msg m;
    fill_sample(MLQ_MSG_SUBMIT, &m);
    m.u.submit.spec.retries = MLQ_MAX_RETRIES + 1;
    expect_msg_reject(&m, "'retries' out of range");
    fill_sample(MLQ_MSG_ASSIGN, &m);
    m.u.assign.spec.time_limit_ms = MLQ_MAX_TIME_MS + 1;
    expect_msg_reject(&m, "'time_limit_ms' out of range");
    fill_sample(MLQ_MSG_SUBMIT, &m);
    m.u.submit.spec.kill_grace_ms = -1;
    expect_msg_reject(&m, "'kill_grace_ms' out of range");
    fill_sample(MLQ_MSG_SUBMIT, &m);
    m.u.submit.spec.warn_signal = 65;
    expect_msg_reject(&m, "'warn_signal' out of range");
    fill_sample(MLQ_MSG_SUBMIT, &m);
    m.u.submit.spec.warn_before_ms = m.u.submit.spec.time_limit_ms;
    expect_msg_reject(&m, "before the time limit");

    struct mlq_mpk_out o;
    raw_begin(&o, 5, "heartbeat");
    mlq_mpk_kv_str(&o.pk, "name", "w");
    mlq_mpk_kv_int(&o.pk, "draining", 1);
    raw_reject(&o, "'draining' must be a boolean");

    static struct mlq_attemptinfo many[MLQ_MAX_ATTEMPT_INFO + 1];
    for (size_t i = 0; i < N(many); i++) {
        many[i] = sample_attempts[2];
        many[i].num = (int32_t)i + 1;
    }
    fill_sample(MLQ_MSG_JOB_LIST, &m);
    sample_jobs[0].attempts = many;
    sample_jobs[0].nattempts = MLQ_MAX_ATTEMPT_INFO + 1;
    expect_msg_reject(&m, "'attempts' must have 0..256 entries");
    sample_jobs[0].nattempts = MLQ_MAX_ATTEMPT_INFO;
    roundtrip(&m);
    sample_jobs[0].nattempts = 1;
    many[0].state = MLQ_ATT_STATE_COUNT; /* encodes as "?" */
    expect_msg_reject(&m, "'state' has an unknown value");
}

static void test_reject_upload(void **state)
{
    (void)state;
    struct mlq_msg m;
    uint8_t *data = calloc(1, MLQ_MAX_LOG_CHUNK + 1);
    assert_non_null(data);
    fill_sample(MLQ_MSG_LOG_UPLOAD, &m);
    m.u.log_upload.data = data;
    m.u.log_upload.len = MLQ_MAX_LOG_CHUNK + 1;
    expect_msg_reject(&m, "'data' is longer than 1048576 bytes");
    m.u.log_upload.len = MLQ_MAX_LOG_CHUNK;
    roundtrip(&m);
    m.u.log_upload.len = 0; /* an empty stream is one empty chunk with eof */
    m.u.log_upload.data = NULL;
    roundtrip(&m);
    free(data);
    fill_sample(MLQ_MSG_LOG_UPLOAD, &m);
    m.u.log_upload.offset = -1;
    expect_msg_reject(&m, "'offset' out of range");
    fill_sample(MLQ_MSG_LOG_UPLOAD, &m);
    m.u.log_upload.skipped = -1;
    expect_msg_reject(&m, "'skipped' out of range");
    fill_sample(MLQ_MSG_LOG_UPLOAD, &m);
    m.u.log_upload.stream = (enum mlq_stream)2;
    expect_msg_reject(&m, "'stream' has an unknown value");
    fill_sample(MLQ_MSG_LOG_UPLOAD_ACK, &m);
    m.u.log_upload_ack.err = 1; /* errors are negative */
    expect_msg_reject(&m, "'err' out of range");
    fill_sample(MLQ_MSG_LOG_UPLOAD_ACK, &m);
    m.u.log_upload_ack.err = 0;
    roundtrip(&m);

    struct mlq_mpk_out o; /* eof is required in this new message */
    raw_begin(&o, 8, "log_upload");
    mlq_mpk_kv_str(&o.pk, "attempt_id", ID1);
    mlq_mpk_kv_str(&o.pk, "stream", "stdout");
    mlq_mpk_kv_int(&o.pk, "offset", 0);
    mlq_mpk_kv_bin(&o.pk, "data", NULL, 0);
    mlq_mpk_kv_int(&o.pk, "skipped", 0);
    raw_reject(&o, "log_upload: missing key 'eof'");
}

static void test_reject_placement_spec(void)
{
    struct mlq_msg m;
    fill_sample(MLQ_MSG_SUBMIT, &m);
    m.u.submit.spec.priority = MLQ_MAX_PRIORITY + 1;
    expect_msg_reject(&m, "'priority' out of range");
    m.u.submit.spec.priority = -MLQ_MAX_PRIORITY - 1;
    expect_msg_reject(&m, "'priority' out of range");
    fill_sample(MLQ_MSG_ASSIGN, &m);
    m.u.assign.spec.pool = "a b";
    expect_msg_reject(&m, "spec: pool may hold only printable");
    m.u.assign.spec.pool = "a/b";
    expect_msg_reject(&m, "spec: pool may hold only printable");
    m.u.assign.spec.pool = "";
    expect_msg_reject(&m, "spec: pool is empty");
    fill_sample(MLQ_MSG_SUBMIT, &m);
    m.u.submit.spec.gpu_type = "H100";
    expect_msg_reject(&m, "spec: gpu_type may hold only a-z 0-9 _ -");
    m.u.submit.spec.gpu_type = "abcdefghijabcdefghijabcdefghijabc"; /* 33 */
    expect_msg_reject(&m, "'gpu_type' is longer than 32 bytes");
    m.u.submit.spec.gpu_type = "a100";
    m.u.submit.spec.gpus = 0;
    expect_msg_reject(&m, "a GPU type needs at least one GPU");

    static const struct {
        const char *label, *want;
    } bad[] = {
        {"noequals", "require[1] must be KEY=VALUE"},
        {"=v", "require[1] must be KEY=VALUE"},
        {"k=v w", "require[1] has a VALUE with spaces"},
        {"k=v\tw", "require[1] has a VALUE with spaces"},
        {"k!=v", "require[1] has a KEY with characters"},
        {"k y=v", "require[1] has a KEY with characters"},
    };
    char *req[2] = {"ok=1", NULL};
    for (size_t i = 0; i < N(bad); i++) {
        fill_sample(MLQ_MSG_SUBMIT, &m);
        req[1] = (char *)bad[i].label;
        m.u.submit.spec.require = req;
        m.u.submit.spec.nrequire = 2;
        expect_msg_reject(&m, bad[i].want);
    }
    char long_label[MLQ_MAX_LABEL_LEN + 2];
    memset(long_label, 'k', sizeof long_label - 1);
    long_label[1] = '=';
    long_label[sizeof long_label - 1] = '\0';
    req[1] = long_label;
    expect_msg_reject(&m, "'require' is longer than 128 bytes");
    long_label[MLQ_MAX_LABEL_LEN] = '\0'; /* exactly the bound */
    roundtrip(&m);

    char *many[MLQ_MAX_LABELS + 1];
    for (size_t i = 0; i < N(many); i++)
        many[i] = "k=v";
    m.u.submit.spec.require = many;
    m.u.submit.spec.nrequire = MLQ_MAX_LABELS + 1;
    expect_msg_reject(&m, "'require' must have 0..32 entries");
    m.u.submit.spec.nrequire = MLQ_MAX_LABELS;
    roundtrip(&m);
}

/* GPU lists in register and worker_list. */
static void test_reject_gpu_lists(void)
{
    struct mlq_msg m;
    fill_sample(MLQ_MSG_REGISTER, &m);
    m.u.reg.ngpu_list = 2; /* must describe all 8 GPUs, or none */
    expect_msg_reject(&m, "'gpu_list' has 2 entries for 8 GPUs");
    fill_sample(MLQ_MSG_REGISTER, &m);
    sample_gpu_list[5].index = 63; /* already used by entry 2 */
    expect_msg_reject(&m, "names GPU 63 twice");
    fill_sample(MLQ_MSG_REGISTER, &m);
    sample_gpu_list[3].index = MLQ_MAX_GPUS;
    expect_msg_reject(&m, "gpuinfo: key 'index' out of range");
    fill_sample(MLQ_MSG_REGISTER, &m);
    sample_gpu_list[3].index = -1;
    expect_msg_reject(&m, "gpuinfo: key 'index' out of range");
    fill_sample(MLQ_MSG_REGISTER, &m);
    sample_gpu_list[4].type = NULL; /* a GPU nobody described: allowed */
    roundtrip(&m);
    sample_gpu_list[4].type = "";
    expect_msg_reject(&m, "gpuinfo: key 'type': GPU type is empty");
    fill_sample(MLQ_MSG_REGISTER, &m);
    sample_gpu_list[4].type = "Tesla V100";
    expect_msg_reject(&m, "GPU type may hold only a-z 0-9 _ -");
    fill_sample(MLQ_MSG_REGISTER, &m);
    sample_gpu_list[4].mem = -1;
    expect_msg_reject(&m, "gpuinfo: key 'mem' out of range");
    fill_sample(MLQ_MSG_WORKER_LIST, &m);
    sample_gpu_list[1].job_id = "0b8e7c1e";
    expect_msg_reject(&m, "'job_id' is not a full lower-case id");

    static struct mlq_gpuinfo many[MLQ_MAX_GPUS + 1];
    for (size_t i = 0; i < N(many); i++)
        many[i] = (struct mlq_gpuinfo){.index = (int32_t)(i % MLQ_MAX_GPUS), .type = "fake"};
    fill_sample(MLQ_MSG_WORKER_LIST, &m);
    sample_workers[0].gpu_list = many;
    sample_workers[0].ngpu_list = MLQ_MAX_GPUS + 1;
    expect_msg_reject(&m, "'gpu_list' must have 0..64 entries");
    sample_workers[0].ngpu_list = MLQ_MAX_GPUS; /* 0..63, each once */
    roundtrip(&m);
}

/* The address a worker advertises: an IP or a host name, bounded. */
static void test_reject_worker_addr(void)
{
    struct mlq_msg m;
    char host[MLQ_MAX_HOST + 2];
    fill_sample(MLQ_MSG_REGISTER, &m);
    m.u.reg.addr = "gpu 1";
    expect_msg_reject(&m, "register: key 'addr': 'gpu 1' is neither an IP address nor a host name");
    m.u.reg.addr = "10.0.0.300";
    expect_msg_reject(&m, "register: key 'addr': '10.0.0.300' is not a valid IPv4 address");
    m.u.reg.addr = "";
    expect_msg_reject(&m, "register: key 'addr': empty address");
    memset(host, 'a', sizeof host - 1);
    host[sizeof host - 1] = '\0';
    for (size_t i = 60; i < sizeof host - 1; i += 61)
        host[i] = '.'; /* labels of 60 */
    m.u.reg.addr = host;
    expect_msg_reject(&m, "'addr' is longer than 253 bytes");
    host[MLQ_MAX_HOST] = '\0';
    roundtrip(&m);
    fill_sample(MLQ_MSG_WORKER_LIST, &m);
    host[MLQ_MAX_HOST] = 'a';
    sample_workers[1].addr = host;
    expect_msg_reject(&m, "'addr' is longer than 253 bytes");
    sample_workers[1].addr = NULL;
}

static void test_reject_worker_desc(void)
{
    struct mlq_msg m;
    char *bad_labels[] = {"zone=eu", "no equals"};
    fill_sample(MLQ_MSG_REGISTER, &m);
    m.u.reg.labels = bad_labels;
    m.u.reg.nlabels = 2;
    expect_msg_reject(&m, "register: key 'labels': entry 1 must be KEY=VALUE");
    fill_sample(MLQ_MSG_REGISTER, &m);
    m.u.reg.pool = "my pool";
    expect_msg_reject(&m, "register: key 'pool': pool name may hold only");
    fill_sample(MLQ_MSG_WORKER_LIST, &m);
    sample_workers[1].labels = bad_labels;
    sample_workers[1].nlabels = 2;
    expect_msg_reject(&m, "workerinfo: key 'labels': entry 1");
    char reason[MLQ_MAX_REASON + 2];
    memset(reason, 'r', sizeof reason - 1);
    reason[sizeof reason - 1] = '\0';
    fill_sample(MLQ_MSG_WORKER_LIST, &m);
    sample_workers[0].drain_reason = reason;
    expect_msg_reject(&m, "'drain_reason' is longer than 255 bytes");
    fill_sample(MLQ_MSG_DRAIN, &m);
    m.u.drain.reason = reason;
    expect_msg_reject(&m, "'reason' is longer than 255 bytes");
    reason[MLQ_MAX_REASON] = '\0';
    roundtrip(&m);
    m.u.drain.reason = "line one\nline two";
    expect_msg_reject(&m, "drain: key 'reason' holds control characters");
    m.u.drain.reason = "\x1b[2J";
    expect_msg_reject(&m, "control characters");
    m.u.drain.reason = NULL;
    m.u.drain.worker = "";
    expect_msg_reject(&m, "drain: key 'worker' must not be empty");
    fill_sample(MLQ_MSG_RESUME, &m);
    m.u.drain.worker = NULL;
    expect_msg_reject(&m, "resume: key 'worker'");
    test_reject_worker_addr();
}

/* The heartbeat's GPU load: bounded like everything a worker says; absent
 * (an older worker, or no NVML) is no load at all. */
static void test_gpu_load(void **state)
{
    (void)state;
    struct mlq_gpuload v[3];
    struct mlq_msg m;
    const struct {
        int k;
        struct mlq_gpuload g;
        const char *why;
    } bad[] = {
        {0, {.index = 1, .util = 101}, "key 'util' out of range"},
        {0, {.index = 1, .util = -1}, "key 'util' out of range"},
        {1, {.index = MLQ_MAX_GPUS}, "key 'index' out of range"},
        {1, {.index = 5}, "names GPU 5 twice"},
        {2, {.index = 2, .mem_used = -1}, "key 'mem_used' out of range"},
        {2, {.index = 2, .mem_total = MLQ_MAX_MEM + 1}, "key 'mem_total' out of range"},
    };
    for (size_t i = 0; i < N(bad); i++) {
        fill_sample(MLQ_MSG_HEARTBEAT, &m);
        memcpy(v, sample_gpu_load, sizeof v);
        v[bad[i].k] = bad[i].g;
        m.u.heartbeat.gpu_load = v;
        expect_msg_reject(&m, bad[i].why);
    }
    static struct mlq_gpuload many[MLQ_MAX_GPUS + 1];
    fill_sample(MLQ_MSG_HEARTBEAT, &m);
    m.u.heartbeat.gpu_load = many;
    m.u.heartbeat.ngpu_load = N(many);
    expect_msg_reject(&m, "'gpu_load' must have 0..64 entries");
    /* none at all: decodes as no load */
    fill_sample(MLQ_MSG_HEARTBEAT, &m);
    m.u.heartbeat.gpu_load = NULL;
    m.u.heartbeat.ngpu_load = 0;
    roundtrip(&m);
}

static void test_reject_why(void)
{
    struct mlq_msg m;
    fill_sample(MLQ_MSG_WHY, &m);
    m.u.why.job = "";
    expect_msg_reject(&m, "why: key 'job' must not be empty");
    m.u.why.job = "0b8e7c1e-4a4f-4c5e-9d3a-2f1b6c7d8e9f/12345678";
    expect_msg_reject(&m, "'job' is longer than 44 bytes");
    fill_sample(MLQ_MSG_WHY_REPLY, &m);
    m.u.why_reply.blocker = NULL;
    expect_msg_reject(&m, "why_reply: key 'blocker'");
    fill_sample(MLQ_MSG_WHY_REPLY, &m);
    m.u.why_reply.text = NULL;
    expect_msg_reject(&m, "why_reply: key 'text'");
    fill_sample(MLQ_MSG_WHY_REPLY, &m);
    m.u.why_reply.state = MLQ_JOB_STATE_COUNT;
    expect_msg_reject(&m, "'state' has an unknown value");
    fill_sample(MLQ_MSG_WHY_REPLY, &m);
    strcpy(m.u.why_reply.job_id, "0b8e7c1e");
    expect_msg_reject(&m, "'job_id' is not a full lower-case id");

    struct mlq_mpk_out o; /* ahead is a uint32 */
    raw_begin(&o, 10, "why_reply");
    mlq_mpk_kv_str(&o.pk, "job_id", ID1);
    mlq_mpk_kv_str(&o.pk, "state", "PENDING");
    mlq_mpk_kv_str(&o.pk, "blocker", "priority");
    mlq_mpk_kv_str(&o.pk, "text", "t");
    mlq_mpk_kv_str(&o.pk, "closest_worker", NULL);
    mlq_mpk_kv_str(&o.pk, "lacks", NULL);
    mlq_mpk_kv_uint(&o.pk, "ahead", (uint64_t)UINT32_MAX + 1);
    raw_reject(&o, "'ahead' is above 4294967295");
}

static void test_reject_placement(void **state)
{
    (void)state;
    test_reject_placement_spec();
    test_reject_gpu_lists();
    test_reject_worker_desc();
    test_reject_why();
}

static char **make_ids(uint32_t n)
{
    char **ids = calloc(n, sizeof *ids);
    assert_non_null(ids);
    for (uint32_t i = 0; i < n; i++)
        ids[i] = "abcd";
    return ids;
}

static void test_reject_counts(void **state)
{
    (void)state;
    struct mlq_msg m;
    char **ids = make_ids(MLQ_MAX_IDS + 1);
    fill_sample(MLQ_MSG_CANCEL, &m);
    m.u.cancel.ids = ids;
    m.u.cancel.nids = MLQ_MAX_IDS + 1;
    expect_msg_reject(&m, "'ids' must have 1..1024 entries");
    m.u.cancel.nids = MLQ_MAX_IDS;
    roundtrip(&m);
    m.u.cancel.nids = 0; /* cancel names at least one job */
    expect_msg_reject(&m, "'ids' must have 1..1024 entries");

    fill_sample(MLQ_MSG_JOBS, &m);
    m.u.jobs.ids = ids;
    m.u.jobs.nids = MLQ_MAX_IDS + 1;
    expect_msg_reject(&m, "'ids' must have 0..1024 entries");
    free(ids);

    fill_sample(MLQ_MSG_JOBS, &m);
    m.u.jobs.limit = MLQ_MAX_LIST + 1;
    expect_msg_reject(&m, "'limit' is above 10000");

    int32_t gpus[MLQ_MAX_GPUS + 1] = {0};
    fill_sample(MLQ_MSG_ASSIGN, &m);
    m.u.assign.gpu_ids = gpus;
    m.u.assign.ngpu_ids = MLQ_MAX_GPUS + 1;
    expect_msg_reject(&m, "'gpu_ids' must have 0..64 entries");
}

static void test_reject_big_log(void **state)
{
    (void)state;
    struct mlq_msg m;
    uint8_t *data = calloc(1, MLQ_MAX_LOG_CHUNK + 1);
    assert_non_null(data);
    fill_sample(MLQ_MSG_LOG_CHUNK, &m);
    m.u.log_chunk.data = data;
    m.u.log_chunk.len = MLQ_MAX_LOG_CHUNK + 1;
    expect_msg_reject(&m, "'data' is longer than 1048576 bytes");
    m.u.log_chunk.len = MLQ_MAX_LOG_CHUNK;
    roundtrip(&m);
    free(data);

    /* the encoder refuses to build a body the receiver would refuse */
    uint8_t *huge = calloc(1, MLQ_MAX_MSG + 1);
    char *buf = (char *)&m;
    size_t len = 99;
    struct mlq_err err = {0};
    assert_non_null(huge);
    fill_sample(MLQ_MSG_LOG_DATA, &m);
    m.u.log_data.data = huge;
    m.u.log_data.len = MLQ_MAX_MSG + 1;
    assert_int_equal(mlq_proto_encode(&m, &buf, &len, &err), MLQ_ETOOBIG);
    assert_null(buf);
    assert_int_equal(len, 0);
    free(huge);
}

/* A few bytes that declare gigabytes: refused before msgpack-c allocates. */
static void test_reject_hostile_lengths(void **state)
{
    (void)state;
    static const struct {
        uint8_t b[16];
        size_t len;
        const char *want;
    } t[] = {
        {{0xdd, 0xff, 0xff, 0xff, 0xff}, 5, "declared count exceeds"}, /* array 32 */
        {{0xdf, 0xff, 0xff, 0xff, 0xff}, 5, "declared count exceeds"}, /* map 32 */
        {{0xdc, 0xff, 0xff, 1, 2, 3}, 6, "declared count exceeds"},    /* array 16 */
        {{0xde, 0x00, 0x02, 1, 2, 3}, 6, "declared count exceeds"},    /* 2 pairs, 3 bytes */
        {{0xdb, 0xff, 0xff, 0xff, 0xff, 'a'}, 6, "declared length"},   /* str 32 */
        {{0xc6, 0x7f, 0xff, 0xff, 0xff}, 5, "declared length"},        /* bin 32 */
        {{0xc9, 0xff, 0xff, 0xff, 0xff, 1}, 6, "declared length"},     /* ext 32 */
        {{0x81, 0xa1, 'v', 0xdd, 0x10, 0, 0, 0}, 8, "declared count"}, /* nested */
        {{0x81, 0xa1, 'v', 0xd9, 0x20, 'x'}, 6, "declared length"},    /* str 8 */
        {{0xc1}, 1, "0xc1"},                                           /* never used */
        {{0x81, 0xa1, 'v', 0xcf, 0, 0}, 6, "truncated"},               /* uint 64 */
        {{0x81, 0xa1, 'v', 0xd8, 0, 0}, 6, "truncated"},               /* fixext 16 */
    };
    for (size_t i = 0; i < N(t); i++) {
        struct mlq_err err = {0};
        assert_int_equal(mlq_mpk_validate(t[i].b, t[i].len, MLQ_MAX_DEPTH, &err), MLQ_EPROTO);
        expect_reject(t[i].b, t[i].len, t[i].want);
    }
}

static void test_reject_trailing(void **state)
{
    (void)state;
    struct mlq_msg m;
    char *buf;
    size_t len;
    fill_sample(MLQ_MSG_SUBMITTED, &m);
    encode_ok(&m, &buf, &len);
    char *more = malloc(len + 1);
    assert_non_null(more);
    memcpy(more, buf, len);
    more[len] = (char)0xc0; /* a second object, nil */
    expect_reject(more, len + 1, "1 bytes of trailing garbage");
    expect_reject(NULL, 0, "empty message");
    free(more);
    free(buf);
}

/* Every strict prefix of every sample is refused, without a crash. */
static void test_reject_truncations(void **state)
{
    (void)state;
    for (int t = 0; t < MLQ_MSG_TYPE_COUNT; t++) {
        struct mlq_msg m;
        char *buf;
        size_t len;
        fill_sample((enum mlq_msg_type)t, &m);
        encode_ok(&m, &buf, &len);
        for (size_t cut = 0; cut < len; cut++) {
            /* a copy of exactly cut bytes, so ASan sees any over-read */
            char *part = malloc(cut ? cut : 1);
            assert_non_null(part);
            memcpy(part, buf, cut);
            expect_reject(part, cut, NULL);
            free(part);
        }
        free(buf);
    }
}

static void pack_nested(msgpack_packer *pk, int levels)
{
    for (int i = 0; i < levels; i++)
        msgpack_pack_array(pk, 1);
    msgpack_pack_nil(pk);
}

static void test_reject_depth(void **state)
{
    (void)state;
    struct mlq_mpk_out o;
    struct mlq_msg m;
    struct mlq_err err = {0};
    /* the body map is level 1, so 7 nested arrays inside it are allowed */
    raw_begin(&o, 4, "ok");
    mlq_mpk_put_str(&o.pk, "deep");
    pack_nested(&o.pk, MLQ_MAX_DEPTH - 1);
    assert_int_equal(raw_decode(&o, &m, &err), 0);
    mlq_proto_msg_free(&m);

    raw_begin(&o, 4, "ok");
    mlq_mpk_put_str(&o.pk, "deep");
    pack_nested(&o.pk, MLQ_MAX_DEPTH);
    raw_reject(&o, "nesting deeper than 8 levels");

    uint8_t deep[4000]; /* far past msgpack-c's own stack of 32 */
    memset(deep, 0x91, sizeof deep);
    deep[sizeof deep - 1] = 0xc0;
    expect_reject(deep, sizeof deep, "nesting deeper");
}

/* Flipping any byte of a valid body must never crash or leak; whatever
 * still decodes must encode again. */
static void test_flipped_bytes(void **state)
{
    (void)state;
    static const uint8_t subst[] = {0x00, 0xff, 0xc1, 0xdd, 0xdb, 0x7f, 0x90, 0xc0};
    for (int t = 0; t < MLQ_MSG_TYPE_COUNT; t++) {
        struct mlq_msg m;
        char *buf;
        size_t len;
        fill_sample((enum mlq_msg_type)t, &m);
        encode_ok(&m, &buf, &len);
        for (size_t i = 0; i < len; i++) {
            char saved = buf[i];
            for (size_t k = 0; k < N(subst); k++) {
                struct mlq_msg out;
                buf[i] = (char)subst[k];
                if (mlq_proto_decode(buf, len, &out, NULL) == 0) {
                    char *again;
                    size_t again_len;
                    encode_ok(&out, &again, &again_len);
                    free(again);
                    mlq_proto_msg_free(&out);
                }
            }
            buf[i] = saved;
        }
        free(buf);
    }
}

/* ---- jobspec helpers ---------------------------------------------------- */

static void expect_spec_bad(const struct mlq_jobspec *s, const char *want)
{
    struct mlq_err err = {0};
    int rc = mlq_proto_jobspec_check(s, &err);
    if (rc != MLQ_EINVAL || !strstr(err.msg, want))
        fail_msg("rc %d, message \"%s\", wanted \"%s\"", rc, err.msg, want);
}

static void test_jobspec_check_limits(void)
{
    struct mlq_jobspec s;
    fill_spec(&s);
    s.retries = MLQ_MAX_RETRIES;
    s.retry_backoff_ms = s.kill_grace_ms = MLQ_MAX_TIME_MS;
    s.warn_signal = 64;
    assert_int_equal(mlq_proto_jobspec_check(&s, NULL), 0);
    s.retries = -1;
    expect_spec_bad(&s, "retries");
    fill_spec(&s);
    s.retry_backoff_ms = MLQ_MAX_TIME_MS + 1;
    expect_spec_bad(&s, "times must be");
    fill_spec(&s);
    s.warn_before_ms = -5;
    expect_spec_bad(&s, "times must be");
    fill_spec(&s);
    s.warn_signal = -1;
    expect_spec_bad(&s, "warn_signal");
    fill_spec(&s);
    s.warn_before_ms = s.time_limit_ms + 1;
    expect_spec_bad(&s, "before the time limit");
    s.time_limit_ms = 0; /* no limit: nothing to compare with */
    assert_int_equal(mlq_proto_jobspec_check(&s, NULL), 0);
}

static void test_jobspec_check(void **state)
{
    (void)state;
    struct mlq_jobspec s;
    fill_spec(&s);
    assert_int_equal(mlq_proto_jobspec_check(&s, NULL), 0);
    s.argc = 0;
    expect_spec_bad(&s, "argv must not be empty");
    fill_spec(&s);
    s.owner = NULL;
    expect_spec_bad(&s, "owner");
    fill_spec(&s);
    s.workdir = "tmp";
    expect_spec_bad(&s, "absolute");
    fill_spec(&s);
    s.cpus_m = MLQ_MAX_CPUS_M + 1;
    expect_spec_bad(&s, "cpus");
    fill_spec(&s);
    s.mem = 0;
    expect_spec_bad(&s, "memory");
    fill_spec(&s);
    s.gpus = MLQ_MAX_GPUS + 1;
    expect_spec_bad(&s, "gpus");
    fill_spec(&s);
    s.gpus = -1;
    expect_spec_bad(&s, "gpus");
    char *env_noeq[] = {"A=1", "NOEQUALS"};
    fill_spec(&s);
    s.env = env_noeq;
    s.envc = 2;
    expect_spec_bad(&s, "env[1] is not KEY=VALUE");
    fill_spec(&s);
    s.envc = MLQ_MAX_ENVC + 1;
    expect_spec_bad(&s, "environment entries");
    char longname[MLQ_MAX_NAME + 2];
    memset(longname, 'a', sizeof longname - 1);
    longname[sizeof longname - 1] = '\0';
    fill_spec(&s);
    s.name = longname;
    expect_spec_bad(&s, "name is longer");
    char *big = malloc(MLQ_MAX_ARGV_BYTES / 2 + 1);
    assert_non_null(big);
    memset(big, 'a', MLQ_MAX_ARGV_BYTES / 2);
    big[MLQ_MAX_ARGV_BYTES / 2] = '\0';
    char *bigv[] = {"cmd", big, big};
    fill_spec(&s);
    s.argv = bigv;
    s.argc = 3;
    expect_spec_bad(&s, "arguments exceed");
    free(big);
    test_jobspec_check_limits();
}

static void test_jobspec_copy_pack(void **state)
{
    (void)state;
    struct mlq_jobspec s, c, u;
    struct mlq_err err = {0};
    char *buf;
    size_t len;
    fill_spec(&s);
    assert_int_equal(mlq_proto_jobspec_copy(&c, &s, &err), 0);
    assert_spec_eq(&s, &c);
    assert_ptr_not_equal(c.argv, s.argv);
    assert_ptr_not_equal(c.owner, s.owner);
    assert_ptr_not_equal(c.require, s.require);
    assert_ptr_not_equal(c.require[0], s.require[0]);
    assert_ptr_not_equal(c.pool, s.pool);
    assert_ptr_not_equal(c.gpu_type, s.gpu_type);
    assert_int_equal(mlq_proto_jobspec_pack(&c, &buf, &len, &err), 0);
    assert_int_equal(mlq_proto_jobspec_unpack(buf, len, &u, &err), 0);
    assert_spec_eq(&s, &u);
    mlq_proto_jobspec_free(&u);
    /* a truncated blob is refused and leaves nothing behind */
    assert_int_equal(mlq_proto_jobspec_unpack(buf, len - 1, &u, &err), MLQ_EPROTO);
    assert_null(u.argv);
    free(buf);
    mlq_proto_jobspec_free(&u);
    mlq_proto_jobspec_free(&c);
    assert_null(c.owner);
    mlq_proto_jobspec_free(NULL);

    fill_spec(&c); /* unpack applies the same checks as decode */
    c.cpus_m = 0;
    assert_int_equal(mlq_proto_jobspec_pack(&c, &buf, &len, &err), 0);
    assert_int_equal(mlq_proto_jobspec_unpack(buf, len, &u, &err), MLQ_EPROTO);
    free(buf);

    memset(&s, 0, sizeof s); /* an empty spec copies as empty */
    assert_int_equal(mlq_proto_jobspec_copy(&c, &s, &err), 0);
    assert_null(c.argv);
    mlq_proto_jobspec_free(&c);
}

static void expect_check_bad(int (*check)(const char *, struct mlq_err *), const char *v,
                             const char *want)
{
    struct mlq_err err = {0};
    int rc = check(v, &err);
    if (rc != MLQ_EINVAL || !strstr(err.msg, want))
        fail_msg("'%s': rc %d, message \"%s\", wanted \"%s\"", v ? v : "(null)", rc, err.msg, want);
}

static void test_placement_checks(void **state)
{
    (void)state;
    const char *good_labels[] = {"a=b", "zone=eu-west-1", "K_.-9=", "x==y", "url=http://h/p?q=1"};
    for (size_t i = 0; i < N(good_labels); i++)
        assert_int_equal(mlq_proto_label_check(good_labels[i], NULL), 0);
    expect_check_bad(mlq_proto_label_check, NULL, "label is missing");
    expect_check_bad(mlq_proto_label_check, "", "KEY=VALUE");
    expect_check_bad(mlq_proto_label_check, "a", "KEY=VALUE");
    expect_check_bad(mlq_proto_label_check, "\xc3\xa9=1", "KEY with characters");
    expect_check_bad(mlq_proto_label_check, "a=\xc3\xa9", "VALUE with spaces or unprintable");
    expect_check_bad(mlq_proto_label_check, "a=\x7f", "VALUE");

    const char *good_pools[] = {"default", "a100", "team:ml@eu", "x"};
    for (size_t i = 0; i < N(good_pools); i++)
        assert_int_equal(mlq_proto_pool_check(good_pools[i], NULL), 0);
    char pool[MLQ_MAX_NAME + 2];
    memset(pool, 'p', sizeof pool - 1);
    pool[sizeof pool - 1] = '\0';
    expect_check_bad(mlq_proto_pool_check, pool, "longer than 128 bytes");
    pool[MLQ_MAX_NAME] = '\0';
    assert_int_equal(mlq_proto_pool_check(pool, NULL), 0);
    expect_check_bad(mlq_proto_pool_check, NULL, "pool name is empty");
    expect_check_bad(mlq_proto_pool_check, "a\tb", "printable");

    const char *good_types[] = {"h100", "a100", "rtx4090", "fake", "l4", "mi300x", "a_b-c"};
    for (size_t i = 0; i < N(good_types); i++)
        assert_int_equal(mlq_proto_gpu_type_check(good_types[i], NULL), 0);
    expect_check_bad(mlq_proto_gpu_type_check, "", "GPU type is empty");
    expect_check_bad(mlq_proto_gpu_type_check, "A100", "a-z 0-9 _ -");
    expect_check_bad(mlq_proto_gpu_type_check, "a.100", "a-z 0-9 _ -");
    expect_check_bad(mlq_proto_gpu_type_check, "abcdefghijabcdefghijabcdefghijabc", "longer");

    struct mlq_jobspec s; /* the spec check applies them, and owns the ranges */
    fill_spec(&s);
    s.priority = MLQ_MAX_PRIORITY;
    assert_int_equal(mlq_proto_jobspec_check(&s, NULL), 0);
    s.priority = MLQ_MAX_PRIORITY + 1;
    expect_spec_bad(&s, "priority must be between -1000 and 1000");
    fill_spec(&s);
    s.nrequire = MLQ_MAX_LABELS + 1;
    expect_spec_bad(&s, "more than 32 required labels");
    fill_spec(&s);
    s.require = NULL;
    expect_spec_bad(&s, "require is missing");
    fill_spec(&s);
    s.pool = "a b";
    expect_spec_bad(&s, "spec: pool");
    fill_spec(&s);
    s.gpu_type = "H100";
    expect_spec_bad(&s, "spec: gpu_type");
}

static void test_encode_bad_type(void **state)
{
    (void)state;
    struct mlq_msg m = {.type = MLQ_MSG_TYPE_COUNT};
    char *buf;
    size_t len;
    assert_int_equal(mlq_proto_encode(&m, &buf, &len, NULL), MLQ_EINVAL);
    mlq_proto_msg_free(NULL);
    mlq_proto_msg_free(&m);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_every_type_roundtrips),
        cmocka_unit_test(test_type_names),
        cmocka_unit_test(test_enum_values_roundtrip),
        cmocka_unit_test(test_sparse_roundtrips),
        cmocka_unit_test(test_reject_version),
        cmocka_unit_test(test_reject_type),
        cmocka_unit_test(test_reject_field_types),
        cmocka_unit_test(test_reject_ints),
        cmocka_unit_test(test_unknown_keys_ignored),
        cmocka_unit_test(test_reject_strings),
        cmocka_unit_test(test_reject_spec),
        cmocka_unit_test(test_reject_counts),
        cmocka_unit_test(test_reject_big_log),
        cmocka_unit_test(test_reject_hostile_lengths),
        cmocka_unit_test(test_reject_trailing),
        cmocka_unit_test(test_reject_truncations),
        cmocka_unit_test(test_reject_depth),
        cmocka_unit_test(test_flipped_bytes),
        cmocka_unit_test(test_jobspec_check),
        cmocka_unit_test(test_jobspec_copy_pack),
        cmocka_unit_test(test_encode_bad_type),
        cmocka_unit_test(test_optional_keys_absent),
        cmocka_unit_test(test_optional_lists_absent),
        cmocka_unit_test(test_reject_retry_fields),
        cmocka_unit_test(test_reject_upload),
        cmocka_unit_test(test_reject_placement),
        cmocka_unit_test(test_placement_checks),
        cmocka_unit_test(test_goodbye),
        cmocka_unit_test(test_gpu_load),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
