/*
 * test_request.c - request heads: results and spans, field ids, every head
 * error code, incremental state, repeat calls, and a mutation fuzz that
 * checks whole / byte-by-byte / split feeding and all scan levels agree.
 * (The shared vectors in test_vectors.c cover the rules case by case.)
 */
#include <stddef.h>
#include <stdio.h>
#include <string.h>

#include "fp_head.h"
#include "t.h"

#define LIT(s) s, sizeof(s) - 1

static const char browser[] =
    "GET /search?q=fast+proxy&lang=en HTTP/1.1\r\n"
    "Host: www.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8\r\n"
    "Accept-Language: en-US,en;q=0.5\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Referer: https://www.example.com/\r\n"
    "Connection: keep-alive\r\n"
    "Cookie: session=abc123; theme=dark\r\n"
    "Upgrade-Insecure-Requests: 1\r\n"
    "Sec-Fetch-Dest: document\r\n"
    "Sec-Fetch-Mode: navigate\r\n"
    "X-Forwarded-For:  \t 192.0.2.1 \t\r\n"
    "\r\n";

static void check_browser(void)
{
    static t_head r;
    fp_limits lim = t_limits();
    const fp_message *m = &r.m;
    const char *b = browser;

    t_what = "browser request";
    t_head_all(&r, 0, 0, LIT(browser), &lim);
    CHECK_INT(r.ret, sizeof browser - 1);
    CHECK(t_span_is(b, m->method, "GET"));
    CHECK(t_span_is(b, m->target, "/search?q=fast+proxy&lang=en"));
    CHECK_INT(m->minor_version, 1);
    CHECK_INT(m->num_headers, 12);
    CHECK(t_span_is(b, m->headers[0].name, "Host"));
    CHECK(t_span_is(b, m->headers[0].value, "www.example.com"));
    CHECK_INT(m->headers[0].id, FP_H_HOST);
    CHECK_INT(m->headers[1].id, FP_H_OTHER);
    CHECK(t_span_is(b, m->headers[6].name, "Connection"));
    CHECK_INT(m->headers[6].id, FP_H_CONNECTION);
    CHECK(t_span_is(b, m->headers[7].value, "session=abc123; theme=dark"));
    CHECK(t_span_is(b, m->headers[11].name, "X-Forwarded-For"));
    CHECK(t_span_is(b, m->headers[11].value, "192.0.2.1")); /* OWS trimmed both sides */
    CHECK_INT(m->headers[11].id, FP_H_X_FORWARDED_FOR);
    CHECK_INT(m->flags, FP_F_KEEP_ALIVE | FP_F_CONN_KEEP_ALIVE);
    CHECK_INT(m->framing, FP_BODY_NONE);
    CHECK_INT(m->content_length, 0);
    CHECK_INT(m->error, 0);
}

/* Every tagged name, in odd case, gets its id; near-misses get none. */
static void check_field_ids(void)
{
    static const char req[] =
        "POST /u HTTP/1.1\r\nhOST: h\r\nCONTENT-length: 3\r\nconnection: Upgrade, x-y\r\n"
        "Keep-Alive: timeout=5\r\nProxy-Connection: close\r\nTE: trailers\r\nTrailer: X\r\n"
        "UPGRADE: websocket\r\nExpect: 100-CONTINUE\r\nX-Forwarded-For: a\r\n"
        "x-forwarded-PROTO: https\r\nX-Forwarded-Host: h\r\nForwarded: for=a\r\n"
        "X-Real-IP: a\r\nX-Request-ID: 1\r\nServer: s\r\nX-Powered-By: p\r\n"
        "Hosts: x\r\nContent-Lengths: 1\r\nT: x\r\nX-Forwarded-Fo: a\r\n\r\n";
    static const uint32_t ids[] = {
        FP_H_HOST, FP_H_CONTENT_LENGTH, FP_H_CONNECTION, FP_H_KEEP_ALIVE, FP_H_PROXY_CONNECTION,
        FP_H_TE, FP_H_TRAILER, FP_H_UPGRADE, FP_H_EXPECT, FP_H_X_FORWARDED_FOR,
        FP_H_X_FORWARDED_PROTO, FP_H_X_FORWARDED_HOST, FP_H_FORWARDED, FP_H_X_REAL_IP,
        FP_H_X_REQUEST_ID, FP_H_SERVER, FP_H_X_POWERED_BY, 0, 0, 0, 0,
    };
    static t_head r;
    fp_limits lim = t_limits();
    size_t i;

    t_what = "field ids";
    t_head_feed(&r, 0, 0, LIT(req), &lim, NULL, 0);
    CHECK_INT(r.ret, sizeof req - 1);
    CHECK_INT(r.m.num_headers, sizeof ids / sizeof ids[0]);
    for (i = 0; i < sizeof ids / sizeof ids[0] && i < r.m.num_headers; i++)
        CHECK_INT(r.m.headers[i].id, ids[i]);
    CHECK_INT(r.m.flags, FP_F_KEEP_ALIVE | FP_F_CONN_UPGRADE | FP_F_CONN_OTHER | FP_F_UPGRADE |
                             FP_F_EXPECT_CONTINUE | FP_F_HAS_CONTENT_LENGTH);
    CHECK_INT(r.m.framing, FP_BODY_LENGTH);
    CHECK_INT(r.m.content_length, 3);
}

/* Every byte of every tagged name matters and every letter's case does
 * not (fp_field_id compares words, with overlapping tails). */
static void check_field_id_bytes(void)
{
    static const char *const names[] = {
        "", "host", "content-length", "transfer-encoding", "connection", "keep-alive",
        "proxy-connection", "te", "trailer", "upgrade", "expect", "x-forwarded-for",
        "x-forwarded-proto", "x-forwarded-host", "forwarded", "x-real-ip", "x-request-id",
        "server", "x-powered-by",
    };
    char name[32];
    unsigned id;
    size_t i, n;

    t_what = "field id bytes";
    for (id = 1; id < FP_H__COUNT; id++) {
        n = strlen(names[id]);
        memcpy(name, names[id], n);
        CHECK_INT(fp_field_id(name, n), id);
        for (i = 0; i < n; i++) {
            char c = name[i];
            if (c >= 'a' && c <= 'z') {
                name[i] = (char)(c - 32);
                CHECK_INT(fp_field_id(name, n), id);
            }
            name[i] = c == 'q' ? 'x' : 'q';
            CHECK_INT(fp_field_id(name, n), FP_H_OTHER);
            name[i] = c;
        }
        CHECK_INT(fp_field_id(name, n - 1), FP_H_OTHER);
    }
}

struct err_case {
    const char *what;
    const char *in;
    size_t n;
    int error;
    uint32_t uri, bytes, count; /* limits, 0: default */
};
#define E(what, s, err) {what, s, sizeof(s) - 1, err, 0, 0, 0}
#define EL(what, s, err, u, b, c) {what, s, sizeof(s) - 1, err, u, b, c}
#define H11 "GET / HTTP/1.1\r\nHost: a\r\n"

static const struct err_case errors[] = {
    E("no space", "GET\r\n\r\n", FP_E_BAD_REQUEST_LINE),
    E("second space missing", "GET /\r\n\r\n", FP_E_BAD_REQUEST_LINE),
    E("empty target", "GET  / HTTP/1.1\r\n\r\n", FP_E_BAD_REQUEST_LINE),
    E("method @", "G@T / HTTP/1.1\r\n\r\n", FP_E_BAD_METHOD),
    E("target #", "GET /a#b HTTP/1.1\r\nHost: a\r\n\r\n", FP_E_BAD_TARGET),
    E("target form", "GET a HTTP/1.1\r\nHost: a\r\n\r\n", FP_E_BAD_TARGET),
    E("absolute, empty authority", "GET http:///x HTTP/1.1\r\nHost: a\r\n\r\n", FP_E_BAD_TARGET),
    E("connect port 65536", "CONNECT a:65536 HTTP/1.1\r\nHost: a\r\n\r\n", FP_E_BAD_TARGET),
    E("connect port 6 digits", "CONNECT a:000080 HTTP/1.1\r\nHost: a\r\n\r\n", FP_E_BAD_TARGET),
    E("connect query", "CONNECT a?b:80 HTTP/1.1\r\nHost: a\r\n\r\n", FP_E_BAD_TARGET),
    EL("uri too long", "GET /abcdef HTTP/1.1\r\n", FP_E_URI_TOO_LONG, 5, 0, 0),
    EL("uri too long, incomplete", "GET /abcdef", FP_E_URI_TOO_LONG, 5, 0, 0),
    E("version", "GET / HTTP/1.1x\r\n\r\n", FP_E_BAD_VERSION),
    E("version 2", "GET / HTTP/2.0\r\n\r\n", FP_E_VERSION_NOT_SUPPORTED),
    E("bare cr", H11 "X: a\rb\r\n\r\n", FP_E_BARE_CR),
    E("bare cr, incomplete proven", H11 "X: a\rb", FP_E_NONE), /* need more */
    E("bare lf", H11 "X: a\n\r\n", FP_E_BARE_LF),
    E("bare lf final", H11 "\n", FP_E_BARE_LF),
    E("obs fold", H11 "X: a\r\n b\r\n\r\n", FP_E_OBS_FOLD),
    E("no colon", H11 "X a\r\n\r\n", FP_E_BAD_FIELD_NAME),
    E("empty name", H11 ": a\r\n\r\n", FP_E_BAD_FIELD_NAME),
    E("space before colon", H11 "X : a\r\n\r\n", FP_E_SPACE_BEFORE_COLON),
    E("bad value", H11 "X: a\001b\r\n\r\n", FP_E_BAD_FIELD_VALUE),
    E("bad value del", H11 "X: \177\r\n\r\n", FP_E_BAD_FIELD_VALUE),
    EL("head too large", H11 "X: 123456789\r\n\r\n", FP_E_HEADERS_TOO_LARGE, 0, 30, 0),
    EL("head too large incomplete", H11 "X: 123456789", FP_E_HEADERS_TOO_LARGE, 0, 30, 0),
    EL("too many", H11 "X: 1\r\n\r\n", FP_E_TOO_MANY_HEADERS, 0, 0, 1),
    EL("too many wins over bad line", H11 "X 1\n\r\n", FP_E_TOO_MANY_HEADERS, 0, 0, 1),
    E("host missing", "GET / HTTP/1.1\r\n\r\n", FP_E_BAD_HOST),
    E("host twice", H11 "Host: a\r\n\r\n", FP_E_BAD_HOST),
    E("host bad", "GET / HTTP/1.1\r\nHost: a b\r\n\r\n", FP_E_BAD_HOST),
    E("cl bad", H11 "Content-Length: 1a\r\n\r\n", FP_E_BAD_CONTENT_LENGTH),
    E("cl overflow", H11 "Content-Length: 9223372036854775808\r\n\r\n", FP_E_BAD_CONTENT_LENGTH),
    E("cl conflict", H11 "Content-Length: 1\r\ncontent-length: 2\r\n\r\n",
      FP_E_CONFLICTING_CONTENT_LENGTH),
    E("cl with te", H11 "Content-Length: 1\r\nTransfer-Encoding: chunked\r\n\r\n",
      FP_E_CONTENT_LENGTH_WITH_TE),
    E("te not last", H11 "Transfer-Encoding: chunked, gzip\r\n\r\n", FP_E_BAD_TRANSFER_ENCODING),
    E("te unknown", H11 "Transfer-Encoding: br, chunked\r\n\r\n", FP_E_UNKNOWN_TRANSFER_CODING),
    E("te 1.0", "POST / HTTP/1.0\r\nTransfer-Encoding: chunked\r\n\r\n", FP_E_TE_IN_HTTP10),
    E("connection not token", H11 "Connection: a b\r\n\r\n", FP_E_BAD_FIELD_VALUE),
    E("valid, for contrast", H11 "Content-Length: 007, 7\r\n\r\n", FP_E_NONE),
};

static void check_errors(void)
{
    static t_head r;
    size_t i;

    for (i = 0; i < sizeof errors / sizeof errors[0]; i++) {
        const struct err_case *c = &errors[i];
        fp_limits lim = t_limits();
        if (c->uri)
            lim.max_uri_bytes = c->uri;
        if (c->bytes)
            lim.max_header_bytes = c->bytes;
        if (c->count)
            lim.max_header_count = c->count;
        t_what = c->what;
        t_head_all(&r, 0, 0, c->in, c->n, &lim);
        if (c->error) {
            CHECK_INT(r.ret, FP_INVALID);
            CHECK_INT(r.m.error, c->error);
        } else {
            CHECK(r.ret != FP_INVALID);
        }
    }
}

/* A resumed call looks for the LF only in bytes it has not scanned. */
static void check_incremental_state(void)
{
    static const char in[] = "GET /abc HTTP/1.1\r\nHost: a\r\nX-Long: 0123456789abcdef\r\n\r\n";
    fp_limits lim = t_limits();
    fp_header hs[8];
    fp_message m;
    size_t n, line = 28; /* offset of "X-Long" */
    int ret;

    t_what = "incremental state";
    fp_message_init(&m, hs);
    ret = fp_parse_request(&m, t_guard(in, 7), 7, &lim); /* "GET /ab" */
    CHECK_INT(ret, FP_NEED_MORE);
    CHECK_INT(m.scan, 7);
    CHECK_INT(m.target_run, 4); /* the run starts after "GET " */
    ret = fp_parse_request(&m, t_guard(in, 12), 12, &lim); /* "GET /abc HTT" */
    CHECK_INT(ret, FP_NEED_MORE);
    CHECK_INT(m.scan, 12);
    CHECK_INT(m.target_end, 8);
    for (n = line + 1; n < line + 20; n++) {
        ret = fp_parse_request(&m, t_guard(in, n), n, &lim);
        CHECK_INT(ret, FP_NEED_MORE);
        CHECK_INT(m.pos, line);
        CHECK_INT(m.scan, n - line);
        CHECK_INT(m.num_headers, 1);
    }
    ret = fp_parse_request(&m, t_guard(in, sizeof in - 1), sizeof in - 1, &lim);
    CHECK_INT(ret, sizeof in - 1);
    CHECK_INT(m.num_headers, 2);
    /* a call after the result gives it again, and reads nothing */
    CHECK_INT(fp_parse_request(&m, t_guard("", 0), sizeof in - 1, &lim), sizeof in - 1);
}

/* fp_message_init clears every byte but the header pointer. */
static void check_init(void)
{
    fp_message m, zero;
    fp_header hs[1];

    t_what = "init";
    memset(&m, 0xa5, sizeof m);
    memset(&zero, 0, sizeof zero);
    fp_message_init(&m, hs);
    CHECK(m.headers == hs);
    m.headers = NULL;
    /* up to the last member: trailing padding is not a field */
    CHECK(memcmp(&m, &zero, offsetof(fp_message, error) + sizeof m.error) == 0);
}

static void check_repeat_and_edges(void)
{
    fp_limits lim = t_limits();
    fp_message m;
    fp_header hs[4];
    static const char pipelined[] = "GET / HTTP/1.0\r\n\r\nGET /next HTTP/1.0\r\n\r\n";
    static const char bad[] = "GET / HTTP/1.1\r\nHost: a\r\nX: \001\r\n\r\n";
    int ret;

    t_what = "pipelined";
    fp_message_init(&m, NULL);
    lim.max_header_count = 0; /* no header array at all */
    ret = fp_parse_request(&m, t_guard(LIT(pipelined)), sizeof pipelined - 1, &lim);
    CHECK_INT(ret, 18);
    CHECK_INT(m.num_headers, 0);
    CHECK_INT(m.flags, 0);

    t_what = "failure is sticky";
    lim = t_limits();
    fp_message_init(&m, hs);
    CHECK_INT(fp_parse_request(&m, t_guard(LIT(bad)), sizeof bad - 1, &lim), FP_INVALID);
    CHECK_INT(m.error, FP_E_BAD_FIELD_VALUE);
    CHECK_INT(fp_parse_request(&m, t_guard(LIT(bad)), sizeof bad - 1, &lim), FP_INVALID);
    CHECK_INT(m.error, FP_E_BAD_FIELD_VALUE);

    t_what = "empty input";
    fp_message_init(&m, hs);
    CHECK_INT(fp_parse_request(&m, t_guard("", 0), 0, &lim), FP_NEED_MORE);

    t_what = "huge limits are capped";
    lim.max_header_bytes = UINT32_MAX;
    lim.max_uri_bytes = UINT32_MAX;
    fp_message_init(&m, hs);
    CHECK_INT(fp_parse_request(&m, t_guard(LIT(pipelined)), sizeof pipelined - 1, &lim), 18);
}

/* A 4 KiB cookie value and a long target, through all feeds. */
static void check_large(void)
{
    static char in[8192];
    static t_head r;
    fp_limits lim = t_limits();
    size_t n = 0, i;

    t_what = "large head";
    n += (size_t)sprintf(in + n, "GET /");
    for (i = 0; i < 700; i++)
        in[n++] = "abcdefghij/?=&%"[i % 15];
    n += (size_t)sprintf(in + n, " HTTP/1.1\r\nHost: example.com\r\nCookie: ");
    for (i = 0; i < 4096; i++)
        in[n++] = (char)(i % 7 == 0 ? ' ' : 0x21 + (int)(i % 90));
    n += (size_t)sprintf(in + n, "x\r\nX-After: 1\r\n\r\n");
    t_head_all(&r, 0, 0, in, n, &lim);
    CHECK_INT(r.ret, n);
    CHECK_INT(r.m.target.len, 701);
    CHECK_INT(r.m.headers[1].value.len, 4096);
    CHECK_INT(r.m.num_headers, 3);
}

/* Seeds for the mutation fuzz: valid requests exercising most rules. */
static const char *const seeds[] = {
    "GET / HTTP/1.1\r\nHost: a\r\n\r\n",
    "POST /x?y=1 HTTP/1.1\r\nHost: example.com:80\r\nContent-Length: 12\r\n"
    "Connection: keep-alive, Upgrade\r\nUpgrade: h2c\r\n\r\nhello world!",
    "\r\n\r\nPUT http://a.b/c HTTP/1.0\r\nConnection: keep-alive\r\nX-A:  v \r\n\r\n",
    "POST /c HTTP/1.1\r\nHost: h\r\nTransfer-Encoding: gzip , chunked\r\nExpect: 100-continue\r\n\r\n",
    "CONNECT [::1]:443 HTTP/1.1\r\nHost: [::1]:443\r\n\r\n",
    "OPTIONS * HTTP/1.1\r\nHost: a\r\nContent-Length: 0, 0\r\nX:\r\n\r\n",
};

static const char specials[] = "\r\n :\t\001\177,;/#@\"\200";

/* One random edit: flip, insert or delete a byte (special bytes often). */
static size_t mutate(char *buf, size_t n, size_t cap)
{
    size_t at = n ? t_rand() % n : 0;
    char c = (t_rand() & 1) ? specials[t_rand() % (sizeof specials - 1)] : (char)(t_rand() & 0xff);

    switch (t_rand() % 3) {
    case 0:
        if (n)
            buf[at] = c;
        return n;
    case 1:
        if (n + 1 > cap)
            return n;
        memmove(buf + at + 1, buf + at, n - at);
        buf[at] = c;
        return n + 1;
    default:
        if (n == 0)
            return n;
        memmove(buf + at, buf + at + 1, n - at - 1);
        return n - 1;
    }
}

/* Results at this level must be split-independent and equal the scalar
 * ones; the limits are small so the limit paths get hit too. */
static void check_fuzz(void)
{
    static char buf[600];
    static t_head r, ref;
    size_t i, k, n, edits;
    int level = fp_scan_current();

    t_what = "mutation fuzz";
    for (i = 0; i < 300; i++) {
        const char *seed = seeds[i % (sizeof seeds / sizeof seeds[0])];
        fp_limits lim = t_limits();
        n = strlen(seed);
        memcpy(buf, seed, n);
        edits = 1 + t_rand() % 3;
        for (k = 0; k < edits; k++)
            n = mutate(buf, n, sizeof buf);
        if (i % 4 == 1) {
            lim.max_uri_bytes = 1 + t_rand() % 24;
            lim.max_header_bytes = 10 + t_rand() % 120;
            lim.max_header_count = t_rand() % 5;
        }
        t_head_all(&r, 0, 0, buf, n, &lim);
        if (level != FP_SCAN_SCALAR) {
            fp_scan_select(FP_SCAN_SCALAR);
            t_head_feed(&ref, 0, 0, buf, n, &lim, NULL, 0);
            fp_scan_select(level);
            CHECK(t_head_same(&r, &ref));
        }
    }
}

/* Heads of many fields of every length, so that lines straddle the fast
 * path's 64-byte windows at every offset and values run past them; names
 * and Host values hold the bytes the windows treat apart (# ^ ` | in
 * names, : [ ] ( ) in Host).  One Host among them, mostly valid.
 * Split-independent, and equal to the scalar level, with or without a
 * mutation. */
static void check_window_fuzz(void)
{
    static const char *const names[] = {
        "X-A", "Accept", "Cookie", "User-Agent", "X-Very-Long-Field-Name-0123456789-abcdefghij",
        "a#b", "x^y", "q`r", "p|q", "Upgrade", "Keep-Alive",
    };
    static const char *const hosts[] = {
        "example.com", "a", "", "[::1]:8080", "h(o);s=t,x", "www.example.com:443",
        "verylonghostnameverylonghostnameverylonghostname.example.com:65535", "bad/host", "h@x",
    };
    static char buf[2048];
    static t_head r, ref;
    fp_limits lim = t_limits();
    size_t i, n, f, nf, host_at, len, k, taken = 0;
    int level = fp_scan_current();

    t_what = "window fuzz";
    for (i = 0; i < 40; i++) {
        n = (size_t)sprintf(buf, "GET /%.*s HTTP/1.1\r\n", (int)(t_rand() % 90),
                            "abcdefghijklmnopqrstuvwxyz0123456789/abcdefghijklmnopqrstuvwxyz"
                            "0123456789?a=b&c=d%41abcdefghijklmnop");
        nf = 3 + t_rand() % 12;
        host_at = t_rand() % nf;
        for (f = 0; f < nf; f++) {
            const char *name =
                f == host_at ? "Host" : names[t_rand() % (sizeof names / sizeof names[0])];
            n += (size_t)sprintf(buf + n, "%s:%s", name, t_rand() % 4 ? " " : "");
            if (f == host_at) {
                n += (size_t)sprintf(buf + n, "%s",
                                     hosts[t_rand() % (sizeof hosts / sizeof hosts[0])]);
            } else {
                for (len = t_rand() % 4 ? t_rand() % 40 : t_rand() % 150, k = 0; k < len; k++)
                    buf[n++] = (char)(k % 9 == 8 ? ' ' : 0x21 + (int)(t_rand() % 94));
            }
            if (t_rand() % 5 == 0)
                buf[n++] = '\t';
            buf[n++] = '\r';
            buf[n++] = '\n';
        }
        buf[n++] = '\r';
        buf[n++] = '\n';
        if (i % 3 == 2)
            n = mutate(buf, n, sizeof buf);
        t_head_all(&r, 0, 0, buf, n, &lim);
        taken += r.ret > 0 && r.m.num_headers > 2;
        if (level != FP_SCAN_SCALAR) {
            fp_scan_select(FP_SCAN_SCALAR);
            t_head_feed(&ref, 0, 0, buf, n, &lim, NULL, 0);
            fp_scan_select(level);
            CHECK(t_head_same(&r, &ref));
        }
    }
    CHECK(taken >= 15); /* valid heads too, not only errors */
}

void test_request(void)
{
    check_browser();
    check_field_ids();
    check_field_id_bytes();
    check_errors();
    check_incremental_state();
    check_init();
    check_repeat_and_edges();
    check_large();
    check_fuzz();
    check_window_fuzz();
}
