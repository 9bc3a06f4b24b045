/*
 * test_response.c - response heads: results, the framing matrix (status x
 * request flags x length fields), status-line errors, and a mutation fuzz
 * for split and level agreement.
 */
#include <stdio.h>
#include <string.h>

#include "t.h"

#define LIT(s) s, sizeof(s) - 1

static void check_basic(void)
{
    static const char in[] = "HTTP/1.1 404 Not Found\r\nServer: x\r\nContent-Length: 0009\r\n"
                             "X-Powered-By: y\r\nConnection: close\r\n\r\nbody";
    static t_head r;
    fp_limits lim = t_limits();

    t_what = "response basic";
    t_head_all(&r, 1, 0, LIT(in), &lim);
    CHECK_INT(r.ret, sizeof in - 1 - 4);
    CHECK_INT(r.m.status, 404);
    CHECK(t_span_is(in, r.m.reason, "Not Found"));
    CHECK_INT(r.m.minor_version, 1);
    CHECK_INT(r.m.num_headers, 4);
    CHECK_INT(r.m.headers[0].id, FP_H_SERVER);
    CHECK_INT(r.m.headers[2].id, FP_H_X_POWERED_BY);
    CHECK_INT(r.m.framing, FP_BODY_LENGTH);
    CHECK_INT(r.m.content_length, 9);
    CHECK_INT(r.m.flags, FP_F_CONN_CLOSE | FP_F_HAS_CONTENT_LENGTH);
}

enum { B_NONE, B_CL, B_CHUNKED, B_GZIP };

/* The framing the header's response rules give. */
static int expected_framing(int status, unsigned req, int body, uint32_t *flags)
{
    *flags = 0;
    if (status == 101)
        *flags |= FP_F_UPGRADE;
    if ((req & FP_REQ_CONNECT) && status / 100 == 2) {
        *flags |= FP_F_TUNNEL;
        return FP_BODY_NONE;
    }
    if (status < 200 || status == 204 || status == 304 || (req & FP_REQ_HEAD))
        return FP_BODY_NONE;
    if (body == B_CHUNKED)
        return FP_BODY_CHUNKED;
    if (body == B_CL)
        return FP_BODY_LENGTH;
    return FP_BODY_UNTIL_CLOSE;
}

static void check_framing_matrix(void)
{
    static const int statuses[] = {100, 101, 103, 200, 204, 206, 299, 304, 404, 500};
    static const char *const bodies[] = {"", "Content-Length: 5\r\n", "Transfer-Encoding: chunked\r\n",
                                         "Transfer-Encoding: gzip\r\n"};
    static t_head r;
    fp_limits lim = t_limits();
    char in[256];
    size_t si, n;
    unsigned req;
    int body, minor;
    uint32_t flags;

    t_what = "framing matrix";
    for (si = 0; si < sizeof statuses / sizeof statuses[0]; si++)
        for (req = 0; req < 4; req++)
            for (body = 0; body < 4; body++)
                for (minor = 0; minor <= 1; minor++) {
                    int want;
                    n = (size_t)snprintf(in, sizeof in, "HTTP/1.%d %d X\r\n%s\r\n", minor,
                                         statuses[si], bodies[body]);
                    t_head_feed(&r, 1, req, in, n, &lim, NULL, 0);
                    if (minor == 0 && body >= B_CHUNKED) {
                        CHECK_INT(r.m.error, FP_E_TE_IN_HTTP10);
                        continue;
                    }
                    want = expected_framing(statuses[si], req, body, &flags);
                    if (!CHECK_INT(r.ret, n) || !CHECK_INT(r.m.framing, want))
                        fprintf(stderr, "  %s req %u\n", in, req);
                    CHECK_INT(r.m.flags & (FP_F_TUNNEL | FP_F_UPGRADE), flags);
                    CHECK_INT(!!(r.m.flags & FP_F_KEEP_ALIVE),
                              minor == 1 && want != FP_BODY_UNTIL_CLOSE);
                }
}

struct err_case {
    const char *what;
    const char *in;
    size_t n;
    int error;
};
#define E(what, s, err) {what, s, sizeof(s) - 1, err}

static const struct err_case errors[] = {
    E("no status", "HTTP/1.1\r\n\r\n", FP_E_BAD_STATUS_LINE),
    E("status 2 digits", "HTTP/1.1 20 OK\r\n\r\n", FP_E_BAD_STATUS_LINE),
    E("status 600", "HTTP/1.1 600 OK\r\n\r\n", FP_E_BAD_STATUS_LINE),
    E("status 099", "HTTP/1.1 099 OK\r\n\r\n", FP_E_BAD_STATUS_LINE),
    E("http/2", "HTTP/2.0 200 OK\r\n\r\n", FP_E_BAD_STATUS_LINE),
    E("reason control", "HTTP/1.1 200 O\002K\r\n\r\n", FP_E_BAD_STATUS_LINE),
    E("no sp before reason", "HTTP/1.1 200OK\r\n\r\n", FP_E_BAD_STATUS_LINE),
    E("bare lf", "HTTP/1.1 200 OK\n\r\n", FP_E_BARE_LF),
    E("bare cr", "HTTP/1.1 200 O\rK\r\n\r\n", FP_E_BARE_CR),
    E("te twice", "HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nTransfer-Encoding: chunked\r\n\r\n",
      FP_E_BAD_TRANSFER_ENCODING),
    E("te with cl on 304", "HTTP/1.1 304 OK\r\nTransfer-Encoding: x\r\nContent-Length: 1\r\n\r\n",
      FP_E_CONTENT_LENGTH_WITH_TE),
    E("te 1.0", "HTTP/1.0 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n", FP_E_TE_IN_HTTP10),
    E("cl conflict", "HTTP/1.1 200 OK\r\nContent-Length: 1,2\r\n\r\n",
      FP_E_CONFLICTING_CONTENT_LENGTH),
};

static void check_errors(void)
{
    static t_head r;
    fp_limits lim = t_limits();
    size_t i;

    for (i = 0; i < sizeof errors / sizeof errors[0]; i++) {
        t_what = errors[i].what;
        t_head_all(&r, 1, 0, errors[i].in, errors[i].n, &lim);
        CHECK_INT(r.ret, FP_INVALID);
        CHECK_INT(r.m.error, errors[i].error);
    }
}

static const char *const seeds[] = {
    "HTTP/1.1 200 OK\r\nContent-Length: 5\r\nConnection: keep-alive\r\n\r\nhello",
    "HTTP/1.0 304 Not Modified\r\nServer: s\r\n\r\n",
    "HTTP/1.1 200\r\nTransfer-Encoding: gzip, chunked\r\nX: y\r\n\r\n",
};

static void check_fuzz(void)
{
    static char buf[400];
    static t_head r, ref;
    static const char specials[] = "\r\n :\t\001\1770";
    size_t i, n, at;
    int level = fp_scan_current();

    t_what = "response fuzz";
    for (i = 0; i < 150; i++) {
        fp_limits lim = t_limits();
        n = strlen(seeds[i % 3]);
        memcpy(buf, seeds[i % 3], n);
        at = t_rand() % n;
        buf[at] = (t_rand() & 1) ? specials[t_rand() % (sizeof specials - 1)] : (char)t_rand();
        if (i % 3 == 2)
            lim.max_header_bytes = 10 + t_rand() % 60;
        t_head_all(&r, 1, t_rand() % 4, buf, n, &lim);
        if (level != FP_SCAN_SCALAR) {
            fp_scan_select(FP_SCAN_SCALAR);
            t_head_feed(&ref, 1, 0, buf, n, &lim, NULL, 0);
            fp_scan_select(level);
            t_head_feed(&r, 1, 0, buf, n, &lim, NULL, 0);
            CHECK(t_head_same(&r, &ref));
        }
    }
}

void test_response(void)
{
    check_basic();
    check_framing_matrix();
    check_errors();
    check_fuzz();
}
