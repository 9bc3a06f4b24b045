/*
 * fp_head.h - internal: what the head parser (fp_http.c) shares with the
 * field rules (fp_fields.c).  Not public API.
 */
#ifndef FP_HEAD_H
#define FP_HEAD_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "fp_http.h"
#include "fp_scan.h"

/* fp_message.phase */
enum { FP_PH_START = 0, FP_PH_FIELDS = 1, FP_PH_DONE = 2, FP_PH_FAILED = 3 };

/* Records error and makes m fail again on any later call; returns
 * FP_INVALID. */
static inline int fp_fail(fp_message *m, int error)
{
    m->error = error;
    m->phase = FP_PH_FAILED;
    return FP_INVALID;
}

/* fp_message.seen: bit (1 << id) for each fp_field_id seen, plus a summary
 * of the transfer codings listed so far (ids stay below bit 24). */
#define FP_SEEN(id)             (1u << (id))
#define FP_SEEN_CHUNKED         (1u << 24) /* "chunked" listed at least once */
#define FP_SEEN_CHUNKED_TWICE   (1u << 25) /* ... more than once */
#define FP_SEEN_LAST_CHUNKED    (1u << 26) /* the last coding so far is chunked */
#define FP_SEEN_UNKNOWN_CODING  (1u << 27)

/* Unaligned loads of 8 and 4 bytes at p (memcpy compiles to one MOV). */
static inline uint64_t fp_load8(const char *p)
{
    uint64_t x;
    memcpy(&x, p, 8);
    return x;
}

static inline uint32_t fp_load4(const char *p)
{
    uint32_t x;
    memcpy(&x, p, 4);
    return x;
}

/* Case-insensitive compare of s[0..n) with the lower-case literal lit,
 * reading neither past s[n - 1] nor past lit[n - 1].  Folding
 * by OR 0x20 is exact as long as s holds no control bytes (CR would fold
 * to '-', 0x10 to '0'): callers pass validated tokens or field values,
 * which never do.  Words at a time, the last word overlapping the one
 * before; with a constant n the branches fold away. */
__attribute__((always_inline)) static inline int fp_ieq(const char *s, const char *lit, size_t n)
{
    size_t i;

    if (n >= 8) {
        for (i = 0; i + 8 < n; i += 8)
            if ((fp_load8(s + i) | UINT64_C(0x2020202020202020)) != fp_load8(lit + i))
                return 0;
        return (fp_load8(s + n - 8) | UINT64_C(0x2020202020202020)) == fp_load8(lit + n - 8);
    }
    if (n >= 4)
        return (fp_load4(s) | 0x20202020u) == fp_load4(lit) &&
               (fp_load4(s + n - 4) | 0x20202020u) == fp_load4(lit + n - 4);
    for (i = 0; i < n; i++)
        if (((unsigned char)s[i] | 0x20) != (unsigned char)lit[i])
            return 0;
    return 1;
}

/* The fp_field_id of a field name (validated tchar bytes), FP_H_OTHER if
 * it is none of the tagged names.  Length first: most names are rejected by
 * the switch.  Inline: it runs for every field. */
__attribute__((always_inline)) static inline unsigned fp_field_id(const char *s, size_t n)
{
    switch (n) {
    case 2:
        return fp_ieq(s, "te", 2) ? FP_H_TE : FP_H_OTHER;
    case 4:
        return fp_ieq(s, "host", 4) ? FP_H_HOST : FP_H_OTHER;
    case 6:
        if (fp_ieq(s, "expect", 6))
            return FP_H_EXPECT;
        return fp_ieq(s, "server", 6) ? FP_H_SERVER : FP_H_OTHER;
    case 7:
        if (fp_ieq(s, "upgrade", 7))
            return FP_H_UPGRADE;
        return fp_ieq(s, "trailer", 7) ? FP_H_TRAILER : FP_H_OTHER;
    case 9:
        if (fp_ieq(s, "forwarded", 9))
            return FP_H_FORWARDED;
        return fp_ieq(s, "x-real-ip", 9) ? FP_H_X_REAL_IP : FP_H_OTHER;
    case 10:
        if (fp_ieq(s, "connection", 10))
            return FP_H_CONNECTION;
        return fp_ieq(s, "keep-alive", 10) ? FP_H_KEEP_ALIVE : FP_H_OTHER;
    case 12:
        if (fp_ieq(s, "x-request-id", 12))
            return FP_H_X_REQUEST_ID;
        return fp_ieq(s, "x-powered-by", 12) ? FP_H_X_POWERED_BY : FP_H_OTHER;
    case 14:
        return fp_ieq(s, "content-length", 14) ? FP_H_CONTENT_LENGTH : FP_H_OTHER;
    case 15:
        return fp_ieq(s, "x-forwarded-for", 15) ? FP_H_X_FORWARDED_FOR : FP_H_OTHER;
    case 16:
        if (fp_ieq(s, "proxy-connection", 16))
            return FP_H_PROXY_CONNECTION;
        return fp_ieq(s, "x-forwarded-host", 16) ? FP_H_X_FORWARDED_HOST : FP_H_OTHER;
    case 17:
        if (fp_ieq(s, "transfer-encoding", 17))
            return FP_H_TRANSFER_ENCODING;
        return fp_ieq(s, "x-forwarded-proto", 17) ? FP_H_X_FORWARDED_PROTO : FP_H_OTHER;
    default:
        return FP_H_OTHER;
    }
}

/* The span of [a, b) as offsets into buf. */
static inline fp_span fp_span_of(const char *buf, const char *a, const char *b)
{
    fp_span s = {(uint32_t)(a - buf), (uint32_t)(b - a)};
    return s;
}

/* 1 if the request target t (n > 0 bytes, all in FP_C_TARGET) has a form
 * allowed for the method [method, method + mlen) (fp_http.c). */
int fp_target_form_ok(const char *method, size_t mlen, const char *t, size_t n);

/* The careful path of a parse call (fp_http.c): fp_parse_request() or
 * fp_parse_response() semantics, for the level's fp_parse_fn to hand over
 * to where its fast path stops.  fast_tried: the fast path already
 * declined the line at m->pos in this call. */
int fp_parse_careful(fp_message *m, const char *buf, size_t len, const fp_limits *lim,
                     int is_request, unsigned req_flags, int fast_tried);

/* Applies the per-field rules (header step 6) of a field with the id id
 * and the value [v, e) (OWS trimmed), just added to m: Host,
 * Content-Length, Transfer-Encoding, Connection and Expect.  Records the id
 * in m->seen.  Returns 0 or an fp_error code; never writes to the value.
 * (The value comes as pointers, not read back from the header just
 * stored: a load from part of that wide store may stall.) */
int fp_field_apply(fp_message *m, unsigned id, const char *v, const char *e, int is_request);

/* Runs the end-of-head rules of a request (is_request) or of a response to
 * a request described by req_flags (FP_REQ_*), and sets m->framing and the
 * derived flags.  Returns 0 or an fp_error code. */
int fp_head_finish(fp_message *m, int is_request, unsigned req_flags);

/* fp_head_finish(), with the common case inline.  Fast path: an HTTP/1.1
 * request with its Host and without Transfer-Encoding, "close" or
 * "upgrade", where every end-of-head rule passes and the outcome is plain:
 * framing by Content-Length or none, and keep-alive. */
static inline int fp_head_end(fp_message *m, int is_request, unsigned req_flags)
{
    if (is_request && m->minor_version >= 1 && (m->seen & FP_SEEN(FP_H_HOST)) &&
        !(m->flags & (FP_F_HAS_TRANSFER_ENCODING | FP_F_CONN_CLOSE | FP_F_CONN_UPGRADE))) {
        m->framing = (m->flags & FP_F_HAS_CONTENT_LENGTH) ? FP_BODY_LENGTH : FP_BODY_NONE;
        m->flags |= FP_F_KEEP_ALIVE;
        return 0;
    }
    return fp_head_finish(m, is_request, req_flags);
}

#endif /* FP_HEAD_H */
