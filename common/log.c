/* log: see log.h. Lines look like
 *   2026-11-25T16:20:01.123Z mlq-scheduler[4242] INFO job 1a2b3c4d submitted */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

static char log_prog[64] = "mlq";
/* Atomic: a SIGHUP reload changes it on the loop's thread while the HTTP
 * server's threads may log. */
static _Atomic int log_min = MLQ_LOG_INFO;
/* Where lines go: stderr, or the descriptor of --log-file. A reopen dup2()s
 * the fresh file onto this number, so a line written meanwhile by another
 * thread lands in one file or the other, never in a closed descriptor. */
static _Atomic int log_fd = 2;
static char log_path[4096];

int mlq_log_set_level(enum mlq_log_level level)
{
    if (level < MLQ_LOG_DEBUG || level > MLQ_LOG_ERROR)
        return -1;
    log_min = level;
    return 0;
}

enum mlq_log_level mlq_log_level(void)
{
    return (enum mlq_log_level)log_min;
}

int mlq_log_parse_level(const char *s, enum mlq_log_level *out)
{
    static const char *const names[] = {"debug", "info", "warn", "error"};
    for (int i = 0; s && i < 4; i++) {
        if (strcmp(s, names[i]) == 0) {
            *out = (enum mlq_log_level)i;
            return 0;
        }
    }
    return -1;
}

static int log_open_path(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC | O_NOCTTY, 0640);
}

int mlq_log_open_file(const char *path, char *why, size_t whylen)
{
    if (!path || !*path || strlen(path) >= sizeof log_path) {
        snprintf(why, whylen, "expected a path of at most %zu bytes", sizeof log_path - 1);
        return -1;
    }
    int fd = log_open_path(path);
    if (fd >= 0 && log_fd != 2) {
        /* Another file already: take its descriptor number over. */
        if (dup3(fd, log_fd, O_CLOEXEC) < 0) {
            close(fd);
            fd = -1;
        } else {
            close(fd);
            fd = log_fd;
        }
    }
    if (fd < 0) {
        snprintf(why, whylen, "%s: %s", path, strerror(errno));
        return -1;
    }
    snprintf(log_path, sizeof log_path, "%s", path);
    log_fd = fd;
    return 0;
}

int mlq_log_reopen(char *why, size_t whylen)
{
    if (log_fd == 2)
        return 0;
    int fd = log_open_path(log_path);
    if (fd < 0 || dup3(fd, log_fd, O_CLOEXEC) < 0) {
        snprintf(why, whylen, "%s: %s", log_path, strerror(errno));
        if (fd >= 0)
            close(fd);
        return -1;
    }
    close(fd);
    return 0;
}

const char *mlq_log_file(void)
{
    return log_fd == 2 ? NULL : log_path;
}

void mlq_log_init(const char *progname, enum mlq_log_level min_level)
{
    snprintf(log_prog, sizeof log_prog, "%s", progname);
    log_min = min_level;
}

void mlq_log(enum mlq_log_level level, const char *fmt, ...)
{
    static const char *const names[] = {"DEBUG", "INFO", "WARN", "ERROR"};
    if ((int)level < log_min)
        return;
    int64_t now = mlq_clock_wall_ms();
    time_t secs = (time_t)(now / 1000);
    struct tm tm;
    gmtime_r(&secs, &tm);
    char stamp[32];
    strftime(stamp, sizeof stamp, "%Y-%m-%dT%H:%M:%S", &tm);

    char msg[2048], line[2400];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    /* A line never spans two: a newline in a message (a peer's text) would
     * let it forge lines of its own. */
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    int n = snprintf(line, sizeof line, "%s.%03dZ %s[%ld] %s %s\n", stamp, (int)(now % 1000),
                     log_prog, (long)getpid(), names[level], msg);
    if (n < 0)
        return;
    if ((size_t)n >= sizeof line) {
        n = (int)sizeof line - 1;
        line[n - 1] = '\n';
    }
    /* One write per line (O_APPEND for a file) so lines from several
     * processes or threads sharing a log do not interleave mid-line. */
    ssize_t w = write(log_fd, line, (size_t)n);
    (void)w;
}
