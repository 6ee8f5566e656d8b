/* schedules: see schedules.h. */
#include "schedules.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cron.h"
#include "envname.h"
#include "jobops.h"
#include "log.h"
#include "pipeline.h"
#include "teams.h"

#define NEXT_SHOWN 5
#define RUNS_SHOWN 10

struct entry {
    char name[MLQ_MAX_NAME + 1];
    struct mlq_cron *cron;
    char *tz;
    bool paused;
    int64_t next_ms;
};

struct mlq_schedules {
    struct entry *v;
    size_t n, cap;
};

struct mlq_schedules *mlq_schedules_create(void)
{
    return calloc(1, sizeof(struct mlq_schedules));
}

static void entry_free(struct entry *e)
{
    mlq_cron_destroy(&e->cron);
    free(e->tz);
}

void mlq_schedules_destroy(struct mlq_schedules **s)
{
    if (!s || !*s)
        return;
    for (size_t i = 0; i < (*s)->n; i++)
        entry_free(&(*s)->v[i]);
    free((*s)->v);
    free(*s);
    *s = NULL;
}

static struct entry *find(struct mlq_schedules *s, const char *name)
{
    for (size_t i = 0; i < s->n; i++)
        if (strcmp(s->v[i].name, name) == 0)
            return &s->v[i];
    return NULL;
}

/* The first fire time after after_ms, 0 when the expression has none. */
static int64_t next_after(const struct entry *e, int64_t after_ms)
{
    int64_t next_s = 0;
    if (mlq_cron_next(e->cron, e->tz, after_ms / 1000, &next_s, NULL) < 0)
        return 0;
    return next_s * 1000;
}

static int add_entry(struct mlq_schedules *s, const struct mlq_store_schedule *row,
                     struct mlq_err *err)
{
    if (s->n == s->cap) {
        size_t cap = s->cap ? s->cap * 2 : 8;
        struct entry *v = realloc(s->v, cap * sizeof *v);
        if (!v)
            return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
        s->v = v;
        s->cap = cap;
    }
    struct entry *e = &s->v[s->n];
    memset(e, 0, sizeof *e);
    int rc = mlq_cron_parse(row->cron, &e->cron, err);
    if (rc < 0)
        return rc;
    if (row->timezone && !(e->tz = strdup(row->timezone))) {
        mlq_cron_destroy(&e->cron);
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    }
    snprintf(e->name, sizeof e->name, "%s", row->name);
    e->paused = row->paused;
    e->next_ms = row->next_fire_ms;
    s->n++;
    return 0;
}

static bool job_active(struct mlq_ctx *c, const char *id)
{
    const struct mlq_job *j = id[0] ? mlq_jobtab_get(c->jobs, id) : NULL;
    return j && !mlq_job_state_terminal(j->row.state);
}

static int env_push(struct mlq_jobspec *spec, const char *key, const char *value,
                    struct mlq_err *err)
{
    char *kv = NULL;
    char **env = realloc(spec->env, (spec->envc + 1) * sizeof *env);
    if (env)
        spec->env = env;
    if (!env || asprintf(&kv, "%s=%s", key, value) < 0)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    env[spec->envc++] = kv;
    return 0;
}

/* A run says which schedule and which fire time it is for, so that a
 * catch-up run knows which night it stands for; these names are the
 * scheduler's alone (envname.h), whatever the stored spec holds. */
static int put_schedule_env(struct mlq_jobspec *spec, const struct mlq_store_schedule *row,
                            int64_t fire_ms, struct mlq_err *err)
{
    char local[MLQ_CRON_ISO_LEN], utc[MLQ_CRON_ISO_LEN];
    int rc = mlq_cron_format(row->timezone, fire_ms / 1000, local, sizeof local, err);
    if (rc == 0)
        rc = mlq_cron_format(NULL, fire_ms / 1000, utc, sizeof utc, err);
    mlq_envname_strip_scheduler_set(spec);
    if (rc == 0)
        rc = env_push(spec, MLQ_ENV_SCHEDULE, row->name, err);
    if (rc == 0)
        rc = env_push(spec, MLQ_ENV_SCHEDULED_TIME, local, err);
    if (rc == 0)
        rc = env_push(spec, MLQ_ENV_SCHEDULED_TIME_UTC, utc, err);
    return rc;
}

/* Submits the schedule's job (or array) for the fire at fire_ms; id gets
 * what was created. */
static int submit_run(struct mlq_ctx *c, const struct mlq_store_schedule *row, int64_t fire_ms,
                      char id[MLQ_ID_LEN + 1], struct mlq_err *err)
{
    struct mlq_jobspec spec;
    int rc = mlq_proto_jobspec_copy(&spec, &row->spec, err);
    if (rc < 0)
        return rc;
    if (!spec.name && !(spec.name = strdup(row->name)))
        rc = mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    if (rc == 0) /* each run is submitted now: its owner's team now */
        rc = mlq_teams_set_job_team(c, &spec, err);
    if (rc == 0)
        rc = put_schedule_env(&spec, row, fire_ms, err);
    if (rc == 0)
        rc = spec.array ? mlq_pipeline_submit_array(c, &spec, id, err)
                        : mlq_jobops_submit(c, &spec, id, err);
    mlq_proto_jobspec_free(&spec);
    return rc;
}

/* One fire of e at fire_ms: applies the concurrency rule, submits, records
 * the run and the next fire time (after now: never several at once). */
static int fire(struct mlq_ctx *c, struct entry *e, int64_t fire_ms, struct mlq_err *err)
{
    struct mlq_store_schedule row;
    int rc = mlq_store_schedule_get(c->store, e->name, &row, err);
    if (rc < 0)
        return rc;
    char id[MLQ_ID_LEN + 1] = "";
    bool busy = job_active(c, row.last_job);
    if (busy && row.concurrency == MLQ_CONC_SKIP) {
        mlq_info("schedule %s: previous run %.8s still active, skipped", e->name, row.last_job);
    } else {
        struct mlq_job *prev = mlq_jobtab_get(c->jobs, row.last_job);
        if (busy && row.concurrency == MLQ_CONC_REPLACE)
            rc = mlq_jobops_cancel(c, prev, "cancelled: replaced by the next scheduled run", err);
        if (rc == 0)
            rc = submit_run(c, &row, fire_ms, id, err);
        if (rc == 0)
            rc = mlq_store_schedrun_add(c->store, e->name, fire_ms, id, err);
        if (rc == 0) {
            row.last_fire_ms = fire_ms;
            memcpy(row.last_job, id, sizeof row.last_job);
            mlq_info("schedule %s fired: job %.8s", e->name, id);
        }
    }
    e->next_ms = next_after(e, c->now_wall > fire_ms ? c->now_wall : fire_ms);
    row.next_fire_ms = e->next_ms;
    if (rc == 0)
        rc = mlq_store_schedule_save(c->store, &row, busy ? "skipped" : "fired", err);
    mlq_store_schedule_free(&row);
    return rc;
}

struct load_ctx {
    struct mlq_ctx *c;
    struct mlq_err *err;
};

static int load_one(const struct mlq_store_schedule *row, void *arg)
{
    struct load_ctx *l = arg;
    return add_entry(l->c->scheds, row, l->err);
}

/* A fire time missed while down: run it once if recent enough. */
static int catch_up(struct mlq_ctx *c, struct entry *e, struct mlq_err *err)
{
    struct mlq_store_schedule row;
    int rc = mlq_store_schedule_get(c->store, e->name, &row, err);
    if (rc < 0)
        return rc;
    int64_t missed = e->next_ms, window = row.catch_up_ms;
    mlq_store_schedule_free(&row);
    if (!e->paused && missed && missed <= c->now_wall && window > 0 &&
        c->now_wall - missed <= window) {
        mlq_info("schedule %s: catching up the run due at %lld", e->name, (long long)missed);
        return fire(c, e, missed, err);
    }
    if (!missed || missed <= c->now_wall)
        e->next_ms = next_after(e, c->now_wall);
    return 0;
}

int mlq_schedules_load(struct mlq_ctx *c, struct mlq_err *err)
{
    struct load_ctx l = {c, err};
    int rc = mlq_store_begin(c->store, err);
    if (rc == 0)
        rc = mlq_store_each_schedule(c->store, load_one, &l, err);
    for (size_t i = 0; rc == 0 && i < c->scheds->n; i++)
        rc = catch_up(c, &c->scheds->v[i], err);
    return rc;
}

int mlq_schedules_tick(struct mlq_ctx *c, struct mlq_err *err)
{
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < c->scheds->n; i++) {
        struct entry *e = &c->scheds->v[i];
        if (!e->paused && e->next_ms && e->next_ms <= c->now_wall) {
            rc = mlq_store_begin(c->store, err);
            if (rc == 0)
                rc = fire(c, e, e->next_ms, err);
        }
    }
    return rc;
}

static const char *const conc_names[] = {"skip", "allow", "replace"};

static int parse_concurrency(const char *s, enum mlq_concurrency *out, struct mlq_err *err)
{
    for (int i = 0; i < 3; i++)
        if (s && strcmp(s, conc_names[i]) == 0) {
            *out = (enum mlq_concurrency)i;
            return 0;
        }
    if (!s) {
        *out = MLQ_CONC_SKIP;
        return 0;
    }
    return mlq_err_set(err, MLQ_EINVAL, "concurrency must be allow, skip or replace");
}

static int check_name(const char *name, struct mlq_err *err)
{
    size_t n = name ? strlen(name) : 0;
    if (n == 0 || n > MLQ_MAX_NAME)
        return mlq_err_set(err, MLQ_EINVAL, "schedule name must be 1 to %d characters",
                           MLQ_MAX_NAME);
    for (const char *p = name; *p; p++)
        if (!((*p >= 'a' && *p <= 'z') || (*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9') ||
              *p == '_' || *p == '.' || *p == '-'))
            return mlq_err_set(err, MLQ_EINVAL, "schedule name may only use A-Z a-z 0-9 _ . -");
    return 0;
}

/* A run that submitted an array: its progress instead of the PENDING a
 * missing job row reads as. */
static int run_array_progress(struct mlq_ctx *c, struct mlq_schedrun *r, struct mlq_err *err)
{
    if (!r->array_size && mlq_jobtab_get(c->jobs, r->job_id))
        return 0; /* a job still in memory: not an array */
    struct mlq_arrayinfo a;
    int rc = mlq_store_array_info(c->store, r->job_id, &a, err);
    if (rc == MLQ_ENOTFOUND) {
        mlq_err_clear(err);
        return 0;
    }
    if (rc < 0)
        return rc;
    r->array_size = a.size;
    r->array_running = a.counts[MLQ_JOB_RUNNING] + a.counts[MLQ_JOB_ASSIGNED];
    r->array_ended = a.counts[MLQ_JOB_SUCCEEDED] + a.counts[MLQ_JOB_FAILED] +
                     a.counts[MLQ_JOB_CANCELLED] + a.counts[MLQ_JOB_TIMED_OUT];
    if (r->array_ended >= a.size)
        r->state = a.counts[MLQ_JOB_SUCCEEDED] == a.size ? MLQ_JOB_SUCCEEDED : MLQ_JOB_FAILED;
    else
        r->state = r->array_running > 0 ? MLQ_JOB_RUNNING : MLQ_JOB_PENDING;
    mlq_proto_arrayinfo_free(&a);
    return 0;
}

/* Fills a reply entry from the stored row and memory; strings point into
 * row and into the arrays allocated here (freed by free_info). The spec's
 * environment goes only to its owner and admins. */
static int fill_info(struct mlq_ctx *c, const struct mlq_store_schedule *row,
                     struct mlq_scheduleinfo *si, struct mlq_err *err)
{
    const struct entry *e = find(c->scheds, row->name);
    memset(si, 0, sizeof *si);
    si->name = (char *)row->name;
    si->cron = row->cron;
    si->timezone = row->timezone;
    si->spec = row->spec;
    if (!mlq_auth_owns(&c->who, row->spec.owner)) { /* env often holds tokens */
        si->spec.env = NULL;
        si->spec.envc = 0;
    }
    si->concurrency = (char *)conc_names[row->concurrency];
    si->catch_up_ms = row->catch_up_ms;
    si->paused = row->paused;
    si->next_fires = calloc(NEXT_SHOWN, sizeof *si->next_fires);
    if (!si->next_fires)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    int64_t t = c->now_wall;
    for (; e && !e->paused && si->nnext < NEXT_SHOWN; si->nnext++) {
        int64_t next = si->nnext == 0 && e->next_ms ? e->next_ms : next_after(e, t);
        if (!next)
            break;
        si->next_fires[si->nnext] = t = next;
    }
    int rc = mlq_store_schedrun_list(c->store, row->name, RUNS_SHOWN, &si->runs, &si->nruns, err);
    for (uint32_t i = 0; rc == 0 && i < si->nruns; i++)
        rc = run_array_progress(c, &si->runs[i], err);
    return rc;
}

static void free_info(struct mlq_scheduleinfo *si)
{
    free(si->next_fires);
    free(si->runs);
}

struct list_ctx {
    struct mlq_ctx *c;
    struct mlq_err *err;
    struct mlq_store_schedule *rows;
    uint32_t n, cap;
    const char *after; /* cursor: list only names after this one; NULL all */
};

static int collect_row(const struct mlq_store_schedule *row, void *arg)
{
    struct list_ctx *l = arg;
    if (l->n == l->cap || (l->after && strcmp(row->name, l->after) <= 0))
        return 0; /* rows come ordered by name */
    struct mlq_store_schedule *d = &l->rows[l->n];
    *d = *row;
    d->cron = strdup(row->cron);
    d->timezone = row->timezone ? strdup(row->timezone) : NULL;
    int rc = mlq_proto_jobspec_copy(&d->spec, &row->spec, l->err);
    l->n++;
    return rc;
}

/* A reply cut to its first n schedules goes on after the last one. */
static void cut_list(struct mlq_msg *m, uint32_t n, void *arg)
{
    (void)arg;
    m->u.schedule_list.next = m->u.schedule_list.schedules[n - 1].name;
}

/* Replies with the named schedule (or all when name is NULL, by name, those
 * after the cursor `after` when not NULL), as many as fit one reply. */
static int reply_list(struct mlq_ctx *c, const struct mlq_peer *peer, uint64_t rid,
                      const char *name, const char *after, struct mlq_err *err)
{
    struct list_ctx l = {c, err, NULL, 0, name ? 1 : (uint32_t)c->scheds->n, after};
    l.rows = calloc(l.cap ? l.cap : 1, sizeof *l.rows);
    struct mlq_scheduleinfo *v = calloc(l.cap ? l.cap : 1, sizeof *v);
    int rc = l.rows && v ? 0 : mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    if (rc == 0 && name) {
        rc = mlq_store_schedule_get(c->store, name, &l.rows[0], err);
        l.n = rc == 0;
    } else if (rc == 0) {
        rc = mlq_store_each_schedule(c->store, collect_row, &l, err);
    }
    uint32_t filled = 0;
    for (; rc == 0 && filled < l.n; filled++)
        rc = fill_info(c, &l.rows[filled], &v[filled], err);
    if (rc == 0) {
        struct mlq_msg m = {.type = MLQ_MSG_SCHEDULE_LIST, .rid = rid};
        m.u.schedule_list.schedules = v;
        m.u.schedule_list.nschedules = l.n;
        rc = mlq_outbox_reply_fit(c->out, peer, &m, &m.u.schedule_list.nschedules, cut_list, NULL,
                                  err);
    }
    for (uint32_t i = 0; i < l.n; i++) {
        if (i < filled)
            free_info(&v[i]);
        mlq_store_schedule_free(&l.rows[i]);
    }
    free(l.rows);
    free(v);
    return rc;
}

static int check_add(const struct mlq_scheduleinfo *si, struct mlq_store_schedule *row,
                     struct mlq_err *err)
{
    struct mlq_cron *cron = NULL;
    int rc = check_name(si->name, err);
    if (rc == 0)
        rc = mlq_cron_parse(si->cron ? si->cron : "", &cron, err);
    mlq_cron_destroy(&cron);
    if (rc == 0)
        rc = mlq_cron_check_tz(si->timezone, err);
    if (rc == 0)
        rc = mlq_proto_jobspec_check(&si->spec, err);
    if (rc == 0) /* room for the run's MLQ_SCHEDULE* */
        rc = mlq_envname_check_user(si->spec.env, si->spec.envc, err);
    if (rc == 0 && si->spec.held_by) /* every run would wait for a release */
        rc = mlq_err_set(err, MLQ_EINVAL,
                         "a schedule cannot submit held jobs (--hold): pause the schedule instead");
    if (rc == 0)
        rc = parse_concurrency(si->concurrency, &row->concurrency, err);
    return rc;
}

int mlq_schedules_on_add(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                         struct mlq_err *err)
{
    struct mlq_scheduleinfo *si = &msg->u.schedule_add.sched;
    struct mlq_store_schedule row = {0};
    int rc = mlq_client_set_owner(c, &si->spec, err);
    if (rc == 0)
        rc = check_add(si, &row, err);
    if (rc < 0)
        return rc;
    if (find(c->scheds, si->name))
        return mlq_err_set(err, MLQ_EINVAL, "schedule %s exists", si->name);
    snprintf(row.name, sizeof row.name, "%s", si->name);
    row.cron = si->cron;
    row.timezone = si->timezone && si->timezone[0] ? si->timezone : NULL;
    row.spec = si->spec;
    row.catch_up_ms = si->catch_up_ms; /* 0: never catch up (absent = 1 h, by the decoder) */
    row.paused = si->paused;
    row.created_ms = c->now_wall;
    if ((rc = add_entry(c->scheds, &row, err)) < 0)
        return rc;
    struct entry *e = &c->scheds->v[c->scheds->n - 1];
    row.next_fire_ms = e->next_ms = next_after(e, c->now_wall);
    rc = mlq_store_begin(c->store, err);
    if (rc == 0)
        rc = mlq_store_schedule_save(c->store, &row, "added", err);
    if (rc < 0)
        return rc;
    mlq_info("schedule %s added: \"%s\" %s", row.name, row.cron,
             row.timezone ? row.timezone : "UTC");
    return reply_list(c, peer, msg->rid, row.name, NULL, err);
}

static int set_paused(struct mlq_ctx *c, struct entry *e, bool paused, struct mlq_err *err)
{
    struct mlq_store_schedule row;
    int rc = mlq_store_schedule_get(c->store, e->name, &row, err);
    if (rc < 0)
        return rc;
    row.paused = e->paused = paused;
    if (!paused) /* resuming does not replay what was missed while paused */
        row.next_fire_ms = e->next_ms = next_after(e, c->now_wall);
    rc = mlq_store_begin(c->store, err);
    if (rc == 0)
        rc = mlq_store_schedule_save(c->store, &row, paused ? "paused" : "resumed", err);
    mlq_store_schedule_free(&row);
    return rc;
}

static int remove_entry(struct mlq_ctx *c, struct entry *e, struct mlq_err *err)
{
    int rc = mlq_store_begin(c->store, err);
    if (rc == 0)
        rc = mlq_store_schedule_delete(c->store, e->name, err);
    if (rc < 0)
        return rc;
    entry_free(e);
    *e = c->scheds->v[--c->scheds->n];
    return 0;
}

static int check_schedule_owner(struct mlq_ctx *c, const char *name, struct mlq_err *err)
{
    struct mlq_store_schedule row;
    int rc = mlq_store_schedule_get(c->store, name, &row, err);
    if (rc == 0 && !mlq_auth_owns(&c->who, row.spec.owner))
        rc = mlq_err_set(err, MLQ_EPERM,
                         "schedule %s is %.40s's: only they or an admin may change it (you are "
                         "%.40s)",
                         name, row.spec.owner ? row.spec.owner : "someone else", c->who.name);
    if (rc == 0 || rc == MLQ_EPERM)
        mlq_store_schedule_free(&row);
    return rc;
}

int mlq_schedules_on_cmd(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                         struct mlq_err *err)
{
    const char *name = msg->u.schedule_cmd.name ? msg->u.schedule_cmd.name : "";
    const char *op = msg->u.schedule_cmd.op ? msg->u.schedule_cmd.op : "";
    struct entry *e = find(c->scheds, name);
    if (!e)
        return mlq_err_set(err, MLQ_ENOTFOUND, "no schedule named \"%.64s\"", name);
    int rc = check_schedule_owner(c, name, err);
    if (rc < 0)
        return rc;
    char keep[MLQ_MAX_NAME + 1];
    snprintf(keep, sizeof keep, "%s", e->name);
    if (strcmp(op, "pause") == 0 || strcmp(op, "resume") == 0) {
        rc = set_paused(c, e, op[0] == 'p', err);
    } else if (strcmp(op, "run_now") == 0) {
        rc = mlq_store_begin(c->store, err);
        if (rc == 0)
            rc = fire(c, e, c->now_wall, err);
    } else if (strcmp(op, "rm") == 0) {
        if ((rc = remove_entry(c, e, err)) < 0)
            return rc;
        struct mlq_msg m = {.type = MLQ_MSG_SCHEDULE_LIST, .rid = msg->rid}; /* empty */
        return mlq_outbox_reply(c->out, peer, &m, err);
    } else {
        return mlq_err_set(err, MLQ_EINVAL, "unknown schedule operation \"%.32s\"", op);
    }
    return rc < 0 ? rc : reply_list(c, peer, msg->rid, keep, NULL, err);
}

int mlq_schedules_on_list(struct mlq_ctx *c, const struct mlq_peer *peer, struct mlq_msg *msg,
                          struct mlq_err *err)
{
    const char *name = msg->u.schedules.name;
    if (name && !find(c->scheds, name))
        return mlq_err_set(err, MLQ_ENOTFOUND, "no schedule named \"%.64s\"", name);
    return reply_list(c, peer, msg->rid, name, msg->u.schedules.cursor, err);
}
