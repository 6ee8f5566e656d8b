/* cron: see cron.h.
 *
 * A parsed expression is five bitsets (bit v set when value v matches; a
 * day-of-week 7 is stored as 0) plus, per field, whether its text starts with
 * `*`, which drives both the day-of-month/day-of-week rule and the wildcard
 * rule for daylight saving.
 *
 * Next-fire search uses two clocks. "Naive" seconds write a wall-clock date
 * and time as if it were UTC, so calendar steps are integer arithmetic and
 * cron_wall_next() can skip whole months, days and hours. Real instants are
 * Unix seconds. A wall time W maps to instants W - offset; the offsets come
 * from glibc (localtime_r under TZ). The search walks the instant line in
 * one-day windows (s, s + 1 day]: the offsets at s - 27 h and s + 27 h tell
 * whether the window lies wholly inside one offset (the usual case: the first
 * matching wall time gives the answer directly) or near a transition, where
 * each matching wall time is resolved to its 0, 1 or 2 instants. Two facts
 * about tzdata make this exact: no offset exceeds 26 hours in magnitude, and
 * a zone changes offset at most once in any 54 hours. */
#include "cron.h"

#include <fcntl.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define CRON_DAY     86400LL
#define CRON_MAXOFF  (26 * 3600LL) /* bound on |UTC offset| (tzdata's is under 16 h) */
#define CRON_REACH   (27 * 3600LL) /* offsets are sampled this far around a window */
#define CRON_YEARS   401           /* a 400-year Gregorian cycle repeats every date */
#define CRON_SHOW    40            /* bytes of untrusted text quoted in a message */
#define CRON_NUM_CAP 100000        /* numbers saturate here; every bound is far below */

enum { F_MIN, F_HOUR, F_DOM, F_MON, F_DOW, F_COUNT };

struct cron_field_def {
    const char *name;
    int lo, hi;               /* values accepted in the text */
    int star_hi;              /* what `*` expands to (day-of-week: 6, not 7) */
    const char *const *names; /* three-letter names, or NULL */
    int name_base;            /* value of names[0] */
};

static const char *const cron_months[] = {"JAN", "FEB", "MAR", "APR", "MAY", "JUN", "JUL",
                                          "AUG", "SEP", "OCT", "NOV", "DEC", NULL};
static const char *const cron_days[] = {"SUN", "MON", "TUE", "WED", "THU", "FRI", "SAT", NULL};

static const struct cron_field_def cron_fields[F_COUNT] = {
    {"minute", 0, 59, 59, NULL, 0},         {"hour", 0, 23, 23, NULL, 0},
    {"day-of-month", 1, 31, 31, NULL, 0},   {"month", 1, 12, 12, cron_months, 1},
    {"day-of-week", 0, 7, 6, cron_days, 0},
};

static const struct {
    const char *name, *expansion;
} cron_macros[] = {
    {"@hourly", "0 * * * *"},   {"@daily", "0 0 * * *"},   {"@midnight", "0 0 * * *"},
    {"@weekly", "0 0 * * 0"},   {"@monthly", "0 0 1 * *"}, {"@yearly", "0 0 1 1 *"},
    {"@annually", "0 0 1 1 *"},
};

struct mlq_cron {
    uint64_t bits[F_COUNT];
    bool star[F_COUNT];
};

/* ---- messages ---- */

/* Copies at most CRON_SHOW bytes of untrusted text for quoting, replacing
 * control, non-ASCII and quote bytes with '?'. */
static const char *cron_show(const char *s, char *out, size_t len)
{
    size_t i = 0;
    for (; s[i] && i < CRON_SHOW && i + 4 < len; i++) {
        unsigned char ch = (unsigned char)s[i];
        out[i] = (ch < 0x20 || ch >= 0x7f || ch == '"') ? '?' : (char)ch;
    }
    if (s[i])
        memcpy(out + i, "...", 3), i += 3;
    out[i] = '\0';
    return out;
}

struct cron_parser {
    const char *expr; /* the caller's text, quoted in every message */
    const char *pos;  /* scanning position inside the current field */
    struct mlq_err *err;
    struct mlq_cron *c;
};

static int cron_fail(const struct cron_parser *p, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int cron_fail(const struct cron_parser *p, const char *fmt, ...)
{
    char detail[MLQ_ERR_MSG_MAX], shown[CRON_SHOW + 8];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(detail, sizeof detail, fmt, ap);
    va_end(ap);
    return mlq_err_set(p->err, MLQ_EINVAL, "cron \"%s\": %s",
                       cron_show(p->expr, shown, sizeof shown), detail);
}

/* A value was expected at p->pos but something else is there. */
static int cron_unexpected(const struct cron_parser *p, int f)
{
    unsigned char ch = (unsigned char)*p->pos;
    if (ch == '\0' || ch == ',')
        return cron_fail(p, "%s value missing", cron_fields[f].name);
    if (ch < 0x20 || ch >= 0x7f || ch == '"')
        return cron_fail(p, "unexpected byte 0x%02x in %s", ch, cron_fields[f].name);
    return cron_fail(p, "unexpected \"%c\" in %s", ch, cron_fields[f].name);
}

/* ---- parsing ---- */

static bool cron_digit(char ch)
{
    return ch >= '0' && ch <= '9';
}

static bool cron_alpha(char ch)
{
    return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z');
}

/* Reads [0-9]+ at p->pos, saturating at CRON_NUM_CAP. */
static int cron_number(struct cron_parser *p, int f, int *v)
{
    int n = 0;
    if (!cron_digit(*p->pos))
        return cron_unexpected(p, f);
    for (; cron_digit(*p->pos); p->pos++)
        n = n < CRON_NUM_CAP ? n * 10 + (*p->pos - '0') : CRON_NUM_CAP;
    *v = n;
    return 0;
}

/* Reads a three-letter month or day name at p->pos. */
static int cron_name(struct cron_parser *p, int f, int *v)
{
    const struct cron_field_def *d = &cron_fields[f];
    const char *start = p->pos;
    char word[8], shown[sizeof word + 4];
    size_t n = 0;
    for (; cron_alpha(*p->pos); p->pos++)
        if (n + 1 < sizeof word)
            word[n++] = *p->pos;
    word[n] = '\0';
    for (int i = 0; d->names[i]; i++)
        if (p->pos - start == 3 && strcasecmp(word, d->names[i]) == 0) {
            *v = d->name_base + i;
            return 0;
        }
    return cron_fail(p, "unknown %s name \"%s\"", d->name, cron_show(word, shown, sizeof shown));
}

/* Reads one value (number, or name where the field has names) in range. */
static int cron_value(struct cron_parser *p, int f, int *v)
{
    const struct cron_field_def *d = &cron_fields[f];
    if (d->names && cron_alpha(*p->pos))
        return cron_name(p, f, v);
    int rc = cron_number(p, f, v);
    if (rc == 0 && (*v < d->lo || *v > d->hi))
        return cron_fail(p, "%s %d out of range %d-%d", d->name, *v, d->lo, d->hi);
    return rc;
}

/* Reads the step after '/': 1 up to the number of values in the field. */
static int cron_step(struct cron_parser *p, int f, int *step)
{
    const struct cron_field_def *d = &cron_fields[f];
    int most = d->star_hi - d->lo + 1;
    int rc = cron_number(p, f, step);
    if (rc == 0 && (*step < 1 || *step > most))
        return cron_fail(p, "%s step %d out of range 1-%d", d->name, *step, most);
    return rc;
}

/* Reads "*", "N" or "A-B", either of the ranges with an optional "/S", and
 * sets its values in *bits. */
static int cron_item(struct cron_parser *p, int f, uint64_t *bits)
{
    const struct cron_field_def *d = &cron_fields[f];
    int lo, hi, step = 1, rc;
    bool ranged = true;
    if (*p->pos == '*') {
        p->pos++;
        lo = d->lo, hi = d->star_hi;
    } else {
        if ((rc = cron_value(p, f, &lo)) != 0)
            return rc;
        hi = lo, ranged = *p->pos == '-';
        if (ranged) {
            p->pos++;
            if ((rc = cron_value(p, f, &hi)) != 0)
                return rc;
            if (hi < lo)
                return cron_fail(p, "%s range %d-%d is reversed", d->name, lo, hi);
        }
    }
    if (*p->pos == '/') {
        /* "5/10" means 5-59/10 to some crons and is an error to others */
        if (!ranged)
            return cron_fail(p, "%s step needs a range or *", d->name);
        p->pos++;
        if ((rc = cron_step(p, f, &step)) != 0)
            return rc;
    }
    if (*p->pos != ',' && *p->pos != '\0')
        return cron_unexpected(p, f);
    for (int v = lo; v <= hi; v += step)
        *bits |= 1ULL << (f == F_DOW && v == 7 ? 0 : v);
    return 0;
}

/* Parses one field's comma list. */
static int cron_field(struct cron_parser *p, int f, const char *text)
{
    p->c->star[f] = text[0] == '*';
    p->pos = text;
    for (;;) {
        if (*p->pos == ',' || *p->pos == '\0')
            return cron_fail(p, "empty item in %s", cron_fields[f].name);
        int rc = cron_item(p, f, &p->c->bits[f]);
        if (rc != 0 || *p->pos == '\0')
            return rc;
        p->pos++; /* the ',' */
    }
}

static bool cron_blank(char ch)
{
    return ch == ' ' || ch == '\t';
}

/* Splits buf in place at blanks into exactly five fields. */
static int cron_split(const struct cron_parser *p, char *buf, char *fields[F_COUNT])
{
    int n = 0;
    for (char *s = buf; *s;) {
        if (cron_blank(*s)) {
            *s++ = '\0';
            continue;
        }
        if (n < F_COUNT)
            fields[n] = s;
        n++;
        while (*s && !cron_blank(*s))
            s++;
    }
    if (n == 0)
        return cron_fail(p, "empty expression");
    if (n != F_COUNT)
        return cron_fail(
            p, "expected 5 fields (minute hour day-of-month month day-of-week), got %d", n);
    return 0;
}

static bool cron_leap(int64_t y)
{
    return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

static unsigned cron_days_in(int64_t y, unsigned mon)
{
    static const unsigned days[] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
    return mon == 2 && cron_leap(y) ? 29 : days[mon - 1];
}

/* When both day fields must match and day-of-month is restricted, some listed
 * month must have one of the listed days (February counts as 29). */
static int cron_check_days(const struct cron_parser *p)
{
    const struct mlq_cron *c = p->c;
    if (c->star[F_DOM] || !c->star[F_DOW])
        return 0;
    for (unsigned m = 1; m <= 12; m++) {
        uint64_t upto = (2ULL << cron_days_in(2000, m)) - 1; /* days 0..n; 2000 is leap */
        if ((c->bits[F_MON] >> m & 1) && (c->bits[F_DOM] & upto))
            return 0;
    }
    return cron_fail(p, "never fires: no listed month has the listed day-of-month");
}

/* The expansion of an @macro, or NULL. */
static const char *cron_macro(const char *s)
{
    for (size_t i = 0; i < sizeof cron_macros / sizeof cron_macros[0]; i++)
        if (strcasecmp(s, cron_macros[i].name) == 0)
            return cron_macros[i].expansion;
    return NULL;
}

/* Parses text (writable copy of the expression, or a macro's expansion). */
static int cron_parse_fields(struct cron_parser *p, char *text)
{
    char *fields[F_COUNT];
    int rc = cron_split(p, text, fields);
    for (int f = 0; rc == 0 && f < F_COUNT; f++)
        rc = cron_field(p, f, fields[f]);
    return rc != 0 ? rc : cron_check_days(p);
}

/* Trims blanks around s in place. */
static char *cron_trim(char *s)
{
    while (cron_blank(*s))
        s++;
    size_t n = strlen(s);
    while (n > 0 && cron_blank(s[n - 1]))
        s[--n] = '\0';
    return s;
}

int mlq_cron_parse(const char *expr, struct mlq_cron **out, struct mlq_err *err)
{
    struct cron_parser p = {.expr = expr ? expr : "", .err = err};
    char buf[MLQ_CRON_MAX_EXPR + 1];
    size_t len = strnlen(p.expr, MLQ_CRON_MAX_EXPR + 1);
    if (len > MLQ_CRON_MAX_EXPR)
        return cron_fail(&p, "longer than %d characters", MLQ_CRON_MAX_EXPR);
    memcpy(buf, p.expr, len + 1);
    char *text = cron_trim(buf);
    if (text[0] == '@') {
        const char *expansion = cron_macro(text);
        if (!expansion)
            return cron_fail(&p, "unknown macro (use @hourly, @daily, @weekly, @monthly or "
                                 "@yearly)");
        snprintf(buf, sizeof buf, "%s", expansion);
        text = buf;
    }
    if (!(p.c = calloc(1, sizeof *p.c)))
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    int rc = cron_parse_fields(&p, text);
    if (rc != 0) {
        free(p.c);
        return rc;
    }
    *out = p.c;
    return 0;
}

void mlq_cron_destroy(struct mlq_cron **c)
{
    if (c) {
        free(*c);
        *c = NULL;
    }
}

/* ---- calendar arithmetic on naive seconds ---- */

static int64_t cron_floordiv(int64_t a, int64_t b)
{
    return a / b - (a % b != 0 && (a < 0) != (b < 0));
}

/* Days since 1970-01-01 of a proleptic Gregorian date (H. Hinnant). */
static int64_t cron_days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = cron_floordiv(y, 400);
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m > 2 ? m - 3 : m + 9) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

/* Inverse of cron_days_from_civil. */
static void cron_civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = cron_floordiv(z, 146097);
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

/* A wall-clock minute being searched; hour 24 or a day past the month's end
 * are allowed transiently and pushed forward by cron_settle(). */
struct cron_wall {
    int64_t y;
    unsigned mon, day, hour, min;
};

/* Lowest set bit of mask at or above i, or -1. */
static int cron_next_bit(uint64_t mask, unsigned i)
{
    if (i >= 64 || (mask >> i) == 0)
        return -1;
    return (int)i + __builtin_ctzll(mask >> i);
}

static bool cron_day_match(const struct mlq_cron *c, const struct cron_wall *w)
{
    int64_t days = cron_days_from_civil(w->y, w->mon, w->day);
    unsigned dow = (unsigned)(days + 4 - cron_floordiv(days + 4, 7) * 7); /* 1970-01-01: Thu */
    bool dm = c->bits[F_DOM] >> w->day & 1, wm = c->bits[F_DOW] >> dow & 1;
    return c->star[F_DOM] || c->star[F_DOW] ? dm && wm : dm || wm;
}

static void cron_next_day(struct cron_wall *w)
{
    w->day++, w->hour = 0, w->min = 0;
}

static void cron_next_month(struct cron_wall *w)
{
    w->day = 1, w->hour = 0, w->min = 0;
    if (++w->mon > 12)
        w->mon = 1, w->y++;
}

/* Returns true when *w matches; otherwise moves *w forward to the next
 * candidate, skipping the largest unit that cannot match. */
static bool cron_settle(const struct mlq_cron *c, struct cron_wall *w)
{
    if (!(c->bits[F_MON] >> w->mon & 1) || w->day > cron_days_in(w->y, w->mon)) {
        cron_next_month(w);
        return false;
    }
    int h = cron_day_match(c, w) ? cron_next_bit(c->bits[F_HOUR], w->hour) : -1;
    if (h < 0) {
        cron_next_day(w);
        return false;
    }
    if ((unsigned)h != w->hour)
        w->hour = (unsigned)h, w->min = 0;
    int m = cron_next_bit(c->bits[F_MIN], w->min);
    if (m < 0) {
        w->hour++, w->min = 0;
        return false;
    }
    w->min = (unsigned)m;
    return true;
}

/* First matching wall time strictly after naive second x, within CRON_YEARS
 * years; false if there is none. */
static bool cron_wall_next(const struct mlq_cron *c, int64_t x, int64_t *out)
{
    int64_t minute = cron_floordiv(x, 60) + 1;
    int64_t days = cron_floordiv(minute, 1440);
    unsigned mod = (unsigned)(minute - days * 1440);
    struct cron_wall w = {.hour = mod / 60, .min = mod % 60};
    cron_civil_from_days(days, &w.y, &w.mon, &w.day);
    int64_t last_year = w.y + CRON_YEARS;
    while (!cron_settle(c, &w))
        if (w.y > last_year)
            return false;
    *out = cron_days_from_civil(w.y, w.mon, w.day) * CRON_DAY + w.hour * 3600LL + w.min * 60LL;
    return true;
}

/* ---- time zones ---- */

static bool cron_tz_name_ok(const char *tz)
{
    size_t n = strlen(tz);
    /* only canonical names, so that one zone has one spelling */
    if (!cron_alpha(tz[0]) || tz[n - 1] == '/' || strstr(tz, "..") || strstr(tz, "//"))
        return false;
    for (const char *s = tz; *s; s++)
        if (!cron_alpha(*s) && !cron_digit(*s) && !strchr("/_+-", *s))
            return false;
    return true;
}

/* True when path is a regular file starting with the TZif magic, so that
 * glibc will not silently fall back to UTC on it (zone.tab lives there too). */
static bool cron_tz_file_ok(const char *path)
{
    char magic[4];
    struct stat st;
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return false;
    bool ok = fstat(fd, &st) == 0 && S_ISREG(st.st_mode) &&
              read(fd, magic, sizeof magic) == (ssize_t)sizeof magic &&
              memcmp(magic, "TZif", sizeof magic) == 0;
    close(fd);
    return ok;
}

int mlq_cron_check_tz(const char *tz, struct mlq_err *err)
{
    char path[sizeof MLQ_CRON_ZONEDIR + MLQ_CRON_MAX_TZ + 2], shown[CRON_SHOW + 8];
    if (!tz || !tz[0])
        return 0;
    if (strnlen(tz, MLQ_CRON_MAX_TZ + 1) > MLQ_CRON_MAX_TZ || !cron_tz_name_ok(tz))
        return mlq_err_set(err, MLQ_EINVAL, "unknown time zone \"%s\"",
                           cron_show(tz, shown, sizeof shown));
    snprintf(path, sizeof path, "%s/%s", MLQ_CRON_ZONEDIR, tz);
    if (!cron_tz_file_ok(path))
        return mlq_err_set(err, MLQ_EINVAL, "unknown time zone \"%s\" (not in %s)",
                           cron_show(tz, shown, sizeof shown), MLQ_CRON_ZONEDIR);
    return 0;
}

/* TZ as it was before mlq_cron_next() switched it. */
struct cron_zone {
    bool utc;
    char *saved; /* NULL when TZ was unset */
};

static int cron_zone_enter(struct cron_zone *z, const char *tz, struct mlq_err *err)
{
    char val[sizeof MLQ_CRON_ZONEDIR + MLQ_CRON_MAX_TZ + 3];
    int rc = mlq_cron_check_tz(tz, err);
    z->utc = !tz || !tz[0], z->saved = NULL;
    if (rc != 0 || z->utc)
        return rc;
    const char *old = getenv("TZ");
    if (old && !(z->saved = strdup(old)))
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    /* An absolute path: glibc then reads exactly the file checked above. */
    snprintf(val, sizeof val, ":%s/%s", MLQ_CRON_ZONEDIR, tz);
    if (setenv("TZ", val, 1) != 0) {
        free(z->saved);
        return mlq_err_set(err, MLQ_ENOMEM, "out of memory");
    }
    tzset();
    return 0;
}

static void cron_zone_leave(struct cron_zone *z)
{
    if (z->utc)
        return;
    if (z->saved)
        setenv("TZ", z->saved, 1);
    else
        unsetenv("TZ");
    tzset();
    free(z->saved);
    z->saved = NULL;
}

/* Offset (wall minus instant, in seconds) in effect at instant t. Derived
 * from the broken-down fields rather than tm_gmtoff so that wall = t + offset
 * holds exactly. localtime_r cannot fail for the years searched (bounded by
 * MLQ_CRON_MAX_TIME plus CRON_YEARS); UTC is the fallback if it did. */
static int64_t cron_off(const struct cron_zone *z, int64_t t)
{
    time_t tt = (time_t)t;
    struct tm tm;
    if (z->utc || !localtime_r(&tt, &tm))
        return 0;
    int64_t days =
        cron_days_from_civil(tm.tm_year + 1900LL, (unsigned)tm.tm_mon + 1, (unsigned)tm.tm_mday);
    return days * CRON_DAY + tm.tm_hour * 3600LL + tm.tm_min * 60LL + tm.tm_sec - t;
}

/* ---- next fire time ---- */

/* A one-day window of instants (s, r] and the offsets around it: o1 before
 * and o2 after the transition at instant t (o1 == o2: no transition). */
struct cron_window {
    int64_t s, r, o1, o2, t;
    int64_t best; /* earliest fire found in the window, or INT64_MAX */
};

/* First instant in (lo, hi] whose offset differs from off(lo). */
static int64_t cron_transition(const struct cron_zone *z, int64_t lo, int64_t hi)
{
    int64_t o = cron_off(z, lo);
    while (hi - lo > 1) {
        int64_t mid = lo + (hi - lo) / 2;
        if (cron_off(z, mid) == o)
            lo = mid;
        else
            hi = mid;
    }
    return hi;
}

static void cron_candidate(struct cron_window *w, int64_t f)
{
    if (f > w->s && f <= w->r && f < w->best)
        w->best = f;
}

/* Adds the fires of matching wall time W near the window's transition: W
 * exists before it (a), after it (b), both (overlap) or neither (gap). */
static void cron_resolve(const struct mlq_cron *c, struct cron_window *w, int64_t wall)
{
    int64_t a = wall - w->o1, b = wall - w->o2;
    bool before = a < w->t, after = b >= w->t;
    bool wild = c->star[F_MIN] || c->star[F_HOUR];
    if (before)
        cron_candidate(w, a); /* the first occurrence, when there are two */
    if (after && (!before || wild))
        cron_candidate(w, b);
    if (!before && !after && !wild)
        cron_candidate(w, w->t); /* skipped: fire as the gap ends */
}

/* Earliest fire in a window that holds a transition: resolves every matching
 * wall time whose instants can fall in it. */
static void cron_window_scan(const struct mlq_cron *c, const struct cron_zone *z,
                             struct cron_window *w)
{
    int64_t lo = w->o1 < w->o2 ? w->o1 : w->o2, hi = w->o1 < w->o2 ? w->o2 : w->o1;
    int64_t wall;
    w->t = cron_transition(z, w->s - CRON_REACH, w->s + CRON_REACH);
    for (int64_t x = w->s + lo - 60; cron_wall_next(c, x, &wall) && wall <= w->r + hi + 60;
         x = wall) {
        if (wall - hi > w->best)
            break; /* later wall times only give later instants */
        cron_resolve(c, w, wall);
    }
}

/* Earliest fire in (s, s + 1 day], or INT64_MAX. */
static int64_t cron_window_first(const struct mlq_cron *c, const struct cron_zone *z, int64_t s)
{
    struct cron_window w = {.s = s, .r = s + CRON_DAY, .best = INT64_MAX};
    w.o1 = cron_off(z, s - CRON_REACH);
    w.o2 = cron_off(z, s + CRON_REACH);
    if (w.o1 != w.o2) {
        cron_window_scan(c, z, &w);
        return w.best;
    }
    /* One offset throughout: wall order is instant order. */
    int64_t wall;
    if (cron_wall_next(c, s + w.o1, &wall))
        cron_candidate(&w, wall - w.o1);
    return w.best;
}

/* Returns false when nothing fires within CRON_YEARS: possible only in a zone
 * with daylight saving, for a wildcard job whose every match falls in a gap
 * ("* 2 28 3 0" in Europe/Paris, where March 28 is a Sunday only when it is
 * the last one). */
static bool cron_search(const struct mlq_cron *c, const struct cron_zone *z, int64_t after,
                        int64_t *next)
{
    int64_t limit = after + CRON_YEARS * 366 * CRON_DAY, s = after, wall;
    while (s <= limit) {
        int64_t f = cron_window_first(c, z, s), r = s + CRON_DAY;
        if (f != INT64_MAX) {
            *next = f;
            return true;
        }
        /* Every fire lies within CRON_MAXOFF of its wall time, so none comes
         * before the next matching wall time less that much. */
        if (!cron_wall_next(c, r - CRON_MAXOFF - 60, &wall))
            break;
        s = wall - CRON_MAXOFF - 60 > r ? wall - CRON_MAXOFF - 60 : r;
    }
    return false;
}

int mlq_cron_next(const struct mlq_cron *c, const char *tz, int64_t after_s, int64_t *next_s,
                  struct mlq_err *err)
{
    struct cron_zone z;
    if (!c || !next_s)
        return mlq_err_set(err, MLQ_EINVAL, "no cron expression");
    if (after_s < 0 || after_s > MLQ_CRON_MAX_TIME)
        return mlq_err_set(err, MLQ_EINVAL, "time %lld out of range 0-%lld", (long long)after_s,
                           (long long)MLQ_CRON_MAX_TIME);
    int rc = cron_zone_enter(&z, tz, err);
    if (rc != 0)
        return rc;
    bool found = cron_search(c, &z, after_s, next_s);
    cron_zone_leave(&z);
    if (!found)
        return mlq_err_set(err, MLQ_EINVAL,
                           "cron expression never fires in %s: its times all fall in "
                           "daylight-saving gaps",
                           z.utc ? "UTC" : tz);
    return 0;
}

int mlq_cron_format(const char *tz, int64_t t_s, char *buf, size_t len, struct mlq_err *err)
{
    struct cron_zone z;
    if (t_s < 0 || t_s > MLQ_CRON_MAX_TIME)
        return mlq_err_set(err, MLQ_EINVAL, "time %lld out of range 0-%lld", (long long)t_s,
                           (long long)MLQ_CRON_MAX_TIME);
    int rc = cron_zone_enter(&z, tz, err);
    if (rc != 0)
        return rc;
    int64_t off = cron_off(&z, t_s);
    cron_zone_leave(&z);
    time_t wall = (time_t)(t_s + off);
    struct tm tm;
    if (!gmtime_r(&wall, &tm) || strftime(buf, len, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
        return mlq_err_set(err, MLQ_EINVAL, "cannot format time %lld", (long long)t_s);
    size_t used = strlen(buf);
    int64_t a = off < 0 ? -off : off;
    int n = tz && tz[0] ? snprintf(buf + used, len - used, "%c%02lld:%02lld", off < 0 ? '-' : '+',
                                   (long long)(a / 3600), (long long)(a % 3600 / 60))
                        : snprintf(buf + used, len - used, "Z");
    if (n < 0 || (size_t)n >= len - used)
        return mlq_err_set(err, MLQ_EINVAL, "buffer too small for a time");
    return 0;
}
