/* logupload: see logupload.h.
 *
 * The tail of a stream is fixed when the upload starts: the job has ended
 * and the shim writes its status only once no process of the job is left,
 * so nothing writes to the log files any more. Offsets are within the tail
 * (file offset minus skipped). Progress on disk is only ever what the
 * scheduler acknowledged; a resumed upload whose cap changed (another
 * --log-cap) starts that stream again from 0. */
#include "logupload.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"

#define RESEND_MS    5000  /* a chunk without an answer is sent again */
#define RETRY_MIN_MS 1000  /* first delay after an ack with an error */
#define RETRY_MAX_MS 30000 /* the delay doubles up to this */
#define NSTREAMS     2

struct mlq_logupload {
    const struct mlq_spool *sp;
    char id[MLQ_ID_LEN + 1];
    char dir[MLQ_MAX_PATH];
    struct mlq_upload_state st;
    int64_t tail[NSTREAMS]; /* bytes to upload per stream */
    int cur;                /* stream being uploaded; NSTREAMS when all done */
    bool inflight;          /* a chunk waits for its ack */
    int64_t sent_end;       /* offset + len of that chunk */
    bool sent_eof;
    int64_t due; /* monotonic ms when the next (re-)send may go */
    int64_t retry_ms;
    bool abandoned; /* the scheduler wants no logs of this attempt */
};

static int first_pending(const struct mlq_logupload *up)
{
    int s = 0;
    while (s < NSTREAMS && up->st.done[s])
        s++;
    return s;
}

/* Size of one log file; 0 when the job never wrote it. */
static int log_size(const struct mlq_logupload *up, int stream, int64_t *size, struct mlq_err *err)
{
    uint8_t *data = NULL;
    uint32_t len = 0;
    int rc =
        mlq_spool_read_log(up->sp, up->id, (enum mlq_stream)stream, 0, 0, &data, &len, size, err);
    free(data);
    if (rc == MLQ_ENOTFOUND) {
        *size = 0;
        return 0;
    }
    return rc;
}

/* Fixes each stream's tail for this cap and keeps the saved progress that
 * still fits it. */
static int plan(struct mlq_logupload *up, int64_t cap, struct mlq_err *err)
{
    struct mlq_upload_state saved;
    bool have = mlq_spool_read_upload(up->dir, &saved, NULL) == 0;
    for (int s = 0; s < NSTREAMS; s++) {
        int64_t size;
        int rc = log_size(up, s, &size, err);
        if (rc < 0)
            return rc;
        up->st.skipped[s] = size > cap ? size - cap : 0;
        up->tail[s] = size - up->st.skipped[s];
        if (have && saved.skipped[s] == up->st.skipped[s] && saved.offset[s] <= up->tail[s]) {
            up->st.offset[s] = saved.offset[s];
            up->st.done[s] = saved.done[s];
        }
    }
    return 0;
}

int mlq_logupload_open(const struct mlq_spool *sp, const char *attempt_id, int64_t cap,
                       struct mlq_logupload **out, struct mlq_err *err)
{
    *out = NULL;
    if (cap <= 0)
        return mlq_err_set(err, MLQ_EINVAL, "the log cap must be positive");
    struct mlq_logupload *up = calloc(1, sizeof *up);
    if (!up)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    up->sp = sp;
    up->retry_ms = RETRY_MIN_MS;
    snprintf(up->id, sizeof up->id, "%s", attempt_id);
    int rc = mlq_spool_attempt_dir(sp, attempt_id, up->dir, sizeof up->dir, err);
    if (rc == 0)
        rc = plan(up, cap, err);
    if (rc == 0)
        rc = mlq_spool_write_upload(up->dir, &up->st, err);
    if (rc < 0) {
        free(up);
        return rc;
    }
    up->cur = first_pending(up);
    if (up->cur == NSTREAMS && (rc = mlq_spool_mark_uploaded(up->dir, err)) < 0) {
        free(up);
        return rc;
    }
    *out = up;
    return 0;
}

void mlq_logupload_close(struct mlq_logupload **up)
{
    if (!up || !*up)
        return;
    free(*up);
    *up = NULL;
}

bool mlq_logupload_done(const struct mlq_logupload *up)
{
    return up->cur >= NSTREAMS;
}

bool mlq_logupload_abandoned(const struct mlq_logupload *up)
{
    return up->abandoned;
}

void mlq_logupload_kick(struct mlq_logupload *up, int64_t now)
{
    if (up->inflight)
        up->due = now;
}

int mlq_logupload_next(struct mlq_logupload *up, int64_t now, struct mlq_msg *msg,
                       struct mlq_err *err)
{
    if (up->cur >= NSTREAMS || now < up->due)
        return 0;
    int s = up->cur;
    int64_t off = up->st.offset[s], left = up->tail[s] - off;
    uint32_t want = left < MLQ_MAX_LOG_CHUNK ? (uint32_t)left : MLQ_MAX_LOG_CHUNK;
    uint8_t *data = NULL;
    uint32_t len = 0;
    int64_t size = 0;
    /* Nothing left to send (an empty log, the usual case of a short job):
     * its end goes without opening the file again; plan() sized it. */
    int rc = want == 0 ? 0
                       : mlq_spool_read_log(up->sp, up->id, (enum mlq_stream)s,
                                            up->st.skipped[s] + off, want, &data, &len, &size, err);
    if (rc < 0) {
        up->due = now + RESEND_MS;
        return rc;
    }
    if (len < want)
        up->tail[s] = off + len; /* the file shrank: what is there is all */
    memset(msg, 0, sizeof *msg);
    msg->type = MLQ_MSG_LOG_UPLOAD;
    snprintf(msg->u.log_upload.attempt_id, sizeof msg->u.log_upload.attempt_id, "%s", up->id);
    msg->u.log_upload.stream = (enum mlq_stream)s;
    msg->u.log_upload.offset = off;
    msg->u.log_upload.data = data;
    msg->u.log_upload.len = len;
    msg->u.log_upload.skipped = up->st.skipped[s];
    msg->u.log_upload.eof = off + len == up->tail[s];
    up->inflight = true;
    up->sent_end = off + len;
    up->sent_eof = msg->u.log_upload.eof;
    up->due = now + RESEND_MS;
    return 1;
}

/* The current stream is complete: on to the next one, or done. */
static int stream_done(struct mlq_logupload *up, struct mlq_err *err)
{
    up->st.done[up->cur] = true;
    up->st.offset[up->cur] = up->tail[up->cur];
    up->cur = first_pending(up);
    int rc = mlq_spool_write_upload(up->dir, &up->st, err);
    if (rc == 0 && up->cur >= NSTREAMS)
        rc = mlq_spool_mark_uploaded(up->dir, err);
    if (rc < 0)
        return rc;
    return up->cur >= NSTREAMS ? 1 : 0;
}

int mlq_logupload_ack(struct mlq_logupload *up, const struct mlq_msg *ack, int64_t now,
                      struct mlq_err *err)
{
    if (up->cur >= NSTREAMS)
        return 1;
    if (!up->inflight || (int)ack->u.log_upload_ack.stream != up->cur)
        return 0; /* late answer to a chunk sent again since */
    up->inflight = false;
    if (ack->u.log_upload_ack.err == MLQ_ENOTFOUND) {
        /* Not a finished attempt of ours for the scheduler: nobody will
         * ever take these logs, so stop (they stay in the spool). */
        up->abandoned = true;
        up->cur = NSTREAMS;
        int rc = mlq_spool_mark_uploaded(up->dir, err);
        return rc < 0 ? rc : 1;
    }
    int64_t next = ack->u.log_upload_ack.offset;
    bool valid = next >= 0 && next <= up->tail[up->cur];
    if (ack->u.log_upload_ack.err != 0) {
        if (valid)
            up->st.offset[up->cur] = next;
        up->due = now + up->retry_ms;
        up->retry_ms = up->retry_ms * 2 > RETRY_MAX_MS ? RETRY_MAX_MS : up->retry_ms * 2;
        return 0;
    }
    up->retry_ms = RETRY_MIN_MS;
    up->due = now;
    if (up->sent_eof && next >= up->sent_end)
        return stream_done(up, err);
    /* Where the scheduler stands: after our chunk, or elsewhere (it lost
     * data, or already has more); nonsense restarts the stream. */
    up->st.offset[up->cur] = valid ? next : 0;
    return mlq_spool_write_upload(up->dir, &up->st, err);
}
