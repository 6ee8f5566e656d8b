/* output: how the CLI shows things. JSON documents (jansson) for --json,
 * aligned tables, time formatting, tty detection.
 *
 * JSON field names are part of the CLI's interface for scripts; change them
 * only together with the user guide. */
#ifndef MLQ_CLI_OUTPUT_H
#define MLQ_CLI_OUTPUT_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "proto.h"

/* Prints "mlq: <message>" on stderr (the message of err, else the name of
 * code) and returns the exit code for code. */
int mlq_out_fail(int code, const struct mlq_err *err);

/* True when f is a terminal and colour is not disabled ($NO_COLOR). */
bool mlq_out_colour(FILE *f);

/* A job as a JSON object: id, name, owner, state, reason, argv, workdir,
 * cpus (number), mem (bytes), gpus, submit_time/start_time/end_time (ISO 8601
 * UTC or null), attempt, attempt_id, worker, gpu_ids (ints), exit_code and
 * signal (null when none), retries (allowed), node_failures, not_before (ISO;
 * null unless the job is PENDING and waiting), time_limit (seconds or null),
 * array_id and array_index (null unless a task of an array), deps (array of
 * {target: full id, kind: "ok"|"any"|"failed"}). New reference, NULL when out
 * of memory. */
json_t *mlq_out_job_json(const struct mlq_jobinfo *job);
/* The same plus what `mlq status` shows: attempts (array of attempt objects,
 * oldest first) and retries_used. */
json_t *mlq_out_job_status_json(const struct mlq_jobinfo *job);
/* An attempt: num, id, worker, state, gpu_ids (ints), start_time, end_time,
 * exit_code, signal (null when none), detail (null when none). */
json_t *mlq_out_attempt_json(const struct mlq_attemptinfo *a);
/* Retries the job has used so far (failed or timed-out runs that were run
 * again), from its attempts; 0 when the job carries none. */
int mlq_out_retries_used(const struct mlq_jobinfo *job);
/* A worker as a JSON object: name, state, draining (bool), cpus, cpus_used,
 * mem, mem_used, gpus, gpus_used, running, last_seen (ISO or null), pool
 * ("default" when the scheduler did not say), labels (array of "k=v"),
 * drain_reason (null unless an admin drained it), gpu_list (array of GPU
 * objects, see below). */
json_t *mlq_out_worker_json(const struct mlq_workerinfo *w);
/* A GPU: index, uuid, model, type (null when unknown), mem (bytes, 0
 * unknown), job_id (the job holding it, or null). */
json_t *mlq_out_gpu_json(const struct mlq_gpuinfo *g);
/* Tasks of the array in a terminal state. */
uint32_t mlq_out_array_ended(const struct mlq_arrayinfo *a);
/* An array: id, name, owner, argv, size, max_running (null = no limit),
 * submit_time, counts (object: every state name -> tasks), failed (indices
 * of tasks that did not succeed, "3,17-19", or null), done (every task
 * ended), succeeded (every task succeeded). */
json_t *mlq_out_array_json(const struct mlq_arrayinfo *a);
/* A schedule: name, cron, timezone ("UTC" when none), concurrency, catch_up
 * (seconds), paused, job_name, argv, workdir, cpus, mem, gpus, array (null),
 * next_fires (ISO times), runs ({fire_time, job_id, state}, newest first). */
json_t *mlq_out_schedule_json(const struct mlq_scheduleinfo *s);
/* Writes doc (indented) and a newline to f; 0 or MLQ_EIO. */
int mlq_out_json_print(FILE *f, const json_t *doc);

/* "2024-05-01T12:00:03.250Z" (UTC); "" when ms <= 0. Returns buf. */
char *mlq_out_time_iso(int64_t ms, char *buf, size_t len);
/* "2024-05-01 14:00:03" in local time; "-" when ms <= 0. Returns buf. */
char *mlq_out_time_local(int64_t ms, char *buf, size_t len);
/* "2s ago", "5m ago", "3h ago", "2d ago"; "never" when then_ms <= 0. */
char *mlq_out_time_ago(int64_t now_ms, int64_t then_ms, char *buf, size_t len);
/* "0", "137", "SIGKILL" or "-": how a job ended, for tables. */
char *mlq_out_exit(const struct mlq_jobinfo *job, char *buf, size_t len);
/* The same from an exit code (-1 none) and a signal (0 none). */
char *mlq_out_exit_text(int32_t exit_code, int32_t signal, char *buf, size_t len);
/* Copies untrusted text for display, replacing control characters; "-" for
 * NULL. Returns buf. */
char *mlq_out_clean(const char *s, char *buf, size_t len);
/* A job state in words for sentences: "pending", ..., "timed out". */
const char *mlq_out_state_word(enum mlq_job_state s);
/* ANSI colour for a job state, "" for none. */
const char *mlq_out_state_colour(enum mlq_job_state s);
/* Joins argv into one line, quoting words the shell would split, and
 * replacing control characters. Returns buf. */
char *mlq_out_argv(char *const *argv, uint32_t argc, char *buf, size_t len);

/* A table of text cells with aligned columns. Cells are copied. */
struct mlq_table;

/* NULL when out of memory. */
struct mlq_table *mlq_table_create(int ncols, const char *const *headers);
/* Frees *t and sets it to NULL; accepts NULL. */
void mlq_table_destroy(struct mlq_table **t);
/* Appends a cell to the current row, starting a new row after ncols cells.
 * colour (may be NULL) is used only when printing with colour. */
int mlq_table_add(struct mlq_table *t, const char *text, const char *colour);
/* Prints the header and the rows; bold header and colours when colour. */
int mlq_table_print(const struct mlq_table *t, FILE *f, bool colour);

#endif
