/* spool: the worker's on-disk state, one directory per attempt.
 *
 *   SPOOL/worker.pid            pid of the running worker (mlq down reads it)
 *   SPOOL/worker.lock           flock'd by the worker: one worker per spool
 *   SPOOL/format                "mlq-spool N": the layout below is format N
 *                               (MLQ_SPOOL_FORMAT). Absent in spools written
 *                               before the marker, which are format 1. A
 *                               worker refuses a spool of a later format and
 *                               marks an earlier one as its own (format 1's
 *                               files are read as they are: nothing to
 *                               convert)
 *   SPOOL/journal               per-attempt records of the worker
 *                               (spooljournal.h): acknowledged reports,
 *                               logs uploaded, upload progress, done
 *   SPOOL/attempts/<attempt_id>/
 *       assign          the encoded assign message (written before anything
 *                       starts; an attempt directory always has one). The
 *                       folder is fsynced (assign, folder, attempts/) right
 *                       after its shim is started and before anything about
 *                       the attempt is reported
 *       stdout, stderr  the job's output
 *       shim.pid        "PID STARTTIME START_MS" written by the shim in
 *                       place (spoolrec.h), not fsynced (meaningless after
 *                       a reboot)
 *       manifest        the attempt's run manifest (JSON, runmanifest.h),
 *                       written in place by the shim before the job starts,
 *                       and again durably just before status; read for the
 *                       finished report
 *       status          the outcome, written in place and fdatasync'd once
 *                       the job ended, with what the job used (usage_*
 *                       keys, when measured) and the attempt it is for
 *                       (attempt=ID); empty, torn or another attempt's:
 *                       none yet
 *       fenced          written by the worker before it kills an attempt it
 *                       may no longer run (self-fencing): the shim then
 *                       records outcome "lost" with this file's text
 *       cgroup          path of the job's cgroup v2, when it has one
 *                       (in place, not fsynced, like shim.pid)
 *       hostfile        a gang node part's hosts, one per line (gangenv.h),
 *                       written by the shim (atomic, not fsynced)
 *       cgroup_v1       the job's cgroup v1 folders (memory, cpu, cpuacct),
 *                       space-separated, when it has them (same)
 *     Every folder is made with empty assign, stdout, stderr, status,
 *     shim.pid and manifest, so that these are written in place and a
 *     folder can be recycled (spoolpool.h). Format 1 folders (an earlier
 *     worker's) also hold the marker files acked_started, acked_finished,
 *     logs_uploaded and upload, which are still read.
 *   SPOOL/attempts/.pool-<n>/   a cleared folder waiting for an attempt
 *   SPOOL/attempts/.trash-<attempt_id>/  a done folder being removed (pool
 *                               full)
 *   SPOOL/done/<attempt_id>     format 1's done record (see spoolgc.h), still
 *                               read and pruned
 *   SPOOL/lease_ms              the scheduler's lease, kept for fencing after
 *                               a restart that cannot reach the scheduler
 *   SPOOL/lease_until           the lease's deadline, read by the shims too
 *                               (lease.h)
 *
 * Attempt ids come from the network: every function that turns one into a
 * path checks that it is a full canonical UUID first, so "../x" or "a/b" can
 * never name a file outside the spool. */
#ifndef MLQ_SPOOL_H
#define MLQ_SPOOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "bounds.h"
#include "proto.h"

#define MLQ_SPOOL_DETAIL_MAX 512
/* The spool layout this worker writes and reads (SPOOL/format). A change to
 * any file below that an older worker would misread bumps it. */
#define MLQ_SPOOL_FORMAT    2
#define MLQ_SPOOL_FENCED    "fenced"
#define MLQ_SPOOL_CGROUP    "cgroup"
#define MLQ_SPOOL_CGROUP_V1 "cgroup_v1"

/* How an attempt ended, as kept in its status file. */
struct mlq_status {
    enum mlq_outcome outcome;
    int32_t exit_code; /* -1 unless MLQ_OUT_EXITED */
    int32_t signal;    /* 0 unless MLQ_OUT_SIGNALED or MLQ_OUT_TIMED_OUT */
    int64_t start_ms;  /* wall clock; 0 when the job never started */
    int64_t end_ms;
    char detail[MLQ_SPOOL_DETAIL_MAX]; /* one line, "" when none */
    struct mlq_usage usage;            /* what the job used (source "" none) */
    /* MLQ_OUT_START_FAILED only: the cause lies in the job's request (a
     * command, working directory or output file that is not there), so a
     * retry would fail the same way. */
    bool no_retry;
};

/* Identity of a shim: a pid alone could be reused after it exits. */
struct mlq_shim_id {
    pid_t pid;                    /* 0 when unknown */
    unsigned long long starttime; /* /proc/PID/stat field 22 */
    int64_t start_ms;             /* wall clock when the shim started */
};

/* Log upload progress of one attempt, per stream (index enum mlq_stream). */
struct mlq_upload_state {
    int64_t skipped[2]; /* bytes dropped from the head to respect the cap */
    int64_t offset[2];  /* acknowledged offset within the uploaded tail */
    bool done[2];       /* acknowledged through eof */
};

/* An attempt found in the spool that still needs the scheduler: its finished
 * report is not acknowledged, or its logs are not uploaded yet. */
struct mlq_spool_held {
    char attempt_id[MLQ_ID_LEN + 1];
    bool finished;      /* status present (possibly written by the scan) */
    bool acked_started; /* the started report was acknowledged */
    bool uploading;     /* finished report accepted; logs not all uploaded */
    struct mlq_shim_id shim;
    struct mlq_status status; /* valid when finished */
};

struct mlq_spool;

/* Opens (creating when needed, mode 0750) the spool at root and its attempts
 * folder. Caller owns *out (mlq_spool_close). */
int mlq_spool_open(const char *root, struct mlq_spool **out, struct mlq_err *err);
/* Closes the spool (releasing its lock); accepts NULL; nulls *sp. Leaves the
 * pid file alone (see mlq_spool_release). */
void mlq_spool_close(struct mlq_spool **sp);
const char *mlq_spool_root(const struct mlq_spool *sp);
/* SPOOL/attempts. */
const char *mlq_spool_attempts(const struct mlq_spool *sp);

/* Takes the exclusive lock on SPOOL/worker.lock, checks and writes
 * SPOOL/format, opens the journal and the folder pool, and writes
 * SPOOL/worker.pid. MLQ_ESTATE when another process
 * holds the lock (its pid in the message) or the spool's format is later
 * than MLQ_SPOOL_FORMAT; MLQ_EINVAL for a format file that is not one. */
int mlq_spool_lock(struct mlq_spool *sp, struct mlq_err *err);
/* The journal and folder pool of a locked spool (NULL before
 * mlq_spool_lock). */
struct mlq_spooljournal;
struct mlq_spoolpool;
struct mlq_spooljournal *mlq_spool_journal(const struct mlq_spool *sp);
struct mlq_spoolpool *mlq_spool_pool(const struct mlq_spool *sp);
/* Removes the pid file and drops the lock (clean exit). */
void mlq_spool_release(struct mlq_spool *sp);

/* Writes SPOOL/attempts/<id> into buf. MLQ_EINVAL for an id that is not a
 * full canonical UUID, MLQ_ETOOBIG when buf is too small. */
int mlq_spool_attempt_dir(const struct mlq_spool *sp, const char *attempt_id, char *buf, size_t len,
                          struct mlq_err *err);
/* True when the attempt's directory exists (false for invalid ids). */
bool mlq_spool_attempt_exists(const struct mlq_spool *sp, const char *attempt_id);
/* Creates the attempt directory with its assign file, atomically (a folder
 * of the pool, else one made under a temporary name, then renamed), and
 * writes its path into dir. MLQ_ESTATE
 * when the attempt already exists. When the spool cannot be written (disk
 * full, read-only...) the error is MLQ_EIO with the message
 * "spool ROOT: <reason>" and nothing is left behind. Not fsynced: a
 * restarted worker sees it, a power loss may undo it; the caller starts the
 * shim, then calls mlq_spool_sync_attempt before reporting anything about
 * the attempt (a power loss before that kills the job as well, and the
 * scheduler never heard of it running here). */
int mlq_spool_create_attempt(struct mlq_spool *sp, const struct mlq_msg *assign, char *dir,
                             size_t dir_len, struct mlq_err *err);
/* For a standby shim (exec.h): makes attempts/.tmp-standby-<pid> (path
 * into tmp; a folder of the pool renamed, else a new one) holding shim.pid
 * (naming that shim) and the folder's other (empty) files,
 * so that only the assign file and a rename are left to do when the
 * assignment comes (mlq_spool_create_prepared). Leftovers are removed by
 * mlq_spool_scan like any temporary folder. */
int mlq_spool_prepare(struct mlq_spool *sp, const struct mlq_shim_id *shim, char *tmp,
                      size_t tmp_len, struct mlq_err *err);
/* As mlq_spool_create_attempt, from the prepared folder tmp (which is
 * renamed, or left as it is on failure). */
int mlq_spool_create_prepared(struct mlq_spool *sp, const char *tmp, const struct mlq_msg *assign,
                              char *dir, size_t dir_len, struct mlq_err *err);
/* Returns a prepared folder that will not be used to the pool (removes
 * it when full). */
void mlq_spool_discard(const char *tmp);
/* Makes a created attempt durable: fsync of its assign file, its folder and
 * the attempts folder. */
int mlq_spool_sync_attempt(struct mlq_spool *sp, const char *dir, struct mlq_err *err);
/* The same in two steps, for attempts started together: each attempt's own
 * (its assign file and folder), then the attempts folder once for all. */
int mlq_spool_sync_attempt_own(const char *dir, struct mlq_err *err);
int mlq_spool_sync_attempts_dir(struct mlq_spool *sp, struct mlq_err *err);

/* Files inside one attempt directory (the shim only knows that folder). */
int mlq_spool_write_assign(const char *dir, const struct mlq_msg *assign, struct mlq_err *err);
/* Decodes and checks the assign file; *out must be freed with
 * mlq_proto_msg_free. */
int mlq_spool_read_assign(const char *dir, struct mlq_msg *out, struct mlq_err *err);
/* Durable: in place and fdatasync'd (the file is made with the folder);
 * a format 1 folder without one gets it atomically (tmp, fsync, rename,
 * fsync of the folder). */
int mlq_spool_write_status(const char *dir, const struct mlq_status *st, struct mlq_err *err);
/* MLQ_ENOTFOUND when there is no status yet (no file, an empty or a torn
 * record), MLQ_EINVAL when malformed. */
int mlq_spool_read_status(const char *dir, struct mlq_status *st, struct mlq_err *err);
int mlq_spool_write_shim(const char *dir, const struct mlq_shim_id *id, struct mlq_err *err);
/* MLQ_ENOTFOUND when there is no shim.pid, MLQ_EINVAL when malformed. */
int mlq_spool_read_shim(const char *dir, struct mlq_shim_id *id, struct mlq_err *err);
/* Writes the acked_started / acked_finished marker durably. */
int mlq_spool_mark_acked(const char *dir, enum mlq_report_phase phase, struct mlq_err *err);
/* With s (the worker's own process only), the markers below (acked,
 * logs_uploaded, the upload's progress) are written atomically and made
 * durable by s in the background (spoolsync.h); NULL: each is durable
 * before its writer returns. */
struct mlq_spoolsync;
void mlq_spool_defer_markers(struct mlq_spoolsync *s);
bool mlq_spool_is_acked(const char *dir, enum mlq_report_phase phase);
/* The logs_uploaded marker (durable). */
int mlq_spool_mark_uploaded(const char *dir, struct mlq_err *err);
bool mlq_spool_is_uploaded(const char *dir);
/* Upload progress; MLQ_ENOTFOUND when the attempt has none. */
int mlq_spool_write_upload(const char *dir, const struct mlq_upload_state *u, struct mlq_err *err);
int mlq_spool_read_upload(const char *dir, struct mlq_upload_state *u, struct mlq_err *err);
/* A small one-line text file of the attempt (MLQ_SPOOL_FENCED,
 * MLQ_SPOOL_CGROUP), written atomically and durably; read returns false when
 * it is absent or empty, and strips the trailing newline. */
int mlq_spool_write_note(const char *dir, const char *name, const char *text, struct mlq_err *err);
/* The same, atomic but not fsynced, for notes that mean nothing after a
 * reboot (MLQ_SPOOL_CGROUP). */
int mlq_spool_write_note_volatile(const char *dir, const char *name, const char *text,
                                  struct mlq_err *err);
bool mlq_spool_read_note(const char *dir, const char *name, char *buf, size_t len);

/* The scheduler's lease (ms) as last told, 0 when never told. */
int mlq_spool_write_lease(struct mlq_spool *sp, int64_t lease_ms, struct mlq_err *err);
int64_t mlq_spool_read_lease(const struct mlq_spool *sp);

/* Lists every attempt without acked_finished, and every one with upload
 * progress but no logs_uploaded (uploading). An attempt whose shim is gone
 * and that has no status gets a "lost" status written first, so every held
 * attempt is either running (shim alive, no status) or finished. Held
 * attempts whose started report was never acknowledged are fsynced (a
 * worker may have died before mlq_spool_sync_attempt). Leftover temporary
 * folders of interrupted creations are removed. Caller frees *out. */
int mlq_spool_scan(struct mlq_spool *sp, struct mlq_spool_held **out, size_t *n,
                   struct mlq_err *err);

/* Reads at most max bytes of the attempt's stdout/stderr at offset into a
 * malloc'd *data (caller frees; NULL when *len is 0) and the file's current
 * size. MLQ_ENOTFOUND when the attempt or file does not exist. */
int mlq_spool_read_log(const struct mlq_spool *sp, const char *attempt_id, enum mlq_stream stream,
                       int64_t offset, uint32_t max, uint8_t **data, uint32_t *len, int64_t *size,
                       struct mlq_err *err);

/* True when the shim with this identity still runs (pid alive, same start
 * time). */
bool mlq_spool_shim_alive(const struct mlq_shim_id *id);
/* Fills st as a "lost" outcome ending now. */
void mlq_spool_status_lost(struct mlq_status *st, int64_t start_ms, const char *detail);
/* Copies detail into st->detail as one line (newlines become spaces). */
void mlq_spool_set_detail(struct mlq_status *st, const char *detail);
/* Wire name of an outcome ("exited"); "?" when out of range. */
const char *mlq_spool_outcome_name(enum mlq_outcome o);

#endif
