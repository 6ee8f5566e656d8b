/* storeevent: the append-only events history: every job and attempt state
 * change, and whatever else the scheduler records (workers coming and going,
 * keys, schedules), each stamped with the actor who caused it. See store.h
 * for the API; the invariants of store.c hold here. */
#include <stdio.h>
#include <stdlib.h>

#include "clock.h"
#include "storeint.h"

enum estmt { E_ADD, E_COUNT };

static const char *const esql[E_COUNT] = {
    /* job_seq is NULL for ids of no job (arrays) */
    [E_ADD] = "INSERT INTO events (time_ms, kind, job_id, attempt_id, worker, from_state,"
              " to_state, detail, actor, job_seq) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8,"
              " ?9, COALESCE(?10, (SELECT seq FROM jobs WHERE id = ?3)))",
};

struct mlq_storeevent {
    sqlite3_stmt *stmt[E_COUNT];
    char actor[MLQ_STORE_ACTOR_MAX]; /* who causes the events now; "" = nobody */
};

int mlq_storeevent_open(sqlite3 *db, struct mlq_storeevent **out, struct mlq_err *err)
{
    struct mlq_storeevent *p = calloc(1, sizeof *p);
    *out = NULL;
    if (!p)
        return mlq_err_set(err, MLQ_ENOMEM, "preparing statements: out of memory");
    int rc = mlq_storei_prepare(db, esql, E_COUNT, p->stmt, err);
    if (rc < 0) {
        free(p);
        return rc;
    }
    *out = p;
    return 0;
}

void mlq_storeevent_close(struct mlq_storeevent **pp)
{
    if (!pp || !*pp)
        return;
    mlq_storei_finalize((*pp)->stmt, E_COUNT);
    free(*pp);
    *pp = NULL;
}

void mlq_store_set_actor(struct mlq_store *st, const char *actor)
{
    struct mlq_storeevent *e = mlq_storei_event(st);
    snprintf(e->actor, sizeof e->actor, "%s", actor ? actor : "");
}

int mlq_storei_event_insert(struct mlq_store *st, const struct mlq_storei_event *ev,
                            struct mlq_err *err)
{
    struct mlq_storeevent *e = mlq_storei_event(st);
    sqlite3_stmt *s = e->stmt[E_ADD];
    int rc = sqlite3_bind_int64(s, 1, mlq_clock_wall_ms());
    rc |= sqlite3_bind_text(s, 2, ev->kind, -1, SQLITE_STATIC);
    rc |= mlq_storei_bind_opt(s, 3, ev->job_id);
    rc |= mlq_storei_bind_opt(s, 4, ev->attempt_id);
    rc |= mlq_storei_bind_opt(s, 5, ev->worker);
    rc |= mlq_storei_bind_opt(s, 6, ev->from);
    rc |= mlq_storei_bind_opt(s, 7, ev->to);
    rc |= mlq_storei_bind_opt(s, 8, ev->detail);
    rc |= mlq_storei_bind_opt(s, 9, e->actor);
    rc |= ev->job_seq > 0 ? sqlite3_bind_int64(s, 10, ev->job_seq) : sqlite3_bind_null(s, 10);
    if (rc != SQLITE_OK) {
        mlq_storei_finish(s);
        return mlq_storei_bind_err(rc, err, "adding event");
    }
    return mlq_storei_exec_stmt(st, s, "adding event", err);
}

int mlq_store_event_add(struct mlq_store *st, const char *kind, const char *job_id,
                        const char *attempt_id, const char *worker, const char *detail,
                        struct mlq_err *err)
{
    if (!kind || !*kind)
        return mlq_err_set(err, MLQ_EINVAL, "event without a kind");
    int rc = mlq_storei_tx_check(st, err);
    if (rc < 0)
        return rc;
    struct mlq_storei_event ev = {.kind = kind,
                                  .job_id = job_id,
                                  .attempt_id = attempt_id,
                                  .worker = worker,
                                  .detail = detail};
    return mlq_storei_event_insert(st, &ev, err);
}
