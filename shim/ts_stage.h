/*
 * ts_stage.h: the stages of an increment and what each one means for routing.
 *
 * Data increments walk legacy -> expanded -> dual_write -> shadow -> read_new
 * -> new_only -> contracted, one step at a time forward, any number of steps
 * back (not out of contracted). Behaviour increments are off or on.
 *
 *   stage       writes go to              reads come from
 *   legacy      legacy                    legacy
 *   expanded    legacy                    legacy
 *   dual_write  legacy, then new          legacy
 *   shadow      legacy, then new          legacy; new compared (sampled)
 *   read_new    new, then legacy          new
 *   new_only    new (+ change journal)    new
 *   contracted  new                       new
 */
#ifndef TS_STAGE_H
#define TS_STAGE_H

#include "ts_error.h"

typedef enum ts_stage {
    TS_STAGE_LEGACY = 0,
    TS_STAGE_EXPANDED,
    TS_STAGE_DUAL_WRITE,
    TS_STAGE_SHADOW,
    TS_STAGE_READ_NEW,
    TS_STAGE_NEW_ONLY,
    TS_STAGE_CONTRACTED,
    TS_STAGE_OFF,   /* behaviour increments */
    TS_STAGE_ON
} ts_stage;

typedef enum ts_side { TS_SIDE_NONE = 0, TS_SIDE_LEGACY, TS_SIDE_NEW } ts_side;

/* Where one operation goes at a stage. */
typedef struct ts_route {
    ts_side primary;     /* written first; assigns ids; its transaction carries the journal */
    ts_side secondary;   /* written after, in the same transaction or through the journal */
    ts_side read;        /* where reads are answered from */
    int shadow;          /* reads are also run on new and compared */
    int change_journal;  /* writes are journaled for a replay into legacy on rollback */
} ts_route;

const char *ts_stage_name(ts_stage st);
/* Parse a stage name; behaviour selects off/on instead of the data stages. */
int ts_stage_parse(const char *name, int behaviour, ts_stage *out, ts_error *err);
int ts_stage_is_behaviour(ts_stage st);

/*
 * The route at a stage. With kill_switch set, a stage not past read_new routes
 * as its legacy-first equivalent: reads from legacy, legacy written first (and
 * new still written where the stage writes it), no shadow reads. Stages past
 * read_new are not affected: legacy no longer has their writes.
 */
ts_route ts_stage_route(ts_stage st, int kill_switch);

/* The next stage forward, or -1 when there is none. */
int ts_stage_next(ts_stage st);

/*
 * Whether moving from -> to is a legal transition: exactly one step forward,
 * or back any number of steps (not from contracted, not to below legacy).
 * Fills err with what is allowed instead.
 */
int ts_stage_check_transition(ts_stage from, ts_stage to, ts_error *err);

#endif
