/* ts_value.c: value constructors, canonical timestamps, UTF-8, comparison. */
#include "ts_value.h"

#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

ts_value ts_textn(const char *s, size_t len)
{
    ts_value v = {0};
    if (s == NULL)
        return v;
    v.type = TS_TEXT;
    v.s = s;
    v.len = len;
    return v;
}

ts_value ts_text(const char *s)
{
    return ts_textn(s, s ? strlen(s) : 0);
}

ts_value ts_blob(const void *p, size_t len)
{
    ts_value v = {0};
    v.type = TS_BLOB;
    v.s = p;
    v.len = len;
    return v;
}

ts_value ts_time(const char *canonical)
{
    ts_value v = ts_text(canonical);
    if (canonical != NULL)
        v.type = TS_TIME;
    return v;
}

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar
   (Howard Hinnant's days_from_civil). */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
    y -= m <= 2;
    int64_t era = (y >= 0 ? y : y - 399) / 400;
    unsigned yoe = (unsigned)(y - era * 400);
    unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
    unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
    z += 719468;
    int64_t era = (z >= 0 ? z : z - 146096) / 146097;
    unsigned doe = (unsigned)(z - era * 146097);
    unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
    unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    unsigned mp = (5 * doy + 2) / 153;
    *d = doy - (153 * mp + 2) / 5 + 1;
    *m = mp < 10 ? mp + 3 : mp - 9;
    *y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static int digits(const char *p, const char *end, int n, int *out)
{
    int v = 0;
    if (end - p < n)
        return -1;
    for (int i = 0; i < n; i++) {
        if (p[i] < '0' || p[i] > '9')
            return -1;
        v = v * 10 + (p[i] - '0');
    }
    *out = v;
    return 0;
}

void ts_time_from_unix(int64_t secs, int32_t usec, char out[TS_TIME_MAX])
{
    int64_t days = secs / 86400, rem = secs % 86400, y;
    unsigned m, d;
    if (rem < 0) {
        rem += 86400;
        days--;
    }
    civil_from_days(days, &y, &m, &d);
    /* Written digit by digit: a diff formats every timestamp it reads, and
       snprintf was a third of its time on the real schema (docs/benchmarks.md). */
    if (y >= 0 && y <= 9999) {
        char *p = out;
        unsigned v[6] = {(unsigned)y / 100, (unsigned)y % 100, m, d, (unsigned)(rem / 3600),
                         (unsigned)(rem / 60 % 60)};
        static const char sep[6] = {0, '-', '-', 'T', ':', ':'};
        for (int i = 0; i < 6; i++) {
            *p++ = (char)('0' + v[i] / 10);
            *p++ = (char)('0' + v[i] % 10);
            if (sep[i])
                *p++ = sep[i];
        }
        *p++ = (char)('0' + rem % 60 / 10);
        *p++ = (char)('0' + rem % 10);
        if (usec > 0) {
            unsigned u = (unsigned)usec % 1000000u;
            *p++ = '.';
            for (unsigned div = 100000; div > 0; div /= 10)
                *p++ = (char)('0' + u / div % 10);
            while (p[-1] == '0')
                p--;
        }
        *p++ = 'Z';
        *p = '\0';
        return;
    }
    int n = snprintf(out, TS_TIME_MAX, "%04" PRId64 "-%02u-%02uT%02d:%02d:%02d", y, m, d,
                     (int)(rem / 3600), (int)(rem / 60 % 60), (int)(rem % 60));
    if (usec > 0) {
        char frac[8];   /* usec is below 1000000: six digits */
        snprintf(frac, sizeof frac, ".%06u", (unsigned)usec % 1000000u);
        for (int i = 6; i > 0 && frac[i] == '0'; i--)
            frac[i] = '\0';
        n += snprintf(out + n, (size_t)(TS_TIME_MAX - n), "%s", frac);
    }
    snprintf(out + n, (size_t)(TS_TIME_MAX - n), "Z");
}

/* Parse the timestamp forms ts_time_canon accepts into UTC seconds and microseconds. */
static int parse_time(const char *in, size_t len, int64_t *secs, int *usec_out)
{
    const char *p = in, *end = in + len;
    int y, mo, d, h, mi, s, usec = 0, off = 0;

    if (digits(p, end, 4, &y) || end - p < 19 || p[4] != '-' || digits(p + 5, end, 2, &mo) ||
        p[7] != '-' || digits(p + 8, end, 2, &d) || (p[10] != 'T' && p[10] != ' ') ||
        digits(p + 11, end, 2, &h) || p[13] != ':' || digits(p + 14, end, 2, &mi) ||
        p[16] != ':' || digits(p + 17, end, 2, &s))
        goto bad;
    p += 19;
    if (p < end && p[0] == '.') {
        int scale = 100000;
        p++;
        if (p >= end || *p < '0' || *p > '9')
            goto bad;
        while (p < end && *p >= '0' && *p <= '9') {
            usec += (*p - '0') * scale; /* digits past microseconds are dropped */
            scale /= 10;
            p++;
        }
    }
    if (p < end && (*p == 'Z' || *p == 'z')) {
        p++;
    } else if (p < end && (*p == '+' || *p == '-')) {
        int sign = *p == '-' ? -1 : 1, oh, om = 0;
        p++;
        if (digits(p, end, 2, &oh))
            goto bad;
        p += 2;
        if (p < end && *p == ':')
            p++;
        if (p < end && digits(p, end, 2, &om) == 0)
            p += 2;
        off = sign * (oh * 3600 + om * 60);
    }
    if (p != end || mo < 1 || mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || s > 60)
        goto bad;
    *secs = days_from_civil(y, (unsigned)mo, (unsigned)d) * 86400 + h * 3600 + mi * 60 + s - off;
    *usec_out = usec;
    return 0;
bad:
    return -1;
}

/* PostgreSQL's infinite timestamps, carried as the words it prints: 1 for
   'infinity', -1 for '-infinity', 0 for any other text. */
static int infinite(const char *in, size_t len)
{
    if (len == 8 && memcmp(in, "infinity", 8) == 0)
        return 1;
    if (len == 9 && memcmp(in, "-infinity", 9) == 0)
        return -1;
    return 0;
}

static int not_a_time(const char *in, size_t len, ts_error *err)
{
    int n = (int)(len > 64 ? 64 : len);
    if (len > 3 && memcmp(in + len - 3, " BC", 3) == 0)
        return ts_fail(err, TS_E_INVALID, "'%.*s' is a date before the year 1: tenantshift "
                       "carries years 1 to 9999 and infinity; change the value", n, in);
    return ts_fail(err, TS_E_INVALID,
                   "'%.*s' is not a timestamp: use ISO-8601 such as 2024-01-31T12:00:00Z", n, in);
}

int ts_time_canon(const char *in, size_t len, char out[TS_TIME_MAX], ts_error *err)
{
    int64_t secs;
    int usec, inf = infinite(in, len);
    if (inf) {
        snprintf(out, TS_TIME_MAX, "%s", inf > 0 ? "infinity" : "-infinity");
        return 0;
    }
    if (parse_time(in, len, &secs, &usec) == 0) {
        ts_time_from_unix(secs, usec, out);
        return 0;
    }
    return not_a_time(in, len, err);
}

/* Infinity compares as the last second of 9999 and -infinity as the first of
   the year 1: later (earlier) than any time a bot stores, and still safe to
   do arithmetic with (microseconds included). */
#define TS_TIME_LAST_SEC INT64_C(253402300799)
#define TS_TIME_FIRST_SEC INT64_C(-62135596800)

int ts_time_to_unix(const char *canonical, int64_t *secs, ts_error *err)
{
    size_t len = strlen(canonical);
    int usec, inf = infinite(canonical, len);
    if (inf) {
        *secs = inf > 0 ? TS_TIME_LAST_SEC : TS_TIME_FIRST_SEC;
        return 0;
    }
    if (parse_time(canonical, len, secs, &usec) == 0)
        return 0;
    return not_a_time(canonical, len, err);
}

void ts_time_now(char out[TS_TIME_MAX])
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    ts_time_from_unix((int64_t)tv.tv_sec, (int32_t)tv.tv_usec, out);
}

int ts_utf8_valid(const char *str, size_t len)
{
    const unsigned char *s = (const unsigned char *)str, *end = s + len;
    while (s < end) {
        unsigned c = *s;
        int n;
        uint32_t cp;
        if (c < 0x80) {
            s++;
            continue;
        } else if ((c & 0xE0) == 0xC0) {
            n = 1, cp = c & 0x1F;
        } else if ((c & 0xF0) == 0xE0) {
            n = 2, cp = c & 0x0F;
        } else if ((c & 0xF8) == 0xF0) {
            n = 3, cp = c & 0x07;
        } else {
            return 0;
        }
        if (end - s <= n)
            return 0;
        for (int i = 1; i <= n; i++) {
            if ((s[i] & 0xC0) != 0x80)
                return 0;
            cp = (cp << 6) | (s[i] & 0x3F);
        }
        if ((n == 1 && cp < 0x80) || (n == 2 && cp < 0x800) || (n == 3 && cp < 0x10000) ||
            cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF))
            return 0;
        s += n + 1;
    }
    return 1;
}

static int is_numeric(ts_type t) { return t == TS_INT || t == TS_BOOL || t == TS_DOUBLE; }
static int is_textual(ts_type t) { return t == TS_TEXT || t == TS_TIME; }

int ts_value_equal(const ts_value *a, const ts_value *b)
{
    if (a->type == TS_NULL || b->type == TS_NULL)
        return a->type == b->type;
    if (is_numeric(a->type) && is_numeric(b->type)) {
        if (a->type == TS_DOUBLE || b->type == TS_DOUBLE) {
            double x = a->type == TS_DOUBLE ? a->d : (double)a->i;
            double y = b->type == TS_DOUBLE ? b->d : (double)b->i;
            return x == y;
        }
        return a->i == b->i;
    }
    if (a->type == TS_TIME && b->type == TS_TIME && (a->len != b->len || memcmp(a->s, b->s, a->len))) {
        /* One instant spelled two ways (SQLAlchemy's DATETIME text, the
           canonical form): equal when the canonical forms are. */
        char x[TS_TIME_MAX], y[TS_TIME_MAX];
        return ts_time_canon(a->s, a->len, x, NULL) == 0 && ts_time_canon(b->s, b->len, y, NULL) == 0 &&
               strcmp(x, y) == 0;
    }
    if ((is_textual(a->type) && is_textual(b->type)) || (a->type == TS_BLOB && b->type == TS_BLOB))
        return a->len == b->len && (a->len == 0 || memcmp(a->s, b->s, a->len) == 0);
    return 0;
}

char *ts_value_format(const ts_value *v, char *out, size_t n)
{
    switch (v->type) {
    case TS_NULL: snprintf(out, n, "NULL"); break;
    case TS_INT: snprintf(out, n, "%" PRId64, v->i); break;
    case TS_BOOL: snprintf(out, n, "%s", v->i ? "true" : "false"); break;
    case TS_DOUBLE: snprintf(out, n, "%.17g", v->d); break;
    case TS_BLOB: snprintf(out, n, "<blob %zu bytes>", v->len); break;
    case TS_TEXT:
    case TS_TIME: {
        size_t max = n > 3 ? n - 3 : 0;
        int shown = (int)(v->len < max ? v->len : max);
        snprintf(out, n, "'%.*s'", shown, v->s);
        break;
    }
    }
    return out;
}
