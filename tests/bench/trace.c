/* trace: see trace.h. */
#include "trace.h"

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "proto.h"
#include "res.h"

#define MAX_COLS 8

static const char *const node_cols[] = {"name", "cpus", "mem", "gpus", "gpu_type"};
static const char *const task_cols[] = {"name", "arrival_s", "duration_s", "cpus",
                                        "mem",  "gpus",      "gpu_types"};

/* Splits line at commas in place; MLQ_EINVAL unless exactly want fields. */
static int split(char *line, char **f, size_t want)
{
    size_t n = 0;
    for (char *p = line;; p++) {
        if (n == MAX_COLS)
            return MLQ_EINVAL;
        f[n++] = p;
        p += strcspn(p, ",");
        if (!*p)
            break;
        *p = '\0';
    }
    return n == want ? 0 : MLQ_EINVAL;
}

static int name_check(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > MLQ_MAX_NAME)
        return MLQ_EINVAL;
    return strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789._-") == n
               ? 0
               : MLQ_EINVAL;
}

static int secs(const char *s, bool positive, double *out)
{
    char *end;
    errno = 0;
    double v = strtod(s, &end);
    if (!*s || *end || errno || !isfinite(v) || v < 0 || v > TRACE_MAX_SECS || (positive && v <= 0))
        return MLQ_EINVAL;
    *out = v;
    return 0;
}

struct reader {
    const char *path;
    FILE *f;
    size_t lineno;
    char line[TRACE_MAX_LINE + 2];
    struct mlq_err *err;
};

/* The next data line (comments and blank lines skipped); 1 at the end. */
static int next_line(struct reader *r)
{
    while (fgets(r->line, sizeof r->line, r->f)) {
        r->lineno++;
        size_t len = strlen(r->line);
        if (len == sizeof r->line - 1 && r->line[len - 1] != '\n')
            return mlq_err_set(r->err, MLQ_EINVAL, "%s:%zu: line longer than %d characters",
                               r->path, r->lineno, TRACE_MAX_LINE);
        r->line[strcspn(r->line, "\r\n")] = '\0';
        if (r->line[0] && r->line[0] != '#')
            return 0;
    }
    return ferror(r->f) ? mlq_err_set(r->err, MLQ_EIO, "%s: read error", r->path) : 1;
}

static int header(struct reader *r, const char *const *cols, size_t n)
{
    char want[256] = "";
    for (size_t i = 0; i < n; i++)
        snprintf(want + strlen(want), sizeof want - strlen(want), "%s%s", i ? "," : "", cols[i]);
    int rc = next_line(r);
    if (rc < 0)
        return rc;
    if (rc == 1 || strcmp(r->line, want) != 0)
        return mlq_err_set(r->err, MLQ_EINVAL, "%s:%zu: expected the header \"%s\"", r->path,
                           r->lineno, want);
    return 0;
}

static int bad(struct reader *r, const char *col, const char *v, const char *why)
{
    return mlq_err_set(r->err, MLQ_EINVAL, "%s:%zu: column %s: \"%.60s\": %s", r->path, r->lineno,
                       col, v, why);
}

static int parse_node(struct reader *r, char **f, struct trace_node *nd)
{
    struct mlq_err e = {0};
    if (name_check(f[0]) < 0)
        return bad(r, "name", f[0], "expected 1 to 128 of A-Z a-z 0-9 . _ -");
    snprintf(nd->name, sizeof nd->name, "%s", f[0]);
    nd->line = r->lineno;
    if (mlq_res_parse_cpus(f[1], &nd->cpus_m, &e) < 0)
        return bad(r, "cpus", f[1], e.msg);
    if (mlq_res_parse_mem(f[2], &nd->mem, &e) < 0)
        return bad(r, "mem", f[2], e.msg);
    if (mlq_res_parse_gpus(f[3], &nd->gpus, &e) < 0)
        return bad(r, "gpus", f[3], e.msg);
    if (f[4][0] && (strlen(f[4]) > MLQ_MAX_GPU_TYPE || mlq_proto_gpu_type_check(f[4], &e) < 0))
        return bad(r, "gpu_type", f[4], e.msg[0] ? e.msg : "too long");
    if (f[4][0] && nd->gpus == 0)
        return bad(r, "gpu_type", f[4], "a GPU type on a node without GPUs");
    snprintf(nd->gpu_type, sizeof nd->gpu_type, "%s", f[4]);
    return 0;
}

static int parse_task(struct reader *r, char **f, double prev, struct trace_task *t)
{
    struct mlq_err e = {0};
    if (name_check(f[0]) < 0)
        return bad(r, "name", f[0], "expected 1 to 128 of A-Z a-z 0-9 . _ -");
    snprintf(t->name, sizeof t->name, "%s", f[0]);
    if (secs(f[1], false, &t->arrival_s) < 0)
        return bad(r, "arrival_s", f[1], "expected seconds, 0 to 1e9");
    if (t->arrival_s < prev)
        return bad(r, "arrival_s", f[1], "earlier than the line before");
    if (secs(f[2], true, &t->duration_s) < 0)
        return bad(r, "duration_s", f[2], "expected seconds, more than 0, at most 1e9");
    if (mlq_res_parse_cpus(f[3], &t->cpus_m, &e) < 0)
        return bad(r, "cpus", f[3], e.msg);
    if (mlq_res_parse_mem(f[4], &t->mem, &e) < 0)
        return bad(r, "mem", f[4], e.msg);
    if (mlq_res_parse_gpu_amount(f[5], &t->gpus, &t->frac, &e) < 0)
        return bad(r, "gpus", f[5], e.msg);
    if (f[6][0] && (strlen(f[6]) > MLQ_MAX_GPU_TYPES || mlq_proto_gpu_types_check(f[6], &e) < 0))
        return bad(r, "gpu_types", f[6], e.msg[0] ? e.msg : "too long");
    if (f[6][0] && t->gpus == 0 && t->frac == 0)
        return bad(r, "gpu_types", f[6], "GPU types on a task without GPUs");
    snprintf(t->gpu_types, sizeof t->gpu_types, "%s", f[6]);
    return 0;
}

/* Reads every line of path into a growing array of elem-sized records. */
static int read_all(const char *path, bool nodes, void **out, size_t *nout, struct mlq_err *err)
{
    struct reader r = {.path = path, .err = err};
    size_t elem = nodes ? sizeof(struct trace_node) : sizeof(struct trace_task);
    size_t max = nodes ? TRACE_MAX_NODES : TRACE_MAX_TASKS, n = 0, cap = 0;
    char *v = NULL, *f[MAX_COLS] = {0};
    double prev = 0;
    if (!(r.f = fopen(path, "r")))
        return mlq_err_set(err, MLQ_ENOTFOUND, "%s: %s", path, strerror(errno));
    int rc = nodes ? header(&r, node_cols, 5) : header(&r, task_cols, 7);
    while (rc == 0 && (rc = next_line(&r)) == 0) {
        if (n == max) {
            rc = mlq_err_set(err, MLQ_ETOOBIG, "%s:%zu: more than %zu lines", path, r.lineno, max);
            break;
        }
        if (n == cap) {
            cap = cap ? cap * 2 : 256;
            char *nv = realloc(v, cap * elem);
            if (!nv) {
                rc = mlq_err_set(err, MLQ_ENOMEM, "out of memory");
                break;
            }
            v = nv;
        }
        void *rec = v + n * elem;
        memset(rec, 0, elem);
        if (split(r.line, f, nodes ? 5 : 7) < 0)
            rc = mlq_err_set(err, MLQ_EINVAL, "%s:%zu: expected %d comma-separated columns", path,
                             r.lineno, nodes ? 5 : 7);
        else
            rc = nodes ? parse_node(&r, f, rec) : parse_task(&r, f, prev, rec);
        if (rc == 0 && !nodes)
            prev = ((struct trace_task *)rec)->arrival_s;
        n += rc == 0;
    }
    fclose(r.f);
    if (rc == 1 && n == 0)
        rc = mlq_err_set(err, MLQ_EINVAL, "%s: no %s", path, nodes ? "nodes" : "tasks");
    if (rc < 0) {
        free(v);
        return rc;
    }
    *out = v;
    *nout = n;
    return 0;
}

static int by_name(const void *a, const void *b)
{
    const struct trace_node *x = *(const struct trace_node *const *)a,
                            *y = *(const struct trace_node *const *)b;
    int c = strcmp(x->name, y->name);
    return c ? c : (x->line > y->line) - (x->line < y->line);
}

/* Two nodes of one name would be one worker to the scheduler. */
static int unique_names(const char *path, const struct trace_node *v, size_t n, struct mlq_err *err)
{
    const struct trace_node **p = malloc((n ? n : 1) * sizeof *p);
    if (!p)
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    for (size_t i = 0; i < n; i++)
        p[i] = &v[i];
    qsort(p, n, sizeof *p, by_name);
    int rc = 0;
    for (size_t i = 1; rc == 0 && i < n; i++)
        if (strcmp(p[i - 1]->name, p[i]->name) == 0)
            rc = mlq_err_set(err, MLQ_EINVAL, "%s:%zu: column name: \"%.60s\": also on line %zu",
                             path, p[i]->line, p[i]->name, p[i - 1]->line);
    free(p);
    return rc;
}

int trace_read_nodes(const char *path, struct trace_node **v, size_t *n, struct mlq_err *err)
{
    int rc = read_all(path, true, (void **)v, n, err);
    if (rc == 0 && (rc = unique_names(path, *v, *n, err)) < 0) {
        free(*v);
        *v = NULL;
    }
    return rc;
}

int trace_read_tasks(const char *path, struct trace_task **v, size_t *n, struct mlq_err *err)
{
    return read_all(path, false, (void **)v, n, err);
}

int32_t trace_task_h(const struct trace_task *t)
{
    return t->gpus > 0 ? t->gpus * 100 : t->frac;
}
