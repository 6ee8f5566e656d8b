/* manifestdiff: see manifestdiff.h. */
#include "manifestdiff.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"

#define SHOW_MAX 512 /* characters of one value in the text form */

static const char *const per_run_env[] = {"MLQ_JOB_ID", "MLQ_ATTEMPT", "MLQ_ARRAY_JOB_ID"};

static json_t *pair(json_t *a, json_t *b)
{
    return json_pack("[OO]", a ? a : json_null(), b ? b : json_null());
}

/* Sets out[key] = [a, b] when they differ (absent counts as null). */
static void field(json_t *out, const char *key, json_t *a, json_t *b)
{
    if (!json_equal(a ? a : json_null(), b ? b : json_null()))
        json_object_set_new(out, key, pair(a, b));
}

/* Sets diff[name] to sub when sub is not empty; takes sub. */
static void section(json_t *diff, const char *name, json_t *sub)
{
    if (sub && json_object_size(sub) > 0)
        json_object_set_new(diff, name, sub);
    else
        json_decref(sub);
}

static json_t *code(const json_t *ga, const json_t *gb)
{
    static const char *const keys[] = {"commit", "branch", "dirty", "diff_sha256", "error"};
    json_t *out = json_object();
    if (json_is_null(ga) != json_is_null(gb) || !ga != !gb) {
        field(out, "git", (json_t *)ga, (json_t *)gb);
        return out;
    }
    for (size_t i = 0; i < sizeof keys / sizeof keys[0]; i++)
        field(out, keys[i], json_object_get(ga, keys[i]), json_object_get(gb, keys[i]));
    return out;
}

static bool per_run(const char *name)
{
    for (size_t i = 0; i < sizeof per_run_env / sizeof per_run_env[0]; i++)
        if (strcmp(name, per_run_env[i]) == 0)
            return true;
    return false;
}

static json_t *env(const json_t *ea, const json_t *eb)
{
    json_t *added = json_object(), *removed = json_object(), *changed = json_object();
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)ea, k, v)
    {
        json_t *w = json_object_get(eb, k);
        if (per_run(k))
            continue;
        if (!w)
            json_object_set(removed, k, v);
        else if (!json_equal(v, w))
            json_object_set_new(changed, k, pair(v, w));
    }
    json_object_foreach((json_t *)eb, k, v)
    {
        if (!per_run(k) && !json_object_get(ea, k))
            json_object_set(added, k, v);
    }
    json_t *out = json_object();
    section(out, "added", added);
    section(out, "removed", removed);
    section(out, "changed", changed);
    return out;
}

/* The entries of a file list by path. */
static json_t *by_path(const json_t *list)
{
    json_t *m = json_object();
    size_t i;
    json_t *e;
    json_array_foreach((json_t *)list, i, e)
    {
        const char *p = json_string_value(json_object_get(e, "path"));
        if (p)
            json_object_set(m, p, e);
    }
    return m;
}

static json_t *file_change(const json_t *x, const json_t *y)
{
    json_t *out = json_object();
    json_t *hx = json_object_get(x, "sha256"), *hy = json_object_get(y, "sha256");
    field(out, "sha256", hx, hy);
    field(out, "size", json_object_get(x, "size"), json_object_get(y, "size"));
    field(out, "missing", json_object_get(x, "missing"), json_object_get(y, "missing"));
    field(out, "error", json_object_get(x, "error"), json_object_get(y, "error"));
    if (!json_is_string(hx) || !json_is_string(hy)) /* unhashed: the time is all there is */
        field(out, "mtime_ms", json_object_get(x, "mtime_ms"), json_object_get(y, "mtime_ms"));
    return out;
}

static json_t *files(const json_t *la, const json_t *lb)
{
    json_t *ma = by_path(la), *mb = by_path(lb);
    json_t *added = json_array(), *removed = json_array(), *changed = json_object();
    const char *k;
    json_t *v;
    json_object_foreach(ma, k, v)
    {
        json_t *w = json_object_get(mb, k);
        if (!w)
            json_array_append_new(removed, json_string(k));
        else
            section(changed, k, file_change(v, w));
    }
    json_object_foreach(mb, k, v)
    {
        if (!json_object_get(ma, k))
            json_array_append_new(added, json_string(k));
    }
    json_t *out = json_object();
    if (json_array_size(added))
        json_object_set(out, "added", added);
    if (json_array_size(removed))
        json_object_set(out, "removed", removed);
    section(out, "changed", changed);
    json_decref(added);
    json_decref(removed);
    json_decref(ma);
    json_decref(mb);
    return out;
}

static json_t *models(const json_t *gpus)
{
    json_t *out = json_array();
    size_t i;
    json_t *g;
    json_array_foreach((json_t *)gpus, i, g)
    {
        json_t *m = json_object_get(g, "model");
        json_array_append(out, m                            ? m
                               : json_object_get(g, "type") ? json_object_get(g, "type")
                                                            : json_null());
    }
    return out;
}

static json_t *gpus(const json_t *a, const json_t *b)
{
    json_t *out = json_object(), *ma = models(json_object_get(a, "gpus")),
           *mb = models(json_object_get(b, "gpus"));
    field(out, "models", ma, mb);
    json_t *da = json_object_get(a, "gpu_driver"), *db = json_object_get(b, "gpu_driver");
    field(out, "driver", json_object_get(da, "version"), json_object_get(db, "version"));
    field(out, "cuda", json_object_get(da, "cuda"), json_object_get(db, "cuda"));
    json_decref(ma);
    json_decref(mb);
    return out;
}

static json_t *image(const json_t *ia, const json_t *ib)
{
    json_t *out = json_object();
    if (!ia && !ib)
        return out;
    field(out, "ref", json_object_get(ia, "ref"), json_object_get(ib, "ref"));
    field(out, "digest", json_object_get(ia, "digest"), json_object_get(ib, "digest"));
    return out;
}

json_t *mlq_mdiff(const json_t *a, const json_t *b)
{
    json_t *d = json_object();
    if (!d)
        return NULL;
    section(d, "code", code(json_object_get(a, "git"), json_object_get(b, "git")));
    field(d, "argv", json_object_get(a, "argv"), json_object_get(b, "argv"));
    field(d, "workdir", json_object_get(a, "workdir"), json_object_get(b, "workdir"));
    section(d, "env", env(json_object_get(a, "env"), json_object_get(b, "env")));
    section(d, "inputs", files(json_object_get(a, "inputs"), json_object_get(b, "inputs")));
    section(d, "outputs", files(json_object_get(a, "outputs"), json_object_get(b, "outputs")));
    section(d, "gpus", gpus(a, b));
    section(d, "image", image(json_object_get(a, "image"), json_object_get(b, "image")));
    return d;
}

/* ---- text ---- */

static const char *show(const json_t *v, char *buf, size_t len)
{
    if (!v || json_is_null(v))
        return "-";
    if (json_is_string(v))
        return mlq_out_clean(json_string_value(v), buf, len);
    char *t = json_dumps(v, JSON_COMPACT | JSON_ENCODE_ANY);
    mlq_out_clean(t ? t : "?", buf, len);
    free(t);
    return buf;
}

static void line_pair(FILE *f, const char *what, const char *key, const json_t *p)
{
    char x[SHOW_MAX], y[SHOW_MAX];
    fprintf(f, "%s%s%s: %s -> %s\n", what, key ? "." : "", key ? key : "",
            show(json_array_get(p, 0), x, sizeof x), show(json_array_get(p, 1), y, sizeof y));
}

static void print_fields(FILE *f, const char *what, const json_t *obj)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)obj, k, v) line_pair(f, what, k, v);
}

static void print_env(FILE *f, const json_t *e)
{
    char n[SHOW_MAX], x[SHOW_MAX];
    const char *k;
    json_t *v;
    json_object_foreach(json_object_get(e, "added"), k, v)
        fprintf(f, "env: + %s=%s\n", mlq_out_clean(k, n, sizeof n), show(v, x, sizeof x));
    json_object_foreach(json_object_get(e, "removed"), k, v)
        fprintf(f, "env: - %s=%s\n", mlq_out_clean(k, n, sizeof n), show(v, x, sizeof x));
    json_object_foreach(json_object_get(e, "changed"), k, v)
    {
        char what[SHOW_MAX + 8];
        snprintf(what, sizeof what, "env: %s", mlq_out_clean(k, n, sizeof n));
        line_pair(f, what, NULL, v);
    }
}

static void print_files(FILE *f, const char *what, const json_t *d)
{
    char n[SHOW_MAX];
    size_t i;
    json_t *v;
    const char *k;
    json_array_foreach(json_object_get(d, "added"), i, v)
        fprintf(f, "%s: + %s\n", what, show(v, n, sizeof n));
    json_array_foreach(json_object_get(d, "removed"), i, v)
        fprintf(f, "%s: - %s\n", what, show(v, n, sizeof n));
    json_object_foreach(json_object_get(d, "changed"), k, v)
    {
        char w[SHOW_MAX + 32];
        snprintf(w, sizeof w, "%s: %s", what, mlq_out_clean(k, n, sizeof n));
        print_fields(f, w, v);
    }
}

int mlq_mdiff_print(FILE *f, const json_t *diff)
{
    const char *k;
    json_t *v;
    json_object_foreach((json_t *)diff, k, v)
    {
        if (strcmp(k, "env") == 0)
            print_env(f, v);
        else if (strcmp(k, "inputs") == 0 || strcmp(k, "outputs") == 0)
            print_files(f, k, v);
        else if (json_is_array(v))
            line_pair(f, k, NULL, v);
        else
            print_fields(f, k, v);
    }
    return ferror(f) ? -1 : 0;
}
