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
    "  bot list [--limit N] [--after ID]   the bots in id order: every one, or a page of N\n"
    "                                after bot ID (\"next\" is the ID of the page after)\n"
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
    "Plans of a bot (PLAN: a plan's id):\n"
    "  plans list ID, plans show ID PLAN\n"
    "  plans create ID --name N --period-days D --price KOPEKS [PLAN FIELDS]\n"
    "  plans update ID PLAN PLAN-FIELDS, plans delete ID PLAN\n"
    "  plans activate ID PLAN, plans deactivate ID PLAN\n"
    "  plans order ID PLAN...        shown in this order (every plan named once)\n"
    "Payment cards of a bot (CARD: a card's id; numbers are shown masked, ****1234):\n"
    "  cards list ID [--limit N] [--after CARD], cards show ID CARD\n"
    "  cards create ID --card-number DIGITS --holder NAME [--weight W] [--active on|off]\n"
    "  cards update ID CARD CARD-FIELDS, cards delete ID CARD\n"
    "  cards rotation ID [STRATEGY [--interval MINUTES]]   the bot's rotation, or set it on\n"
    "                                every card: round_robin, random, time_based, weighted\n"
    "  cards stats ID                per card: uses, payments recorded, approved amount\n"
    "\n"
    "Fields (bot create, bot update):\n"
    "  --name N  --language L  --support USERNAME  --admin-chat ID  --admin-topic ID\n"
    "  --receipt-topic ID  --notify-group ID  --notify-topic ID  --card-to-card on|off\n"
    "  --zarinpal on|off  --zarinpal-sandbox on|off  --zarinpal-merchant ID\n"
    "Plan fields: --name N  --period-days D  --price KOPEKS  --traffic-gb G (0: unlimited)\n"
    "  --devices N  --sort N  --active on|off\n"
    "Card fields: --card-number DIGITS  --holder NAME  --weight W  --active on|off\n"
    "\n"
    "Stores and identity (as ts-migrate's):\n"
    "  --legacy URL, --new URL   (default $TS_LEGACY_URL, $TS_NEW_URL)\n"
    "  --config FILE     JSON {\"legacy\",\"new\",\"manifest\",\"actor\",\"master_token\"}\n"
    "  --manifest FILE, --actor NAME, --reason TEXT (recorded in the audit)\n"
    "  --json            results as JSON\n"
    "  --help, --version\n"
    "\n"
    "Exit codes:\n"
    "  0  done                 3  refused: the master bot, a duplicate Telegram token or card\n"
    "  1  failed (see message)    number, delete without --confirm, a stage that does not\n"
    "  2  usage or bad input      serve tenants yet\n"
    "                          4  no such bot, plan or card\n"
    "  7  a store is unreachable or busy: retry\n";

enum {
    O_NAME = TS_OPT_COMMON_END, O_TOKEN, O_LANG, O_SUPPORT, O_ADMIN_CHAT, O_ADMIN_TOPIC,
    O_RECEIPT_TOPIC, O_NOTIFY_GROUP, O_NOTIFY_TOPIC, O_C2C, O_ZP, O_ZP_SANDBOX, O_ZP_MERCHANT,
    O_CONFIRM, O_PERIOD, O_PRICE, O_TRAFFIC, O_DEVICES, O_SORT, O_ACTIVE, O_CARD_NUMBER,
    O_HOLDER, O_WEIGHT, O_INTERVAL, O_LIMIT, O_AFTER
};

const struct option ts_admin_longopts[] = {
    TS_MARGS_COMMON_OPTIONS,
    {"name", 1, 0, O_NAME}, {"token", 1, 0, O_TOKEN}, {"language", 1, 0, O_LANG},
    {"support", 1, 0, O_SUPPORT}, {"admin-chat", 1, 0, O_ADMIN_CHAT},
    {"admin-topic", 1, 0, O_ADMIN_TOPIC}, {"receipt-topic", 1, 0, O_RECEIPT_TOPIC},
    {"notify-group", 1, 0, O_NOTIFY_GROUP}, {"notify-topic", 1, 0, O_NOTIFY_TOPIC},
    {"card-to-card", 1, 0, O_C2C}, {"zarinpal", 1, 0, O_ZP},
    {"zarinpal-sandbox", 1, 0, O_ZP_SANDBOX}, {"zarinpal-merchant", 1, 0, O_ZP_MERCHANT},
    {"confirm", 0, 0, O_CONFIRM}, {"period-days", 1, 0, O_PERIOD}, {"price", 1, 0, O_PRICE},
    {"traffic-gb", 1, 0, O_TRAFFIC}, {"devices", 1, 0, O_DEVICES}, {"sort", 1, 0, O_SORT},
    {"active", 1, 0, O_ACTIVE}, {"card-number", 1, 0, O_CARD_NUMBER}, {"holder", 1, 0, O_HOLDER},
    {"weight", 1, 0, O_WEIGHT}, {"interval", 1, 0, O_INTERVAL}, {"limit", 1, 0, O_LIMIT},
    {"after", 1, 0, O_AFTER}, {0, 0, 0, 0},
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

static void add_field(ts_admin_args *a, const char *col, const char *what, ts_value v)
{
    for (int i = 0; i < a->op.nfields; i++)
        if (strcmp(a->op.fields[i].col, col) == 0) {
            a->op.fields[i].val = v;   /* the last one given wins, as for any option */
            return;
        }
    a->field_opt[a->op.nfields] = what;
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
        {O_NOTIFY_TOPIC, "notification_topic_id", "--notify-topic"},
        {O_PERIOD, "period_days", "--period-days"}, {O_PRICE, "price_kopeks", "--price"},
        {O_TRAFFIC, "traffic_limit_gb", "--traffic-gb"}, {O_DEVICES, "device_limit", "--devices"},
        {O_SORT, "sort_order", "--sort"}, {O_WEIGHT, "weight", "--weight"}};
    static const struct { int opt; const char *col, *what; } bools[] = {
        {O_C2C, "card_to_card_enabled", "--card-to-card"},
        {O_ZP, "zarinpal_enabled", "--zarinpal"},
        {O_ZP_SANDBOX, "zarinpal_sandbox", "--zarinpal-sandbox"},
        {O_ACTIVE, "is_active", "--active"}};
    int64_t v = 0;
    int b = 0;
    for (size_t i = 0; i < sizeof ints / sizeof ints[0]; i++) {
        if (c != ints[i].opt)
            continue;
        if (parse_int(ints[i].what, arg, 0, &v, err))
            return -1;
        add_field(a, ints[i].col, ints[i].what, ts_int(v));
        return 1;
    }
    for (size_t i = 0; i < sizeof bools / sizeof bools[0]; i++) {
        if (c != bools[i].opt)
            continue;
        if (parse_onoff(bools[i].what, arg, &b, err))
            return -1;
        add_field(a, bools[i].col, bools[i].what, ts_bool(b));
        return 1;
    }
    static const struct { int opt; const char *col, *what; } texts[] = {
        {O_NAME, "name", "--name"}, {O_LANG, "default_language", "--language"},
        {O_SUPPORT, "support_username", "--support"},
        {O_ZP_MERCHANT, "zarinpal_merchant_id", "--zarinpal-merchant"},
        {O_CARD_NUMBER, "card_number", "--card-number"}, {O_HOLDER, "card_holder_name", "--holder"}};
    for (size_t i = 0; i < sizeof texts / sizeof texts[0]; i++) {
        if (c != texts[i].opt)
            continue;
        if (ts_tenant_check_field(texts[i].col, texts[i].what, arg, err))
            return -1;
        add_field(a, texts[i].col, texts[i].what, ts_text(arg));
        return 1;
    }
    return 0;
}

/* What each command takes after its noun and verb. */
typedef struct command_shape {
    const char *noun, *verb;
    int id;             /* takes a bot ID */
    int item;           /* then a PLAN or CARD id */
    int key;            /* then KEY */
    int values;         /* then up to this many values (flags set: on|off [JSON]; -1: ids) */
    int min_values;
    int fields;         /* takes field options: of the entity fields - 1 (0: none) */
    int paged;          /* takes --limit and --after */
    ts_tenant_verb op;
} command_shape;

#define BOT_FIELDS (TS_TENANT_BOT + 1)
#define PLAN_FIELDS (TS_TENANT_PLAN + 1)
#define CARD_FIELDS (TS_TENANT_CARD + 1)

static const command_shape shapes[] = {
    {"bot", "create", 0, 0, 0, 0, 0, BOT_FIELDS, 0, TS_TENANT_BOT_CREATE},
    {"bot", "list", 0, 0, 0, 0, 0, 0, 1, TS_TENANT_BOT_LIST},
    {"bot", "show", 1, 0, 0, 0, 0, 0, 0, TS_TENANT_BOT_SHOW},
    {"bot", "update", 1, 0, 0, 0, 0, BOT_FIELDS, 0, TS_TENANT_BOT_UPDATE},
    {"bot", "activate", 1, 0, 0, 0, 0, 0, 0, TS_TENANT_BOT_ACTIVATE},
    {"bot", "deactivate", 1, 0, 0, 0, 0, 0, 0, TS_TENANT_BOT_DEACTIVATE},
    {"bot", "delete", 1, 0, 0, 0, 0, 0, 0, TS_TENANT_BOT_DELETE},
    {"bot", "token", 1, 0, 0, 0, 0, 0, 0, TS_TENANT_BOT_TOKEN},
    {"flags", "list", 1, 0, 0, 0, 0, 0, 0, TS_TENANT_FLAG_LIST},
    {"flags", "set", 1, 0, 1, 2, 1, 0, 0, TS_TENANT_FLAG_SET},
    {"flags", "unset", 1, 0, 1, 0, 0, 0, 0, TS_TENANT_FLAG_UNSET},
    {"config", "list", 1, 0, 0, 0, 0, 0, 0, TS_TENANT_CONFIG_LIST},
    {"config", "set", 1, 0, 1, 1, 1, 0, 0, TS_TENANT_CONFIG_SET},
    {"config", "unset", 1, 0, 1, 0, 0, 0, 0, TS_TENANT_CONFIG_UNSET},
    {"wallet", "show", 1, 0, 0, 0, 0, 0, 0, TS_TENANT_WALLET},
    {"plans", "list", 1, 0, 0, 0, 0, 0, 0, TS_TENANT_PLAN_LIST},
    {"plans", "show", 1, 1, 0, 0, 0, 0, 0, TS_TENANT_PLAN_GET},
    {"plans", "create", 1, 0, 0, 0, 0, PLAN_FIELDS, 0, TS_TENANT_PLAN_CREATE},
    {"plans", "update", 1, 1, 0, 0, 0, PLAN_FIELDS, 0, TS_TENANT_PLAN_UPDATE},
    {"plans", "delete", 1, 1, 0, 0, 0, 0, 0, TS_TENANT_PLAN_DELETE},
    {"plans", "activate", 1, 1, 0, 0, 0, 0, 0, TS_TENANT_PLAN_ACTIVATE},
    {"plans", "deactivate", 1, 1, 0, 0, 0, 0, 0, TS_TENANT_PLAN_DEACTIVATE},
    {"plans", "order", 1, 0, 0, -1, 1, 0, 0, TS_TENANT_PLAN_ORDER},
    {"cards", "list", 1, 0, 0, 0, 0, 0, 1, TS_TENANT_CARD_LIST},
    {"cards", "show", 1, 1, 0, 0, 0, 0, 0, TS_TENANT_CARD_GET},
    {"cards", "create", 1, 0, 0, 0, 0, CARD_FIELDS, 0, TS_TENANT_CARD_CREATE},
    {"cards", "update", 1, 1, 0, 0, 0, CARD_FIELDS, 0, TS_TENANT_CARD_UPDATE},
    {"cards", "delete", 1, 1, 0, 0, 0, 0, 0, TS_TENANT_CARD_DELETE},
    {"cards", "rotation", 1, 0, 0, 1, 0, 0, 0, TS_TENANT_CARD_ROTATION},
    {"cards", "stats", 1, 0, 0, 0, 0, 0, 0, TS_TENANT_CARD_STATS},
};

/* What the command's arguments are, for its usage message. */
static void describe(const command_shape *sh, char *out, size_t n)
{
    const char *item = strcmp(sh->noun, "cards") == 0 ? "CARD" : "PLAN";
    snprintf(out, n, "%s%s%s%s%s", sh->id ? "a bot ID" : "no arguments",
             sh->item ? " and a " : "", sh->item ? item : "", sh->key ? " and a KEY" : "",
             sh->values == 2 ? ", on|off and optionally a JSON config"
             : sh->values == -1 ? " and the PLAN ids in their order"
             : sh->op == TS_TENANT_CARD_ROTATION ? " and optionally a STRATEGY"
             : sh->values ? " and a JSON value" : "");
}

static int positional(ts_admin_args *a, int argc, char **argv, const command_shape *sh,
                      ts_error *err)
{
    int at = optind + 2, left = argc - at;
    int fixed = sh->id + sh->item + sh->key;
    char what[128];
    describe(sh, what, sizeof what);
    if (left < fixed + sh->min_values || (sh->values >= 0 && left > fixed + sh->values) ||
        left - fixed > (int)(sizeof a->order / sizeof a->order[0]))
        return ts_fail(err, TS_E_USAGE, "%s takes %s: see --help", a->command, what);
    if (sh->id && parse_int("bot ID", argv[at++], 1, &a->op.bot_id, err))
        return -1;
    if (sh->item && parse_int(strcmp(sh->noun, "cards") == 0 ? "CARD" : "PLAN", argv[at++], 1,
                              &a->op.item_id, err))
        return -1;
    if (sh->key) {
        a->op.key = argv[at++];
        int flag = strcmp(sh->noun, "flags") == 0;
        if (ts_tenant_check_key(flag, a->op.key, err))
            return -1;
    }
    if (sh->values == -1) {   /* plans order ID PLAN... */
        for (; at < argc; at++) {
            int64_t id;
            if (parse_int("PLAN", argv[at], 1, &id, err))
                return -1;
            for (int i = 0; i < a->op.norder; i++)
                if (a->order[i] == id)
                    return ts_fail(err, TS_E_USAGE, "plans order: plan %lld twice",
                                   (long long)id);
            a->order[a->op.norder++] = id;
        }
        a->op.order = a->order;
    } else if (sh->op == TS_TENANT_CARD_ROTATION) {   /* cards rotation ID [STRATEGY] */
        if (at < argc) {
            a->op.strategy = argv[at];
            a->op.verb = TS_TENANT_CARD_ROTATE;
            return ts_tenant_check_strategy(a->op.strategy, err);
        }
    } else if (sh->values == 2) {   /* flags set ID KEY on|off [JSON] */
        if (parse_onoff("flags set", argv[at++], &a->op.enabled, err))
            return -1;
        a->op.json = at < argc ? argv[at] : NULL;
    } else if (sh->values == 1) {
        a->op.json = argv[at];
    }
    return a->op.json ? ts_tenant_check_json(a->command, a->op.json, err) : 0;
}

/* The field options fit the command: its entity's, within their bounds. */
static int check_fields(const ts_admin_args *a, const command_shape *sh, ts_error *err)
{
    for (int i = 0; i < a->op.nfields; i++) {
        const ts_set *f = &a->op.fields[i];
        int kind = sh->fields ? ts_tenant_field_kind((ts_tenant_entity)(sh->fields - 1), f->col)
                              : -1;
        if (kind < 0)
            return ts_fail(err, TS_E_USAGE, "%s takes no %s: see --help", a->command,
                           a->field_opt[i]);
        if (kind == TS_TENANT_INT &&
            ts_tenant_check_int((ts_tenant_entity)(sh->fields - 1), f->col, f->val.i, err))
            return -1;
    }
    return 0;
}

/* The fields a create needs: cols, named by the options in what. */
static int needs(const ts_admin_args *a, const char *const *cols, const char *what,
                 ts_error *err)
{
    for (int k = 0; cols[k]; k++) {
        int found = 0;
        for (int i = 0; i < a->op.nfields; i++)
            found |= strcmp(a->op.fields[i].col, cols[k]) == 0;
        if (!found)
            return ts_fail(err, TS_E_USAGE, "%s needs %s", a->command, what);
    }
    return 0;
}

int ts_admin_parse(int argc, char **argv, ts_admin_args *a, ts_error *err)
{
    int c, taken;
    const char *limit = NULL, *after = NULL, *interval = NULL;
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
        case O_LIMIT: limit = optarg; break;
        case O_AFTER: after = optarg; break;
        case O_INTERVAL: interval = optarg; break;
        case 'h': a->m.help = 1; break;
        default:
            return ts_fail(err, TS_E_USAGE, "unknown or incomplete option '%s': see --help",
                           argv[optind - 1]);
        }
    }
    if (a->m.help || a->m.version)
        return 0;
    if (argc - optind < 2)
        return ts_fail(err, TS_E_USAGE, "no command: ts-admin bot|flags|config|wallet|plans|"
                       "cards ...; see --help");
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
    if (sh->fields != BOT_FIELDS && a->op.token)
        return ts_fail(err, TS_E_USAGE, "%s takes no --token", a->command);
    if (check_fields(a, sh, err))
        return -1;
    if ((limit || after) && !sh->paged)
        return ts_fail(err, TS_E_USAGE, "%s takes no --limit or --after: bot list and cards "
                       "list do", a->command);
    if (limit && (parse_int("--limit", limit, 1, &a->limit, err) || a->limit > TS_TENANT_PAGE_MAX))
        return a->limit > TS_TENANT_PAGE_MAX
                   ? ts_fail(err, TS_E_USAGE, "--limit: at most %d", TS_TENANT_PAGE_MAX) : -1;
    if (after && parse_int("--after", after, 0, &a->op.after, err))
        return -1;
    if (a->op.after < 0)
        return ts_fail(err, TS_E_USAGE, "--after: expected an id, the \"next\" of the page "
                       "before");
    a->op.limit = (int)a->limit;
    if (interval && a->op.verb != TS_TENANT_CARD_ROTATE)
        return ts_fail(err, TS_E_USAGE, "--interval is for cards rotation ID STRATEGY");
    if (interval && parse_int("--interval", interval, 1, &a->op.interval, err))
        return -1;
    if (create && (a->op.token == NULL || *a->op.token == '\0'))
        return ts_fail(err, TS_E_USAGE, "bot create needs the bot's Telegram token: --token T "
                       "or TS_TENANT_TOKEN");
    if (a->op.token && ts_tenant_check_token(a->op.token, err))
        return -1;
    static const char *const bot_needs[] = {"name", NULL};
    static const char *const plan_needs[] = {"name", "period_days", "price_kopeks", NULL};
    static const char *const card_needs[] = {"card_number", "card_holder_name", NULL};
    if ((create && needs(a, bot_needs, "--name", err)) ||
        (sh->op == TS_TENANT_PLAN_CREATE &&
         needs(a, plan_needs, "--name, --period-days and --price", err)) ||
        (sh->op == TS_TENANT_CARD_CREATE && needs(a, card_needs, "--card-number and --holder", err)))
        return -1;
    int update = sh->op == TS_TENANT_BOT_UPDATE || sh->op == TS_TENANT_PLAN_UPDATE ||
                 sh->op == TS_TENANT_CARD_UPDATE;
    if (update && a->op.nfields == 0 && a->op.token == NULL)
        return ts_fail(err, TS_E_USAGE, "%s: give at least one field to change", a->command);
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
    const cJSON *items = cJSON_GetObjectItemCaseSensitive(j, "items");
    if (json) {
        char *s = cJSON_PrintUnformatted(j);
        if (s)
            fprintf(out, "%s\n", s);
        free(s);
    } else if (cJSON_IsArray(j)) {
        for (const cJSON *c = j->child; c; c = c->next)
            emit_text(out, c, 1);
    } else if (cJSON_IsArray(items)) {
        /* a page or statistics: a line per item, then what else there is (next, totals) */
        for (const cJSON *c = items->child; c; c = c->next)
            emit_text(out, c, 1);
        for (const cJSON *c = j->child; c; c = c->next) {
            char *v = c == items || cJSON_IsNull(c) ? NULL : cJSON_PrintUnformatted(c);
            if (v)
                fprintf(out, "%s: %s\n", c->string, v);
            free(v);
        }
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
