/*
 * ts_api.h: the management API under /api/v1/ on ts-bot's HTTP endpoint
 * (docs/openapi.yaml): bots, their feature flags and configuration, their
 * wallets, plans and payment cards, JSON in and out. Each operation is
 * ts-admin's (ts_tenant.h). The bot and card lists are keyset pages,
 * ?limit=N&after=ID (ts_tenant.h); any other query is 400.
 *
 * Authentication: the API token in X-API-Token or Authorization: Bearer,
 * hashed with SHA-256 and compared with the stored hash in constant time
 * (ts_repo_bot_by_api_token). The master bot's token manages every bot; a
 * tenant's token only its own, and not the operations that make, remove,
 * activate or deactivate bots (403). After TS_API_FREE_FAILURES failed
 * authentications from one address, each further attempt from it within a
 * delay that doubles per failure (1 s up to 60 s) is answered 429 with
 * Retry-After without looking at the token; a success clears the address.
 *
 * Every request that changes something leaves a row in ts_audit, actor
 * "api:<bot id>", the method and path as the command, the body's member names
 * as the arguments: never a value, so never a token or a card number.
 *
 * Handlers run on the event loop's thread (ts_http.h): one request at a time,
 * each operation its own unit of work.
 */
#ifndef TS_API_H
#define TS_API_H

#include "ts_http.h"
#include "ts_shim.h"

#define TS_API_FREE_FAILURES 5

typedef struct ts_api ts_api;

ts_api *ts_api_new(ts_shim *sh);
void ts_api_free(ts_api *api);
/* The ts_api_fn for ts_http_opts (arg: the ts_api). */
void ts_api_handle(void *arg, const ts_http_request *req, ts_http_reply *reply);

#endif
