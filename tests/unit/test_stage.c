/* test_stage.c: stage routing and legal transitions, as the stage table of the docs says. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <string.h>

#include "ts_stage.h"

static void assert_route(ts_stage st, int kill, ts_side primary, ts_side secondary, ts_side read,
                         int shadow, int journal)
{
    ts_route r = ts_stage_route(st, kill);
    if (r.primary != primary || r.secondary != secondary || r.read != read || r.shadow != shadow ||
        r.change_journal != journal)
        fail_msg("stage %s kill=%d routes wrong", ts_stage_name(st), kill);
}

static void test_routes(void **state)
{
    (void)state;
    const ts_side L = TS_SIDE_LEGACY, NW = TS_SIDE_NEW, X = TS_SIDE_NONE;
    assert_route(TS_STAGE_LEGACY, 0, L, X, L, 0, 0);
    assert_route(TS_STAGE_EXPANDED, 0, L, X, L, 0, 0);
    assert_route(TS_STAGE_DUAL_WRITE, 0, L, NW, L, 0, 0);
    assert_route(TS_STAGE_SHADOW, 0, L, NW, L, 1, 0);
    assert_route(TS_STAGE_READ_NEW, 0, NW, L, NW, 0, 0);
    assert_route(TS_STAGE_NEW_ONLY, 0, NW, X, NW, 0, 1);
    assert_route(TS_STAGE_CONTRACTED, 0, NW, X, NW, 0, 0);
}

/* The kill switch sends every stage up to read_new back to legacy reads and
   legacy-first writes, and leaves later stages alone. */
static void test_kill_switch(void **state)
{
    (void)state;
    const ts_side L = TS_SIDE_LEGACY, NW = TS_SIDE_NEW, X = TS_SIDE_NONE;
    assert_route(TS_STAGE_DUAL_WRITE, 1, L, NW, L, 0, 0);
    assert_route(TS_STAGE_SHADOW, 1, L, NW, L, 0, 0);
    assert_route(TS_STAGE_READ_NEW, 1, L, NW, L, 0, 0);
    assert_route(TS_STAGE_NEW_ONLY, 1, NW, X, NW, 0, 1);
}

static void test_transitions(void **state)
{
    (void)state;
    ts_error err;
    assert_int_equal(ts_stage_check_transition(TS_STAGE_LEGACY, TS_STAGE_EXPANDED, &err), 0);
    assert_int_equal(ts_stage_check_transition(TS_STAGE_NEW_ONLY, TS_STAGE_LEGACY, &err), 0);
    assert_int_equal(ts_stage_check_transition(TS_STAGE_LEGACY, TS_STAGE_DUAL_WRITE, &err), -1);
    assert_non_null(strstr(err.msg, "next stage is expanded"));
    assert_int_equal(ts_stage_check_transition(TS_STAGE_CONTRACTED, TS_STAGE_NEW_ONLY, &err), -1);
    assert_non_null(strstr(err.msg, "cannot leave contracted"));
    assert_int_equal(ts_stage_check_transition(TS_STAGE_SHADOW, TS_STAGE_SHADOW, &err), -1);
    assert_int_equal(ts_stage_check_transition(TS_STAGE_OFF, TS_STAGE_ON, &err), 0);
    assert_int_equal(ts_stage_check_transition(TS_STAGE_OFF, TS_STAGE_READ_NEW, &err), -1);
}

static void test_parse(void **state)
{
    (void)state;
    ts_error err;
    ts_stage st;
    assert_int_equal(ts_stage_parse("read_new", 0, &st, &err), 0);
    assert_int_equal(st, TS_STAGE_READ_NEW);
    assert_string_equal(ts_stage_name(st), "read_new");
    assert_int_equal(ts_stage_parse("on", 0, &st, &err), -1);
    assert_int_equal(ts_stage_parse("on", 1, &st, &err), 0);
    assert_int_equal(ts_stage_parse("READ_NEW'; --", 0, &st, &err), -1);
    assert_int_equal(err.code, TS_E_INVALID);
    assert_int_equal(ts_stage_parse(NULL, 0, &st, &err), -1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_routes),
        cmocka_unit_test(test_kill_switch),
        cmocka_unit_test(test_transitions),
        cmocka_unit_test(test_parse),
    };
    return cmocka_run_group_tests_name("stage", tests, NULL, NULL);
}
