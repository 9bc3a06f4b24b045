/*
 * fp_fast.c - the fast path of the head parser, written once and compiled
 * for each scan level (fp_lines_fn and fp_parse_fn in fp_scan.h).
 *
 * It takes only complete lines that it proves valid, reading each once
 * with the level's scans (fp_simd.h); anything else (an incomplete line, a
 * line with any error, an empty line before the request line, a limit
 * reached, ...) goes to the careful path, fp_parse_careful() in fp_http.c,
 * which applies the checks one by one in the order fp_http.h gives.  So the
 * error reported never depends on which path saw a line: the only failures
 * found here are those of valid lines (the field count, the per-field and
 * end-of-head rules), which come after every syntax check in that order.
 *
 * One copy per level: the generic functions below are always inlined into
 * the exported ones, and the level's scans, given as constant function
 * pointers, are then inlined too.  A parse thus costs one indirect call,
 * and the results of the scans stay in registers instead of
 * out-parameters.  The SIMD levels read field lines from 64-byte windows of
 * bit masks (window_lines); the scalar level reads them one at a time.
 */
#include <limits.h>
#include <string.h>

#include "fp_head.h"
#include "fp_simd.h"

/* A level's scans: contracts of fp_scanners in fp_scan.h. */
typedef const char *(*value_fn)(const char *p, const char *end);
typedef const char *(*line_fn)(const char *lo, const char *p, const char *end, const char **mid);
typedef int (*host_fn)(const char *lo, const char *v, const char *e);

typedef struct level_scans {
    value_fn value;
    line_fn request_line, field_line;
    host_fn host_ok;
    /* The same as value and host_ok, not inlined: for the cases the window
     * walker rarely meets, whose inlined code and vector constants would
     * crowd the registers of its loop. */
    value_fn value_far;
    host_fn host_ok_far;
} level_scans;

/* 1 if [p, p + 2) is CRLF (two bytes must be readable). */
FP_INLINE int is_crlf(const char *p)
{
    uint16_t x;
    memcpy(&x, p, 2);
    return x == (uint16_t)('\r' | '\n' << 8);
}

FP_INLINE int is_digit(char c)
{
    return (unsigned char)(c - '0') <= 9;
}

/* Fast path: the request line [p, te + 11), whose method ends at sp and
 * whose target run (after sp, up to the first byte that is not a target
 * byte) ends at te, taken into m if it is complete, valid and within the
 * URI limit, with an HTTP/1.x version.  Returns the start of the next line
 * (m->pos, handed on in a register rather than read back), or NULL having
 * changed nothing. */
FP_INLINE const char *take_request_parts(fp_message *m, const char *buf, const char *p,
                                         const char *sp, const char *te, const char *end,
                                         const fp_limits *lim)
{
    const char *t = sp + 1;

    /* te == sp: no SP after the method; te == t: an empty target */
    if (sp == p || te == sp || te == t || end - te < 11 || (size_t)(te - t) > lim->max_uri_bytes)
        return NULL;
    if (fp_load8(te) != fp_load8(" HTTP/1.") || !is_digit(te[8]) || !is_crlf(te + 9))
        return NULL;
    /* origin-form is right for every method but CONNECT: spare the call */
    if ((*t != '/' || (sp - p == 7 && memcmp(p, "CONNECT", 7) == 0)) &&
        !fp_target_form_ok(p, (size_t)(sp - p), t, (size_t)(te - t)))
        return NULL;
    m->method = fp_span_of(buf, p, sp);
    m->target = fp_span_of(buf, t, te);
    m->minor_version = te[8] - '0';
    m->pos = m->fields_start = (uint32_t)(te + 11 - buf);
    m->phase = FP_PH_FIELDS;
    return te + 11;
}

/* take_request_parts() for the line at m->pos, read by the level's
 * request_line scan. */
FP_INLINE const char *take_request_line(fp_message *m, const char *buf, const char *end,
                                        const fp_limits *lim, line_fn request_line)
{
    const char *p = buf + m->pos, *sp, *te = request_line(buf, p, end, &sp);

    return take_request_parts(m, buf, p, sp, te, end, lim);
}

/* Fast path: a complete, valid status line at m->pos, taken into m.
 * Returns the start of the next line, or NULL having changed nothing. */
FP_INLINE const char *take_status_line(fp_message *m, const char *buf, const char *end,
                                       value_fn value)
{
    const char *p = buf + m->pos, *cr;
    int st;

    if (end - p < 14 || memcmp(p, "HTTP/1.", 7) != 0 || !is_digit(p[7]) || p[8] != ' ' ||
        !is_digit(p[9]) || !is_digit(p[10]) || !is_digit(p[11]))
        return NULL;
    st = (p[9] - '0') * 100 + (p[10] - '0') * 10 + (p[11] - '0');
    if (st < 100 || st > 599)
        return NULL;
    if (p[12] == ' ')
        cr = value(p + 13, end);
    else if (p[12] == '\r')
        cr = p + 12;
    else
        return NULL;
    if (end - cr < 2 || !is_crlf(cr))
        return NULL;
    m->status = st;
    m->minor_version = p[7] - '0';
    m->reason = cr - p > 12 ? fp_span_of(buf, p + 13, cr) : fp_span_of(buf, cr, cr);
    m->pos = m->fields_start = (uint32_t)(cr + 2 - buf);
    m->phase = FP_PH_FIELDS;
    return cr + 2;
}

/* Adds the field line [p, cr + 2), proven valid, with its colon, as a
 * header of m after the count check.  Returns its id, with its value
 * (OWS trimmed) in [*v, *ve); or -1 with m failed.  *nh: the field count,
 * kept by the caller. */
FP_INLINE int add_field(fp_message *m, const char *buf, const char *p, const char *colon,
                        const char *cr, uint32_t *nh, const fp_limits *lim, const char **v,
                        const char **ve)
{
    const char *s, *e;
    fp_header *h;
    unsigned id;

    if (*nh >= lim->max_header_count) {
        m->num_headers = *nh;
        return fp_fail(m, FP_E_TOO_MANY_HEADERS);
    }
    /* Fast path: one SP after the colon, as nearly every sender writes */
    s = colon + 1 + (colon[1] == ' ');
    for (; *s == ' ' || *s == '\t'; s++) /* stops at cr at the latest */
        ;
    for (e = cr; e > s && (e[-1] == ' ' || e[-1] == '\t'); e--)
        ;
    id = fp_field_id(p, (size_t)(colon - p));
    h = &m->headers[(*nh)++];
    h->name = fp_span_of(buf, p, colon);
    h->value = fp_span_of(buf, s, e);
    h->id = id;
    *v = s;
    *ve = e;
    return (int)id;
}

/* The per-field rules of a field just added with the id id and the value
 * [v, ve); host_ok: for Host in a request, whether the value holds only
 * Host bytes.  Returns 0, or FP_INVALID with m failed. */
FP_INLINE int field_rules(fp_message *m, uint32_t nh, unsigned id, const char *v, const char *ve,
                          int is_request, int host_ok)
{
    int err;

    m->num_headers = nh;
    if (id == FP_H_HOST && is_request) { /* Fast path: the field every request has */
        if (!host_ok || (m->seen & FP_SEEN(FP_H_HOST)))
            return fp_fail(m, FP_E_BAD_HOST);
        m->seen |= FP_SEEN(FP_H_HOST);
        return 0;
    }
    err = fp_field_apply(m, id, v, ve, is_request);
    return err ? fp_fail(m, err) : 0;
}

/* Takes the start line if m is still before it.  Returns where the field
 * lines start (m->pos), or NULL if the careful path must take the start
 * line. */
FP_INLINE const char *take_start_line(fp_message *m, const char *buf, const char *end,
                                      const fp_limits *lim, int is_request, level_scans sc)
{
    if (m->phase != FP_PH_START)
        return buf + m->pos;
    return is_request ? take_request_line(m, buf, end, lim, sc.request_line)
                      : take_status_line(m, buf, end, sc.value);
}

/* Field lines one at a time, each read by the level's field_line scan:
 * the fp_lines_fn of the scalar level, and of the others when the data is
 * too short for a block.  The line position and the field count live in
 * locals (stores to the header array could alias them in m) and go back to
 * m before anything else can look at them. */
FP_INLINE int line_by_line(fp_message *m, const char *buf, const char *p, const char *end,
                           const fp_limits *lim, int is_request, level_scans sc)
{
    const char *colon, *cr, *v, *ve;
    uint32_t nh = m->num_headers;
    int id;

    for (;;) {
        if (end - p < 2)
            break;
        if (*p == '\r') { /* the empty line, or a bare CR */
            if (p[1] != '\n')
                break;
            m->pos = (uint32_t)(p + 2 - buf);
            m->num_headers = nh;
            return (int)(p + 2 - buf);
        }
        cr = sc.field_line(buf, p, end, &colon);
        /* cr == colon: no ':' after the name; colon == p: an empty name */
        if (cr == colon || colon == p || end - cr < 2 || !is_crlf(cr))
            break;
        id = add_field(m, buf, p, colon, cr, &nh, lim, &v, &ve);
        if (id < 0)
            return FP_INVALID;
        p = cr + 2;
        if (id != FP_H_OTHER &&
            field_rules(m, nh, (unsigned)id, v, ve, is_request,
                        id == FP_H_HOST && is_request && sc.host_ok(buf, v, ve)) != 0)
            return FP_INVALID;
    }
    m->pos = (uint32_t)(p - buf);
    m->num_headers = nh;
    return 0;
}

FP_INLINE int scalar_lines(fp_message *m, const char *buf, const char *end,
                           const fp_limits *lim, int is_request, level_scans sc)
{
    const char *p = take_start_line(m, buf, end, lim, is_request, sc);

    return p ? line_by_line(m, buf, p, end, lim, is_request, sc) : 0;
}

#ifdef FP_SCAN_X86
/* Data shorter than a block, for the SIMD levels: the scalar lines, out of
 * line (not inlined) so that their code stays out of the window walker. */
__attribute__((noinline)) static int short_lines(fp_message *m, const char *buf, const char *end,
                                                 const fp_limits *lim, int is_request)
{
    return scalar_lines(m, buf, end, lim, is_request,
                        (level_scans){fp_value_scalar_i, fp_request_line_scalar_i,
                                      fp_field_line_scalar_i, fp_host_ok_scalar_i,
                                      fp_value_scalar_i, fp_host_ok_scalar_i});
}

/* A level's window masks (fp_window in fp_simd.h). */
typedef int (*window_fn)(const char *lo, const char *q, const char *end, fp_window_masks *w);

/* The first set bit of mask at or after offset o (o may be 64 or more:
 * none), as an offset; 64 when there is none. */
FP_INLINE unsigned first_from(uint64_t mask, size_t o)
{
    mask = o < 64 ? mask & (~UINT64_C(0) << o) : 0;
    return mask ? (unsigned)__builtin_ctzll(mask) : 64;
}

/* Field lines read from 64-byte windows of bit masks: the fp_lines_fn of
 * the SIMD levels.  The windows advance by 64 bytes, independently of
 * where lines start, so the masks of the next window do not wait for the
 * lines before it, and a line costs two bit searches: the colon among the
 * bytes that are not name bytes, the CR among the value stop bytes.  Lines
 * straddle windows freely.  A value that runs past the next window is
 * scanned on by the level's value scan, and the windows restart after its
 * line.  The start line comes first, on its own: reading it from the first
 * window too was measured slower (19-22 ns against 16-17 for the minimal
 * request), though it took about as many instructions. */
FP_INLINE int window_lines(fp_message *m, const char *buf, const char *end,
                           const fp_limits *lim, int is_request, level_scans sc, window_fn window)
{
    const char *p, *q, *colon, *cr, *v, *ve;
    fp_window_masks w;
    uint64_t bits;
    uint32_t nh;
    unsigned i;
    int id, host_ok;

    if (end - buf < 32) /* too short for a block: no window can be read */
        return short_lines(m, buf, end, lim, is_request);
    p = q = take_start_line(m, buf, end, lim, is_request, sc);
    if (p == NULL)
        return 0;
    window(buf, q, end, &w);
    nh = m->num_headers;
    for (;;) {
        if (end - p < 2)
            break;
        if (*p == '\r') { /* the empty line, or a bare CR */
            if (p[1] != '\n')
                break;
            m->pos = (uint32_t)(p + 2 - buf);
            m->num_headers = nh;
            return (int)(p + 2 - buf);
        }
        /* the colon: the first byte from p that is not a name byte */
        while ((i = first_from(w.name, p > q ? (size_t)(p - q) : 0)) == 64 && end - q > 64) {
            q += 64;
            window(buf, q, end, &w);
        }
        colon = q + i;
        if (i == 64 || colon == p || *colon != ':') /* the data ends first, or no colon */
            break;
        /* the CR: the first value stop byte after the colon, in this
         * window or the next one */
        i = first_from(w.stop, (size_t)(colon + 1 - q));
        if (i == 64 && end - q > 64) {
            q += 64;
            window(buf, q, end, &w);
            i = first_from(w.stop, 0);
        }
        if (i < 64) {
            cr = q + i;
        } else { /* a long value, or the data ends first */
            if (end - q <= 64)
                break;
            cr = sc.value_far(q + 64, end);
            q = cr + 2; /* the windows restart at the next line */
            if (end - cr >= 2)
                window(buf, q, end, &w);
        }
        if (end - cr < 2 || !is_crlf(cr))
            break;
        id = add_field(m, buf, p, colon, cr, &nh, lim, &v, &ve);
        if (id < 0)
            return FP_INVALID;
        p = cr + 2;
        if (id == FP_H_OTHER)
            continue;
        host_ok = 0;
        if (id == FP_H_HOST && is_request) {
            if (v >= q && ve - q < 64) { /* Fast path: the value is in the window */
                /* the bytes that are not name bytes (usually none, or the
                 * ':' of a port) must be the other Host bytes */
                bits = w.name & (((UINT64_C(1) << (ve - q)) - 1) & (~UINT64_C(0) << (v - q)));
                for (host_ok = 1; bits != 0; bits &= bits - 1)
                    host_ok &= fp_is((unsigned char)q[__builtin_ctzll(bits)], FP_C_HOST);
            } else {
                host_ok = sc.host_ok_far(buf, v, ve);
            }
        }
        if (field_rules(m, nh, (unsigned)id, v, ve, is_request, host_ok) != 0)
            return FP_INVALID;
    }
    m->pos = (uint32_t)(p - buf);
    m->num_headers = nh;
    return 0;
}

#endif /* FP_SCAN_X86 */

/* The lines of a level: fp_lines_fn with is_request. */
typedef int (*lines_fn)(fp_message *m, const char *buf, const char *end, const fp_limits *lim,
                        int is_request);

/* The fp_parse_fn of one level.  Fast path: a call that starts on a fresh
 * line and finds the whole rest of the head valid and complete, which is
 * every call for a head that arrives in one piece. */
FP_INLINE int fast_parse(fp_message *m, const char *buf, size_t len, const fp_limits *lim,
                         int is_request, unsigned req_flags, lines_fn lines)
{
    size_t limit = lim->max_header_bytes;
    int r, err;

    if (limit > INT_MAX) /* a head length must fit the int returned */
        limit = INT_MAX;
    if (is_request) /* no request flags for a request: let the constant fold */
        req_flags = 0;
    if (m->phase >= FP_PH_DONE || m->scan != 0)
        return fp_parse_careful(m, buf, len, lim, is_request, req_flags, 0);
    /* Bytes at or past the limit can only end a line that is too long. */
    r = lines(m, buf, buf + (len < limit ? len : limit), lim, is_request);
    if (r == 0)
        return fp_parse_careful(m, buf, len, lim, is_request, req_flags, 1);
    if (r < 0)
        return r;
    err = fp_head_end(m, is_request, req_flags);
    if (err)
        return fp_fail(m, err);
    m->phase = FP_PH_DONE;
    return r;
}

/* ---- one copy per level ------------------------------------------------- */

/* The entry points of a level, with `attr` its target attribute; LINES
 * is how it reads field lines (scalar_lines or window_lines), given the
 * arguments that follow. */
#define LEVEL(l, attr, LINES, ...)                                                              \
    attr FP_INLINE int lines_##l(fp_message *m, const char *buf, const char *end,             \
                                 const fp_limits *lim, int is_request)                         \
    {                                                                                           \
        return LINES(m, buf, end, lim, is_request, __VA_ARGS__);                                \
    }                                                                                           \
    attr int fp_request_lines_##l(fp_message *m, const char *buf, const char *end,            \
                                  const fp_limits *lim)                                        \
    {                                                                                           \
        return lines_##l(m, buf, end, lim, 1);                                                  \
    }                                                                                           \
    attr int fp_response_lines_##l(fp_message *m, const char *buf, const char *end,           \
                                   const fp_limits *lim)                                       \
    {                                                                                           \
        return lines_##l(m, buf, end, lim, 0);                                                  \
    }                                                                                           \
    attr int fp_parse_request_##l(fp_message *m, const char *buf, size_t len,                 \
                                  const fp_limits *lim, unsigned req_flags)                    \
    {                                                                                           \
        return fast_parse(m, buf, len, lim, 1, req_flags, lines_##l);                           \
    }                                                                                           \
    attr int fp_parse_response_##l(fp_message *m, const char *buf, size_t len,                \
                                   const fp_limits *lim, unsigned req_flags)                   \
    {                                                                                           \
        return fast_parse(m, buf, len, lim, 0, req_flags, lines_##l);                           \
    }

/* The scans of a level, with out-of-line copies of two of them. */
#define SCANS(l, attr)                                                                          \
    attr __attribute__((noinline)) static const char *value_far_##l(const char *p,            \
                                                                    const char *end)           \
    {                                                                                           \
        return fp_value_##l##_i(p, end);                                                        \
    }                                                                                           \
    attr __attribute__((noinline)) static int host_ok_far_##l(const char *lo, const char *v,  \
                                                              const char *e)                   \
    {                                                                                           \
        return fp_host_ok_##l##_i(lo, v, e);                                                    \
    }
#define SCANS_OF(l)                                                                             \
    ((level_scans){fp_value_##l##_i, fp_request_line_##l##_i, fp_field_line_##l##_i,           \
                   fp_host_ok_##l##_i, value_far_##l, host_ok_far_##l})

SCANS(scalar, )
LEVEL(scalar, , scalar_lines, SCANS_OF(scalar))

#ifdef FP_SCAN_X86
#define fp_host_ok_avx2_i fp_host_ok_sse42_i /* Host values are short: 16 bytes a step suit */
SCANS(sse42, FP_SSE42)
SCANS(avx2, FP_AVX2)
LEVEL(sse42, FP_SSE42, window_lines, SCANS_OF(sse42), fp_window_sse42_i)
LEVEL(avx2, FP_AVX2, window_lines, SCANS_OF(avx2), fp_window_avx2_i)
#endif
