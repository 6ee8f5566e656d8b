/* filehash: the --input / --output entries of a run manifest: each file's
 * SHA-256 (libsodium), size and modification time, directories walked in
 * sorted order (one entry per regular file, symbolic links to directories
 * not followed, so that a loop cannot make the walk endless).
 *
 * Everything is bounded: a file larger than max_file, or reached after the
 * deadline, is recorded by size and mtime only with "sha256": null and a
 * "reason"; at most max_entries entries are made in all (the caller marks
 * the list truncated). Runs as whatever account calls it: the shim calls it
 * after dropping to the job's account, so that it reads only what the job
 * may read. */
#ifndef MLQ_FILEHASH_H
#define MLQ_FILEHASH_H

#include <jansson.h>
#include <stdbool.h>
#include <stdint.h>

#define MLQ_FILEHASH_MAX_FILE    (1LL << 30) /* bytes: larger files are not hashed */
#define MLQ_FILEHASH_TIME_MS     10000       /* per attempt, inputs (and outputs) */
#define MLQ_FILEHASH_MAX_ENTRIES 10000       /* entries of one list */

struct mlq_filehash_limits {
    int64_t max_file;    /* bytes */
    int64_t deadline_ms; /* CLOCK_MONOTONIC ms after which nothing more is hashed */
    size_t max_entries;
};

/* Appends the entries of path (as given, relative to the current folder or
 * absolute) to arr: {"path", "size", "mtime_ms", "sha256" | null, "reason"}.
 * A directory gives one entry per regular file below it, with the path
 * joined. Returns 0; 1 when path does not exist (nothing appended); 2 when
 * max_entries was reached (arr is full). An entry that cannot be read is
 * recorded with "error". */
int mlq_filehash_add(json_t *arr, const char *path, const struct mlq_filehash_limits *lim);

/* SHA-256 of the file at fd as lowercase hex into hex (65 bytes), reading
 * until EOF or the deadline. 0, 1 when the deadline passed, -1 on a read
 * error (errno). */
int mlq_filehash_fd(int fd, int64_t deadline_ms, char *hex);

#endif
