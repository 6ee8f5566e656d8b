/* ckpt: see ckpt.h. */
#include "ckpt.h"

#include <errno.h>
#include <pthread.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdlib.h>
#include <time.h>

#include "log.h"

#define IDLE_MS 5000 /* checkpoint at least this often while anything is written */
/* ... and at most this often: every commit past the threshold nudges, and
 * each checkpoint costs two fsyncs that compete with the writer's own. */
#define GAP_MS 100

struct mlq_ckpt {
    sqlite3 *db;
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    bool nudged, stop;
    unsigned long count;
};

static void deadline_in(struct timespec *ts, int ms)
{
    clock_gettime(CLOCK_MONOTONIC, ts);
    ts->tv_sec += ms / 1000;
    ts->tv_nsec += (long)(ms % 1000) * 1000000L;
    if (ts->tv_nsec >= 1000000000L) {
        ts->tv_sec++;
        ts->tv_nsec -= 1000000000L;
    }
}

/* Waits for a nudge, the idle period or stop; returns false on stop. */
static bool wait_turn(struct mlq_ckpt *ck)
{
    struct timespec ts;
    deadline_in(&ts, IDLE_MS);
    pthread_mutex_lock(&ck->mu);
    while (!ck->nudged && !ck->stop)
        if (pthread_cond_timedwait(&ck->cv, &ck->mu, &ts) == ETIMEDOUT)
            break;
    bool go = !ck->stop;
    ck->nudged = false;
    pthread_mutex_unlock(&ck->mu);
    return go;
}

/* Sleeps GAP_MS unless stopped; returns false on stop. */
static bool pause_gap(struct mlq_ckpt *ck)
{
    struct timespec ts;
    deadline_in(&ts, GAP_MS);
    pthread_mutex_lock(&ck->mu);
    while (!ck->stop)
        if (pthread_cond_timedwait(&ck->cv, &ck->mu, &ts) == ETIMEDOUT)
            break;
    bool go = !ck->stop;
    pthread_mutex_unlock(&ck->mu);
    return go;
}

static void *run(void *arg)
{
    struct mlq_ckpt *ck = arg;
    while (pause_gap(ck) && wait_turn(ck)) {
        int log_frames = 0, done = 0;
        int rc =
            sqlite3_wal_checkpoint_v2(ck->db, NULL, SQLITE_CHECKPOINT_PASSIVE, &log_frames, &done);
        /* BUSY: another checkpoint or a recovery holds it; next turn. */
        if (rc != SQLITE_OK && rc != SQLITE_BUSY)
            mlq_warn("WAL checkpoint: %s", sqlite3_errmsg(ck->db));
        pthread_mutex_lock(&ck->mu);
        ck->count++;
        pthread_mutex_unlock(&ck->mu);
    }
    return NULL;
}

static int open_db(const char *path, sqlite3 **db, struct mlq_err *err)
{
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX;
    if (sqlite3_open_v2(path, db, flags, NULL) != SQLITE_OK) {
        int rc = mlq_err_set(err, MLQ_EDB, "checkpointer: opening %s: %s", path,
                             *db ? sqlite3_errmsg(*db) : "out of memory");
        sqlite3_close(*db);
        *db = NULL;
        return rc;
    }
    /* Its own checkpoints only (it never writes, so this is for clarity),
     * and the same durability as the writer's connection. */
    char *msg = NULL;
    if (sqlite3_exec(*db, "PRAGMA wal_autocheckpoint = 0; PRAGMA synchronous = FULL;", NULL, NULL,
                     &msg) != SQLITE_OK) {
        int rc = mlq_err_set(err, MLQ_EDB, "checkpointer: %s", msg ? msg : "pragma failed");
        sqlite3_free(msg);
        sqlite3_close(*db);
        *db = NULL;
        return rc;
    }
    return 0;
}

int mlq_ckpt_create(const char *path, struct mlq_ckpt **out, struct mlq_err *err)
{
    *out = NULL;
    struct mlq_ckpt *ck = calloc(1, sizeof *ck);
    if (!ck)
        return mlq_err_set(err, MLQ_ENOMEM, "checkpointer: out of memory");
    int rc = open_db(path, &ck->db, err);
    if (rc < 0) {
        free(ck);
        return rc;
    }
    pthread_condattr_t ca;
    pthread_condattr_init(&ca);
    pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
    pthread_cond_init(&ck->cv, &ca);
    pthread_condattr_destroy(&ca);
    pthread_mutex_init(&ck->mu, NULL);
    int e = pthread_create(&ck->thread, NULL, run, ck);
    if (e != 0) {
        pthread_cond_destroy(&ck->cv);
        pthread_mutex_destroy(&ck->mu);
        sqlite3_close(ck->db);
        free(ck);
        return mlq_err_set(err, MLQ_ENOMEM, "checkpointer: starting thread: error %d", e);
    }
    *out = ck;
    return 0;
}

void mlq_ckpt_nudge(struct mlq_ckpt *ck)
{
    pthread_mutex_lock(&ck->mu);
    ck->nudged = true;
    pthread_cond_signal(&ck->cv);
    pthread_mutex_unlock(&ck->mu);
}

unsigned long mlq_ckpt_count(struct mlq_ckpt *ck)
{
    pthread_mutex_lock(&ck->mu);
    unsigned long n = ck->count;
    pthread_mutex_unlock(&ck->mu);
    return n;
}

void mlq_ckpt_destroy(struct mlq_ckpt **ckp)
{
    struct mlq_ckpt *ck = ckp ? *ckp : NULL;
    if (!ck)
        return;
    pthread_mutex_lock(&ck->mu);
    ck->stop = true;
    pthread_cond_signal(&ck->cv);
    pthread_mutex_unlock(&ck->mu);
    pthread_join(ck->thread, NULL);
    pthread_cond_destroy(&ck->cv);
    pthread_mutex_destroy(&ck->mu);
    sqlite3_close(ck->db);
    free(ck);
    *ckp = NULL;
}
