/* logstore: job output the workers uploaded when their attempts ended, kept
 * in STATE_DIR/logs/<attempt-id>.<stream>, so `mlq logs` works after the
 * worker is gone (logs survive the node).
 *
 * An upload is written to a ".part" file chunk by chunk and renamed into
 * place, fsynced, after its last chunk: a complete file is never half
 * written, and a worker that restarts simply uploads again from offset 0.
 * The streams completed in one loop iteration are made durable together
 * (mlq_logstore_sync: an fsync each, their renames, one fsync of the
 * directory) before the iteration's acknowledgements leave.
 *
 * Retention removes the logs of deleted jobs and, past a size cap, the
 * oldest complete logs first (in the order they were completed; at open,
 * by modification time). */
#ifndef MLQ_LOGSTORE_H
#define MLQ_LOGSTORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "proto.h"

struct mlq_logstore;

/* Creates dir when needed. */
int mlq_logstore_open(const char *dir, struct mlq_logstore **out, struct mlq_err *err);
void mlq_logstore_close(struct mlq_logstore **ls);

/* Applies one chunk at offset and sets *next to the offset the uploader
 * should send next: offset + len when accepted, the current size of the
 * partial file when the chunk does not continue it (nothing written), and
 * past the chunk when the stream is already complete. Offset 0 restarts the
 * stream. MLQ_EIO on a write error (disk full): the uploader retries later. */
int mlq_logstore_put(struct mlq_logstore *ls, const char *attempt_id, enum mlq_stream stream,
                     int64_t offset, const void *data, size_t len, bool eof, int64_t *next,
                     struct mlq_err *err);
/* Makes the streams whose last chunk mlq_logstore_put took durable and
 * complete. MLQ_EIO when one of them (or any since the last call) could not
 * be: its upload must not be acknowledged as stored (it starts again). */
int mlq_logstore_sync(struct mlq_logstore *ls, struct mlq_err *err);
/* True when the complete stream of this attempt is stored. */
bool mlq_logstore_has(struct mlq_logstore *ls, const char *attempt_id, enum mlq_stream stream);
/* Reads at most max bytes at offset of a complete stream into *data (caller
 * frees); *size is the stored size. */
int mlq_logstore_read(struct mlq_logstore *ls, const char *attempt_id, enum mlq_stream stream,
                      int64_t offset, uint32_t max, uint8_t **data, uint32_t *len, int64_t *size,
                      struct mlq_err *err);

/* Removes both streams of the attempt, complete or partial (its job is
 * deleted). */
void mlq_logstore_remove(struct mlq_logstore *ls, const char *attempt_id);
/* Bytes of the complete log files: counted at open, then kept up to date. */
int64_t mlq_logstore_size(const struct mlq_logstore *ls);
/* Removes complete log files, oldest first, until the total is at most cap
 * bytes, removing at most max_files (a bounded batch); returns how many it
 * removed. */
int mlq_logstore_trim(struct mlq_logstore *ls, int64_t cap, int max_files);

#endif
