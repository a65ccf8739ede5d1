/* ts_zarinpal.c: Zarinpal v4 request and verify over ts_httpc. */
#include "ts_zarinpal.h"

#include <cJSON.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "ts_log.h"

struct ts_zp {
    char base[256];
    ts_httpc *http;
};

int ts_zp_open(const char *base, const ts_httpc_opts *opts, ts_zp **out, ts_error *err)
{
    ts_zp *zp = calloc(1, sizeof *zp);
    if (zp == NULL)
        return ts_fail(err, TS_E_NOMEM, "out of memory opening the Zarinpal client");
    base = base ? base : TS_ZP_DEFAULT_URL;
    size_t n = strlen(base);
    while (n > 0 && base[n - 1] == '/')
        n--;
    if (n >= sizeof zp->base) {
        free(zp);
        return ts_fail(err, TS_E_USAGE, "Zarinpal base URL is longer than %zu bytes",
                       sizeof zp->base - 1);
    }
    memcpy(zp->base, base, n);
    if (ts_httpc_open(opts, &zp->http, err) != 0) {
        free(zp);
        return -1;
    }
    return *out = zp, 0;
}

void ts_zp_close(ts_zp *zp)
{
    if (zp == NULL)
        return;
    ts_httpc_close(zp->http);
    free(zp);
}

int ts_zp_start_pay_url(const ts_zp *zp, const char *authority, char *out, size_t n)
{
    int k = snprintf(out, n, "%s/pg/StartPay/%s", zp->base, authority);
    return k < 0 || (size_t)k >= n ? -1 : 0;
}

/*
 * POST params (consumed) to /pg/v4/payment/<what>.json; 0 with *data (the
 * reply's data object, caller frees) when data.code is 100 or 101.
 */
static int call(ts_zp *zp, const char *what, const char *merchant, cJSON *params, cJSON **data,
                int *code, ts_error *err)
{
    char url[400], label[96], red[32];
    snprintf(label, sizeof label, "zarinpal %s (merchant %s)", what,
             ts_redact(merchant, red, sizeof red));
    snprintf(url, sizeof url, "%s/pg/v4/payment/%s.json", zp->base, what);
    char *body = params ? cJSON_PrintUnformatted(params) : NULL;
    cJSON_Delete(params);
    if (body == NULL)
        return ts_fail(err, TS_E_NOMEM, "%s: out of memory", label);
    ts_httpc_resp resp = {0};
    int rc = ts_httpc_post_json(zp->http, url, label, body, NULL, &resp, err);
    free(body);
    cJSON *j = rc == 0 ? cJSON_ParseWithLength(resp.body.s, resp.body.len) : NULL;
    ts_buf_free(&resp.body);
    if (rc != 0)
        return -1;
    cJSON *d = cJSON_GetObjectItemCaseSensitive(j, "data");
    const cJSON *c = cJSON_GetObjectItemCaseSensitive(d, "code");
    if (cJSON_IsNumber(c) && (c->valueint == 100 || c->valueint == 101)) {
        *code = c->valueint;
        *data = cJSON_DetachItemViaPointer(j, d);
        cJSON_Delete(j);
        return 0;
    }
    /* refusals come as errors: {code, message} (data is then an empty list) */
    const cJSON *e = cJSON_GetObjectItemCaseSensitive(j, "errors");
    const cJSON *ec = cJSON_GetObjectItemCaseSensitive(e, "code");
    const cJSON *em = cJSON_GetObjectItemCaseSensitive(e, "message");
    long zc = cJSON_IsNumber(ec) ? (long)ec->valuedouble : cJSON_IsNumber(c) ? c->valueint : 0;
    const char *msg = cJSON_IsString(em) ? em->valuestring : "no message";
    if (resp.status >= 500 || j == NULL)
        rc = ts_fail(err, TS_E_CONN, "%s: HTTP %ld%s: the gateway failed, retry later", label,
                     resp.status, j == NULL ? " with a body that is not JSON" : "");
    else if (zc == TS_ZP_CODE_NOT_PAID)
        rc = ts_fail(err, TS_E_STATE, "%s: code %ld: %s (the payer did not pay)", label, zc, msg);
    else
        rc = ts_fail(err, TS_E_INVALID, "%s: code %ld: %s (check the merchant id and amount)",
                     label, zc, msg);
    cJSON_Delete(j);
    return rc;
}

static cJSON *params(const char *merchant, int64_t amount)
{
    cJSON *p = cJSON_CreateObject();
    cJSON_AddStringToObject(p, "merchant_id", merchant);
    cJSON_AddNumberToObject(p, "amount", (double)amount);
    return p;
}

int ts_zp_request(ts_zp *zp, const char *merchant, int64_t amount, const char *callback_url,
                  const char *description, char *authority, ts_error *err)
{
    cJSON *p = params(merchant, amount), *data;
    int code;
    cJSON_AddStringToObject(p, "callback_url", callback_url);
    cJSON_AddStringToObject(p, "description", description);
    if (call(zp, "request", merchant, p, &data, &code, err) != 0)
        return -1;
    const cJSON *a = cJSON_GetObjectItemCaseSensitive(data, "authority");
    int ok = cJSON_IsString(a) && *a->valuestring && strlen(a->valuestring) <= TS_ZP_AUTHORITY_MAX;
    if (ok)
        strcpy(authority, a->valuestring);
    cJSON_Delete(data);
    return ok ? 0 : ts_fail(err, TS_E_INVALID, "zarinpal request: code 100 without a usable "
                                               "authority: check the Zarinpal base URL");
}

int ts_zp_verify(ts_zp *zp, const char *merchant, const char *authority, int64_t amount,
                 ts_zp_verified *out, ts_error *err)
{
    cJSON *p = params(merchant, amount), *data;
    int code;
    cJSON_AddStringToObject(p, "authority", authority);
    if (call(zp, "verify", merchant, p, &data, &code, err) != 0)
        return -1;
    const cJSON *r = cJSON_GetObjectItemCaseSensitive(data, "ref_id");
    out->ref_id = cJSON_IsNumber(r) ? (int64_t)r->valuedouble : 0;
    out->already = code == 101;
    cJSON_Delete(data);
    return 0;
}
