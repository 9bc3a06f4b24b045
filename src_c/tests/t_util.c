/*
 * t_util.c - the harness behind t.h: checks, guard page, feeding helpers.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "t.h"

long t_passed, t_failed;
const char *t_what = "";

int t_check(int ok, const char *file, int line, const char *expr)
{
    if (ok) {
        t_passed++;
        return 1;
    }
    t_failed++;
    if (t_failed <= 50)
        fprintf(stderr, "FAIL %s:%d [%s] (%s): %s\n", file, line,
                fp_scan_level_name(fp_scan_current()), t_what, expr);
    return 0;
}

int t_check_int(long long got, long long want, const char *file, int line, const char *expr)
{
    char msg[256];

    if (got == want)
        return t_check(1, file, line, expr);
    snprintf(msg, sizeof msg, "%s == %lld, expected %lld", expr, got, want);
    return t_check(0, file, line, msg);
}

static char *arena_end; /* first byte of the PROT_NONE page */

char *t_guard_at_end(size_t n)
{
    if (arena_end == NULL) {
        size_t page = (size_t)sysconf(_SC_PAGESIZE);
        size_t size = (T_GUARD_MAX + page - 1) / page * page;
        char *base = mmap(NULL, size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                          -1, 0);
        if (base == MAP_FAILED || mprotect(base + size, page, PROT_NONE) != 0) {
            perror("guard page");
            exit(2);
        }
        arena_end = base + size;
    }
    if (n > T_GUARD_MAX) {
        fprintf(stderr, "input of %zu bytes exceeds the guard arena\n", n);
        exit(2);
    }
    return arena_end - n;
}

char *t_guard(const void *data, size_t n)
{
    char *p = t_guard_at_end(n);
    if (n)
        memmove(p, data, n);
    return p;
}

char *t_guard_front(const void *data, size_t n)
{
    static char *start; /* first byte after the PROT_NONE page */

    if (start == NULL) {
        size_t page = (size_t)sysconf(_SC_PAGESIZE);
        size_t size = (T_GUARD_MAX + page - 1) / page * page;
        char *base = mmap(NULL, size + page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS,
                          -1, 0);
        if (base == MAP_FAILED || mprotect(base, page, PROT_NONE) != 0) {
            perror("front guard page");
            exit(2);
        }
        start = base + page;
    }
    if (n > T_GUARD_MAX) {
        fprintf(stderr, "input of %zu bytes exceeds the guard arena\n", n);
        exit(2);
    }
    if (n)
        memmove(start, data, n);
    return start;
}

uint32_t t_rand(void)
{
    static uint32_t x = 2463534242u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    return x;
}

fp_limits t_limits(void)
{
    fp_limits l = {8192, 16384, 100};
    return l;
}

/* ---- heads ---- */

void t_head_feed(t_head *r, int response, unsigned req_flags, const char *in, size_t n,
                 const fp_limits *lim, const size_t *cuts, size_t ncuts)
{
    size_t k, upto;
    char *buf;

    memset(r, 0, sizeof *r);
    fp_message_init(&r->m, r->headers);
    for (k = 0; k <= ncuts; k++) {
        upto = k < ncuts ? cuts[k] : n;
        buf = t_guard(in, upto);
        r->ret = response ? fp_parse_response(&r->m, buf, upto, lim, req_flags)
                          : fp_parse_request(&r->m, buf, upto, lim);
        r->fed = upto;
        if (r->ret != FP_NEED_MORE)
            return;
    }
}

static int span_eq(fp_span a, fp_span b)
{
    return a.off == b.off && a.len == b.len;
}

int t_head_same(const t_head *a, const t_head *b)
{
    const fp_message *x = &a->m, *y = &b->m;
    uint32_t i;

    if (a->ret != b->ret)
        return 0;
    if (a->ret == FP_INVALID)
        return x->error == y->error;
    if (a->ret == FP_NEED_MORE)
        return 1;
    if (!span_eq(x->method, y->method) || !span_eq(x->target, y->target) ||
        !span_eq(x->reason, y->reason) || x->status != y->status ||
        x->minor_version != y->minor_version || x->num_headers != y->num_headers ||
        x->flags != y->flags || x->framing != y->framing || x->content_length != y->content_length)
        return 0;
    for (i = 0; i < x->num_headers; i++)
        if (!span_eq(x->headers[i].name, y->headers[i].name) ||
            !span_eq(x->headers[i].value, y->headers[i].value) || x->headers[i].id != y->headers[i].id)
            return 0;
    return 1;
}

void t_head_all(t_head *r, int response, unsigned req_flags, const char *in, size_t n,
                const fp_limits *lim)
{
    static t_head other;
    static size_t cuts[T_GUARD_MAX];
    size_t k;

    t_head_feed(r, response, req_flags, in, n, lim, NULL, 0);
    /* whole again, starting right after a guard page: nothing before buf[0]
     * may be read either */
    {
        fp_message_init(&other.m, other.headers);
        other.ret = response ? fp_parse_response(&other.m, t_guard_front(in, n), n, lim, req_flags)
                             : fp_parse_request(&other.m, t_guard_front(in, n), n, lim);
        CHECK(t_head_same(r, &other));
    }
    for (k = 0; k < n; k++)
        cuts[k] = k + 1;
    t_head_feed(&other, response, req_flags, in, n, lim, cuts, n);
    CHECK(t_head_same(r, &other));
    /* byte by byte, a result arrives exactly when the head is complete */
    if (r->ret > 0)
        CHECK_INT(other.fed, r->ret);
    for (k = 1; k < n; k++) {
        t_head_feed(&other, response, req_flags, in, n, lim, &k, 1);
        if (!CHECK(t_head_same(r, &other)))
            fprintf(stderr, "  split at %zu: ret %d error %d, whole: ret %d error %d\n", k,
                    other.ret, other.m.error, r->ret, r->m.error);
    }
}

int t_span_is(const char *buf, fp_span s, const char *want)
{
    return s.len == strlen(want) && memcmp(buf + s.off, want, s.len) == 0;
}

/* ---- chunked ---- */

static void collect(t_chunk *r, const char *src, size_t n)
{
    if (r->data_len + n > T_CHUNK_DATA_MAX) {
        fprintf(stderr, "chunked test data too large\n");
        exit(2);
    }
    memcpy(r->data + r->data_len, src, n);
    r->data_len += n;
}

/* Feeds one window; returns 0 to go on, 1 when done or failed. */
static int chunk_window(t_chunk *r, fp_chunked *d, int decode, size_t span_cap, const char *in,
                        size_t n, const fp_limits *lim)
{
    fp_span spans[64];
    size_t off = 0, ns, k, len;
    int64_t got;
    char *buf = t_guard(in, n);

    while (off < n) {
        if (decode) {
            len = n - off;
            got = fp_chunked_decode(d, buf + off, &len, lim);
            collect(r, buf + off, len);
        } else {
            ns = span_cap;
            got = fp_chunked_scan(d, buf + off, n - off, spans, &ns, lim);
            for (k = 0; got >= 0 && k < ns; k++)
                collect(r, buf + off + spans[k].off, spans[k].len);
        }
        if (got < 0) {
            r->consumed = FP_INVALID;
            r->error = d->error;
            return 1;
        }
        r->consumed += got;
        off += (size_t)got;
        if (d->done)
            return 1;
        /* not done: decode takes the whole window, scan makes progress */
        if (!CHECK(got > 0 && (!decode || off == n)))
            return 1;
    }
    return 0;
}

void t_chunk_feed(t_chunk *r, int decode, size_t span_cap, const char *in, size_t n,
                  const fp_limits *lim, const size_t *cuts, size_t ncuts)
{
    fp_chunked d;
    size_t k, from = 0, upto;

    r->consumed = 0;
    r->error = 0;
    r->data_len = 0;
    fp_chunked_init(&d);
    for (k = 0; k <= ncuts; k++) {
        upto = k < ncuts ? cuts[k] : n;
        if (chunk_window(r, &d, decode, span_cap, in + from, upto - from, lim))
            break;
        from = upto;
    }
    r->done = d.done;
    r->data_bytes = d.data_bytes;
}

static int chunk_same(const t_chunk *a, const t_chunk *b)
{
    if (a->consumed != b->consumed || a->error != b->error)
        return 0;
    if (a->consumed == FP_INVALID)
        return 1;
    return a->done == b->done && a->data_bytes == b->data_bytes && a->data_len == b->data_len &&
           memcmp(a->data, b->data, a->data_len) == 0;
}

void t_chunk_all(t_chunk *r, const char *in, size_t n, const fp_limits *lim)
{
    static t_chunk other;
    static size_t cuts[T_GUARD_MAX];
    static const size_t caps[] = {1, 64};
    size_t k, c;
    int decode;

    t_chunk_feed(r, 1, 0, in, n, lim, NULL, 0);
    for (k = 0; k < n; k++)
        cuts[k] = k + 1;
    for (decode = 0; decode <= 1; decode++) {
        for (c = 0; c < (decode ? 1 : 2); c++) {
            t_chunk_feed(&other, decode, caps[c], in, n, lim, NULL, 0);
            CHECK(chunk_same(r, &other));
            t_chunk_feed(&other, decode, caps[c], in, n, lim, cuts, n);
            CHECK(chunk_same(r, &other));
            for (k = 1; k < n; k++) {
                t_chunk_feed(&other, decode, caps[c], in, n, lim, &k, 1);
                if (!CHECK(chunk_same(r, &other)))
                    fprintf(stderr, "  split at %zu (decode %d cap %zu): consumed %lld error %d\n", k,
                            decode, caps[c], (long long)other.consumed, other.error);
            }
        }
    }
}
