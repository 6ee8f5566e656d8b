/* log: daemon logging to stderr with a timestamp, the program name and a
 * level. Only daemons and main() log; library functions return errors. */
#ifndef MLQ_LOG_H
#define MLQ_LOG_H

enum mlq_log_level { MLQ_LOG_DEBUG, MLQ_LOG_INFO, MLQ_LOG_WARN, MLQ_LOG_ERROR };

/* Sets the program name shown in each line and the minimum level. Called once
 * from main(); the log module's settings are the one piece of process-wide
 * state outside main, set before any thread starts. */
void mlq_log_init(const char *progname, enum mlq_log_level min_level);
void mlq_log(enum mlq_log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define mlq_debug(...) mlq_log(MLQ_LOG_DEBUG, __VA_ARGS__)
#define mlq_info(...)  mlq_log(MLQ_LOG_INFO, __VA_ARGS__)
#define mlq_warn(...)  mlq_log(MLQ_LOG_WARN, __VA_ARGS__)
#define mlq_error(...) mlq_log(MLQ_LOG_ERROR, __VA_ARGS__)

#endif
