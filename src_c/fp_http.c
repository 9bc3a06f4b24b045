/*
 * fp_http.c - request and response heads: the entry points, the line loop,
 * and the careful path that checks a line in the order fp_http.h gives.
 * The rules are in the top comment of fp_http.h.
 *
 * Each line goes first through the fast path (fp_fast.c, one copy per scan
 * level), which takes only complete, valid lines.  Anything else (an
 * incomplete line, any error) comes here: the careful path finds the
 * line's end and then applies the checks one by one, so the error reported
 * never depends on which path saw the line first.
 *
 * Incremental parsing: m->pos is the first line not yet complete, m->scan
 * how much of it is known to hold no LF.  A resumed call looks for the LF
 * from there only, then reads the now complete line once more: a line split
 * across calls costs one extra pass over that line, never over the head.
 */
#include <limits.h>
#include <stddef.h>
#include <string.h>

#include "fp_head.h"
#include "fp_scan.h"

/* Outcome of one line. */
enum { L_NEXT, L_END, L_STOP, L_FAIL, L_MORE };

/* See fp_http.h. */
void fp_message_init(fp_message *m, fp_header *headers)
{
    /* Rule zero: the struct is zeroed as 8-byte words, one store each,
     * through a volatile pointer:
     * - not memset: GCC turns a 96-byte memset into REP STOS, which costs
     *   more to start than a whole minimal parse;
     * - not field by field: GCC merges those stores into 16-byte ones, and
     *   a parse call that follows at once, as it often does, reads 4-byte
     *   fields out of their middle: a load the store buffer does not
     *   forward, which then waits for the store to drain (measured: 1.5 ns
     *   of a 19 ns minimal parse).  Either half of an 8-byte store is
     *   forwarded, and 12 stores cost less than 18 (another 0.8 ns).
     * The layout this relies on is asserted; the tests check every byte. */
    typedef uint64_t word __attribute__((may_alias));
    volatile word *w = (volatile word *)(void *)m;
    size_t i;

    _Static_assert(sizeof(fp_message) % 8 == 0 && offsetof(fp_message, headers) % 8 == 0,
                   "fp_message_init() zeroes fp_message as aligned 8-byte words");
    for (i = 0; i < sizeof(fp_message) / 8; i++)
        if (i != offsetof(fp_message, headers) / 8)
            w[i] = 0;
    m->headers = headers;
}

/* The head limit in bytes, capped so that a head length fits the int
 * return value. */
static size_t head_limit(const fp_limits *lim)
{
    return lim->max_header_bytes < INT_MAX ? lim->max_header_bytes : INT_MAX;
}

/* fp_fail() for the line helpers, which return L_* outcomes. */
static int line_fail(fp_message *m, int error)
{
    fp_fail(m, error);
    return L_FAIL;
}

/* A line has no LF within the head limit: FP_E_HEADERS_TOO_LARGE if the
 * data already passes the limit, else FP_NEED_MORE. */
static int more_or_too_large(fp_message *m, size_t len, size_t limit)
{
    return len > limit ? fp_fail(m, FP_E_HEADERS_TOO_LARGE) : FP_NEED_MORE;
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

/* See fp_head.h. */
int fp_target_form_ok(const char *method, size_t mlen, const char *t, size_t n)
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
    if (!fp_target_form_ok(p, (size_t)(sp1 - p), sp1 + 1, (size_t)(sp2 - sp1 - 1)))
        return line_fail(m, FP_E_BAD_TARGET);
    m->method = fp_span_of(buf, p, sp1);
    m->target = fp_span_of(buf, sp1 + 1, sp2);
    m->minor_version = v[7] - '0';
    m->pos = m->fields_start = (uint32_t)(lf + 1 - buf);
    m->phase = FP_PH_FIELDS;
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
    m->reason = cr - p > 12 ? fp_span_of(buf, p + 13, cr) : fp_span_of(buf, cr, cr);
    m->pos = m->fields_start = (uint32_t)(lf + 1 - buf);
    m->phase = FP_PH_FIELDS;
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
 * 0 or an fp_error code. */
static int store_field(fp_message *m, uint32_t nh, const char *buf, const char *p,
                       const char *colon, const char *v, const char *cr, int is_request)
{
    fp_header *h = &m->headers[nh];
    const char *ve = cr;

    while (ve > v && fp_is((unsigned char)ve[-1], FP_C_OWS))
        ve--;
    h->name = fp_span_of(buf, p, colon);
    h->value = fp_span_of(buf, v, ve);
    h->id = fp_field_id(p, (size_t)(colon - p));
    return h->id == FP_H_OTHER ? 0 : fp_field_apply(m, h->id, v, ve, is_request);
}

/* Takes the field line [m->pos, lf], complete and within the head limit,
 * checked in header order (count, bare LF, bare CR, syntax, field rules).
 * Moves m->pos and m->num_headers past it.  Returns L_NEXT, L_END (the
 * empty line) or L_FAIL. */
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

/* Careful path for the field line at m->pos: looks for its LF from where
 * the last call stopped, then checks it.  Returns L_NEXT, L_END, L_MORE or
 * L_FAIL. */
static int field_line(fp_message *m, const char *buf, size_t len, const char *view_end,
                      const fp_limits *lim, int is_request)
{
    const char *p = buf + m->pos, *from = p + m->scan, *lf = NULL;

    if (from < view_end)
        lf = memchr(from, '\n', (size_t)(view_end - from));
    if (lf == NULL) {
        m->scan = (uint32_t)(view_end - p);
        return more_or_too_large(m, len, head_limit(lim)) == FP_NEED_MORE ? L_MORE : L_FAIL;
    }
    m->scan = 0;
    return field_line_check(m, buf, lf, lim, is_request);
}

/* ---- the line loop ------------------------------------------------------- */

/* See fp_head.h.  Each line goes through the level's fast path first
 * (unless fast_tried says the first one just did) and through the careful
 * path when that one declines. */
int fp_parse_careful(fp_message *m, const char *buf, size_t len, const fp_limits *lim,
                     int is_request, unsigned req_flags, int fast_tried)
{
    const fp_scanners *sc;
    const char *view_end;
    size_t limit;
    int r, err;

    if (m->phase == FP_PH_DONE)
        return (int)m->pos;
    if (m->phase == FP_PH_FAILED)
        return FP_INVALID;
    sc = fp_scanners_get();
    limit = head_limit(lim);
    /* Bytes at or past the limit can only end a line that is too long. */
    view_end = buf + (len < limit ? len : limit);
    for (;; fast_tried = 0) {
        if (m->scan == 0 && !fast_tried) { /* no line partly scanned */
            r = is_request ? sc->request_lines(m, buf, view_end, lim)
                           : sc->response_lines(m, buf, view_end, lim);
            if (r < 0)
                return r;
            if (r > 0)
                break;
        }
        if (m->phase == FP_PH_START)
            r = is_request ? request_line_careful(m, buf, len, lim)
                           : status_line(m, buf, len, view_end, lim);
        else
            r = field_line(m, buf, len, view_end, lim, is_request);
        if (r == L_END)
            break;
        if (r == L_MORE)
            return FP_NEED_MORE;
        if (r == L_FAIL)
            return FP_INVALID;
    }
    err = fp_head_end(m, is_request, req_flags);
    if (err)
        return fp_fail(m, err);
    m->phase = FP_PH_DONE;
    return (int)m->pos;
}

/* See fp_http.h.  A call after the head was parsed returns its length
 * again; a call after FP_INVALID returns FP_INVALID again. */
int fp_parse_request(fp_message *m, const char *buf, size_t len, const fp_limits *limits)
{
    return fp_scanners_get()->parse_request(m, buf, len, limits, 0);
}

/* See fp_http.h; same repeat behaviour as fp_parse_request(). */
int fp_parse_response(fp_message *m, const char *buf, size_t len, const fp_limits *limits,
                      unsigned req_flags)
{
    return fp_scanners_get()->parse_response(m, buf, len, limits, req_flags);
}
