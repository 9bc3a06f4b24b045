/*
 * fp_scan.h - byte classes and range scanners used by the parser files.
 *
 * Internal: not part of the public API (fp_http.h is).  A scanner takes a
 * range [p, end) and returns the first byte that ends or breaks the current
 * token, or end.  Scanners never read at or past end (nor, for the line
 * scanners, before the lo they are given).  Each scanner exists as
 * scalar, SSE4.2 and AVX2 code (inline, in fp_simd.h); fp_scanners_get()
 * returns the set chosen for this CPU (or forced by fp_scan_select()).
 */
#ifndef FP_SCAN_H
#define FP_SCAN_H

#include <stddef.h>
#include <stdint.h>

#include "fp_http.h"

/* Byte classes: bits of fp_cclass[byte]. */
#define FP_C_TCHAR  0x01u /* token: ALPHA DIGIT ! # $ % & ' * + - . ^ _ ` | ~ */
#define FP_C_TARGET 0x02u /* request-target: ALPHA DIGIT - . _ ~ : / ? [ ] @ ! $ & ' ( ) * + , ; = % */
#define FP_C_HOST   0x04u /* Host value: the target set without / ? @ */
#define FP_C_VCHAR  0x08u /* field-value, reason, chunk-ext: HTAB SP 0x21-0x7E 0x80-0xFF */
#define FP_C_HEX    0x10u
#define FP_C_DIGIT  0x20u
#define FP_C_OWS    0x40u /* SP HTAB */
#define FP_C_ALPHA  0x80u

extern const uint8_t fp_cclass[256];

/* 1 if byte c has one of the FP_C_* bits of cls. */
static inline int fp_is(unsigned char c, unsigned cls)
{
    return (fp_cclass[c] & cls) != 0;
}

/* Returns the first byte of [p, end) outside the scanner's set, or end. */
typedef const char *(*fp_scan_fn)(const char *p, const char *end);

/* The fast path of the head parser at one level (fp_fast.c), lines only:
 * from m->pos (no line partly scanned: m->scan == 0), takes every complete
 * line it can prove valid within [buf, end) (the start line if m is still
 * before it, then field lines, with their count and per-field rules) up to
 * and including the empty line.  Returns the head length once the empty
 * line is taken (m->pos past it), FP_INVALID when a rule failed (m has
 * failed), or 0 with m->pos at the first line it could not take: the
 * careful path must judge that line.  end: the end of the data, capped at
 * the head limit. */
typedef int (*fp_lines_fn)(fp_message *m, const char *buf, const char *end, const fp_limits *lim);

/* A whole parse call at one level: fp_parse_request() / fp_parse_response()
 * (req_flags ignored for requests).  Tries the fast path first and hands
 * over to fp_parse_careful() where it stops. */
typedef int (*fp_parse_fn)(fp_message *m, const char *buf, size_t len, const fp_limits *lim,
                           unsigned req_flags);

typedef struct fp_scanners {
    fp_scan_fn value;  /* stops at bytes without FP_C_VCHAR: CR, LF, other CTL, DEL */
    fp_scan_fn token;  /* stops at bytes without FP_C_TCHAR */
    fp_scan_fn target; /* stops at bytes without FP_C_TARGET */
    /* The scans of a whole line.  They may also read bytes of [lo, p) (lo:
     * the start of the buffer), never below lo:
     * request_line: *sp = token(p, end); returns target(*sp + 1, end) if
     *   *sp is a SP before end, else *sp.
     * field_line: *colon = token(p, end); returns value(*colon + 1, end) if
     *   *colon is a ':' before end, else *colon. */
    const char *(*request_line)(const char *lo, const char *p, const char *end, const char **sp);
    const char *(*field_line)(const char *lo, const char *p, const char *end, const char **colon);
    /* 1 if every byte of [v, e) is in FP_C_HOST; may read [lo, v). */
    int (*host_ok)(const char *lo, const char *v, const char *e);
    /* The parser built on these scans (fp_fast.c). */
    fp_lines_fn request_lines, response_lines;
    fp_parse_fn parse_request, parse_response;
    int level; /* enum fp_scan_level */
} fp_scanners;

/* The parser of each level (fp_fast.c), for the table in fp_scan.c. */
#define FP_PARSER_OF_LEVEL(l)                                                                   \
    int fp_request_lines_##l(fp_message *m, const char *buf, const char *end,                 \
                             const fp_limits *lim);                                            \
    int fp_response_lines_##l(fp_message *m, const char *buf, const char *end,                \
                              const fp_limits *lim);                                           \
    int fp_parse_request_##l(fp_message *m, const char *buf, size_t len, const fp_limits *lim, \
                             unsigned req_flags);                                              \
    int fp_parse_response_##l(fp_message *m, const char *buf, size_t len,                     \
                              const fp_limits *lim, unsigned req_flags)
FP_PARSER_OF_LEVEL(scalar);
FP_PARSER_OF_LEVEL(sse42);
FP_PARSER_OF_LEVEL(avx2);

/* Rule zero: the scan level in use is global state (see fp_scan.c), read
 * inline on every parse call.  NULL until the first selection. */
extern const fp_scanners *fp_scan_in_use;

/* Selects the best level for this CPU; returns its scanners. */
const fp_scanners *fp_scanners_first(void);

/* The scanners in use; the first call picks the best level for this CPU.
 * Never returns NULL.  Callers load it once per parse call. */
static inline const fp_scanners *fp_scanners_get(void)
{
    const fp_scanners *s = __atomic_load_n(&fp_scan_in_use, __ATOMIC_ACQUIRE);
    return s != NULL ? s : fp_scanners_first();
}

/* The scanners of one level, whatever is selected (tests compare levels).
 * A level the CPU lacks is lowered like fp_scan_select() does. */
const fp_scanners *fp_scanners_at(int level);

#endif /* FP_SCAN_H */
