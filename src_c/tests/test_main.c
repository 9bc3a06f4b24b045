/*
 * test_main.c - runs every C test group at every scan level the CPU has,
 * and prints "N passed, M failed" last; exits non-zero on any failure.
 *
 * --dump-codes prints the error table, field ids and constants for
 * check_codes.py to compare with fastproxy/parser/codes.py.
 */
#include <stdio.h>
#include <string.h>

#include "fp_head.h"
#include "t.h"

static const char *const field_names[] = {
    "", "host", "content-length", "transfer-encoding", "connection", "keep-alive",
    "proxy-connection", "te", "trailer", "upgrade", "expect", "x-forwarded-for",
    "x-forwarded-proto", "x-forwarded-host", "forwarded", "x-real-ip", "x-request-id", "server",
    "x-powered-by",
};

/* One line per fact: "error CODE NAME STATUS MESSAGE", "field NAME ID",
 * "const NAME VALUE". */
static int dump_codes(void)
{
    char upper[64];
    size_t i, k;
    int e;

    for (e = 0; e < FP_E__COUNT; e++)
        printf("error %d %s %d %s\n", e, fp_error_name(e), fp_error_status(e), fp_error_message(e));
    printf("error_unknown %s %d\n", fp_error_name(FP_E__COUNT), fp_error_status(FP_E__COUNT));
    /* ids the parser gives each name as sent in lower and in upper case */
    for (i = 1; i < sizeof field_names / sizeof field_names[0]; i++) {
        const char *n = field_names[i];
        for (k = 0; n[k] && k + 1 < sizeof upper; k++)
            upper[k] = (n[k] >= 'a' && n[k] <= 'z') ? (char)(n[k] - 32) : n[k];
        upper[k] = 0;
        printf("field %s %u %u\n", n, fp_field_id(n, strlen(n)), fp_field_id(upper, k));
    }
#define C(name) printf("const %s %lld\n", #name, (long long)FP_##name)
    C(BODY_NONE); C(BODY_LENGTH); C(BODY_CHUNKED); C(BODY_UNTIL_CLOSE);
    C(F_KEEP_ALIVE); C(F_CONN_CLOSE); C(F_CONN_KEEP_ALIVE); C(F_CONN_UPGRADE); C(F_CONN_OTHER);
    C(F_UPGRADE); C(F_EXPECT_CONTINUE); C(F_HAS_CONTENT_LENGTH); C(F_HAS_TRANSFER_ENCODING);
    C(F_TUNNEL); C(REQ_HEAD); C(REQ_CONNECT); C(SCAN_SCALAR); C(SCAN_SSE42); C(SCAN_AVX2);
    C(CHUNK_LINE_MAX); C(H__COUNT);
#undef C
    for (e = 0; e <= FP_SCAN_AVX2; e++)
        printf("scan %d %s\n", e, fp_scan_level_name(e));
    return 0;
}

int main(int argc, char **argv)
{
    int best, level;

    if (argc > 1 && strcmp(argv[1], "--dump-codes") == 0)
        return dump_codes();
    best = fp_scan_detect();
    printf("best scan level on this CPU: %s\n", fp_scan_level_name(best));
    t_what = "scanners";
    test_scan();
    t_what = "errors";
    test_errors();
    for (level = FP_SCAN_SCALAR; level <= best; level++) {
        t_what = "select";
        CHECK_INT(fp_scan_select(level), level);
        CHECK_INT(fp_scan_current(), level);
        test_request();
        test_response();
        test_vectors();
        if (level == FP_SCAN_SCALAR) /* chunked decoding uses no scanner */
            test_chunked();
        printf("level %-7s done: %ld passed, %ld failed so far\n", fp_scan_level_name(level),
               t_passed, t_failed);
    }
    printf("%ld passed, %ld failed\n", t_passed, t_failed);
    return t_failed != 0;
}
