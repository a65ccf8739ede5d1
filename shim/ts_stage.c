/* ts_stage.c: stage names, routing and legal transitions. */
#include "ts_stage.h"

#include <string.h>

static const char *const names[] = {
    "legacy", "expanded", "dual_write", "shadow", "read_new", "new_only", "contracted", "off", "on",
};

const char *ts_stage_name(ts_stage st)
{
    return (unsigned)st < sizeof names / sizeof names[0] ? names[st] : "unknown";
}

int ts_stage_is_behaviour(ts_stage st) { return st == TS_STAGE_OFF || st == TS_STAGE_ON; }

int ts_stage_parse(const char *name, int behaviour, ts_stage *out, ts_error *err)
{
    int lo = behaviour ? TS_STAGE_OFF : TS_STAGE_LEGACY;
    int hi = behaviour ? TS_STAGE_ON : TS_STAGE_CONTRACTED;
    for (int i = lo; name && i <= hi; i++)
        if (strcmp(name, names[i]) == 0) {
            *out = (ts_stage)i;
            return 0;
        }
    return ts_fail(err, TS_E_INVALID,
                   behaviour ? "unknown stage '%.40s' for a behaviour increment: use off or on"
                             : "unknown stage '%.40s': use legacy, expanded, dual_write, shadow, "
                               "read_new, new_only or contracted",
                   name ? name : "");
}

ts_route ts_stage_route(ts_stage st, int kill_switch)
{
    ts_route r = {TS_SIDE_LEGACY, TS_SIDE_NONE, TS_SIDE_LEGACY, 0, 0};
    switch (st) {
    case TS_STAGE_DUAL_WRITE:
        r.secondary = TS_SIDE_NEW;
        break;
    case TS_STAGE_SHADOW:
        r.secondary = TS_SIDE_NEW;
        r.shadow = !kill_switch;
        break;
    case TS_STAGE_READ_NEW:
        /* Kill switch: legacy-first again, which legacy can serve because
           read_new still writes it. */
        if (kill_switch) {
            r.secondary = TS_SIDE_NEW;
        } else {
            r = (ts_route){TS_SIDE_NEW, TS_SIDE_LEGACY, TS_SIDE_NEW, 0, 0};
        }
        break;
    case TS_STAGE_NEW_ONLY:
        r = (ts_route){TS_SIDE_NEW, TS_SIDE_NONE, TS_SIDE_NEW, 0, 1};
        break;
    case TS_STAGE_CONTRACTED:
        r = (ts_route){TS_SIDE_NEW, TS_SIDE_NONE, TS_SIDE_NEW, 0, 0};
        break;
    default: /* legacy, expanded, and behaviour stages (no data routing) */
        break;
    }
    return r;
}

int ts_stage_next(ts_stage st)
{
    if (st == TS_STAGE_OFF)
        return TS_STAGE_ON;
    if (st < TS_STAGE_CONTRACTED)
        return st + 1;
    return -1;
}

int ts_stage_check_transition(ts_stage from, ts_stage to, ts_error *err)
{
    if (ts_stage_is_behaviour(from) != ts_stage_is_behaviour(to))
        return ts_fail(err, TS_E_STATE, "cannot move from %s to %s: a behaviour increment is "
                       "off or on, a data increment walks the data stages",
                       ts_stage_name(from), ts_stage_name(to));
    if (from == to)
        return ts_fail(err, TS_E_STATE, "the increment is already at %s", ts_stage_name(to));
    if (from == TS_STAGE_CONTRACTED)
        return ts_fail(err, TS_E_STATE, "cannot leave contracted: the legacy tables are retired; "
                       "restore them from a backup if you must go back");
    if (to > from && (int)to != ts_stage_next(from))
        return ts_fail(err, TS_E_STATE,
                       "cannot skip from %s to %s: forward moves go one stage at a time; "
                       "the next stage is %s",
                       ts_stage_name(from), ts_stage_name(to), ts_stage_name((ts_stage)ts_stage_next(from)));
    return 0;
}
