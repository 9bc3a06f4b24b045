/*
 * fp_http.c - request and response heads: the line loop, the start lines
 * and the field-line syntax.  The rules are in the top comment of fp_http.h.
 *
 * Each line goes first through a fast path that accepts only a complete,
 * valid line and reads it once, scanning tokens and values with the
 * selected fp_scanners.  Anything else (an incomplete line, any error) goes
 * to the careful path, which finds the line's end and then applies the
 * checks one by one in the order the header gives, so the error reported
 * never depends on which path saw the line first.
 *
 * Incremental parsing: m->pos is the first line not yet complete, m->scan
 * how much of it is known to hold no LF.  A resumed call looks for the LF
 * from there only, then reads the now complete line once more: a line split
 * across calls costs one extra pass over that line, never over the head.
 */
#include <limits.h>
#include <string.h>

#include "fp_head.h"
#include "fp_scan.h"

enum { PH_START = 0, PH_FIELDS = 1, PH_DONE = 2, PH_FAILED = 3 };

/* Outcome of one line. */
enum { L_NEXT, L_END, L_STOP, L_FAIL, L_MORE };

/* See fp_http.h. */
void fp_message_init(fp_message *m, fp_header *headers)
{
    /* Field by field, not memset: GCC turns a 96-byte memset into REP STOS,
     * which costs more to start than a whole minimal parse.  The tests check
     * that every byte ends up zero. */
    static const fp_span none = {0, 0};

    m->pos = m->scan = m->fields_start = m->phase = 0;
    m->target_run = m->target_end = m->seen = 0;
    m->method = m->target = m->reason = none;
    m->status = m->minor_version = 0;
    m->num_headers = 0;
    m->headers = headers;
    m->flags = 0;
    m->framing = 0;
    m->content_length = 0;
    m->error = 0;
}

/* The head limit in bytes, capped so that a head length fits the int
 * return value. */
static size_t head_limit(const fp_limits *lim)
{
    return lim->max_header_bytes < INT_MAX ? lim->max_header_bytes : INT_MAX;
}

/* Records error and makes m fail again on any later call. */
static int fail(fp_message *m, int error)
{
    m->error = error;
    m->phase = PH_FAILED;
    return FP_INVALID;
}

/* fail() for the line helpers, which return L_* outcomes. */
static int line_fail(fp_message *m, int error)
{
    fail(m, error);
    return L_FAIL;
}

/* A line has no LF within the head limit: FP_E_HEADERS_TOO_LARGE if the
 * data already passes the limit, else FP_NEED_MORE. */
static int more_or_too_large(fp_message *m, size_t len, size_t limit)
{
    return len > limit ? fail(m, FP_E_HEADERS_TOO_LARGE) : FP_NEED_MORE;
}

/* The span of [a, b) as offsets into buf. */
static fp_span span(const char *buf, const char *a, const char *b)
{
    fp_span s = {(uint32_t)(a - buf), (uint32_t)(b - a)};
    return s;
}

/* ---- request target ------------------------------------------------------ */

/* authority-form for CONNECT: host ":" port, with a non-empty host holding
 * none of / ? @ and a port of 1 to 5 digits no greater than 65535. */
static int authority_form(const char *t, size_t n)
{
    const char *colon = NULL, *q;
    unsigned port = 0;

    for (q = t; q < t + n; q++) {
        if (*q == '/' || *q == '?' || *q == '@')
            return 0;
        if (*q == ':')
            colon = q;
    }
    if (colon == NULL || colon == t || t + n - colon - 1 < 1 || t + n - colon - 1 > 5)
        return 0;
    for (q = colon + 1; q < t + n; q++) {
        if (!fp_is((unsigned char)*q, FP_C_DIGIT))
            return 0;
        port = port * 10 + (unsigned)(*q - '0');
    }
    return port <= 65535;
}

/* absolute-form: scheme "://" and a non-empty authority (the bytes up to
 * the first / or ?), scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ). */
static int absolute_form(const char *t, size_t n)
{
    size_t i = 1;

    if (!fp_is((unsigned char)t[0], FP_C_ALPHA))
        return 0;
    while (i < n && (fp_is((unsigned char)t[i], FP_C_ALPHA | FP_C_DIGIT) || t[i] == '+' ||
                     t[i] == '-' || t[i] == '.'))
        i++;
    return n - i > 3 && t[i] == ':' && t[i + 1] == '/' && t[i + 2] == '/' && t[i + 3] != '/' &&
           t[i + 3] != '?';
}

/* 1 if the target t (n > 0 bytes, all in FP_C_TARGET) has a form allowed
 * for the method. */
static int target_form_ok(const char *method, size_t mlen, const char *t, size_t n)
{
    if (mlen == 7 && memcmp(method, "CONNECT", 7) == 0)
        return authority_form(t, n);
    if (t[0] == '/')
        return 1;
    if (n == 1 && t[0] == '*')
        return mlen == 7 && memcmp(method, "OPTIONS", 7) == 0;
    return absolute_form(t, n);
}

/* ---- request line -------------------------------------------------------- */

/* Takes the request line [m->pos, lf], now complete and within the
 * limits; applies header steps 3 to 5.  Returns L_NEXT (line taken, fields
 * follow), L_STOP (an empty line skipped) or L_FAIL. */
static int request_line_check(fp_message *m, const char *buf, const char *lf)
{
    const char *p = buf + m->pos, *cr, *sp1, *sp2, *v, *q;

    if (lf == p || lf[-1] != '\r')
        return line_fail(m, FP_E_BARE_LF);
    cr = lf - 1;
    if (memchr(p, '\r', (size_t)(cr - p)))
        return line_fail(m, FP_E_BARE_CR);
    if (cr == p) { /* an empty line before the request line */
        m->pos = (uint32_t)(lf + 1 - buf);
        return L_STOP;
    }
    sp1 = memchr(p, ' ', (size_t)(cr - p));
    if (sp1 == NULL || sp1 == p)
        return line_fail(m, FP_E_BAD_REQUEST_LINE);
    for (q = p; q < sp1; q++)
        if (!fp_is((unsigned char)*q, FP_C_TCHAR))
            return line_fail(m, FP_E_BAD_METHOD);
    sp2 = memchr(sp1 + 1, ' ', (size_t)(cr - sp1 - 1));
    if (sp2 == NULL || sp2 == sp1 + 1 || memchr(sp2 + 1, ' ', (size_t)(cr - sp2 - 1)))
        return line_fail(m, FP_E_BAD_REQUEST_LINE);
    v = sp2 + 1;
    if (cr - v != 8 || memcmp(v, "HTTP/", 5) != 0 || !fp_is((unsigned char)v[5], FP_C_DIGIT) ||
        v[6] != '.' || !fp_is((unsigned char)v[7], FP_C_DIGIT))
        return line_fail(m, FP_E_BAD_VERSION);
    if (v[5] != '1')
        return line_fail(m, FP_E_VERSION_NOT_SUPPORTED);
    for (q = sp1 + 1; q < sp2; q++)
        if (!fp_is((unsigned char)*q, FP_C_TARGET))
            return line_fail(m, FP_E_BAD_TARGET);
    if (!target_form_ok(p, (size_t)(sp1 - p), sp1 + 1, (size_t)(sp2 - sp1 - 1)))
        return line_fail(m, FP_E_BAD_TARGET);
    m->method = span(buf, p, sp1);
    m->target = span(buf, sp1 + 1, sp2);
    m->minor_version = v[7] - '0';
    m->pos = m->fields_start = (uint32_t)(lf + 1 - buf);
    m->phase = PH_FIELDS;
    return L_NEXT;
}

/* Fast path: a complete, valid request line within [m->pos, end) with an
 * HTTP/1.x version.  Returns L_NEXT with the line taken, or L_STOP, having
 * changed nothing, for anything else. */
static int request_line_fast(fp_message *m, const fp_scanners *sc, const char *buf,
                             const char *end, const fp_limits *lim)
{
    const char *p = buf + m->pos, *sp, *t, *te;

    te = sc->request_line(buf, p, end, &sp);
    if (sp == p || te == sp)
        return L_STOP;
    t = sp + 1;
    if (te == t || end - te < 11 || *te != ' ' || (size_t)(te - t) > lim->max_uri_bytes)
        return L_STOP;
    if (memcmp(te + 1, "HTTP/1.", 7) != 0 || !fp_is((unsigned char)te[8], FP_C_DIGIT) ||
        te[9] != '\r' || te[10] != '\n')
        return L_STOP;
    if (!target_form_ok(p, (size_t)(sp - p), t, (size_t)(te - t)))
        return L_STOP;
    m->method = span(buf, p, sp);
    m->target = span(buf, t, te);
    m->minor_version = te[8] - '0';
    m->pos = m->fields_start = (uint32_t)(te + 11 - buf);
    m->phase = PH_FIELDS;
    return L_NEXT;
}

/* Careful path for the request line at m->pos: looks for its LF from where
 * the last call stopped, tracking the target run (after the first SP, up to
 * the next SP, CR or LF) for the URI limit, then applies the length limits
 * (header step 1) and, once the line is complete, request_line_check().
 * Reads at most up to offset head limit + 1, the last byte that can decide
 * between the two limits.  Returns L_NEXT, L_STOP (empty line skipped),
 * L_MORE or L_FAIL. */
static int request_line_careful(fp_message *m, const char *buf, size_t len, const fp_limits *lim)
{
    size_t limit = head_limit(lim);
    size_t stop = len < limit + 1 ? len : limit + 1;
    size_t i = m->pos + m->scan, run = m->target_run, run_end = m->target_end;
    int head_over, uri_over = 0, complete = 0;

    for (; i < stop; i++) {
        char c = buf[i];
        if (c == '\n') {
            complete = 1;
            break;
        }
        if (run == 0) {
            if (c == ' ')
                run = i + 1;
        } else if (run_end == 0 && (c == ' ' || c == '\r')) {
            run_end = i;
        }
    }
    head_over = complete ? i + 1 > limit : len > limit;
    if (run != 0)
        uri_over = (run_end ? run_end : i) - run > lim->max_uri_bytes;
    if (uri_over && head_over) /* both proven: the lower crossing offset wins */
        return line_fail(m, (uint64_t)run + lim->max_uri_bytes <= limit ? FP_E_URI_TOO_LONG
                                                                        : FP_E_HEADERS_TOO_LARGE);
    if (uri_over || head_over)
        return line_fail(m, uri_over ? FP_E_URI_TOO_LONG : FP_E_HEADERS_TOO_LARGE);
    if (!complete) {
        m->scan = (uint32_t)(i - m->pos);
        m->target_run = (uint32_t)run;
        m->target_end = (uint32_t)run_end;
        return L_MORE;
    }
    m->scan = m->target_run = m->target_end = 0;
    return request_line_check(m, buf, buf + i);
}

/* Parses the request line (after any empty lines).  Returns L_NEXT once it
 * is taken, L_MORE or L_FAIL. */
static int request_line(fp_message *m, const fp_scanners *sc, const char *buf, size_t len,
                        const char *view_end, const fp_limits *lim)
{
    int r;

    for (;;) {
        if (m->scan == 0 && request_line_fast(m, sc, buf, view_end, lim) == L_NEXT)
            return L_NEXT;
        r = request_line_careful(m, buf, len, lim);
        if (r != L_STOP)
            return r;
    }
}

/* ---- status line --------------------------------------------------------- */

/* Takes the status line [m->pos, lf], complete and within the limit:
 * bare LF, bare CR, then HTTP/1.x SP 3DIGIT [SP reason].  Returns L_NEXT
 * or L_FAIL. */
static int status_line_check(fp_message *m, const char *buf, const char *lf)
{
    const char *p = buf + m->pos, *cr, *q;
    int st;

    if (lf == p || lf[-1] != '\r')
        return line_fail(m, FP_E_BARE_LF);
    cr = lf - 1;
    if (memchr(p, '\r', (size_t)(cr - p)))
        return line_fail(m, FP_E_BARE_CR);
    if (cr - p < 12 || memcmp(p, "HTTP/1.", 7) != 0 || !fp_is((unsigned char)p[7], FP_C_DIGIT) ||
        p[8] != ' ' || !fp_is((unsigned char)p[9], FP_C_DIGIT) ||
        !fp_is((unsigned char)p[10], FP_C_DIGIT) || !fp_is((unsigned char)p[11], FP_C_DIGIT))
        return line_fail(m, FP_E_BAD_STATUS_LINE);
    st = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    if (st < 100 || st > 599 || (cr - p > 12 && p[12] != ' '))
        return line_fail(m, FP_E_BAD_STATUS_LINE);
    for (q = p + 13; q < cr; q++)
        if (!fp_is((unsigned char)*q, FP_C_VCHAR))
            return line_fail(m, FP_E_BAD_STATUS_LINE);
    m->status = st;
    m->minor_version = p[7] - '0';
    m->reason = cr - p > 12 ? span(buf, p + 13, cr) : span(buf, cr, cr);
    m->pos = m->fields_start = (uint32_t)(lf + 1 - buf);
    m->phase = PH_FIELDS;
    return L_NEXT;
}

/* Parses the status line.  Returns L_NEXT, L_MORE or L_FAIL. */
static int status_line(fp_message *m, const char *buf, size_t len, const char *view_end,
                       const fp_limits *lim)
{
    const char *p = buf + m->pos, *from = p + m->scan, *lf = NULL;

    if (from < view_end)
        lf = memchr(from, '\n', (size_t)(view_end - from));
    if (lf == NULL) {
        m->scan = (uint32_t)(view_end - p);
        return more_or_too_large(m, len, head_limit(lim)) == FP_NEED_MORE ? L_MORE : L_FAIL;
    }
    m->scan = 0;
    return status_line_check(m, buf, lf);
}

/* ---- field lines --------------------------------------------------------- */

/* Stores field number nh: name [p, colon), value from v (past the leading
 * OWS) to cr less trailing OWS; then applies the per-field rules.  Returns
 * 0 or an fp_error code.  The caller keeps m->pos and m->num_headers. */
static inline int store_field(fp_message *m, uint32_t nh, const char *buf, const char *p,
                              const char *colon, const char *v, const char *cr, int is_request)
{
    fp_header *h = &m->headers[nh];
    const char *ve = cr;
    unsigned id = fp_field_id(p, (size_t)(colon - p));
    int err;

    while (ve > v && fp_is((unsigned char)ve[-1], FP_C_OWS))
        ve--;
    h->name = span(buf, p, colon);
    h->value = span(buf, v, ve);
    h->id = id;
    if (id == FP_H_OTHER)
        return 0;
    if (id == FP_H_HOST && is_request) { /* Fast path: the field every request has */
        err = fp_host_rule(m, v, (size_t)(ve - v));
        m->seen |= FP_SEEN(FP_H_HOST);
        return err;
    }
    return fp_field_apply(m, buf, h, is_request);
}

/* Careful path: the field line [m->pos, lf], complete and within the head
 * limit, checked in header order (count, bare LF, bare CR, syntax, field
 * rules).  Moves m->pos and m->num_headers past it.  Returns L_NEXT, L_END
 * (the empty line) or L_FAIL. */
static int field_line_check(fp_message *m, const char *buf, const char *lf, const fp_limits *lim,
                            int is_request)
{
    const char *p = buf + m->pos, *cr, *colon, *q;
    int empty = lf == p || (lf == p + 1 && *p == '\r'), err;

    if (!empty && m->num_headers >= lim->max_header_count)
        return line_fail(m, FP_E_TOO_MANY_HEADERS);
    if (lf == p || lf[-1] != '\r')
        return line_fail(m, FP_E_BARE_LF);
    cr = lf - 1;
    if (memchr(p, '\r', (size_t)(cr - p)))
        return line_fail(m, FP_E_BARE_CR);
    m->pos = (uint32_t)(lf + 1 - buf);
    if (empty)
        return L_END;
    if (fp_is((unsigned char)*p, FP_C_OWS))
        return line_fail(m, FP_E_OBS_FOLD);
    colon = memchr(p, ':', (size_t)(cr - p));
    if (colon == NULL || colon == p)
        return line_fail(m, FP_E_BAD_FIELD_NAME);
    if (fp_is((unsigned char)colon[-1], FP_C_OWS))
        return line_fail(m, FP_E_SPACE_BEFORE_COLON);
    for (q = p; q < colon; q++)
        if (!fp_is((unsigned char)*q, FP_C_TCHAR))
            return line_fail(m, FP_E_BAD_FIELD_NAME);
    for (q = colon + 1; q < cr; q++)
        if (!fp_is((unsigned char)*q, FP_C_VCHAR))
            return line_fail(m, FP_E_BAD_FIELD_VALUE);
    for (q = colon + 1; q < cr && fp_is((unsigned char)*q, FP_C_OWS); q++)
        ;
    err = store_field(m, m->num_headers++, buf, p, colon, q, cr, is_request);
    return err ? line_fail(m, err) : L_NEXT;
}

/* Parses field lines until the empty line; returns the head length, or
 * FP_NEED_MORE, or FP_INVALID.  The line position and the field count live
 * in locals while lines take the fast path (stores to the header array
 * could alias them in m), and go back to m before anything else runs. */
static inline __attribute__((always_inline)) int
fields(fp_message *m, const fp_scanners *sc, const char *buf, size_t len, const char *view_end,
       const fp_limits *lim, int is_request, unsigned req_flags)
{
    const char *p = buf + m->pos, *stop, *lf, *colon, *v = NULL, *cr;
    uint32_t nh = m->num_headers;
    int r, err;

    if (m->scan != 0) { /* resume: only the new bytes can hold the LF */
        stop = p + m->scan;
        lf = stop < view_end ? memchr(stop, '\n', (size_t)(view_end - stop)) : NULL;
        if (lf == NULL) {
            m->scan = (uint32_t)(view_end - p);
            return more_or_too_large(m, len, head_limit(lim));
        }
        m->scan = 0;
    }
    for (;;) {
        /* Fast path: a valid field line or the empty line, complete in the view */
        if (p < view_end && *p == '\r') {
            if (view_end - p >= 2 && p[1] == '\n') {
                p += 2;
                break;
            }
            stop = p;
        } else {
            cr = sc->field_line(buf, p, view_end, &colon, &v);
            if (cr != colon && colon != p && view_end - cr >= 2 && cr[0] == '\r' && cr[1] == '\n') {
                if (nh >= lim->max_header_count)
                    return fail(m, FP_E_TOO_MANY_HEADERS);
                err = store_field(m, nh++, buf, p, colon, v, cr, is_request);
                if (err)
                    return fail(m, err);
                p = cr + 2;
                continue;
            }
            stop = (cr == colon || colon == p) ? colon : cr; /* no LF before it */
        }
        /* Careful path: find the line's end, then check it in order */
        m->pos = (uint32_t)(p - buf);
        m->num_headers = nh;
        lf = stop < view_end ? memchr(stop, '\n', (size_t)(view_end - stop)) : NULL;
        if (lf == NULL) {
            m->scan = (uint32_t)(view_end - p);
            return more_or_too_large(m, len, head_limit(lim));
        }
        r = field_line_check(m, buf, lf, lim, is_request);
        if (r == L_FAIL)
            return FP_INVALID;
        p = buf + m->pos;
        nh = m->num_headers;
        if (r == L_END)
            break;
    }
    m->pos = (uint32_t)(p - buf);
    m->num_headers = nh;
    err = fp_head_finish(m, is_request, req_flags);
    if (err)
        return fail(m, err);
    m->phase = PH_DONE;
    return (int)m->pos;
}

/* Shared entry: the phase checks, the view, the start line, the fields.
 * Inlined into both entry points so that is_request folds away. */
static inline __attribute__((always_inline)) int
parse_head(fp_message *m, const char *buf, size_t len, const fp_limits *lim, int is_request,
           unsigned req_flags)
{
    const fp_scanners *sc;
    const char *view_end;
    size_t limit;
    int r;

    if (m->phase == PH_DONE)
        return (int)m->pos;
    if (m->phase == PH_FAILED)
        return FP_INVALID;
    sc = fp_scanners_get();
    limit = head_limit(lim);
    /* Bytes at or past the limit can only end a line that is too long. */
    view_end = buf + (len < limit ? len : limit);
    if (m->phase == PH_START) {
        r = is_request ? request_line(m, sc, buf, len, view_end, lim)
                       : status_line(m, buf, len, view_end, lim);
        if (r != L_NEXT)
            return r == L_MORE ? FP_NEED_MORE : FP_INVALID;
    }
    return fields(m, sc, buf, len, view_end, lim, is_request, req_flags);
}

/* See fp_http.h.  A call after the head was parsed returns its length
 * again; a call after FP_INVALID returns FP_INVALID again. */
int fp_parse_request(fp_message *m, const char *buf, size_t len, const fp_limits *limits)
{
    return parse_head(m, buf, len, limits, 1, 0);
}

/* See fp_http.h; same repeat behaviour as fp_parse_request(). */
int fp_parse_response(fp_message *m, const char *buf, size_t len, const fp_limits *limits,
                      unsigned req_flags)
{
    return parse_head(m, buf, len, limits, 0, req_flags);
}
