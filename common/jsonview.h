/* jsonview: the JSON documents of jobs, workers, schedules, events and
 * `why`, built once for both `mlq ... --json` and the HTTP API, so that the
 * two can never differ (docs/openapi.yaml describes them).
 *
 * Every builder returns a new reference, NULL when out of memory. Strings
 * that are not UTF-8 (jansson refuses them) have their high bytes replaced
 * by '?'. JSON field names are an interface for scripts and the API; change
 * them only together with the user guide and docs/openapi.yaml. */
#ifndef MLQ_JSONVIEW_H
#define MLQ_JSONVIEW_H

#include <jansson.h>
#include <stddef.h>
#include <stdint.h>

#include "proto.h"

/* "2024-05-01T12:00:03.250Z" (UTC); "" when ms <= 0. Returns buf. */
char *mlq_jsonview_time_iso(int64_t ms, char *buf, size_t len);
/* Retries the job has used so far (failed or timed-out runs that were run
 * again), from its attempts; 0 when the job carries none. */
int mlq_jsonview_retries_used(const struct mlq_jobinfo *job);
/* A string, or null for NULL; non-UTF-8 bytes become '?'. */
json_t *mlq_jsonview_str(const char *s);

/* How an ended job's run ended: "exited" (exit_code says how; signal, when
 * set too, is the signal mlq sent before it exited: a time limit or a
 * cancel), "signaled", "timed_out", "cancelled", "start_failed" (it never
 * ran; the reason says why) or "lost"; NULL while the job has not ended. */
const char *mlq_jsonview_outcome(const struct mlq_jobinfo *job);

/* A job as a JSON object: id, name, owner, state, reason, argv, workdir,
 * cpus (number), mem (bytes), gpus, submit_time/start_time/end_time (ISO 8601
 * UTC or null), attempt, attempt_id, worker, gpu_ids (ints), exit_code and
 * signal (null when none; both set when the job exited after a signal mlq
 * sent), outcome (mlq_jsonview_outcome, null while not ended), held_by and
 * held_at (a user hold: who and when, ISO; null when not held), retries (allowed), node_failures,
 * not_before (ISO; null unless the job is PENDING and waiting), time_limit (seconds or null),
 * array_id and array_index (null unless a task of an array), deps (array of
 * {target: full id, kind: "ok"|"any"|"failed"}), nodes (1 unless a gang),
 * gang (submitted with --nodes). New reference, NULL when out of memory. */
json_t *mlq_jsonview_job(const struct mlq_jobinfo *job);
/* The same plus what `mlq status` shows: attempts (array of attempt objects,
 * oldest first), retries_used and parts (a gang's node parts of its current
 * or last attempt, rank order; [] for other jobs). */
json_t *mlq_jsonview_job_status(const struct mlq_jobinfo *job);
/* An attempt: num, id, worker, state, gpu_ids (ints), start_time, end_time,
 * exit_code, signal (null when none), detail (null when none). */
json_t *mlq_jsonview_attempt(const struct mlq_attemptinfo *a);
/* A gang's node part: rank, worker, addr, state, gpu_ids (ints),
 * start_time, end_time, exit_code, signal, detail (null when none). */
json_t *mlq_jsonview_part(const struct mlq_partinfo *p);
/* A worker as a JSON object: name, state, draining (bool), cpus, cpus_used,
 * mem, mem_used, gpus, gpus_used, running, last_seen (ISO or null), pool
 * ("default" when the scheduler did not say), labels (array of "k=v"),
 * drain_reason (null unless an admin drained it), gpu_list (array of GPU
 * objects, see below), unhealthy, health, addr (the address the worker
 * advertised, null when it sent none). */
json_t *mlq_jsonview_worker(const struct mlq_workerinfo *w);
/* A GPU: index, uuid, model, type (null when unknown), mem (bytes, 0
 * unknown), job_id (the job holding it, or null). */
json_t *mlq_jsonview_gpu(const struct mlq_gpuinfo *g);
/* Tasks of the array in a terminal state. */
uint32_t mlq_jsonview_array_ended(const struct mlq_arrayinfo *a);
/* An array: id, name, owner, argv, size, max_running (null = no limit),
 * submit_time, counts (object: every state name -> tasks), failed (indices
 * of tasks that did not succeed, "3,17-19", or null), done (every task
 * ended), succeeded (every task succeeded). */
json_t *mlq_jsonview_array(const struct mlq_arrayinfo *a);
/* A schedule: name, cron, timezone ("UTC" when none), concurrency, catch_up
 * (seconds), paused, job_name, argv, workdir, cpus, mem, gpus, array (null),
 * next_fires (ISO times), runs ({fire_time, job_id, state}, newest first). */
json_t *mlq_jsonview_schedule(const struct mlq_scheduleinfo *s);
/* {"jobs": [...]} of mlq_jsonview_job (status: mlq_jsonview_job_status). */
json_t *mlq_jsonview_jobs(const struct mlq_jobinfo *jobs, uint32_t n, int status);
/* {"workers": [...]}. */
json_t *mlq_jsonview_workers(const struct mlq_workerinfo *w, uint32_t n);
/* {"schedules": [...]}. */
json_t *mlq_jsonview_schedules(const struct mlq_scheduleinfo *s, uint32_t n);
/* An event: seq, time, kind, job_id, attempt_id, worker, actor, from, to,
 * detail. {"events": [...]} for a list. */
json_t *mlq_jsonview_events(const struct mlq_eventinfo *e, uint32_t n);
/* `why`: job_id, state, blocker, text, closest_worker, lacks, ahead, and
 * the start estimate: fits_ever, would_start {worker, gpus} (null unless
 * it would start now), estimate {at_ms, kind, why} (null when none). */
json_t *mlq_jsonview_why(const struct mlq_msg *why_reply);
/* An `acct_report` as `mlq usage --json` and GET /api/v1/accounting print
 * it: {since, until, by, groups: [{name, cpu_hours, gpu_hours, succeeded,
 * failed, timed_out, cancelled, lost, mean_wait_s, gpu_idle_share}]}, null
 * for what is not known. */
json_t *mlq_jsonview_acct_report(const struct mlq_msg *acct_report);

/* What the queue order is based on, for people. */
#define MLQ_JSONVIEW_QUEUE_ORDER                                                                   \
    "effective priority (priority plus time waited, less the owner's fair-share use), then "       \
    "submit time"
/* `submit --dry-run`: fits_ever, reasons[] (why it can never fit; empty
 * when it can), text, blocker, closest_worker, lacks, position, order,
 * would_start, estimate as for `why`, and quota (null where none applies). */
json_t *mlq_jsonview_dry_run(const struct mlq_msg *why_reply);
/* {"quotas": [{team, pool, nominal, borrow_cap, used, borrowed, running,
 * user_max_running, user_max_gpus, gpu_types ({"h100": 8} caps per GPU
 * type, or null)}]}, amounts as {gpus, cpus, mem} (GPUs
 * and CPUs as numbers, memory in bytes; null where not limited), for
 * `mlq admin quota show --json` and GET /api/v1/quotas. */
json_t *mlq_jsonview_quotas(const struct mlq_quotainfo *q, uint32_t n);

#endif
