"""Character classes and line checks shared by the pure-Python parser twins.

The rules and the order of checks are those of ``src_c/fp_http.h``; each
pattern sits under the grammar it implements.  The whole-line patterns are
the fast path: when one matches, the line passed every check in one C-level
call.  When it does not, the ``*_error`` functions walk the checks in the
specified order to find which code the line earns.
"""

from __future__ import annotations

import re

from fastproxy.errors import UPSTREAM, HttpParseError
from fastproxy.parser import codes

# Larger than any buffer offset: "this limit was not crossed".
NEVER = 1 << 62

MAX_INT63 = (1 << 63) - 1

# tchar = "!" / "#" / "$" / "%" / "&" / "'" / "*" / "+" / "-" / "." /
#         "^" / "_" / "`" / "|" / "~" / DIGIT / ALPHA          (RFC 9110 5.6.2)
TCHAR = rb"!#$%&'*+\-.^_`|~0-9A-Za-z"
TOKEN = re.compile(rb"[" + TCHAR + rb"]+")

# field-line = field-name ":" OWS field-value OWS CRLF          (RFC 9112 5)
# field-value = *field-content; field-vchar = VCHAR / obs-text; the value
# group excludes the OWS on both sides.
_VIS = rb"[\x21-\x7e\x80-\xff]"
FIELD_LINE = re.compile(
    rb"([" + TCHAR + rb"]+):[ \t]*((?:" + _VIS + rb"+(?:[ \t]+" + _VIS + rb"+)*)?)[ \t]*\r\n"
)
# Bytes a field value may not hold (CR and LF are caught earlier).
BAD_VALUE_BYTE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")

# Host value bytes: reg-name / IP-literal / port characters (RFC 3986 3.2.2).
HOST_BAD_BYTE = re.compile(rb"[^A-Za-z0-9\-._~!$&'()*+,;=%:\[\]]")

# request-target bytes: RFC 3986 unreserved, reserved minus "#", and "%".
TARGET_CHARS = rb"A-Za-z0-9\-._~:/?\[\]@!$&'()*+,;=%"
TARGET_BAD_BYTE = re.compile(rb"[^" + TARGET_CHARS + rb"]")

# request-line = method SP request-target SP HTTP-version CRLF  (RFC 9112 3)
REQUEST_LINE = re.compile(
    rb"([" + TCHAR + rb"]+) ([" + TARGET_CHARS + rb"]+) HTTP/([0-9])\.([0-9])\r\n"
)
HTTP_VERSION = re.compile(rb"HTTP/([0-9])\.([0-9])")
# Where the target run of an unfinished request line stops.
TARGET_RUN_END = re.compile(rb"[ \r]")

# absolute-form: scheme "://" ...; scheme = ALPHA *( ALPHA / DIGIT / "+" / "-" / "." )
# and a non-empty authority (the bytes up to the first "/" or "?")
ABSOLUTE_FORM = re.compile(rb"[A-Za-z][A-Za-z0-9+\-.]*://[^/?]")
# authority-form = uri-host ":" port; the host takes Host-value bytes and the
# port is the run after the last ":" (so "[::1]:443" works), 1 to 5 digits
# and at most 65535.
AUTHORITY_FORM = re.compile(rb"[A-Za-z0-9\-._~!$&'()*+,;=%:\[\]]+:([0-9]{1,5})")

# status-line = HTTP-version SP status-code [ SP reason-phrase ] CRLF
# (RFC 9112 4; the optional SP + reason is our tolerance, see fp_http.h)
STATUS_LINE = re.compile(rb"HTTP/1\.([0-9]) ([1-5][0-9][0-9])(?: ([\t\x20-\x7e\x80-\xff]*))?\r\n")

# chunk-size [ chunk-ext ] CRLF, with the tolerated OWS before ";" or CRLF
CHUNK_SIZE_LINE = re.compile(rb"([0-9A-Fa-f]+)[ \t]*(?:;[\t\x20-\x7e\x80-\xff]*)?\r\n")
HEXDIGITS = re.compile(rb"[0-9A-Fa-f]*")
BAD_EXT_BYTE = re.compile(rb"[\x00-\x08\x0a-\x1f\x7f]")

KNOWN_CODINGS = frozenset(
    (b"chunked", b"gzip", b"x-gzip", b"deflate", b"compress", b"x-compress", b"identity")
)

_ERRORS = codes.ERRORS


def error(code: int) -> HttpParseError:
    """The exception for an error in a request (from the codes.ERRORS row)."""
    return HttpParseError(*_ERRORS[code])


def upstream_error(code: int) -> HttpParseError:
    """The exception for an error in a response: always answered with 502."""
    info = _ERRORS[code]
    return HttpParseError(info.code, info.name, 502, info.message, UPSTREAM)


def limit(name: str, value: int) -> int:
    """A limit argument, checked as the C binding does (1 to 2^32-1)."""
    if not 1 <= value <= 0xFFFFFFFF:
        raise ValueError(f"{name} must be between 1 and 4294967295, not {value}")
    return value


def is_empty_line(buf, pos: int, lf: int) -> bool:
    """True if buf[pos:lf+1] is "\\r\\n" or a lone "\\n" (the end of a section)."""
    return lf == pos or (lf == pos + 1 and buf[pos] == 13)


def line_end_error(buf, pos: int, lf: int) -> int:
    """Checks 3 and 4 of a complete line buf[pos:lf+1]: E_BARE_LF if the byte
    before LF is not CR, E_BARE_CR if any other CR is in the line, else 0."""
    if lf == pos or buf[lf - 1] != 13:
        return codes.E_BARE_LF
    if buf.find(b"\r", pos, lf - 1) >= 0:
        return codes.E_BARE_CR
    return 0


def field_line_error(buf, pos: int, lf: int) -> int:
    """The code a complete, non-empty field line buf[pos:lf+1] earns (checks
    3 to 5, in order), or 0 if it is well formed."""
    code = line_end_error(buf, pos, lf)
    if code:
        return code
    line = bytes(buf[pos : lf - 1])
    if line[0] in (32, 9):
        return codes.E_OBS_FOLD
    colon = line.find(b":")
    if colon <= 0:
        return codes.E_BAD_FIELD_NAME
    if line[colon - 1] in (32, 9):
        return codes.E_SPACE_BEFORE_COLON
    if TOKEN.fullmatch(line, 0, colon) is None:
        return codes.E_BAD_FIELD_NAME
    if BAD_VALUE_BYTE.search(line, colon + 1) is not None:
        return codes.E_BAD_FIELD_VALUE
    return 0


def target_form_error(method: bytes, target: bytes) -> int:
    """E_BAD_TARGET if the form of a target (of valid bytes) does not fit the
    method, else 0: authority-form only and always for CONNECT, "*" only for
    OPTIONS, else origin-form or absolute-form."""
    if method == b"CONNECT":
        found = AUTHORITY_FORM.fullmatch(target)
        return 0 if found and int(found.group(1)) <= 65535 else codes.E_BAD_TARGET
    if target[0] == 47:  # "/"
        return 0
    if target == b"*":
        return 0 if method == b"OPTIONS" else codes.E_BAD_TARGET
    return 0 if ABSOLUTE_FORM.match(target) else codes.E_BAD_TARGET


def request_line_error(line: bytes, max_uri_bytes: int) -> int:
    """The syntax code (check 5) of a request line without its CRLF, holding
    no CR or LF, or 0 if it is well formed."""
    sp = line.find(b" ")
    if sp <= 0:
        return codes.E_BAD_REQUEST_LINE
    method = line[:sp]
    if TOKEN.fullmatch(method) is None:
        return codes.E_BAD_METHOD
    sp2 = line.find(b" ", sp + 1)
    if sp2 < 0 or sp2 == sp + 1 or line.find(b" ", sp2 + 1) >= 0:
        return codes.E_BAD_REQUEST_LINE
    version = HTTP_VERSION.fullmatch(line, sp2 + 1)
    if version is None:
        return codes.E_BAD_VERSION
    if version.group(1) != b"1":
        return codes.E_VERSION_NOT_SUPPORTED
    target = line[sp + 1 : sp2]
    if len(target) > max_uri_bytes:
        return codes.E_URI_TOO_LONG
    if TARGET_BAD_BYTE.search(target) is not None:
        return codes.E_BAD_TARGET
    return target_form_error(method, target)


def chunk_size_line_error(line: bytes) -> int:
    """The syntax code of a chunk-size line without its CRLF, holding no CR
    or LF, or 0 if it is well formed.  Left to right: the size digits (and
    their value) before what follows them."""
    digits = HEXDIGITS.match(line).end()
    if digits == 0:
        return codes.E_BAD_CHUNK_SIZE
    if chunk_size_value(line[:digits]) < 0:
        return codes.E_CHUNK_SIZE_TOO_LARGE
    if digits == len(line):
        return 0
    if line[digits] not in (32, 9, 59):  # SP, HTAB, ";"
        return codes.E_BAD_CHUNK_SIZE
    rest = line[digits:].lstrip(b" \t")
    if not rest:
        return 0
    if rest[0] != 59 or BAD_EXT_BYTE.search(rest) is not None:
        return codes.E_BAD_CHUNK_EXTENSION
    return 0


def chunk_size_value(digits: bytes) -> int:
    """The value of 1*HEXDIG, or -1 when it has more than 16 significant
    digits or exceeds 2^63-1."""
    digits = digits.lstrip(b"0")
    if len(digits) > 16:
        return -1
    value = int(digits, 16) if digits else 0
    return value if value <= MAX_INT63 else -1
