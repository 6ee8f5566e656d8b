/* cmd_wsummary: see cmd_wsummary.h. The scheduler sums the workers (one
 * request, one reply, whatever the cluster's size); the client only adds
 * the pools up into the TOTAL line. */
#include "cmd_wsummary.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "output.h"
#include "res.h"

/* The sum of every pool; its GPU types merged by name (owned by the
 * caller: free t->gpus). */
static int sum_pools(const struct mlq_poolsum *p, uint32_t n, struct mlq_poolsum *t)
{
    uint32_t cap = 0;
    for (uint32_t i = 0; i < n; i++)
        cap += p[i].ngpus;
    memset(t, 0, sizeof *t);
    t->pool = "TOTAL";
    t->gpus = calloc(cap ? cap : 1, sizeof *t->gpus);
    if (!t->gpus)
        return MLQ_ENOMEM;
    for (uint32_t i = 0; i < n; i++) {
        t->up += p[i].up;
        t->drained += p[i].drained;
        t->down += p[i].down;
        t->unhealthy += p[i].unhealthy;
        t->cpus_m += p[i].cpus_m;
        t->cpus_free_m += p[i].cpus_free_m;
        t->mem += p[i].mem;
        t->mem_free += p[i].mem_free;
        t->gpus_stranded_h += p[i].gpus_stranded_h;
        for (uint32_t k = 0; k < p[i].ngpus; k++) {
            uint32_t j = 0;
            while (j < t->ngpus && strcmp(t->gpus[j].type, p[i].gpus[k].type) != 0)
                j++;
            if (j == t->ngpus)
                t->gpus[t->ngpus++].type = p[i].gpus[k].type;
            t->gpus[j].free += p[i].gpus[k].free;
            t->gpus[j].total += p[i].gpus[k].total;
        }
    }
    return 0;
}

static int by_type(const void *a, const void *b)
{
    return strcmp(((const struct mlq_gpusum *)a)->type, ((const struct mlq_gpusum *)b)->type);
}

/* "a100 3/8, h100 0/4", or "-" without GPUs. */
static const char *gpus_text(struct mlq_poolsum *p, char *buf, size_t len)
{
    size_t used = 0;
    snprintf(buf, len, "-");
    qsort(p->gpus, p->ngpus, sizeof *p->gpus, by_type);
    for (uint32_t i = 0; i < p->ngpus && used < len; i++) {
        int n = snprintf(buf + used, len - used, "%s%s %d/%d", i ? ", " : "", p->gpus[i].type,
                         (int)p->gpus[i].free, (int)p->gpus[i].total);
        used += n > 0 ? (size_t)n : 0;
    }
    return buf;
}

/* Hundredths of a GPU as "3" or "0.25". */
static const char *fmt_h(int64_t h, char *buf, size_t len)
{
    if (h % 100 == 0)
        snprintf(buf, len, "%lld", (long long)(h / 100));
    else
        snprintf(buf, len, "%lld.%02d", (long long)(h / 100), (int)(h % 100));
    return buf;
}

static int add_row(struct mlq_table *t, struct mlq_poolsum *p)
{
    char strand[32];
    char nodes[16], up[16], dr[16], down[16], un[16], cpus[64], mem[64], gpus[512], a[32], b[32];
    snprintf(nodes, sizeof nodes, "%d", (int)(p->up + p->drained + p->down + p->unhealthy));
    snprintf(up, sizeof up, "%d", (int)p->up);
    snprintf(dr, sizeof dr, "%d", (int)p->drained);
    snprintf(down, sizeof down, "%d", (int)p->down);
    snprintf(un, sizeof un, "%d", (int)p->unhealthy);
    snprintf(cpus, sizeof cpus, "%s/%s", mlq_res_fmt_cpus(p->cpus_free_m, a, sizeof a),
             mlq_res_fmt_cpus(p->cpus_m, b, sizeof b));
    snprintf(mem, sizeof mem, "%s/%s", mlq_res_fmt_mem(p->mem_free, a, sizeof a),
             mlq_res_fmt_mem(p->mem, b, sizeof b));
    char pool[MLQ_MAX_NAME + 1];
    const char *cells[] = {mlq_out_clean(p->pool, pool, sizeof pool),
                           nodes,
                           up,
                           dr,
                           down,
                           un,
                           cpus,
                           mem,
                           gpus_text(p, gpus, sizeof gpus),
                           fmt_h(p->gpus_stranded_h, strand, sizeof strand)};
    int rc = 0;
    for (size_t i = 0; rc == 0 && i < sizeof cells / sizeof cells[0]; i++)
        rc = mlq_table_add(t, cells[i], NULL);
    return rc;
}

static int print_text(FILE *f, struct mlq_poolsum *p, uint32_t n, struct mlq_poolsum *total,
                      bool colour)
{
    static const char *const headers[] = {"POOL",
                                          "NODES",
                                          "UP",
                                          "DRAINED",
                                          "DOWN",
                                          "UNHEALTHY",
                                          "CPUS(free/total)",
                                          "MEM(free/total)",
                                          "GPUS(free/total)",
                                          "STRANDED"};
    struct mlq_table *t = mlq_table_create(10, headers);
    int rc = t ? 0 : MLQ_ENOMEM;
    for (uint32_t i = 0; rc == 0 && i < n; i++)
        rc = add_row(t, &p[i]);
    if (rc == 0)
        rc = add_row(t, total);
    if (rc == 0)
        rc = mlq_table_print(t, f, colour);
    mlq_table_destroy(&t);
    return rc < 0 ? rc : ferror(f) ? MLQ_EIO : 0;
}

static json_t *row_json(const struct mlq_poolsum *p, bool named)
{
    json_t *g = json_object();
    for (uint32_t i = 0; g && i < p->ngpus; i++)
        if (json_object_set_new(g, p->gpus[i].type,
                                json_pack("{s:i, s:i}", "free", (int)p->gpus[i].free, "total",
                                          (int)p->gpus[i].total)) < 0) {
            json_decref(g);
            g = NULL;
        }
    json_t *o =
        json_pack("{s:i, s:i, s:i, s:i, s:i, s:{s:f, s:f}, s:{s:I, s:I}, s:o*}", "nodes",
                  (int)(p->up + p->drained + p->down + p->unhealthy), "up", (int)p->up, "drained",
                  (int)p->drained, "down", (int)p->down, "unhealthy", (int)p->unhealthy, "cpus",
                  "free", (double)p->cpus_free_m / 1000.0, "total", (double)p->cpus_m / 1000.0,
                  "mem", "free", (json_int_t)p->mem_free, "total", (json_int_t)p->mem, "gpus", g);
    if (o && json_object_set_new(o, "gpus_stranded",
                                 json_real((double)p->gpus_stranded_h / 100.0)) < 0) {
        json_decref(o);
        o = NULL;
    }
    if (o && named && json_object_set_new(o, "pool", json_string(p->pool)) < 0) {
        json_decref(o);
        o = NULL;
    }
    return o;
}

static int print_json(FILE *f, const struct mlq_poolsum *p, uint32_t n,
                      const struct mlq_poolsum *total)
{
    json_t *arr = json_array();
    for (uint32_t i = 0; arr && i < n; i++)
        if (json_array_append_new(arr, row_json(&p[i], true)) < 0) {
            json_decref(arr);
            arr = NULL;
        }
    json_t *doc =
        arr ? json_pack("{s:o, s:o}", "pools", arr, "total", row_json(total, false)) : NULL;
    int rc = doc ? mlq_out_json_print(f, doc) : MLQ_ENOMEM;
    json_decref(doc);
    return rc;
}

int mlq_cli_wsummary_print(FILE *f, struct mlq_poolsum *p, uint32_t n, bool json, bool colour)
{
    struct mlq_poolsum total;
    int rc = sum_pools(p, n, &total);
    if (rc == 0)
        rc = json ? print_json(f, p, n, &total) : print_text(f, p, n, &total, colour);
    free(total.gpus);
    return rc;
}

int mlq_cli_wsummary_run(struct mlq_cli *cli, bool json)
{
    struct mlq_err err = {0};
    struct mlq_msg req = {.type = MLQ_MSG_WORKER_SUMMARY}, reply;
    int rc = mlq_cli_request(cli, &req, MLQ_MSG_WORKER_SUMMARY_LIST, &reply, &err);
    if (rc < 0)
        return mlq_out_fail(rc, &err);
    rc = mlq_cli_wsummary_print(stdout, reply.u.worker_summary.pools, reply.u.worker_summary.npools,
                                json, cli->stdout_tty);
    mlq_proto_msg_free(&reply);
    return rc < 0 ? mlq_out_fail(rc, NULL) : MLQ_EXIT_OK;
}
