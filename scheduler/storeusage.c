/* storeusage: see storeusage.h. */
#include "storeusage.h"

#include <stdio.h>

#include "protousage.h"
#include "storeint.h"

/* A measured value, or NULL for -1 (not measured). */
static int bind_opt_i64(sqlite3_stmt *s, int i, int64_t v)
{
    return v >= 0 ? sqlite3_bind_int64(s, i, v) : sqlite3_bind_null(s, i);
}

int mlq_storeusage_bind(sqlite3_stmt *s, int i, const struct mlq_usage *u)
{
    struct mlq_usage none;
    mlq_usage_clear(&none);
    if (!mlq_usage_any(u))
        u = &none;
    int rc = mlq_storei_bind_opt(s, i, u->source[0] ? u->source : NULL);
    rc |= bind_opt_i64(s, i + 1, u->mem_peak);
    rc |= bind_opt_i64(s, i + 2, u->cpu_us);
    rc |= bind_opt_i64(s, i + 3, u->wall_ms);
    rc |= bind_opt_i64(s, i + 4, u->gpu_mem_peak);
    rc |= bind_opt_i64(s, i + 5, u->gpu_util);
    return rc;
}

static int64_t col_opt_i64(sqlite3_stmt *s, int i)
{
    return sqlite3_column_type(s, i) == SQLITE_NULL ? -1 : sqlite3_column_int64(s, i);
}

void mlq_storeusage_from_row(sqlite3_stmt *s, int col, struct mlq_usage *u)
{
    const unsigned char *src = sqlite3_column_text(s, col);
    mlq_usage_clear(u);
    if (!src || !mlq_usage_source_valid((const char *)src))
        return;
    snprintf(u->source, sizeof u->source, "%s", (const char *)src);
    u->mem_peak = col_opt_i64(s, col + 1);
    u->cpu_us = col_opt_i64(s, col + 2);
    u->wall_ms = col_opt_i64(s, col + 3);
    u->gpu_mem_peak = col_opt_i64(s, col + 4);
    int64_t util = col_opt_i64(s, col + 5);
    u->gpu_util = util >= 0 && util <= 100 ? (int32_t)util : -1;
}
