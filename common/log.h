/* log: daemon logging to stderr (or a --log-file) with a timestamp, the
 * program name and pid and a level, one line per event:
 *   2026-11-25T16:20:01.123Z mlq-scheduler[4242] INFO job 1a2b3c4d submitted
 * The timestamp is UTC ("Z"), in milliseconds. Only daemons and main() log;
 * library functions return errors. */
#ifndef MLQ_LOG_H
#define MLQ_LOG_H

#include <stdbool.h>
#include <stddef.h>

enum mlq_log_level { MLQ_LOG_DEBUG, MLQ_LOG_INFO, MLQ_LOG_WARN, MLQ_LOG_ERROR };

/* Sets the program name shown in each line and the minimum level. Called once
 * from main(); the log module's settings are the one piece of process-wide
 * state outside main, set before any thread starts. */
void mlq_log_init(const char *progname, enum mlq_log_level min_level);
/* Changes the minimum level (SIGHUP reload); -1 for an unknown level. */
int mlq_log_set_level(enum mlq_log_level level);
enum mlq_log_level mlq_log_level(void);
/* "debug", "info", "warn" or "error"; -1 for anything else. */
int mlq_log_parse_level(const char *s, enum mlq_log_level *out);
/* Sends lines to path (appended, created 0640) instead of stderr; -1 with
 * why filled when it cannot be opened. */
int mlq_log_open_file(const char *path, char *why, size_t whylen);
/* Opens the log file's path again (after logrotate moved it away); 0 and
 * nothing done when logging to stderr. */
int mlq_log_reopen(char *why, size_t whylen);
/* The log file's path, or NULL for stderr. */
const char *mlq_log_file(void);
void mlq_log(enum mlq_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* With hold, the calling thread's DEBUG and INFO lines are kept in a
 * buffer of its own and written together, in one write, by
 * mlq_log_flush() (or when the buffer fills, or before a WARN or ERROR
 * line): an event loop holds its lines while it works and flushes them
 * before it waits, so that a line per job costs a copy, not a system call.
 * Other threads are not affected. mlq_log_hold(false) flushes. */
void mlq_log_hold(bool hold);
void mlq_log_flush(void);

#define mlq_debug(...) mlq_log(MLQ_LOG_DEBUG, __VA_ARGS__)
#define mlq_info(...)  mlq_log(MLQ_LOG_INFO, __VA_ARGS__)
#define mlq_warn(...)  mlq_log(MLQ_LOG_WARN, __VA_ARGS__)
#define mlq_error(...) mlq_log(MLQ_LOG_ERROR, __VA_ARGS__)

#endif
