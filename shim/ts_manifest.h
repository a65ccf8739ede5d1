/*
 * ts_manifest.h: the increment manifest, the one declaration of the migration.
 *
 * The shim (stage routing, dual-write), backfill, verify and rollback all read
 * the same manifest: which increments exist and depend on which, which tables
 * each one moves, and how a legacy row becomes a new row and back. The format
 * is JSON (shim/manifest.json, compiled in; docs/architecture.md describes it).
 *
 * A manifest is validated whole against the declared schemas (ts_schema.h)
 * when it is loaded, so nothing later has to doubt it: every table and column
 * exists, every legacy column is either carried or dropped with a reason, every
 * NOT NULL new column without a default is filled, dependencies are acyclic.
 * A load either returns a complete manifest or nothing.
 *
 * The structs below are read-only views of a loaded manifest; they live until
 * ts_manifest_free.
 */
#ifndef TS_MANIFEST_H
#define TS_MANIFEST_H

#include <stddef.h>

#include "ts_buf.h"
#include "ts_error.h"
#include "ts_schema.h"
#include "ts_store.h"
#include "ts_value.h"

/* Bounds of what a manifest may contain. */
#define TS_MANIFEST_MAX_BYTES (1 << 20)
#define TS_MANIFEST_STR_MAX 1024   /* any string in the file, in bytes */
#define TS_INCREMENT_ID_MAX 16     /* ts_increments.id */
#define TS_INCREMENT_MAX_TABLES 512 /* tables one increment may create and map */

typedef struct ts_manifest ts_manifest;
typedef struct ts_increment ts_increment;

typedef enum ts_inc_kind {
    TS_INC_DATA = 1,     /* moves tables through the stages */
    TS_INC_BEHAVIOUR     /* switches runtime behaviour on or off */
} ts_inc_kind;

/* A named translation of legacy text into a new value (text, integer or bool). */
typedef struct ts_valmap {
    const char *name;
    int n;
    const ts_value *keys;    /* legacy text, in manifest order */
    const ts_value *vals;    /* all of one type */
    int injective;           /* no two keys share a value: usable on a key column */
} ts_valmap;

/* Where a new column's value comes from. */
typedef enum ts_colsrc {
    TS_SRC_NONE = 0,  /* nothing: NULL, or the column's DEFAULT when inserted */
    TS_SRC_COPY,      /* a legacy column, same name or renamed ("from") */
    TS_SRC_MAP,       /* a legacy text column through a value map */
    TS_SRC_FORMAT,    /* text derived from a legacy integer; one way */
    TS_SRC_JSON,      /* a legacy text (or NULL) encoded as a JSON string (or null) */
    TS_SRC_CONST      /* a named constant or a literal */
} ts_colsrc;

typedef struct ts_colrule {
    ts_colsrc src;
    int from;                 /* legacy column index; -1 for NONE and CONST */
    const ts_valmap *map;     /* TS_SRC_MAP */
    const char *prefix;       /* TS_SRC_FORMAT: prefix, integer, suffix */
    const char *suffix;
    int width;                /* zero-padded to this many digits */
    char conv;                /* 'd', 'x' or 'X' */
    ts_value value;           /* TS_SRC_CONST */
} ts_colrule;

/* How one legacy table maps onto one new table. */
typedef struct ts_tmap {
    const ts_increment *inc;
    const ts_table *legacy;
    const ts_table *target;       /* the new table */
    int nkey;
    const int *key;               /* legacy key columns (indexes into legacy->cols) */
    int nnew_key;
    const int *new_key;           /* the same rows' key in the new table: bot_id first
                                     when a constant fills it, then each key column's
                                     counterpart; always the target's PK or a unique */
    const ts_colrule *rules;      /* one per target column */
    const int *restore;           /* per legacy column: the target column it is restored
                                     from by ts_tmap_to_legacy, -1 when dropped */
    const char *const *drop_reason;   /* per legacy column: why it is dropped, or NULL */
    int where_col;                /* row filter: legacy column index, -1 for none */
    const ts_valmap *where_map;   /* a row passes when its where_col is one of this */
    int where_in;                 /* map's keys (where_in = 1) or is not (where_in = 0) */
    const ts_value *write_default;    /* per target column: the value an insert that does
                                         not set it writes (TS_NULL: none), for NOT NULL
                                         columns the application does not know */
} ts_tmap;

struct ts_increment {
    const char *id;               /* from the plan: "2.1" */
    const char *name;             /* "users" */
    ts_inc_kind kind;
    int ndeps;
    const ts_increment *const *deps;
    int ncreates;
    const ts_table *const *creates;   /* new tables without a legacy twin, made at expand */
    int ntmaps;
    const ts_tmap *tmaps;
};

/* ---- loading ------------------------------------------------------------ */

/* The manifest compiled in from shim/manifest.json. */
int ts_manifest_load_default(ts_manifest **out, ts_error *err);
int ts_manifest_load_file(const char *path, ts_manifest **out, ts_error *err);
/* text: NUL-terminated JSON. */
int ts_manifest_load_json(const char *text, ts_manifest **out, ts_error *err);
void ts_manifest_free(ts_manifest *m);

/*
 * The manifest at path (NULL: the built-in one), read against the tables the
 * live legacy store really has (ts_schema_adopt): every live column of a
 * moved table is carried, and a live table no declaration names can be moved,
 * though nothing in tenantshift's code names it. What the manifest does not
 * account for is ts_conform's to report.
 */
int ts_manifest_load_live(const char *path, ts_store *legacy, ts_manifest **out, ts_error *err);

/* The schemas the manifest's tables belong to: the declarations
   (ts_schema_legacy, ts_schema_new) or those adopted from a live store. */
const ts_schema *ts_manifest_legacy_schema(const ts_manifest *m);
const ts_schema *ts_manifest_new_schema(const ts_manifest *m);


/* ---- looking things up ---------------------------------------------------- */

/* Increments in dependency order (every increment after all it depends on;
   otherwise in file order), i in [0, ts_manifest_count). */
int ts_manifest_count(const ts_manifest *m);
const ts_increment *ts_manifest_at(const ts_manifest *m, int i);
const ts_increment *ts_manifest_find(const ts_manifest *m, const char *id);

/* A constant by name ("master_bot_id"), NULL when not defined. */
const ts_value *ts_manifest_constant(const ts_manifest *m, const char *name);

/* 1 when increment a (of m) depends on b directly or through others. */
int ts_manifest_depends_on(const ts_manifest *m, const ts_increment *a, const ts_increment *b);

/* Why legacy table table is not moved (the manifest's "ignored"), NULL when it
   is not declared so. */
const char *ts_manifest_ignored(const ts_manifest *m, const char *table);
/* The tables declared "ignored", in file order: the i-th name (reason in *reason). */
int ts_manifest_nignored(const ts_manifest *m);
const char *ts_manifest_ignored_at(const ts_manifest *m, int i, const char **reason);

/* The increment whose stage governs a table (legacy or new name): the one that
   maps it, else the one that creates it; NULL when no increment names it. */
const ts_increment *ts_manifest_owner(const ts_manifest *m, const char *table);

/* The map a legacy row of legacy_table goes through (the one whose filter it
   passes), NULL when the table is not mapped. */
const ts_tmap *ts_manifest_route(const ts_manifest *m, const char *legacy_table,
                                 const ts_value *legacy_row);

/* The map that fills new_table, NULL when none does. */
const ts_tmap *ts_manifest_tmap_for_new(const ts_manifest *m, const char *new_table);

/* ---- rows ----------------------------------------------------------------- */

/*
 * Rows are arrays of ts_value, one per column in ts_table column order.
 *
 * Produced values borrow: from the input row, from the manifest, and from
 * `text`, which holds the text the conversion had to make (formatted and
 * JSON-encoded or decoded values). Each conversion resets `text` first, so a
 * row stays valid until the next conversion with the same buffer; reuse one
 * buffer per loop and ts_buf_free it at the end.
 */

/* 1 when the legacy row passes the map's row filter (always, without one). */
int ts_tmap_accepts(const ts_tmap *tm, const ts_value *legacy_row);

/* Legacy row -> new row. Columns that nothing fills come out NULL: leave them
   out of an INSERT so their DEFAULT applies (see ts_tmap_fills). */
int ts_tmap_to_new(const ts_tmap *tm, const ts_value *legacy_row, ts_value *new_row,
                   ts_buf *text, ts_error *err);

/* New row -> legacy row: renames back, value maps in reverse (the first legacy
   key with that value), JSON decoded; derived and constant columns are not read
   back; dropped legacy columns come out NULL (see ts_tmap_restores). Fails
   when the result would not pass the map's own row filter, since legacy would
   then route that row elsewhere. */
int ts_tmap_to_legacy(const ts_tmap *tm, const ts_value *new_row, ts_value *legacy_row,
                      ts_buf *text, ts_error *err);

/* One new value -> its legacy counterpart, for conditions and assignments:
   *legacy_col gets the legacy column that new_col restores (error when none). */
int ts_tmap_restore_value(const ts_tmap *tm, int new_col, const ts_value *v, int *legacy_col,
                          ts_value *out, ts_buf *text, ts_error *err);

/* 1 when the manifest fills new column col: writers include it, and verify
   compares it (derived and constant columns too: they are functions of the
   legacy row). Columns not filled hold new-only data and are not compared. */
int ts_tmap_fills(const ts_tmap *tm, int col);

/* 1 when ts_tmap_to_legacy restores legacy column col: writers of legacy rows
   include it; a dropped column is left alone (keeps its value on update). */
int ts_tmap_restores(const ts_tmap *tm, int col);

#endif
