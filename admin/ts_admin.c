/* ts_admin.c: the ts-admin commands: parsing, validation, the units of work, output. */
#include "ts_admin.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include <cjson/cJSON.h>

#include "ts_log.h"
#include "ts_repo.h"
#include "ts_tenant.h"

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
    "  bot token ID                  a new API token for the management API (the master bot\n"
    "                                has none until one is issued); printed once, the old one\n"
    "                                stops working\n"
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

static void add_field(ts_admin_args *a, const char *col, ts_value v)
{
    for (int i = 0; i < a->op.nfields; i++)
        if (strcmp(a->op.fields[i].col, col) == 0) {
            a->op.fields[i].val = v;   /* the last one given wins, as for any option */
            return;
        }
    a->op.fields[a->op.nfields++] = (ts_set){col, v};
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
    static const struct { int opt; const char *col, *what; } texts[] = {
        {O_NAME, "name", "--name"}, {O_LANG, "default_language", "--language"},
        {O_SUPPORT, "support_username", "--support"},
        {O_ZP_MERCHANT, "zarinpal_merchant_id", "--zarinpal-merchant"}};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        if (c != texts[i].opt)
            continue;
        if (ts_tenant_check_field(texts[i].col, texts[i].what, arg, err))
            return -1;
        add_field(a, texts[i].col, ts_text(arg));
        return 1;
    }
    return 0;
}

/* What each command takes after its noun and verb. */
typedef struct command_shape {
    const char *noun, *verb;
    int id;             /* takes a bot ID */
    int key;            /* then KEY */
    int values;         /* then up to this many values (flags set: on|off [JSON]) */
    int min_values;
    int fields;         /* takes field options */
    ts_tenant_verb op;
} command_shape;

static const command_shape shapes[] = {
    {"bot", "create", 0, 0, 0, 0, 1, TS_TENANT_BOT_CREATE},
    {"bot", "list", 0, 0, 0, 0, 0, TS_TENANT_BOT_LIST},
    {"bot", "show", 1, 0, 0, 0, 0, TS_TENANT_BOT_SHOW},
    {"bot", "update", 1, 0, 0, 0, 1, TS_TENANT_BOT_UPDATE},
    {"bot", "activate", 1, 0, 0, 0, 0, TS_TENANT_BOT_ACTIVATE},
    {"bot", "deactivate", 1, 0, 0, 0, 0, TS_TENANT_BOT_DEACTIVATE},
    {"bot", "delete", 1, 0, 0, 0, 0, TS_TENANT_BOT_DELETE},
    {"bot", "token", 1, 0, 0, 0, 0, TS_TENANT_BOT_TOKEN},
    {"flags", "list", 1, 0, 0, 0, 0, TS_TENANT_FLAG_LIST},
    {"flags", "set", 1, 1, 2, 1, 0, TS_TENANT_FLAG_SET},
    {"flags", "unset", 1, 1, 0, 0, 0, TS_TENANT_FLAG_UNSET},
    {"config", "list", 1, 0, 0, 0, 0, TS_TENANT_CONFIG_LIST},
    {"config", "set", 1, 1, 1, 1, 0, TS_TENANT_CONFIG_SET},
    {"config", "unset", 1, 1, 0, 0, 0, TS_TENANT_CONFIG_UNSET},
    {"wallet", "show", 1, 0, 0, 0, 0, TS_TENANT_WALLET},
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
    if (sh->id && parse_int("bot ID", argv[at++], 1, &a->op.bot_id, err))
        return -1;
    if (sh->key) {
        a->op.key = argv[at++];
        int flag = strcmp(sh->noun, "flags") == 0;
        if (ts_tenant_check_key(flag, a->op.key, err))
            return -1;
    }
    if (sh->values == 2) {   /* flags set ID KEY on|off [JSON] */
        if (parse_onoff("flags set", argv[at++], &a->op.enabled, err))
            return -1;
        a->op.json = at < argc ? argv[at] : NULL;
    } else if (sh->values == 1) {
        a->op.json = argv[at];
    }
    return a->op.json ? ts_tenant_check_json(a->command, a->op.json, err) : 0;
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
        case O_TOKEN: a->op.token = optarg; break;
        case O_CONFIRM: a->op.confirm = 1; break;
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
    a->op.verb = sh->op;
    snprintf(a->command, sizeof a->command, "%s %s", sh->noun, sh->verb);
    a->m.command = a->command;
    if (positional(a, argc, argv, sh, err))
        return -1;
    int create = strcmp(a->command, "bot create") == 0;
    if (create && a->op.token == NULL)
        a->op.token = getenv("TS_TENANT_TOKEN");
    if (!sh->fields && (a->op.nfields > 0 || a->op.token))
        return ts_fail(err, TS_E_USAGE, "%s takes no bot field options", a->command);
    if (create && (a->op.token == NULL || *a->op.token == '\0'))
        return ts_fail(err, TS_E_USAGE, "bot create needs the bot's Telegram token: --token T "
                       "or TS_TENANT_TOKEN");
    if (a->op.token && ts_tenant_check_token(a->op.token, err))
        return -1;
    int named = 0;
    for (int i = 0; i < a->op.nfields; i++)
        named |= strcmp(a->op.fields[i].col, "name") == 0;
    if (create && !named)
        return ts_fail(err, TS_E_USAGE, "bot create needs --name");
    if (strcmp(a->command, "bot update") == 0 && a->op.nfields == 0 && a->op.token == NULL)
        return ts_fail(err, TS_E_USAGE, "bot update: give at least one field to change");
    if (a->op.confirm && strcmp(a->command, "bot delete") != 0)
        return ts_fail(err, TS_E_USAGE, "--confirm is for bot delete only");
    return ts_margs_stores(&a->m, err);
}

void ts_admin_free(ts_admin_args *a)
{
    ts_margs_free(&a->m);
}

/* ---- output ----------------------------------------------------------------------------- */

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

static void emit(FILE *out, int json, const cJSON *j)
{
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
}

int ts_admin_run(ts_shim *sh, const ts_admin_args *a, FILE *out, ts_buf *note, ts_error *err)
{
    cJSON *result;
    if (ts_tenant_run(sh, &a->op, &result, note, err))
        return -1;
    emit(out, a->m.o.json, result);
    cJSON_Delete(result);
    return 0;
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
