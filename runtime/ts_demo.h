/*
 * ts_demo.h: a handler that needs no data, to run the transport before the
 * data-backed handlers exist (ts-bot --demo).
 *
 * /start and /menu answer with the welcome text and the main menu; the menu
 * button edits the message back to the menu; every other button answers "not
 * available"; any other message gets "unknown command" and the menu. Nothing
 * is stored, so nothing needs exactly-once care.
 */
#ifndef TS_DEMO_H
#define TS_DEMO_H

#include "ts_bot.h"

ts_handler ts_demo_handler(void);

#endif
