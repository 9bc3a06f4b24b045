/*
 * fp_http.h - strict, incremental HTTP/1.x message-head parser and chunked
 * body decoder for fastproxy.
 *
 * Theory of operation
 * -------------------
 * The parser never allocates and never copies: results are offsets (fp_span)
 * into the caller's buffer, so the caller may move or grow its buffer between
 * calls as long as the bytes already passed in stay the same.  State lives in
 * the caller-owned fp_message, so parsing is incremental: each call resumes
 * at the first line that was not complete last time and re-reads nothing
 * before it.  A call returns the head length (> 0), FP_NEED_MORE, or
 * FP_INVALID with fp_message.error set to an fp_error code.
 *
 * It is strict, as a proxy must be (RFC 9112 / RFC 9110): anything that two
 * HTTP implementations could read differently is an error, never guessed at.
 * The framing decision (length, chunked, until-close, none) is made here, so
 * every caller frames bodies the same way.
 *
 * Byte scanning picks SSE4.2 or AVX2 (with BMI1/BMI2) code at run time (CPU
 * detection), with a scalar path always built; fp_scan_select() forces a
 * level, for tests and for FASTPROXY_FORCE_SCALAR=1.
 *
 * The pure-Python twin (fastproxy/parser/_pyparser.py) implements the same
 * rules with the same error codes; fastproxy/parser/codes.py mirrors the
 * enums below and a test checks that the two agree.
 *
 * Order of checks (so that the result never depends on how the input was
 * split into calls: the conformance tests feed every vector whole, byte by
 * byte and split at every offset, to C and Python alike)
 * --------------------------------------------------------------------------
 * Input is processed line by line (a line ends at LF).  A line that is not
 * complete yet is checked only against the length limits, which a prefix
 * can prove:
 *   - head: len > max_header_bytes -> FP_E_HEADERS_TOO_LARGE;
 *   - request line: the target run (bytes after the first SP up to the next
 *     SP, CR or LF, or to the end of the data) > max_uri_bytes ->
 *     FP_E_URI_TOO_LONG.  If both are proven, the one whose limit is crossed
 *     at the lower buffer offset wins (target: first SP offset + 1 +
 *     max_uri_bytes; head: max_header_bytes); a tie goes to URI_TOO_LONG.
 * A complete line is checked in this order, the first failure wins:
 *   1. the same length limits, computed on the whole line (head length up to
 *      and including this line's LF);
 *   2. field count (field lines only: a field line when max_header_count
 *      fields were already seen -> FP_E_TOO_MANY_HEADERS);
 *   3. the terminator: the byte before LF is not CR -> FP_E_BARE_LF;
 *   4. any other CR in the line -> FP_E_BARE_CR;
 *   5. the line's own syntax, in the order given below;
 *   6. per-field semantics (Host, Content-Length, Transfer-Encoding and
 *      Connection values, duplicate Host / conflicting lengths), at the line
 *      where they occur.
 * At the empty line that ends the head, the message-level rules run in the
 * order listed under "end of head" below.
 *
 * Rules applied to both requests and responses
 * --------------------------------------------
 * - Lines end in CRLF.  CR not followed by LF -> FP_E_BARE_CR; LF not preceded
 *   by CR -> FP_E_BARE_LF.
 * - A field line is  field-name ":" OWS field-value OWS CRLF, checked in
 *   this order: a line that starts with SP or HTAB (obs-fold, or whitespace
 *   before the first field) -> FP_E_OBS_FOLD; no ":" -> FP_E_BAD_FIELD_NAME;
 *   empty name -> FP_E_BAD_FIELD_NAME; name ending in SP or HTAB ->
 *   FP_E_SPACE_BEFORE_COLON; any other non-tchar in the name ->
 *   FP_E_BAD_FIELD_NAME; a value byte outside HTAB, SP, 0x21-0x7E and
 *   0x80-0xFF (NUL, other controls, DEL) -> FP_E_BAD_FIELD_VALUE.  The value
 *   span excludes leading and trailing SP/HTAB; it may be empty.
 * - The head, counted from buf[0] (skipped empty lines included) through its
 *   final CRLF, longer than limits.max_header_bytes ->
 *   FP_E_HEADERS_TOO_LARGE; more than limits.max_header_count fields ->
 *   FP_E_TOO_MANY_HEADERS.
 * - HTTP-version is exactly "HTTP/" DIGIT "." DIGIT, else FP_E_BAD_VERSION;
 *   a major version other than 1 -> FP_E_VERSION_NOT_SUPPORTED.
 * - Content-Length: 1*DIGIT, at most 2^63-1, else FP_E_BAD_CONTENT_LENGTH
 *   (no sign, no spaces inside, no "_", no hex).  Several Content-Length
 *   fields, or one field with a comma list, are accepted only when every
 *   element is the same number (leading zeros make a different string but
 *   the same number: "05" and "5" agree); otherwise
 *   FP_E_CONFLICTING_CONTENT_LENGTH.  An empty list element is
 *   FP_E_BAD_CONTENT_LENGTH.
 * - Transfer-Encoding: all such fields form one comma list; each element,
 *   after trimming OWS, must be a token (no parameters, no empty element),
 *   else FP_E_BAD_TRANSFER_ENCODING.  Known codings (case-insensitive):
 *   chunked, gzip, x-gzip, deflate, compress, x-compress, identity.
 *   "chunked" more than once -> FP_E_BAD_TRANSFER_ENCODING.
 *   Transfer-Encoding together with Content-Length ->
 *   FP_E_CONTENT_LENGTH_WITH_TE.  Transfer-Encoding in an HTTP/1.0 message ->
 *   FP_E_TE_IN_HTTP10.
 * - Connection: a comma list of tokens (case-insensitive); "close" sets
 *   FP_F_CONN_CLOSE, "keep-alive" FP_F_CONN_KEEP_ALIVE, "upgrade"
 *   FP_F_CONN_UPGRADE, any other token FP_F_CONN_OTHER (the caller must then
 *   remove the fields it names).  Elements that are not tokens ->
 *   FP_E_BAD_FIELD_VALUE.  Empty elements are ignored.
 * - Keep-alive (FP_F_KEEP_ALIVE): HTTP/1.1 unless "close"; HTTP/1.0 only
 *   with "keep-alive" and without "close"; never when framing is
 *   FP_BODY_UNTIL_CLOSE.
 *
 * Requests only
 * -------------
 * - Empty lines (CRLF) before the request line are skipped (RFC 9112 2.2)
 *   and counted in the head length; a bare LF there is FP_E_BARE_LF.
 * - request-line = method SP request-target SP HTTP-version CRLF, checked
 *   in this order: no SP, or the line starts with SP -> FP_E_BAD_REQUEST_LINE;
 *   method (before the first SP) not 1*tchar -> FP_E_BAD_METHOD; no second
 *   SP, an empty target, or a SP inside the version part ->
 *   FP_E_BAD_REQUEST_LINE; the version rule (FP_E_BAD_VERSION, then
 *   FP_E_VERSION_NOT_SUPPORTED); then the target rules below.
 * - request-target longer than limits.max_uri_bytes -> FP_E_URI_TOO_LONG
 *   (also as soon as an incomplete request line proves it).  Its bytes are
 *   RFC 3986 characters only: ALPHA DIGIT - . _ ~ : / ? [ ] @ ! $ & ' ( ) *
 *   + , ; = %  (so no '#', no '"' '<' '>' '\' '^' '`' '{' '|' '}', no
 *   control, space or non-ASCII byte), else FP_E_BAD_TARGET.  Its form must
 *   fit the method: origin-form ("/" ...), absolute-form (scheme "://" and a
 *   non-empty authority before the first "/" or "?", scheme = ALPHA *(ALPHA
 *   / DIGIT / "+" / "-" / ".")), authority-form (only and always for
 *   CONNECT: a non-empty host without "/", "?" or "@", ":", and a port of 1
 *   to 5 digits at most 65535, after the last ":"), asterisk-form ("*", only
 *   for OPTIONS); else FP_E_BAD_TARGET.
 * - Host: an HTTP/1.1 request without exactly one Host field, or a Host
 *   value with bytes outside  ALPHA DIGIT - . _ ~ ! $ & ' ( ) * + , ; = % :
 *   [ ]  -> FP_E_BAD_HOST.  (An empty Host value is allowed.)  More than one
 *   Host in HTTP/1.0 is FP_E_BAD_HOST too.
 * - End of head, in order: Host missing in HTTP/1.1 -> FP_E_BAD_HOST;
 *   Transfer-Encoding in HTTP/1.0 -> FP_E_TE_IN_HTTP10; Transfer-Encoding
 *   with Content-Length -> FP_E_CONTENT_LENGTH_WITH_TE; then framing.
 * - Framing: Transfer-Encoding present, in order: an unknown coding
 *   anywhere -> FP_E_UNKNOWN_TRANSFER_CODING (501); "chunked" more than once
 *   -> FP_E_BAD_TRANSFER_ENCODING; a final coding other than "chunked" ->
 *   FP_E_BAD_TRANSFER_ENCODING; else FP_BODY_CHUNKED.
 *   Else Content-Length -> FP_BODY_LENGTH (content_length may be 0).  Else
 *   FP_BODY_NONE.
 * - FP_F_UPGRADE: FP_F_CONN_UPGRADE and an Upgrade field are both present.
 *   FP_F_EXPECT_CONTINUE: an Expect field equal to "100-continue"
 *   (case-insensitive) in an HTTP/1.1 request.
 *
 * Responses only
 * --------------
 * - status-line = HTTP-version SP 3DIGIT [SP reason-phrase] CRLF; the
 *   version is "HTTP/1." DIGIT, the status is 100-599 and reason bytes follow
 *   the field-value rule, else FP_E_BAD_STATUS_LINE (every status-line
 *   problem has this one code).  (A missing SP + reason is tolerated: common in
 *   the wild and unambiguous.)
 * - End of head, in order: Transfer-Encoding in HTTP/1.0 ->
 *   FP_E_TE_IN_HTTP10; Transfer-Encoding with Content-Length ->
 *   FP_E_CONTENT_LENGTH_WITH_TE; "chunked" more than once ->
 *   FP_E_BAD_TRANSFER_ENCODING; then framing.
 * - Framing, given the request flags passed in: a 1xx, 204 or 304 status, or
 *   the answer to a HEAD request -> FP_BODY_NONE (Content-Length is still
 *   validated and reported).  A 2xx to CONNECT -> FP_BODY_NONE with
 *   FP_F_TUNNEL.  101 -> FP_BODY_NONE with FP_F_UPGRADE.
 *   Transfer-Encoding whose final coding is chunked -> FP_BODY_CHUNKED; any
 *   other final coding (known or not) -> FP_BODY_UNTIL_CLOSE.
 *   Content-Length -> FP_BODY_LENGTH.  Neither -> FP_BODY_UNTIL_CLOSE.
 *
 * Chunked bodies (fp_chunked_*)
 * -----------------------------
 * chunk = chunk-size [chunk-ext] CRLF chunk-data CRLF; last-chunk = 1*"0"
 * [chunk-ext] CRLF; then trailer fields, then CRLF.  Lines are checked like
 * head lines: length limit first (also on an incomplete line), then bare LF,
 * then bare CR, then syntax.
 * - chunk-size is 1*HEXDIG with at most 16 significant digits (leading zeros
 *   allowed, bounded by FP_CHUNK_LINE_MAX) and at most 2^63-1, else
 *   FP_E_BAD_CHUNK_SIZE / FP_E_CHUNK_SIZE_TOO_LARGE.  Nothing may precede it
 *   (a first byte that is not HEXDIG -> FP_E_BAD_CHUNK_SIZE).
 * - After the size: optional SP/HTAB, then either CRLF or ";" followed by
 *   extension bytes (HTAB, SP, 0x21-0x7E, 0x80-0xFF) up to CRLF; anything
 *   else -> FP_E_BAD_CHUNK_SIZE (right after the digits) or
 *   FP_E_BAD_CHUNK_EXTENSION.  A size line longer than FP_CHUNK_LINE_MAX bytes
 *   counting its CRLF (an incomplete one: more bytes seen than that) ->
 *   FP_E_CHUNK_EXTENSION_TOO_LARGE.  Extensions are skipped, not reported.
 * - chunk-data not followed by exactly CRLF -> FP_E_BAD_CHUNK_DATA_END.
 * - Trailer fields follow the field-line rules above (same error codes); the
 *   trailer section (trailer lines and the final CRLF; an incomplete line
 *   counts the bytes seen) over limits.max_header_bytes, or more than
 *   max_header_count trailer fields -> FP_E_TRAILERS_TOO_LARGE.  Trailers
 *   are validated (no per-field semantics) and skipped.
 * - Bare CR / bare LF anywhere in size lines or trailers: FP_E_BARE_CR /
 *   FP_E_BARE_LF.
 */
#ifndef FP_HTTP_H
#define FP_HTTP_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Return values of the parse functions besides a non-negative length. */
#define FP_NEED_MORE (-2)
#define FP_INVALID (-1)

/* Error codes.  The numbers are stable: codes.py and the conformance vectors
 * use them (by name).  fp_error_status() gives the HTTP status to answer a
 * request error with; an upstream (response) error is always answered 502. */
enum fp_error {
    FP_E_NONE = 0,
    FP_E_BAD_REQUEST_LINE = 1,          /* 400 */
    FP_E_BAD_METHOD = 2,                /* 400 */
    FP_E_BAD_TARGET = 3,                /* 400 */
    FP_E_URI_TOO_LONG = 4,              /* 414 */
    FP_E_BAD_VERSION = 5,               /* 400 */
    FP_E_VERSION_NOT_SUPPORTED = 6,     /* 505 */
    FP_E_BARE_CR = 7,                   /* 400 */
    FP_E_BARE_LF = 8,                   /* 400 */
    FP_E_OBS_FOLD = 9,                  /* 400 */
    FP_E_BAD_FIELD_NAME = 10,           /* 400 */
    FP_E_SPACE_BEFORE_COLON = 11,       /* 400 */
    FP_E_BAD_FIELD_VALUE = 12,          /* 400 */
    FP_E_HEADERS_TOO_LARGE = 13,        /* 431 */
    FP_E_TOO_MANY_HEADERS = 14,         /* 431 */
    FP_E_BAD_HOST = 15,                 /* 400 */
    FP_E_BAD_CONTENT_LENGTH = 16,       /* 400 */
    FP_E_CONFLICTING_CONTENT_LENGTH = 17, /* 400 */
    FP_E_CONTENT_LENGTH_WITH_TE = 18,   /* 400 */
    FP_E_BAD_TRANSFER_ENCODING = 19,    /* 400 */
    FP_E_UNKNOWN_TRANSFER_CODING = 20,  /* 501 */
    FP_E_TE_IN_HTTP10 = 21,             /* 400 */
    FP_E_BAD_STATUS_LINE = 22,          /* 502 (responses only) */
    FP_E_BAD_CHUNK_SIZE = 23,           /* 400 */
    FP_E_CHUNK_SIZE_TOO_LARGE = 24,     /* 400 */
    FP_E_BAD_CHUNK_EXTENSION = 25,      /* 400 */
    FP_E_CHUNK_EXTENSION_TOO_LARGE = 26, /* 400 */
    FP_E_BAD_CHUNK_DATA_END = 27,       /* 400 */
    FP_E_TRAILERS_TOO_LARGE = 28,       /* 400 */
    FP_E__COUNT = 29
};

/* Body framing decided from the head. */
enum fp_framing {
    FP_BODY_NONE = 0,        /* no body follows the head */
    FP_BODY_LENGTH = 1,      /* content_length bytes follow */
    FP_BODY_CHUNKED = 2,     /* chunked coding, decode with fp_chunked_* */
    FP_BODY_UNTIL_CLOSE = 3  /* responses only: body ends when the peer closes */
};

/* fp_message.flags */
#define FP_F_KEEP_ALIVE       0x0001u /* connection may carry another message */
#define FP_F_CONN_CLOSE       0x0002u /* Connection: close seen */
#define FP_F_CONN_KEEP_ALIVE  0x0004u /* Connection: keep-alive seen */
#define FP_F_CONN_UPGRADE     0x0008u /* Connection: upgrade seen */
#define FP_F_CONN_OTHER       0x0010u /* Connection names other fields */
#define FP_F_UPGRADE          0x0020u /* request asks to upgrade / 101 answer */
#define FP_F_EXPECT_CONTINUE  0x0040u /* Expect: 100-continue */
#define FP_F_HAS_CONTENT_LENGTH 0x0080u
#define FP_F_HAS_TRANSFER_ENCODING 0x0100u
#define FP_F_TUNNEL           0x0200u /* 2xx answer to CONNECT */

/* Flags describing the request a response answers (fp_parse_response). */
#define FP_REQ_HEAD     0x1u
#define FP_REQ_CONNECT  0x2u

/* Field ids: the parser tags the fields the proxy acts on, so the hot path
 * never compares names again.  Matching is case-insensitive. */
enum fp_field_id {
    FP_H_OTHER = 0,
    FP_H_HOST = 1,
    FP_H_CONTENT_LENGTH = 2,
    FP_H_TRANSFER_ENCODING = 3,
    FP_H_CONNECTION = 4,
    FP_H_KEEP_ALIVE = 5,
    FP_H_PROXY_CONNECTION = 6,
    FP_H_TE = 7,
    FP_H_TRAILER = 8,
    FP_H_UPGRADE = 9,
    FP_H_EXPECT = 10,
    FP_H_X_FORWARDED_FOR = 11,
    FP_H_X_FORWARDED_PROTO = 12,
    FP_H_X_FORWARDED_HOST = 13,
    FP_H_FORWARDED = 14,
    FP_H_X_REAL_IP = 15,
    FP_H_X_REQUEST_ID = 16,
    FP_H_SERVER = 17,
    FP_H_X_POWERED_BY = 18,
    FP_H__COUNT = 19
};

/* A byte range of the caller's buffer. */
typedef struct fp_span {
    uint32_t off;
    uint32_t len;
} fp_span;

typedef struct fp_header {
    fp_span name;
    fp_span value;   /* OWS trimmed */
    uint32_t id;     /* enum fp_field_id */
} fp_header;

typedef struct fp_limits {
    uint32_t max_uri_bytes;     /* request-target */
    uint32_t max_header_bytes;  /* field section incl. final CRLF; also trailers */
    uint32_t max_header_count;  /* fields; also trailers */
} fp_limits;

/* One message head being parsed.  Fields marked private are parse state. */
typedef struct fp_message {
    /* private */
    uint32_t pos;        /* first byte of the first line not yet complete */
    uint32_t scan;       /* bytes of that line already scanned for its LF */
    uint32_t fields_start; /* offset of the field section */
    uint32_t phase;      /* 0: before start line, 1: fields, 2: done, 3: failed */
    uint32_t target_run; /* incomplete request line: offset of the target run, 0: no SP yet */
    uint32_t target_end; /* incomplete request line: where that run ended, 0: still open */
    uint32_t seen;       /* bit 1 << fp_field_id per field id seen, and a coding summary */
    /* results, valid once a parse call returned > 0 */
    fp_span method;      /* requests */
    fp_span target;      /* requests */
    fp_span reason;      /* responses */
    int status;          /* responses */
    int minor_version;   /* HTTP/1.minor */
    uint32_t num_headers;
    fp_header *headers;  /* caller-owned, >= limits.max_header_count entries */
    uint32_t flags;      /* FP_F_* */
    int framing;         /* enum fp_framing */
    uint64_t content_length;
    int error;           /* enum fp_error after FP_INVALID */
} fp_message;

/* Prepares m for a new message head; headers is the caller's array, of at
 * least limits.max_header_count entries.  Never fails. */
void fp_message_init(fp_message *m, fp_header *headers);

/* Parses a request head from buf[0..len).  buf holds the message from its
 * first byte; across calls for the same message it may move or grow, but the
 * first bytes must stay the same (len never shrinks).
 * Returns the head length in bytes (> 0; the body, if any, starts there),
 * FP_NEED_MORE, or FP_INVALID with m->error set.  Never reads buf[len] or
 * beyond, never writes to buf, never allocates. */
int fp_parse_request(fp_message *m, const char *buf, size_t len,
                     const fp_limits *limits);

/* Same for a response head; req_flags (FP_REQ_*) describe the request it
 * answers, for the framing rules. */
int fp_parse_response(fp_message *m, const char *buf, size_t len,
                      const fp_limits *limits, unsigned req_flags);

/* Chunked body decoder state. */
#define FP_CHUNK_LINE_MAX 4096 /* bytes in one chunk-size line, incl. exts */

typedef struct fp_chunked {
    /* private */
    uint64_t remaining;      /* chunk-data bytes still due; on a size line, the size so far */
    uint32_t line_bytes;     /* bytes of the current size/trailer line seen */
    uint32_t trailer_bytes;  /* bytes of the trailer section so far */
    uint32_t trailer_count;
    uint32_t state;          /* position in the chunked grammar */
    uint32_t line;           /* current size/trailer line: syntax stage, CR and digit tracking */
    uint32_t pending;        /* first syntax error of that line, reported at its LF */
    /* results */
    uint64_t data_bytes;     /* chunk-data bytes seen so far, in total */
    int done;                /* last-chunk and trailer section complete */
    int error;               /* enum fp_error after FP_INVALID */
} fp_chunked;

void fp_chunked_init(fp_chunked *d);

/* Scans chunked-coded input buf[0..len) for pass-through.  Fills up to
 * *nspans spans (offsets into buf) with the chunk-data bytes found and sets
 * *nspans to the number filled.  Returns the bytes consumed: len, unless the
 * message ended inside buf (d->done set; the rest belongs to the next
 * message) or the span array filled up (call again with the rest).  Returns
 * FP_INVALID with d->error set on bad input.  Never writes to buf. */
int64_t fp_chunked_scan(fp_chunked *d, const char *buf, size_t len,
                        fp_span *spans, size_t *nspans,
                        const fp_limits *limits);

/* Decodes chunked-coded input in place: the chunk-data of buf[0..*len) is
 * moved to the front of buf and *len set to its length.  Returns the input
 * bytes consumed (all, unless d->done and the message ended inside buf), or
 * FP_INVALID with d->error set. */
int64_t fp_chunked_decode(fp_chunked *d, char *buf, size_t *len,
                          const fp_limits *limits);

/* Error code -> HTTP status to answer a request with (400 for unknown codes). */
int fp_error_status(int error);
/* Error code -> stable snake_case name ("bad_method"); "unknown" if out of
 * range.  Same names as codes.py. */
const char *fp_error_name(int error);
/* Error code -> short human text for the answer body. */
const char *fp_error_message(int error);

/* Scan levels for the byte scanners. */
enum fp_scan_level {
    FP_SCAN_SCALAR = 0,
    FP_SCAN_SSE42 = 1,
    FP_SCAN_AVX2 = 2
};

/* The best level this CPU supports (CPUID), without changing anything. */
int fp_scan_detect(void);
/* Selects a level for all later parsing; a level above what the CPU supports
 * is lowered to the best supported.  Returns the level now in use.  Not
 * thread-safe against concurrent parsing: call it at start-up. */
int fp_scan_select(int level);
/* The level in use ("scalar", "sse4.2", "avx2"). */
int fp_scan_current(void);
const char *fp_scan_level_name(int level);

#ifdef __cplusplus
}
#endif

#endif /* FP_HTTP_H */
