/*
 * test_scan.c - byte classes and scanners against trivial references built
 * from the grammar, at every level the CPU has, on inputs that end at the
 * guard page.
 */
#include <stdio.h>
#include <string.h>

#include "fp_scan.h"
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
    const char *end = buf + n, *sp, *want, *wsp, *colon, *value, *wcolon, *wvalue = NULL;
    int level, best = fp_scan_detect();

    wsp = ref_scan(buf, end, ref_tchar);
    want = (wsp < end && *wsp == ' ') ? ref_scan(wsp + 1, end, ref_target) : wsp;
    for (level = FP_SCAN_SCALAR; level <= best; level++) {
        const char *got = fp_scanners_at(level)->request_line(lo, buf, end, &sp);
        CHECK(got == want && sp == wsp);
    }
    wcolon = wsp;
    if (wcolon < end && *wcolon == ':') {
        wvalue = ref_scan(wcolon + 1, end, ref_ows);
        want = ref_scan(wvalue, end, ref_vchar);
    } else {
        want = wcolon;
    }
    for (level = FP_SCAN_SCALAR; level <= best; level++) {
        const char *got = fp_scanners_at(level)->field_line(lo, buf, end, &colon, &value);
        CHECK(got == want && colon == wcolon && (wvalue == NULL || value == wvalue));
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
    check_selection();
}
