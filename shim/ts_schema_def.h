/* ts_schema_def.h: the declared tables (ts_schema_def.c), for ts_schema.c only. */
#ifndef TS_SCHEMA_DEF_H
#define TS_SCHEMA_DEF_H

#include "ts_schema.h"

extern const ts_table ts_declared_tables[]; /* legacy tables as ts-bot's repositories use them */
extern const int ts_declared_ntables;
/* fixtures/real-schema/, compiled in (NUL-terminated DDL scripts). */
extern const char ts_real_schema_sqlite[];
extern const char ts_real_schema_pg[];
extern const ts_table ts_new_own_tables[];   /* the new schema's tables with no legacy twin */
extern const int ts_new_own_ntables;
extern const ts_table ts_control_tables[];
extern const int ts_control_ntables;
extern const ts_table ts_journal_tables[];
extern const int ts_journal_ntables;

#endif
