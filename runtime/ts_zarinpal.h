/*
 * ts_zarinpal.h: the Zarinpal payment gateway (REST v4), request and verify.
 *
 *   POST {base}/pg/v4/payment/request.json {merchant_id, amount, callback_url, description}
 *        -> data.code 100, data.authority; the payer goes to {base}/pg/StartPay/{authority}
 *   POST {base}/pg/v4/payment/verify.json  {merchant_id, authority, amount}
 *        -> data.code 100 (verified now) or 101 (verified before), data.ref_id
 *
 * The merchant id is per call (each bot has its own) and never appears in a
 * log or an error in full. Network errors and 5xx are retried (ts_httpc); a
 * verify is safe to repeat (101). Amounts are in the gateway's unit (IRR).
 */
#ifndef TS_ZARINPAL_H
#define TS_ZARINPAL_H

#include <stddef.h>
#include <stdint.h>

#include "ts_error.h"
#include "ts_httpc.h"

#define TS_ZP_DEFAULT_URL "https://payment.zarinpal.com"
#define TS_ZP_AUTHORITY_MAX 64
#define TS_ZP_CODE_NOT_PAID (-51)   /* verify: the payer did not pay */

typedef struct ts_zp ts_zp;

/* base NULL = TS_ZP_DEFAULT_URL; opts NULL = ts_httpc defaults. */
int ts_zp_open(const char *base, const ts_httpc_opts *opts, ts_zp **out, ts_error *err);
void ts_zp_close(ts_zp *zp);

/* A new payment; its authority into authority[TS_ZP_AUTHORITY_MAX + 1]. */
int ts_zp_request(ts_zp *zp, const char *merchant, int64_t amount, const char *callback_url,
                  const char *description, char *authority, ts_error *err);

/* Where the payer pays: {base}/pg/StartPay/{authority}. */
int ts_zp_start_pay_url(const ts_zp *zp, const char *authority, char *out, size_t n);

typedef struct ts_zp_verified {
    int64_t ref_id;
    int already;     /* code 101: verified before (a repeated callback) */
} ts_zp_verified;

/* Confirm a payment. A payment that was not paid fails with TS_E_STATE and the
   gateway's code in the message. */
int ts_zp_verify(ts_zp *zp, const char *merchant, const char *authority, int64_t amount,
                 ts_zp_verified *out, ts_error *err);

#endif
