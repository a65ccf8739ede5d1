/* ts_check.c: placeholder while being written. */
#include "ts_check.h"
int ts_check_run(ts_store *legacy, ts_store *nw, const ts_manifest *m, const ts_check_opts *o,
                 ts_vreport *r, ts_error *err)
{ (void)legacy; (void)nw; (void)m; (void)o; (void)r; return ts_fail(err, TS_E_USAGE, "todo"); }
