/* ts-verify: compares both stores row by row, checks invariants, proves isolation. */
#include <stdio.h>

#include "ts_vcli.h"

int main(int argc, char **argv)
{
    return ts_verify_main(argc, argv, stdout, stderr);
}
