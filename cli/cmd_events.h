/* cmd_events: `mlq events [--job J] [--since T] [--limit N] [--json]`, the
 * scheduler's history: submissions, state changes, attempts, workers
 * coming and going, keys added and removed, each with who caused it. */
#ifndef MLQ_CLI_CMD_EVENTS_H
#define MLQ_CLI_CMD_EVENTS_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "client.h"
#include "proto.h"

/* Parses --since: a duration ago ("90s", "2h", "3d"; relative to now_ms) or
 * an ISO 8601 time ("2024-05-01", "2024-05-01T14:00", "2024-05-01 14:00:05",
 * with optional ".fff" and "Z" or "+02:00"; local time without a zone).
 * *out is wall-clock ms (>= 0). MLQ_CLI_EUSAGE when s is neither. */
int mlq_cli_parse_since(const char *s, int64_t now_ms, int64_t *out, struct mlq_err *err);

/* The table: TIME (local), KIND, JOB (8 characters), WORKER, ACTOR, WHAT
 * ("FROM -> TO: detail"), untrusted text cleaned. 0 or MLQ_EIO/ENOMEM. */
int mlq_cli_events_print(FILE *f, const struct mlq_eventinfo *e, uint32_t n, bool colour);
/* {"events": [{seq, time (ISO 8601 UTC), kind, job_id, attempt_id, worker,
 * actor, from, to, detail}]} with null for what is absent. New reference;
 * NULL when out of memory. */
json_t *mlq_cli_events_json(const struct mlq_eventinfo *e, uint32_t n);

/* Runs `mlq events`; returns the exit code. */
int mlq_cmd_events(struct mlq_cli *cli, int argc, char **argv);

#endif
