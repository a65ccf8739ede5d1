/* ts_text.c: the catalogue (one row per text: key, en, fa) and placeholder filling. */
#include "ts_text.h"

#include <string.h>

static const struct {
    const char *key;
    const char *t[TS_LANG__COUNT];   /* [TS_LANG_EN], [TS_LANG_FA] */
} texts[TS_T__COUNT] = {
#define T(id, k, en, fa) [id] = {k, {en, fa}}
    T(TS_T_WELCOME, "welcome", "Welcome, {name}! Choose what you need from the menu below.",
      "{name} عزیز، خوش آمدید! از منوی زیر انتخاب کنید."),
    T(TS_T_MENU, "menu", "Main menu. Your balance: {balance}.",
      "منوی اصلی. موجودی شما: {balance}."),
    T(TS_T_BTN_PLANS, "btn_plans", "Buy a subscription", "خرید اشتراک"),
    T(TS_T_BTN_BALANCE, "btn_balance", "Balance and history", "موجودی و تراکنش‌ها"),
    T(TS_T_BTN_TOPUP, "btn_topup", "Top up", "افزایش موجودی"),
    T(TS_T_BTN_PROMO, "btn_promo", "Promo code", "کد تخفیف"),
    T(TS_T_BTN_REFERRAL, "btn_referral", "Invite friends", "دعوت از دوستان"),
    T(TS_T_BTN_TICKETS, "btn_tickets", "Support", "پشتیبانی"),
    T(TS_T_BTN_BACK, "btn_back", "Back", "بازگشت"),
    T(TS_T_PLANS, "plans", "Choose a plan:", "یک طرح را انتخاب کنید:"),
    T(TS_T_PLAN_BUTTON, "plan_button", "{plan}: {days} days, {price}",
      "{plan}: {days} روز، {price}"),
    T(TS_T_PLANS_EMPTY, "plans_empty", "No plans are available right now.",
      "در حال حاضر طرحی موجود نیست."),
    T(TS_T_PURCHASE_OK, "purchase_ok",
      "Your {plan} subscription is active until {until}. Balance: {balance}.",
      "اشتراک {plan} شما تا {until} فعال است. موجودی: {balance}."),
    T(TS_T_PURCHASE_INSUFFICIENT, "purchase_insufficient",
      "Not enough balance: the plan costs {price} and you have {balance}. Top up first.",
      "موجودی کافی نیست: قیمت طرح {price} و موجودی شما {balance} است. ابتدا موجودی را افزایش دهید."),
    T(TS_T_TRIAL_STARTED, "trial_started", "Your free trial is active until {until}.",
      "دوره آزمایشی رایگان شما تا {until} فعال است."),
    T(TS_T_BALANCE, "balance", "Your balance: {balance}.", "موجودی شما: {balance}."),
    T(TS_T_HISTORY, "history", "Your last transactions:\n{lines}",
      "آخرین تراکنش‌های شما:\n{lines}"),
    T(TS_T_HISTORY_LINE, "history_line", "{date}  {kind}  {amount}", "{date}  {kind}  {amount}"),
    T(TS_T_HISTORY_EMPTY, "history_empty", "No transactions yet.", "هنوز تراکنشی ندارید."),
    T(TS_T_TOPUP, "topup", "How do you want to top up?", "روش افزایش موجودی را انتخاب کنید:"),
    T(TS_T_BTN_C2C, "btn_c2c", "Card to card", "کارت به کارت"),
    T(TS_T_BTN_ZARINPAL, "btn_zarinpal", "Online payment (Zarinpal)", "پرداخت آنلاین (زرین‌پال)"),
    T(TS_T_TOPUP_AMOUNT, "topup_amount", "Choose an amount:", "مبلغ را انتخاب کنید:"),
    T(TS_T_C2C_INSTRUCTIONS, "c2c_instructions",
      "Transfer {amount} to card {card} ({holder}), then send the receipt here as a photo or "
      "as text.",
      "مبلغ {amount} را به کارت {card} به نام {holder} واریز کنید، سپس رسید را به صورت عکس یا "
      "متن همین‌جا بفرستید."),
    T(TS_T_C2C_RECEIPT_RECEIVED, "c2c_receipt_received",
      "Receipt received. Tracking number: {tracking}. An admin will review it shortly.",
      "رسید دریافت شد. کد پیگیری: {tracking}. به‌زودی توسط مدیر بررسی می‌شود."),
    T(TS_T_C2C_ADMIN_NOTICE, "c2c_admin_notice",
      "Card-to-card receipt {tracking}\nUser: {user} ({user_id})\nAmount: {amount}",
      "رسید کارت به کارت {tracking}\nکاربر: {user} ({user_id})\nمبلغ: {amount}"),
    T(TS_T_BTN_APPROVE, "btn_approve", "Approve", "تأیید"),
    T(TS_T_BTN_REJECT, "btn_reject", "Reject", "رد"),
    T(TS_T_C2C_APPROVED, "c2c_approved",
      "Top-up {tracking} approved: {amount} added. Balance: {balance}.",
      "افزایش موجودی {tracking} تأیید شد: {amount} اضافه شد. موجودی: {balance}."),
    T(TS_T_C2C_REJECTED, "c2c_rejected",
      "Top-up {tracking} was rejected. Contact support if this is a mistake.",
      "افزایش موجودی {tracking} رد شد. اگر اشتباهی رخ داده با پشتیبانی تماس بگیرید."),
    T(TS_T_C2C_ALREADY_PROCESSED, "c2c_already_processed",
      "Receipt {tracking} was already processed.", "رسید {tracking} قبلاً بررسی شده است."),
    T(TS_T_ZARINPAL_LINK, "zarinpal_link",
      "Pay {amount} online with the button below. Your balance is credited once the payment "
      "is confirmed.",
      "مبلغ {amount} را با دکمه زیر آنلاین پرداخت کنید. پس از تأیید پرداخت، موجودی شما افزایش "
      "می‌یابد."),
    T(TS_T_BTN_PAY, "btn_pay", "Pay", "پرداخت"),
    T(TS_T_ZARINPAL_PAID, "zarinpal_paid",
      "Payment received (reference {ref_id}): {amount} added. Balance: {balance}.",
      "پرداخت دریافت شد (کد مرجع {ref_id}): {amount} اضافه شد. موجودی: {balance}."),
    T(TS_T_ZARINPAL_FAILED, "zarinpal_failed",
      "The payment was not completed and nothing was charged. You can try again.",
      "پرداخت انجام نشد و مبلغی کسر نشد. می‌توانید دوباره تلاش کنید."),
    T(TS_T_ZARINPAL_PAGE_OK, "zarinpal_page_ok", "Payment confirmed. You can return to the bot.",
      "پرداخت تأیید شد. می‌توانید به ربات برگردید."),
    T(TS_T_ZARINPAL_PAGE_FAILED, "zarinpal_page_failed",
      "The payment was not completed. Return to the bot to try again.",
      "پرداخت انجام نشد. برای تلاش دوباره به ربات برگردید."),
    T(TS_T_PROMO_PROMPT, "promo_prompt", "Send your promo code.", "کد تخفیف خود را بفرستید."),
    T(TS_T_PROMO_OK_BALANCE, "promo_ok_balance",
      "Promo code applied: {amount} added to your balance.",
      "کد تخفیف اعمال شد: {amount} به موجودی شما اضافه شد."),
    T(TS_T_PROMO_OK_DAYS, "promo_ok_days",
      "Promo code applied: {days} days added to your subscription.",
      "کد تخفیف اعمال شد: {days} روز به اشتراک شما اضافه شد."),
    T(TS_T_PROMO_INVALID, "promo_invalid", "This promo code does not exist.",
      "این کد تخفیف وجود ندارد."),
    T(TS_T_PROMO_EXPIRED, "promo_expired", "This promo code has expired or is used up.",
      "این کد تخفیف منقضی شده یا ظرفیت آن تمام شده است."),
    T(TS_T_PROMO_USED, "promo_used", "You have already used this promo code.",
      "شما قبلاً از این کد تخفیف استفاده کرده‌اید."),
    T(TS_T_REFERRAL, "referral",
      "Invite friends with your link:\n{link}\nInvited: {count}. Earned: {earned}.",
      "دوستان خود را با این لینک دعوت کنید:\n{link}\nدعوت‌شده‌ها: {count}. درآمد: {earned}."),
    T(TS_T_REFERRAL_REWARD, "referral_reward",
      "A friend you invited made their first payment: {amount} added to your balance.",
      "دوستی که دعوت کرده بودید اولین پرداخت خود را انجام داد: {amount} به موجودی شما اضافه شد."),
    T(TS_T_TICKETS, "tickets", "Your support tickets:", "تیکت‌های پشتیبانی شما:"),
    T(TS_T_TICKET_LINE, "ticket_line", "#{id} {title} ({status})", "#{id} {title} ({status})"),
    T(TS_T_TICKETS_EMPTY, "tickets_empty", "You have no tickets.", "تیکتی ندارید."),
    T(TS_T_BTN_TICKET_NEW, "btn_ticket_new", "New ticket", "تیکت جدید"),
    T(TS_T_BTN_TICKET_CLOSE, "btn_ticket_close", "Close ticket", "بستن تیکت"),
    T(TS_T_TICKET_PROMPT, "ticket_prompt", "Describe your problem in one message.",
      "مشکل خود را در یک پیام شرح دهید."),
    T(TS_T_TICKET_OPENED, "ticket_opened", "Ticket #{id} opened. We will answer here.",
      "تیکت #{id} ثبت شد. پاسخ را همین‌جا دریافت می‌کنید."),
    T(TS_T_TICKET_REPLY_RECEIVED, "ticket_reply_received",
      "Your message was added to ticket #{id}.", "پیام شما به تیکت #{id} اضافه شد."),
    T(TS_T_TICKET_ADMIN_REPLY, "ticket_admin_reply", "Support replied to ticket #{id}:\n{text}",
      "پاسخ پشتیبانی به تیکت #{id}:\n{text}"),
    T(TS_T_TICKET_CLOSED, "ticket_closed", "Ticket #{id} is closed.", "تیکت #{id} بسته شد."),
    T(TS_T_ADMIN_STATS, "admin_stats",
      "Users: {users}\nActive subscriptions: {subscriptions}\nPending receipts: {pending}",
      "کاربران: {users}\nاشتراک‌های فعال: {subscriptions}\nرسیدهای در انتظار: {pending}"),
    T(TS_T_ADMIN_FLAGS, "admin_flags", "Feature flags:\n{flags}", "قابلیت‌ها:\n{flags}"),
    T(TS_T_ADMIN_STAGE, "admin_stage", "Migration stages:\n{stages}", "مراحل مهاجرت:\n{stages}"),
    T(TS_T_ADMIN_ONLY, "admin_only", "This command is for admins only.",
      "این دستور فقط برای مدیران است."),
    T(TS_T_NOT_AVAILABLE, "not_available", "This feature is not available right now.",
      "این قابلیت در حال حاضر در دسترس نیست."),
    T(TS_T_UNKNOWN_COMMAND, "unknown_command", "I did not understand that. Use the menu below.",
      "متوجه نشدم. از منوی زیر استفاده کنید."),
    T(TS_T_ERROR, "error", "Something went wrong on our side. Please try again in a minute.",
      "مشکلی از سمت ما پیش آمد. لطفاً یک دقیقه دیگر دوباره تلاش کنید."),
    T(TS_T_ERROR_RETRY, "error_retry", "The bot is busy. Please send that again shortly.",
      "ربات مشغول است. لطفاً کمی بعد دوباره ارسال کنید."),
#undef T
};

ts_lang ts_lang_of(const char *code)
{
    return code != NULL && strncmp(code, "fa", 2) == 0 && (code[2] == '\0' || code[2] == '-')
               ? TS_LANG_FA
               : TS_LANG_EN;
}

const char *ts_lang_name(ts_lang lang) { return lang == TS_LANG_FA ? "fa" : "en"; }

const char *ts_text_key(ts_text_id id)
{
    return id >= 0 && id < TS_T__COUNT ? texts[id].key : "?";
}

int ts_text_find(const char *key, ts_text_id *out)
{
    for (int i = 0; i < TS_T__COUNT; i++)
        if (texts[i].key != NULL && strcmp(texts[i].key, key) == 0)
            return *out = (ts_text_id)i, 0;
    return -1;
}

const char *ts_text_template(ts_text_id id, ts_lang lang)
{
    if (id < 0 || id >= TS_T__COUNT)
        return "";
    const char *t = lang >= 0 && lang < TS_LANG__COUNT ? texts[id].t[lang] : NULL;
    return t != NULL ? t : texts[id].t[TS_LANG_EN];
}

int ts_text_render(ts_text_id id, ts_lang lang, const ts_text_arg *args, int nargs, ts_buf *out,
                   ts_error *err)
{
    const char *t = ts_text_template(id, lang);
    while (*t) {
        const char *open = strchr(t, '{');
        const char *close = open ? strchr(open, '}') : NULL;
        if (close == NULL) {
            ts_buf_puts(out, t);
            break;
        }
        ts_buf_add(out, t, (size_t)(open - t));
        size_t n = (size_t)(close - open - 1);
        int i = 0;
        while (i < nargs && (strlen(args[i].name) != n || strncmp(args[i].name, open + 1, n) != 0))
            i++;
        if (i == nargs || args[i].value == NULL)
            return ts_fail(err, TS_E_INTERNAL, "text %s (%s): no value for {%.*s}",
                           ts_text_key(id), ts_lang_name(lang), (int)n, open + 1);
        ts_buf_puts(out, args[i].value);
        t = close + 1;
    }
    return out->oom ? ts_fail(err, TS_E_NOMEM, "out of memory rendering text %s",
                              ts_text_key(id))
                    : 0;
}
