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

#include "jsonview.h"
#include "proto.h"

/* Prints "mlq: <message>" on stderr (the message of err, else the name of
 * code) and returns the exit code for code. */
int mlq_out_fail(int code, const struct mlq_err *err);

/* True when f is a terminal and colour is not disabled ($NO_COLOR). */
bool mlq_out_colour(FILE *f);

/* Retries the job has used so far (failed or timed-out runs that were run
 * again), from its attempts; 0 when the job carries none. */
int mlq_out_retries_used(const struct mlq_jobinfo *job);
/* Writes doc (indented) and a newline to f; 0 or MLQ_EIO. */
int mlq_out_json_print(FILE *f, const json_t *doc);
/* The same for a document just built, which it frees: MLQ_ENOMEM when doc
 * is NULL (its builder ran out of memory). */
int mlq_out_json_emit(FILE *f, json_t *doc);

/* "2024-05-01T12:00:03.250Z" (UTC); "" when ms <= 0. Returns buf. */
char *mlq_out_time_iso(int64_t ms, char *buf, size_t len);
/* "2024-05-01 14:00:03 CEST" in local time, with its zone; "-" when
 * ms <= 0. Returns buf. */
char *mlq_out_time_local(int64_t ms, char *buf, size_t len);
/* The same in the zone tz (an IANA name such as "Europe/Paris"; NULL or ""
 * is UTC), e.g. for a schedule's times in its own zone. Returns buf. */
char *mlq_out_time_zone(int64_t ms, const char *tz, char *buf, size_t len);
/* --since: a local date ("2026-12-01", "2026-12-01 14:00[:05]", also with
 * 'T') or a duration back from now_ms ("2h"), as wall ms in *out;
 * MLQ_CLI_EUSAGE when it is neither. */
int mlq_out_parse_since(const char *s, int64_t now_ms, int64_t *out, struct mlq_err *err);
/* "2s ago", "5m ago", "3h ago", "2d ago"; "never" when then_ms <= 0. */
char *mlq_out_time_ago(int64_t now_ms, int64_t then_ms, char *buf, size_t len);
/* "0", "137", "SIGKILL", "143 after SIGTERM" (it exited by itself after the
 * signal mlq sent at its time limit or cancel), "not started" or "-": how a
 * job ended, for tables. */
char *mlq_out_exit(const struct mlq_jobinfo *job, char *buf, size_t len);
/* The long form for `mlq status`: "timed out; exited 143 after SIGTERM",
 * "cancelled; exited 0 after SIGTERM", "timed out; killed by SIGKILL";
 * otherwise what mlq_out_exit says ("1", "SIGSEGV"). */
char *mlq_out_outcome(const struct mlq_jobinfo *job, char *buf, size_t len);
/* The same from an exit code (-1 none) and a signal (0 none), without
 * "not started" (which needs the job's state). */
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
/* Appends n cells (a row when n is the table's ncols), without colour. */
int mlq_table_add_row(struct mlq_table *t, const char *const *cells, int n);
/* Ends a listing built in *t: prints it when rc is 0 (what building it
 * returned), destroys it, and returns rc when < 0, MLQ_EIO when f has had a
 * write error, else 0. Accepts *t NULL (rc then says why). */
int mlq_table_finish(struct mlq_table **t, FILE *f, bool colour, int rc);

#endif
