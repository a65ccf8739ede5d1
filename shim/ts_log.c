/* ts_log.c: key=value event lines. */
#include "ts_log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "ts_value.h"

static int threshold = -1;  /* -1: not yet read from TS_LOG_LEVEL */
static FILE *stream;
static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static const char *const names[] = {"debug", "info", "warn", "error"};

int ts_log_parse_level(const char *name)
{
    for (int i = 0; name && i < 4; i++)
        if (strcmp(name, names[i]) == 0)
            return i;
    return -1;
}

void ts_log_set_level(ts_log_level level) { threshold = (int)level; }
void ts_log_set_stream(FILE *s) { stream = s; }

int ts_log_enabled(ts_log_level level)
{
    if (threshold < 0) {
        int env = ts_log_parse_level(getenv("TS_LOG_LEVEL"));
        threshold = env < 0 ? TS_LOG_INFO : env;
    }
    return (int)level >= threshold;
}

void ts_log(ts_log_level level, const char *event, const char *fmt, ...)
{
    char now[TS_TIME_MAX];
    va_list ap;
    if (!ts_log_enabled(level))
        return;
    ts_time_now(now);
    FILE *out = stream ? stream : stderr;
    /* One lock per line so lines from threads never interleave. */
    pthread_mutex_lock(&lock);
    fprintf(out, "ts=%s level=%s event=%s", now, names[level], event);
    if (fmt && *fmt) {
        fputc(' ', out);
        va_start(ap, fmt);
        vfprintf(out, fmt, ap);
        va_end(ap);
    }
    fputc('\n', out);
    fflush(out);
    pthread_mutex_unlock(&lock);
}

const char *ts_log_value(const char *s, char *out, size_t n)
{
    if (s == NULL)
        return "-";
    if (*s != '\0' && strpbrk(s, " \t\r\n\"=\\") == NULL)
        return s;
    size_t k = 0;
    if (n < 3)
        return "\"\"";
    out[k++] = '"';
    for (const char *p = s; *p && k + 3 < n; p++) {
        if (*p == '"' || *p == '\\')
            out[k++] = '\\', out[k++] = *p;
        else if ((unsigned char)*p < 0x20)
            out[k++] = ' ';
        else
            out[k++] = *p;
    }
    out[k++] = '"';
    out[k] = '\0';
    return out;
}

const char *ts_redact(const char *secret, char *out, size_t n)
{
    const char *colon;
    if (secret == NULL || *secret == '\0') {
        snprintf(out, n, "-");
        return out;
    }
    colon = strchr(secret, ':');
    if (colon != NULL && colon > secret && strspn(secret, "0123456789") == (size_t)(colon - secret))
        snprintf(out, n, "%.*s:****", (int)(colon - secret), secret);
    else if (strlen(secret) >= 12)
        snprintf(out, n, "%.3s****", secret);
    else
        snprintf(out, n, "****");
    return out;
}
