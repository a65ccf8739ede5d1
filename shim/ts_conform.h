/*
 * ts_conform.h: does the live legacy store hold what the manifest moves?
 *
 * The manifest says which legacy tables move and which of their columns are
 * carried (or dropped, with a reason); the legacy store's own catalog
 * (ts_catalog.h) says what is really there. Any difference is data the
 * migration would leave behind without a word, or SQL that fails half way, so
 * every command that moves or compares rows (ts-migrate init, advance,
 * backfill; ts-verify diff and check; ts-bot --check-config) asks first and
 * refuses, naming every difference at once:
 *
 *   - a live table no increment moves and the manifest does not declare
 *     "ignored" (with a reason);
 *   - a table the manifest moves that the store lacks;
 *   - a live column of a moved table the manifest does not account for (a
 *     column the bot added at start-up, or one tenantshift never heard of);
 *   - a column the manifest carries that the live table lacks;
 *   - a column whose live type holds another kind of value than the manifest
 *     carries (text where it expects integers), or that allows NULL where the
 *     manifest declares NOT NULL;
 *   - a primary key other than the manifest's (rows are found by it);
 *   - a column the manifest carries that a new table made earlier lacks (a
 *     legacy column added after its increment expanded; ts-migrate sync).
 *
 * Tenantshift's own tables (ts_schema_is_own) are never part of this, nor
 * are the tables of a contracted increment: contract renamed them to
 * _retired_<time>_<name> or dropped them.
 */
#ifndef TS_CONFORM_H
#define TS_CONFORM_H

#include "ts_error.h"
#include "ts_manifest.h"
#include "ts_problems.h"
#include "ts_store.h"

/* Add every difference between the manifest and legacy's catalog to out;
   retired[i] (NULL: none) says increment ts_manifest_at(m, i) is contracted.
   Fails only when the catalog cannot be read. */
int ts_conform_legacy(ts_store *legacy, const ts_manifest *m, const unsigned char *retired,
                      ts_problems *out, ts_error *err);

/* Add every column the manifest carries that a new table made earlier lacks
   (a legacy column added after the increment expanded: 'ts-migrate sync'
   carries it); tables not made yet and contracted increments are skipped. */
int ts_conform_new(ts_store *nw, const ts_manifest *m, const unsigned char *retired,
                   ts_problems *out, ts_error *err);

/* What ts-bot's repositories need of the legacy tables the manifest moves:
   every column they write is there, and every NOT NULL column without a
   default they do not know is not (their inserts would be refused). */
int ts_conform_repositories(ts_store *legacy, const ts_manifest *m, ts_problems *out,
                            ts_error *err);

/* Which increments are contracted, from nw's control plane (all 0 when nw
   is NULL or has none yet); retired holds ts_manifest_count(m) entries. */
int ts_conform_retired(ts_store *nw, const ts_manifest *m, unsigned char *retired,
                       ts_error *err);

/* All three of the above (nw may be NULL), into out. */
int ts_conform_collect(ts_store *legacy, ts_store *nw, const ts_manifest *m, ts_problems *out,
                       ts_error *err);

/* The same as one TS_E_SCHEMA error naming the differences (as many
   as fit) and what to do; 0 when the legacy store conforms. */
int ts_conform_require(ts_store *legacy, ts_store *nw, const ts_manifest *m, ts_error *err);

#endif
