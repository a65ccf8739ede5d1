/* ts_repo_util.c: what every repository module needs (ts_repo_int.h). */
#include <openssl/evp.h>
#include <openssl/rand.h>
#include <stdio.h>
#include <string.h>

#include "ts_repo_int.h"

void repo_text(const ts_result *r, int row, const char *col, char *dst, size_t n)
{
    ts_value v = ts_result_get(r, row, col);
    size_t len = v.type == TS_TEXT || v.type == TS_TIME ? v.len : 0;
    /* Sizes come from the declared column lengths (TS_REPO_TEXT), which the
       stores enforce, so this cut never happens to a stored value. */
    if (len >= n)
        len = n - 1;
    if (len)
        memcpy(dst, v.s, len);
    dst[len] = '\0';
}

int repo_bool(const ts_result *r, int row, const char *col)
{
    return ts_result_int(r, row, col) != 0;
}

double repo_double(const ts_result *r, int row, const char *col)
{
    ts_value v = ts_result_get(r, row, col);
    return v.type == TS_DOUBLE ? v.d : (double)v.i;
}

static int first_row(ts_tx *tx, const char *table, const ts_cond *where, int nwhere,
                     const char *order_by, int lock, ts_result **out, ts_error *err)
{
    if ((lock ? ts_tx_select_for_update : ts_tx_select)(tx, table, where, nwhere, order_by, 1,
                                                        out, err))
        return -1;
    if (ts_result_count(*out) == 1)
        return 1;
    ts_result_free(*out);
    *out = NULL;
    return 0;
}

int repo_one(ts_tx *tx, const char *table, const ts_cond *where, int nwhere,
             const char *order_by, ts_result **out, ts_error *err)
{
    return first_row(tx, table, where, nwhere, order_by, 0, out, err);
}

int repo_lock_one(ts_tx *tx, const char *table, const ts_cond *where, int nwhere,
                  ts_result **out, ts_error *err)
{
    return first_row(tx, table, where, nwhere, NULL, 1, out, err);
}

int repo_update_id(ts_tx *tx, const char *table, int64_t id, const ts_set *sets, int nsets,
                   ts_error *err)
{
    ts_cond c = {"id", ts_int(id)};
    int64_t changed = 0;
    if (ts_tx_update(tx, table, &c, 1, sets, nsets, &changed, err))
        return -1;
    return changed > 0;
}

int repo_page(ts_tx *tx, const char *table, int64_t after, int limit, ts_result **out,
              ts_error *err)
{
    ts_cond c = {"id", ts_int(after), TS_OP_GT};
    return ts_tx_select(tx, table, &c, after > 0 ? 1 : 0, "id", limit, out, err);
}

int repo_delete_id(ts_tx *tx, const char *table, int64_t id, ts_error *err)
{
    ts_cond c = {"id", ts_int(id)};
    int64_t changed = 0;
    if (ts_tx_delete(tx, table, &c, 1, &changed, err))
        return -1;
    return changed > 0;
}

#define MAX_FIELDS 24

int repo_update_fields(ts_tx *tx, const char *table, int64_t id, const ts_set *fields,
                       int nfields, const char *const *allowed, int stamp, ts_error *err)
{
    ts_set sets[MAX_FIELDS + 1];
    char now[TS_TIME_MAX];
    if (nfields <= 0 || nfields > MAX_FIELDS)
        return ts_fail(err, TS_E_INVALID, "updating a %s row: give between 1 and %d fields",
                       table, MAX_FIELDS);
    for (int i = 0; i < nfields; i++) {
        int ok = 0;
        for (const char *const *a = allowed; *a && !ok; a++)
            ok = fields[i].col && strcmp(fields[i].col, *a) == 0;
        if (!ok || fields[i].add)
            return ts_fail(err, TS_E_INVALID, "%s.%s cannot be set here%s", table,
                           fields[i].col ? fields[i].col : "(null)",
                           ok ? " with add: give the new value"
                              : ": it has its own repository call, or does not exist");
        sets[i] = fields[i];
    }
    if (stamp) {
        repo_now(now);
        sets[nfields++] = (ts_set){"updated_at", ts_time(now), 0};
    }
    return repo_update_id(tx, table, id, sets, nfields, err);
}

int repo_transition(ts_tx *tx, const char *table, const ts_cond *where, int nwhere,
                    const ts_set *sets, int nsets, const ts_cond *exists, int nexists,
                    const char *what, ts_error *err)
{
    int64_t changed = 0;
    ts_result *r;
    if (ts_tx_update(tx, table, where, nwhere, sets, nsets, &changed, err))
        return -1;
    if (changed > 0)
        return 1;
    int found = repo_one(tx, table, exists, nexists, NULL, &r, err);
    ts_result_free(r);
    if (found == 0)
        return ts_fail(err, TS_E_NOTFOUND, "no %s of this bot matches: check the identifier "
                       "(rows of other bots are not visible)", what);
    return found < 0 ? -1 : 0;
}

/* ---- time --------------------------------------------------------------- */

void repo_now(char out[TS_TIME_MAX]) { ts_time_now(out); }

int repo_time_us(const char *t, int64_t *us, ts_error *err)
{
    int64_t secs, frac = 0;
    if (ts_time_to_unix(t, &secs, err))
        return -1;
    /* ts_time_to_unix drops the fraction; canonical text has at most 6 digits. */
    const char *dot = strchr(t, '.');
    if (dot) {
        int digits = 0;
        for (const char *p = dot + 1; *p >= '0' && *p <= '9' && digits < 6; p++, digits++)
            frac = frac * 10 + (*p - '0');
        for (; digits < 6; digits++)
            frac *= 10;
    }
    *us = secs * 1000000 + frac;
    return 0;
}

void repo_time_from_us(int64_t us, char out[TS_TIME_MAX])
{
    int64_t secs = us / 1000000, frac = us % 1000000;
    if (frac < 0) {
        frac += 1000000;
        secs--;
    }
    ts_time_from_unix(secs, (int32_t)frac, out);
}

int repo_time_extend(const char *base, int64_t secs, char out[TS_TIME_MAX], ts_error *err)
{
    char now[TS_TIME_MAX];
    int64_t now_us, base_us = 0;
    repo_now(now);
    if (repo_time_us(now, &now_us, err) || (base && *base && repo_time_us(base, &base_us, err)))
        return -1;
    repo_time_from_us((base_us > now_us ? base_us : now_us) + secs * 1000000, out);
    return 0;
}

/* ---- randomness and hashing ------------------------------------------------- */

int repo_random(void *buf, size_t n, ts_error *err)
{
    if (RAND_bytes(buf, (int)n) != 1)
        return ts_fail(err, TS_E_INTERNAL, "OpenSSL RAND_bytes failed: the system has no "
                       "usable entropy source");
    return 0;
}

void repo_hex(const unsigned char *p, size_t n, char *out)
{
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[p[i] >> 4];
        out[2 * i + 1] = digits[p[i] & 15];
    }
    out[2 * n] = '\0';
}

int repo_sha256_hex(const char *s, char out[65], ts_error *err)
{
    unsigned char md[EVP_MAX_MD_SIZE];
    unsigned int n = 0;
    if (EVP_Digest(s, strlen(s), md, &n, EVP_sha256(), NULL) != 1 || n != 32)
        return ts_fail(err, TS_E_INTERNAL, "OpenSSL SHA-256 failed");
    repo_hex(md, 32, out);
    return 0;
}
