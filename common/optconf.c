/* optconf: see optconf.h. */
#include "optconf.h"

#include <stdlib.h>
#include <string.h>

#include "config.h"

static bool code_in(const int *list, int code)
{
    for (size_t i = 0; list && list[i]; i++)
        if (list[i] == code)
            return true;
    return false;
}

static const struct option *by_code(const struct mlq_optconf_spec *spec, int code)
{
    for (const struct option *o = spec->table; o->name; o++)
        if (o->val == code)
            return o;
    return NULL;
}

static const struct option *by_name(const struct mlq_optconf_spec *spec, const char *name)
{
    for (const struct option *o = spec->table; o->name; o++)
        if (strcmp(o->name, name) == 0)
            return o;
    return NULL;
}

const char *mlq_optconf_name(const struct mlq_optconf_spec *spec, int code)
{
    const struct option *o = by_code(spec, code);
    return o ? o->name : "?";
}

static int push(struct mlq_optconf *src, int code, const char *value, int line, struct mlq_err *err)
{
    if (src->n == MLQ_OPTCONF_MAX)
        return mlq_err_set(err, MLQ_ETOOBIG, "more than %d settings", MLQ_OPTCONF_MAX);
    if (!src->set && !(src->set = calloc(MLQ_OPTCONF_MAX, sizeof *src->set)))
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    char *copy = strdup(value);
    if (!copy)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    src->set[src->n++] = (struct mlq_optconf_setting){code, copy, line};
    return 0;
}

int mlq_optconf_argv(const struct mlq_optconf_spec *spec, int argc, char **argv,
                     struct mlq_optconf *out, struct mlq_err *err)
{
    int c;
    memset(out, 0, sizeof *out);
    optind = 1;
    opterr = 1;
    while ((c = getopt_long(argc, argv, spec->shortopts, spec->table, NULL)) != -1) {
        if (c == '?' || c == ':')
            return mlq_err_set(err, MLQ_EINVAL, "bad command line");
        int rc = push(out, c, optarg ? optarg : "true", 0, err);
        if (rc < 0)
            return rc;
    }
    if (optind < argc)
        return mlq_err_set(err, MLQ_EINVAL, "unexpected argument \"%.100s\"", argv[optind]);
    return 0;
}

struct file_scan {
    const struct mlq_optconf_spec *spec;
    struct mlq_optconf *out;
    const char *path;
};

/* One line of a config file: a known key, once unless repeatable, a flag
 * spelled true or false. */
static int file_line(void *ctx, const char *key, const char *value, int line, struct mlq_err *err)
{
    struct file_scan *fs = ctx;
    const struct option *o = by_name(fs->spec, key);
    if (!o || code_in(fs->spec->not_keys, o->val))
        return mlq_err_set(err, MLQ_EINVAL,
                           "%s:%d: unknown key \"%.40s\" (the keys are %s's long "
                           "options, see --help)",
                           fs->path, line, key, fs->spec->prog);
    if (o->has_arg == no_argument && strcmp(value, "true") != 0 && strcmp(value, "false") != 0)
        return mlq_err_set(err, MLQ_EINVAL, "%s:%d: %s: expected true or false", fs->path, line,
                           key);
    if (o->has_arg != no_argument && !*value)
        return mlq_err_set(err, MLQ_EINVAL, "%s:%d: %s: expected a value", fs->path, line, key);
    if (!code_in(fs->spec->repeatable, o->val)) {
        for (size_t i = 0; i < fs->out->n; i++)
            if (fs->out->set[i].code == o->val)
                return mlq_err_set(err, MLQ_EINVAL, "%s:%d: %s: already set on line %d", fs->path,
                                   line, key, fs->out->set[i].line);
    }
    return push(fs->out, o->val, value, line, err);
}

int mlq_optconf_file(const struct mlq_optconf_spec *spec, const char *path, struct mlq_optconf *out,
                     struct mlq_err *err)
{
    memset(out, 0, sizeof *out);
    struct file_scan fs = {spec, out, path};
    int rc = mlq_config_scan_file(path, MLQ_OPTCONF_MAX, file_line, &fs, err);
    if (rc == 0 && !(out->origin = strdup(path)))
        rc = mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    if (rc < 0)
        mlq_optconf_clear(out);
    return rc;
}

const char *mlq_optconf_get(const struct mlq_optconf *src, int code)
{
    const char *v = NULL;
    for (size_t i = 0; src && i < src->n; i++)
        if (src->set[i].code == code)
            v = src->set[i].value;
    return v;
}

static int apply_one(const struct mlq_optconf_spec *spec, const struct mlq_optconf *src,
                     const struct mlq_optconf_setting *s, mlq_optconf_apply_fn apply, void *ctx,
                     struct mlq_err *err)
{
    const struct option *o = by_code(spec, s->code);
    bool flag = o && o->has_arg == no_argument;
    if (flag && strcmp(s->value, "false") == 0)
        return 0;
    struct mlq_err why = {0};
    int rc = apply(ctx, s->code, flag ? NULL : s->value, &why);
    if (rc >= 0)
        return 0;
    if (src->origin)
        return mlq_err_set(err, rc, "%s:%d: %s: %s", src->origin, s->line,
                           mlq_optconf_name(spec, s->code), why.msg);
    return mlq_err_set(err, rc, "--%s: %s", mlq_optconf_name(spec, s->code), why.msg);
}

int mlq_optconf_apply(const struct mlq_optconf_spec *spec, const struct mlq_optconf *file,
                      const struct mlq_optconf *cmd, mlq_optconf_apply_fn apply, void *ctx,
                      struct mlq_err *err)
{
    for (size_t i = 0; file && i < file->n; i++) {
        if (mlq_optconf_get(cmd, file->set[i].code))
            continue; /* the command line wins */
        int rc = apply_one(spec, file, &file->set[i], apply, ctx, err);
        if (rc < 0)
            return rc;
    }
    for (size_t i = 0; cmd && i < cmd->n; i++) {
        int rc = apply_one(spec, cmd, &cmd->set[i], apply, ctx, err);
        if (rc < 0)
            return rc;
    }
    return 0;
}

/* Whether a and b hold the same values for code, in the same order. */
static bool same_values(const struct mlq_optconf *a, const struct mlq_optconf *b, int code)
{
    size_t i = 0, j = 0;
    for (;;) {
        while (a && i < a->n && a->set[i].code != code)
            i++;
        while (b && j < b->n && b->set[j].code != code)
            j++;
        bool ea = !a || i == a->n, eb = !b || j == b->n;
        if (ea || eb)
            return ea && eb;
        if (strcmp(a->set[i].value, b->set[j].value) != 0)
            return false;
        i++, j++;
    }
}

bool mlq_optconf_changed(const struct mlq_optconf *a, const struct mlq_optconf *b,
                         const struct mlq_optconf *cmd, int code)
{
    if (mlq_optconf_get(cmd, code))
        return false;
    return !same_values(a, b, code);
}

void mlq_optconf_clear(struct mlq_optconf *src)
{
    if (!src)
        return;
    for (size_t i = 0; i < src->n; i++)
        free(src->set[i].value);
    free(src->set);
    free(src->origin);
    memset(src, 0, sizeof *src);
}
