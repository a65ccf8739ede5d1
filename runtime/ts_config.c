/* ts_config.c: the configuration keys as one table; file, environment, validation. */
#include "ts_config.h"

#include <arpa/inet.h>
#include <cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <math.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>

#include "ts_buf.h"
#include "ts_store.h"
#include "ts_log.h"
#include "ts_tg.h"

typedef enum {
    K_STR, K_HTTP_URL, K_STORE_URL, K_TOKEN, K_MERCHANT, K_ADDR, K_ENUM, K_INT, K_I64, K_FRAC
} ktype;

typedef struct key {
    const char *name, *env;
    ktype type;
    size_t off;
    double min, max;         /* numbers */
    const char *choices;     /* K_ENUM: "a|b|c" */
    const char *dflt;        /* as environment text; NULL = required */
    const char *help;
} key;

#define F(m) offsetof(ts_config, m)
static const key keys[] = {
    {"legacy_url", "TS_LEGACY_URL", K_STORE_URL, F(legacy_url), 0, 0, NULL, NULL,
     "legacy store: sqlite:PATH or postgresql://..."},
    {"new_url", "TS_NEW_URL", K_STORE_URL, F(new_url), 0, 0, NULL, NULL, "new store"},
    {"bot_token", "TS_BOT_TOKEN", K_TOKEN, F(bot_token), 0, 0, NULL, NULL,
     "the master bot's token from @BotFather"},
    {"telegram_url", "TS_TELEGRAM_URL", K_HTTP_URL, F(telegram_url), 0, 0, NULL,
     TS_TG_DEFAULT_URL, "Bot API base URL"},
    {"zarinpal_url", "TS_ZARINPAL_URL", K_HTTP_URL, F(zarinpal_url), 0, 0, NULL,
     "https://payment.zarinpal.com", "Zarinpal base URL"},
    {"zarinpal_merchant", "TS_ZARINPAL_MERCHANT", K_MERCHANT, F(zarinpal_merchant), 0, 0, NULL,
     "", "master bot's Zarinpal merchant id (36 characters); empty = off"},
    {"public_url", "TS_PUBLIC_URL", K_HTTP_URL, F(public_url), 0, 0, NULL, "",
     "public base URL of the HTTP endpoint (Zarinpal callbacks); empty = off"},
    {"zarinpal_reconcile_s", "TS_ZARINPAL_RECONCILE", K_INT, F(zarinpal_reconcile_s), 1, 86400,
     NULL, "300", "how often pending Zarinpal payments are verified with the gateway, seconds"},
    /* Older than a payer can stay on the payment page: a younger one may
       still be paid, and its verify would say "not paid" and fail it. */
    {"zarinpal_stale_s", "TS_ZARINPAL_STALE", K_INT, F(zarinpal_stale_s),
     1, 604800, NULL, "1800", "age at which a pending Zarinpal payment is reconciled, seconds"},
    {"http_listen", "TS_HTTP_LISTEN", K_ADDR, F(http_listen), 0, 0, NULL, "127.0.0.1",
     "IP address the HTTP endpoint binds"},
    {"http_port", "TS_HTTP_PORT", K_INT, F(http_port), 0, 65535, NULL, "8080",
     "HTTP port; 0 = any free port"},
    {"poll_timeout_s", "TS_POLL_TIMEOUT", K_INT, F(poll_timeout_s), 0, 50, NULL, "25",
     "getUpdates long-poll timeout, seconds"},
    {"bots_refresh_s", "TS_BOTS_REFRESH", K_INT, F(bots_refresh_s), 1, 3600, NULL, "10",
     "how often the active bots are re-read, seconds"},
    {"flag_cache_ttl_s", "TS_FLAG_CACHE_TTL", K_INT, F(flag_cache_ttl_s), 0, 3600, NULL, "60",
     "feature-flag cache TTL, seconds"},
    {"kill_switch_file", "TS_KILL_SWITCH_FILE", K_STR, F(kill_switch_file), 0, 0, NULL, "",
     "its existence sends reads back to legacy; empty = none"},
    {"manifest", "TS_MANIFEST", K_STR, F(manifest), 0, 0, NULL, "",
     "the increment manifest (the same file ts-migrate is given); empty = the built-in one"},
    {"shadow_fraction", "TS_SHADOW_FRACTION", K_FRAC, F(shadow_fraction), 0, 1, NULL, "1",
     "fraction of reads compared at stage shadow"},
    {"shadow_timeout_ms", "TS_SHADOW_TIMEOUT_MS", K_INT, F(shadow_timeout_ms), 1, 60000, NULL,
     "200", "a shadow read never delays a reply past this"},
    {"admin_chat_id", "TS_ADMIN_CHAT_ID", K_I64, F(admin_chat_id), -1e15, 1e15, NULL, "0",
     "master bot's admin chat (receipts, approvals); 0 = none"},
    {"default_language", "TS_DEFAULT_LANGUAGE", K_ENUM, F(default_language), 0, 0, "fa|en", "fa",
     "language of users whose client sends neither fa nor en"},
    {"trial_days", "TS_TRIAL_DAYS", K_INT, F(trial_days), 1, 365, NULL, "3",
     "length of the free trial (feature flag trial_subscription), days"},
    {"trial_traffic_gb", "TS_TRIAL_TRAFFIC_GB", K_INT, F(trial_traffic_gb), 0, 100000, NULL, "10",
     "traffic limit of the free trial, GB; 0 = unlimited"},
    {"referral_percent", "TS_REFERRAL_PERCENT", K_INT, F(referral_percent), 0, 100, NULL, "10",
     "share of a referred user's first payment paid to the referrer (flag referral_program)"},
    {"log_level", "TS_LOG_LEVEL", K_ENUM, F(log_level), 0, 0, "debug|info|warn|error", "info",
     "log threshold"},
};
#define NKEYS (sizeof keys / sizeof keys[0])

static int is_string_type(ktype t) { return t <= K_ENUM; }

static char **str_at(ts_config *c, const key *k) { return (char **)((char *)c + k->off); }

/* What may be shown of a value in a problem report. */
static const char *shown(const key *k, const char *v, char *out, size_t n)
{
    if (k->type == K_TOKEN || k->type == K_MERCHANT)
        return ts_redact(v, out, n);
    snprintf(out, n, "\"%.60s%s\"", v, strlen(v) > 60 ? "..." : "");
    return out;
}

static int http_url_ok(const char *s)
{
    CURLU *u = curl_url();
    char *scheme = NULL, *host = NULL;
    int ok = u != NULL && curl_url_set(u, CURLUPART_URL, s, 0) == CURLUE_OK &&
             curl_url_get(u, CURLUPART_SCHEME, &scheme, 0) == CURLUE_OK &&
             curl_url_get(u, CURLUPART_HOST, &host, 0) == CURLUE_OK &&
             (strcmp(scheme, "http") == 0 || strcmp(scheme, "https") == 0) && *host;
    curl_free(scheme);
    curl_free(host);
    curl_url_cleanup(u);
    return ok;
}

static int choice_ok(const char *choices, const char *s)
{
    size_t n = strlen(s);
    for (const char *p = choices; *p;) {
        size_t len = strcspn(p, "|");
        if (len == n && n > 0 && strncmp(p, s, n) == 0)
            return 1;
        p += len + (p[len] == '|');
    }
    return 0;
}

/* Validate and store a string value; why gets the problem. */
static int assign_str(const key *k, const char *s, ts_config *c, char *why, size_t n)
{
    char v[96];
    unsigned char addr[16];
    int ok = 1;
    const char *expect = "";
    switch (k->type) {
    case K_HTTP_URL:
        ok = *s == '\0' ? k->dflt && *k->dflt == '\0' : http_url_ok(s);
        expect = "an http:// or https:// URL with a host";
        break;
    case K_STORE_URL: /* the shim's own check: what passes here, the shim accepts */
        ok = ts_store_url_check(s, NULL) == 0;
        expect = "a store URL: sqlite:PATH, sqlite::memory: or postgresql://...";
        break;
    case K_TOKEN:
        ok = ts_tg_token_valid(s);
        expect = "a bot token <bot id>:<secret> from @BotFather";
        break;
    case K_MERCHANT:
        ok = *s == '\0' || (strlen(s) == 36 && strspn(s, "0123456789abcdefABCDEF-") == 36);
        expect = "a Zarinpal merchant id (36 characters, hex digits and dashes)";
        break;
    case K_ADDR:
        ok = inet_pton(AF_INET, s, addr) == 1 || inet_pton(AF_INET6, s, addr) == 1;
        expect = "an IPv4 or IPv6 address";
        break;
    case K_ENUM:
        ok = choice_ok(k->choices, s);
        expect = k->choices;
        break;
    default:
        break;
    }
    if (!ok)
        return snprintf(why, n, "%s is not %s", shown(k, s, v, sizeof v), expect), -1;
    char *copy = strdup(s);
    if (copy == NULL)
        return snprintf(why, n, "out of memory"), -1;
    free(*str_at(c, k));
    *str_at(c, k) = copy;
    return 0;
}

static int assign_num(const key *k, double d, ts_config *c, char *why, size_t n)
{
    if (k->type != K_FRAC && d != floor(d))
        return snprintf(why, n, "%g is not an integer", d), -1;
    if (!(d >= k->min && d <= k->max))
        return snprintf(why, n, "%g is out of range %g..%g", d, k->min, k->max), -1;
    char *at = (char *)c + k->off;
    if (k->type == K_INT)
        *(int *)at = (int)d;
    else if (k->type == K_I64)
        *(int64_t *)at = (int64_t)d;
    else
        *(double *)at = d;
    return 0;
}

/* Environment and defaults are text. */
static int assign_text(const key *k, const char *s, ts_config *c, char *why, size_t n)
{
    if (is_string_type(k->type))
        return assign_str(k, s, c, why, n);
    char *end;
    errno = 0;
    double d = strtod(s, &end);
    if (*s == '\0' || *end != '\0' || errno != 0 || !isfinite(d))
        return snprintf(why, n, "\"%.40s\" is not a number", s), -1;
    return assign_num(k, d, c, why, n);
}

static int assign_json(const key *k, const cJSON *v, ts_config *c, char *why, size_t n)
{
    if (is_string_type(k->type)) {
        if (!cJSON_IsString(v))
            return snprintf(why, n, "expected a string"), -1;
        return assign_str(k, v->valuestring, c, why, n);
    }
    if (!cJSON_IsNumber(v))
        return snprintf(why, n, "expected a number%s",
                        cJSON_IsString(v) ? ", got a string (drop the quotes)" : ""), -1;
    return assign_num(k, v->valuedouble, c, why, n);
}

static const key *find_key(const char *name)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (strcmp(keys[i].name, name) == 0)
            return &keys[i];
    return NULL;
}

typedef struct problems {
    ts_buf text;
    int count, unlisted;
} problems;

/* ts_error holds 1 KiB: the lines that fit are listed, the rest counted. */
#define PROBLEM_TEXT_MAX 860

static void problem(problems *p, const char *fmt, const char *a, const char *b)
{
    size_t before = p->text.len;
    p->count++;
    ts_buf_puts(&p->text, "\n  ");
    ts_buf_printf(&p->text, fmt, a, b);
    if (p->text.len > PROBLEM_TEXT_MAX && !p->text.oom) {
        p->text.len = before;
        p->text.s[before] = '\0';
        p->unlisted++;
    }
}

/* Line of the byte at off, for JSON syntax errors. */
static int line_of(const char *s, size_t off)
{
    int line = 1;
    for (size_t i = 0; i < off && s[i]; i++)
        line += s[i] == '\n';
    return line;
}

static int load_file(const char *path, ts_config *c, int *set, problems *p, ts_error *err)
{
    char why[256];
    FILE *f = fopen(path, "rb");
    if (f == NULL)
        return ts_fail(err, TS_E_IO, "cannot read config file %s: %s", path, strerror(errno));
    ts_buf b = {0};
    char chunk[4096];
    size_t n;
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        ts_buf_add(&b, chunk, n);
    fclose(f);
    ts_buf_add(&b, "", 0);
    cJSON *j = cJSON_ParseWithLength(b.s, b.len);
    if (j == NULL) {
        const char *at = cJSON_GetErrorPtr();
        size_t off = at && at >= b.s && at <= b.s + b.len ? (size_t)(at - b.s) : 0;
        snprintf(why, sizeof why, "%d", line_of(b.s, off));
        problem(p, "not valid JSON near line %s%s: fix the syntax", why, "");
    } else if (!cJSON_IsObject(j)) {
        problem(p, "the file must hold one JSON object of key: value%s%s", "", "");
    }
    const cJSON *item, *obj = cJSON_IsObject(j) ? j : NULL;
    cJSON_ArrayForEach(item, obj) {
        const key *k = find_key(item->string);
        if (k == NULL) {
            problem(p, "key \"%.60s\": unknown key: remove it or fix its spelling (ts-bot --help "
                       "lists the keys)%s", item->string, "");
            continue;
        }
        if (assign_json(k, item, c, why, sizeof why) != 0)
            problem(p, "key \"%s\": %s", k->name, why);
        set[k - keys] = 1;   /* given, even if wrong: one problem per key */
    }
    cJSON_Delete(j);
    ts_buf_free(&b);
    return 0;
}

int ts_config_load(const char *path, ts_env_fn env, ts_config *c, ts_error *err)
{
    char why[256];
    int set[NKEYS] = {0};
    problems p = {{0}, 0, 0};
    memset(c, 0, sizeof *c);
    for (size_t i = 0; i < NKEYS; i++)
        if (keys[i].dflt != NULL && assign_text(&keys[i], keys[i].dflt, c, why, sizeof why) != 0)
            return ts_fail(err, TS_E_INTERNAL, "default of %s: %s", keys[i].name, why);
    if (path != NULL && load_file(path, c, set, &p, err) != 0)
        return -1;
    for (size_t i = 0; env != NULL && i < NKEYS; i++) {
        const char *v = env(keys[i].env);
        if (v == NULL)
            continue;
        if (assign_text(&keys[i], v, c, why, sizeof why) != 0)
            problem(&p, "environment %s: %s", keys[i].env, why);
        set[i] = 1;
    }
    for (size_t i = 0; i < NKEYS; i++)
        if (keys[i].dflt == NULL && !set[i])
            problem(&p, "key \"%s\" is required: set it in the file or in %s", keys[i].name,
                    keys[i].env);
    if (p.count == 0)
        return 0;
    if (p.unlisted > 0)
        ts_buf_printf(&p.text, "\n  ... and %d more: fix these and run again", p.unlisted);
    ts_fail(err, TS_E_USAGE, "%s: %d problem%s:%s", path ? path : "configuration", p.count,
            p.count == 1 ? "" : "s", p.text.oom ? " (out of memory)" : p.text.s);
    ts_buf_free(&p.text);
    return -1;
}

void ts_config_free(ts_config *c)
{
    for (size_t i = 0; i < NKEYS; i++)
        if (is_string_type(keys[i].type)) {
            free(*str_at(c, &keys[i]));
            *str_at(c, &keys[i]) = NULL;
        }
}

void ts_config_print_keys(FILE *out)
{
    for (size_t i = 0; i < NKEYS; i++)
        fprintf(out, "  %-18s %-21s %s%s%s%s\n", keys[i].name, keys[i].env, keys[i].help,
                keys[i].dflt ? " (default \"" : " (required)", keys[i].dflt ? keys[i].dflt : "",
                keys[i].dflt ? "\")" : "");
}
