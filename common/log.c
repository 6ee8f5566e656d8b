/* log: see log.h. Lines look like
 *   2026-11-25T16:20:01.123Z mlq-scheduler[4242] INFO job 1a2b3c4d submitted */
#include "log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdatomic.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "clock.h"

#define LOG_MSG_MAX    2047                /* longer messages are cut */
#define LOG_LINE_MAX   (LOG_MSG_MAX + 256) /* the stamp, program, pid, level, newline */
#define LOG_HOLD_BYTES (32 * 1024)         /* held lines of one thread */

static char log_prog[64] = "mlq";
/* Atomic: a SIGHUP reload changes it on the loop's thread while the HTTP
 * server's threads may log. */
static _Atomic int log_min = MLQ_LOG_INFO;
/* Where lines go: stderr, or the descriptor of --log-file. A reopen dup2()s
 * the fresh file onto this number, so a line written meanwhile by another
 * thread lands in one file or the other, never in a closed descriptor. */
static _Atomic int log_fd = 2;
static char log_path[4096];
static char log_who[96]; /* " mlq-scheduler[4242] ", built once per process */
static _Atomic long log_who_pid = -1;

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
    log_who_pid = -1; /* the program name changed */
}

/* The calling thread's held lines and its cached time stamp. Lines are
 * formatted straight into the hold buffer (or a stack line when not
 * holding); the date part is formatted once a second and the
 * " prog[pid] " part once per process (log_reset_pid after a fork). */
struct log_tls {
    bool hold;
    size_t len;
    int64_t secs;
    char stamp[24]; /* "2026-11-25T16:20:01" */
    char buf[LOG_HOLD_BYTES];
};
static _Thread_local struct log_tls log_tl = {.secs = -1};

static void log_write(const char *p, size_t n)
{
    /* One write per line or per batch of whole lines (O_APPEND for a
     * file), so lines from several processes or threads sharing a log do
     * not interleave mid-line. */
    ssize_t w = write(log_fd, p, n);
    (void)w;
}

void mlq_log_flush(void)
{
    if (log_tl.len > 0)
        log_write(log_tl.buf, log_tl.len);
    log_tl.len = 0;
}

void mlq_log_hold(bool hold)
{
    mlq_log_flush();
    log_tl.hold = hold;
}

static const char *log_who_part(void)
{
    long pid = (long)getpid();
    if (pid != log_who_pid) {
        snprintf(log_who, sizeof log_who, "Z %s[%ld] ", log_prog, pid);
        log_who_pid = pid;
    }
    return log_who;
}

/* Formats one line into out (cap bytes, at least LOG_LINE_MAX); its length. */
static size_t log_format(char *out, size_t cap, enum mlq_log_level level, const char *fmt,
                         va_list ap)
{
    static const char *const names[] = {"DEBUG ", "INFO ", "WARN ", "ERROR "};
    int64_t now = mlq_clock_wall_ms();
    if (now / 1000 != log_tl.secs) {
        time_t secs = (time_t)(now / 1000);
        struct tm tm;
        gmtime_r(&secs, &tm);
        strftime(log_tl.stamp, sizeof log_tl.stamp, "%Y-%m-%dT%H:%M:%S", &tm);
        log_tl.secs = now / 1000;
    }
    /* The head by copies rather than snprintf: at info level a busy
     * scheduler writes a few lines per job. */
    int ms = (int)(now % 1000);
    const char *who = log_who_part(), *name = names[level];
    size_t ls = strlen(log_tl.stamp), lw = strlen(who), ln = strlen(name);
    size_t head = ls + 4 + lw + ln;
    if (head >= cap - 2)
        return 0;
    memcpy(out, log_tl.stamp, ls);
    out[ls] = '.';
    out[ls + 1] = (char)('0' + ms / 100);
    out[ls + 2] = (char)('0' + ms / 10 % 10);
    out[ls + 3] = (char)('0' + ms % 10);
    memcpy(out + ls + 4, who, lw);
    memcpy(out + ls + 4 + lw, name, ln);
    /* the message, at most LOG_MSG_MAX bytes, then the newline */
    size_t room = cap - head - 1 < LOG_MSG_MAX + 1 ? cap - head - 1 : LOG_MSG_MAX + 1;
    int m = vsnprintf(out + head, room, fmt, ap);
    size_t len = head + (m < 0 ? 0 : (size_t)m < room ? (size_t)m : room - 1);
    /* A line never spans two: a newline in a message (a peer's text) would
     * let it forge lines of its own. */
    for (char *p = out + head; p < out + len; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    out[len++] = '\n';
    return len;
}

void mlq_log(enum mlq_log_level level, const char *fmt, ...)
{
    if ((int)level < log_min)
        return;
    va_list ap;
    va_start(ap, fmt);
    /* Held lines of DEBUG and INFO wait for mlq_log_flush(); a WARN or an
     * ERROR goes out at once, behind what was held. */
    if (log_tl.hold && level <= MLQ_LOG_INFO) {
        if (sizeof log_tl.buf - log_tl.len < LOG_LINE_MAX)
            mlq_log_flush();
        log_tl.len +=
            log_format(log_tl.buf + log_tl.len, sizeof log_tl.buf - log_tl.len, level, fmt, ap);
        va_end(ap);
        return;
    }
    mlq_log_flush();
    char line[LOG_LINE_MAX];
    size_t n = log_format(line, sizeof line, level, fmt, ap);
    va_end(ap);
    log_write(line, n);
}
