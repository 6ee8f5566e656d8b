/* preemptrun: see preemptrun.h. */
#include "preemptrun.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "gang.h"
#include "jobops.h"
#include "jobops_int.h"
#include "log.h"
#include "placement.h"
#include "preempt.h"
#include "res.h"

/* ---- submit ----------------------------------------------------------- */

void mlq_preempt_spec_fill(const struct mlq_ctx *c, struct mlq_jobspec *spec)
{
    free(spec->preempt_note); /* the scheduler's own, never a client's */
    spec->preempt_note = NULL;
    spec->preemptions = 0;
    if (spec->preempt_grace_ms <= 0)
        spec->preempt_grace_ms = c->preempt_grace_default_ms;
    if (spec->preempt_grace_ms > c->preempt_grace_max_ms) /* a schedule's older spec */
        spec->preempt_grace_ms = c->preempt_grace_max_ms;
}

int mlq_preempt_spec_check(struct mlq_ctx *c, struct mlq_jobspec *spec, struct mlq_err *err)
{
    if (spec->preempt_grace_ms > c->preempt_grace_max_ms) {
        char want[32], max[32];
        return mlq_err_set(err, MLQ_EINVAL,
                           "--preempt-grace %s is more than the %s this scheduler allows "
                           "(--preempt-grace-max)",
                           mlq_res_fmt_duration(spec->preempt_grace_ms, want, sizeof want),
                           mlq_res_fmt_duration(c->preempt_grace_max_ms, max, sizeof max));
    }
    mlq_preempt_spec_fill(c, spec);
    return 0;
}

/* ---- the end of a preempted attempt ---------------------------------- */

bool mlq_preempt_ended(const struct mlq_job *job, const struct mlq_msg *rep)
{
    enum mlq_outcome o = rep->u.report.outcome;
    if (!job->row.spec.preempt_note || mlq_job_state_terminal(job->row.state))
        return false;
    if (o != MLQ_OUT_EXITED && o != MLQ_OUT_SIGNALED)
        return false; /* a time limit, a start failure or a loss: its own rules */
    /* Exit 0 before any signal of ours: it finished by itself. */
    return !(o == MLQ_OUT_EXITED && rep->u.report.exit_code == 0 && rep->u.report.signal == 0);
}

int mlq_preempt_clear(struct mlq_ctx *c, struct mlq_job *job, const char *kind, const char *detail,
                      struct mlq_err *err)
{
    free(job->row.spec.preempt_note);
    job->row.spec.preempt_note = NULL;
    int rc = mlq_store_begin(c->store, err);
    return rc < 0 ? rc : mlq_store_job_respec(c->store, &job->row, kind, detail, err);
}

int mlq_preempt_requeue(struct mlq_ctx *c, struct mlq_job *job, struct mlq_err *err)
{
    char reason[MLQ_PREEMPT_NOTE_MAX + 16];
    snprintf(reason, sizeof reason, "requeued: %s", job->row.spec.preempt_note);
    job->row.spec.preemptions++;
    job->row.not_before_ms = 0;
    int rc = mlq_preempt_clear(c, job, "preempted", reason, err);
    enum mlq_fsm_action act;
    if (rc == 0)
        rc = mlq_jobops_transition(c, job, MLQ_EV_PREEMPT, reason, &act, err);
    return rc < 0 ? rc : mlq_jobops_enqueue(c, job, err);
}

/* ---- holds -------------------------------------------------------------- */

/* Drops the holds that ran out. */
static void expire_holds(struct mlq_ctx *c)
{
    size_t k = 0;
    for (size_t i = 0; i < c->nholds; i++)
        if (c->holds[i].until_mono > c->now_mono)
            c->holds[k++] = c->holds[i];
    c->nholds = k;
}

bool mlq_preempt_any_hold(struct mlq_ctx *c)
{
    expire_holds(c);
    return c->nholds > 0;
}

static bool holds_for(struct mlq_ctx *c, const struct mlq_job *job)
{
    for (size_t i = 0; i < c->nholds; i++)
        if (strcmp(c->holds[i].job, job->row.id) == 0)
            return true;
    return false;
}

bool mlq_preempt_allows(struct mlq_ctx *c, const struct mlq_worker *w, const struct mlq_job *job)
{
    size_t widx = mlq_workers_index(c->workers, w);
    for (size_t i = 0; i < c->nholds; i++)
        if (c->holds[i].widx == widx && strcmp(c->holds[i].job, job->row.id) != 0)
            return false;
    return true;
}

void mlq_preempt_release(struct mlq_ctx *c, const struct mlq_job *job)
{
    size_t k = 0;
    for (size_t i = 0; i < c->nholds; i++)
        if (strcmp(c->holds[i].job, job->row.id) != 0)
            c->holds[k++] = c->holds[i];
    c->nholds = k;
}

bool mlq_preempt_why(struct mlq_ctx *c, const struct mlq_job *job, char *buf, size_t len)
{
    for (size_t i = 0; i < c->nholds; i++) {
        const struct mlq_preempt_hold *h = &c->holds[i];
        if (h->until_mono <= c->now_mono || strcmp(h->job, job->row.id) != 0)
            continue;
        time_t t = (time_t)(h->grace_end_wall / 1000);
        struct tm tm;
        char at[16];
        localtime_r(&t, &tm);
        strftime(at, sizeof at, "%H:%M:%S", &tm);
        snprintf(buf, len,
                 "waiting for job %.8s (%s%s) to end its preemption grace, at most until %s",
                 h->victim, h->victim_team[0] ? "team " : "no team", h->victim_team, at);
        return true;
    }
    return false;
}

/* The victim whose grace ends last names the wait in `mlq why`. */
static void hold_victim(struct mlq_ctx *c, struct mlq_preempt_hold *h,
                        const struct mlq_preempt_victim *v, size_t n)
{
    const struct mlq_job *last = NULL;
    for (size_t i = 0; i < n; i++)
        if (!last || v[i].job->row.spec.preempt_grace_ms > last->row.spec.preempt_grace_ms)
            last = v[i].job;
    h->victim[0] = h->victim_team[0] = '\0';
    h->grace_end_wall = c->now_wall;
    if (!last)
        return;
    snprintf(h->victim, sizeof h->victim, "%s", last->row.id);
    snprintf(h->victim_team, sizeof h->victim_team, "%s",
             last->row.spec.team ? last->row.spec.team : "");
    h->grace_end_wall = c->now_wall + last->row.spec.preempt_grace_ms;
}

static void add_hold(struct mlq_ctx *c, const struct mlq_job *job, size_t widx, int64_t until,
                     const struct mlq_preempt_victim *victims, size_t n)
{
    if (c->nholds == c->cap_holds) {
        size_t cap = c->cap_holds ? c->cap_holds * 2 : 8;
        struct mlq_preempt_hold *v = realloc(c->holds, cap * sizeof *v);
        if (!v) {
            mlq_warn("out of memory: the room freed for job %.8s is not held", job->row.id);
            return;
        }
        c->holds = v;
        c->cap_holds = cap;
    }
    struct mlq_preempt_hold *h = &c->holds[c->nholds++];
    memcpy(h->job, job->row.id, sizeof h->job);
    h->widx = widx;
    h->until_mono = until;
    hold_victim(c, h, victims, n);
}

/* ---- the fit test ------------------------------------------------------ */

struct fit {
    struct mlq_ctx *c;
    struct mlq_request r;    /* the waiting job's */
    struct mlq_worker *copy; /* the victims' workers, their resources freed */
    size_t *widx, n, cap;
    size_t found; /* the worker where it fits */
};

static struct mlq_worker *copy_of(struct fit *f, size_t widx)
{
    for (size_t i = 0; i < f->n; i++)
        if (f->widx[i] == widx)
            return &f->copy[i];
    struct mlq_worker *w = mlq_workers_at(f->c->workers, widx);
    if (!w || f->n == f->cap)
        return NULL;
    f->widx[f->n] = widx;
    f->copy[f->n] = *w; /* counters only are changed on the copy */
    return &f->copy[f->n++];
}

static void free_on_copy(struct fit *f, size_t widx, const struct mlq_request *r, uint64_t mask)
{
    struct mlq_worker *w = copy_of(f, widx);
    if (w)
        mlq_place_release(w, r, mask);
}

/* A gang victim frees every part it still books. */
static void free_victim(struct fit *f, const struct mlq_job *v)
{
    struct mlq_request r = mlq_place_request(&v->row.spec);
    if (!mlq_job_gang(v)) {
        free_on_copy(f, mlq_job_run(v)->widx, &r, mlq_job_run(v)->gpu_mask);
        return;
    }
    for (uint32_t k = 0; k < mlq_job_gang(v)->n; k++)
        if (mlq_job_gang(v)->parts[k].booked)
            free_on_copy(f, mlq_job_gang(v)->parts[k].widx, &r, mlq_job_gang(v)->parts[k].gpu_mask);
}

static bool fits(void *arg, const struct mlq_preempt_victim *v, size_t n)
{
    struct fit *f = arg;
    f->n = 0;
    for (size_t i = 0; i < n; i++)
        free_victim(f, v[i].job);
    for (size_t i = 0; i < f->n; i++) {
        const struct mlq_worker *w = mlq_workers_at(f->c->workers, f->widx[i]);
        if (w && mlq_place_open(w) && mlq_place_fits_now(&f->copy[i], &f->r)) {
            f->found = f->widx[i];
            return true;
        }
    }
    return false;
}

/* ---- candidates ------------------------------------------------------ */

struct running {
    struct mlq_job **v;
    size_t n, cap, parts;
};

/* GPU shares are left alone: their booking cannot be undone on a copy. */
static void pick_running(struct mlq_job *job, void *arg)
{
    struct running *r = arg;
    const struct mlq_jobspec *s = &job->row.spec;
    if (!job->live || job->row.state != MLQ_JOB_RUNNING || s->gpu_frac > 0 || s->gpu_mem > 0 ||
        r->n == r->cap)
        return;
    r->v[r->n++] = job;
    r->parts += mlq_job_gang(job) ? mlq_job_gang(job)->n : 1;
}

/* ---- the decision ------------------------------------------------------ */

/* Persists the victim's note (spec, "preempt" event, status reason), then
 * asks its worker(s) for the preemption. */
static int preempt_one(struct mlq_ctx *c, struct mlq_job *v, const char *note, struct mlq_err *err)
{
    free(v->row.spec.preempt_note);
    free(v->row.reason);
    v->row.spec.preempt_note = strdup(note);
    v->row.reason = strdup(note);
    if (!v->row.spec.preempt_note || !v->row.reason)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    int rc = mlq_store_begin(c->store, err);
    if (rc == 0)
        rc = mlq_store_job_respec(c->store, &v->row, "preempt", note, err);
    if (rc == 0)
        rc = mlq_store_job_save(c->store, &v->row, v->row.state, err);
    if (rc < 0)
        return rc;
    mlq_info("job %.8s %s", v->row.id, note);
    if (mlq_job_gang(v))
        mlq_gang_stop(c, v, note);
    else
        mlq_jobops_push_kill(c, v, mlq_workers_get(c->workers, v->att->worker), v->att->id, note);
    return 0;
}

/* How long the room stays held: the longest victim grace, then one lease
 * for the KILL to arrive and the fencing margin. */
static int64_t hold_until(const struct mlq_ctx *c, const struct mlq_preempt_victim *v, size_t n)
{
    int64_t grace = 0;
    for (size_t i = 0; i < n; i++)
        if (v[i].job->row.spec.preempt_grace_ms > grace)
            grace = v[i].job->row.spec.preempt_grace_ms;
    return c->now_mono + grace + c->lease_ms + MLQ_FENCE_MARGIN_MS;
}

static int carry_out(struct mlq_ctx *c, struct mlq_job *job, const struct mlq_preempt_victim *v,
                     size_t n, size_t widx, struct mlq_err *err)
{
    for (size_t i = 0; i < n; i++) {
        char note[MLQ_PREEMPT_NOTE_MAX];
        mlq_preempt_note(job, v[i].why, note, sizeof note);
        int rc = preempt_one(c, v[i].job, note, err);
        if (rc < 0)
            return rc;
    }
    add_hold(c, job, widx, hold_until(c, v, n), v, n);
    return 0;
}

static bool worker_held(const struct mlq_ctx *c, size_t widx)
{
    for (size_t i = 0; i < c->nholds; i++)
        if (c->holds[i].widx == widx)
            return true;
    return false;
}

/* Victims decided earlier still drain on a worker that no hold keeps (the
 * holds live in memory: a restarted scheduler has none): when job fits in
 * the room they free, it takes that room with a hold of its own instead of
 * preempting more. v has room for run->n. */
static bool room_draining(struct mlq_ctx *c, struct mlq_job *job, struct running *run,
                          struct fit *f, struct mlq_preempt_victim *v)
{
    size_t n = 0;
    for (size_t i = 0; i < run->n; i++) {
        struct mlq_job *r = run->v[i];
        if (r->row.spec.preempt_note && !mlq_job_gang(r) && !worker_held(c, mlq_job_run(r)->widx))
            v[n++] = (struct mlq_preempt_victim){.job = r, .why = MLQ_PREEMPT_RECLAIM};
    }
    if (n == 0 || !fits(f, v, n))
        return false;
    add_hold(c, job, f->found, hold_until(c, v, n), v, n);
    return true;
}

static int choose_and_run(struct mlq_ctx *c, struct mlq_job *job, struct running *run, bool within,
                          struct mlq_err *err)
{
    struct fit f = {.c = c, .r = mlq_place_request(&job->row.spec), .cap = run->parts};
    f.copy = malloc((run->parts ? run->parts : 1) * sizeof *f.copy);
    f.widx = malloc((run->parts ? run->parts : 1) * sizeof *f.widx);
    struct mlq_preempt_victim *out = malloc((run->n ? run->n : 1) * sizeof *out);
    struct mlq_preempt_in in = {.c = c,
                                .q = &mlq_preempt_quota_real,
                                .waiting = job,
                                .within_team = within,
                                .now_ms = c->now_wall,
                                .min_runtime_ms = c->preempt_min_runtime_ms,
                                .running = run->v,
                                .nrunning = run->n,
                                .fits = fits,
                                .fit_arg = &f};
    if (f.copy && f.widx && out && room_draining(c, job, run, &f, out)) {
        free(f.copy);
        free(f.widx);
        free(out);
        return 0;
    }
    size_t n = f.copy && f.widx && out ? mlq_preempt_choose(&in, out) : 0;
    /* the fit test of the final choice ran last: f.found is its worker */
    int rc = n > 0 && fits(&f, out, n) ? carry_out(c, job, out, n, f.found, err) : 0;
    free(f.copy);
    free(f.widx);
    free(out);
    return rc;
}

int mlq_preempt_try(struct mlq_ctx *c, struct mlq_job *job, struct mlq_err *err)
{
    /* Gangs wait for room as before; a job whose victims drain waits for them. */
    if (c->preempt_off || job->row.spec.nodes > 0 || (mlq_preempt_any_hold(c) && holds_for(c, job)))
        return 0;
    /* Neither reason can apply: skip the walk over every job in memory,
     * which a pass would otherwise pay for each job it cannot place. */
    bool within = false;
    if (job->row.spec.team &&
        mlq_store_team_preempt_within(c->store, job->row.spec.team, &within, err) < 0)
        return MLQ_EDB;
    if (!within && !mlq_quota_job_within_nominal(c, job))
        return 0;
    struct running run = {.cap = mlq_jobtab_count(c->jobs)};
    run.v = malloc((run.cap ? run.cap : 1) * sizeof *run.v);
    if (!run.v)
        return 0; /* no preemption this time; placement goes on */
    mlq_jobtab_each(c->jobs, pick_running, &run);
    int rc = run.n ? choose_and_run(c, job, &run, within, err) : 0;
    free(run.v);
    return rc;
}

/* ---- why it does not preempt (`mlq why`) ------------------------------ */

static void append(char *buf, size_t len, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));
static void append(char *buf, size_t len, const char *fmt, ...)
{
    size_t n = strlen(buf);
    if (n + 1 >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf + n, len - n, fmt, ap);
    va_end(ap);
}

/* One rule's count, as ", 2 RULE" (the first without the comma). */
static void count(char *buf, size_t len, bool *first, size_t n, const char *what)
{
    if (n == 0)
        return;
    append(buf, len, "%s%zu %s", *first ? "" : ", ", n, what);
    *first = false;
}

/* Neither rule can apply to the job itself. */
static void job_rule(const struct mlq_job *job, const char *pool, char *buf, size_t len)
{
    const char *team = job->row.spec.team;
    if (!team) {
        append(buf, len, "it has no team (no quota to reclaim, no team to preempt within)");
        return;
    }
    append(buf, len,
           "it would not keep team %s within a nominal quota in pool %s (nothing to reclaim), "
           "and the team does not preempt within itself (mlq admin team set %s "
           "--preempt-within on)",
           team, pool, team);
}

static void job_rules(const struct mlq_job *job, const struct mlq_preempt_census *k, char *buf,
                      size_t len)
{
    char at[16];
    time_t t = (time_t)(k->young_until_ms / 1000);
    struct tm tm;
    localtime_r(&t, &tm);
    strftime(at, sizeof at, "%H:%M:%S", &tm);
    bool first = true;
    append(buf, len, "of the %zu running in its pool, ", k->in_pool);
    if (k->young) {
        append(buf, len, "%zu ran less than their minimum run time (the first until %s)", k->young,
               at);
        first = false;
    }
    count(buf, len, &first, k->protected_jobs, "have --no-preempt");
    count(buf, len, &first, k->not_borrowing, "are of teams within their nominal quota");
    count(buf, len, &first, k->other_team, "are of other teams (it does not reclaim quota)");
    count(buf, len, &first, k->team_off, "are of its team, which does not preempt within itself");
    if (k->not_lower)
        append(buf, len, "%s%zu of its team have its priority (%d) or higher", first ? "" : ", ",
               k->not_lower, job->row.spec.priority);
}

static void census_text(const struct mlq_job *job, bool within, const struct mlq_preempt_census *k,
                        char *buf, size_t len)
{
    const char *pool = job->row.spec.pool ? job->row.spec.pool : "default";
    buf[0] = '\0';
    if (k->eligible > 0 && k->fits_all) {
        append(buf, len, "%zu running job(s) may be preempted for it at the next pass",
               k->eligible);
        return;
    }
    append(buf, len, "no preemption: ");
    if (k->eligible > 0) {
        append(buf, len, "it would not fit even with the %zu job(s) it may preempt gone",
               k->eligible);
        return;
    }
    if (!k->reclaims && !within) {
        job_rule(job, pool, buf, len);
        return;
    }
    if (k->in_pool == 0) {
        append(buf, len, "no running job of pool %s may be preempted (GPU shares never are)", pool);
        return;
    }
    job_rules(job, k, buf, len);
}

bool mlq_preempt_why_not(struct mlq_ctx *c, const struct mlq_job *job, char *buf, size_t len)
{
    if (len == 0 || job->row.state != MLQ_JOB_PENDING)
        return false;
    if (job->row.spec.nodes > 0) {
        snprintf(buf, len, "no preemption: a gang waits for room, it does not preempt");
        return true;
    }
    if (c->preempt_off) {
        snprintf(buf, len, "no preemption: it is off on this scheduler");
        return true;
    }
    bool within = false;
    if (job->row.spec.team &&
        mlq_store_team_preempt_within(c->store, job->row.spec.team, &within, NULL) < 0)
        within = false;
    struct running run = {.cap = mlq_jobtab_count(c->jobs)};
    run.v = malloc((run.cap ? run.cap : 1) * sizeof *run.v);
    if (!run.v)
        return false;
    mlq_jobtab_each(c->jobs, pick_running, &run);
    struct fit f = {.c = c, .r = mlq_place_request(&job->row.spec), .cap = run.parts};
    f.copy = malloc((run.parts ? run.parts : 1) * sizeof *f.copy);
    f.widx = malloc((run.parts ? run.parts : 1) * sizeof *f.widx);
    struct mlq_preempt_in in = {.c = c,
                                .q = &mlq_preempt_quota_real,
                                .waiting = job,
                                .within_team = within,
                                .now_ms = c->now_wall,
                                .min_runtime_ms = c->preempt_min_runtime_ms,
                                .running = run.v,
                                .nrunning = run.n,
                                .fits = fits,
                                .fit_arg = &f};
    bool done = f.copy && f.widx;
    if (done) {
        struct mlq_preempt_census k;
        mlq_preempt_census(&in, &k);
        census_text(job, within, &k, buf, len);
    }
    free(f.copy);
    free(f.widx);
    free(run.v);
    return done;
}
