/*
 * fp_fields.c - the per-field rules (Content-Length, Transfer-Encoding,
 * Connection, Expect; Host's is inline in fp_head.h) and the end-of-head
 * rules that decide framing and keep-alive.  The rules themselves are in
 * the top comment of fp_http.h.
 */
#include <stdint.h>
#include <string.h>

#include "fp_head.h"
#include "fp_scan.h"

/* Comma-list walker.  *cur starts at the value, becomes NULL after the
 * last element.  Sets [*a, *b) to the next element without surrounding
 * OWS (possibly empty) and returns 1, or returns 0 when the list is done.
 * An empty value is one empty element. */
static int list_next(const char **cur, const char *end, const char **a, const char **b)
{
    const char *p = *cur, *comma;

    if (p == NULL)
        return 0;
    comma = memchr(p, ',', (size_t)(end - p));
    *b = comma ? comma : end;
    *cur = comma ? comma + 1 : NULL;
    while (p < *b && fp_is((unsigned char)*p, FP_C_OWS))
        p++;
    while (*b > p && fp_is((unsigned char)(*b)[-1], FP_C_OWS))
        (*b)--;
    *a = p;
    return 1;
}

/* 1 if [a, b) is a non-empty token. */
static int is_token(const char *a, const char *b)
{
    if (a == b)
        return 0;
    for (; a < b; a++)
        if (!fp_is((unsigned char)*a, FP_C_TCHAR))
            return 0;
    return 1;
}

/* Content-Length: a list of 1*DIGIT elements no greater than 2^63-1, all
 * equal to each other and to earlier fields.  Elements are judged left to
 * right and the first bad one decides: "5, 6, x" conflicts, "5, x, 6" is
 * malformed. */
static int content_length_rule(fp_message *m, const char *v, const char *e)
{
    const char *cur = v, *a, *b;
    int have = (m->flags & FP_F_HAS_CONTENT_LENGTH) != 0;
    uint64_t want = m->content_length, n;

    while (list_next(&cur, e, &a, &b)) {
        if (a == b)
            return FP_E_BAD_CONTENT_LENGTH;
        for (n = 0; a < b; a++) {
            unsigned d = (unsigned char)*a - '0';
            if (d > 9 || n > (UINT64_C(0x7fffffffffffffff) - d) / 10)
                return FP_E_BAD_CONTENT_LENGTH;
            n = n * 10 + d;
        }
        if (have && n != want)
            return FP_E_CONFLICTING_CONTENT_LENGTH;
        want = n;
        have = 1;
    }
    m->content_length = want;
    m->flags |= FP_F_HAS_CONTENT_LENGTH;
    return 0;
}

/* 1 if the token [a, b) is a transfer coding other than chunked that we
 * know by name. */
static int known_coding(const char *a, size_t n)
{
    switch (n) {
    case 4:
        return fp_ieq(a, "gzip", 4);
    case 6:
        return fp_ieq(a, "x-gzip", 6);
    case 7:
        return fp_ieq(a, "deflate", 7);
    case 8:
        return fp_ieq(a, "compress", 8) || fp_ieq(a, "identity", 8);
    case 10:
        return fp_ieq(a, "x-compress", 10);
    default:
        return 0;
    }
}

/* Transfer-Encoding: every element a token (no parameters, none empty);
 * the codings are summarised in m->seen for fp_head_finish(). */
static int transfer_encoding_rule(fp_message *m, const char *v, const char *e)
{
    const char *cur = v, *a, *b;
    uint32_t s = m->seen;

    while (list_next(&cur, e, &a, &b)) {
        if (!is_token(a, b))
            return FP_E_BAD_TRANSFER_ENCODING;
        if (b - a == 7 && fp_ieq(a, "chunked", 7)) {
            if (s & FP_SEEN_CHUNKED)
                s |= FP_SEEN_CHUNKED_TWICE;
            s |= FP_SEEN_CHUNKED | FP_SEEN_LAST_CHUNKED;
            continue;
        }
        if (!known_coding(a, (size_t)(b - a)))
            s |= FP_SEEN_UNKNOWN_CODING;
        s &= ~FP_SEEN_LAST_CHUNKED;
    }
    m->seen = s;
    m->flags |= FP_F_HAS_TRANSFER_ENCODING;
    return 0;
}

/* Connection: tokens (empty elements ignored), each setting a flag. */
static int connection_rule(fp_message *m, const char *v, const char *e)
{
    const char *cur = v, *a, *b;
    uint32_t f = 0;

    while (list_next(&cur, e, &a, &b)) {
        size_t n = (size_t)(b - a);
        if (n == 0)
            continue;
        if (!is_token(a, b))
            return FP_E_BAD_FIELD_VALUE;
        if (n == 5 && fp_ieq(a, "close", 5))
            f |= FP_F_CONN_CLOSE;
        else if (n == 10 && fp_ieq(a, "keep-alive", 10))
            f |= FP_F_CONN_KEEP_ALIVE;
        else if (n == 7 && fp_ieq(a, "upgrade", 7))
            f |= FP_F_CONN_UPGRADE;
        else
            f |= FP_F_CONN_OTHER;
    }
    m->flags |= f;
    return 0;
}

/* Host (requests): one field only, value bytes from the Host set (it may
 * be empty).  Returns 0 or FP_E_BAD_HOST. */
static int host_rule(const fp_message *m, const char *v, const char *e)
{
    for (; v < e; v++)
        if (!fp_is((unsigned char)*v, FP_C_HOST))
            return FP_E_BAD_HOST;
    return (m->seen & FP_SEEN(FP_H_HOST)) ? FP_E_BAD_HOST : 0;
}

/* See fp_head.h. */
int fp_field_apply(fp_message *m, unsigned id, const char *v, const char *e, int is_request)
{
    int err = 0;

    switch (id) {
    case FP_H_HOST:
        if (is_request)
            err = host_rule(m, v, e);
        break;
    case FP_H_CONTENT_LENGTH:
        err = content_length_rule(m, v, e);
        break;
    case FP_H_TRANSFER_ENCODING:
        err = transfer_encoding_rule(m, v, e);
        break;
    case FP_H_CONNECTION:
        err = connection_rule(m, v, e);
        break;
    case FP_H_EXPECT:
        if (is_request && m->minor_version >= 1 && e - v == 12 && fp_ieq(v, "100-continue", 12))
            m->flags |= FP_F_EXPECT_CONTINUE;
        break;
    default:
        break;
    }
    m->seen |= FP_SEEN(id);
    return err;
}

/* Framing of a response (the Transfer-Encoding checks already passed). */
static int response_framing(fp_message *m, unsigned req_flags)
{
    int st = m->status;

    if (st == 101)
        m->flags |= FP_F_UPGRADE;
    if ((req_flags & FP_REQ_CONNECT) && st >= 200 && st < 300) {
        m->flags |= FP_F_TUNNEL;
        return FP_BODY_NONE;
    }
    if (st < 200 || st == 204 || st == 304 || (req_flags & FP_REQ_HEAD))
        return FP_BODY_NONE;
    if (m->flags & FP_F_HAS_TRANSFER_ENCODING)
        return (m->seen & FP_SEEN_LAST_CHUNKED) ? FP_BODY_CHUNKED : FP_BODY_UNTIL_CLOSE;
    if (m->flags & FP_F_HAS_CONTENT_LENGTH)
        return FP_BODY_LENGTH;
    return FP_BODY_UNTIL_CLOSE;
}

/* End-of-head rules of a request, in the order fp_http.h lists them. */
static int request_finish(fp_message *m)
{
    uint32_t s = m->seen;

    if (m->minor_version >= 1 && !(s & FP_SEEN(FP_H_HOST)))
        return FP_E_BAD_HOST;
    if (m->flags & FP_F_HAS_TRANSFER_ENCODING) {
        if (m->minor_version == 0)
            return FP_E_TE_IN_HTTP10;
        if (m->flags & FP_F_HAS_CONTENT_LENGTH)
            return FP_E_CONTENT_LENGTH_WITH_TE;
        if (s & FP_SEEN_UNKNOWN_CODING)
            return FP_E_UNKNOWN_TRANSFER_CODING;
        if ((s & FP_SEEN_CHUNKED_TWICE) || !(s & FP_SEEN_LAST_CHUNKED))
            return FP_E_BAD_TRANSFER_ENCODING;
        m->framing = FP_BODY_CHUNKED;
    } else {
        m->framing = (m->flags & FP_F_HAS_CONTENT_LENGTH) ? FP_BODY_LENGTH : FP_BODY_NONE;
    }
    if ((m->flags & FP_F_CONN_UPGRADE) && (s & FP_SEEN(FP_H_UPGRADE)))
        m->flags |= FP_F_UPGRADE;
    return 0;
}

/* End-of-head rules of a response, in the order fp_http.h lists them. */
static int response_finish(fp_message *m, unsigned req_flags)
{
    if (m->flags & FP_F_HAS_TRANSFER_ENCODING) {
        if (m->minor_version == 0)
            return FP_E_TE_IN_HTTP10;
        if (m->flags & FP_F_HAS_CONTENT_LENGTH)
            return FP_E_CONTENT_LENGTH_WITH_TE;
        if (m->seen & FP_SEEN_CHUNKED_TWICE)
            return FP_E_BAD_TRANSFER_ENCODING;
    }
    m->framing = response_framing(m, req_flags);
    return 0;
}

/* See fp_head.h. */
int fp_head_finish(fp_message *m, int is_request, unsigned req_flags)
{
    int err = is_request ? request_finish(m) : response_finish(m, req_flags);
    uint32_t f = m->flags;
    int keep;

    if (err)
        return err;
    if (m->minor_version >= 1)
        keep = !(f & FP_F_CONN_CLOSE);
    else
        keep = (f & FP_F_CONN_KEEP_ALIVE) && !(f & FP_F_CONN_CLOSE);
    if (keep && m->framing != FP_BODY_UNTIL_CLOSE)
        m->flags |= FP_F_KEEP_ALIVE;
    return 0;
}
