/*
 * fp_chunked.c - chunked transfer coding: scan for pass-through, decode in
 * place.  The rules are in the top comment of fp_http.h.
 *
 * Unlike a head, chunked input is consumed as it arrives (the caller
 * forwards or drops it), so nothing is ever re-read: size and trailer lines
 * are checked one byte at a time by a small state machine kept in
 * fp_chunked.  A line is still judged in the header's order (length, bare
 * LF, bare CR, syntax): the first syntax error is only remembered in
 * d->pending and reported when the line's LF arrives, so a bare CR later on
 * the same line wins over it, as it would if the line came whole.  CR bytes
 * take no part in the syntax check: a CR is either the terminator or a bare
 * CR, and both are settled at the LF.
 *
 * Chunk data is never looked at: a data span is pure arithmetic.
 */
#include <string.h>

#include "fp_http.h"
#include "fp_scan.h"

/* d->state */
enum { CK_SIZE, CK_DATA, CK_DATA_CR, CK_DATA_LF, CK_TRAILER, CK_DONE, CK_FAILED };

/* d->line: state of the current size or trailer line. */
#define LN_PREV_CR   0x01u /* the last byte so far is CR */
#define LN_BARE_CR   0x02u /* a CR followed by something else than LF */
#define LN_STAGE     0x0cu /* syntax stage, one of ST_* */
#define LN_DIGIT     0x10u /* size line: a hex digit was seen */
#define LN_NAME_BAD  0x20u /* trailer: a name byte is not a tchar */
#define LN_NAME_WS   0x40u /* trailer: the last name byte is SP or HTAB */
#define LN_SIG_SHIFT 8     /* size line: significant digits so far */

/* Size lines: digits, then whitespace, then extension bytes. */
#define ST_DIGITS 0x0u
#define ST_BWS    0x4u
#define ST_EXT    0x8u
/* Trailer lines: nothing yet, name, value. */
#define ST_START  0x0u
#define ST_NAME   0x4u
#define ST_VALUE  0x8u

#define SIZE_MAX_VALUE UINT64_C(0x7fffffffffffffff)

/* See fp_http.h. */
void fp_chunked_init(fp_chunked *d)
{
    memset(d, 0, sizeof *d);
}

/* Records error; every later call fails again. */
static int ck_fail(fp_chunked *d, int error)
{
    d->error = error;
    d->state = CK_FAILED;
    return -1;
}

/* Remembers the first syntax error of the current line. */
static void pend(fp_chunked *d, int error)
{
    if (d->pending == 0)
        d->pending = (uint32_t)error;
}

/* The value of a hex digit (c must be one). */
static unsigned hex_value(unsigned char c)
{
    return c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10;
}

/* Tracks CR bytes of a line; returns 1 if c is CR (no syntax role). */
static int track_cr(fp_chunked *d, unsigned char c)
{
    if (c == '\r') {
        if (d->line & LN_PREV_CR)
            d->line |= LN_BARE_CR;
        d->line |= LN_PREV_CR;
        return 1;
    }
    if (d->line & LN_PREV_CR)
        d->line = (d->line & ~LN_PREV_CR) | LN_BARE_CR;
    return 0;
}

/* Syntax of a size line, one byte (neither CR nor LF) at a time. */
static void size_syntax(fp_chunked *d, unsigned char c)
{
    uint32_t ln = d->line, stage = ln & LN_STAGE, sig;

    if (stage == ST_DIGITS) {
        if (fp_is(c, FP_C_HEX)) {
            ln |= LN_DIGIT;
            if (d->remaining != 0 || c != '0') { /* leading zeros do not count */
                sig = (ln >> LN_SIG_SHIFT) + 1;
                if (sig > 16) {
                    pend(d, FP_E_CHUNK_SIZE_TOO_LARGE);
                } else {
                    d->remaining = d->remaining << 4 | hex_value(c);
                    if (d->remaining > SIZE_MAX_VALUE)
                        pend(d, FP_E_CHUNK_SIZE_TOO_LARGE);
                    ln = (ln & ((1u << LN_SIG_SHIFT) - 1)) | sig << LN_SIG_SHIFT;
                }
            }
        } else if (!(ln & LN_DIGIT)) {
            pend(d, FP_E_BAD_CHUNK_SIZE);
        } else if (fp_is(c, FP_C_OWS)) {
            ln = (ln & ~LN_STAGE) | ST_BWS;
        } else if (c == ';') {
            ln = (ln & ~LN_STAGE) | ST_EXT;
        } else {
            pend(d, FP_E_BAD_CHUNK_SIZE);
        }
    } else if (stage == ST_BWS) {
        if (c == ';')
            ln = (ln & ~LN_STAGE) | ST_EXT;
        else if (!fp_is(c, FP_C_OWS))
            pend(d, FP_E_BAD_CHUNK_EXTENSION);
    } else if (!fp_is(c, FP_C_VCHAR)) {
        pend(d, FP_E_BAD_CHUNK_EXTENSION);
    }
    d->line = ln;
}

/* The LF of a size line arrived: settle the line in header order and move
 * to the chunk data, or to the trailer after the last chunk.  Returns 0,
 * or -1 with d->error set. */
static int size_line_end(fp_chunked *d)
{
    uint32_t ln = d->line;
    uint64_t size = d->remaining;

    if (!(ln & LN_PREV_CR))
        return ck_fail(d, FP_E_BARE_LF);
    if (ln & LN_BARE_CR)
        return ck_fail(d, FP_E_BARE_CR);
    if (d->pending)
        return ck_fail(d, (int)d->pending);
    if (!(ln & LN_DIGIT))
        return ck_fail(d, FP_E_BAD_CHUNK_SIZE);
    d->line = d->line_bytes = d->pending = 0;
    d->remaining = size;
    d->state = size ? CK_DATA : CK_TRAILER;
    return 0;
}

/* Consumes size-line bytes from buf[i..len).  Returns the index after the
 * line's LF, len if the line goes on, or -1 on error. */
static int64_t size_line(fp_chunked *d, const char *buf, size_t i, size_t len)
{
    for (; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (++d->line_bytes > FP_CHUNK_LINE_MAX)
            return ck_fail(d, FP_E_CHUNK_EXTENSION_TOO_LARGE);
        if (c == '\n')
            return size_line_end(d) < 0 ? -1 : (int64_t)(i + 1);
        if (!track_cr(d, c) && d->pending == 0)
            size_syntax(d, c);
    }
    return (int64_t)len;
}

/* Syntax of a trailer field line, one byte (neither CR nor LF) at a time. */
static void trailer_syntax(fp_chunked *d, unsigned char c)
{
    uint32_t ln = d->line, stage = ln & LN_STAGE;

    if (stage == ST_START) {
        if (fp_is(c, FP_C_OWS))
            pend(d, FP_E_OBS_FOLD);
        else if (c == ':')
            pend(d, FP_E_BAD_FIELD_NAME);
        else
            ln = (ln & ~LN_STAGE) | ST_NAME | (fp_is(c, FP_C_TCHAR) ? 0 : LN_NAME_BAD);
    } else if (stage == ST_NAME) {
        if (c == ':') {
            if (ln & LN_NAME_WS)
                pend(d, FP_E_SPACE_BEFORE_COLON);
            else if (ln & LN_NAME_BAD)
                pend(d, FP_E_BAD_FIELD_NAME);
            ln = (ln & ~LN_STAGE) | ST_VALUE;
        } else {
            if (!fp_is(c, FP_C_TCHAR))
                ln |= LN_NAME_BAD;
            ln = fp_is(c, FP_C_OWS) ? ln | LN_NAME_WS : ln & ~LN_NAME_WS;
        }
    } else if (!fp_is(c, FP_C_VCHAR)) {
        pend(d, FP_E_BAD_FIELD_VALUE);
    }
    d->line = ln;
}

/* The LF of a trailer line arrived.  Returns 1 if it was the empty line
 * that ends the message, 0 for a field line, -1 on error. */
static int trailer_line_end(fp_chunked *d, const fp_limits *lim)
{
    uint32_t ln = d->line;
    int empty = d->line_bytes == 1 || (d->line_bytes == 2 && (ln & LN_PREV_CR));

    if (!empty && d->trailer_count >= lim->max_header_count)
        return ck_fail(d, FP_E_TRAILERS_TOO_LARGE);
    if (!(ln & LN_PREV_CR))
        return ck_fail(d, FP_E_BARE_LF);
    if (ln & LN_BARE_CR)
        return ck_fail(d, FP_E_BARE_CR);
    if (empty)
        return 1;
    if (d->pending)
        return ck_fail(d, (int)d->pending);
    if ((ln & LN_STAGE) != ST_VALUE) /* no colon */
        return ck_fail(d, FP_E_BAD_FIELD_NAME);
    d->trailer_count++;
    d->line = d->line_bytes = d->pending = 0;
    return 0;
}

/* Consumes trailer bytes from buf[i..len).  Returns the index after the
 * final CRLF (d->done set), len if the trailer goes on, or -1. */
static int64_t trailer(fp_chunked *d, const char *buf, size_t i, size_t len, const fp_limits *lim)
{
    int r;

    for (; i < len; i++) {
        unsigned char c = (unsigned char)buf[i];
        if (++d->trailer_bytes > lim->max_header_bytes)
            return ck_fail(d, FP_E_TRAILERS_TOO_LARGE);
        d->line_bytes++;
        if (c == '\n') {
            r = trailer_line_end(d, lim);
            if (r < 0)
                return -1;
            if (r == 1) {
                d->state = CK_DONE;
                d->done = 1;
                return (int64_t)(i + 1);
            }
            continue;
        }
        if (!track_cr(d, c) && d->pending == 0)
            trailer_syntax(d, c);
    }
    return (int64_t)len;
}

/* See fp_http.h.  *nspans must be at least 1 for progress.  Input longer
 * than 4 GiB - 1 is taken in parts (spans hold 32-bit offsets): the return
 * value is then smaller than len.  After the message ended, returns 0. */
int64_t fp_chunked_scan(fp_chunked *d, const char *buf, size_t len, fp_span *spans, size_t *nspans,
                        const fp_limits *limits)
{
    size_t cap = *nspans, n = 0, i = 0, take;
    int64_t r;

    *nspans = 0;
    if (d->state == CK_FAILED)
        return FP_INVALID;
    if (len > UINT32_MAX)
        len = UINT32_MAX;
    while (i < len && d->state != CK_DONE) {
        switch (d->state) {
        case CK_DATA:
            if (n == cap)
                goto out;
            take = len - i < d->remaining ? len - i : (size_t)d->remaining;
            spans[n].off = (uint32_t)i;
            spans[n].len = (uint32_t)take;
            n++;
            i += take;
            d->remaining -= take;
            d->data_bytes += take;
            if (d->remaining == 0)
                d->state = CK_DATA_CR;
            break;
        case CK_DATA_CR:
        case CK_DATA_LF:
            if (buf[i] != (d->state == CK_DATA_CR ? '\r' : '\n')) {
                ck_fail(d, FP_E_BAD_CHUNK_DATA_END);
                return FP_INVALID;
            }
            d->state = d->state == CK_DATA_CR ? CK_DATA_LF : CK_SIZE;
            i++;
            break;
        default:
            r = d->state == CK_SIZE ? size_line(d, buf, i, len) : trailer(d, buf, i, len, limits);
            if (r < 0)
                return FP_INVALID;
            i = (size_t)r;
            break;
        }
    }
out:
    *nspans = n;
    return (int64_t)i;
}

/* See fp_http.h.  The bytes after the message (when d->done) stay where
 * they were: buf + the return value.  On FP_INVALID, *len is the data
 * decoded before the error. */
int64_t fp_chunked_decode(fp_chunked *d, char *buf, size_t *len, const fp_limits *limits)
{
    fp_span spans[32];
    size_t in = 0, out = 0, total = *len, n, k;
    int64_t r;

    while (in < total && !d->done) {
        n = sizeof spans / sizeof spans[0];
        r = fp_chunked_scan(d, buf + in, total - in, spans, &n, limits);
        if (r < 0) {
            *len = out;
            return FP_INVALID;
        }
        for (k = 0; k < n; k++) {
            memmove(buf + out, buf + in + spans[k].off, spans[k].len);
            out += spans[k].len;
        }
        in += (size_t)r;
    }
    *len = out;
    if (d->state == CK_FAILED)
        return FP_INVALID;
    return (int64_t)in;
}
