/*
 * ts_rowjson.h: typed values as JSON, exactly, for the journal and reports.
 *
 * cJSON keeps numbers as doubles, which would round int64 ids and amounts, so
 * each value is an object naming its type and carrying its content as text:
 *   null | {"i":"-9223372036854775808"} | {"d":"0x1.999999999999ap-4"}
 *   | {"b":true} | {"s":"text"} | {"t":"2024-01-31T12:00:00Z"} | {"x":"00ff"}
 * Doubles are C99 hex floats, so they round-trip bit for bit.
 */
#ifndef TS_ROWJSON_H
#define TS_ROWJSON_H

#include "ts_buf.h"
#include "ts_error.h"
#include "ts_value.h"

/* Append s[0..len) as a JSON string literal (quotes, escapes; UTF-8 kept as is). */
void ts_json_string(ts_buf *b, const char *s, size_t len);

/* Append a JSON array of n values. */
void ts_rowjson_encode(ts_buf *b, const ts_value *vals, int n);
/* Append one value. */
void ts_rowjson_value(ts_buf *b, const ts_value *v);

/*
 * Parse a JSON array made by ts_rowjson_encode into exactly n values. Text and
 * blobs are copied into text (reset first); values borrow from it until its
 * next use.
 */
int ts_rowjson_decode(const char *json, ts_value *vals, int n, ts_buf *text, ts_error *err);

#endif
