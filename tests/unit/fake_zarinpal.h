/*
 * fake_zarinpal.h: a local Zarinpal v4 gateway for tests (the fake_http server
 * of fake_telegram.h).
 *
 * request.json issues authorities A000...0001, A000...0002, ...; verify.json
 * answers 100 with a ref_id the first time an issued authority is verified
 * with its amount and 101 (same ref_id) after that; an unknown authority is
 * code -9, a different amount -50. An issued payment counts as paid unless
 * the test says otherwise (fake_zarinpal_set_paid): unpaid, verify answers
 * -51. Failures can be injected per endpoint: the
 * next `times` calls answer http_status with errors.code = code (code 0: an
 * empty 5xx-style body). Every call is recorded.
 */
#ifndef FAKE_ZARINPAL_H
#define FAKE_ZARINPAL_H

#include <cJSON.h>

typedef struct fake_zarinpal fake_zarinpal;

fake_zarinpal *fake_zarinpal_start(void);
void fake_zarinpal_stop(fake_zarinpal *fz);
const char *fake_zarinpal_url(const fake_zarinpal *fz);

/* endpoint: "request" or "verify". */
void fake_zarinpal_fail(fake_zarinpal *fz, const char *endpoint, int http_status, int code,
                        int times);
/* Whether the payer paid the issued authority (1 from its request on). */
void fake_zarinpal_set_paid(fake_zarinpal *fz, const char *authority, int paid);
int fake_zarinpal_count(fake_zarinpal *fz, const char *endpoint);
/* Body of the nth call to endpoint (-1 = last); caller frees. */
cJSON *fake_zarinpal_body(fake_zarinpal *fz, const char *endpoint, int nth);

#endif
