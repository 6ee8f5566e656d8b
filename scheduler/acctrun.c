/* acctrun: see acctrun.h. */
#include "acctrun.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "log.h"

struct slot {
    bool running; /* a thread exists (loop thread only) */
    pthread_t thread;
    atomic_bool done; /* set by the thread after everything below */
    /* The request: written by the loop before the thread starts. */
    const char *db_path;
    struct mlq_peer client;
    uint64_t rid;
    struct mlq_acct_query q;
    /* The result: written by the thread before done. */
    int rc;
    struct mlq_err err;
    struct mlq_acctrow *rows;
    uint32_t nrows;
};

struct mlq_acctrun {
    char *db_path;
    struct slot slots[MLQ_ACCTRUN_SLOTS];
};

struct mlq_acctrun *mlq_acctrun_create(const char *db_path)
{
    struct mlq_acctrun *r = calloc(1, sizeof *r);
    if (r && !(r->db_path = strdup(db_path))) {
        free(r);
        r = NULL;
    }
    return r;
}

void mlq_acctrun_destroy(struct mlq_acctrun **rp)
{
    struct mlq_acctrun *r = rp ? *rp : NULL;
    if (!r)
        return;
    for (int i = 0; i < MLQ_ACCTRUN_SLOTS; i++)
        if (r->slots[i].running) {
            pthread_join(r->slots[i].thread, NULL);
            free(r->slots[i].rows);
        }
    free(r->db_path);
    free(r);
    *rp = NULL;
}

static void *run(void *arg)
{
    struct slot *s = arg;
    s->rc = mlq_store_acct_report_file(s->db_path, &s->q, &s->rows, &s->nrows, &s->err);
    atomic_store_explicit(&s->done, true, memory_order_release);
    return NULL;
}

int mlq_acctrun_start(struct mlq_acctrun *r, const struct mlq_peer *peer, uint64_t rid,
                      const struct mlq_acct_query *q, struct mlq_err *err)
{
    struct slot *s = NULL;
    for (int i = 0; !s && i < MLQ_ACCTRUN_SLOTS; i++)
        if (!r->slots[i].running)
            s = &r->slots[i];
    if (!s)
        return mlq_err_set(err, MLQ_ESTATE, "%d usage reports are being computed; try again soon",
                           MLQ_ACCTRUN_SLOTS);
    *s = (struct slot){.db_path = r->db_path, .client = *peer, .rid = rid, .q = *q};
    atomic_store(&s->done, false);
    int prc = pthread_create(&s->thread, NULL, run, s);
    if (prc != 0)
        return mlq_err_set(err, MLQ_ENOMEM, "cannot start a usage report: %s", strerror(prc));
    s->running = true;
    return 0;
}

static void answer(struct mlq_ctx *c, struct slot *s)
{
    struct mlq_msg m = {.rid = s->rid};
    if (s->rc < 0) {
        mlq_warn("usage report failed: %s", s->err.msg);
        m.type = MLQ_MSG_ERROR;
        m.u.error.code = s->rc;
        m.u.error.msg = s->err.msg;
    } else {
        m.type = MLQ_MSG_ACCT_REPORT;
        m.u.acct_report.since_ms = s->q.since_ms;
        m.u.acct_report.until_ms = s->q.until_ms;
        m.u.acct_report.by = s->q.by;
        m.u.acct_report.rows = s->rows;
        m.u.acct_report.nrows = s->nrows;
    }
    mlq_outbox_reply(c->out, &s->client, &m, NULL);
}

void mlq_acctrun_poll(struct mlq_ctx *c)
{
    struct mlq_acctrun *r = c->acctrun;
    for (int i = 0; r && i < MLQ_ACCTRUN_SLOTS; i++) {
        struct slot *s = &r->slots[i];
        if (!s->running || !atomic_load_explicit(&s->done, memory_order_acquire))
            continue;
        pthread_join(s->thread, NULL);
        s->running = false;
        answer(c, s);
        free(s->rows);
        s->rows = NULL;
    }
}
