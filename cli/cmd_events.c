/* cmd_events: see cmd_events.h. The scheduler filters (by job, start time)
 * and limits; this file parses what the user typed and shows the rows.
 * Every string in a row is untrusted (a job's reason may quote what a
 * submitter chose): tables replace control characters, JSON replaces bytes
 * that are not UTF-8. */
#include "cmd_events.h"

#include <getopt.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "clock.h"
#include "jobref.h"
#include "optloop.h"
#include "output.h"
#include "res.h"

enum { OPT_JOB = MLQ_CLI_OPT_FIRST_FREE, OPT_SINCE, OPT_LIMIT };

static const char events_usage[] =
    "usage: mlq events [--job J] [--since T] [--limit N] [--json]\n\n"
    "Shows the scheduler's history, oldest first: submissions, state changes,\n"
    "attempts, workers joining and getting lost, keys added and removed, each with\n"
    "who caused it (ACTOR, \"-\" for the scheduler itself). The whole history is for\n"
    "admins; a user reads the events of one of their own jobs with --job.\n"
    "  --job J           only the events of job J (an id or a unique prefix)\n"
    "  --since T         only events at or after T: a duration ago (30m, 2h, 7d) or an\n"
    "                    ISO 8601 time (2024-05-01, 2024-05-01T14:00, ...Z, ...+02:00;\n"
    "                    local time without a zone)\n"
    "  --limit N         at most the newest N events (1..10000, default 100)\n"
    "  --json            {\"events\": [{seq, time, kind, job_id, attempt_id, worker,\n"
    "                    actor, from, to, detail}]}\n"
    "  --scheduler ADDR  scheduler address\n"
    "  --timeout DUR     how long to wait for the scheduler's answer (default 10s)\n";

static const struct option events_longopts[] = {
    MLQ_CLI_COMMON_LONGOPTS,
    MLQ_CLI_TIMEOUT_LONGOPT,
    {"json", no_argument, NULL, MLQ_CLI_OPT_JSON},
    {"job", required_argument, NULL, OPT_JOB},
    {"since", required_argument, NULL, OPT_SINCE},
    {"limit", required_argument, NULL, OPT_LIMIT},
    {NULL, 0, NULL, 0},
};

struct events_opts {
    const char *job;
    int64_t since_ms;
    long limit;
    bool json;
};

/* ---- --since ---------------------------------------------------------- */

/* Exactly n digits at *p into *out; advances *p. */
static bool take_digits(const char **p, int n, int *out)
{
    int v = 0;
    for (int i = 0; i < n; i++) {
        if ((*p)[i] < '0' || (*p)[i] > '9')
            return false;
        v = v * 10 + ((*p)[i] - '0');
    }
    *p += n;
    *out = v;
    return true;
}

static bool take_char(const char **p, char c)
{
    if (**p != c)
        return false;
    (*p)++;
    return true;
}

/* ".fff" (1..9 digits) -> milliseconds. */
static bool take_fraction(const char **p, int *ms)
{
    *ms = 0;
    if (!take_char(p, '.'))
        return true;
    int n = 0, scale = 100;
    for (; (*p)[0] >= '0' && (*p)[0] <= '9' && n < 9; (*p)++, n++, scale /= 10)
        *ms += ((*p)[0] - '0') * scale;
    return n > 0;
}

/* "Z", "+HH:MM", "+HHMM", "-HH" or nothing (*has = false). */
static bool take_zone(const char **p, bool *has, int *offset_s)
{
    int h = 0, m = 0;
    *has = true;
    *offset_s = 0;
    if (take_char(p, 'Z'))
        return true;
    int sign = **p == '+' ? 1 : **p == '-' ? -1 : 0;
    if (!sign) {
        *has = false;
        return true;
    }
    (*p)++;
    if (!take_digits(p, 2, &h))
        return false;
    take_char(p, ':');
    if (**p && !take_digits(p, 2, &m))
        return false;
    *offset_s = sign * (h * 3600 + m * 60);
    return h <= 23 && m <= 59;
}

/* The fields of an ISO 8601 time; false when s is not one. */
static bool parse_iso(const char *s, struct tm *tm, int *ms, bool *zone, int *offset_s)
{
    const char *p = s;
    memset(tm, 0, sizeof *tm);
    *ms = 0;
    if (!take_digits(&p, 4, &tm->tm_year) || !take_char(&p, '-') ||
        !take_digits(&p, 2, &tm->tm_mon) || !take_char(&p, '-') ||
        !take_digits(&p, 2, &tm->tm_mday))
        return false;
    if (take_char(&p, 'T') || take_char(&p, ' ')) {
        if (!take_digits(&p, 2, &tm->tm_hour) || !take_char(&p, ':') ||
            !take_digits(&p, 2, &tm->tm_min))
            return false;
        if (take_char(&p, ':') && (!take_digits(&p, 2, &tm->tm_sec) || !take_fraction(&p, ms)))
            return false;
    }
    if (!take_zone(&p, zone, offset_s) || *p != '\0')
        return false;
    bool ok = tm->tm_year >= 1970 && tm->tm_mon >= 1 && tm->tm_mon <= 12 && tm->tm_mday >= 1 &&
              tm->tm_mday <= 31 && tm->tm_hour <= 23 && tm->tm_min <= 59 && tm->tm_sec <= 60;
    tm->tm_year -= 1900;
    tm->tm_mon -= 1;
    return ok;
}

/* ISO 8601 text to wall-clock ms; false when invalid (also 2024-02-30). */
static bool iso_to_ms(const char *s, int64_t *out)
{
    struct tm tm, check;
    int ms, offset_s;
    bool zone;
    if (!parse_iso(s, &tm, &ms, &zone, &offset_s))
        return false;
    if (tm.tm_sec == 60)
        tm.tm_sec = 59; /* a leap second reads as the one before */
    int mday = tm.tm_mday, mon = tm.tm_mon;
    check = tm;
    check.tm_isdst = -1;
    time_t t = zone ? timegm(&check) : mktime(&check);
    if (t == (time_t)-1 || check.tm_mday != mday || check.tm_mon != mon)
        return false;
    *out = ((int64_t)t - (zone ? offset_s : 0)) * 1000 + ms;
    return *out >= 0;
}

int mlq_cli_parse_since(const char *s, int64_t now_ms, int64_t *out, struct mlq_err *err)
{
    int64_t ms;
    if (strlen(s) >= 10 && s[4] == '-') {
        if (iso_to_ms(s, out))
            return 0;
    } else if (mlq_res_parse_duration(s, &ms, NULL) == 0) {
        *out = now_ms > ms ? now_ms - ms : 0;
        return 0;
    }
    return mlq_err_set(err, MLQ_CLI_EUSAGE,
                       "bad --since '%.40s' (a duration ago like 2h, or an ISO 8601 time like "
                       "2024-05-01T14:00)",
                       s);
}

/* ---- options ---------------------------------------------------------- */

static int events_opt(int c, void *p, struct mlq_err *err)
{
    struct events_opts *o = p;
    switch (c) {
    case MLQ_CLI_OPT_JSON:
        o->json = true;
        return 0;
    case OPT_JOB:
        o->job = optarg;
        return 0;
    case OPT_SINCE:
        return mlq_cli_parse_since(optarg, mlq_clock_wall_ms(), &o->since_ms, err);
    case OPT_LIMIT:
        return mlq_cli_parse_int("--limit", optarg, 1, MLQ_MAX_LIST, &o->limit, err);
    default:
        return mlq_err_set(err, MLQ_CLI_EUSAGE, "events: unexpected option");
    }
}

static const struct mlq_optloop events_loop = {"events", "events", events_usage, events_longopts,
                                               events_opt};

/* Returns -1 to go on, else the exit code. */
static int events_parse(struct mlq_cli *cli, int argc, char **argv, struct events_opts *o)
{
    struct mlq_err err = {0};
    memset(o, 0, sizeof *o);
    int rc = mlq_optloop_read(&events_loop, cli, argc, argv, o, &err);
    if (rc == 0)
        rc = mlq_optloop_no_operands(&events_loop, argc, argv, &err);
    if ((rc = mlq_optloop_result(&events_loop, rc, &err)) >= 0)
        return rc;
    if (o->job && (rc = mlq_cli_check_ids((char **)&o->job, 1, &err)) < 0)
        return mlq_out_fail(rc, &err);
    return -1;
}

/* ---- output ----------------------------------------------------------- */

/* "FROM -> TO: detail", "FROM -> TO", "detail" or "-"; cleaned. */
static char *what_text(const struct mlq_eventinfo *e, char *buf, size_t len)
{
    char raw[MLQ_MAX_STR + 2 * MLQ_MAX_NAME + 16];
    int n = 0;
    raw[0] = '\0';
    if (e->from || e->to)
        n = snprintf(raw, sizeof raw, "%s -> %s", e->from ? e->from : "-", e->to ? e->to : "-");
    if (e->detail && n >= 0 && (size_t)n < sizeof raw)
        snprintf(raw + n, sizeof raw - (size_t)n, "%s%s", n ? ": " : "", e->detail);
    return mlq_out_clean(raw[0] ? raw : NULL, buf, len);
}

static int add_event_row(struct mlq_table *t, const struct mlq_eventinfo *e)
{
    char when[32], kind[MLQ_MAX_NAME + 1], job[MLQ_SHORT_ID_LEN + 1], worker[MLQ_MAX_NAME + 1];
    char actor[MLQ_MAX_ACTOR + 1], what[MLQ_MAX_STR + 1], short_id[MLQ_SHORT_ID_LEN + 1];
    snprintf(short_id, sizeof short_id, "%s", e->job_id ? e->job_id : "-");
    const char *cells[] = {mlq_out_time_local(e->time_ms, when, sizeof when),
                           mlq_out_clean(e->kind, kind, sizeof kind),
                           mlq_out_clean(short_id, job, sizeof job),
                           mlq_out_clean(e->worker, worker, sizeof worker),
                           mlq_out_clean(e->actor, actor, sizeof actor),
                           what_text(e, what, sizeof what)};
    return mlq_table_add_row(t, cells, 6);
}

int mlq_cli_events_print(FILE *f, const struct mlq_eventinfo *e, uint32_t n, bool colour)
{
    static const char *const headers[] = {"TIME", "KIND", "JOB", "WORKER", "ACTOR", "WHAT"};
    struct mlq_table *t = mlq_table_create(6, headers);
    int rc = t ? 0 : MLQ_ENOMEM;
    for (uint32_t i = 0; rc == 0 && i < n; i++)
        rc = add_event_row(t, &e[i]);
    return mlq_table_finish(&t, f, colour, rc);
}

json_t *mlq_cli_events_json(const struct mlq_eventinfo *e, uint32_t n)
{
    return mlq_jsonview_events(e, n);
}

int mlq_cmd_events(struct mlq_cli *cli, int argc, char **argv)
{
    struct events_opts o;
    int rc = events_parse(cli, argc, argv, &o);
    if (rc >= 0)
        return rc;
    struct mlq_err err = {0};
    struct mlq_msg req = {.type = MLQ_MSG_EVENTS}, reply;
    req.u.events.job = (char *)o.job;
    req.u.events.since_ms = o.since_ms;
    req.u.events.limit = (uint32_t)o.limit;
    if ((rc = mlq_cli_request(cli, &req, MLQ_MSG_EVENT_LIST, &reply, &err)) < 0)
        return o.job ? mlq_cli_refs_fail(cli, rc, &err, (char *const *)&o.job, 1)
                     : mlq_out_fail(rc, &err);
    const struct mlq_eventinfo *e = reply.u.event_list.events;
    uint32_t n = reply.u.event_list.nevents;
    rc = o.json ? mlq_out_json_emit(stdout, mlq_cli_events_json(e, n))
                : mlq_cli_events_print(stdout, e, n, cli->stdout_tty);
    mlq_proto_msg_free(&reply);
    return rc < 0 ? mlq_out_fail(rc, NULL) : MLQ_EXIT_OK;
}
