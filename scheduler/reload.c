/* reload: see reload.h. */
#include "reload.h"

#include <string.h>

#include "keys.h"
#include "log.h"

/* Keys whose change a reload applies; everything else needs a restart. */
static bool live_key(const char *name)
{
    static const char *const live[] = {"log-level",   "log-file",      "authorize",
                                       "retain-jobs", "retain-events", "retain-logs-size",
                                       "placement"};
    for (size_t i = 0; i < sizeof live / sizeof live[0]; i++)
        if (strcmp(name, live[i]) == 0)
            return true;
    return false;
}

static bool has_spec(const struct mlq_schedopts *o, const char *spec)
{
    for (size_t i = 0; i < o->nauth; i++)
        if (strcmp(o->auth[i], spec) == 0)
            return true;
    return false;
}

/* The new file with every check start makes, and each new key file read,
 * before anything is applied. */
static int check_new(const struct mlq_reload *r, struct mlq_optconf *file,
                     struct mlq_schedopts *now, struct mlq_schedopts *next, struct mlq_err *e)
{
    int rc = mlq_optconf_file(mlq_schedopts_spec(), r->src->config, file, e);
    if (rc == 0)
        rc = mlq_schedopts_build(r->reloaded ? &r->last : &r->src->file, &r->src->cmd, now, e);
    if (rc == 0)
        rc = mlq_schedopts_build(file, &r->src->cmd, next, e);
    for (size_t i = 0; rc == 0 && i < next->nauth; i++) {
        const char *spec = next->auth[i], *a = strchr(spec, ':'),
                   *b = a ? strchr(a + 1, ':') : NULL;
        char key[MLQ_KEY_Z85_SIZE];
        if (has_spec(now, spec))
            continue;
        if (!b)
            rc = mlq_err_set(e, MLQ_EINVAL, "authorize: expected ROLE:NAME:FILE.pub, not %.80s",
                             spec);
        else
            rc = mlq_keys_read_public(b + 1, key, e);
    }
    return rc;
}

/* Registers the keys next adds; says what happens to the ones it drops. */
static void apply_authorize(struct mlq_loop *s, const struct mlq_schedopts *now,
                            const struct mlq_schedopts *next)
{
    struct mlq_err e = {0};
    for (size_t i = 0; i < next->nauth; i++)
        if (!has_spec(now, next->auth[i]) && mlq_loop_authorize(s, next->auth[i], &e) < 0)
            mlq_error("reload: authorize %s: %s", next->auth[i], e.msg);
    for (size_t i = 0; i < now->nauth; i++)
        if (!has_spec(next, now->auth[i]))
            mlq_warn("reload: authorize %s is no longer in the config; its key stays registered "
                     "(remove it with mlq admin user rm or mlq admin worker rm)",
                     now->auth[i]);
}

/* Applies one changed live key; false when it cannot be applied live. */
static bool apply_key(struct mlq_loop *s, const char *name, const struct mlq_schedopts *now,
                      const struct mlq_schedopts *next)
{
    struct mlq_err e = {0};
    char why[256];
    if (strcmp(name, "log-level") == 0)
        mlq_log_set_level(next->level);
    else if (strcmp(name, "log-file") == 0) {
        if (!next->log_file)
            return false; /* back to stderr: the daemon's stderr may be gone */
        if (mlq_log_open_file(next->log_file, why, sizeof why) < 0)
            mlq_error("reload: log-file: %s", why);
    } else if (strcmp(name, "authorize") == 0)
        apply_authorize(s, now, next);
    else if (strcmp(name, "placement") == 0)
        mlq_loop_set_placement(s, next->s.placement);
    else if (mlq_loop_set_retention(s, next->s.retain_jobs_ms, next->s.retain_events_ms,
                                    next->s.retain_logs_bytes, &e) < 0)
        mlq_error("reload: retention: %s", e.msg);
    return true;
}

/* Applies what changed between the last file read and the new one; names
 * it in done. */
static void apply_changes(struct mlq_reload *r, struct mlq_loop *s, const struct mlq_optconf *file,
                          const struct mlq_schedopts *now, const struct mlq_schedopts *next,
                          char *done, size_t donelen)
{
    const struct mlq_optconf *last = r->reloaded ? &r->last : &r->src->file;
    size_t used = 0;
    for (const struct option *o = mlq_schedopts_spec()->table; o->name; o++) {
        /* A key that needs a restart is compared with what runs (start's
         * file), so that every reload says so until the restart. */
        bool live = live_key(o->name);
        if (!mlq_optconf_changed(live ? last : &r->src->file, file, &r->src->cmd, o->val))
            continue;
        if (!live || !apply_key(s, o->name, now, next)) {
            mlq_warn("reload: needs a restart: %s", o->name);
            continue;
        }
        int n = snprintf(done + used, donelen - used, "%s%s", used ? ", " : "", o->name);
        if (n > 0 && (size_t)n < donelen - used)
            used += (size_t)n;
    }
}

void mlq_reload_run(struct mlq_loop *s, void *arg)
{
    struct mlq_reload *r = arg;
    char why[256], done[512] = "";
    struct mlq_optconf file = {0};
    struct mlq_schedopts now, next;
    struct mlq_err e = {0};
    if (mlq_log_reopen(why, sizeof why) < 0)
        mlq_error("reload: reopening the log file: %s", why);
    if (!r->src->config) {
        mlq_info("reload: no config file (reopened the log file)");
        return;
    }
    if (check_new(r, &file, &now, &next, &e) < 0) {
        mlq_error("reload: %s; nothing changed", e.msg);
        mlq_optconf_clear(&file);
        return;
    }
    apply_changes(r, s, &file, &now, &next, done, sizeof done);
    /* next's strings point into file, which now becomes the last one. */
    mlq_optconf_clear(&r->last);
    r->last = file;
    r->reloaded = true;
    mlq_info("reload: read %s; applied: %s", r->src->config, done[0] ? done : "nothing changed");
}

void mlq_reload_clear(struct mlq_reload *r)
{
    mlq_optconf_clear(&r->last);
    r->reloaded = false;
}
