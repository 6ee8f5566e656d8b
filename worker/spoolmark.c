/* spoolmark: see spoolmark.h. */
#include "spoolmark.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "fsutil.h"
#include "id.h"
#include "spool.h"
#include "spooljournal.h"
#include "spoolsync.h"

#define UPLOAD_MAX 512

/* Set for the worker's own process only (the shim never sets them): the
 * switches every marker writer below reads, since they know their attempt
 * folder and nothing else. */
static struct mlq_spoolsync *deferred_sync;
static struct mlq_spooljournal *journal;

void mlq_spool_defer_markers(struct mlq_spoolsync *s)
{
    deferred_sync = s;
}

struct mlq_spoolsync *mlq_spoolmark_sync(void)
{
    return deferred_sync;
}

void mlq_spoolmark_use(struct mlq_spooljournal *j)
{
    journal = j;
}

static int join(char *buf, size_t len, const char *dir, const char *name, struct mlq_err *err)
{
    int n = snprintf(buf, len, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= len)
        return mlq_err_set(err, MLQ_ETOOBIG, "path too long: %s/%s", dir, name);
    return 0;
}

/* The attempt id of a folder of the journal's spool; NULL when there is no
 * journal or the folder is not an attempt's. */
static const char *journal_id(const char *dir)
{
    const char *slash = strrchr(dir, '/');
    const char *id = slash ? slash + 1 : dir;
    return journal && mlq_id_valid(id) ? id : NULL;
}

/* A journal record: durable now, or soon by the sync thread. */
static int journal_set(const char *id, unsigned flags, const struct mlq_upload_state *u,
                       struct mlq_err *err)
{
    int rc = mlq_spooljournal_set(journal, id, flags, u, err);
    if (rc < 0)
        return rc;
    if (deferred_sync) {
        mlq_spoolsync_queue(deferred_sync, mlq_spooljournal_path(journal));
        return 0;
    }
    return mlq_spooljournal_sync(journal, err);
}

/* A marker file (no journal): atomic now; durable now, or soon by the
 * sync thread. */
static int write_marker(const char *path, const void *data, size_t len, struct mlq_err *err)
{
    if (!deferred_sync)
        return mlq_fs_write_atomic(path, data, len, err);
    int rc = mlq_fs_write_replace(path, data, len, err);
    if (rc == 0)
        mlq_spoolsync_queue(deferred_sync, path);
    return rc;
}

static bool file_exists(const char *dir, const char *name)
{
    char path[MLQ_MAX_PATH];
    struct stat st;
    return join(path, sizeof path, dir, name, NULL) == 0 && stat(path, &st) == 0;
}

static const char *marker_name(enum mlq_report_phase phase)
{
    return phase == MLQ_PHASE_STARTED ? "acked_started" : "acked_finished";
}

static unsigned acked_flag(enum mlq_report_phase phase)
{
    return phase == MLQ_PHASE_STARTED ? MLQ_SJ_ACKED_STARTED : MLQ_SJ_ACKED_FINISHED;
}

int mlq_spool_mark_acked(const char *dir, enum mlq_report_phase phase, struct mlq_err *err)
{
    const char *id = journal_id(dir);
    if (id)
        return journal_set(id, acked_flag(phase), NULL, err);
    char path[MLQ_MAX_PATH];
    int rc = join(path, sizeof path, dir, marker_name(phase), err);
    if (rc < 0)
        return rc;
    return write_marker(path, "1\n", 2, err);
}

bool mlq_spool_is_acked(const char *dir, enum mlq_report_phase phase)
{
    const char *id = journal_id(dir);
    if (id && (mlq_spooljournal_get(journal, id, NULL, NULL) & acked_flag(phase)))
        return true;
    return file_exists(dir, marker_name(phase));
}

int mlq_spool_mark_uploaded(const char *dir, struct mlq_err *err)
{
    const char *id = journal_id(dir);
    if (id)
        return journal_set(id, MLQ_SJ_UPLOADED, NULL, err);
    char path[MLQ_MAX_PATH];
    int rc = join(path, sizeof path, dir, "logs_uploaded", err);
    if (rc < 0)
        return rc;
    return write_marker(path, "1\n", 2, err);
}

bool mlq_spool_is_uploaded(const char *dir)
{
    const char *id = journal_id(dir);
    if (id && (mlq_spooljournal_get(journal, id, NULL, NULL) & MLQ_SJ_UPLOADED))
        return true;
    return file_exists(dir, "logs_uploaded");
}

/* "stdout SKIPPED OFFSET DONE" then the same for stderr. */
int mlq_spool_write_upload(const char *dir, const struct mlq_upload_state *u, struct mlq_err *err)
{
    const char *id = journal_id(dir);
    if (id)
        return journal_set(id, 0, u, err);
    char path[MLQ_MAX_PATH], buf[UPLOAD_MAX];
    int rc = join(path, sizeof path, dir, "upload", err);
    if (rc < 0)
        return rc;
    int n = snprintf(buf, sizeof buf,
                     "stdout %" PRId64 " %" PRId64 " %d\nstderr %" PRId64 " %" PRId64 " %d\n",
                     u->skipped[0], u->offset[0], u->done[0] ? 1 : 0, u->skipped[1], u->offset[1],
                     u->done[1] ? 1 : 0);
    return write_marker(path, buf, (size_t)n, err);
}

static int read_upload_file(const char *dir, struct mlq_upload_state *u, struct mlq_err *err)
{
    char path[MLQ_MAX_PATH];
    int rc = join(path, sizeof path, dir, "upload", err);
    if (rc < 0)
        return rc;
    char *buf = NULL;
    if ((rc = mlq_fs_read_all(path, UPLOAD_MAX, &buf, NULL, err)) < 0)
        return rc;
    long long sk[2], off[2];
    int done[2];
    char extra;
    int n = sscanf(buf, "stdout %lld %lld %d stderr %lld %lld %d %c", &sk[0], &off[0], &done[0],
                   &sk[1], &off[1], &done[1], &extra);
    free(buf);
    if (n != 6 || sk[0] < 0 || sk[1] < 0 || off[0] < 0 || off[1] < 0)
        return mlq_err_set(err, MLQ_EINVAL, "%s: malformed", path);
    for (int i = 0; i < 2; i++) {
        u->skipped[i] = sk[i];
        u->offset[i] = off[i];
        u->done[i] = done[i] != 0;
    }
    return 0;
}

int mlq_spool_read_upload(const char *dir, struct mlq_upload_state *u, struct mlq_err *err)
{
    const char *id = journal_id(dir);
    if (id && (mlq_spooljournal_get(journal, id, u, NULL) & MLQ_SJ_UPLOAD))
        return 0;
    return read_upload_file(dir, u, err);
}
