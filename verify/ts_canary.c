#include "ts_canary.h"
int ts_canary_run(ts_store *nw, const ts_manifest *m, ts_vreport *r, ts_error *err)
{ (void)nw; (void)m; (void)r; return ts_fail(err, TS_E_USAGE, "todo"); }
