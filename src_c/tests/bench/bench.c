/*
 * bench.c - ns per request-head parse: fastproxy's C parser at each scan
 * level, and picohttpparser (built by bench.sh from the pycohttpparser
 * sdist, at baseline and with -msse4.2) when HAVE_PICO is defined.
 *
 * Three requests: a minimal GET with Host, a typical ~500-byte browser
 * request with 12 fields, and a 4 KiB cookie-heavy request.  Each figure is
 * the median of RUNS timed runs of a loop sized to take about 20 ms.
 * Ours includes fp_message_init() in each parse, as a caller must do.
 */
#define _POSIX_C_SOURCE 199309L
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "fp_http.h"

#ifdef HAVE_PICO
#include "picohttpparser.h"
int phr_parse_request_sse42(const char *buf, size_t len, const char **method, size_t *method_len,
                            const char **path, size_t *path_len, int *minor_version,
                            struct phr_header *headers, size_t *num_headers, size_t last_len);
#endif

#define RUNS 9
#define MAX_HEADERS 64

static const char req_min[] = "GET / HTTP/1.1\r\nHost: example.com\r\n\r\n";

static const char req_typical[] =
    "GET /search?q=fast+proxy&lang=en HTTP/1.1\r\n"
    "Host: www.example.com\r\n"
    "User-Agent: Mozilla/5.0 (X11; Linux x86_64; rv:120.0) Gecko/20100101 Firefox/120.0\r\n"
    "Accept: text/html,application/xhtml+xml,application/xml;q=0.9,image/avif,*/*;q=0.8\r\n"
    "Accept-Language: en-US,en;q=0.5\r\n"
    "Accept-Encoding: gzip, deflate, br\r\n"
    "Referer: https://www.example.com/products/index.html\r\n"
    "Connection: keep-alive\r\n"
    "Cookie: session=abc123def456; theme=dark; lang=en\r\n"
    "Upgrade-Insecure-Requests: 1\r\n"
    "Sec-Fetch-Dest: document\r\n"
    "Sec-Fetch-Mode: navigate\r\n"
    "Sec-Fetch-Site: same-origin\r\n"
    "\r\n";

static char req_cookie[4096];
static size_t req_cookie_len;

/* A 4 KiB request: the typical fields plus a long Cookie of name=value
 * pairs, padded to exactly 4096 bytes. */
static void make_cookie_request(void)
{
    static const char head[] =
        "GET /account/orders?page=2 HTTP/1.1\r\n"
        "Host: shop.example.com\r\n"
        "User-Agent: Mozilla/5.0 (Macintosh; Intel Mac OS X 10_15_7) AppleWebKit/605.1.15\r\n"
        "Accept: text/html,application/xhtml+xml\r\n"
        "Accept-Encoding: gzip, deflate, br\r\n"
        "Connection: keep-alive\r\n"
        "Cookie: ";
    size_t n = sizeof head - 1, i = 0;

    memcpy(req_cookie, head, n);
    for (i = 0; n < sizeof req_cookie - 40; i++)
        n += (size_t)sprintf(req_cookie + n, "c%zu=%08zx%08zx; ", i, (i * 2654435761u) & 0xffffffffu,
                             i ^ 0x5bd1e995u);
    while (n < sizeof req_cookie - 4)
        req_cookie[n++] = 'z';
    memcpy(req_cookie + n, "\r\n\r\n", 4);
    req_cookie_len = n + 4;
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts); /* not counting time preempted */
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static volatile long sink;

typedef long (*parse_fn)(const char *buf, size_t len);

static long parse_ours(const char *buf, size_t len)
{
    static const fp_limits lim = {8192, 16384, MAX_HEADERS};
    fp_header hs[MAX_HEADERS];
    fp_message m;

    fp_message_init(&m, hs);
    return fp_parse_request(&m, buf, len, &lim) + (long)m.num_headers;
}

#ifdef HAVE_PICO
static long parse_pico(const char *buf, size_t len)
{
    struct phr_header hs[MAX_HEADERS];
    const char *method, *path;
    size_t method_len, path_len, nh = MAX_HEADERS;
    int minor;

    return phr_parse_request(buf, len, &method, &method_len, &path, &path_len, &minor, hs, &nh, 0) +
           (long)nh;
}

static long parse_pico_sse42(const char *buf, size_t len)
{
    struct phr_header hs[MAX_HEADERS];
    const char *method, *path;
    size_t method_len, path_len, nh = MAX_HEADERS;
    int minor;

    return phr_parse_request_sse42(buf, len, &method, &method_len, &path, &path_len, &minor, hs,
                                   &nh, 0) +
           (long)nh;
}
#endif

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Median ns per call of f on buf over RUNS runs of about 20 ms each. */
static double measure(parse_fn f, const char *buf, size_t len)
{
    double runs[RUNS], t0, per;
    long iters = 1000, i, acc = 0;
    int r;

    for (;;) { /* calibrate */
        t0 = now_ns();
        for (i = 0; i < iters; i++)
            acc += f(buf, len);
        per = (now_ns() - t0) / (double)iters;
        if (per * (double)iters > 5e6)
            break;
        iters *= 4;
    }
    iters = (long)(20e6 / per) + 1;
    for (r = 0; r < RUNS; r++) {
        t0 = now_ns();
        for (i = 0; i < iters; i++)
            acc += f(buf, len);
        runs[r] = (now_ns() - t0) / (double)iters;
    }
    sink = acc;
    qsort(runs, RUNS, sizeof runs[0], cmp_double);
    return runs[RUNS / 2];
}

int main(void)
{
    const char *names[3] = {"minimal GET", "typical 12 fields", "4 KiB cookies"};
    const char *bufs[3];
    size_t lens[3];
    int best = fp_scan_detect(), level, k;

    make_cookie_request();
    bufs[0] = req_min, lens[0] = sizeof req_min - 1;
    bufs[1] = req_typical, lens[1] = sizeof req_typical - 1;
    bufs[2] = req_cookie, lens[2] = req_cookie_len;
    for (k = 0; k < 3; k++) { /* sanity: every parser takes the whole head */
        if (parse_ours(bufs[k], lens[k]) <= 0) {
            fprintf(stderr, "bench: our parser rejected request %d\n", k);
            return 1;
        }
    }
    printf("%-24s %12s %18s %14s\n", "parser (ns per parse)", names[0], names[1], names[2]);
    printf("%-24s %12zu %18zu %14zu\n", "  request bytes", lens[0], lens[1], lens[2]);
    for (level = FP_SCAN_SCALAR; level <= best; level++) {
        char label[40];
        fp_scan_select(level);
        snprintf(label, sizeof label, "fastproxy %s", fp_scan_level_name(level));
        printf("%-24s", label);
        for (k = 0; k < 3; k++)
            printf(" %*.1f", k == 0 ? 12 : k == 1 ? 18 : 14, measure(parse_ours, bufs[k], lens[k]));
        printf("\n");
    }
#ifdef HAVE_PICO
    printf("%-24s", "picohttpparser -O3");
    for (k = 0; k < 3; k++)
        printf(" %*.1f", k == 0 ? 12 : k == 1 ? 18 : 14, measure(parse_pico, bufs[k], lens[k]));
    printf("\n%-24s", "picohttpparser -msse4.2");
    for (k = 0; k < 3; k++)
        printf(" %*.1f", k == 0 ? 12 : k == 1 ? 18 : 14, measure(parse_pico_sse42, bufs[k], lens[k]));
    printf("\n");
#else
    printf("(picohttpparser not available: only fastproxy measured)\n");
#endif
    printf("median of %d runs of ~20 ms each\n", RUNS);
    return 0;
}
