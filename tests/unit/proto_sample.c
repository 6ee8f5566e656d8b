/* proto_sample: see proto_sample.h. */
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

#include "proto_sample.h"

const char ID1[] = "0b8e7c1e-4a4f-4c5e-9d3a-2f1b6c7d8e9f";
static const char ID2[] = "f0e1d2c3-b4a5-4968-8776-655443322110";

/* ---- samples ------------------------------------------------------------ */

char *spec_argv[] = {"python", "train.py", "--lr=0.1", ""};
static char *spec_env[] = {"CUDA_VISIBLE_DEVICES=", "A=b=c"};
static char *spec_require[] = {"zone=eu-west", "ib=", "rack.row_1-a=R7/x=y"};
static char *spec_inputs[] = {"data/train.csv", "/datasets/imagenet"};
static char *spec_outputs[] = {"model.pt"};
static struct mlq_dep spec_deps[] = {
    {"0b8e", MLQ_DEP_OK}, {"f0e1d2c3/17", MLQ_DEP_ANY}, {"", MLQ_DEP_FAILED}};

void fill_spec(struct mlq_jobspec *s)
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
    s->inputs = spec_inputs;
    s->ninputs = N(spec_inputs);
    s->outputs = spec_outputs;
    s->noutputs = N(spec_outputs);
    s->gpu_type = "h100";
    s->gpu_frac = 0; /* whole GPUs: no share */
    s->gpu_mem = 0;
    strcpy(spec_deps[2].target, ID2);
    s->deps = spec_deps;
    s->ndeps = N(spec_deps);
    s->array = "0-999:3,1000";
    s->max_running = 25;
    s->idempotency_key = "nightly 2024-05-01 #1";
    s->team = "ml-research";
    s->project = "llm/pretrain-7b.v2";
    s->nodes = 0; /* arrays cannot be gangs */
    s->held_by = "alice";
    s->held_ms = 1714564800123LL;
    s->stdout_file = "out/%j-%a.%A.log";
    s->stderr_file = "/tmp/err-100%%.log";
    s->image = "registry.example.com:5000/team/train:1.2@sha256:0123abcd";
    s->preempt_grace_ms = 90000;
    s->min_runtime_ms = 600000;
    s->no_preempt = true;
    s->preemptions = 2;
    s->preempt_note = "preempted by higher-priority job 0123abcd";
}

struct mlq_jobinfo sample_jobs[2];
static struct mlq_dep sample_full_deps[] = {
    {"0b8e7c1e-4a4f-4c5e-9d3a-2f1b6c7d8e9f", MLQ_DEP_FAILED},
    {"f0e1d2c3-b4a5-4968-8776-655443322110", MLQ_DEP_OK}};
static struct mlq_arrayinfo sample_arrays[2];
static struct mlq_scheduleinfo sample_scheds[2];
static int64_t sample_fires[] = {1700000060000, 1700000120000, 1700000180000, 1700000240000,
                                 1700000300000};
static struct mlq_schedrun sample_runs[2];
struct mlq_attemptinfo sample_attempts[3];
struct mlq_workerinfo sample_workers[2];
static struct mlq_held_attempt sample_held[2];
static char *sample_ids[] = {"0b8e", "f0e1d2c3-b4a5", "0b8e7c1e-4a4f-4c5e-9d3a-2f1b6c7d8e9f"};
static int32_t sample_gpus[] = {0, 3, 63};
static uint8_t sample_bytes[] = {'h', 'i', 0, 0xff, '\n'};
/* Two encoded bodies: {"v":1,"t":"hb_ack","rid":5} and the same with rid 6. */
static const char sample_hb5[] = "\x83\xa1v\x01\xa1t\xa6hb_ack\xa3rid\x05";
static const char sample_hb6[] = "\x83\xa1v\x01\xa1t\xa6hb_ack\xa3rid\x06";
static const char *sample_batch[] = {sample_hb5, sample_hb6};
static size_t sample_batch_lens[] = {sizeof sample_hb5 - 1, sizeof sample_hb6 - 1};
static char *sample_labels[] = {"zone=eu-west", "ib=hdr"};
struct mlq_gpuinfo sample_gpu_list[8];
struct mlq_gpuload sample_gpu_load[] = {
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
    sample_gpu_list[2].withheld = true;
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
                                 .detail = "self-fenced: no contact with the scheduler for 30 s",
                                 .usage = {.mem_peak = 3328599654LL,
                                           .cpu_us = 8280000000LL,
                                           .wall_ms = 2160000,
                                           .gpu_mem_peak = 10737418240LL,
                                           .gpu_util = 85,
                                           .source = "cgroup2"}};
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
    j->gpu_type = "a100|h100";
    j->gpu_frac = 25;
    j->gpu_mem = 10LL << 30;
    j->require = spec_require;
    j->nrequire = N(spec_require);
    j->priority = -7;
    j->held_by = "alice";
    j->held_ms = 1714564800999LL;
    j->team = "ml-research";
    j->project = "churn/q3";
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
                                                .addr = "gpu1.example.org",
                                                .version = "0.1.0",
                                                .git = "v0.1.0-3-g36d90e1-dirty",
                                                .set_by_admin = true,
                                                .rep_pool = "default",
                                                .rep_labels = sample_labels,
                                                .rep_nlabels = 1,
                                                .rep_cpus_m = 16000,
                                                .rep_mem = 1LL << 35,
                                                .rep_gpus = 8,
                                                .limits = "account/v2"};
    sample_workers[1] =
        (struct mlq_workerinfo){.name = "node-b", .state = "LOST", .cpus_m = 1000, .mem = 1 << 20};
    memset(sample_held, 0, sizeof sample_held);
    strcpy(sample_held[0].attempt_id, ID1);
    strcpy(sample_held[1].attempt_id, ID2);
    sample_held[1].finished = true;
    fill_gpu_list();
}

/* Worker administration: worker_set with every field, a two-pool
 * summary. */
static char *sample_set_labels[] = {"zone=eu", "rack=r7"};
static struct mlq_gpusum sample_gpusum[] = {{"a100", 3, 8}, {"h100", 0, 4}};
static struct mlq_poolsum sample_pools[] = {
    {"default", 2, 1, 1, 0, 8000, 2500, 1LL << 34, 1LL << 30, NULL, 0, 0},
    {"gpu", 3, 0, 0, 1, 64000, 0, 1LL << 40, 1LL << 39, sample_gpusum, 2, 325},
};

static void mlq_test_fill_workerset_sample(struct mlq_msg *m)
{
    if (m->type == MLQ_MSG_WORKER_SET) {
        m->u.worker_set.worker = "node-a";
        m->u.worker_set.reset = true;
        m->u.worker_set.pool = "gpu";
        m->u.worker_set.clear_labels = true;
        m->u.worker_set.labels = sample_set_labels;
        m->u.worker_set.nlabels = 2;
        m->u.worker_set.cpus_m = 2500;
        m->u.worker_set.mem = 1LL << 33;
        m->u.worker_set.gpus = 2;
        m->u.worker_set.gpu_type = "h100";
    } else if (m->type == MLQ_MSG_WORKER_SUMMARY_LIST) {
        m->u.worker_summary.pools = sample_pools;
        m->u.worker_summary.npools = 2;
    }
}

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
    sample_runs[0].array_size = 100; /* a run that submitted an array */
    sample_runs[0].array_ended = 12;
    sample_runs[0].array_running = 3;
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
    {"alice@example.org", "admin", "raj>LODIwg27-AAQ%{e]RoL0:?#QEUIHb29}&e*G", 1700000000000,
     "ml-research"},
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
static char *sample_members[] = {"alice", "bob.smith"};
static struct mlq_teaminfo sample_teams[] = {
    {"ml-research", 1700000000000, sample_members, 2, 3, 12},
    {"x", 0, NULL, 0, 0, 0},
};
static struct mlq_quotainfo sample_quotas[] = {
    {"vision", "default", 1650, 64000, 1LL << 40, 800, 0, 1LL << 30, 4, 200, 1700, 3000, 1LL << 33,
     9, 50, 0, 0, "h100:800,a100:850"},
    {"x", "", -1, -1, -1, 0, 0, 0, -1, -1, 0, 0, 0, 0, 0, 0, 0},
};
static struct mlq_acctrow sample_rows[] = {
    {"ml-research", {5, 1, 2, 3, 4}, 3600000, 7200000, 3600000, 900000, 60000, 5},
    {"", {0, 0, 0, 0, 0}, 0, 0, 0, 0, 0, 0},
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
    case MLQ_MSG_BACKUP:
        m->u.backup.path = "/var/backups/mlq/mlq-2026.db";
        break;
    case MLQ_MSG_TEAM_CMD:
        strcpy(m->u.team_cmd.op, "rm");
        strcpy(m->u.team_cmd.name, "ml-research");
        break;
    case MLQ_MSG_QUOTA_CMD:
        strcpy(m->u.quota_cmd.op, "set");
        m->u.quota_cmd.q = sample_quotas[0];
        break;
    case MLQ_MSG_QUOTA_LIST:
        m->u.quota_list.quotas = sample_quotas;
        m->u.quota_list.nquotas = N(sample_quotas);
        break;
    case MLQ_MSG_TEAM_LIST:
        m->u.team_list.teams = sample_teams;
        m->u.team_list.nteams = N(sample_teams);
        break;
    case MLQ_MSG_USER_SET:
        strcpy(m->u.user_set.name, "bob.smith");
        strcpy(m->u.user_set.team, "ml-research");
        break;
    case MLQ_MSG_ACCT:
        m->u.acct.since_ms = 1700000000000;
        m->u.acct.until_ms = 1702592000000;
        m->u.acct.by = MLQ_ACCT_BY_GPU_TYPE;
        break;
    case MLQ_MSG_ACCT_REPORT:
        m->u.acct_report.since_ms = 1700000000000;
        m->u.acct_report.until_ms = 1702592000000;
        m->u.acct_report.by = MLQ_ACCT_BY_TEAM;
        m->u.acct_report.rows = sample_rows;
        m->u.acct_report.nrows = N(sample_rows);
        break;
    case MLQ_MSG_BACKUP_DONE:
        m->u.backup_done.path = "/var/backups/mlq/mlq-2026.db";
        m->u.backup_done.size = 1LL << 40;
        m->u.backup_done.pages = 268435456;
        m->u.backup_done.page_size = 4096;
        m->u.backup_done.duration_ms = 12345;
        m->u.backup_done.schema = 8;
        m->u.backup_done.integrity = "ok";
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
static struct mlq_jobspec sample_many[2];
static char *sample_shared_env[] = {"PATH=/usr/bin", "LANG=C.UTF-8"};
static char sample_many_ids[2][MLQ_ID_LEN + 1];

/* Two specs (the second without an environment of its own) and their ids. */
static void fill_bulk_sample(struct mlq_msg *m)
{
    if (m->type == MLQ_MSG_SUBMITTED_MANY) {
        strcpy(sample_many_ids[0], ID1);
        strcpy(sample_many_ids[1], ID2);
        m->u.submitted_many.ids = sample_many_ids;
        m->u.submitted_many.nids = 2;
        return;
    }
    fill_spec(&sample_many[0]);
    fill_spec(&sample_many[1]);
    sample_many[1].env = NULL;
    sample_many[1].envc = 0;
    sample_many[1].array = NULL;
    sample_many[1].max_running = 0;
    m->u.submit_many.env = sample_shared_env;
    m->u.submit_many.envc = N(sample_shared_env);
    m->u.submit_many.specs = sample_many;
    m->u.submit_many.nspecs = 2;
    m->u.submit_many.idempotency_key = "nightly scoring 2026-12-07";
}

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
    case MLQ_MSG_JOB_SPEC:
        m->u.why.job = "0b8e7c";
        break;
    case MLQ_MSG_JOB_SPEC_REPLY:
        strcpy(m->u.job_spec_reply.id, ID2);
        fill_spec(&m->u.job_spec_reply.spec);
        m->u.job_spec_reply.is_array = true; /* the sample spec has "array" */
        break;
    case MLQ_MSG_MANIFEST:
        m->u.manifest.job = "0b8e7c";
        m->u.manifest.attempt = 2;
        break;
    case MLQ_MSG_MANIFEST_DATA:
        strcpy(m->u.manifest_data.job_id, ID2);
        strcpy(m->u.manifest_data.attempt_id, ID2);
        m->u.manifest_data.attempt = 2;
        m->u.manifest_data.json = "{\"argv\":[\"python\",\"train.py\"]}";
        break;
    case MLQ_MSG_WHY_REPLY:
        strcpy(m->u.why_reply.job_id, ID2);
        m->u.why_reply.state = MLQ_JOB_PENDING;
        m->u.why_reply.blocker = "gpu_type";
        m->u.why_reply.text = "no worker in pool default has 2 free h100 GPUs";
        m->u.why_reply.closest_worker = "node-a";
        m->u.why_reply.lacks = "GPU type h100 (has a100)";
        m->u.why_reply.ahead = UINT32_MAX;
        m->u.why_reply.fits_ever = true;
        m->u.why_reply.start_worker = "node-b";
        m->u.why_reply.start_gpus = "0,1";
        m->u.why_reply.est_kind = "latest";
        m->u.why_reply.est_at_ms = 1767225600000;
        m->u.why_reply.est_why = "if running jobs use their full time limits";
        m->u.why_reply.quota_team = "vision";
        m->u.why_reply.quota_pool = "default";
        m->u.why_reply.quota_text = "team vision uses 16/16 GPUs of its quota in pool default";
        m->u.why_reply.quota_borrows = true;
        m->u.why_reply.quota_admits = false;
        break;
    case MLQ_MSG_WORKER_SET:
    case MLQ_MSG_WORKER_SUMMARY:
    case MLQ_MSG_WORKER_SUMMARY_LIST:
        mlq_test_fill_workerset_sample(m);
        break;
    case MLQ_MSG_SUBMIT_MANY:
    case MLQ_MSG_SUBMITTED_MANY:
        fill_bulk_sample(m);
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
    case MLQ_MSG_ESTIMATE:
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
        m->u.jobs.name = "train resnet";
        m->u.jobs.owner = "alice";
        m->u.jobs.array = "0b8e";
        m->u.jobs.states = (1u << MLQ_JOB_PENDING) | (1u << MLQ_JOB_TIMED_OUT);
        m->u.jobs.since_ms = 1796079600000;
        m->u.jobs.mine = true;
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
    case MLQ_MSG_HOLD:
        m->u.hold.ids = sample_ids;
        m->u.hold.nids = N(sample_ids);
        m->u.hold.release = true;
        break;
    case MLQ_MSG_UPDATE:
        m->u.update.job = "0b8e7c";
        m->u.update.set = MLQ_CHANGE_PRIORITY | MLQ_CHANGE_MEM | MLQ_CHANGE_RETRIES;
        m->u.update.priority = -5;
        m->u.update.mem = 8LL << 30;
        m->u.update.retries = 2;
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
        m->u.logs.attempt = 3;
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
        m->u.reg.version = "0.1.0";
        m->u.reg.git = "be07618";
        m->u.reg.limits = "enforce/v1";
        m->u.reg.batch = true;
        break;
    case MLQ_MSG_HEARTBEAT:
        m->u.heartbeat.name = "node-b";
        m->u.heartbeat.draining = true;
        m->u.heartbeat.gpu_load = sample_gpu_load;
        m->u.heartbeat.ngpu_load = N(sample_gpu_load);
        break;
    case MLQ_MSG_BATCH:
        m->u.batch.bodies = sample_batch;
        m->u.batch.lens = sample_batch_lens;
        m->u.batch.n = N(sample_batch);
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
        m->u.report.detail = "out of memory (limit 64M, peak 64M)";
        m->u.report.no_retry = true;
        m->u.report.usage = (struct mlq_usage){.mem_peak = 67108864,
                                               .cpu_us = 136781,
                                               .wall_ms = 319,
                                               .gpu_mem_peak = -1,
                                               .gpu_util = -1,
                                               .source = "cgroup1"};
        m->u.report.manifest = "{\"workdir\":\"/home/ada\"}";
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
        m->u.registered.batch = true;
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
        m->u.kill.preempt = true;
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
void fill_sample(enum mlq_msg_type t, struct mlq_msg *m)
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
