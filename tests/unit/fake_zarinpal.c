/* fake_zarinpal.c: the local Zarinpal gateway of the tests (see fake_zarinpal.h). */
#include "fake_zarinpal.h"

#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fake_telegram.h"
#include "ts_buf.h"

#define MAX_CALLS 64
#define MAX_PAYMENTS 64

typedef struct payment {
    char authority[40];
    long long amount;
    int unpaid, verified;
} payment;

struct fake_zarinpal {
    fake_http http;
    pthread_mutex_t mu;
    char endpoint[MAX_CALLS][16];
    char *body[MAX_CALLS];
    int ncalls;
    payment pay[MAX_PAYMENTS];
    int npay;
    struct { char endpoint[16]; int status, code, times; } fail[4];
    int nfail;
};

static int injected(fake_zarinpal *fz, const char *endpoint, ts_buf *out)
{
    for (int i = 0; i < fz->nfail; i++)
        if (fz->fail[i].times > 0 && strcmp(fz->fail[i].endpoint, endpoint) == 0) {
            fz->fail[i].times--;
            if (fz->fail[i].code != 0)
                ts_buf_printf(out, "{\"data\":[],\"errors\":{\"code\":%d,\"message\":\"Injected "
                                   "failure\",\"validations\":[]}}", fz->fail[i].code);
            else
                ts_buf_puts(out, "<html>Bad Gateway</html>");
            return fz->fail[i].status;
        }
    return 0;
}

static int refuse(ts_buf *out, int code, const char *message)
{
    ts_buf_printf(out, "{\"data\":[],\"errors\":{\"code\":%d,\"message\":\"%s\","
                       "\"validations\":[]}}", code, message);
    return code == -9 ? 400 : 200;
}

static int answer(fake_zarinpal *fz, const char *endpoint, const cJSON *req, ts_buf *out)
{
    const cJSON *amount = cJSON_GetObjectItemCaseSensitive(req, "amount");
    const cJSON *merchant = cJSON_GetObjectItemCaseSensitive(req, "merchant_id");
    if (!cJSON_IsString(merchant) || strlen(merchant->valuestring) != 36 || !cJSON_IsNumber(amount))
        return refuse(out, -9, "The input params invalid, validation error.");
    if (strcmp(endpoint, "request") == 0) {
        if (fz->npay == MAX_PAYMENTS)
            abort();
        payment *p = &fz->pay[fz->npay++];
        snprintf(p->authority, sizeof p->authority, "A%035d", fz->npay);
        p->amount = (long long)amount->valuedouble;
        ts_buf_printf(out, "{\"data\":{\"code\":100,\"message\":\"Success\",\"authority\":\"%s\","
                           "\"fee_type\":\"Merchant\",\"fee\":0},\"errors\":[]}", p->authority);
        return 200;
    }
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(req, "authority");
    for (int i = 0; i < fz->npay && cJSON_IsString(a); i++) {
        payment *p = &fz->pay[i];
        if (strcmp(p->authority, a->valuestring) != 0)
            continue;
        if (p->amount != (long long)amount->valuedouble)
            return refuse(out, -50, "Session is not valid, amounts values is not the same.");
        if (p->unpaid)
            return refuse(out, -51, "Session is not valid, session is not active paid try.");
        ts_buf_printf(out, "{\"data\":{\"code\":%d,\"message\":\"%s\",\"card_pan\":"
                           "\"502229******5995\",\"ref_id\":%d,\"fee_type\":\"Merchant\","
                           "\"fee\":0},\"errors\":[]}",
                      p->verified ? 101 : 100, p->verified ? "Verified" : "Paid", 9000 + i);
        p->verified = 1;
        return 200;
    }
    return refuse(out, -9, "The input params invalid, validation error.");
}

static int on_call(void *arg, const char *path, const char *body, ts_buf *out)
{
    fake_zarinpal *fz = arg;
    static const char prefix[] = "/pg/v4/payment/";
    char endpoint[16] = "";
    if (strncmp(path, prefix, sizeof prefix - 1) == 0)
        sscanf(path + sizeof prefix - 1, "%15[a-z]", endpoint);
    if (strcmp(endpoint, "request") != 0 && strcmp(endpoint, "verify") != 0)
        return refuse(out, -9, "not found"), 404;
    pthread_mutex_lock(&fz->mu);
    if (fz->ncalls < MAX_CALLS) {
        snprintf(fz->endpoint[fz->ncalls], sizeof fz->endpoint[0], "%s", endpoint);
        fz->body[fz->ncalls++] = strdup(body);
    }
    int status = injected(fz, endpoint, out);
    if (status == 0) {
        cJSON *req = cJSON_Parse(body);
        status = answer(fz, endpoint, req, out);
        cJSON_Delete(req);
    }
    pthread_mutex_unlock(&fz->mu);
    return status;
}

fake_zarinpal *fake_zarinpal_start(void)
{
    fake_zarinpal *fz = calloc(1, sizeof *fz);
    pthread_mutex_init(&fz->mu, NULL);
    if (fake_http_start(&fz->http, 0, on_call, fz) != 0) {
        fake_zarinpal_stop(fz);
        return NULL;
    }
    return fz;
}

void fake_zarinpal_stop(fake_zarinpal *fz)
{
    if (fz == NULL)
        return;
    fake_http_stop(&fz->http);
    for (int i = 0; i < fz->ncalls; i++)
        free(fz->body[i]);
    pthread_mutex_destroy(&fz->mu);
    free(fz);
}

const char *fake_zarinpal_url(const fake_zarinpal *fz) { return fz->http.url; }

void fake_zarinpal_fail(fake_zarinpal *fz, const char *endpoint, int http_status, int code,
                        int times)
{
    pthread_mutex_lock(&fz->mu);
    if (fz->nfail == 4)
        abort();
    snprintf(fz->fail[fz->nfail].endpoint, sizeof fz->fail[0].endpoint, "%s", endpoint);
    fz->fail[fz->nfail].status = http_status;
    fz->fail[fz->nfail].code = code;
    fz->fail[fz->nfail++].times = times;
    pthread_mutex_unlock(&fz->mu);
}

void fake_zarinpal_set_paid(fake_zarinpal *fz, const char *authority, int paid)
{
    pthread_mutex_lock(&fz->mu);
    for (int i = 0; i < fz->npay; i++)
        if (strcmp(fz->pay[i].authority, authority) == 0)
            fz->pay[i].unpaid = !paid;
    pthread_mutex_unlock(&fz->mu);
}

int fake_zarinpal_count(fake_zarinpal *fz, const char *endpoint)
{
    int n = 0;
    pthread_mutex_lock(&fz->mu);
    for (int i = 0; i < fz->ncalls; i++)
        n += strcmp(fz->endpoint[i], endpoint) == 0;
    pthread_mutex_unlock(&fz->mu);
    return n;
}

cJSON *fake_zarinpal_body(fake_zarinpal *fz, const char *endpoint, int nth)
{
    int total = fake_zarinpal_count(fz, endpoint), want = nth < 0 ? total + nth : nth;
    cJSON *out = NULL;
    pthread_mutex_lock(&fz->mu);
    for (int i = 0, k = 0; i < fz->ncalls && out == NULL; i++)
        if (strcmp(fz->endpoint[i], endpoint) == 0 && k++ == want)
            out = cJSON_Parse(fz->body[i]);
    pthread_mutex_unlock(&fz->mu);
    return out;
}
