/*
 * fp_scan.c - byte classes and the range scanners, with run-time choice of
 * scalar, SSE4.2 or AVX2 code.
 *
 * All variants live in this one translation unit: the SIMD functions carry
 * per-function target attributes, so the file builds with baseline x86-64
 * flags (as a wheel must) and the CPU is asked at run time which variant it
 * can execute.  On other architectures only the scalar code is built.
 *
 * The set scanners (token, target) classify 16 or 32 bytes at once with two
 * nibble lookups: for a byte b = (hi << 4) | lo with hi < 8,
 *     b is in the set  <=>  lo_lut[lo] & (1 << hi) != 0,
 * where bit h of lo_lut[lo] says whether (h << 4) | lo is in the set.
 * PSHUFB yields 0 for index bytes >= 0x80, so non-ASCII bytes, never in these
 * sets, fall out for free.  The tables below are derived from fp_cclass; the
 * tests check every byte value at every level against it.
 *
 * The line scanners first try to settle a line from the bit masks of one
 * 32-byte block (field_block, request_block): most lines are shorter than that,
 * and one block with a few bit operations beats three loops whose exits
 * the branch predictor cannot guess.  Near the end of the data the block is
 * the 32 bytes ending at `end`, reaching back before p (never before lo).
 */
#include "fp_scan.h"

#include "fp_http.h"

/* FP_SCAN_NO_SIMD builds the scalar code only, as on other CPUs (the tests
 * use it to check that build). */
#if (defined(__x86_64__) || defined(__i386__)) && defined(__GNUC__) && !defined(FP_SCAN_NO_SIMD)
#define FP_SCAN_X86 1
#include <immintrin.h>
#endif

/* fp_cclass: the FP_C_* bits of every byte (generated from the grammar sets
 * named in fp_scan.h; src_c/tests/test_scan.c rebuilds it from those sets). */
const uint8_t fp_cclass[256] = {
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x48, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0x00 */
    0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, 0x00, /* 0x10 */
    0x48, 0x0f, 0x08, 0x09, 0x0f, 0x0f, 0x0f, 0x0f, 0x0e, 0x0e, 0x0f, 0x0f, 0x0e, 0x0f, 0x0f, 0x0a, /* 0x20 */
    0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x3f, 0x0e, 0x0e, 0x08, 0x0e, 0x08, 0x0a, /* 0x30 */
    0x0a, 0x9f, 0x9f, 0x9f, 0x9f, 0x9f, 0x9f, 0x8f, 0x8f, 0x8f, 0x8f, 0x8f, 0x8f, 0x8f, 0x8f, 0x8f, /* 0x40 */
    0x8f, 0x8f, 0x8f, 0x8f, 0x8f, 0x8f, 0x8f, 0x8f, 0x8f, 0x8f, 0x8f, 0x0e, 0x08, 0x0e, 0x09, 0x0f, /* 0x50 */
    0x09, 0x9f, 0x9f, 0x9f, 0x9f, 0x9f, 0x9f, 0x8f, 0x8f, 0x8f, 0x8f, 0x8f, 0x8f, 0x8f, 0x8f, 0x8f, /* 0x60 */
    0x8f, 0x8f, 0x8f, 0x8f, 0x8f, 0x8f, 0x8f, 0x8f, 0x8f, 0x8f, 0x8f, 0x08, 0x09, 0x08, 0x0f, 0x00, /* 0x70 */
    0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, /* 0x80 */
    0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, /* 0x90 */
    0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, /* 0xa0 */
    0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, /* 0xb0 */
    0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, /* 0xc0 */
    0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, /* 0xd0 */
    0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, /* 0xe0 */
    0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, 0x08, /* 0xf0 */
};

/* ---- scalar ------------------------------------------------------------ */

/* First byte of [p, end) without a bit of cls, or end.  Unrolled by four:
 * tokens are short, but values and targets are not. */
static inline const char *scan_class(const char *p, const char *end, unsigned cls)
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

/* The bytes after a field's colon up to its value: SP and HTAB. */
static inline const char *skip_ows(const char *p, const char *end)
{
    while (p < end && fp_is((unsigned char)*p, FP_C_OWS))
        p++;
    return p;
}

/* The line scanners as loops over a level's primitives (the contract is
 * in fp_scan.h): the whole scalar version, and the SIMD fallback. */
#define REQUEST_LINE_LOOPS(TOKEN, TARGET)                                                       \
    do {                                                                                        \
        const char *s_ = TOKEN(p, end);                                                         \
        *sp = s_;                                                                               \
        return (s_ == end || *s_ != ' ') ? s_ : TARGET(s_ + 1, end);                            \
    } while (0)

#define FIELD_LINE_LOOPS(TOKEN, VALUE)                                                          \
    do {                                                                                        \
        const char *c_ = TOKEN(p, end);                                                         \
        *colon = c_;                                                                            \
        if (c_ == end || *c_ != ':')                                                            \
            return c_;                                                                          \
        *value = skip_ows(c_ + 1, end);                                                         \
        return VALUE(*value, end);                                                              \
    } while (0)

#define value_scalar_i(p, end) scan_class(p, end, FP_C_VCHAR)
#define token_scalar_i(p, end) scan_class(p, end, FP_C_TCHAR)
#define target_scalar_i(p, end) scan_class(p, end, FP_C_TARGET)

/* Scalar scanners: the contracts of fp_scanners. */
static const char *value_scalar(const char *p, const char *end)
{
    return value_scalar_i(p, end);
}

static const char *token_scalar(const char *p, const char *end)
{
    return token_scalar_i(p, end);
}

static const char *target_scalar(const char *p, const char *end)
{
    return target_scalar_i(p, end);
}

static const char *request_line_scalar(const char *lo, const char *p, const char *end,
                                       const char **sp)
{
    (void)lo;
    REQUEST_LINE_LOOPS(token_scalar_i, target_scalar_i);
}

static const char *field_line_scalar(const char *lo, const char *p, const char *end,
                                     const char **colon, const char **value)
{
    (void)lo;
    FIELD_LINE_LOOPS(token_scalar_i, value_scalar_i);
}

#ifdef FP_SCAN_X86

/* ---- one-block line scans (plain C over the masks) --------------------- */

/* Masks of the n bytes from p (1 <= n <= 32), bit i for p[i]; bits from n
 * up are clear. */
typedef struct block_masks {
    uint32_t miss;  /* not a tchar */
    uint32_t miss2; /* request lines: not a target byte */
    uint32_t ows;   /* field lines: SP or HTAB */
    uint32_t stop;  /* field lines: field-value stop byte */
} block_masks;

/* Outcomes of a block pass. */
enum { BLOCK_UNSETTLED, BLOCK_DONE, BLOCK_MORE };

/* Field line from one block: BLOCK_DONE with the scanner's result in *ret
 * (and *colon, *value as the contract says); BLOCK_MORE when the value runs
 * past a full block (scan it on from p + 32); BLOCK_UNSETTLED when a full
 * block ends inside the name or inside the OWS (run the loops from p).  A
 * short block (n < 32) ends at `end`, so it always settles. */
static inline int field_block(const char *p, const char *end, const block_masks *bm, unsigned n,
                              const char **colon, const char **value, const char **ret)
{
    uint64_t valid = ((uint64_t)1 << n) - 1, miss = bm->miss & valid, after, start, stop;
    unsigned i;

    if (miss == 0) { /* the name fills the block */
        if (n == 32)
            return BLOCK_UNSETTLED;
        *colon = *ret = end;
        return BLOCK_DONE;
    }
    i = (unsigned)__builtin_ctzll(miss);
    *colon = *ret = p + i;
    if (p[i] != ':')
        return BLOCK_DONE;
    after = ~(uint64_t)0 << (i + 1);
    start = ~(uint64_t)bm->ows & after & valid;
    if (start == 0) { /* OWS up to the block's end */
        if (n == 32)
            return BLOCK_UNSETTLED;
        *value = *ret = end;
        return BLOCK_DONE;
    }
    *value = p + __builtin_ctzll(start);
    stop = bm->stop & after & valid; /* OWS are no stop bytes: stop >= start */
    if (stop != 0) {
        *ret = p + __builtin_ctzll(stop);
        return BLOCK_DONE;
    }
    if (n == 32)
        return BLOCK_MORE;
    *ret = end;
    return BLOCK_DONE;
}

/* Request line from one block; the outcomes of field_block, BLOCK_MORE
 * meaning the target runs past a full block. */
static inline int request_block(const char *p, const char *end, const block_masks *bm,
                                unsigned n, const char **sp, const char **ret)
{
    uint64_t valid = ((uint64_t)1 << n) - 1, miss = bm->miss & valid, miss2;
    unsigned i;

    if (miss == 0) {
        if (n == 32)
            return BLOCK_UNSETTLED;
        *sp = *ret = end;
        return BLOCK_DONE;
    }
    i = (unsigned)__builtin_ctzll(miss);
    *sp = *ret = p + i;
    if (p[i] != ' ')
        return BLOCK_DONE;
    miss2 = bm->miss2 & (~(uint64_t)0 << (i + 1)) & valid;
    if (miss2 != 0) {
        *ret = p + __builtin_ctzll(miss2);
        return BLOCK_DONE;
    }
    if (n == 32)
        return BLOCK_MORE;
    *ret = end;
    return BLOCK_DONE;
}

/* Where the block for p lies: at p when 32 bytes remain, else the 32 bytes
 * ending at end when lo allows, shifted by *shift; NULL when neither. */
static inline const char *block_at(const char *lo, const char *p, const char *end,
                                   unsigned *shift)
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
 * >= 0x80 are in neither set. */
#define LUT_HI 0x01, 0x02, 0x04, 0x08, 0x10, 0x20, 0x40, (char)0x80, 0, 0, 0, 0, 0, 0, 0, 0
#define LUT_TCHAR (char)0xe8, (char)0xfc, (char)0xf8, (char)0xfc, (char)0xfc, (char)0xfc, \
    (char)0xfc, (char)0xfc, (char)0xf8, (char)0xf8, (char)0xf4, 0x54, (char)0xd0, 0x54, (char)0xf4, 0x70
#define LUT_TARGET (char)0xb8, (char)0xfc, (char)0xf8, (char)0xf8, (char)0xfc, (char)0xfc, \
    (char)0xfc, (char)0xfc, (char)0xfc, (char)0xfc, (char)0xfc, 0x7c, 0x54, 0x7c, (char)0xd4, 0x7c

/* The helpers below are always inlined into the exported scanners: vector
 * arguments across a real call would leave the upper YMM halves dirty at
 * return (no VZEROUPPER is emitted then), and every later SSE instruction
 * of the baseline-compiled parser would pay for it. */
#define SSE42 __attribute__((target("sse4.2")))
#define SSE42_INLINE __attribute__((target("sse4.2"), always_inline)) static inline
#define AVX2 __attribute__((target("avx2")))
#define AVX2_INLINE __attribute__((target("avx2"), always_inline)) static inline

#define LOAD128(p) _mm_loadu_si128((const __m128i *)(const void *)(p))
#define LOAD256(p) _mm256_loadu_si256((const __m256i *)(const void *)(p))

/* ---- SSE4.2 (16 bytes a step; PSHUFB is SSSE3, implied) --------------- */

/* Bit i set <=> byte i of b is a field-value stop byte (CTL but HTAB, DEL). */
SSE42_INLINE uint32_t value_mask16(__m128i b)
{
    __m128i ctl = _mm_cmpeq_epi8(_mm_min_epu8(b, _mm_set1_epi8(0x1f)), b);
    ctl = _mm_andnot_si128(_mm_cmpeq_epi8(b, _mm_set1_epi8('\t')), ctl);
    ctl = _mm_or_si128(ctl, _mm_cmpeq_epi8(b, _mm_set1_epi8(0x7f)));
    return (uint32_t)_mm_movemask_epi8(ctl);
}

/* Bit i set <=> byte i of b is outside the set described by lo_lut. */
SSE42_INLINE uint32_t set_miss16(__m128i b, __m128i lo_lut)
{
    const __m128i hi_lut = _mm_setr_epi8(LUT_HI);
    __m128i hi = _mm_and_si128(_mm_srli_epi16(b, 4), _mm_set1_epi8(0x0f));
    __m128i in = _mm_and_si128(_mm_shuffle_epi8(lo_lut, b), _mm_shuffle_epi8(hi_lut, hi));
    return (uint32_t)_mm_movemask_epi8(_mm_cmpeq_epi8(in, _mm_setzero_si128()));
}

/* Bit i set <=> byte i of b is SP or HTAB. */
SSE42_INLINE uint32_t ows_mask16(__m128i b)
{
    __m128i w = _mm_or_si128(_mm_cmpeq_epi8(b, _mm_set1_epi8(' ')),
                             _mm_cmpeq_epi8(b, _mm_set1_epi8('\t')));
    return (uint32_t)_mm_movemask_epi8(w);
}

/* value and set scans, 16 bytes a step then scalar: fp_scan_fn contracts
 * (set_sse42: the set of lut, with cls its FP_C_* bit for the tail). */
SSE42_INLINE const char *value_sse42_i(const char *p, const char *end)
{
    while (end - p >= 16) {
        uint32_t m = value_mask16(LOAD128(p));
        if (m)
            return p + __builtin_ctz(m);
        p += 16;
    }
    return scan_class(p, end, FP_C_VCHAR);
}

SSE42_INLINE const char *set_sse42(const char *p, const char *end, __m128i lut, unsigned cls)
{
    while (end - p >= 16) {
        uint32_t m = set_miss16(LOAD128(p), lut);
        if (m)
            return p + __builtin_ctz(m);
        p += 16;
    }
    return scan_class(p, end, cls);
}

#define token_sse42_i(p, end) set_sse42(p, end, _mm_setr_epi8(LUT_TCHAR), FP_C_TCHAR)
#define target_sse42_i(p, end) set_sse42(p, end, _mm_setr_epi8(LUT_TARGET), FP_C_TARGET)

/* SSE4.2 scanners: the contracts of fp_scanners.  A block is two vectors. */
SSE42 static const char *value_sse42(const char *p, const char *end)
{
    return value_sse42_i(p, end);
}

SSE42 static const char *token_sse42(const char *p, const char *end)
{
    return token_sse42_i(p, end);
}

SSE42 static const char *target_sse42(const char *p, const char *end)
{
    return target_sse42_i(p, end);
}

SSE42 static const char *request_line_sse42(const char *lo, const char *p, const char *end,
                                            const char **sp)
{
    unsigned shift;
    const char *q = block_at(lo, p, end, &shift), *ret;

    if (q != NULL) {
        const __m128i b0 = LOAD128(q), b1 = LOAD128(q + 16);
        const __m128i tl = _mm_setr_epi8(LUT_TCHAR), ul = _mm_setr_epi8(LUT_TARGET);
        block_masks bm;
        bm.miss = (set_miss16(b0, tl) | set_miss16(b1, tl) << 16) >> shift;
        bm.miss2 = (set_miss16(b0, ul) | set_miss16(b1, ul) << 16) >> shift;
        switch (request_block(p, end, &bm, 32 - shift, sp, &ret)) {
        case BLOCK_DONE:
            return ret;
        case BLOCK_MORE:
            return target_sse42_i(p + 32, end);
        default:
            break;
        }
    }
    REQUEST_LINE_LOOPS(token_sse42_i, target_sse42_i);
}

SSE42 static const char *field_line_sse42(const char *lo, const char *p, const char *end,
                                          const char **colon, const char **value)
{
    unsigned shift;
    const char *q = block_at(lo, p, end, &shift), *ret;

    if (q != NULL) {
        const __m128i b0 = LOAD128(q), b1 = LOAD128(q + 16), tl = _mm_setr_epi8(LUT_TCHAR);
        block_masks bm;
        bm.miss = (set_miss16(b0, tl) | set_miss16(b1, tl) << 16) >> shift;
        bm.ows = (ows_mask16(b0) | ows_mask16(b1) << 16) >> shift;
        bm.stop = (value_mask16(b0) | value_mask16(b1) << 16) >> shift;
        switch (field_block(p, end, &bm, 32 - shift, colon, value, &ret)) {
        case BLOCK_DONE:
            return ret;
        case BLOCK_MORE:
            return value_sse42_i(p + 32, end);
        default:
            break;
        }
    }
    FIELD_LINE_LOOPS(token_sse42_i, value_sse42_i);
}

/* ---- AVX2 (32 bytes a step, then one 16-byte step, then scalar) ------- */

/* The masks of value_mask16, set_miss16 and ows_mask16 for 32 bytes. */
AVX2_INLINE uint32_t value_mask32(__m256i b)
{
    __m256i ctl = _mm256_cmpeq_epi8(_mm256_min_epu8(b, _mm256_set1_epi8(0x1f)), b);
    ctl = _mm256_andnot_si256(_mm256_cmpeq_epi8(b, _mm256_set1_epi8('\t')), ctl);
    ctl = _mm256_or_si256(ctl, _mm256_cmpeq_epi8(b, _mm256_set1_epi8(0x7f)));
    return (uint32_t)_mm256_movemask_epi8(ctl);
}

AVX2_INLINE uint32_t set_miss32(__m256i b, __m256i lo_lut)
{
    const __m256i hi_lut = _mm256_setr_epi8(LUT_HI, LUT_HI);
    __m256i hi = _mm256_and_si256(_mm256_srli_epi16(b, 4), _mm256_set1_epi8(0x0f));
    __m256i in = _mm256_and_si256(_mm256_shuffle_epi8(lo_lut, b), _mm256_shuffle_epi8(hi_lut, hi));
    return (uint32_t)_mm256_movemask_epi8(_mm256_cmpeq_epi8(in, _mm256_setzero_si256()));
}

AVX2_INLINE uint32_t ows_mask32(__m256i b)
{
    __m256i w = _mm256_or_si256(_mm256_cmpeq_epi8(b, _mm256_set1_epi8(' ')),
                                _mm256_cmpeq_epi8(b, _mm256_set1_epi8('\t')));
    return (uint32_t)_mm256_movemask_epi8(w);
}

/* value and set scans, 32 bytes a step, then 16, then scalar: fp_scan_fn
 * contracts, as the SSE4.2 ones. */
AVX2_INLINE const char *value_avx2_i(const char *p, const char *end)
{
    uint32_t m;

    while (end - p >= 32) {
        m = value_mask32(LOAD256(p));
        if (m)
            return p + __builtin_ctz(m);
        p += 32;
    }
    if (end - p >= 16) {
        m = value_mask16(LOAD128(p));
        if (m)
            return p + __builtin_ctz(m);
        p += 16;
    }
    return scan_class(p, end, FP_C_VCHAR);
}

AVX2_INLINE const char *set_avx2(const char *p, const char *end, __m256i lut, unsigned cls)
{
    uint32_t m;

    while (end - p >= 32) {
        m = set_miss32(LOAD256(p), lut);
        if (m)
            return p + __builtin_ctz(m);
        p += 32;
    }
    if (end - p >= 16) {
        m = set_miss16(LOAD128(p), _mm256_castsi256_si128(lut));
        if (m)
            return p + __builtin_ctz(m);
        p += 16;
    }
    return scan_class(p, end, cls);
}

#define TCHAR256 _mm256_setr_epi8(LUT_TCHAR, LUT_TCHAR)
#define TARGET256 _mm256_setr_epi8(LUT_TARGET, LUT_TARGET)
#define token_avx2_i(p, end) set_avx2(p, end, TCHAR256, FP_C_TCHAR)
#define target_avx2_i(p, end) set_avx2(p, end, TARGET256, FP_C_TARGET)

/* AVX2 scanners: the contracts of fp_scanners. */
AVX2 static const char *value_avx2(const char *p, const char *end)
{
    return value_avx2_i(p, end);
}

AVX2 static const char *token_avx2(const char *p, const char *end)
{
    return token_avx2_i(p, end);
}

AVX2 static const char *target_avx2(const char *p, const char *end)
{
    return target_avx2_i(p, end);
}

AVX2 static const char *request_line_avx2(const char *lo, const char *p, const char *end,
                                          const char **sp)
{
    unsigned shift;
    const char *q = block_at(lo, p, end, &shift), *ret;

    if (q != NULL) {
        const __m256i b = LOAD256(q);
        block_masks bm;
        bm.miss = set_miss32(b, TCHAR256) >> shift;
        bm.miss2 = set_miss32(b, TARGET256) >> shift;
        switch (request_block(p, end, &bm, 32 - shift, sp, &ret)) {
        case BLOCK_DONE:
            return ret;
        case BLOCK_MORE:
            return target_avx2_i(p + 32, end);
        default:
            break;
        }
    }
    REQUEST_LINE_LOOPS(token_avx2_i, target_avx2_i);
}

AVX2 static const char *field_line_avx2(const char *lo, const char *p, const char *end,
                                        const char **colon, const char **value)
{
    unsigned shift;
    const char *q = block_at(lo, p, end, &shift), *ret;

    if (q != NULL) {
        const __m256i b = LOAD256(q);
        block_masks bm;
        bm.miss = set_miss32(b, TCHAR256) >> shift;
        bm.ows = ows_mask32(b) >> shift;
        bm.stop = value_mask32(b) >> shift;
        switch (field_block(p, end, &bm, 32 - shift, colon, value, &ret)) {
        case BLOCK_DONE:
            return ret;
        case BLOCK_MORE:
            return value_avx2_i(p + 32, end);
        default:
            break;
        }
    }
    FIELD_LINE_LOOPS(token_avx2_i, value_avx2_i);
}

#define SSE42_SET SET(sse42), FP_SCAN_SSE42
#define AVX2_SET SET(avx2), FP_SCAN_AVX2
#else
#define SSE42_SET SET(scalar), FP_SCAN_SCALAR
#define AVX2_SET SSE42_SET
#endif /* FP_SCAN_X86 */

#define SET(l) value_##l, token_##l, target_##l, request_line_##l, field_line_##l

static const fp_scanners scanner_sets[3] = {
    {SET(scalar), FP_SCAN_SCALAR},
    {SSE42_SET},
    {AVX2_SET},
};

/* ---- selection --------------------------------------------------------- */

/* Rule zero: the one piece of mutable global state in src_c.  The scan level
 * is a property of the CPU the process runs on, chosen once at start-up and
 * the same for every connection; threading it through every parse call
 * would make each caller carry a value it can do nothing with.  Written with
 * atomic stores so a lazy first use racing on several threads is benign
 * (they all store the same pointer). */
static const fp_scanners *selected;

/* See fp_http.h. */
int fp_scan_detect(void)
{
#ifdef FP_SCAN_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2"))
        return FP_SCAN_AVX2;
    if (__builtin_cpu_supports("sse4.2"))
        return FP_SCAN_SSE42;
#endif
    return FP_SCAN_SCALAR;
}

/* See fp_scan.h. */
const fp_scanners *fp_scanners_at(int level)
{
    int best = fp_scan_detect();
    if (level > best)
        level = best;
    if (level < FP_SCAN_SCALAR)
        level = FP_SCAN_SCALAR;
    return &scanner_sets[level];
}

/* See fp_http.h. */
int fp_scan_select(int level)
{
    const fp_scanners *s = fp_scanners_at(level);
    __atomic_store_n(&selected, s, __ATOMIC_RELEASE);
    return s->level;
}

/* See fp_scan.h. */
const fp_scanners *fp_scanners_get(void)
{
    const fp_scanners *s = __atomic_load_n(&selected, __ATOMIC_ACQUIRE);
    if (s == NULL) {
        fp_scan_select(FP_SCAN_AVX2);
        s = __atomic_load_n(&selected, __ATOMIC_ACQUIRE);
    }
    return s;
}

/* See fp_http.h. */
int fp_scan_current(void)
{
    return fp_scanners_get()->level;
}

/* See fp_http.h. */
const char *fp_scan_level_name(int level)
{
    switch (level) {
    case FP_SCAN_SCALAR:
        return "scalar";
    case FP_SCAN_SSE42:
        return "sse4.2";
    case FP_SCAN_AVX2:
        return "avx2";
    default:
        return "unknown";
    }
}
