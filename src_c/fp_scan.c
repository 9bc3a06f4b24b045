/*
 * fp_scan.c - byte classes, the scanners of every level behind one table,
 * and the run-time choice of scalar, SSE4.2 or AVX2 code.
 *
 * The SIMD functions carry per-function target attributes, so the file
 * builds with baseline x86-64 flags (as a wheel must) and the CPU is asked
 * at run time which variant it can execute.  On other architectures only
 * the scalar code is built.  The scanners themselves are inline functions
 * in fp_simd.h, shared with the parser's fast path (fp_fast.c); the table
 * here makes each level's copy callable, for the tests and for code off
 * the hot path.
 */
#include "fp_scan.h"

#include "fp_http.h"
#include "fp_simd.h"

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

/* ---- the scanners of each level (fp_simd.h), callable ---------------- */

static const char *value_scalar(const char *p, const char *end)
{
    return fp_value_scalar_i(p, end);
}

static const char *token_scalar(const char *p, const char *end)
{
    return fp_token_scalar_i(p, end);
}

static const char *target_scalar(const char *p, const char *end)
{
    return fp_target_scalar_i(p, end);
}

static const char *request_line_scalar(const char *lo, const char *p, const char *end,
                                       const char **sp)
{
    return fp_request_line_scalar_i(lo, p, end, sp);
}

static const char *field_line_scalar(const char *lo, const char *p, const char *end,
                                     const char **colon)
{
    return fp_field_line_scalar_i(lo, p, end, colon);
}

static int host_ok_scalar(const char *lo, const char *v, const char *e)
{
    return fp_host_ok_scalar_i(lo, v, e);
}

#ifdef FP_SCAN_X86

FP_SSE42 static const char *value_sse42(const char *p, const char *end)
{
    return fp_value_sse42_i(p, end);
}

FP_SSE42 static const char *token_sse42(const char *p, const char *end)
{
    return fp_token_sse42_i(p, end);
}

FP_SSE42 static const char *target_sse42(const char *p, const char *end)
{
    return fp_target_sse42_i(p, end);
}

FP_SSE42 static const char *request_line_sse42(const char *lo, const char *p, const char *end,
                                               const char **sp)
{
    return fp_request_line_sse42_i(lo, p, end, sp);
}

FP_SSE42 static const char *field_line_sse42(const char *lo, const char *p, const char *end,
                                             const char **colon)
{
    return fp_field_line_sse42_i(lo, p, end, colon);
}

FP_SSE42 static int host_ok_sse42(const char *lo, const char *v, const char *e)
{
    return fp_host_ok_sse42_i(lo, v, e);
}

FP_AVX2 static const char *value_avx2(const char *p, const char *end)
{
    return fp_value_avx2_i(p, end);
}

FP_AVX2 static const char *token_avx2(const char *p, const char *end)
{
    return fp_token_avx2_i(p, end);
}

FP_AVX2 static const char *target_avx2(const char *p, const char *end)
{
    return fp_target_avx2_i(p, end);
}

FP_AVX2 static const char *request_line_avx2(const char *lo, const char *p, const char *end,
                                             const char **sp)
{
    return fp_request_line_avx2_i(lo, p, end, sp);
}

FP_AVX2 static const char *field_line_avx2(const char *lo, const char *p, const char *end,
                                           const char **colon)
{
    return fp_field_line_avx2_i(lo, p, end, colon);
}

/* Host values are short: the SSE4.2 check is the AVX2 one too. */
#define host_ok_avx2 host_ok_sse42

#define SSE42_SET SET(sse42), FP_SCAN_SSE42
#define AVX2_SET SET(avx2), FP_SCAN_AVX2
#else
#define SSE42_SET SET(scalar), FP_SCAN_SCALAR
#define AVX2_SET SSE42_SET
#endif /* FP_SCAN_X86 */

#define SET(l)                                                                                  \
    value_##l, token_##l, target_##l, request_line_##l, field_line_##l, host_ok_##l,            \
        fp_request_lines_##l, fp_response_lines_##l, fp_parse_request_##l,                      \
        fp_parse_response_##l

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
 * (they all store the same pointer).  Not static: fp_scanners_get() reads it
 * inline, one call fewer per parse. */
const fp_scanners *fp_scan_in_use;

/* See fp_http.h. */
int fp_scan_detect(void)
{
#ifdef FP_SCAN_X86
    __builtin_cpu_init();
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("bmi") &&
        __builtin_cpu_supports("bmi2"))
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
    __atomic_store_n(&fp_scan_in_use, s, __ATOMIC_RELEASE);
    return s->level;
}

/* See fp_scan.h. */
const fp_scanners *fp_scanners_first(void)
{
    fp_scan_select(FP_SCAN_AVX2);
    return __atomic_load_n(&fp_scan_in_use, __ATOMIC_ACQUIRE);
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
