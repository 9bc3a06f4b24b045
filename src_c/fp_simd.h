/*
 * fp_simd.h - internal: the byte-classification primitives of every scan
 * level, as inline functions, so that fp_scan.c (the scanners callers can
 * pick by level) and fp_fast.c (the parser's fast path, compiled once per
 * level) share one copy.  Not public API.
 *
 * Every primitive takes a range [p, end) and never reads at or past end;
 * the line primitives may also read bytes of [lo, p) (lo: the start of the
 * caller's buffer), never below lo.
 *
 * The set scans classify 16 or 32 bytes at once with two nibble lookups:
 * for a byte b = (hi << 4) | lo with hi < 8,
 *     b is in the set  <=>  lo_lut[lo] & (1 << hi) != 0,
 * where bit h of lo_lut[lo] says whether (h << 4) | lo is in the set.
 * PSHUFB yields 0 for index bytes >= 0x80, so non-ASCII bytes, in none of
 * these sets, fall out for free.  The tables are derived from fp_cclass;
 * src_c/tests/test_scan.c checks every byte value at every level.
 *
 * The line primitives first try to settle a line from the bit masks of one
 * 16- or 32-byte block: most lines are shorter than that, and one block
 * with a few bit operations beats loops whose exits the branch predictor
 * cannot guess.  Near the end of the data the block is the 32 bytes ending
 * at `end`, reaching back before p (never before lo).  The windows (end of
 * file) are the masks of 64 bytes, two blocks, for the fast path's walk
 * over field lines.
 *
 * The SIMD helpers are always inlined: vector arguments across a real call
 * would leave the upper YMM halves dirty at return (no VZEROUPPER is
 * emitted then), and every later SSE instruction of the baseline-compiled
 * parser would pay for it.
 */
#ifndef FP_SIMD_H
#define FP_SIMD_H

#include <stddef.h>
#include <stdint.h>

#include "fp_scan.h"

/* FP_SCAN_NO_SIMD builds the scalar code only, as on other CPUs (the tests
 * use it to check that build). */
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__) && !defined(FP_SCAN_NO_SIMD)
#define FP_SCAN_X86 1
#include <immintrin.h>
#endif

#define FP_INLINE __attribute__((always_inline)) static inline

/* ---- scalar ------------------------------------------------------------ */

/* First byte of [p, end) without a bit of cls, or end.  Unrolled by four:
 * tokens are short, but values and targets are not. */
FP_INLINE const char *fp_scan_class(const char *p, const char *end, unsigned cls)
{
    while (end - p >= 4) {
        if (!fp_is((unsigned char)p[0], cls))
            return p;
        if (!fp_is((unsigned char)p[1], cls))
            return p + 1;
        if (!fp_is((unsigned char)p[2], cls))
            return p + 2;
        if (!fp_is((unsigned char)p[3], cls))
            return p + 3;
        p += 4;
    }
    while (p < end && fp_is((unsigned char)*p, cls))
        p++;
    return p;
}

/* The line primitives, contracts of fp_scanners.request_line / field_line
 * in fp_scan.h, as loops over a level's set scans: the whole scalar
 * version, and the SIMD one when no block can be had. */
#define FP_REQUEST_LINE_LOOPS(TOKEN, TARGET)                                                    \
    do {                                                                                        \
        const char *s_ = TOKEN(p, end);                                                         \
        *sp = s_;                                                                               \
        return (s_ == end || *s_ != ' ') ? s_ : TARGET(s_ + 1, end);                            \
    } while (0)

#define FP_FIELD_LINE_LOOPS(TOKEN, VALUE)                                                       \
    do {                                                                                        \
        const char *c_ = TOKEN(p, end);                                                         \
        *colon = c_;                                                                            \
        return (c_ == end || *c_ != ':') ? c_ : VALUE(c_ + 1, end);                             \
    } while (0)

FP_INLINE const char *fp_value_scalar_i(const char *p, const char *end)
{
    return fp_scan_class(p, end, FP_C_VCHAR);
}

#define fp_token_scalar_i(p, end) fp_scan_class(p, end, FP_C_TCHAR)
#define fp_target_scalar_i(p, end) fp_scan_class(p, end, FP_C_TARGET)

FP_INLINE const char *fp_request_line_scalar_i(const char *lo, const char *p, const char *end,
                                               const char **sp)
{
    (void)lo;
    FP_REQUEST_LINE_LOOPS(fp_token_scalar_i, fp_target_scalar_i);
}

FP_INLINE const char *fp_field_line_scalar_i(const char *lo, const char *p, const char *end,
                                             const char **colon)
{
    (void)lo;
    FP_FIELD_LINE_LOOPS(fp_token_scalar_i, fp_value_scalar_i);
}

/* 1 if every byte of [v, e) is in the Host set.  Branch-free over the
 * bytes: Host values are short and every HTTP/1.1 request has one. */
FP_INLINE int fp_host_ok_scalar_i(const char *lo, const char *v, const char *e)
{
    const unsigned char *u = (const unsigned char *)v;
    size_t i = 0, n = (size_t)(e - v);
    unsigned all = FP_C_HOST;

    (void)lo;
    for (; i + 4 <= n; i += 4)
        all &= fp_cclass[u[i]] & fp_cclass[u[i + 1]] & fp_cclass[u[i + 2]] & fp_cclass[u[i + 3]];
    for (; i < n; i++)
        all &= fp_cclass[u[i]];
    return (all & FP_C_HOST) != 0;
}

#ifdef FP_SCAN_X86

/* ---- one-block line scans (plain C over the masks) --------------------- */

/* Masks of the n bytes from p (1 <= n <= 32), bit i for p[i]; bits from n
 * up are clear.  The block functions compute all four: once inlined, the
 * masks a caller does not use cost nothing. */
typedef struct fp_block_masks {
    uint32_t miss;   /* not a tchar */
    uint32_t name;   /* not a name byte (FP_LUT_NAME) */
    uint32_t stop;   /* a field-value stop byte */
    uint32_t target; /* not a request-target byte */
} fp_block_masks;

/* Outcomes of a block pass. */
enum { FP_BLOCK_UNSETTLED, FP_BLOCK_DONE, FP_BLOCK_MORE };

/* Field line from one block: FP_BLOCK_DONE with the primitive's result in
 * *ret (and *colon as the contract says); FP_BLOCK_MORE when the value runs
 * past a full block (scan it on from p + 32); FP_BLOCK_UNSETTLED when a
 * full block ends inside the name (run the loops from p).  A short block
 * (n < 32) ends at `end`, so it always settles. */
FP_INLINE int fp_field_block(const char *p, const char *end, fp_block_masks bm, unsigned n,
                             const char **colon, const char **ret)
{
    uint32_t stop;
    unsigned i;

    if (bm.miss == 0) { /* the name fills the block */
        if (n == 32)
            return FP_BLOCK_UNSETTLED;
        *colon = *ret = end;
        return FP_BLOCK_DONE;
    }
    i = (unsigned)__builtin_ctz(bm.miss);
    *colon = *ret = p + i;
    if (p[i] != ':')
        return FP_BLOCK_DONE;
    stop = bm.stop & (~1u << i); /* the stop bytes after the colon (none when i is 31) */
    if (stop != 0) {
        *ret = p + __builtin_ctz(stop);
        return FP_BLOCK_DONE;
    }
    if (n == 32)
        return FP_BLOCK_MORE;
    *ret = end;
    return FP_BLOCK_DONE;
}

/* Request line from one block; the outcomes of fp_field_block,
 * FP_BLOCK_MORE meaning the target runs past a full block. */
FP_INLINE int fp_request_block(const char *p, const char *end, fp_block_masks bm, unsigned n,
                               const char **sp, const char **ret)
{
    uint32_t miss2;
    unsigned i;

    if (bm.miss == 0) {
        if (n == 32)
            return FP_BLOCK_UNSETTLED;
        *sp = *ret = end;
        return FP_BLOCK_DONE;
    }
    i = (unsigned)__builtin_ctz(bm.miss);
    *sp = *ret = p + i;
    if (p[i] != ' ')
        return FP_BLOCK_DONE;
    miss2 = bm.target & (~1u << i);
    if (miss2 != 0) {
        *ret = p + __builtin_ctz(miss2);
        return FP_BLOCK_DONE;
    }
    if (n == 32)
        return FP_BLOCK_MORE;
    *ret = end;
    return FP_BLOCK_DONE;
}

/* Where the block for p lies: at p when 32 bytes remain, else the 32 bytes
 * ending at end when lo allows, shifted by *shift; NULL when neither. */
FP_INLINE const char *fp_block_at(const char *lo, const char *p, const char *end, unsigned *shift)
{
    if (end - p >= 32) {
        *shift = 0;
        return p;
    }
    if (end - lo >= 32 && end > p) {
        *shift = (unsigned)(32 - (end - p));
        return end - 32;
    }
    return NULL;
}

/* Nibble tables (see the top comment); entries 8-15 of HI are 0: bytes
 * >= 0x80 are in none of the sets.  STOP is the field-value stop set: CTL
 * but HTAB, and DEL. */
#define FP_LUT_HI 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, (char)0x80, 0, 0, 0, 0, 0, 0, 0, 0
#define FP_LUT_TCHAR (char)0xe8, (char)0xfc, (char)0xf8, (char)0xfc, (char)0xfc, (char)0xfc, \
    (char)0xfc, (char)0xfc, (char)0xf8, (char)0xf8, (char)0xf4, 0x54, (char)0xd0, 0x54, (char)0xf4, 0x70
#define FP_LUT_TARGET (char)0xb8, (char)0xfc, (char)0xf8, (char)0xf8, (char)0xfc, (char)0xfc, \
    (char)0xfc, (char)0xfc, (char)0xfc, (char)0xfc, (char)0xfc, 0x7c, 0x54, 0x7c, (char)0xd4, 0x7c
#define FP_LUT_HOST (char)0xa8, (char)0xfc, (char)0xf8, (char)0xf8, (char)0xfc, (char)0xfc, \
    (char)0xfc, (char)0xfc, (char)0xfc, (char)0xfc, (char)0xfc, 0x7c, 0x54, 0x7c, (char)0xd4, 0x70
/* NAME: the tchars but # ^ ` |, which are all Host bytes too.  A field
 * name holding one of those four (legal, and rare) goes to the careful
 * path; in exchange the fast path knows the Host bytes of a value from the
 * name mask alone (fp_fast.c). */
#define FP_LUT_NAME (char)0xa8, (char)0xfc, (char)0xf8, (char)0xf8, (char)0xfc, (char)0xfc, \
    (char)0xfc, (char)0xfc, (char)0xf8, (char)0xf8, (char)0xf4, 0x54, 0x50, 0x54, (char)0xd4, 0x70
#define FP_LUT_STOP 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x03, 0x02, 0x03, 0x03, 0x03, \
    0x03, 0x03, (char)0x83

#define FP_SSE42 __attribute__((target("sse4.2")))
#define FP_SSE42_INLINE __attribute__((target("sse4.2"), always_inline)) static inline
/* The AVX2 level also takes BMI1 and BMI2, which every AVX2 CPU has: the
 * bit searches compile to TZCNT and the variable shifts to SHLX/SHRX
 * (one uop, no flags) instead of SHL/SHR by CL (measured: 7% on the
 * typical request). */
#define FP_AVX2 __attribute__((target("avx2,bmi,bmi2")))
#define FP_AVX2_INLINE __attribute__((target("avx2,bmi,bmi2"), always_inline)) static inline

#define FP_LOAD128(p) _mm_loadu_si128((const __m128i *)(const void *)(p))
#define FP_LOAD256(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))

/* ---- SSE4.2 (16 bytes a step; PSHUFB is SSSE3, implied) --------------- */

/* Bit h of byte i: byte i of b has the high nibble h (0 for bytes >= 0x80):
 * the half of the nibble lookup that every set shares. */
FP_SSE42_INLINE __m128i fp_hibit16(__m128i b)
{
    __m128i hi = _mm_and_si128(_mm_srli_epi16(b, 4), _mm_set1_epi8(0x0f));
    return _mm_shuffle_epi8(_mm_setr_epi8(FP_LUT_HI), hi);
}

/* Bit i set <=> byte i of b is outside the set of lo_lut (hib: fp_hibit16). */
FP_SSE42_INLINE uint32_t fp_miss16(__m128i b, __m128i hib, __m128i lo_lut)
{
    __m128i in = _mm_and_si128(_mm_shuffle_epi8(lo_lut, b), hib);
    return (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(in, _mm_setzero_si128()));
}

/* Bit i set <=> byte i of b is a field-value stop byte (CTL but HTAB, DEL). */
FP_SSE42_INLINE uint32_t fp_stop16(__m128i b)
{
    __m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(b, _mm_set1_epi8(0x1f)), b);
    ctl = _mm_andnot_si128(_mm_cmpeq_epi8(b, _mm_set1_epi8('\t')), ctl);
    ctl = _mm_or_si128(ctl, _mm_cmpeq_epi8(b, _mm_set1_epi8(0x7f)));
    return (uint32_t)_mm_movemask_epi8(ctl);
}

/* value and set scans, 16 bytes a step then scalar: fp_scan_fn contracts
 * (set: the set of lut, with cls its FP_C_* bit for the tail). */
FP_SSE42_INLINE const char *fp_value_sse42_i(const char *p, const char *end)
{
    while (end - p >= 16) {
        uint32_t m = fp_stop16(FP_LOAD128(p));
        if (m)
            return p + __builtin_ctz(m);
        p += 16;
    }
    return fp_scan_class(p, end, FP_C_VCHAR);
}

FP_SSE42_INLINE const char *fp_set_sse42(const char *p, const char *end, __m128i lut, unsigned cls)
{
    while (end - p >= 16) {
        __m128i b = FP_LOAD128(p);
        uint32_t m = fp_miss16(b, fp_hibit16(b), lut);
        if (m)
            return p + __builtin_ctz(m);
        p += 16;
    }
    return fp_scan_class(p, end, cls);
}

/* Fast path of the request line scans: a method and the start of a target
 * that settle in the 16 bytes from p (end - p >= 16).  Returns 1 with *sp
 * and *ret as the request_line contract says, the target run scanned on by
 * target past those 16 bytes; or 0, having set nothing, for a method of 16
 * bytes or more.  One vector instead of a block: short lines load less, and
 * a 16-byte load crosses a cache line less often than a 32-byte one. */
FP_SSE42_INLINE int fp_request_line16(const char *p, const char *end, const char **sp,
                                      const char **ret, fp_scan_fn target)
{
    const __m128i b = FP_LOAD128(p), h = fp_hibit16(b);
    uint32_t tm;
    unsigned i = (unsigned)__builtin_ctz(fp_miss16(b, h, _mm_setr_epi8(FP_LUT_TCHAR)) | 0x10000u);

    if (i == 16)
        return 0;
    *sp = *ret = p + i;
    if (p[i] != ' ')
        return 1;
    tm = fp_miss16(b, h, _mm_setr_epi8(FP_LUT_TARGET)) & (~1u << i);
    *ret = tm != 0 ? p + __builtin_ctz(tm) : target(p + 16, end);
    return 1;
}

/* fp_host_ok_scalar_i, 16 bytes a step; the last (or only) step is the 16
 * bytes ending at e, reaching back before v when lo allows. */
FP_SSE42_INLINE int fp_host_ok_sse42_i(const char *lo, const char *v, const char *e)
{
    const __m128i lut = _mm_setr_epi8(FP_LUT_HOST);
    __m128i b;

    for (; e - v > 16; v += 16) {
        b = FP_LOAD128(v);
        if (fp_miss16(b, fp_hibit16(b), lut))
            return 0;
    }
    if (e - lo < 16)
        return fp_host_ok_scalar_i(lo, v, e);
    b = FP_LOAD128(e - 16);
    return (fp_miss16(b, fp_hibit16(b), lut) >> (16 - (e - v))) == 0;
}

#define fp_token_sse42_i(p, end) fp_set_sse42(p, end, _mm_setr_epi8(FP_LUT_TCHAR), FP_C_TCHAR)
#define fp_target_sse42_i(p, end) fp_set_sse42(p, end, _mm_setr_epi8(FP_LUT_TARGET), FP_C_TARGET)

/* The masks of a block of 32 bytes at q (two vectors), shifted right by
 * shift. */
FP_SSE42_INLINE fp_block_masks fp_block_sse42(const char *q, unsigned shift)
{
    const __m128i b0 = FP_LOAD128(q), b1 = FP_LOAD128(q + 16);
    const __m128i h0 = fp_hibit16(b0), h1 = fp_hibit16(b1);
    const __m128i tl = _mm_setr_epi8(FP_LUT_TCHAR), sl = _mm_setr_epi8(FP_LUT_STOP);
    const __m128i ul = _mm_setr_epi8(FP_LUT_TARGET), nl = _mm_setr_epi8(FP_LUT_NAME);
    fp_block_masks bm;

    bm.miss = (fp_miss16(b0, h0, tl) | fp_miss16(b1, h1, tl) << 16) >> shift;
    bm.name = (fp_miss16(b0, h0, nl) | fp_miss16(b1, h1, nl) << 16) >> shift;
    bm.stop = ~(fp_miss16(b0, h0, sl) | fp_miss16(b1, h1, sl) << 16) >> shift;
    bm.target = (fp_miss16(b0, h0, ul) | fp_miss16(b1, h1, ul) << 16) >> shift;
    return bm;
}

FP_SSE42_INLINE const char *fp_target_sse42_f(const char *p, const char *end)
{
    return fp_target_sse42_i(p, end);
}

FP_SSE42_INLINE const char *fp_request_line_sse42_i(const char *lo, const char *p,
                                                    const char *end, const char **sp)
{
    unsigned shift;
    const char *q, *ret;

    if (end - p >= 16 && fp_request_line16(p, end, sp, &ret, fp_target_sse42_f))
        return ret;
    q = fp_block_at(lo, p, end, &shift);
    if (q != NULL) {
        switch (fp_request_block(p, end, fp_block_sse42(q, shift), 32 - shift, sp, &ret)) {
        case FP_BLOCK_DONE:
            return ret;
        case FP_BLOCK_MORE:
            return fp_target_sse42_i(p + 32, end);
        default:
            break;
        }
    }
    FP_REQUEST_LINE_LOOPS(fp_token_sse42_i, fp_target_sse42_i);
}

FP_SSE42_INLINE const char *fp_field_line_sse42_i(const char *lo, const char *p,
                                                  const char *end, const char **colon)
{
    unsigned shift;
    const char *q = fp_block_at(lo, p, end, &shift), *ret;

    if (q != NULL) {
        switch (fp_field_block(p, end, fp_block_sse42(q, shift), 32 - shift, colon, &ret)) {
        case FP_BLOCK_DONE:
            return ret;
        case FP_BLOCK_MORE:
            return fp_value_sse42_i(p + 32, end);
        default:
            break;
        }
    }
    FP_FIELD_LINE_LOOPS(fp_token_sse42_i, fp_value_sse42_i);
}

/* ---- AVX2 (32 bytes a step, then one 16-byte step, then scalar) ------- */

/* fp_hibit16, fp_miss16 and fp_stop16 for 32 bytes. */
FP_AVX2_INLINE __m256i fp_hibit32(__m256i b)
{
    __m256i hi = _mm256_and_si256(_mm256_srli_epi16(b, 4), _mm256_set1_epi8(0x0f));
    return _mm256_shuffle_epi8(_mm256_setr_epi8(FP_LUT_HI, FP_LUT_HI), hi);
}

FP_AVX2_INLINE uint32_t fp_miss32(__m256i b, __m256i hib, __m256i lo_lut)
{
    __m256i in = _mm256_and_si256(_mm256_shuffle_epi8(lo_lut, b), hib);
    return (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(in, _mm256_setzero_si256()));
}

FP_AVX2_INLINE uint32_t fp_stop32(__m256i b)
{
    __m256i ctl = _mm256_cmpeq_epi8(_mm256_min_epu8(b, _mm256_set1_epi8(0x1f)), b);
    ctl = _mm256_andnot_si256(_mm256_cmpeq_epi8(b, _mm256_set1_epi8('\t')), ctl);
    ctl = _mm256_or_si256(ctl, _mm256_cmpeq_epi8(b, _mm256_set1_epi8(0x7f)));
    return (uint32_t)_mm256_movemask_epi8(ctl);
}

/* value and set scans, 32 bytes a step, then 16, then scalar: fp_scan_fn
 * contracts, as the SSE4.2 ones. */
FP_AVX2_INLINE const char *fp_value_avx2_i(const char *p, const char *end)
{
    uint32_t m;

    while (end - p >= 32) {
        m = fp_stop32(FP_LOAD256(p));
        if (m)
            return p + __builtin_ctz(m);
        p += 32;
    }
    if (end - p >= 16) {
        m = fp_stop16(FP_LOAD128(p));
        if (m)
            return p + __builtin_ctz(m);
        p += 16;
    }
    return fp_scan_class(p, end, FP_C_VCHAR);
}

FP_AVX2_INLINE const char *fp_set_avx2(const char *p, const char *end, __m256i lut, unsigned cls)
{
    uint32_t m;

    while (end - p >= 32) {
        __m256i b = FP_LOAD256(p);
        m = fp_miss32(b, fp_hibit32(b), lut);
        if (m)
            return p + __builtin_ctz(m);
        p += 32;
    }
    if (end - p >= 16) {
        __m128i b = FP_LOAD128(p);
        m = fp_miss16(b, fp_hibit16(b), _mm256_castsi256_si128(lut));
        if (m)
            return p + __builtin_ctz(m);
        p += 16;
    }
    return fp_scan_class(p, end, cls);
}

#define FP_TCHAR256 _mm256_setr_epi8(FP_LUT_TCHAR, FP_LUT_TCHAR)
#define FP_TARGET256 _mm256_setr_epi8(FP_LUT_TARGET, FP_LUT_TARGET)
#define FP_STOP256 _mm256_setr_epi8(FP_LUT_STOP, FP_LUT_STOP)
#define FP_NAME256 _mm256_setr_epi8(FP_LUT_NAME, FP_LUT_NAME)
#define fp_token_avx2_i(p, end) fp_set_avx2(p, end, FP_TCHAR256, FP_C_TCHAR)
#define fp_target_avx2_i(p, end) fp_set_avx2(p, end, FP_TARGET256, FP_C_TARGET)

/* fp_block_sse42 from one vector. */
FP_AVX2_INLINE fp_block_masks fp_block_avx2(const char *q, unsigned shift)
{
    const __m256i b = FP_LOAD256(q), hib = fp_hibit32(b);
    fp_block_masks bm;

    bm.miss = fp_miss32(b, hib, FP_TCHAR256) >> shift;
    bm.name = fp_miss32(b, hib, FP_NAME256) >> shift;
    bm.stop = ~fp_miss32(b, hib, FP_STOP256) >> shift;
    bm.target = fp_miss32(b, hib, FP_TARGET256) >> shift;
    return bm;
}

FP_AVX2_INLINE const char *fp_target_avx2_f(const char *p, const char *end)
{
    return fp_target_avx2_i(p, end);
}

FP_AVX2_INLINE const char *fp_request_line_avx2_i(const char *lo, const char *p, const char *end,
                                                  const char **sp)
{
    unsigned shift;
    const char *q, *ret;

    if (end - p >= 16 && fp_request_line16(p, end, sp, &ret, fp_target_avx2_f))
        return ret;
    q = fp_block_at(lo, p, end, &shift);
    if (q != NULL) {
        switch (fp_request_block(p, end, fp_block_avx2(q, shift), 32 - shift, sp, &ret)) {
        case FP_BLOCK_DONE:
            return ret;
        case FP_BLOCK_MORE:
            return fp_target_avx2_i(p + 32, end);
        default:
            break;
        }
    }
    FP_REQUEST_LINE_LOOPS(fp_token_avx2_i, fp_target_avx2_i);
}

FP_AVX2_INLINE const char *fp_field_line_avx2_i(const char *lo, const char *p, const char *end,
                                                const char **colon)
{
    unsigned shift;
    const char *q = fp_block_at(lo, p, end, &shift), *ret;

    if (q != NULL) {
        switch (fp_field_block(p, end, fp_block_avx2(q, shift), 32 - shift, colon, &ret)) {
        case FP_BLOCK_DONE:
            return ret;
        case FP_BLOCK_MORE:
            return fp_value_avx2_i(p + 32, end);
        default:
            break;
        }
    }
    FP_FIELD_LINE_LOOPS(fp_token_avx2_i, fp_value_avx2_i);
}

/* ---- 64-byte windows (plain C over the blocks of a level) ------------- */

typedef fp_block_masks (*fp_block_fn)(const char *q, unsigned shift);

/* Masks of the 64 bytes from q, bit i for q[i]; the bits of bytes at or
 * past end are clear. */
typedef struct fp_window_masks {
    uint64_t name;   /* not a name byte (FP_LUT_NAME) */
    uint64_t stop;   /* a field-value stop byte */
    uint64_t target; /* not a request-target byte */
} fp_window_masks;

/* The masks of the window at q.  A block that runs past end is read as the
 * 32 bytes ending at end, reaching back before q when lo allows.  Returns
 * 0, having set nothing, when it does not: the data is shorter than a
 * block.  All three masks are computed; once inlined, those the caller
 * does not use cost nothing. */
FP_INLINE int fp_window(const char *lo, const char *q, const char *end, fp_window_masks *w,
                        fp_block_fn block)
{
    fp_block_masks a, b = {0, 0, 0, 0};

    if (end - q >= 64) {
        a = block(q, 0);
        b = block(q + 32, 0);
    } else if (end - q > 32) {
        a = block(q, 0);
        b = block(end - 32, (unsigned)(64 - (end - q)));
    } else if (end <= q) {
        a = b;
    } else if (end - lo >= 32) {
        a = block(end - 32, (unsigned)(32 - (end - q)));
    } else {
        return 0;
    }
    w->name = a.name | (uint64_t)b.name << 32;
    w->stop = a.stop | (uint64_t)b.stop << 32;
    w->target = a.target | (uint64_t)b.target << 32;
    return 1;
}

FP_SSE42_INLINE int fp_window_sse42_i(const char *lo, const char *q, const char *end,
                                      fp_window_masks *w)
{
    return fp_window(lo, q, end, w, fp_block_sse42);
}

FP_AVX2_INLINE int fp_window_avx2_i(const char *lo, const char *q, const char *end,
                                    fp_window_masks *w)
{
    return fp_window(lo, q, end, w, fp_block_avx2);
}

#endif /* FP_SCAN_X86 */

#endif /* FP_SIMD_H */
