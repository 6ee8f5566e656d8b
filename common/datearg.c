/* datearg: see datearg.h. */
#include "datearg.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "res.h"

/* "YYYY-MM-DD" with an optional "THH:MM[:SS]" and "Z"; true when s is
 * exactly that and a real date. */
static bool parse_iso(const char *s, int64_t *out)
{
    struct tm tm = {0};
    int n = 0;
    if (sscanf(s, "%4d-%2d-%2d%n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &n) != 3 || n != 10)
        return false;
    const char *p = s + n;
    if (*p == 'T' || *p == ' ') {
        int m = 0;
        if (sscanf(p + 1, "%2d:%2d%n", &tm.tm_hour, &tm.tm_min, &m) != 2 || m != 5)
            return false;
        p += 1 + m;
        if (*p == ':' && (sscanf(p + 1, "%2d%n", &tm.tm_sec, &m) != 1 || m != 2))
            return false;
        p += *p == ':' ? 3 : 0;
        p += *p == 'Z';
    }
    if (*p || tm.tm_year < 1970 || tm.tm_year > 9999 || tm.tm_mon < 1 || tm.tm_mon > 12 ||
        tm.tm_mday < 1 || tm.tm_mday > 31 || tm.tm_hour > 23 || tm.tm_min > 59 || tm.tm_sec > 59)
        return false;
    int mday = tm.tm_mday, mon = tm.tm_mon;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    time_t t = timegm(&tm);
    if (t == (time_t)-1 || tm.tm_mday != mday || tm.tm_mon != mon - 1) /* 2026-02-31 */
        return false;
    *out = (int64_t)t * 1000;
    return true;
}

int mlq_datearg_parse(const char *s, int64_t now_ms, int64_t *out, struct mlq_err *err)
{
    struct mlq_err e;
    int64_t ago = 0;
    if (s && parse_iso(s, out))
        return 0;
    if (s && s[0] >= '0' && s[0] <= '9' && !strchr(s, '-') &&
        mlq_res_parse_duration(s, &ago, &e) == 0 && ago <= now_ms) {
        *out = now_ms - ago;
        return 0;
    }
    return mlq_err_set(err, MLQ_EINVAL,
                       "bad date \"%.80s\": expected YYYY-MM-DD, YYYY-MM-DDTHH:MM[:SS][Z] or a "
                       "duration ago such as 7d",
                       s ? s : "");
}
