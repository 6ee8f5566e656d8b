/* backup: see backup.h. */
#include "backup.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "dbcopy.h"
#include "log.h"

struct mlq_backup {
    char *db_path;
    bool running; /* a thread exists (loop thread only) */
    pthread_t thread;
    atomic_bool stop;
    atomic_bool done; /* set by the thread after everything below */
    /* The request: written by the loop before the thread starts. */
    struct mlq_peer client;
    uint64_t rid;
    char dest[MLQ_MAX_PATH + 1];
    /* The result: written by the thread before done. */
    int rc;
    struct mlq_err err;
    struct mlq_dbcopy_info info;
};

struct mlq_backup *mlq_backup_create(const char *db_path)
{
    struct mlq_backup *b = calloc(1, sizeof *b);
    if (b && !(b->db_path = strdup(db_path))) {
        free(b);
        b = NULL;
    }
    return b;
}

void mlq_backup_destroy(struct mlq_backup **bp)
{
    struct mlq_backup *b = bp ? *bp : NULL;
    if (!b)
        return;
    if (b->running) {
        atomic_store(&b->stop, true);
        pthread_join(b->thread, NULL);
    }
    free(b->db_path);
    free(b);
    *bp = NULL;
}

static void *run(void *arg)
{
    struct mlq_backup *b = arg;
    b->rc = mlq_dbcopy_backup(b->db_path, b->dest, &b->stop, &b->info, &b->err);
    atomic_store_explicit(&b->done, true, memory_order_release);
    return NULL;
}

int mlq_backup_on_request(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                          struct mlq_err *err)
{
    struct mlq_backup *b = c->backup;
    if (!b)
        return mlq_err_set(err, MLQ_ESTATE, "backups are not available in this scheduler");
    if (b->running)
        return mlq_err_set(err, MLQ_ESTATE, "a backup to %.100s is already running; try later",
                           b->dest);
    b->client = *peer;
    b->rid = msg->rid;
    snprintf(b->dest, sizeof b->dest, "%s", msg->u.backup.path);
    mlq_err_clear(&b->err);
    atomic_store(&b->stop, false);
    atomic_store(&b->done, false);
    int prc = pthread_create(&b->thread, NULL, run, b);
    if (prc != 0)
        return mlq_err_set(err, MLQ_ENOMEM, "cannot start the backup thread: %s", strerror(prc));
    b->running = true;
    mlq_info("backup to %s started by %s", b->dest,
             c->who.name[0] ? c->who.name : "an unnamed client (--insecure)");
    return 0; /* answered by mlq_backup_poll */
}

void mlq_backup_poll(struct mlq_ctx *c)
{
    struct mlq_backup *b = c->backup;
    if (!b || !b->running || !atomic_load_explicit(&b->done, memory_order_acquire))
        return;
    pthread_join(b->thread, NULL);
    b->running = false;
    struct mlq_msg m = {.rid = b->rid};
    if (b->rc < 0) {
        mlq_warn("backup to %s failed: %s", b->dest, b->err.msg);
        m.type = MLQ_MSG_ERROR;
        m.u.error.code = b->rc;
        m.u.error.msg = b->err.msg;
    } else {
        mlq_info("backup to %s: %lld bytes, %lld pages, schema %d, %lld ms, integrity %s", b->dest,
                 (long long)b->info.size, (long long)b->info.pages, b->info.schema,
                 (long long)b->info.duration_ms, b->info.integrity);
        m.type = MLQ_MSG_BACKUP_DONE;
        m.u.backup_done.path = b->dest;
        m.u.backup_done.size = b->info.size;
        m.u.backup_done.pages = b->info.pages;
        m.u.backup_done.page_size = b->info.page_size;
        m.u.backup_done.duration_ms = b->info.duration_ms;
        m.u.backup_done.schema = b->info.schema;
        m.u.backup_done.integrity = b->info.integrity;
    }
    mlq_outbox_reply(c->out, &b->client, &m, NULL);
}
