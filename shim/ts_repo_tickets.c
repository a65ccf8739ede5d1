/* ts_repo_tickets.c: support tickets and their messages (increment 3.2). */
#include <string.h>

#include "ts_repo_int.h"

void ts_repo_ticket_from(const ts_result *r, int row, ts_ticket *t)
{
    t->id = ts_result_int(r, row, "id");
    t->user_id = ts_result_int(r, row, "user_id");
    REPO_TEXT(r, row, "title", t->title);
    REPO_TEXT(r, row, "status", t->status);
    REPO_TEXT(r, row, "priority", t->priority);
    REPO_TEXT(r, row, "created_at", t->created_at);
    REPO_TEXT(r, row, "updated_at", t->updated_at);
    REPO_TEXT(r, row, "closed_at", t->closed_at);
}

void ts_repo_ticket_message_from(const ts_result *r, int row, ts_ticket_message *m)
{
    m->id = ts_result_int(r, row, "id");
    m->ticket_id = ts_result_int(r, row, "ticket_id");
    m->user_id = ts_result_int(r, row, "user_id");
    REPO_TEXT(r, row, "message_text", m->message_text);
    m->is_from_admin = repo_bool(r, row, "is_from_admin");
    m->has_media = repo_bool(r, row, "has_media");
    REPO_TEXT(r, row, "media_type", m->media_type);
    REPO_TEXT(r, row, "media_file_id", m->media_file_id);
    REPO_TEXT(r, row, "created_at", m->created_at);
}

/* With lock, the row is held until the unit ends. */
static int ticket_find(ts_tx *tx, int64_t id, int lock, ts_ticket *out, ts_error *err)
{
    ts_cond c = {"id", ts_int(id)};
    ts_result *r;
    int rc = lock ? repo_lock_one(tx, "tickets", &c, 1, &r, err)
                  : repo_one(tx, "tickets", &c, 1, NULL, &r, err);
    if (rc == 1) {
        ts_repo_ticket_from(r, 0, out);
        ts_result_free(r);
    }
    return rc;
}

int ts_repo_ticket_get(ts_tx *tx, int64_t id, ts_ticket *out, ts_error *err)
{
    return ticket_find(tx, id, 0, out, err);
}

static int message_add(ts_tx *tx, int64_t ticket_id, int64_t user_id, int admin,
                       const ts_ticket_text *m, const char *now, int64_t *msg_id, ts_error *err)
{
    ts_set v[8] = {{"ticket_id", ts_int(ticket_id)},
                   {"user_id", ts_int(user_id)},
                   {"message_text", ts_text(m->text)},
                   {"is_from_admin", ts_bool(admin)},
                   {"has_media", ts_bool(m->media_type != NULL)},
                   {"media_type", ts_text(m->media_type)},
                   {"media_file_id", ts_text(m->media_file_id)},
                   {"created_at", ts_time(now)}};
    return ts_tx_insert(tx, "ticket_messages", v, 8, msg_id, err);
}

int ts_repo_ticket_open(ts_tx *tx, int64_t user_id, const char *title, const char *priority,
                        const ts_ticket_text *first, int64_t *ticket_id, ts_error *err)
{
    char now[TS_TIME_MAX];
    int64_t msg;
    repo_now(now);
    ts_set v[6] = {{"user_id", ts_int(user_id)},
                   {"title", ts_text(title)},
                   {"status", ts_text("open")},
                   {"priority", ts_text(priority ? priority : "normal")},
                   {"created_at", ts_time(now)},
                   {"updated_at", ts_time(now)}};
    if (ts_tx_insert(tx, "tickets", v, 6, ticket_id, err))
        return -1;
    return message_add(tx, *ticket_id, user_id, 0, first, now, &msg, err);
}

/* A message on a ticket that is not closed, moving it to status. The ticket is
   locked first: a close that runs meanwhile is not undone by this status. */
static int reply(ts_tx *tx, int64_t ticket_id, int64_t author, int admin, const char *status,
                 const ts_ticket_text *m, int64_t *msg_id, ts_error *err)
{
    ts_ticket t;
    char now[TS_TIME_MAX];
    int rc = ticket_find(tx, ticket_id, 1, &t, err);
    if (rc == 0)
        return ts_fail(err, TS_E_NOTFOUND, "ticket %lld: no such ticket of this bot",
                       (long long)ticket_id);
    if (rc < 0)
        return -1;
    if (strcmp(t.status, "closed") == 0)
        return 0;
    repo_now(now);
    ts_set s[2] = {{"status", ts_text(status)}, {"updated_at", ts_time(now)}};
    if (message_add(tx, ticket_id, author ? author : t.user_id, admin, m, now, msg_id, err) ||
        repo_update_id(tx, "tickets", ticket_id, s, 2, err) < 0)
        return -1;
    return 1;
}

int ts_repo_ticket_reply(ts_tx *tx, int64_t ticket_id, const ts_ticket_text *m, int64_t *msg_id,
                         ts_error *err)
{
    return reply(tx, ticket_id, 0, 0, "open", m, msg_id, err);
}

int ts_repo_ticket_admin_reply(ts_tx *tx, int64_t ticket_id, int64_t admin_user_id,
                               const ts_ticket_text *m, int64_t *msg_id, ts_error *err)
{
    if (admin_user_id <= 0)
        return ts_fail(err, TS_E_INVALID, "an admin reply names the admin's user id");
    return reply(tx, ticket_id, admin_user_id, 1, "answered", m, msg_id, err);
}

int ts_repo_ticket_close(ts_tx *tx, int64_t id, ts_error *err)
{
    char now[TS_TIME_MAX];
    repo_now(now);
    ts_cond c[2] = {{"id", ts_int(id)}, {"status", ts_text("closed"), TS_OP_NE}};
    ts_set s[3] = {{"status", ts_text("closed")}, {"closed_at", ts_time(now)},
                   {"updated_at", ts_time(now)}};
    return repo_transition(tx, "tickets", c, 2, s, 3, c, 1, "ticket", err);
}

int ts_repo_ticket_list_user(ts_tx *tx, int64_t user_id, int limit, ts_result **out, ts_error *err)
{
    ts_cond c = {"user_id", ts_int(user_id)};
    return ts_tx_select(tx, "tickets", &c, 1, "id DESC", limit, out, err);
}

int ts_repo_ticket_list_status(ts_tx *tx, const char *status, int limit, ts_result **out,
                               ts_error *err)
{
    ts_cond c = {"status", ts_text(status)};
    return ts_tx_select(tx, "tickets", &c, 1, "id", limit, out, err);
}

int ts_repo_ticket_messages(ts_tx *tx, int64_t ticket_id, ts_result **out, ts_error *err)
{
    ts_cond c = {"ticket_id", ts_int(ticket_id)};
    return ts_tx_select(tx, "ticket_messages", &c, 1, "id", 0, out, err);
}
