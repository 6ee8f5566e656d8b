/* protousage: see protousage.h. */
#include "protousage.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "bounds.h"
#include "res.h"

#define USAGE_MAX_KEYS 6
#define MAX_CPU_US     (INT64_MAX / 2)
#define MAX_WALL_MS    (INT64_MAX / 2)

static const char *const sources[] = {"cgroup2", "cgroup1", "proc"};

void mlq_usage_clear(struct mlq_usage *u)
{
    *u = (struct mlq_usage){-1, -1, -1, -1, -1, ""};
}

bool mlq_usage_any(const struct mlq_usage *u)
{
    /* The source is set whenever anything was measured; a zeroed struct
     * (a message built without usage) thus counts as nothing measured. */
    return u->source[0] != '\0';
}

bool mlq_usage_source_valid(const char *s)
{
    for (size_t i = 0; i < sizeof sources / sizeof *sources; i++) {
        if (strcmp(s, sources[i]) == 0)
            return true;
    }
    return false;
}

void mlq_protousage_put(msgpack_packer *pk, const struct mlq_usage *u)
{
    mlq_mpk_put_str(pk, "usage");
    if (!mlq_usage_any(u)) {
        msgpack_pack_nil(pk);
        return;
    }
    uint32_t n = (u->mem_peak >= 0) + (u->cpu_us >= 0) + (u->wall_ms >= 0) +
                 (u->gpu_mem_peak >= 0) + (u->gpu_util >= 0) + (u->source[0] != '\0');
    msgpack_pack_map(pk, n);
    if (u->mem_peak >= 0)
        mlq_mpk_kv_int(pk, "mem_peak", u->mem_peak);
    if (u->cpu_us >= 0)
        mlq_mpk_kv_int(pk, "cpu_us", u->cpu_us);
    if (u->wall_ms >= 0)
        mlq_mpk_kv_int(pk, "wall_ms", u->wall_ms);
    if (u->gpu_mem_peak >= 0)
        mlq_mpk_kv_int(pk, "gpu_mem_peak", u->gpu_mem_peak);
    if (u->gpu_util >= 0)
        mlq_mpk_kv_int(pk, "gpu_util", u->gpu_util);
    if (u->source[0])
        mlq_mpk_kv_str(pk, "source", u->source);
}

/* An optional integer key: absent or nil leaves -1. */
static int opt(const struct mlq_mpk_map *m, const char *key, int64_t max, int64_t *out)
{
    *out = -1;
    return mlq_mpk_absent(m, key) ? 0 : mlq_mpk_read_int(m, key, 0, max, out);
}

static int read_fields(const struct mlq_mpk_map *m, struct mlq_usage *u)
{
    int64_t util = -1;
    char *src = NULL;
    int rc = opt(m, "mem_peak", MLQ_MAX_MEM, &u->mem_peak);
    rc = rc ? rc : opt(m, "cpu_us", MAX_CPU_US, &u->cpu_us);
    rc = rc ? rc : opt(m, "wall_ms", MAX_WALL_MS, &u->wall_ms);
    rc = rc ? rc : opt(m, "gpu_mem_peak", MLQ_MAX_MEM, &u->gpu_mem_peak);
    rc = rc ? rc : opt(m, "gpu_util", 100, &util);
    u->gpu_util = (int32_t)util;
    rc = rc ? rc : mlq_mpk_read_str(m, "source", MLQ_USAGE_SOURCE_MAX, true, &src);
    if (rc == 0 && src && !mlq_usage_source_valid(src))
        rc = mlq_err_set(m->err, MLQ_EPROTO, "%s: key 'source': unknown '%s'", m->where, src);
    if (rc == 0 && src)
        snprintf(u->source, sizeof u->source, "%s", src);
    free(src);
    return rc;
}

int mlq_protousage_read(const struct mlq_mpk_map *mp, struct mlq_usage *u)
{
    mlq_usage_clear(u);
    if (mlq_mpk_absent(mp, "usage"))
        return 0;
    struct mlq_mpk_map m;
    int rc = mlq_mpk_read_map(mp, "usage", "usage", &m);
    if (rc == 0)
        rc = read_fields(&m, u);
    if (rc < 0 || !u->source[0])
        mlq_usage_clear(u);
    return rc;
}

/* Appends to buf at *used (snprintf style, never past len). */
static void add(char *buf, size_t len, size_t *used, const char *fmt, ...)
    __attribute__((format(printf, 4, 5)));

static void add(char *buf, size_t len, size_t *used, const char *fmt, ...)
{
    if (*used >= len)
        return;
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(buf + *used, len - *used, fmt, ap);
    va_end(ap);
    if (n > 0)
        *used += (size_t)n;
}

/* Bytes as "3.1G", "640M", "12K". */
static void fmt_bytes(int64_t b, char *buf, size_t len)
{
    static const char units[] = "KMGTP";
    double v = (double)b;
    int u = -1;
    while (v >= 1024 && u < 4) {
        v /= 1024;
        u++;
    }
    if (u < 0)
        snprintf(buf, len, "%" PRId64 "B", b);
    else
        snprintf(buf, len, v < 10 ? "%.1f%c" : "%.0f%c", v, units[u]);
}

/* Seconds as "42 s", "12 min", "0.6 h" (and CPU time with cpu- in front). */
static void fmt_time(double sec, const char *pre, char *buf, size_t len)
{
    if (sec < 120)
        snprintf(buf, len, "%.1f %ss", sec, pre);
    else if (sec < 7200)
        snprintf(buf, len, "%.0f %smin", sec / 60, pre);
    else
        snprintf(buf, len, "%.1f %sh", sec / 3600, pre);
}

static void format_mem(const struct mlq_usage *u, int64_t asked, char *buf, size_t len,
                       size_t *used)
{
    char a[32], p[32];
    if (u->mem_peak < 0)
        return;
    fmt_bytes(u->mem_peak, p, sizeof p);
    if (asked > 0) {
        fmt_bytes(asked, a, sizeof a);
        add(buf, len, used, "mem: asked %s, peak %s", a, p);
    } else {
        add(buf, len, used, "mem: peak %s", p);
    }
    if (strcmp(u->source, "proc") == 0)
        add(buf, len, used, " (largest process)");
}

static void format_cpu(const struct mlq_usage *u, int64_t cpus_m, char *buf, size_t len,
                       size_t *used)
{
    char c[32], t[32], w[32];
    if (u->cpu_us < 0)
        return;
    add(buf, len, used, "%scpu: ", *used ? "; " : "");
    if (cpus_m > 0)
        add(buf, len, used, "asked %s, ", mlq_res_fmt_cpus(cpus_m, c, sizeof c));
    fmt_time((double)u->cpu_us / 1e6, "cpu-", t, sizeof t);
    add(buf, len, used, "used %s", t);
    if (u->wall_ms >= 0) {
        fmt_time((double)u->wall_ms / 1e3, "", w, sizeof w);
        add(buf, len, used, " over %s", w);
    }
}

void mlq_usage_format(const struct mlq_usage *u, int64_t mem_asked, int64_t cpus_m_asked, char *buf,
                      size_t len)
{
    size_t used = 0;
    char g[32];
    buf[0] = '\0';
    format_mem(u, mem_asked, buf, len, &used);
    format_cpu(u, cpus_m_asked, buf, len, &used);
    if (u->gpu_mem_peak >= 0) {
        fmt_bytes(u->gpu_mem_peak, g, sizeof g);
        add(buf, len, &used, "%sgpu: mem peak %s", used ? "; " : "", g);
        if (u->gpu_util >= 0)
            add(buf, len, &used, ", util %d%%", (int)u->gpu_util);
    }
}
