/*
 * test_chunked.c - chunked scan and decode: span offsets, a full span
 * array, decoding in place with the next message left intact, large sizes,
 * sticky states, every chunked error code, and a mutation fuzz checking
 * that scan, decode and every split agree.
 */
#include <string.h>

#include "t.h"

#define LIT(s) s, sizeof(s) - 1

static void check_spans(void)
{
    static const char in[] = "5\r\nhello\r\n6;x=1\r\n world\r\n0\r\nT: 1\r\n\r\nNEXT";
    fp_limits lim = t_limits();
    fp_chunked d;
    fp_span sp[4];
    size_t ns = 4;
    const char *buf = t_guard(LIT(in));
    int64_t got;

    t_what = "spans";
    fp_chunked_init(&d);
    got = fp_chunked_scan(&d, buf, sizeof in - 1, sp, &ns, &lim);
    CHECK_INT(got, sizeof in - 1 - 4);
    CHECK_INT(ns, 2);
    CHECK(sp[0].off == 3 && sp[0].len == 5);
    CHECK(sp[1].off == 17 && sp[1].len == 6);
    CHECK(d.done == 1 && d.data_bytes == 11);
    /* after the end, nothing more is taken */
    ns = 4;
    CHECK_INT(fp_chunked_scan(&d, buf, sizeof in - 1, sp, &ns, &lim), 0);
    CHECK_INT(ns, 0);

    t_what = "span array full";
    fp_chunked_init(&d);
    ns = 1;
    got = fp_chunked_scan(&d, buf, sizeof in - 1, sp, &ns, &lim);
    CHECK_INT(got, 17); /* stops where the second data span starts */
    CHECK(ns == 1 && sp[0].off == 3);
    ns = 1;
    got = fp_chunked_scan(&d, buf + 17, sizeof in - 1 - 17, sp, &ns, &lim);
    CHECK_INT(got, sizeof in - 1 - 4 - 17);
    CHECK(ns == 1 && sp[0].off == 0 && sp[0].len == 6 && d.done);
}

static void check_decode_in_place(void)
{
    static const char in[] = "3\r\nabc\r\n2\r\nde\r\n0\r\n\r\nGET / HTTP/1.1\r\n";
    fp_limits lim = t_limits();
    fp_chunked d;
    char *buf = t_guard(LIT(in));
    size_t len = sizeof in - 1;
    int64_t got;

    t_what = "decode in place";
    fp_chunked_init(&d);
    got = fp_chunked_decode(&d, buf, &len, &lim);
    CHECK_INT(got, 20);
    CHECK_INT(len, 5);
    CHECK(memcmp(buf, "abcde", 5) == 0);
    CHECK(memcmp(buf + got, "GET / HTTP/1.1\r\n", 16) == 0); /* next message untouched */
    CHECK(d.done);
}

/* A large chunk crossing many windows is pure arithmetic. */
static void check_large_chunk(void)
{
    static char in[70000];
    static t_chunk r;
    fp_limits lim = t_limits();
    size_t n = 0, i, cuts[40];

    t_what = "large chunk";
    memcpy(in, "0000000000010000 ; big\r\n", 24);
    n = 24;
    for (i = 0; i < 0x10000; i++)
        in[n++] = (char)i;
    memcpy(in + n, "\r\n0\r\n\r\n", 7);
    n += 7;
    for (i = 0; i < 40; i++)
        cuts[i] = 10 + i * 1700;
    t_chunk_feed(&r, 0, 1, in, n, &lim, cuts, 40);
    CHECK_INT(r.consumed, n);
    CHECK(r.done && r.data_bytes == 0x10000 && r.data_len == 0x10000);
    CHECK(memcmp(r.data, in + 24, 0x10000) == 0);
    t_chunk_feed(&r, 1, 0, in, n, &lim, cuts, 40);
    CHECK(r.done && r.data_len == 0x10000 && memcmp(r.data, in + 24, 0x10000) == 0);
}

static void check_sticky_and_limits(void)
{
    fp_limits lim = t_limits();
    fp_chunked d;
    fp_span sp[2];
    size_t ns = 2, len;
    char *buf;

    t_what = "failure is sticky";
    fp_chunked_init(&d);
    buf = t_guard(LIT("z\r\n"));
    CHECK_INT(fp_chunked_scan(&d, buf, 3, sp, &ns, &lim), FP_INVALID);
    CHECK_INT(d.error, FP_E_BAD_CHUNK_SIZE);
    ns = 2;
    buf = t_guard(LIT("5\r\n"));
    CHECK_INT(fp_chunked_scan(&d, buf, 3, sp, &ns, &lim), FP_INVALID);
    len = 3;
    CHECK_INT(fp_chunked_decode(&d, buf, &len, &lim), FP_INVALID);
    len = 0;
    CHECK_INT(fp_chunked_decode(&d, buf, &len, &lim), FP_INVALID);

    t_what = "largest chunk size";
    fp_chunked_init(&d);
    ns = 2;
    buf = t_guard(LIT("7FFFFFFFFFFFFFFF\r\nab"));
    CHECK_INT(fp_chunked_scan(&d, buf, 20, sp, &ns, &lim), 20);
    CHECK(ns == 1 && sp[0].off == 18 && sp[0].len == 2 && d.data_bytes == 2);
}

struct err_case {
    const char *what;
    const char *in;
    size_t n;
    int error;
    uint32_t bytes, count;
};
#define E(what, s, err) {what, s, sizeof(s) - 1, err, 16384, 100}
#define EL(what, s, err, b, c) {what, s, sizeof(s) - 1, err, b, c}

static const struct err_case errors[] = {
    E("size not hex", "g\r\n", FP_E_BAD_CHUNK_SIZE),
    E("size then junk", "1x\r\n", FP_E_BAD_CHUNK_SIZE),
    E("17 digits", "10000000000000000\r\n", FP_E_CHUNK_SIZE_TOO_LARGE),
    E("2^63", "8000000000000000\r\n", FP_E_CHUNK_SIZE_TOO_LARGE),
    E("ext after bws", "1 x\r\n", FP_E_BAD_CHUNK_EXTENSION),
    E("ext control", "1;\001\r\n", FP_E_BAD_CHUNK_EXTENSION),
    E("data end", "1\r\nab\r\n", FP_E_BAD_CHUNK_DATA_END),
    E("bare lf", "1\nx\r\n", FP_E_BARE_LF),
    E("bare cr", "1\r;\r\n", FP_E_BARE_CR),
    E("trailer fold", "0\r\nA: 1\r\n\t2\r\n\r\n", FP_E_OBS_FOLD),
    E("trailer name", "0\r\nA@: 1\r\n\r\n", FP_E_BAD_FIELD_NAME),
    E("trailer space", "0\r\nA\t: 1\r\n\r\n", FP_E_SPACE_BEFORE_COLON),
    E("trailer value", "0\r\nA: \002\r\n\r\n", FP_E_BAD_FIELD_VALUE),
    E("trailer bare cr", "0\r\nA: 1\r\r\n\r\n", FP_E_BARE_CR),
    EL("trailer bytes", "0\r\nA: 1\r\n\r\n", FP_E_TRAILERS_TOO_LARGE, 7, 100),
    EL("trailer count", "0\r\nA: 1\r\nB: 2\r\n\r\n", FP_E_TRAILERS_TOO_LARGE, 100, 1),
};

static void check_errors(void)
{
    static t_chunk r;
    size_t i;
    char line[4200];

    for (i = 0; i < sizeof errors / sizeof errors[0]; i++) {
        fp_limits lim = t_limits();
        lim.max_header_bytes = errors[i].bytes;
        lim.max_header_count = errors[i].count;
        t_what = errors[i].what;
        t_chunk_all(&r, errors[i].in, errors[i].n, &lim);
        CHECK_INT(r.consumed, FP_INVALID);
        CHECK_INT(r.error, errors[i].error);
    }
    t_what = "size line too long";
    memset(line, 'a', sizeof line);
    memcpy(line, "1;", 2);
    {
        fp_limits lim = t_limits();
        t_chunk_feed(&r, 0, 4, line, sizeof line, &lim, NULL, 0);
    }
    CHECK_INT(r.error, FP_E_CHUNK_EXTENSION_TOO_LARGE);
}

static const char *const seeds[] = {
    "5\r\nhello\r\n0\r\n\r\n",
    "a;x=\"y\"\r\n0123456789\r\n1 \r\nZ\r\n00;z\r\nA: b\r\nC:\r\n\r\nrest",
    "3\r\n\r\n\r\r\n0\r\nX-T:  v \r\n\r\n",
};

static void check_fuzz(void)
{
    static char buf[200];
    static t_chunk r;
    static const char specials[] = "\r\n ;:\t0aF\001";
    size_t i, n, at;

    t_what = "chunked fuzz";
    for (i = 0; i < 250; i++) {
        fp_limits lim = t_limits();
        n = strlen(seeds[i % 3]);
        memcpy(buf, seeds[i % 3], n);
        at = t_rand() % n;
        buf[at] = (t_rand() & 1) ? specials[t_rand() % (sizeof specials - 1)] : (char)t_rand();
        if (i % 4 == 3) {
            lim.max_header_bytes = t_rand() % 20;
            lim.max_header_count = t_rand() % 3;
        }
        t_chunk_all(&r, buf, n, &lim);
    }
}

void test_chunked(void)
{
    check_spans();
    check_decode_in_place();
    check_large_chunk();
    check_sticky_and_limits();
    check_errors();
    check_fuzz();
}
