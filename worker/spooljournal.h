/* spooljournal: the worker's per-attempt records in one append-only file.
 *
 * SPOOL/journal holds fixed-size records (MLQ_SPOOLJOURNAL_REC bytes, CRC
 * at the end), each the whole state of one attempt at the time it was
 * appended: which reports the scheduler acknowledged, whether the logs are
 * uploaded, the upload's progress, and whether the attempt is done and its
 * folder recycled (the "done record" that makes a late duplicate assign
 * "already seen"). The last valid record of an attempt wins; a torn or
 * corrupt record (a crash mid-append) is skipped, and a partial one at the
 * end is cut off when the file is opened. Appending creates nothing: the
 * file is created once and replaced only by a compaction (a temp file,
 * fsync, rename), which keeps one record per live attempt and drops done
 * records older than the keep time. The table of live attempts lives in
 * memory, with the most recent done ones; older done records stay in the
 * file only, found through a filter (spooldone.h), so the memory does not
 * grow with the attempts of the keep time.
 *
 * Durability is the caller's choice: records of acknowledgements and upload
 * progress are made durable in batches by the sync thread (spoolsync.h),
 * done records by mlq_spooljournal_sync before the folder leaves. */
#ifndef MLQ_SPOOLJOURNAL_H
#define MLQ_SPOOLJOURNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "spool.h"

#define MLQ_SPOOLJOURNAL_REC  96
#define MLQ_SPOOLJOURNAL_FILE "journal"

enum mlq_spooljournal_flag {
    MLQ_SJ_ACKED_STARTED = 1,
    MLQ_SJ_ACKED_FINISHED = 2,
    MLQ_SJ_UPLOADED = 4, /* logs_uploaded */
    MLQ_SJ_UPLOAD = 8,   /* upload progress recorded */
    MLQ_SJ_DONE = 16,    /* folder recycled or removed */
};

struct mlq_spooljournal;

/* Opens (creating) dir/journal and loads it; attempts_dir is where the
 * attempt folders live (a compaction keeps the entries of those that
 * exist). Caller owns *out. */
int mlq_spooljournal_open(const char *dir, const char *attempts_dir, struct mlq_spooljournal **out,
                          struct mlq_err *err);
void mlq_spooljournal_close(struct mlq_spooljournal **j);
const char *mlq_spooljournal_path(const struct mlq_spooljournal *j);

/* Flags of the attempt (0 when unknown); its upload progress into u when
 * u is not NULL and it has some; its done time (wall s) into done_s. */
unsigned mlq_spooljournal_get(const struct mlq_spooljournal *j, const char *id,
                              struct mlq_upload_state *u, int64_t *done_s);

/* Adds flags (and the upload progress when u is not NULL) to the
 * attempt's state and appends the record (not synced). MLQ_EINVAL for an
 * id that is not a canonical UUID. */
int mlq_spooljournal_set(struct mlq_spooljournal *j, const char *id, unsigned flags,
                         const struct mlq_upload_state *u, struct mlq_err *err);

/* fdatasync of the journal. */
int mlq_spooljournal_sync(struct mlq_spooljournal *j, struct mlq_err *err);

/* Rewrites the journal with one record per attempt whose folder exists or
 * that is done since less than keep_s seconds. */
int mlq_spooljournal_compact(struct mlq_spooljournal *j, long keep_s, struct mlq_err *err);

/* Records in the file, and attempts in memory (for tests and the log). */
size_t mlq_spooljournal_records(const struct mlq_spooljournal *j);
size_t mlq_spooljournal_entries(const struct mlq_spooljournal *j);
/* Bytes of memory the journal takes (its table and the done filter). */
size_t mlq_spooljournal_mem_bytes(const struct mlq_spooljournal *j);

#endif
