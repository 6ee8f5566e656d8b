/* cron: five-field cron expressions and their next fire time in a time zone.
 *
 * Syntax (Vixie cron / cronie): "minute hour day-of-month month day-of-week",
 * fields separated by blanks, each a comma list of `*`, `N` or `A-B`, where
 * `*` and `A-B` may take a step `/S`. Months take JAN..DEC and days SUN..SAT (any case), also in
 * ranges; day-of-week 0 and 7 are both Sunday. @hourly, @daily (@midnight), @weekly,
 * @monthly and @yearly (@annually) stand for their usual expansions.
 *
 * Day rule: when day-of-month and day-of-week are both restricted, a day
 * matches if EITHER matches; when one of them starts with `*` (even with a step),
 * both must match, as in Vixie cron.
 *
 * Daylight saving (the cron(8) rule of Vixie cron and cronie): an expression
 * whose minute or hour field starts with `*` (and @hourly) is a "wildcard"
 * job and follows the wall clock: a wall time skipped by a spring-forward gap
 * does not fire, a wall time repeated by a fall-back overlap fires in both
 * occurrences. Any other expression is a "fixed-time" job: a wall time that
 * does not exist fires once, at the first instant after the gap (the
 * transition itself), and a repeated wall time fires once, at its first
 * occurrence. Offsets are taken from the system's tzdata through glibc; the
 * zone may change at most once in any 54-hour span (true of every zone since
 * long before 1970). */
#ifndef MLQ_CRON_H
#define MLQ_CRON_H

#include <stddef.h>
#include <stdint.h>

#include "err.h"

#define MLQ_CRON_MAX_EXPR 256                   /* bytes of expression text */
#define MLQ_CRON_MAX_TZ   64                    /* bytes of time-zone name */
#define MLQ_CRON_MAX_TIME 253402300799LL        /* 9999-12-31T23:59:59Z */
#define MLQ_CRON_ZONEDIR  "/usr/share/zoneinfo" /* where zone files are looked up */

struct mlq_cron;

/* Parses expr into *out (caller destroys it). Refuses, with a one-line
 * message naming the field, empty or over-long text, a field count other than
 * five, values out of range, empty items, reversed ranges, steps of 0 or
 * wider than the field, unknown names, trailing garbage, and a day-of-month
 * that no listed month has (e.g. "0 0 30 2 *"), which would never fire. */
int mlq_cron_parse(const char *expr, struct mlq_cron **out, struct mlq_err *err);

/* Frees *c (NULL is fine) and sets *c to NULL. */
void mlq_cron_destroy(struct mlq_cron **c);

/* Checks that tz names an installed zone: NULL or "" (meaning UTC) or a name
 * like "Europe/Paris" of letters, digits and "/_+-", without "..", that names
 * a TZif file under MLQ_CRON_ZONEDIR. MLQ_EINVAL "unknown time zone" if not. */
int mlq_cron_check_tz(const char *tz, struct mlq_err *err);

/* Stores in *next_s the first fire time strictly after after_s (Unix
 * seconds, 0..MLQ_CRON_MAX_TIME), with wall times read in zone tz (see
 * mlq_cron_check_tz; NULL or "" is UTC). MLQ_EINVAL, besides bad arguments,
 * when nothing fires within 401 years: only in a zone with daylight saving,
 * for a wildcard job whose every time falls in a gap ("* 2 28 3 0" in Paris).
 *
 * NOT thread-safe for a named zone: glibc has no per-zone API, so this sets
 * TZ and calls tzset() around localtime_r(), then restores TZ as it was. The
 * scheduler is single-threaded; no other thread may use local time meanwhile.
 * UTC touches no global state. */
int mlq_cron_next(const struct mlq_cron *c, const char *tz, int64_t after_s, int64_t *next_s,
                  struct mlq_err *err);

/* Writes instant t_s (Unix seconds) as ISO 8601 wall time in zone tz:
 * "2026-12-07T02:00:00+01:00", or "...Z" when tz is NULL or "" (UTC). Same
 * thread-safety as mlq_cron_next. MLQ_EINVAL for a bad zone, time or a buf
 * too small (MLQ_CRON_ISO_LEN is enough). */
#define MLQ_CRON_ISO_LEN 32
int mlq_cron_format(const char *tz, int64_t t_s, char *buf, size_t len, struct mlq_err *err);

#endif
