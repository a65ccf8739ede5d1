/* ts_admin.c: the ts-admin commands: parsing, validation, the units of work, output. */
#include "ts_admin.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ts_log.h"
#include "ts_repo.h"
#include "ts_tg.h"

const char ts_admin_usage[] =
    "usage: ts-admin [OPTIONS] COMMAND\n"
    "\n"
    "Bots:\n"
    "  bot create --name N [--token T] [FIELDS]  register a bot; prints its API token once\n"
    "                    (only its SHA-256 is stored); the Telegram token from --token or\n"
    "                    $TS_TENANT_TOKEN\n"
    "  bot list                      every bot\n"
    "  bot show ID                   one bot (secrets masked)\n"
    "  bot update ID FIELDS          change fields (--token: a new Telegram token)\n"
    "  bot activate ID, bot deactivate ID   served by ts-bot or not (at its next refresh)\n"
    "  bot delete ID --confirm       a tenant bot and, by cascade, every row it owns; the\n"
    "                                master bot is refused\n"
    "Feature flags and configuration of a bot:\n"
    "  flags list ID, flags set ID KEY on|off [JSON], flags unset ID KEY\n"
    "  config list ID, config set ID KEY JSON, config unset ID KEY\n"
    "Wallet:\n"
    "  wallet show ID                balance, traffic sold and consumed, purchases, users\n"
    "\n"
    "Fields (bot create, bot update):\n"
    "  --name N  --language L  --support USERNAME  --admin-chat ID  --admin-topic ID\n"
    "  --receipt-topic ID  --notify-group ID  --notify-topic ID  --card-to-card on|off\n"
    "  --zarinpal on|off  --zarinpal-sandbox on|off  --zarinpal-merchant ID\n"
    "\n"
    "Stores and identity (as ts-migrate's):\n"
    "  --legacy URL, --new URL   (default $TS_LEGACY_URL, $TS_NEW_URL)\n"
    "  --config FILE     JSON {\"legacy\",\"new\",\"manifest\",\"actor\",\"master_token\"}\n"
    "  --manifest FILE, --actor NAME, --reason TEXT (recorded in the audit)\n"
    "  --json            results as JSON\n"
    "  --help, --version\n"
    "\n"
    "Exit codes:\n"
    "  0  done                 3  refused: the master bot, a duplicate Telegram token, delete\n"
    "  1  failed (see message)    without --confirm, a stage that does not serve tenants yet\n"
    "  2  usage or bad input   4  no such bot\n"
    "  7  a store is unreachable or busy: retry\n";

enum {
    O_NAME = TS_OPT_COMMON_END, O_TOKEN, O_LANG, O_SUPPORT, O_ADMIN_CHAT, O_ADMIN_TOPIC,
    O_RECEIPT_TOPIC, O_NOTIFY_GROUP, O_NOTIFY_TOPIC, O_C2C, O_ZP, O_ZP_SANDBOX, O_ZP_MERCHANT,
    O_CONFIRM
};

const struct option ts_admin_longopts[] = {
    TS_MARGS_COMMON_OPTIONS,
    {"name", 1, 0, O_NAME}, {"token", 1, 0, O_TOKEN}, {"language", 1, 0, O_LANG},
    {"support", 1, 0, O_SUPPORT}, {"admin-chat", 1, 0, O_ADMIN_CHAT},
    {"admin-topic", 1, 0, O_ADMIN_TOPIC}, {"receipt-topic", 1, 0, O_RECEIPT_TOPIC},
    {"notify-group", 1, 0, O_NOTIFY_GROUP}, {"notify-topic", 1, 0, O_NOTIFY_TOPIC},
    {"card-to-card", 1, 0, O_C2C}, {"zarinpal", 1, 0, O_ZP},
    {"zarinpal-sandbox", 1, 0, O_ZP_SANDBOX}, {"zarinpal-merchant", 1, 0, O_ZP_MERCHANT},
    {"confirm", 0, 0, O_CONFIRM}, {0, 0, 0, 0},
};

/* ---- input ------------------------------------------------------------------------------ */

/* Text for a column of at most max characters: well-formed UTF-8, no control
   characters, not empty. Quotes and the like are fine: every value is bound. */
static int check_text(const char *what, const char *s, size_t max, ts_error *err)
{
    size_t chars = 0, len = strlen(s);
    if (len == 0 || !ts_utf8_valid(s, len))
        return ts_fail(err, TS_E_INVALID, "%s: %s", what, len ? "not valid UTF-8" : "empty");
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        if (*p < 0x20 || *p == 0x7f)
            return ts_fail(err, TS_E_INVALID, "%s: control characters are not allowed", what);
        chars += (*p & 0xc0) != 0x80;
    }
    if (chars > max)
        return ts_fail(err, TS_E_INVALID, "%s: %zu characters, at most %zu", what, chars, max);
    return 0;
}

/* s is 1 to max characters, each of set. */
static int check_chars(const char *what, const char *s, const char *set, size_t max,
                       const char *expect, ts_error *err)
{
    size_t n = strlen(s);
    if (n == 0 || n > max || s[strspn(s, set)] != '\0')
        return ts_fail(err, TS_E_INVALID, "%s '%.40s': expected %s", what,
                       ts_utf8_valid(s, n) ? s : "(not UTF-8)", expect);
    return 0;
}

#define LOWER "abcdefghijklmnopqrstuvwxyz"
#define UPPER "ABCDEFGHIJKLMNOPQRSTUVWXYZ"
#define DIGITS "0123456789"

static int parse_int(const char *what, const char *s, int positive, int64_t *out, ts_error *err)
{
    char *end;
    errno = 0;
    long long v = strtoll(s, &end, 10);
    if (errno || end == s || *end || (positive && v <= 0))
        return ts_fail(err, TS_E_INVALID, "%s '%.40s': expected %s", what,
                       ts_utf8_valid(s, strlen(s)) ? s : "(not UTF-8)",
                       positive ? "a positive integer" : "an integer");
    *out = v;
    return 0;
}

static int parse_onoff(const char *what, const char *s, int *out, ts_error *err)
{
    if (strcmp(s, "on") == 0 || strcmp(s, "off") == 0) {
        *out = s[1] == 'n';
        return 0;
    }
    return ts_fail(err, TS_E_INVALID, "%s: expected on or off", what);
}

static int check_json(const char *what, const char *s, ts_error *err)
{
    cJSON *j = ts_utf8_valid(s, strlen(s)) ? cJSON_ParseWithOpts(s, NULL, 1) : NULL;
    if (j == NULL)
        return ts_fail(err, TS_E_INVALID, "%s: not a JSON text in UTF-8 (quote it for the "
                       "shell: '{\"a\": 1}', '\"text\"')", what);
    cJSON_Delete(j);
    return 0;
}

static int check_token(const char *token, ts_error *err)
{
    char red[64];
    if (!ts_tg_token_valid(token) || strlen(token) > 255)
        return ts_fail(err, TS_E_INVALID, "Telegram bot token %s is malformed: expected <bot "
                       "id>:<secret> from @BotFather", ts_redact(token, red, sizeof red));
    return 0;
}

static void add_field(ts_admin_args *a, const char *col, ts_value v)
{
    for (int i = 0; i < a->nfields; i++)
        if (strcmp(a->fields[i].col, col) == 0) {
            a->fields[i].val = v;   /* the last one given wins, as for any option */
            return;
        }
    a->fields[a->nfields++] = (ts_set){col, v};
}

/* One field option into a. 1 taken, 0 not a field option, -1 bad value. */
static int field_option(ts_admin_args *a, int c, const char *arg, ts_error *err)
{
    static const struct { int opt; const char *col, *what; } ints[] = {
        {O_ADMIN_CHAT, "admin_chat_id", "--admin-chat"},
        {O_ADMIN_TOPIC, "admin_topic_id", "--admin-topic"},
        {O_RECEIPT_TOPIC, "card_receipt_topic_id", "--receipt-topic"},
        {O_NOTIFY_GROUP, "notification_group_id", "--notify-group"},
        {O_NOTIFY_TOPIC, "notification_topic_id", "--notify-topic"}};
    static const struct { int opt; const char *col, *what; } bools[] = {
        {O_C2C, "card_to_card_enabled", "--card-to-card"},
        {O_ZP, "zarinpal_enabled", "--zarinpal"},
        {O_ZP_SANDBOX, "zarinpal_sandbox", "--zarinpal-sandbox"}};
    int64_t v = 0;
    int b = 0;
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        if (c != ints[i].opt)
            continue;
        if (parse_int(ints[i].what, arg, 0, &v, err))
            return -1;
        add_field(a, ints[i].col, ts_int(v));
        return 1;
    }
    for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++) {
        if (c != bools[i].opt)
            continue;
        if (parse_onoff(bools[i].what, arg, &b, err))
            return -1;
        add_field(a, bools[i].col, ts_bool(b));
        return 1;
    }
    const char *col;
    int bad;
    switch (c) {
    case O_NAME:
        col = "name";
        bad = check_text("--name", arg, 255, err);
        break;
    case O_LANG:
        col = "default_language";
        bad = check_chars("--language", arg, LOWER UPPER "-_", 5, "a language code such as "
                          "fa, en or pt-BR", err);
        break;
    case O_SUPPORT:
        col = "support_username";
        bad = check_chars("--support", arg, LOWER UPPER DIGITS "_", 64, "a Telegram username "
                          "(letters, digits, _; without @)", err);
        break;
    case O_ZP_MERCHANT:
        col = "zarinpal_merchant_id";
        bad = check_chars("--zarinpal-merchant", arg, LOWER UPPER DIGITS "-", 64, "a Zarinpal "
                          "merchant id", err);
        break;
    default:
        return 0;
    }
    if (bad)
        return -1;
    add_field(a, col, ts_text(arg));
    return 1;
}

/* What each command takes after its noun and verb. */
typedef struct command_shape {
    const char *noun, *verb;
    int id;             /* takes a bot ID */
    int key;            /* then KEY */
    int values;         /* then up to this many values (flags set: on|off [JSON]) */
    int min_values;
    int fields;         /* takes field options */
} command_shape;

static const command_shape shapes[] = {
    {"bot", "create", 0, 0, 0, 0, 1}, {"bot", "list", 0, 0, 0, 0, 0},
    {"bot", "show", 1, 0, 0, 0, 0},   {"bot", "update", 1, 0, 0, 0, 1},
    {"bot", "activate", 1, 0, 0, 0, 0}, {"bot", "deactivate", 1, 0, 0, 0, 0},
    {"bot", "delete", 1, 0, 0, 0, 0}, {"flags", "list", 1, 0, 0, 0, 0},
    {"flags", "set", 1, 1, 2, 1, 0},  {"flags", "unset", 1, 1, 0, 0, 0},
    {"config", "list", 1, 0, 0, 0, 0}, {"config", "set", 1, 1, 1, 1, 0},
    {"config", "unset", 1, 1, 0, 0, 0}, {"wallet", "show", 1, 0, 0, 0, 0},
};

static int positional(ts_admin_args *a, int argc, char **argv, const command_shape *sh,
                      ts_error *err)
{
    int at = optind + 2, left = argc - at;
    int want = sh->id + sh->key + sh->values;
    if (left < sh->id + sh->key + sh->min_values || left > want)
        return ts_fail(err, TS_E_USAGE, "%s takes %s%s%s: see --help", a->command,
                       sh->id ? "a bot ID" : "no arguments", sh->key ? " and a KEY" : "",
                       sh->values == 2 ? ", on|off and optionally a JSON config"
                       : sh->values ? " and a JSON value" : "");
    if (sh->id && parse_int("bot ID", argv[at++], 1, &a->bot_id, err))
        return -1;
    if (sh->key) {
        a->key = argv[at++];
        int flag = strcmp(sh->noun, "flags") == 0;
        if (check_chars(flag ? "flag KEY" : "config KEY", a->key, LOWER UPPER DIGITS "_.-",
                        flag ? 64 : 100, "letters, digits, '_', '.' and '-'", err))
            return -1;
    }
    if (sh->values == 2) {   /* flags set ID KEY on|off [JSON] */
        a->value = argv[at++];
        int on;
        if (parse_onoff("flags set", a->value, &on, err))
            return -1;
        a->json = at < argc ? argv[at] : NULL;
    } else if (sh->values == 1) {
        a->json = argv[at];
    }
    return a->json ? check_json(a->command, a->json, err) : 0;
}

int ts_admin_parse(int argc, char **argv, ts_admin_args *a, ts_error *err)
{
    int c, taken;
    memset(a, 0, sizeof *a);
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, "h", ts_admin_longopts, NULL)) != -1) {
        if ((taken = ts_margs_common(&a->m, c, optarg, err)) < 0 ||
            (!taken && (taken = field_option(a, c, optarg, err)) < 0))
            return -1;
        if (taken)
            continue;
        switch (c) {
        case O_TOKEN: a->token = optarg; break;
        case O_CONFIRM: a->confirm = 1; break;
        case 'h': a->m.help = 1; break;
        default:
            return ts_fail(err, TS_E_USAGE, "unknown or incomplete option '%s': see --help",
                           argv[optind - 1]);
        }
    }
    if (a->m.help || a->m.version)
        return 0;
    if (argc - optind < 2)
        return ts_fail(err, TS_E_USAGE, "no command: ts-admin bot|flags|config|wallet ...; "
                       "see --help");
    const command_shape *sh = NULL;
    for (size_t i = 0; i < sizeof shapes / sizeof shapes[0] && sh == NULL; i++)
        if (strcmp(argv[optind], shapes[i].noun) == 0 && strcmp(argv[optind + 1], shapes[i].verb) == 0)
            sh = &shapes[i];
    if (sh == NULL)
        return ts_fail(err, TS_E_USAGE, "unknown command '%.20s %.20s': see --help",
                       argv[optind], argv[optind + 1]);
    a->noun = sh->noun;
    a->verb = sh->verb;
    snprintf(a->command, sizeof a->command, "%s %s", sh->noun, sh->verb);
    a->m.command = a->command;
    if (positional(a, argc, argv, sh, err))
        return -1;
    int create = strcmp(a->command, "bot create") == 0;
    if (create && a->token == NULL)
        a->token = getenv("TS_TENANT_TOKEN");
    if (!sh->fields && (a->nfields > 0 || a->token))
        return ts_fail(err, TS_E_USAGE, "%s takes no bot field options", a->command);
    if (create && (a->token == NULL || *a->token == '\0'))
        return ts_fail(err, TS_E_USAGE, "bot create needs the bot's Telegram token: --token T "
                       "or TS_TENANT_TOKEN");
    if (a->token && check_token(a->token, err))
        return -1;
    int named = 0;
    for (int i = 0; i < a->nfields; i++)
        named |= strcmp(a->fields[i].col, "name") == 0;
    if (create && !named)
        return ts_fail(err, TS_E_USAGE, "bot create needs --name");
    if (strcmp(a->command, "bot update") == 0 && a->nfields == 0 && a->token == NULL)
        return ts_fail(err, TS_E_USAGE, "bot update: give at least one field to change");
    if (a->confirm && strcmp(a->command, "bot delete") != 0)
        return ts_fail(err, TS_E_USAGE, "--confirm is for bot delete only");
    return ts_margs_stores(&a->m, err);
}

void ts_admin_free(ts_admin_args *a)
{
    ts_margs_free(&a->m);
}

/* ---- output ----------------------------------------------------------------------------- */

static cJSON *bot_json(const ts_bot *b)
{
    char red[64];
    cJSON *j = cJSON_CreateObject();
    cJSON_AddNumberToObject(j, "id", (double)b->id);
    cJSON_AddStringToObject(j, "name", b->name);
    cJSON_AddStringToObject(j, "telegram_bot_token", ts_redact(b->telegram_bot_token, red, sizeof red));
    cJSON_AddBoolToObject(j, "is_master", b->is_master);
    cJSON_AddBoolToObject(j, "is_active", b->is_active);
    cJSON_AddStringToObject(j, "default_language", b->default_language);
    cJSON_AddStringToObject(j, "support_username", b->support_username);
    cJSON_AddNumberToObject(j, "admin_chat_id", (double)b->admin_chat_id);
    cJSON_AddNumberToObject(j, "admin_topic_id", (double)b->admin_topic_id);
    cJSON_AddNumberToObject(j, "card_receipt_topic_id", (double)b->card_receipt_topic_id);
    cJSON_AddNumberToObject(j, "notification_group_id", (double)b->notification_group_id);
    cJSON_AddNumberToObject(j, "notification_topic_id", (double)b->notification_topic_id);
    cJSON_AddBoolToObject(j, "card_to_card_enabled", b->card_to_card_enabled);
    cJSON_AddBoolToObject(j, "zarinpal_enabled", b->zarinpal_enabled);
    cJSON_AddBoolToObject(j, "zarinpal_sandbox", b->zarinpal_sandbox);
    /* A secret: whether there is one, not what it is. */
    cJSON_AddBoolToObject(j, "zarinpal_merchant_set", b->zarinpal_merchant_id[0] != '\0');
    cJSON_AddNumberToObject(j, "wallet_balance_kopeks", (double)b->wallet_balance_kopeks);
    cJSON_AddNumberToObject(j, "traffic_sold_bytes", (double)b->traffic_sold_bytes);
    cJSON_AddNumberToObject(j, "traffic_consumed_bytes", (double)b->traffic_consumed_bytes);
    return j;
}

/* JSON: the document, one line. Text: "key: value" lines (an object), one
   line of its fields per element (an array of objects). */
static void emit_text(FILE *out, const cJSON *j, int inline_obj)
{
    for (const cJSON *c = j->child; c; c = c->next) {
        char *v = cJSON_IsString(c) ? NULL : cJSON_PrintUnformatted(c);
        if (inline_obj)
            fprintf(out, "%s%s=%s", c == j->child ? "" : " ", c->string, v ? v : c->valuestring);
        else
            fprintf(out, "%s: %s\n", c->string, v ? v : c->valuestring);
        free(v);
    }
    if (inline_obj)
        fputc('\n', out);
}

static int emit(FILE *out, int json, cJSON *j, ts_error *err)
{
    if (j == NULL)
        return ts_fail(err, TS_E_NOMEM, "out of memory");
    if (json) {
        char *s = cJSON_PrintUnformatted(j);
        if (s)
            fprintf(out, "%s\n", s);
        free(s);
    } else if (cJSON_IsArray(j)) {
        for (const cJSON *c = j->child; c; c = c->next)
            emit_text(out, c, 1);
    } else {
        emit_text(out, j, 0);
    }
    cJSON_Delete(j);
    return 0;
}

/* A stored JSON text as a JSON value (a string when it is not JSON). */
static void add_json(cJSON *obj, const char *key, const char *text)
{
    cJSON *v = text ? cJSON_Parse(text) : NULL;
    cJSON_AddItemToObject(obj, key, v ? v : cJSON_CreateString(text ? text : ""));
}

/* ---- commands ---------------------------------------------------------------------------- */

typedef struct run_ctx {
    const ts_admin_args *a;
    ts_tx *tx;
    ts_bot bot;                    /* the bot named by ID */
    cJSON *result;                 /* printed after the commit */
    ts_buf *note;
    char api_token[TS_REPO_API_TOKEN_SIZE];
} run_ctx;

/* A Telegram token no other bot than except has. */
static int token_free(ts_tx *tx, const char *token, int64_t except, ts_error *err)
{
    ts_bot other;
    int rc = ts_repo_bot_by_telegram_token(tx, token, &other, err);
    if (rc < 0)
        return -1;
    if (rc == 1 && other.id != except)
        return ts_fail(err, TS_E_STATE, "bot %lld already uses this Telegram token",
                       (long long)other.id);
    return 0;
}

static int bot_reload(run_ctx *r, int64_t id, ts_error *err)
{
    int rc = ts_repo_bot_get(r->tx, id, &r->bot, err);
    return rc < 0 ? -1 : rc == 0 ? ts_fail(err, TS_E_NOTFOUND, "no bot %lld: see 'ts-admin bot "
                                           "list'", (long long)id) : 0;
}

static int bot_create(run_ctx *r, ts_error *err)
{
    const ts_admin_args *a = r->a;
    ts_bot_new nb = {0};
    int64_t id;
    for (int i = 0; i < a->nfields; i++)
        if (strcmp(a->fields[i].col, "name") == 0)
            nb.name = a->fields[i].val.s;
    nb.telegram_bot_token = a->token;
    if (token_free(r->tx, a->token, 0, err) ||
        ts_repo_bot_create(r->tx, &nb, &id, r->api_token, err) ||
        ts_repo_bot_update(r->tx, id, a->fields, a->nfields, err) < 0 || bot_reload(r, id, err))
        return -1;
    ts_buf_printf(r->note, "created bot %lld", (long long)id);
    r->result = bot_json(&r->bot);
    /* The one time it is shown: ts_repo_bot_create stores only its hash. */
    cJSON_AddStringToObject(r->result, "api_token", r->api_token);
    return 0;
}

static int bot_list(run_ctx *r, ts_error *err)
{
    ts_result *res;
    if (ts_repo_bot_list(r->tx, &res, err))
        return -1;
    r->result = cJSON_CreateArray();
    for (int i = 0; i < ts_result_count(res); i++) {
        ts_bot b;
        ts_repo_bot_from(res, i, &b);
        cJSON *j = bot_json(&b);
        cJSON_AddItemToArray(r->result, j);
    }
    ts_result_free(res);
    return 0;
}

static int bot_change(run_ctx *r, ts_error *err)
{
    const ts_admin_args *a = r->a;
    const char *v = a->verb;
    int64_t id = a->bot_id;
    if (strcmp(v, "update") == 0) {
        ts_set f[TS_ADMIN_MAX_FIELDS + 1];
        int n = a->nfields;
        memcpy(f, a->fields, sizeof f[0] * (size_t)n);
        if (a->token) {
            if (token_free(r->tx, a->token, id, err))
                return -1;
            f[n++] = (ts_set){"telegram_bot_token", ts_text(a->token)};
        }
        if (ts_repo_bot_update(r->tx, id, f, n, err) < 0)
            return -1;
    } else if (strcmp(v, "activate") == 0 || strcmp(v, "deactivate") == 0) {
        if (r->bot.is_master && v[0] == 'd')
            return ts_fail(err, TS_E_STATE, "bot %lld is the master bot: it is served from the "
                           "configuration, not deactivated here", (long long)id);
        if (ts_repo_bot_set_active(r->tx, id, v[0] == 'a', err) < 0)
            return -1;
    } else if (strcmp(v, "delete") == 0) {
        if (!a->confirm && !r->bot.is_master)
            return ts_fail(err, TS_E_STATE, "bot delete removes bot %lld and every row it owns "
                           "(users, payments, subscriptions...): add --confirm", (long long)id);
        if (ts_repo_bot_delete(r->tx, id, err) < 0)
            return -1;
        ts_buf_printf(r->note, "deleted bot %lld", (long long)id);
        r->result = cJSON_CreateObject();
        cJSON_AddNumberToObject(r->result, "deleted", (double)id);
        return 0;
    }
    if (bot_reload(r, id, err))
        return -1;
    r->result = bot_json(&r->bot);
    return 0;
}

static int keyed_list(run_ctx *r, int flags, ts_error *err)
{
    ts_result *res;
    if ((flags ? ts_repo_flag_list(r->tx, &res, err) : ts_repo_config_list(r->tx, &res, err)))
        return -1;
    r->result = cJSON_CreateArray();
    for (int i = 0; i < ts_result_count(res); i++) {
        cJSON *j = cJSON_CreateObject();
        if (flags) {
            cJSON_AddStringToObject(j, "key", ts_result_text(res, i, "feature_key"));
            cJSON_AddBoolToObject(j, "enabled", ts_result_get(res, i, "enabled").i != 0);
            add_json(j, "config", ts_result_text(res, i, "config"));
        } else {
            cJSON_AddStringToObject(j, "key", ts_result_text(res, i, "config_key"));
            add_json(j, "value", ts_result_text(res, i, "config_value"));
        }
        cJSON_AddItemToArray(r->result, j);
    }
    ts_result_free(res);
    return 0;
}

static int keyed_change(run_ctx *r, int flags, ts_error *err)
{
    const ts_admin_args *a = r->a;
    int set = strcmp(a->verb, "set") == 0, rc;
    if (set)
        rc = flags ? ts_repo_flag_set(r->tx, a->key, strcmp(a->value, "on") == 0, a->json, err)
                   : ts_repo_config_set(r->tx, a->key, a->json, err);
    else
        rc = flags ? ts_repo_flag_delete(r->tx, a->key, err)
                   : ts_repo_config_delete(r->tx, a->key, err);
    if (rc < 0)
        return -1;
    r->result = cJSON_CreateObject();
    cJSON_AddNumberToObject(r->result, "bot_id", (double)a->bot_id);
    cJSON_AddStringToObject(r->result, "key", a->key);
    /* unset of what is not set changes nothing and says so: scripts may repeat it */
    cJSON_AddStringToObject(r->result, "result", set ? "set" : rc == 1 ? "unset" : "was not set");
    return 0;
}

static int wallet_show(run_ctx *r, ts_error *err)
{
    ts_cond paid = {"type", ts_text("subscription_payment")};
    int64_t purchases, users;
    if (ts_tx_count(r->tx, "transactions", &paid, 1, &purchases, err) ||
        ts_repo_user_count(r->tx, &users, err))
        return -1;
    r->result = cJSON_CreateObject();
    cJSON_AddNumberToObject(r->result, "bot_id", (double)r->bot.id);
    cJSON_AddNumberToObject(r->result, "wallet_balance_kopeks", (double)r->bot.wallet_balance_kopeks);
    cJSON_AddNumberToObject(r->result, "traffic_sold_bytes", (double)r->bot.traffic_sold_bytes);
    cJSON_AddNumberToObject(r->result, "traffic_consumed_bytes",
                            (double)r->bot.traffic_consumed_bytes);
    cJSON_AddNumberToObject(r->result, "purchases", (double)purchases);
    cJSON_AddNumberToObject(r->result, "users", (double)users);
    /* The master's purchases are the legacy business's, not a tenant's earnings. */
    cJSON_AddBoolToObject(r->result, "credited_on_purchase", !r->bot.is_master);
    return 0;
}

static int dispatch(run_ctx *r, ts_error *err)
{
    const ts_admin_args *a = r->a;
    if (a->bot_id && bot_reload(r, a->bot_id, err))
        return -1;
    if (strcmp(a->noun, "bot") == 0)
        return strcmp(a->verb, "create") == 0 ? bot_create(r, err)
               : strcmp(a->verb, "list") == 0 ? bot_list(r, err)
               : strcmp(a->verb, "show") == 0 ? (r->result = bot_json(&r->bot), 0)
                                              : bot_change(r, err);
    if (strcmp(a->noun, "wallet") == 0)
        return wallet_show(r, err);
    int flags = strcmp(a->noun, "flags") == 0;
    return strcmp(a->verb, "list") == 0 ? keyed_list(r, flags, err) : keyed_change(r, flags, err);
}

int ts_admin_run(ts_shim *sh, const ts_admin_args *a, FILE *out, ts_buf *note, ts_error *err)
{
    /* The unit runs as the bot it is about (flags, configuration and counts
       are that bot's rows); bot-wide commands as the master. */
    int64_t master = ts_shim_master_bot_id(sh);
    ts_ctx ctx = {a->bot_id ? a->bot_id : master, !a->bot_id || a->bot_id == master};
    int rc = -1;
    /* A stage changed under the unit (TS_E_STALE): the shim has the new
       stages, so the unit is run again once, like any handler's. */
    for (int attempt = 0; attempt < 2 && rc; attempt++) {
        run_ctx r = {a, NULL, {0}, NULL, note, {0}};
        ts_buf_reset(note);
        if (ts_shim_begin(sh, &ctx, &r.tx, err))
            return -1;
        rc = dispatch(&r, err);
        if (rc == 0 && r.result == NULL)
            rc = ts_fail(err, TS_E_NOMEM, "out of memory");
        if (rc == 0) {
            rc = ts_tx_commit(r.tx, err);
        } else {
            ts_tx_rollback(r.tx);
        }
        if (rc == 0)
            rc = emit(out, a->m.o.json, r.result, err);
        else
            cJSON_Delete(r.result);
        memset(r.api_token, 0, sizeof r.api_token);
        if (rc && err->code != TS_E_STALE)
            break;
    }
    return rc;
}

int ts_admin_exit_code(const ts_error *err)
{
    switch (err->code) {
    case TS_E_NOTFOUND: return TS_ADMIN_EXIT_NOTFOUND;
    case TS_E_INVALID: return TS_EXIT_USAGE;
    case TS_E_CONSTRAINT: return TS_EXIT_REFUSED;   /* a duplicate token that raced the check */
    default: return ts_margs_exit_code(err, 0);
    }
}
