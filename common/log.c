/* log: see log.h. Lines look like
 *   2026-11-25T16:20:01.123Z mlq-scheduler INFO job 1a2b3c4d submitted */
#include "log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "clock.h"

static char log_prog[64] = "mlq";
static enum mlq_log_level log_min = MLQ_LOG_INFO;

void mlq_log_init(const char *progname, enum mlq_log_level min_level)
{
    snprintf(log_prog, sizeof log_prog, "%s", progname);
    log_min = min_level;
}

void mlq_log(enum mlq_log_level level, const char *fmt, ...)
{
    static const char *const names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    if (level < log_min)
        return;
    int64_t now = mlq_clock_wall_ms();
    time_t secs = (time_t)(now / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);

    char line[2048];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(line, sizeof line, fmt, ap);
    va_end(ap);
    /* One fprintf per line so lines from several processes sharing a log file
     * do not interleave mid-line. */
    fprintf(stderr, "%s.%03dZ %s %s %s\n", stamp, (int)(now % 1000), log_prog, names[level], line);
}
