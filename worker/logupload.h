/* logupload: sending one finished attempt's logs to the scheduler
 * (docs/protocol.md, log_upload), so they outlive the worker.
 *
 * Once the scheduler accepted an attempt's finished report, the worker
 * uploads the tail of each stream (its last `cap` bytes; what is dropped
 * from the head is sent as `skipped`), stdout then stderr, one chunk of at
 * most MLQ_MAX_LOG_CHUNK bytes at a time, each after the previous one's
 * log_upload_ack, continuing from the offset the ack names. An empty stream
 * is one empty chunk with eof. Progress is kept in the attempt's spool
 * folder (upload file) after each ack, so a restarted worker resumes where
 * the scheduler stands; when both streams are acknowledged through eof the
 * logs_uploaded marker is written and the upload is done.
 *
 * A chunk without an answer is sent again after a while; an ack with an
 * error (the scheduler's disk is full) is retried with a growing delay,
 * except "not found" (-4: the scheduler knows no such finished attempt of
 * this worker), which ends the upload for good. */
#ifndef MLQ_LOGUPLOAD_H
#define MLQ_LOGUPLOAD_H

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "proto.h"
#include "spool.h"

#define MLQ_LOGUPLOAD_DEFAULT_CAP (16LL * 1024 * 1024)

struct mlq_logupload;

/* Starts (or resumes, from the attempt's upload file) the upload of the
 * attempt's logs; cap > 0 bytes per stream. The spool must outlive the
 * upload. Writes the upload file when it starts afresh. Caller owns *out. */
int mlq_logupload_open(const struct mlq_spool *sp, const char *attempt_id, int64_t cap,
                       struct mlq_logupload **out, struct mlq_err *err);
/* Accepts NULL; nulls *up. */
void mlq_logupload_close(struct mlq_logupload **up);

/* When a chunk is due at now (none in flight, or the one in flight went
 * unanswered too long, or a retry's delay has passed), fills *msg with it
 * and returns 1; the caller sends it and frees msg->u.log_upload.data.
 * Returns 0 when nothing is due, or a negative code when the log cannot be
 * read (the upload is then retried later). */
int mlq_logupload_next(struct mlq_logupload *up, int64_t now, struct mlq_msg *msg,
                       struct mlq_err *err);
/* Applies a log_upload_ack (for this attempt). Returns 1 once every stream
 * is acknowledged through eof (logs_uploaded written), else 0. */
int mlq_logupload_ack(struct mlq_logupload *up, const struct mlq_msg *ack, int64_t now,
                      struct mlq_err *err);
/* Makes a chunk still waiting for its ack due at once (after the worker
 * registered again: the old connection's answers are lost). */
void mlq_logupload_kick(struct mlq_logupload *up, int64_t now);
bool mlq_logupload_done(const struct mlq_logupload *up);
/* Done because the scheduler refused the logs (not found). */
bool mlq_logupload_abandoned(const struct mlq_logupload *up);

#endif
