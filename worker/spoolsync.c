/* spoolsync: see spoolsync.h. */
#include "spoolsync.h"

#include <pthread.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "bounds.h"
#include "fsutil.h"

struct mlq_spoolsync {
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t more, done; /* work queued; a batch finished */
    char **queue;              /* owned paths */
    size_t n, cap;
    bool busy, stopping;
    size_t synced;
    uint64_t queued; /* paths ever queued (tickets) */
};

/* fsync of each file, then of each distinct folder once. */
static void sync_batch(char **paths, size_t n)
{
    for (size_t i = 0; i < n; i++)
        mlq_fs_sync_path(paths[i], NULL);
    for (size_t i = 0; i < n; i++) {
        char *slash = strrchr(paths[i], '/');
        if (!slash || slash == paths[i])
            continue;
        *slash = '\0';
        bool seen = false;
        for (size_t j = 0; j < i && !seen; j++)
            seen = strcmp(paths[j], paths[i]) == 0;
        if (!seen)
            mlq_fs_sync_path(paths[i], NULL);
    }
    for (size_t i = 0; i < n; i++)
        free(paths[i]);
    free(paths);
}

static void *run(void *arg)
{
    struct mlq_spoolsync *s = arg;
    pthread_mutex_lock(&s->mu);
    for (;;) {
        while (s->n == 0 && !s->stopping)
            pthread_cond_wait(&s->more, &s->mu);
        if (s->n == 0)
            break;
        char **batch = s->queue;
        size_t n = s->n;
        s->queue = NULL;
        s->n = s->cap = 0;
        s->busy = true;
        pthread_mutex_unlock(&s->mu);
        sync_batch(batch, n);
        pthread_mutex_lock(&s->mu);
        s->busy = false;
        s->synced += n;
        pthread_cond_broadcast(&s->done);
    }
    pthread_mutex_unlock(&s->mu);
    return NULL;
}

int mlq_spoolsync_start(struct mlq_spoolsync **out, struct mlq_err *err)
{
    struct mlq_spoolsync *s = calloc(1, sizeof *s);
    if (!s)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    pthread_mutex_init(&s->mu, NULL);
    pthread_cond_init(&s->more, NULL);
    pthread_cond_init(&s->done, NULL);
    int rc = pthread_create(&s->thread, NULL, run, s);
    if (rc != 0) {
        free(s);
        return mlq_err_set(err, MLQ_EIO, "cannot start the spool's sync thread: %s", strerror(rc));
    }
    *out = s;
    return 0;
}

void mlq_spoolsync_queue(struct mlq_spoolsync *s, const char *path)
{
    pthread_mutex_lock(&s->mu);
    /* The journal is queued once per record: a copy still waiting in the
     * queue is synced after this write anyway. */
    if (s->n > 0 && strcmp(s->queue[s->n - 1], path) == 0) {
        pthread_mutex_unlock(&s->mu);
        return;
    }
    pthread_mutex_unlock(&s->mu);
    char *copy = strdup(path);
    pthread_mutex_lock(&s->mu);
    if (copy && s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 64;
        char **q = realloc(s->queue, cap * sizeof *q);
        if (q) {
            s->queue = q;
            s->cap = cap;
        }
    }
    bool queued = copy && s->n < s->cap;
    if (queued) {
        s->queue[s->n++] = copy;
        s->queued++;
        pthread_cond_signal(&s->more);
    }
    pthread_mutex_unlock(&s->mu);
    if (queued)
        return;
    free(copy);
    /* no memory for the queue: durable now, in the caller's time */
    char dir[MLQ_MAX_PATH];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    mlq_fs_sync_path(path, NULL);
    if (slash && slash != dir) {
        *slash = '\0';
        mlq_fs_sync_path(dir, NULL);
    }
}

void mlq_spoolsync_wait(struct mlq_spoolsync *s)
{
    pthread_mutex_lock(&s->mu);
    while (s->n > 0 || s->busy)
        pthread_cond_wait(&s->done, &s->mu);
    pthread_mutex_unlock(&s->mu);
}

void mlq_spoolsync_stop(struct mlq_spoolsync **sp)
{
    struct mlq_spoolsync *s = sp ? *sp : NULL;
    if (!s)
        return;
    pthread_mutex_lock(&s->mu);
    s->stopping = true;
    pthread_cond_signal(&s->more);
    pthread_mutex_unlock(&s->mu);
    pthread_join(s->thread, NULL);
    free(s->queue);
    pthread_mutex_destroy(&s->mu);
    pthread_cond_destroy(&s->more);
    pthread_cond_destroy(&s->done);
    free(s);
    *sp = NULL;
}

uint64_t mlq_spoolsync_ticket(struct mlq_spoolsync *s)
{
    pthread_mutex_lock(&s->mu);
    uint64_t t = s->queued;
    pthread_mutex_unlock(&s->mu);
    return t;
}

bool mlq_spoolsync_done(struct mlq_spoolsync *s, uint64_t ticket)
{
    /* Batches are taken whole and in order: every path queued before the
     * ticket was in a batch counted in synced. */
    pthread_mutex_lock(&s->mu);
    bool done = s->synced >= ticket;
    pthread_mutex_unlock(&s->mu);
    return done;
}

size_t mlq_spoolsync_count(struct mlq_spoolsync *s)
{
    pthread_mutex_lock(&s->mu);
    size_t n = s->synced;
    pthread_mutex_unlock(&s->mu);
    return n;
}
