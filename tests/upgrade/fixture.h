/* fixture: databases as an older mlq-scheduler left them, for upgrade
 * tests. mlq_fixture_write(path, k) applies the store's own schema steps up
 * to version k (mlq_store_migrate_to) and inserts representative rows with
 * the columns version k has:
 *
 *   job            state      attempts                      from version
 *   FX_OK          SUCCEEDED  1 SUCCEEDED (exit 0)          1
 *   FX_FAILED      FAILED     2 FAILED (exit 3)             1
 *   FX_PENDING     PENDING    none (a retry time from v2)   1
 *   FX_RUNNING     RUNNING    1 RUNNING on worker w-old     1
 *   FX_CANCELLED   CANCELLED  none                          1
 *   FX_TASK0/1     SUCCEEDED / PENDING, tasks of FX_ARRAY   4
 *
 * plus their events, the worker w-old (drained, pool gpu from v3), the array,
 * the schedule "nightly" with one run and an idempotency key (v4), the
 * principals alice and w-old (v5) and a token (v8).
 *
 * A schema step that adds a NOT NULL column without a default, or a table
 * whose rows the upgrade must carry, needs its rows here too: extend
 * write_rows() for the version that adds it. */
#ifndef MLQ_TEST_FIXTURE_H
#define MLQ_TEST_FIXTURE_H

#include "err.h"

#define FX_OK        "00000001-0000-4000-8000-000000000001"
#define FX_FAILED    "00000002-0000-4000-8000-000000000002"
#define FX_PENDING   "00000003-0000-4000-8000-000000000003"
#define FX_RUNNING   "00000004-0000-4000-8000-000000000004"
#define FX_CANCELLED "00000005-0000-4000-8000-000000000005"
#define FX_TASK0     "00000006-0000-4000-8000-000000000006"
#define FX_TASK1     "00000007-0000-4000-8000-000000000007"
#define FX_ARRAY     "000000aa-0000-4000-8000-0000000000aa"
#define FX_RUN_ATT   "00000004-1111-4000-8000-000000000004"
#define FX_NJOBS_V1  5 /* jobs below version 4 */
#define FX_NJOBS_V4  7 /* from version 4 */

/* Writes the fixture of schema version (1..MLQ_STORE_SCHEMA_VERSION) to the
 * path, which must not exist. */
int mlq_fixture_write(const char *path, int version, struct mlq_err *err);

/* Writes to dst (which must not exist) the database src (a current one) as schema
 * version would hold it: dst gets steps 1..version, then every table of
 * dst is filled from the same table of src, with the columns both have.
 * For a scheduler upgrade with jobs in flight: the rows are those a running
 * scheduler wrote; the test then opens dst with the current build. Sound
 * while the steps after version only add tables and columns (or rebuild
 * tables keeping their columns), which is what steps 2..8 do. */
int mlq_fixture_downgrade(const char *src, const char *dst, int version, struct mlq_err *err);

#endif
