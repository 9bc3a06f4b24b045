/*
 * t.h - the small harness shared by the C tests of src_c.
 *
 * Every input handed to the code under test is first copied by t_guard() so
 * that it ends right before a PROT_NONE page: reading one byte past the
 * length given crashes the test.  The binary is built with ASan and UBSan.
 */
#ifndef T_H
#define T_H

#include <stddef.h>
#include <stdint.h>

#include "fp_http.h"

extern long t_passed, t_failed;
extern const char *t_what; /* the case being checked, printed on failure */

/* Counts one check; prints file:line, the case and the level on failure. */
int t_check(int ok, const char *file, int line, const char *expr);
#define CHECK(e) t_check((e) != 0, __FILE__, __LINE__, #e)
/* As CHECK, also printing the two integers compared. */
int t_check_int(long long got, long long want, const char *file, int line, const char *expr);
#define CHECK_INT(got, want) t_check_int((long long)(got), (long long)(want), __FILE__, __LINE__, #got)

/* Copies n bytes to end right before the guard page; returns the copy.
 * The arena holds one input at a time (T_GUARD_MAX bytes at most). */
#define T_GUARD_MAX (1u << 20)
char *t_guard(const void *data, size_t n);
/* Copies n bytes to start right after another PROT_NONE page: reading
 * before the start crashes. */
char *t_guard_front(const void *data, size_t n);
/* The n bytes right before the guard page, for the caller to fill. */
char *t_guard_at_end(size_t n);

/* Deterministic PRNG (xorshift) so a failure reproduces. */
uint32_t t_rand(void);

/* Default limits of the tests: 8192, 16384, 100. */
fp_limits t_limits(void);

/* ---- message heads ---- */
#define T_MAX_HEADERS 256

typedef struct t_head {
    int ret;          /* last return value */
    size_t fed;       /* bytes passed in the call that returned ret */
    fp_message m;     /* copy of the final state */
    fp_header headers[T_MAX_HEADERS];
} t_head;

/* Feeds in[0..n) to a fresh parser as growing prefixes ending at the cut
 * points cuts[0..ncuts) and then at n, each call seeing the whole prefix
 * copied against the guard page; stops at the first result other than
 * FP_NEED_MORE.  response: parse a response with req_flags. */
void t_head_feed(t_head *r, int response, unsigned req_flags, const char *in, size_t n,
                 const fp_limits *lim, const size_t *cuts, size_t ncuts);
/* Parses whole, then byte by byte, then split at every offset, checking the
 * outcome never changes; r gets the whole-input outcome. */
void t_head_all(t_head *r, int response, unsigned req_flags, const char *in, size_t n,
                const fp_limits *lim);
/* 1 if two outcomes agree (return value, error, and every result once > 0). */
int t_head_same(const t_head *a, const t_head *b);
/* 1 if the span s of buf holds exactly the string want. */
int t_span_is(const char *buf, fp_span s, const char *want);

/* ---- chunked bodies ---- */
#define T_CHUNK_DATA_MAX (1u << 16)

typedef struct t_chunk {
    int64_t consumed; /* total bytes consumed, or FP_INVALID */
    int error;
    int done;
    uint64_t data_bytes;
    size_t data_len;  /* bytes collected from spans or decoded */
    char data[T_CHUNK_DATA_MAX];
} t_chunk;

/* Feeds in[0..n) in windows ending at cuts[] and n, each window copied
 * against the guard page and dropped once consumed (as a proxy forwards
 * it).  decode: use fp_chunked_decode, else fp_chunked_scan with span_cap
 * spans a call.  Stops when done or on error. */
void t_chunk_feed(t_chunk *r, int decode, size_t span_cap, const char *in, size_t n,
                  const fp_limits *lim, const size_t *cuts, size_t ncuts);
/* Runs scan (span caps 1 and 64) and decode, whole, byte by byte and split
 * at every offset; checks all agree; r gets the whole decode outcome. */
void t_chunk_all(t_chunk *r, const char *in, size_t n, const fp_limits *lim);

/* ---- test groups (one file each) ---- */
void test_scan(void);
void test_request(void);
void test_response(void);
void test_chunked(void);
void test_vectors(void);
void test_errors(void);

#endif /* T_H */
