"""Parser result codes shared by the C extension and the pure-Python twin.

Mirrors the enums of ``src_c/fp_http.h``; ``tests/unit/test_parser_codes.py``
checks that the extension reports the same numbers, names and statuses.
"""

from __future__ import annotations

from typing import NamedTuple


class ErrorInfo(NamedTuple):
    code: int
    name: str
    status: int
    message: str


# code, name, status to answer a request with, short text for the answer body
ERRORS: tuple[ErrorInfo, ...] = (
    ErrorInfo(0, "none", 200, "no error"),
    ErrorInfo(1, "bad_request_line", 400, "malformed request line"),
    ErrorInfo(2, "bad_method", 400, "invalid method"),
    ErrorInfo(3, "bad_target", 400, "invalid request target"),
    ErrorInfo(4, "uri_too_long", 414, "request target too long"),
    ErrorInfo(5, "bad_version", 400, "invalid HTTP version"),
    ErrorInfo(6, "version_not_supported", 505, "HTTP version not supported"),
    ErrorInfo(7, "bare_cr", 400, "CR not followed by LF"),
    ErrorInfo(8, "bare_lf", 400, "LF without CR"),
    ErrorInfo(9, "obs_fold", 400, "folded or indented header line"),
    ErrorInfo(10, "bad_field_name", 400, "invalid header name"),
    ErrorInfo(11, "space_before_colon", 400, "whitespace between header name and colon"),
    ErrorInfo(12, "bad_field_value", 400, "invalid character in header value"),
    ErrorInfo(13, "headers_too_large", 431, "request header too large"),
    ErrorInfo(14, "too_many_headers", 431, "too many header fields"),
    ErrorInfo(15, "bad_host", 400, "missing, duplicate or invalid Host"),
    ErrorInfo(16, "bad_content_length", 400, "invalid Content-Length"),
    ErrorInfo(17, "conflicting_content_length", 400, "conflicting Content-Length values"),
    ErrorInfo(18, "content_length_with_te", 400, "both Content-Length and Transfer-Encoding"),
    ErrorInfo(19, "bad_transfer_encoding", 400, "invalid Transfer-Encoding"),
    ErrorInfo(20, "unknown_transfer_coding", 501, "unsupported transfer coding"),
    ErrorInfo(21, "te_in_http10", 400, "Transfer-Encoding in an HTTP/1.0 message"),
    ErrorInfo(22, "bad_status_line", 502, "malformed status line"),
    ErrorInfo(23, "bad_chunk_size", 400, "invalid chunk size"),
    ErrorInfo(24, "chunk_size_too_large", 400, "chunk size too large"),
    ErrorInfo(25, "bad_chunk_extension", 400, "invalid chunk extension"),
    ErrorInfo(26, "chunk_extension_too_large", 400, "chunk size line too long"),
    ErrorInfo(27, "bad_chunk_data_end", 400, "chunk data not followed by CRLF"),
    ErrorInfo(28, "trailers_too_large", 400, "trailer section too large"),
)

BY_NAME: dict[str, ErrorInfo] = {e.name: e for e in ERRORS}

E_NONE = 0
E_BAD_REQUEST_LINE = 1
E_BAD_METHOD = 2
E_BAD_TARGET = 3
E_URI_TOO_LONG = 4
E_BAD_VERSION = 5
E_VERSION_NOT_SUPPORTED = 6
E_BARE_CR = 7
E_BARE_LF = 8
E_OBS_FOLD = 9
E_BAD_FIELD_NAME = 10
E_SPACE_BEFORE_COLON = 11
E_BAD_FIELD_VALUE = 12
E_HEADERS_TOO_LARGE = 13
E_TOO_MANY_HEADERS = 14
E_BAD_HOST = 15
E_BAD_CONTENT_LENGTH = 16
E_CONFLICTING_CONTENT_LENGTH = 17
E_CONTENT_LENGTH_WITH_TE = 18
E_BAD_TRANSFER_ENCODING = 19
E_UNKNOWN_TRANSFER_CODING = 20
E_TE_IN_HTTP10 = 21
E_BAD_STATUS_LINE = 22
E_BAD_CHUNK_SIZE = 23
E_CHUNK_SIZE_TOO_LARGE = 24
E_BAD_CHUNK_EXTENSION = 25
E_CHUNK_EXTENSION_TOO_LARGE = 26
E_BAD_CHUNK_DATA_END = 27
E_TRAILERS_TOO_LARGE = 28

# Body framing (enum fp_framing)
BODY_NONE = 0
BODY_LENGTH = 1
BODY_CHUNKED = 2
BODY_UNTIL_CLOSE = 3
FRAMING_NAMES = ("none", "length", "chunked", "until_close")

# Message flags (FP_F_*)
F_KEEP_ALIVE = 0x0001
F_CONN_CLOSE = 0x0002
F_CONN_KEEP_ALIVE = 0x0004
F_CONN_UPGRADE = 0x0008
F_CONN_OTHER = 0x0010
F_UPGRADE = 0x0020
F_EXPECT_CONTINUE = 0x0040
F_HAS_CONTENT_LENGTH = 0x0080
F_HAS_TRANSFER_ENCODING = 0x0100
F_TUNNEL = 0x0200

# Request flags for response parsing (FP_REQ_*)
REQ_HEAD = 0x1
REQ_CONNECT = 0x2

# Field ids (enum fp_field_id); the key is the lower-case field name.
FIELD_IDS: dict[bytes, int] = {
    b"host": 1,
    b"content-length": 2,
    b"transfer-encoding": 3,
    b"connection": 4,
    b"keep-alive": 5,
    b"proxy-connection": 6,
    b"te": 7,
    b"trailer": 8,
    b"upgrade": 9,
    b"expect": 10,
    b"x-forwarded-for": 11,
    b"x-forwarded-proto": 12,
    b"x-forwarded-host": 13,
    b"forwarded": 14,
    b"x-real-ip": 15,
    b"x-request-id": 16,
    b"server": 17,
    b"x-powered-by": 18,
}
H_OTHER = 0
H_HOST = 1
H_CONTENT_LENGTH = 2
H_TRANSFER_ENCODING = 3
H_CONNECTION = 4
H_KEEP_ALIVE = 5
H_PROXY_CONNECTION = 6
H_TE = 7
H_TRAILER = 8
H_UPGRADE = 9
H_EXPECT = 10
H_X_FORWARDED_FOR = 11
H_X_FORWARDED_PROTO = 12
H_X_FORWARDED_HOST = 13
H_FORWARDED = 14
H_X_REAL_IP = 15
H_X_REQUEST_ID = 16
H_SERVER = 17
H_X_POWERED_BY = 18

# Scan levels (enum fp_scan_level)
SCAN_SCALAR = 0
SCAN_SSE42 = 1
SCAN_AVX2 = 2
SCAN_LEVEL_NAMES = ("scalar", "sse4.2", "avx2")

CHUNK_LINE_MAX = 4096
