/* output: JSON rendering of jobs and workers, aligned tables and time
 * formatting for the CLI.
 *
 * Text that came from the scheduler (job names, commands, worker names) is
 * untrusted: tables and argv rendering replace control characters so that
 * nothing a job submitter chose can move the cursor of another user's
 * terminal. JSON output is escaped by jansson. */
#include "output.h"

#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "client.h"
#include "err.h"
#include "jsonview.h"
#include "res.h"

int mlq_out_fail(int code, const struct mlq_err *err)
{
    const char *msg = err && err->msg[0] ? err->msg : mlq_strerror(code);
    fprintf(stderr, "mlq: %s\n", msg);
    return mlq_cli_exit_code(code);
}

bool mlq_out_colour(FILE *f)
{
    const char *no = getenv("NO_COLOR");
    if (no && no[0])
        return false;
    return isatty(fileno(f)) == 1;
}

/* Every time shown to people names its zone ("CET", "UTC"), so that a
 * time read off a colleague's terminal or a CI log is never misread. */
#define HUMAN_TIME_FMT "%Y-%m-%d %H:%M:%S %Z"

char *mlq_out_time_local(int64_t ms, char *buf, size_t len)
{
    snprintf(buf, len, "-");
    if (ms <= 0)
        return buf;
    time_t secs = (time_t)(ms / 1000);
    struct tm tm;
    if (!localtime_r(&secs, &tm) || strftime(buf, len, HUMAN_TIME_FMT, &tm) == 0)
        snprintf(buf, len, "-");
    return buf;
}

/* Sets TZ to tz (NULL: unset) and reloads the zone; returns the old value
 * (malloc'd, NULL when it was unset). */
static char *swap_tz(const char *tz, bool *failed)
{
    const char *old = getenv("TZ");
    char *saved = old ? strdup(old) : NULL;
    *failed = old && !saved;
    int rc = tz ? setenv("TZ", tz, 1) : unsetenv("TZ");
    *failed = *failed || rc != 0;
    tzset();
    return saved;
}

char *mlq_out_time_zone(int64_t ms, const char *tz, char *buf, size_t len)
{
    if (!tz || !tz[0])
        tz = "UTC";
    bool failed;
    char *saved = swap_tz(tz, &failed);
    if (!failed)
        mlq_out_time_local(ms, buf, len);
    bool ignored;
    free(swap_tz(saved, &ignored));
    free(saved);
    if (failed)
        mlq_out_time_local(ms, buf, len);
    return buf;
}

/* "YYYY-MM-DD", then optionally " HH:MM[:SS]" or "THH:MM[:SS]", in local
 * time; -1 when s is not one. */
static int64_t parse_local_date(const char *s)
{
    struct tm tm = {0};
    char rest[16] = "";
    int y, mo, d, h = 0, mi = 0, sec = 0, n = 0;
    if (sscanf(s, "%4d-%2d-%2d%n", &y, &mo, &d, &n) != 3 || n != 10)
        return -1;
    if (s[n] != '\0') {
        int m2 = 0;
        if ((s[n] != ' ' && s[n] != 'T') || (sscanf(s + n + 1, "%2d:%2d%n", &h, &mi, &m2) != 2) ||
            (s[n + 1 + m2] == ':' && sscanf(s + n + 1 + m2, ":%2d%15s", &sec, rest) != 1))
            return -1;
        if (s[n + 1 + m2] != '\0' && s[n + 1 + m2] != ':')
            return -1;
    }
    if (mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60 || y < 1970)
        return -1;
    tm.tm_year = y - 1900;
    tm.tm_mon = mo - 1;
    tm.tm_mday = d;
    tm.tm_hour = h;
    tm.tm_min = mi;
    tm.tm_sec = sec;
    tm.tm_isdst = -1;
    time_t t = mktime(&tm);
    return t == (time_t)-1 ? -1 : (int64_t)t * 1000;
}

int mlq_out_parse_since(const char *s, int64_t now_ms, int64_t *out, struct mlq_err *err)
{
    int64_t v = parse_local_date(s), dur;
    if (v < 0 && mlq_res_parse_duration(s, &dur, NULL) == 0 && dur > 0 && dur <= now_ms)
        v = now_ms - dur;
    if (v < 0)
        return mlq_err_set(err, MLQ_CLI_EUSAGE,
                           "bad --since '%.40s' (a date such as 2026-12-01 or \"2026-12-01 "
                           "14:00\", local time, or a duration such as 2h)",
                           s);
    *out = v;
    return 0;
}

char *mlq_out_time_ago(int64_t now_ms, int64_t then_ms, char *buf, size_t len)
{
    if (then_ms <= 0) {
        snprintf(buf, len, "never");
        return buf;
    }
    int64_t s = (now_ms - then_ms) / 1000;
    if (s < 0)
        s = 0; /* clocks of two machines disagree; do not show "-3s ago" */
    if (s < 120)
        snprintf(buf, len, "%llds ago", (long long)s);
    else if (s < 7200)
        snprintf(buf, len, "%lldm ago", (long long)(s / 60));
    else if (s < 172800)
        snprintf(buf, len, "%lldh ago", (long long)(s / 3600));
    else
        snprintf(buf, len, "%lldd ago", (long long)(s / 86400));
    return buf;
}

static void signal_name(int32_t signal, char *buf, size_t len)
{
    const char *abbrev = sigabbrev_np(signal);
    if (abbrev)
        snprintf(buf, len, "SIG%s", abbrev);
    else
        snprintf(buf, len, "signal %d", (int)signal);
}

char *mlq_out_exit_text(int32_t exit_code, int32_t signal, char *buf, size_t len)
{
    char sig[32];
    if (signal > 0)
        signal_name(signal, sig, sizeof sig);
    if (signal > 0 && exit_code >= 0) /* it exited by itself after mlq's signal */
        snprintf(buf, len, "%d after %s", (int)exit_code, sig);
    else if (signal > 0)
        snprintf(buf, len, "%s", sig);
    else if (exit_code >= 0)
        snprintf(buf, len, "%d", (int)exit_code);
    else
        snprintf(buf, len, "-");
    return buf;
}

char *mlq_out_exit(const struct mlq_jobinfo *job, char *buf, size_t len)
{
    if (job->state == MLQ_JOB_FAILED && job->exit_code < 0 && job->signal == 0) {
        const char *o = mlq_jsonview_outcome(job);
        snprintf(buf, len, "%s", o && strcmp(o, "start_failed") == 0 ? "not started" : "-");
        return buf;
    }
    return mlq_out_exit_text(job->exit_code, job->signal, buf, len);
}

char *mlq_out_outcome(const struct mlq_jobinfo *job, char *buf, size_t len)
{
    char sig[32];
    const char *what = job->state == MLQ_JOB_TIMED_OUT   ? "timed out; "
                       : job->state == MLQ_JOB_CANCELLED ? "cancelled; "
                                                         : "";
    if (job->signal > 0)
        signal_name(job->signal, sig, sizeof sig);
    if (job->signal > 0 && job->exit_code >= 0)
        snprintf(buf, len, "%sexited %d after %s", what, (int)job->exit_code, sig);
    else if (job->signal > 0 && what[0])
        snprintf(buf, len, "%skilled by %s", what, sig);
    else if (job->exit_code >= 0 && what[0])
        snprintf(buf, len, "%sexited %d", what, (int)job->exit_code);
    else
        mlq_out_exit(job, buf, len);
    return buf;
}

char *mlq_out_clean(const char *s, char *buf, size_t len)
{
    if (!s)
        s = "-";
    size_t i = 0;
    for (; s[i] && i + 1 < len; i++) {
        unsigned char c = (unsigned char)s[i];
        buf[i] = (c < 0x20 || c == 0x7f) ? '?' : (char)c;
    }
    if (len > 0)
        buf[i] = '\0';
    return buf;
}

const char *mlq_out_state_word(enum mlq_job_state s)
{
    static const char *const words[MLQ_JOB_STATE_COUNT] = {
        "pending", "assigned", "running", "succeeded", "failed", "cancelled", "timed out"};
    return (unsigned)s < MLQ_JOB_STATE_COUNT ? words[s] : "?";
}

const char *mlq_out_state_colour(enum mlq_job_state s)
{
    switch (s) {
    case MLQ_JOB_SUCCEEDED:
        return "\033[32m";
    case MLQ_JOB_FAILED:
    case MLQ_JOB_TIMED_OUT:
        return "\033[31m";
    case MLQ_JOB_RUNNING:
    case MLQ_JOB_ASSIGNED:
        return "\033[36m";
    case MLQ_JOB_PENDING:
        return "\033[33m";
    default:
        return "";
    }
}

/* Characters the shell takes literally, so a word made of them needs no
 * quotes. */
static bool shell_plain(const char *w)
{
    if (!w[0])
        return false;
    for (const char *p = w; *p; p++)
        if (!strchr("abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789_@%+=:,./-", *p))
            return false;
    return true;
}

/* Appends c to buf (at *pos), keeping room for "..." and the NUL. */
static bool put(char *buf, size_t len, size_t *pos, char c)
{
    if (*pos + 4 >= len)
        return false;
    unsigned char u = (unsigned char)c;
    buf[(*pos)++] = (u < 0x20 || u == 0x7f) ? '?' : c;
    return true;
}

static bool put_word(char *buf, size_t len, size_t *pos, const char *w)
{
    bool plain = shell_plain(w);
    if (!plain && !put(buf, len, pos, '\''))
        return false;
    for (const char *p = w; *p; p++) {
        bool ok = *p == '\'' && !plain ? put(buf, len, pos, '\'') && put(buf, len, pos, '\\') &&
                                             put(buf, len, pos, '\'') && put(buf, len, pos, '\'')
                                       : put(buf, len, pos, *p);
        if (!ok)
            return false;
    }
    return plain || put(buf, len, pos, '\'');
}

char *mlq_out_argv(char *const *argv, uint32_t argc, char *buf, size_t len)
{
    size_t pos = 0;
    bool ok = true;
    for (uint32_t i = 0; ok && i < argc; i++) {
        if (i > 0)
            ok = put(buf, len, &pos, ' ');
        ok = ok && put_word(buf, len, &pos, argv[i] ? argv[i] : "");
    }
    if (!ok && len >= 4) {
        memcpy(buf + pos, "...", 3);
        pos += 3;
    }
    buf[len > 0 ? (pos < len ? pos : len - 1) : 0] = '\0';
    return buf;
}

int mlq_out_json_print(FILE *f, const json_t *doc)
{
    /* 10 significant digits print 0.1 CPUs as 0.1, not 0.10000000000000001. */
    if (json_dumpf(doc, f, JSON_INDENT(2) | JSON_REAL_PRECISION(10)) < 0 || fputc('\n', f) == EOF)
        return MLQ_EIO;
    return 0;
}

int mlq_out_json_emit(FILE *f, json_t *doc)
{
    int rc = doc ? mlq_out_json_print(f, doc) : MLQ_ENOMEM;
    json_decref(doc);
    return rc;
}

char *mlq_out_time_iso(int64_t ms, char *buf, size_t len)
{
    return mlq_jsonview_time_iso(ms, buf, len);
}

int mlq_out_retries_used(const struct mlq_jobinfo *j)
{
    return mlq_jsonview_retries_used(j);
}

/* ---- tables ---- */

struct cell {
    char *text;
    const char *colour;
};

struct mlq_table {
    int ncols;
    const char *const *headers;
    struct cell *cells;
    size_t ncells, cap;
};

struct mlq_table *mlq_table_create(int ncols, const char *const *headers)
{
    struct mlq_table *t = calloc(1, sizeof(*t));
    if (!t)
        return NULL;
    t->ncols = ncols;
    t->headers = headers;
    return t;
}

void mlq_table_destroy(struct mlq_table **t)
{
    if (!t || !*t)
        return;
    for (size_t i = 0; i < (*t)->ncells; i++)
        free((*t)->cells[i].text);
    free((*t)->cells);
    free(*t);
    *t = NULL;
}

int mlq_table_add(struct mlq_table *t, const char *text, const char *colour)
{
    if (t->ncells == t->cap) {
        size_t cap = t->cap ? t->cap * 2 : 64;
        struct cell *c = realloc(t->cells, cap * sizeof(*c));
        if (!c)
            return MLQ_ENOMEM;
        t->cells = c;
        t->cap = cap;
    }
    char *copy = strdup(text ? text : "-");
    if (!copy)
        return MLQ_ENOMEM;
    for (char *p = copy; *p; p++)
        if ((unsigned char)*p < 0x20 || *p == 0x7f)
            *p = '?';
    t->cells[t->ncells++] = (struct cell){copy, colour};
    return 0;
}

/* Display width: UTF-8 continuation bytes take no column. */
static size_t width(const char *s)
{
    size_t w = 0;
    for (; *s; s++)
        if (((unsigned char)*s & 0xc0) != 0x80)
            w++;
    return w;
}

static void print_cell(FILE *f, const char *text, const char *colour, size_t pad, bool last)
{
    if (colour && colour[0])
        fprintf(f, "%s%s\033[0m", colour, text);
    else
        fputs(text, f);
    if (last)
        return;
    for (size_t i = width(text); i < pad + 2; i++)
        fputc(' ', f);
}

int mlq_table_print(const struct mlq_table *t, FILE *f, bool colour)
{
    size_t *w = calloc((size_t)t->ncols, sizeof(*w));
    if (!w)
        return MLQ_ENOMEM;
    for (int c = 0; c < t->ncols; c++)
        w[c] = width(t->headers[c]);
    for (size_t i = 0; i < t->ncells; i++) {
        size_t cw = width(t->cells[i].text);
        if (cw > w[i % (size_t)t->ncols])
            w[i % (size_t)t->ncols] = cw;
    }
    for (int c = 0; c < t->ncols; c++)
        print_cell(f, t->headers[c], colour ? "\033[1m" : NULL, w[c], c == t->ncols - 1);
    fputc('\n', f);
    for (size_t i = 0; i < t->ncells; i++) {
        size_t c = i % (size_t)t->ncols;
        bool last = c == (size_t)t->ncols - 1 || i == t->ncells - 1;
        print_cell(f, t->cells[i].text, colour ? t->cells[i].colour : NULL, w[c], last);
        if (last)
            fputc('\n', f);
    }
    free(w);
    return ferror(f) ? MLQ_EIO : 0;
}

int mlq_table_add_row(struct mlq_table *t, const char *const *cells, int n)
{
    int rc = 0;
    for (int i = 0; rc == 0 && i < n; i++)
        rc = mlq_table_add(t, cells[i], NULL);
    return rc;
}

int mlq_table_finish(struct mlq_table **t, FILE *f, bool colour, int rc)
{
    if (rc == 0)
        rc = *t ? mlq_table_print(*t, f, colour) : MLQ_ENOMEM;
    mlq_table_destroy(t);
    return rc < 0 ? rc : ferror(f) ? MLQ_EIO : 0;
}
