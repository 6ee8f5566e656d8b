/* storeusage: an attempt's usage (struct mlq_usage) in its six columns
 * usage_source, usage_mem_peak, usage_cpu_us, usage_wall_ms,
 * usage_gpu_mem_peak, usage_gpu_util (schema v9), in that order; NULL
 * stands for "not measured". */
#ifndef MLQ_STOREUSAGE_H
#define MLQ_STOREUSAGE_H

#include <sqlite3.h>

#include "proto.h"

/* Binds the six columns from parameter i on; all NULL when nothing was
 * measured. SQLITE_OK or an SQLite error code (ORed). */
int mlq_storeusage_bind(sqlite3_stmt *s, int i, const struct mlq_usage *u);
/* Reads the six columns from column col on; a source the code does not
 * know (a database edited by hand) reads as nothing measured. */
void mlq_storeusage_from_row(sqlite3_stmt *s, int col, struct mlq_usage *u);

#endif
