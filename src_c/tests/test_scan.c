/*
 * test_scan.c - byte classes and scanners against trivial references built
 * from the grammar, at every level the CPU has, on inputs that end at the
 * guard page.
 */
#include <stdio.h>
#include <string.h>

#include "fp_scan.h"
#include "fp_simd.h"
#include "t.h"

static int in(const char *set, unsigned c)
{
    return c != 0 && strchr(set, (int)c) != NULL;
}

static int ref_alpha(unsigned c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z');
}

static int ref_digit(unsigned c)
{
    return c >= '0' && c <= '9';
}

/* The sets as fp_http.h words them. */
static int ref_tchar(unsigned c)
{
    return ref_alpha(c) || ref_digit(c) || in("!#$%&'*+-.^_`|~", c);
}

static int ref_target(unsigned c)
{
    return ref_alpha(c) || ref_digit(c) || in("-._~:/?[]@!$&'()*+,;=%", c);
}

static int ref_host(unsigned c)
{
    return ref_alpha(c) || ref_digit(c) || in("-._~!$&'()*+,;=%:[]", c);
}

static int ref_vchar(unsigned c)
{
    return c == '\t' || c == ' ' || (c >= 0x21 && c <= 0x7e) || c >= 0x80;
}

static int ref_hex(unsigned c)
{
    return ref_digit(c) || in("abcdefABCDEF", c);
}

static int ref_ows(unsigned c)
{
    return c == ' ' || c == '\t';
}

static void check_classes(void)
{
    unsigned c;

    for (c = 0; c < 256; c++) {
        CHECK(fp_is((unsigned char)c, FP_C_TCHAR) == ref_tchar(c));
        CHECK(fp_is((unsigned char)c, FP_C_TARGET) == ref_target(c));
        CHECK(fp_is((unsigned char)c, FP_C_HOST) == ref_host(c));
        CHECK(fp_is((unsigned char)c, FP_C_VCHAR) == ref_vchar(c));
        CHECK(fp_is((unsigned char)c, FP_C_HEX) == ref_hex(c));
        CHECK(fp_is((unsigned char)c, FP_C_DIGIT) == ref_digit(c));
        CHECK(fp_is((unsigned char)c, FP_C_OWS) == ref_ows(c));
        CHECK(fp_is((unsigned char)c, FP_C_ALPHA) == ref_alpha(c));
    }
}

typedef int (*ref_fn)(unsigned);

static const char *ref_scan(const char *p, const char *end, ref_fn ok)
{
    while (p < end && ok((unsigned char)*p))
        p++;
    return p;
}

/* The three scanners with their reference predicates. */
struct kind {
    const char *name;
    ref_fn ok;
    size_t slot; /* offset of the fn in fp_scanners */
};

static const struct kind kinds[] = {
    {"value", ref_vchar, offsetof(fp_scanners, value)},
    {"token", ref_tchar, offsetof(fp_scanners, token)},
    {"target", ref_target, offsetof(fp_scanners, target)},
};

static fp_scan_fn fn_of(const fp_scanners *s, const struct kind *k)
{
    fp_scan_fn f;
    memcpy(&f, (const char *)s + k->slot, sizeof f);
    return f;
}

/* Every level agrees with the reference on buf[0..n) (at the guard). */
static void compare_all(const struct kind *k, const char *src, size_t n)
{
    char *buf = t_guard(src, n);
    const char *want = ref_scan(buf, buf + n, k->ok);
    int level, best = fp_scan_detect();

    for (level = FP_SCAN_SCALAR; level <= best; level++) {
        const char *got = fn_of(fp_scanners_at(level), k)(buf, buf + n);
        if (!CHECK(got == want))
            fprintf(stderr, "  %s scanner at %s, n=%zu: stops at %td, reference at %td\n", k->name,
                    fp_scan_level_name(level), n, got - buf, want - buf);
    }
}

/* n bytes of members of the set, so that scans run long. */
static void fill_members(char *dst, size_t n, ref_fn ok)
{
    size_t i;
    unsigned c;

    for (i = 0; i < n; i++) {
        do
            c = t_rand() & 0xff;
        while (!ok(c));
        dst[i] = (char)c;
    }
}

static void check_scanners(void)
{
    static char src[512];
    size_t ki, n, pos, trial;
    unsigned c;

    for (ki = 0; ki < sizeof kinds / sizeof kinds[0]; ki++) {
        const struct kind *k = &kinds[ki];
        t_what = k->name;
        /* every byte value at every position of a 70-byte run (crosses the
         * 32-byte, 16-byte and scalar parts) */
        for (c = 0; c < 256; c++) {
            for (pos = 0; pos < 70; pos++) {
                fill_members(src, 70, k->ok);
                src[pos] = (char)c;
                compare_all(k, src, 70);
            }
        }
        /* random bytes, and members with a few random intruders, lengths 0..300 */
        for (n = 0; n <= 300; n++) {
            for (trial = 0; trial < 8; trial++) {
                size_t i;
                if (trial == 0) {
                    for (i = 0; i < n; i++)
                        src[i] = (char)(t_rand() & 0xff);
                } else {
                    fill_members(src, n, k->ok);
                    if (n && trial > 2)
                        src[t_rand() % n] = (char)(t_rand() & 0xff);
                    if (n && trial > 5)
                        src[t_rand() % n] = (char)(t_rand() & 0xff);
                }
                compare_all(k, src, n);
            }
        }
    }
}

/* The line scanners of every level agree with the references composed as
 * fp_scan.h describes. */
static void compare_lines(const char *src, size_t n, size_t before)
{
    /* `before` readable bytes of junk in front: the line scanners may use
     * them (the 32 bytes ending at end) but must not let them matter */
    char *buf = before ? t_guard(src, n) : t_guard_front(src, n), *lo = buf - before;
    const char *end = buf + n, *sp, *want, *wsp, *colon, *wcolon;
    int level, best = fp_scan_detect();

    wsp = ref_scan(buf, end, ref_tchar);
    want = (wsp < end && *wsp == ' ') ? ref_scan(wsp + 1, end, ref_target) : wsp;
    for (level = FP_SCAN_SCALAR; level <= best; level++) {
        const char *got = fp_scanners_at(level)->request_line(lo, buf, end, &sp);
        CHECK(got == want && sp == wsp);
    }
    wcolon = wsp;
    want = (wcolon < end && *wcolon == ':') ? ref_scan(wcolon + 1, end, ref_vchar) : wcolon;
    for (level = FP_SCAN_SCALAR; level <= best; level++) {
        const char *got = fp_scanners_at(level)->field_line(lo, buf, end, &colon);
        CHECK(got == want && colon == wcolon);
    }
}

/* Lines shaped like request lines and field lines, with intruders. */
static void check_line_scanners(void)
{
    static char src[400], buf_junk[40];
    static const char shape[] = " :\t\r\n/";
    size_t n, trial, i, cut;

    t_what = "line scanners";
    for (n = 0; n <= 300; n++) {
        for (trial = 0; trial < 6; trial++) {
            cut = n ? t_rand() % n : 0;
            fill_members(src, n, ref_tchar);
            for (i = cut + 1; i < n; i++)
                src[i] = (char)(0x21 + t_rand() % 94);
            if (n) {
                src[cut] = trial & 1 ? ' ' : ':';
                for (i = cut + 1; i < n && i < cut + 1 + t_rand() % 4; i++)
                    src[i] = t_rand() & 1 ? ' ' : '\t'; /* OWS, 0 to 3 bytes */
                if (trial >= 2)
                    src[t_rand() % n] = shape[t_rand() % (sizeof shape - 1)];
                if (trial >= 4)
                    src[t_rand() % n] = (char)(t_rand() & 0xff);
            }
            for (i = 0; i < 40; i++) /* junk before the line; the guard arena is readable */
                buf_junk[i] = (char)t_rand();
            memcpy(t_guard_at_end(n + 40), buf_junk, 40);
            compare_lines(src, n, trial % 3 == 0 ? 0 : trial % 3 == 1 ? 40 : t_rand() % 40);
        }
    }
}

/* host_ok of every level on [buf, buf + n), with `before` readable bytes
 * of junk in front that it may read but must not let matter. */
static void compare_host(const char *src, size_t n, size_t before)
{
    char *buf = before ? t_guard(src, n) : t_guard_front(src, n);
    int level, best = fp_scan_detect(), want = ref_scan(buf, buf + n, ref_host) == buf + n;

    for (level = FP_SCAN_SCALAR; level <= best; level++)
        if (!CHECK(fp_scanners_at(level)->host_ok(buf - before, buf, buf + n) == want))
            fprintf(stderr, "  host_ok at %s, n=%zu, before=%zu\n", fp_scan_level_name(level), n,
                    before);
}

/* Every byte value at every position of Host values of 0 to 40 bytes
 * (one vector, two, and the last one reaching back). */
static void check_host_ok(void)
{
    static char src[64], junk[64];
    size_t n, pos, i;
    unsigned c;

    t_what = "host_ok";
    for (n = 0; n <= 40; n++) {
        for (pos = 0; pos < n || (n == 0 && pos == 0); pos++) {
            for (c = 0; c < 256; c += n ? 1 : 256) {
                size_t before = (pos + c) % 3 == 0 ? 0 : (pos + c) % 3 == 1 ? 20 : 40;
                fill_members(src, n, ref_host);
                if (n)
                    src[pos] = (char)c;
                for (i = 0; i < before; i++)
                    junk[i] = (char)t_rand();
                memcpy(t_guard_at_end(n + before), junk, before);
                compare_host(src, n, before);
            }
        }
    }
}

#ifdef FP_SCAN_X86
/* The tchars that are not name bytes (FP_LUT_NAME). */
static int ref_name(unsigned c)
{
    return ref_tchar(c) && !in("#^`|", c);
}

FP_SSE42 static int window_sse42(const char *lo, const char *q, const char *end, fp_window_masks *w)
{
    return fp_window_sse42_i(lo, q, end, w);
}

FP_AVX2 static int window_avx2(const char *lo, const char *q, const char *end, fp_window_masks *w)
{
    return fp_window_avx2_i(lo, q, end, w);
}

/* The window masks of both SIMD levels at every start q in [lo, end] of
 * random data of n bytes at the guard, against the byte classes; bits of
 * bytes at or past end must be clear; no window when the data is shorter
 * than a block and q lies within its last 32 bytes. */
static void compare_windows(const char *src, size_t n)
{
    char *lo = t_guard(src, n), *end = lo + n;
    int (*const fns[2])(const char *, const char *, const char *, fp_window_masks *) = {
        window_sse42, window_avx2};
    int best = fp_scan_detect(), f;
    size_t o, i;

    for (f = 0; f < 2 && FP_SCAN_SSE42 + f <= best; f++) {
        for (o = 0; o <= n; o++) {
            const char *q = lo + o;
            fp_window_masks w = {1, 1, 1};
            uint64_t name = 0, stop = 0, target = 0;
            int want = !(end > q && end - q <= 32 && n < 32);

            if (!CHECK_INT(fns[f](lo, q, end, &w), want) || !want)
                continue;
            for (i = 0; i < 64 && o + i < n; i++) {
                unsigned c = (unsigned char)q[i];
                name |= (uint64_t)!ref_name(c) << i;
                stop |= (uint64_t)!ref_vchar(c) << i;
                target |= (uint64_t)!ref_target(c) << i;
            }
            if (!CHECK(w.name == name && w.stop == stop && w.target == target))
                fprintf(stderr, "  window level %d, n=%zu, q at %zu\n", FP_SCAN_SSE42 + f, n, o);
        }
    }
}
#endif

static void check_windows(void)
{
#ifdef FP_SCAN_X86
    static char src[160];
    static const char shape[] = " :\t\r\n/#|";
    size_t n, i, trial;

    t_what = "windows";
    for (n = 0; n <= 150; n++) {
        for (trial = 0; trial < 3; trial++) {
            for (i = 0; i < n; i++) /* mostly name and value bytes, some of every kind */
                src[i] = trial == 0 ? (char)(t_rand() & 0xff)
                                    : t_rand() % 4 ? (char)(0x21 + t_rand() % 94)
                                                   : shape[t_rand() % (sizeof shape - 1)];
            compare_windows(src, n);
        }
    }
#endif
}

static void check_selection(void)
{
    int best = fp_scan_detect(), before = fp_scan_current();

    CHECK(best >= FP_SCAN_SCALAR && best <= FP_SCAN_AVX2);
    CHECK_INT(fp_scan_select(FP_SCAN_AVX2 + 5), best); /* lowered to what the CPU has */
    CHECK_INT(fp_scan_select(-1), FP_SCAN_SCALAR);
    CHECK_INT(fp_scan_current(), FP_SCAN_SCALAR);
    CHECK_INT(fp_scanners_get()->level, FP_SCAN_SCALAR);
    CHECK(strcmp(fp_scan_level_name(FP_SCAN_SCALAR), "scalar") == 0);
    CHECK(strcmp(fp_scan_level_name(FP_SCAN_SSE42), "sse4.2") == 0);
    CHECK(strcmp(fp_scan_level_name(FP_SCAN_AVX2), "avx2") == 0);
    CHECK(strcmp(fp_scan_level_name(9), "unknown") == 0);
    fp_scan_select(before);
}

void test_scan(void)
{
    check_classes();
    check_scanners();
    check_line_scanners();
    check_host_ok();
    check_windows();
    check_selection();
}
