/*
 * fp_scan.h - byte classes and range scanners used by the parser files.
 *
 * Internal: not part of the public API (fp_http.h is).  A scanner takes a
 * range [p, end) and returns the first byte that ends or breaks the current
 * token, or end.  Scanners never read at or past end (nor, for the line
 * scanners, before the lo they are given).  Each scanner exists as
 * scalar, SSE4.2 and AVX2 code; fp_scanners_get() returns the set chosen for
 * this CPU (or forced by fp_scan_select()).
 */
#ifndef FP_SCAN_H
#define FP_SCAN_H

#include <stddef.h>
#include <stdint.h>

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

typedef struct fp_scanners {
    fp_scan_fn value;  /* stops at bytes without FP_C_VCHAR: CR, LF, other CTL, DEL */
    fp_scan_fn token;  /* stops at bytes without FP_C_TCHAR */
    fp_scan_fn target; /* stops at bytes without FP_C_TARGET */
    /* The scans of a whole line in one call, so that a line costs one
     * indirect call and one load of the vector constants.  They may also
     * read bytes of [lo, p) (lo: the start of the buffer), never below lo:
     * request_line: *sp = token(p, end); returns target(*sp + 1, end) if
     *   *sp is a SP before end, else *sp.
     * field_line: *colon = token(p, end); if *colon is a ':' before end,
     *   *value = the first byte after it that is not SP/HTAB (or end) and
     *   returns value(*value, end); else returns *colon (*value unset). */
    const char *(*request_line)(const char *lo, const char *p, const char *end, const char **sp);
    const char *(*field_line)(const char *lo, const char *p, const char *end, const char **colon,
                              const char **value);
    int level;         /* enum fp_scan_level */
} fp_scanners;

/* The scanners in use; the first call picks the best level for this CPU.
 * Never returns NULL.  Callers load it once per parse call. */
const fp_scanners *fp_scanners_get(void);

/* The scanners of one level, whatever is selected (tests compare levels).
 * A level the CPU lacks is lowered like fp_scan_select() does. */
const fp_scanners *fp_scanners_at(int level);

#endif /* FP_SCAN_H */
