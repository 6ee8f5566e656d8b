/* spoolmark: an attempt's acknowledgement and upload records (the
 * mlq_spool_mark_* and mlq_spool_*_upload functions of spool.h).
 *
 * In the worker they are records of the spool's journal
 * (spooljournal.h): appending one creates no file. Each is also read from
 * the marker files of the earlier layout (acked_started, acked_finished,
 * logs_uploaded, upload), so a worker started on a spool an earlier
 * version wrote still reports each outcome once. Without a journal (a
 * process that did not lock the spool) they are written as those files. */
#ifndef MLQ_SPOOLMARK_H
#define MLQ_SPOOLMARK_H

struct mlq_spooljournal;
struct mlq_spoolsync;

/* The journal of the spool this process locked; NULL: none (files). */
void mlq_spoolmark_use(struct mlq_spooljournal *j);

/* The sync thread mlq_spool_defer_markers set (NULL: none). */
struct mlq_spoolsync *mlq_spoolmark_sync(void);

#endif
