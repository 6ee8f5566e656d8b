/* manifestdiff: what differs between two run manifests (`mlq diff`),
 * computed on the two JSON documents alone so that it can be unit tested.
 *
 * Compared: code (git commit, branch, dirty, diff hash, or git's error),
 * argv, workdir, env (names added, removed, changed; secret values are
 * hashes already, so they compare as hashes), inputs and outputs (by path:
 * added, removed, changed content or size; mtime only where a side has no
 * hash), GPUs (their models) and the driver (version, CUDA), and image
 * (ref, digest) where either run has one. Not compared: what differs for
 * every run by nature (ids, times, host, and the variables MLQ_JOB_ID,
 * MLQ_ATTEMPT and MLQ_ARRAY_JOB_ID), and the count of untracked files. */
#ifndef MLQ_CLI_MANIFESTDIFF_H
#define MLQ_CLI_MANIFESTDIFF_H

#include <jansson.h>
#include <stdio.h>

/* The differences as an object keyed by section ("code", "argv", "workdir",
 * "env", "inputs", "outputs", "gpus", "image"), empty when the runs are the
 * same. A scalar field that differs is [a, b]; env is {"added": {N: v},
 * "removed": {N: v}, "changed": {N: [a, b]}}; inputs and outputs are
 * {"added": [paths], "removed": [paths], "changed": {path: {field: [a,
 * b]}}}. New reference; NULL when out of memory. */
json_t *mlq_mdiff(const json_t *a, const json_t *b);
/* Writes the differences as text, one line per difference. 0 or -1. */
int mlq_mdiff_print(FILE *f, const json_t *diff);

#endif
