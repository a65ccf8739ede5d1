/*
 * ts-traffic: a fake Telegram Bot API and Zarinpal gateway that also plays the
 * users, for demos and benchmarks of ts-bot (which it never touches but
 * through HTTP).
 *
 *   ts-traffic --token T [--token T2 ...] [--port P] [--users N] [--rate R]
 *              [--duration S] [--count C] [--preload N] [--mix full|start-buy]
 *              [--admin ID] [--replies FILE]
 *
 * Listens on 127.0.0.1 only (port P, default any free one) and prints its base
 * URL on the first line of stdout: point ts-bot's telegram_url and
 * zarinpal_url at it. For every token it serves getUpdates (long polls, offsets
 * confirmed as Telegram does) and records every call the bot makes. It
 * generates the traffic itself: N users per bot walking through /start (every
 * third with the previous user's referral code), the referral screen, plans,
 * a card-to-card top-up with a receipt photo (the admin approves it as soon as
 * the notice arrives), a purchase from the balance, the balance, a promo code,
 * a Zarinpal top-up (the gateway's callback is then called at the bot's
 * callback_url, which must be on 127.0.0.1), a ticket and the history; or, with
 * --mix start-buy, /start and a purchase in turn.
 *
 * Bounded: at most --rate updates/s (default 50, at most 20000), for --duration
 * seconds (default 10, at most 3600) or --count updates, or until SIGTERM or
 * SIGINT; --preload N queues N updates at once and ends when the bot has
 * confirmed them all (the benchmark's mode). On exit it prints a summary
 * (updates sent, replies received, errors, rate); --replies FILE also writes
 * every reply, one per line, so two runs can be compared. SIGUSR1 stops the
 * traffic but keeps serving until the bot has confirmed every update sent
 * (at most 60 s), then exits the same way: a fault campaign's quiet end.
 */
#include <cJSON.h>
#include <curl/curl.h>
#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "../unit/fake_http.h"
#include "ts_buf.h"
#include "ts_clock.h"

#define MAX_BOTS 16
#define QUEUE_MAX 200000   /* queued updates per bot; the generator waits beyond */
#define MAX_USERS 100000
#define MAX_RATE 20000
#define MAX_DURATION 3600
#define REACT_MAX 4096

typedef struct upd {
    int64_t id;
    char *json;
} upd;

typedef struct bot {
    char token[128];
    upd *q;               /* ring of QUEUE_MAX */
    int64_t head, tail;   /* positions; ids are dense from 1 */
    int64_t next_id;
    char (*refcode)[16];  /* per user: the referral code the bot showed */
    int *step;            /* per user: the next step of the script */
} bot;

typedef struct react {   /* a Zarinpal callback to make */
    char url[512];
} react;

static struct {
    bot bots[MAX_BOTS];
    int nbots;
    int users, rate, duration, preload, start_buy;
    int64_t count, admin;
    FILE *replies;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int64_t sent, confirmed, replied, errors, msg_id, npay;
    react reacts[REACT_MAX];
    int nreacts;
    long long first_poll_ms, last_confirm_ms;
} g = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};

static volatile sig_atomic_t stopping, draining;
static void on_stop(int sig) { (void)sig, stopping = 1; }
static void on_drain(int sig) { (void)sig, draining = 1; }

static void sleep_ms(long ms)
{
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
    nanosleep(&ts, NULL);
}

/* ---- the queue ---------------------------------------------------------------------- */

/* Queue an update (its update_id is added); waits while the bot's queue is full. */
static void push(bot *b, cJSON *u)
{
    pthread_mutex_lock(&g.mu);
    while (b->tail - b->head >= QUEUE_MAX && !stopping)
        pthread_cond_wait(&g.cv, &g.mu);
    cJSON_AddNumberToObject(u, "update_id", (double)b->next_id);
    upd *slot = &b->q[b->tail % QUEUE_MAX];
    slot->id = b->next_id++;
    slot->json = cJSON_PrintUnformatted(u);
    b->tail++;
    g.sent++;
    pthread_cond_broadcast(&g.cv);
    pthread_mutex_unlock(&g.mu);
    cJSON_Delete(u);
}

static cJSON *from_user(cJSON *parent, int64_t uid)
{
    cJSON *f = cJSON_AddObjectToObject(parent, "from");
    cJSON_AddNumberToObject(f, "id", (double)uid);
    cJSON_AddStringToObject(f, "first_name", "Load");
    cJSON_AddStringToObject(f, "language_code", uid % 2 ? "fa" : "en");
    return f;
}

static cJSON *chat(cJSON *parent, int64_t uid)
{
    cJSON *c = cJSON_AddObjectToObject(parent, "chat");
    cJSON_AddNumberToObject(c, "id", (double)uid);
    cJSON_AddStringToObject(c, "type", "private");
    return c;
}

static void send_text(bot *b, int64_t uid, const char *text, const char *photo)
{
    cJSON *u = cJSON_CreateObject(), *m = cJSON_AddObjectToObject(u, "message");
    cJSON_AddNumberToObject(m, "message_id", 1);
    from_user(m, uid);
    chat(m, uid);
    if (photo != NULL) {
        cJSON *ph = cJSON_AddArrayToObject(m, "photo"), *s = cJSON_CreateObject();
        cJSON_AddStringToObject(s, "file_id", photo);
        cJSON_AddStringToObject(s, "file_unique_id", photo);
        cJSON_AddNumberToObject(s, "width", 800);
        cJSON_AddNumberToObject(s, "height", 600);
        cJSON_AddItemToArray(ph, s);
    } else {
        cJSON_AddStringToObject(m, "text", text);
    }
    push(b, u);
}

static void send_button(bot *b, int64_t uid, const char *data)
{
    char id[32];
    cJSON *u = cJSON_CreateObject(), *q = cJSON_AddObjectToObject(u, "callback_query");
    snprintf(id, sizeof id, "q%" PRId64, b->next_id);
    cJSON_AddStringToObject(q, "id", id);
    from_user(q, uid);
    cJSON *m = cJSON_AddObjectToObject(q, "message");
    cJSON_AddNumberToObject(m, "message_id", 1);
    chat(m, uid);
    cJSON_AddStringToObject(q, "data", data);
    push(b, u);
}

/* ---- the users' script --------------------------------------------------------------- */

static const char *const full[] = {"/start", "ref", "plans", "c2c:100000", "photo:receipt",
                                   "buy:1", "balance", "/promo WELCOME", "zp:50000", "tnew",
                                   "text:my connection drops", "history"};
static const char *const start_buy[] = {"/start", "buy:1"};

static void step_user(bot *b, int u)
{
    const char *const *script = g.start_buy ? start_buy : full;
    int n = g.start_buy ? 2 : (int)(sizeof full / sizeof full[0]);
    int64_t uid = 100000 + u;
    int s = b->step[u];
    const char *what = script[s];
    b->step[u] = s + 1 < n ? s + 1 : (g.start_buy ? 0 : 2);   /* the full script loops after /start, ref */
    if (strcmp(what, "/start") == 0) {
        char cmd[40] = "/start";
        pthread_mutex_lock(&g.mu);
        if (u > 0 && u % 3 == 0 && b->refcode[u - 1][0])
            snprintf(cmd, sizeof cmd, "/start %s", b->refcode[u - 1]);
        pthread_mutex_unlock(&g.mu);
        send_text(b, uid, cmd, NULL);
    } else if (what[0] == '/') {
        send_text(b, uid, what, NULL);
    } else if (strncmp(what, "photo:", 6) == 0) {
        send_text(b, uid, NULL, what + 6);
    } else if (strncmp(what, "text:", 5) == 0) {
        send_text(b, uid, what + 5, NULL);
    } else {
        send_button(b, uid, what);
    }
}

/* ---- reactions to what the bot says ---------------------------------------------------- */

/* Called with g.mu held. */
static void react_to(bot *b, const char *method, const cJSON *req)
{
    const cJSON *chat_id = cJSON_GetObjectItem(req, "chat_id");
    const cJSON *text = cJSON_GetObjectItem(req, "text");
    if (!cJSON_IsString(text))
        text = cJSON_GetObjectItem(req, "caption");
    int64_t cid = cJSON_IsNumber(chat_id) ? (int64_t)chat_id->valuedouble : 0;
    /* the referral screen: remember the code for the next user */
    const char *p = cJSON_IsString(text) ? strstr(text->valuestring, "/start ") : NULL;
    if (p != NULL && cid >= 100000 && cid < 100000 + g.users)
        snprintf(b->refcode[cid - 100000], 16, "%.12s", p + 7);
    /* the admin's receipt notice: approve it (queued by the caller) */
    (void)method;
}

/* Approve buttons in a reply to the admin chat, as data strings into out. */
static int approvals(const cJSON *req, char out[4][32])
{
    int n = 0;
    const cJSON *rows = cJSON_GetObjectItem(cJSON_GetObjectItem(req, "reply_markup"),
                                            "inline_keyboard");
    const cJSON *row, *btn;
    cJSON_ArrayForEach(row, rows) cJSON_ArrayForEach(btn, row)
    {
        const cJSON *d = cJSON_GetObjectItem(btn, "callback_data");
        if (n < 4 && cJSON_IsString(d) && strncmp(d->valuestring, "approve:", 8) == 0)
            snprintf(out[n++], 32, "%s", d->valuestring);
    }
    return n;
}

/* ---- the HTTP server ------------------------------------------------------------------- */

static bot *bot_of(const char *token)
{
    for (int i = 0; i < g.nbots; i++)
        if (strcmp(g.bots[i].token, token) == 0)
            return &g.bots[i];
    return NULL;
}

static void get_updates(bot *b, const cJSON *req, ts_buf *out)
{
    const cJSON *o = cJSON_GetObjectItem(req, "offset"), *t = cJSON_GetObjectItem(req, "timeout"),
                *l = cJSON_GetObjectItem(req, "limit");
    int64_t offset = cJSON_IsNumber(o) ? (int64_t)o->valuedouble : 0;
    int timeout = cJSON_IsNumber(t) ? (int)t->valuedouble : 0, limit = cJSON_IsNumber(l) ? (int)l->valuedouble : 100;
    if (timeout > 50)
        timeout = 50;
    struct timespec until;
    clock_gettime(CLOCK_REALTIME, &until);
    until.tv_sec += timeout;
    pthread_mutex_lock(&g.mu);
    while (b->head < b->tail && b->q[b->head % QUEUE_MAX].id < offset) {   /* confirmed */
        free(b->q[b->head % QUEUE_MAX].json);
        b->head++;
        g.confirmed++;
        g.last_confirm_ms = ts_clock_ms();
        pthread_cond_broadcast(&g.cv);
    }
    while (b->head == b->tail && !stopping &&
           pthread_cond_timedwait(&g.cv, &g.mu, &until) != ETIMEDOUT)
        ;
    ts_buf_puts(out, "{\"ok\":true,\"result\":[");
    for (int64_t i = b->head, k = 0; i < b->tail && k < limit; i++, k++)
        ts_buf_printf(out, "%s%s", k ? "," : "", b->q[i % QUEUE_MAX].json);
    ts_buf_puts(out, "]}");
    if (b->head < b->tail && g.first_poll_ms == 0)
        g.first_poll_ms = ts_clock_ms();
    pthread_mutex_unlock(&g.mu);
}

static int telegram(const char *token, const char *method, const char *body, ts_buf *out)
{
    bot *b = bot_of(token);
    cJSON *req = cJSON_Parse(body);
    int status = 200;
    if (b == NULL || req == NULL) {
        pthread_mutex_lock(&g.mu);
        g.errors++;
        pthread_mutex_unlock(&g.mu);
        ts_buf_puts(out, "{\"ok\":false,\"error_code\":401,\"description\":\"Unauthorized\"}");
        status = b == NULL ? 401 : 400;
    } else if (strcmp(method, "getUpdates") == 0) {
        get_updates(b, req, out);
    } else {
        char approve[4][32];
        int n = 0;
        pthread_mutex_lock(&g.mu);
        g.replied++;
        if (g.replies != NULL)
            fprintf(g.replies, "%.6s %s %s\n", token, method, body);
        react_to(b, method, req);
        const cJSON *cid = cJSON_GetObjectItem(req, "chat_id");
        if (cJSON_IsNumber(cid) && (int64_t)cid->valuedouble == g.admin)
            n = approvals(req, approve);
        int64_t mid = ++g.msg_id;
        pthread_mutex_unlock(&g.mu);
        for (int i = 0; i < n; i++)
            send_button(b, g.admin, approve[i]);
        if (strcmp(method, "answerCallbackQuery") == 0)
            ts_buf_puts(out, "{\"ok\":true,\"result\":true}");
        else
            ts_buf_printf(out, "{\"ok\":true,\"result\":{\"message_id\":%" PRId64 ",\"date\":0,"
                               "\"chat\":{\"id\":0,\"type\":\"private\"}}}", mid);
    }
    cJSON_Delete(req);
    return status;
}

static int zarinpal(const char *path, const char *body, ts_buf *out)
{
    cJSON *req = cJSON_Parse(body);
    const cJSON *cb = cJSON_GetObjectItem(req, "callback_url"),
                *auth = cJSON_GetObjectItem(req, "authority");
    pthread_mutex_lock(&g.mu);
    if (strstr(path, "/request.json") != NULL) {
        char a[40];
        snprintf(a, sizeof a, "A%035" PRId64, ++g.npay);
        /* the payer pays at once: the gateway calls the bot back (loopback only) */
        if (cJSON_IsString(cb) && strncmp(cb->valuestring, "http://127.0.0.1:", 17) == 0 &&
            g.nreacts < REACT_MAX)
            snprintf(g.reacts[g.nreacts++].url, sizeof g.reacts[0].url,
                     "%s?Authority=%s&Status=OK", cb->valuestring, a);
        ts_buf_printf(out, "{\"data\":{\"code\":100,\"message\":\"Success\",\"authority\":\"%s\","
                           "\"fee_type\":\"Merchant\",\"fee\":0},\"errors\":[]}", a);
    } else if (strstr(path, "/verify.json") != NULL && cJSON_IsString(auth)) {
        ts_buf_printf(out, "{\"data\":{\"code\":100,\"message\":\"Verified\",\"ref_id\":%s,"
                           "\"card_pan\":\"502229******5995\",\"fee\":0},\"errors\":[]}",
                      auth->valuestring + strspn(auth->valuestring, "A0"));
    } else {
        g.errors++;
        ts_buf_puts(out, "{\"data\":[],\"errors\":{\"code\":-9,\"message\":\"bad request\"}}");
    }
    pthread_mutex_unlock(&g.mu);
    cJSON_Delete(req);
    return 200;
}

/* Every request: the Bot API under /bot<token>/, Zarinpal under /pg/v4/payment/. */
static int on_call(void *arg, const char *url, const char *body, ts_buf *out)
{
    (void)arg;
    const char *slash = strncmp(url, "/bot", 4) == 0 ? strchr(url + 4, '/') : NULL;
    if (slash != NULL && (size_t)(slash - url - 4) < sizeof g.bots[0].token) {
        char token[128];
        memcpy(token, url + 4, (size_t)(slash - url - 4));
        token[slash - url - 4] = '\0';
        return telegram(token, slash + 1, body, out);
    }
    if (strncmp(url, "/pg/v4/payment/", 15) == 0)
        return zarinpal(url, body, out);
    ts_buf_puts(out, "{}");
    return 404;
}

/* ---- main ------------------------------------------------------------------------------ */

static size_t discard(char *p, size_t s, size_t n, void *arg) { (void)p, (void)arg; return s * n; }

/* Make the Zarinpal callbacks the gateway owes (outside the server's threads). */
static void run_reactions(CURL *c)
{
    react r[16];
    int n;
    pthread_mutex_lock(&g.mu);
    n = g.nreacts < 16 ? g.nreacts : 16;
    memcpy(r, g.reacts, (size_t)n * sizeof r[0]);
    memmove(g.reacts, g.reacts + n, (size_t)(g.nreacts - n) * sizeof r[0]);
    g.nreacts -= n;
    pthread_mutex_unlock(&g.mu);
    for (int i = 0; i < n; i++) {
        curl_easy_setopt(c, CURLOPT_URL, r[i].url);
        if (curl_easy_perform(c) != CURLE_OK) {
            pthread_mutex_lock(&g.mu);
            g.errors++;
            pthread_mutex_unlock(&g.mu);
        }
    }
}

/* Serve until the bot confirmed every update sent, or until `until`. */
static void drain(CURL *c, long long until)
{
    while (!stopping && ts_clock_ms() < until) {
        pthread_mutex_lock(&g.mu);
        int done = g.confirmed >= g.sent;
        pthread_mutex_unlock(&g.mu);
        if (done)
            break;
        run_reactions(c);
        sleep_ms(1);
    }
}

static int usage(void)
{
    fprintf(stderr, "usage: ts-traffic --token T [--token T2 ...] [--port P] [--users N] "
                    "[--rate R] [--duration S] [--count C] [--preload N] [--mix full|start-buy] "
                    "[--admin ID] [--replies FILE]\n");
    return 2;
}

static int num_arg(const char *s, long long lo, long long hi, long long *out)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || *end || v < lo || v > hi)
        return -1;
    return *out = v, 0;
}

int main(int argc, char **argv)
{
    long long port = 0, v;
    const char *replies = NULL;
    g.users = 20, g.rate = 50, g.duration = 10, g.admin = 9000;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *val = i + 1 < argc ? argv[i + 1] : NULL;
        if (val == NULL)
            return usage();
        i++;
        if (strcmp(a, "--token") == 0 && g.nbots < MAX_BOTS && strlen(val) < sizeof g.bots[0].token)
            snprintf(g.bots[g.nbots++].token, sizeof g.bots[0].token, "%s", val);
        else if (strcmp(a, "--port") == 0 && num_arg(val, 0, 65535, &port) == 0)
            ;
        else if (strcmp(a, "--users") == 0 && num_arg(val, 1, MAX_USERS, &v) == 0)
            g.users = (int)v;
        else if (strcmp(a, "--rate") == 0 && num_arg(val, 1, MAX_RATE, &v) == 0)
            g.rate = (int)v;
        else if (strcmp(a, "--duration") == 0 && num_arg(val, 1, MAX_DURATION, &v) == 0)
            g.duration = (int)v;
        else if (strcmp(a, "--count") == 0 && num_arg(val, 1, 100000000, &v) == 0)
            g.count = v;
        else if (strcmp(a, "--preload") == 0 && num_arg(val, 1, QUEUE_MAX, &v) == 0)
            g.preload = (int)v;
        else if (strcmp(a, "--admin") == 0 && num_arg(val, 1, INT64_MAX, &v) == 0)
            g.admin = v;
        else if (strcmp(a, "--mix") == 0 && (strcmp(val, "full") == 0 || strcmp(val, "start-buy") == 0))
            g.start_buy = strcmp(val, "start-buy") == 0;
        else if (strcmp(a, "--replies") == 0)
            replies = val;
        else
            return usage();
    }
    if (g.nbots == 0)
        return usage();
    if (replies != NULL && (g.replies = fopen(replies, "w")) == NULL)
        return fprintf(stderr, "ts-traffic: cannot write %s\n", replies), 1;
    for (int i = 0; i < g.nbots; i++) {
        bot *b = &g.bots[i];
        b->q = calloc(QUEUE_MAX, sizeof *b->q);
        b->refcode = calloc((size_t)g.users, sizeof *b->refcode);
        b->step = calloc((size_t)g.users, sizeof *b->step);
        b->next_id = 1;
        if (b->q == NULL || b->refcode == NULL || b->step == NULL)
            return fprintf(stderr, "ts-traffic: out of memory\n"), 1;
    }
    fake_http http;
    if (fake_http_start(&http, (int)port, on_call, NULL) != 0)
        return fprintf(stderr, "ts-traffic: cannot listen on 127.0.0.1:%lld\n", port), 1;
    printf("%s\n", http.url);
    fflush(stdout);
    struct sigaction act = {.sa_handler = on_stop};
    sigemptyset(&act.sa_mask);
    sigaction(SIGTERM, &act, NULL);
    sigaction(SIGINT, &act, NULL);
    act.sa_handler = on_drain;
    sigaction(SIGUSR1, &act, NULL);
    signal(SIGPIPE, SIG_IGN);

    curl_global_init(CURL_GLOBAL_DEFAULT);
    CURL *c = curl_easy_init();
    curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
    curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, discard);
    long long start = ts_clock_ms(), end = start + (long long)g.duration * 1000;
    int64_t made = 0;
    int u = 0, k = 0;
    if (g.preload > 0) {   /* everything at once; done when the bot confirmed it all */
        for (; made < g.preload; made++, k = (k + 1) % g.nbots, u = k == 0 ? (u + 1) % g.users : u)
            step_user(&g.bots[k], u);
        drain(c, end);
    } else {
        while (!stopping && !draining && ts_clock_ms() < end && (g.count == 0 || made < g.count)) {
            long long due = start + made * 1000 / g.rate;
            if (ts_clock_ms() < due) {
                run_reactions(c);
                sleep_ms(due - ts_clock_ms() > 5 ? 5 : 1);
                continue;
            }
            step_user(&g.bots[k], u);
            made++;
            if ((k = (k + 1) % g.nbots) == 0)
                u = (u + 1) % g.users;
        }
        if (draining)
            drain(c, ts_clock_ms() + 60000);
        run_reactions(c);
        sleep_ms(500);   /* the last replies */
    }
    pthread_mutex_lock(&g.mu);
    stopping = 1;
    pthread_cond_broadcast(&g.cv);
    double secs = g.last_confirm_ms > g.first_poll_ms && g.first_poll_ms
                      ? (double)(g.last_confirm_ms - g.first_poll_ms) / 1000.0 : 0;
    printf("updates_sent=%" PRId64 " confirmed=%" PRId64 " replies=%" PRId64 " errors=%" PRId64
           " seconds=%.3f updates_per_s=%.0f\n", g.sent, g.confirmed, g.replied, g.errors, secs,
           secs > 0 ? (double)g.confirmed / secs : 0.0);
    pthread_mutex_unlock(&g.mu);
    fflush(stdout);
    fake_http_stop(&http);
    curl_easy_cleanup(c);
    curl_global_cleanup();
    if (g.replies != NULL)
        fclose(g.replies);
    for (int i = 0; i < g.nbots; i++) {
        for (int64_t j = g.bots[i].head; j < g.bots[i].tail; j++)
            free(g.bots[i].q[j % QUEUE_MAX].json);
        free(g.bots[i].q);
        free(g.bots[i].refcode);
        free(g.bots[i].step);
    }
    return g.errors > 0;
}
