/* submitfrom: see submitfrom.h. */
#include "submitfrom.h"

#include <errno.h>
#include <jansson.h>
#include <stdlib.h>
#include <string.h>

#include "cmd_submit.h"
#include "envname.h"
#include "jsonspec.h"
#include "mpk.h"
#include "output.h"

void mlq_submitfrom_free(struct mlq_submitfrom *s)
{
    for (uint32_t i = 0; i < s->n; i++)
        mlq_proto_jobspec_free(&s->specs[i]);
    free(s->specs);
    free(s->lines);
    memset(s, 0, sizeof *s);
}

static int grow(struct mlq_submitfrom *s, struct mlq_err *err)
{
    if (s->n < s->cap)
        return 0;
    uint32_t cap = s->cap ? s->cap * 2 : 1024;
    struct mlq_jobspec *v = realloc(s->specs, cap * sizeof *v);
    if (v)
        s->specs = v;
    uint32_t *l = v ? realloc(s->lines, cap * sizeof *l) : NULL;
    if (!l)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    s->lines = l;
    s->cap = cap;
    return 0;
}

/* Checks spec as it will be stored: with the shared environment under its
 * own, as the scheduler puts them together. */
static int check_whole(const struct mlq_jobspec *base, struct mlq_jobspec *spec,
                       struct mlq_err *err)
{
    struct mlq_jobspec whole = *spec;
    char **merged = NULL;
    uint32_t n = 0;
    int rc = 0;
    if (spec->envc == 0) { /* the common case: nothing to put together */
        whole.env = base->env;
        whole.envc = base->envc;
    } else if ((rc = mlq_envname_merge(base->env, base->envc, spec->env, spec->envc, &merged, &n,
                                       err)) == 0) {
        whole.env = merged;
        whole.envc = n;
    }
    if (rc == 0)
        rc = mlq_envname_check_user(whole.env, whole.envc, err);
    if (rc == 0)
        rc = mlq_cli_submit_check(&whole, err);
    mlq_mpk_strv_free(merged, n);
    return rc;
}

/* One line's job into out->specs[out->n]. */
static int read_line(const char *line, size_t len, const struct mlq_jobspec *base,
                     struct mlq_submitfrom *out, struct mlq_err *err)
{
    json_error_t je;
    json_t *o = json_loadb(line, len, JSON_REJECT_DUPLICATES, &je);
    if (!o)
        return mlq_err_set(err, MLQ_EINVAL, "not a JSON object: %.100s (column %d)", je.text,
                           je.column);
    struct mlq_jobspec defaults = *base, *spec = &out->specs[out->n];
    defaults.env = NULL; /* shared: sent once, not per job */
    defaults.envc = 0;
    defaults.idempotency_key = NULL; /* the request's, not a job's */
    int rc = mlq_proto_jobspec_copy(spec, &defaults, err);
    if (rc == 0)
        rc = mlq_jsonspec_apply(o, spec, err);
    json_decref(o);
    if (rc == 0)
        rc = check_whole(base, spec, err);
    if (rc < 0)
        mlq_proto_jobspec_free(spec);
    return rc;
}

static bool blank(const char *s, size_t len)
{
    for (size_t i = 0; i < len; i++)
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r' && s[i] != '\n')
            return false;
    return true;
}

/* Prefixes err's message with NAME:LINE. */
static int at_line(int rc, const char *name, uint32_t lineno, struct mlq_err *err)
{
    if (err) {
        char msg[MLQ_ERR_MSG_MAX];
        snprintf(msg, sizeof msg, "%.64s:%u: %.*s", name, lineno, MLQ_ERR_MSG_MAX - 80, err->msg);
        snprintf(err->msg, sizeof err->msg, "%s", msg);
        err->code = rc;
    }
    return rc;
}

/* The bounds on a whole file, checked as it is read. */
static int check_size(const char *name, uint32_t jobs, size_t bytes, struct mlq_err *err)
{
    if (jobs >= MLQ_MAX_BULK_JOBS)
        return mlq_err_set(err, MLQ_ETOOBIG,
                           "%.64s: more than %d jobs; split it into files of at most %d lines "
                           "and submit each",
                           name, MLQ_MAX_BULK_JOBS, MLQ_MAX_BULK_JOBS);
    if (bytes > MLQ_SUBMITFROM_MAX_BYTES)
        return mlq_err_set(err, MLQ_ETOOBIG,
                           "%.64s: more than %d MiB; split it into smaller files and submit each",
                           name, MLQ_SUBMITFROM_MAX_BYTES >> 20);
    return 0;
}

int mlq_submitfrom_read(FILE *f, const char *name, const struct mlq_jobspec *base,
                        struct mlq_submitfrom *out, struct mlq_err *err)
{
    memset(out, 0, sizeof *out);
    char *line = NULL;
    size_t cap = 0, bytes = 0;
    ssize_t len;
    uint32_t lineno = 0;
    int rc = 0;
    while (rc == 0 && (len = getline(&line, &cap, f)) >= 0) {
        lineno++;
        bytes += (size_t)len;
        if ((size_t)len > MLQ_SUBMITFROM_MAX_LINE)
            rc = at_line(
                mlq_err_set(err, MLQ_EINVAL, "line longer than %d bytes", MLQ_SUBMITFROM_MAX_LINE),
                name, lineno, err);
        else if (blank(line, (size_t)len))
            continue;
        else if ((rc = check_size(name, out->n, bytes, err)) == 0 && (rc = grow(out, err)) == 0 &&
                 (rc = read_line(line, (size_t)len, base, out, err)) < 0)
            rc = at_line(rc, name, lineno, err);
        if (rc == 0)
            out->lines[out->n++] = lineno;
    }
    if (rc == 0 && ferror(f))
        rc = mlq_err_set(err, MLQ_EIO, "%.64s: cannot read: %s", name, strerror(errno));
    if (rc == 0 && out->n == 0)
        rc = mlq_err_set(err, MLQ_EINVAL, "%.64s: no jobs (one JSON object per line)", name);
    free(line);
    if (rc < 0)
        mlq_submitfrom_free(out);
    return rc;
}

void mlq_submitfrom_locate(const struct mlq_submitfrom *s, const char *name, struct mlq_err *err)
{
    unsigned long n = 0;
    int used = 0;
    if (!err || sscanf(err->msg, "job %lu: %n", &n, &used) != 1 || used == 0 || n < 1 || n > s->n)
        return;
    char msg[MLQ_ERR_MSG_MAX];
    snprintf(msg, sizeof msg, "%.64s:%u: %.*s", name, s->lines[n - 1], MLQ_ERR_MSG_MAX - 80,
             err->msg + used);
    snprintf(err->msg, sizeof err->msg, "%s", msg);
}

static int print_ids(const struct mlq_msg *reply, bool json)
{
    const struct mlq_msg *r = reply;
    if (!json) {
        for (uint32_t i = 0; i < r->u.submitted_many.nids; i++)
            printf("%s\n", r->u.submitted_many.ids[i]);
        return fflush(stdout) == 0 ? 0 : MLQ_EIO;
    }
    json_t *ids = json_array(), *doc = ids ? json_pack("{s:o}", "ids", ids) : NULL;
    for (uint32_t i = 0; doc && i < r->u.submitted_many.nids; i++)
        if (json_array_append_new(ids, json_string(r->u.submitted_many.ids[i])) < 0) {
            json_decref(doc);
            doc = NULL;
        }
    int rc = doc ? mlq_out_json_print(stdout, doc) : MLQ_ENOMEM;
    json_decref(doc);
    return rc;
}

/* Reads path ("-": stdin) into s. */
static int read_path(const char *path, const struct mlq_jobspec *base, struct mlq_submitfrom *s,
                     struct mlq_err *err)
{
    bool in = strcmp(path, "-") == 0;
    FILE *f = in ? stdin : fopen(path, "r");
    if (!f)
        return mlq_err_set(err, errno == ENOENT ? MLQ_ENOTFOUND : MLQ_EIO, "%.200s: %s", path,
                           strerror(errno));
    int rc = mlq_submitfrom_read(f, path, base, s, err);
    if (!in)
        fclose(f);
    return rc;
}

int mlq_submitfrom_run(struct mlq_cli *cli, const struct mlq_jobspec *base, const char *path,
                       bool json)
{
    struct mlq_err err = {0};
    struct mlq_submitfrom s;
    int rc = read_path(path, base, &s, &err);
    if (rc < 0)
        return mlq_out_fail(rc, &err);
    struct mlq_msg req = {.type = MLQ_MSG_SUBMIT_MANY}, reply;
    req.u.submit_many.env = base->env;
    req.u.submit_many.envc = base->envc;
    req.u.submit_many.specs = s.specs;
    req.u.submit_many.nspecs = s.n;
    req.u.submit_many.idempotency_key = base->idempotency_key;
    rc = mlq_cli_request(cli, &req, MLQ_MSG_SUBMITTED_MANY, &reply, &err);
    if (rc == MLQ_EPROTO) { /* maybe a scheduler that wants every key: all or nothing, so again */
        req.u.submit_many.full_specs = true;
        memset(&err, 0, sizeof err);
        rc = mlq_cli_request(cli, &req, MLQ_MSG_SUBMITTED_MANY, &reply, &err);
    }
    if (rc == MLQ_ETOOBIG)
        snprintf(err.msg, sizeof err.msg,
                 "%.64s: the request is larger than %d MiB once encoded; split it into smaller "
                 "files",
                 path, MLQ_MAX_BULK_MSG >> 20);
    if (rc < 0)
        mlq_submitfrom_locate(&s, path, &err);
    mlq_submitfrom_free(&s);
    if (rc < 0)
        return mlq_out_fail(rc, &err);
    if (reply.u.submitted_many.nids != req.u.submit_many.nspecs)
        rc = mlq_err_set(&err, MLQ_EPROTO, "the scheduler answered %u ids for %u jobs",
                         reply.u.submitted_many.nids, req.u.submit_many.nspecs);
    if (rc == 0)
        rc = print_ids(&reply, json);
    mlq_proto_msg_free(&reply);
    return rc < 0 ? mlq_out_fail(rc, &err) : MLQ_EXIT_OK;
}
