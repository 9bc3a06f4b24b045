/*
 * test_errors.c - the error tables: every code has a name, a status and a
 * text, and out-of-range codes get the documented fallbacks.  (check_codes.py
 * compares the tables with fastproxy/parser/codes.py.)
 */
#include <string.h>

#include "t.h"

void test_errors(void)
{
    int e;

    for (e = 0; e < FP_E__COUNT; e++) {
        int st = fp_error_status(e);
        CHECK(fp_error_name(e) != NULL && strcmp(fp_error_name(e), "unknown") != 0);
        CHECK(fp_error_message(e) != NULL && fp_error_message(e)[0] != '\0');
        CHECK(st == 200 || st == 400 || st == 414 || st == 431 || st == 501 || st == 502 || st == 505);
    }
    CHECK_INT(fp_error_status(FP_E_URI_TOO_LONG), 414);
    CHECK_INT(fp_error_status(FP_E_TOO_MANY_HEADERS), 431);
    CHECK_INT(fp_error_status(FP_E_UNKNOWN_TRANSFER_CODING), 501);
    CHECK_INT(fp_error_status(FP_E_BAD_STATUS_LINE), 502);
    CHECK_INT(fp_error_status(FP_E_VERSION_NOT_SUPPORTED), 505);
    CHECK(strcmp(fp_error_name(FP_E_BAD_METHOD), "bad_method") == 0);
    CHECK(strcmp(fp_error_name(-1), "unknown") == 0);
    CHECK(strcmp(fp_error_name(FP_E__COUNT), "unknown") == 0);
    CHECK_INT(fp_error_status(-1), 400);
    CHECK_INT(fp_error_status(1000), 400);
    CHECK(fp_error_message(1000) != NULL);
}
