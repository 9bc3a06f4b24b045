"""Pure-Python twin of the C message-head parser (``src_c/fp_http.h``).

Same surface as the extension (see :mod:`fastproxy.parser`), same rules,
same order of checks, same error codes; the conformance vectors and a
differential test hold the two together.

Theory of operation: the input is cut into lines at LF with ``bytes.find``;
a complete line is matched whole by one precompiled pattern (the fast path),
and only a line that fails it is taken apart, check by check, to name its
error.  State (the start of the first incomplete line, how far that line was
already searched for its LF, counts and per-field facts) lives on the parser,
so each call resumes where the last one stopped and never re-reads a
complete line.  Results are kept as offsets into the last buffer; the
``headers`` list and the byte strings are built only when asked for.
"""

from __future__ import annotations

from fastproxy.parser import codes
from fastproxy.parser._pychunked import ChunkedDecoder
from fastproxy.parser._pyrules import (
    FIELD_LINE,
    HOST_BAD_BYTE,
    KNOWN_CODINGS,
    MAX_INT63,
    NEVER,
    REQUEST_LINE,
    STATUS_LINE,
    TARGET_RUN_END,
    TOKEN,
    error,
    field_line_error,
    is_empty_line,
    limit,
    line_end_error,
    request_line_error,
    target_form_error,
    upstream_error,
)

__all__ = ["ChunkedDecoder", "RequestParser", "ResponseParser", "scan_level"]

_FIELD_IDS = codes.FIELD_IDS
_H_HOST = codes.H_HOST
_H_CONTENT_LENGTH = codes.H_CONTENT_LENGTH
_H_TRANSFER_ENCODING = codes.H_TRANSFER_ENCODING
_H_CONNECTION = codes.H_CONNECTION
_H_UPGRADE = codes.H_UPGRADE
_H_EXPECT = codes.H_EXPECT
# Field ids whose values the parser itself interprets.
_SEMANTIC_IDS = frozenset(
    (_H_HOST, _H_CONTENT_LENGTH, _H_TRANSFER_ENCODING, _H_CONNECTION, _H_UPGRADE, _H_EXPECT)
)
_CONNECTION_FLAGS = {
    b"close": codes.F_CONN_CLOSE,
    b"keep-alive": codes.F_CONN_KEEP_ALIVE,
    b"upgrade": codes.F_CONN_UPGRADE,
}


def scan_level() -> str:
    """The byte-scanning level in use: always "python" for this twin."""
    return "python"


def _window(buf, length: int):
    """(bytes or bytearray, end) for a bytes-like ``buf`` whose first
    ``length`` bytes (-1: all) are valid.  Other buffers are copied, since
    only bytes and bytearray have ``find``."""
    if type(buf) is not bytes and type(buf) is not bytearray:
        view = memoryview(buf)
        if view.ndim != 1 or view.itemsize != 1:
            view = view.cast("B")
        buf = bytes(view if length < 0 else view[:length])
    size = len(buf)
    if length < 0:
        return buf, size
    if length > size:
        raise ValueError(f"length {length} exceeds the buffer ({size} bytes)")
    return buf, length


class _HeadParser:
    """Field-section machinery shared by requests and responses."""

    __slots__ = (
        "_buf",
        "_codings",
        "_content_length",
        "_error",
        "_expect",
        "_flags",
        "_framing",
        "_has_upgrade_field",
        "_head_len",
        "_headers",
        "_hosts",
        "_ids",
        "_max_bytes",
        "_max_count",
        "_max_uri",
        "_minor",
        "_phase",
        "_pos",
        "_scan",
        "_spans",
    )

    _is_request = False

    def __init__(self, max_uri_bytes: int = 8192, max_header_bytes: int = 16384,
                 max_header_count: int = 100) -> None:
        self._max_uri = limit("max_uri_bytes", max_uri_bytes)
        self._max_bytes = limit("max_header_bytes", max_header_bytes)
        self._max_count = limit("max_header_count", max_header_count)
        self.reset()

    def reset(self) -> None:
        """Forgets the message: the next ``parse`` starts a new head."""
        self._buf = None  # set when a head is complete, as the binding does
        self._headers = None
        self._pos = 0
        self._scan = 0
        self._phase = 0  # 0: before the start line, 1: fields, 2: done
        self._head_len = 0
        self._error = 0
        self._spans: list[tuple[int, int, int, int]] = []
        self._ids: list[int] = []
        self._minor = 0
        self._flags = 0
        self._framing = codes.BODY_NONE
        self._content_length = -1  # -1 until a Content-Length is seen
        self._hosts = 0
        self._codings: list[bytes] = []
        self._has_upgrade_field = False
        self._expect = False
        self._reset_start_line()

    def _reset_start_line(self) -> None:
        raise NotImplementedError

    # the exception for a code: request errors by default
    _exception = staticmethod(error)

    def _fail(self, code: int):
        self._error = code
        return self._exception(code)

    def _run(self, buf, end: int) -> int:
        """Consumes complete lines of buf[:end]; returns the head length or 0."""
        if self._error:
            raise self._exception(self._error)
        if self._phase == 2:
            self._buf = buf
            return self._head_len
        pos = self._pos
        scan = max(pos, self._scan)
        max_bytes = self._max_bytes
        spans = self._spans
        ids = self._ids
        find = buf.find
        match_field = FIELD_LINE.fullmatch
        while True:
            lf = find(b"\n", scan, end)
            if lf < 0:
                self._pos = pos
                self._scan = end
                self._check_unfinished(buf, pos, end)
                return 0
            nxt = lf + 1
            if not self._phase:
                self._start_line(buf, pos, lf)
            elif is_empty_line(buf, pos, lf):
                if nxt > max_bytes:
                    raise self._fail(codes.E_HEADERS_TOO_LARGE)
                if lf == pos:
                    raise self._fail(codes.E_BARE_LF)
                self._pos = self._scan = self._head_len = nxt
                self._end_of_head()
                self._phase = 2
                self._buf = buf
                return nxt
            else:
                if nxt > max_bytes:
                    raise self._fail(codes.E_HEADERS_TOO_LARGE)
                if len(ids) >= self._max_count:
                    raise self._fail(codes.E_TOO_MANY_HEADERS)
                m = match_field(buf, pos, nxt)
                if m is None:
                    raise self._fail(field_line_error(buf, pos, lf))
                ns, ne = m.span(1)
                vs, ve = m.span(2)
                fid = _FIELD_IDS.get(m.group(1).lower(), 0)
                spans.append((ns, ne - ns, vs, ve - vs))
                ids.append(fid)
                if fid in _SEMANTIC_IDS:
                    self._field(fid, bytes(buf[vs:ve]))
            pos = scan = nxt

    def _check_unfinished(self, buf, pos: int, end: int) -> None:
        """The limits an incomplete line can already prove."""
        if end > self._max_bytes:
            raise self._fail(codes.E_HEADERS_TOO_LARGE)

    def _start_line(self, buf, pos: int, lf: int) -> None:
        raise NotImplementedError

    def _field(self, fid: int, value: bytes) -> None:
        """Per-field semantics (check 6) of a well-formed field line."""
        if fid == _H_CONTENT_LENGTH:
            self._flags |= codes.F_HAS_CONTENT_LENGTH
            for element in value.split(b","):
                element = element.strip(b" \t")
                # 1*DIGIT only: no sign, "_", hex or inner space; the length
                # test keeps int() away from huge inputs.
                if not element.isdigit():
                    raise self._fail(codes.E_BAD_CONTENT_LENGTH)
                element = element.lstrip(b"0")
                if len(element) > 19:
                    raise self._fail(codes.E_BAD_CONTENT_LENGTH)
                number = int(element) if element else 0
                if number > MAX_INT63:
                    raise self._fail(codes.E_BAD_CONTENT_LENGTH)
                if self._content_length < 0:
                    self._content_length = number
                elif number != self._content_length:
                    raise self._fail(codes.E_CONFLICTING_CONTENT_LENGTH)
        elif fid == _H_TRANSFER_ENCODING:
            self._flags |= codes.F_HAS_TRANSFER_ENCODING
            for element in value.split(b","):
                element = element.strip(b" \t")
                if TOKEN.fullmatch(element) is None:
                    raise self._fail(codes.E_BAD_TRANSFER_ENCODING)
                self._codings.append(element.lower())
        elif fid == _H_CONNECTION:
            for element in value.split(b","):
                element = element.strip(b" \t")
                if not element:
                    continue
                if TOKEN.fullmatch(element) is None:
                    raise self._fail(codes.E_BAD_FIELD_VALUE)
                self._flags |= _CONNECTION_FLAGS.get(element.lower(), codes.F_CONN_OTHER)
        elif fid == _H_HOST and self._is_request:
            self._hosts += 1
            if self._hosts > 1 or HOST_BAD_BYTE.search(value) is not None:
                raise self._fail(codes.E_BAD_HOST)
        elif fid == _H_UPGRADE:
            self._has_upgrade_field = True
        elif fid == _H_EXPECT and value.lower() == b"100-continue":
            self._expect = True

    def _end_of_head(self) -> None:
        raise NotImplementedError

    def _set_keep_alive(self) -> None:
        flags = self._flags
        if self._framing == codes.BODY_UNTIL_CLOSE or flags & codes.F_CONN_CLOSE:
            return
        if self._minor >= 1 or flags & codes.F_CONN_KEEP_ALIVE:
            self._flags = flags | codes.F_KEEP_ALIVE

    # -- results, read lazily from the last buffer ---------------------------

    @property
    def error(self) -> int:
        return self._error

    @property
    def minor_version(self) -> int:
        return self._minor

    @property
    def flags(self) -> int:
        return self._flags

    @property
    def framing(self) -> int:
        return self._framing

    @property
    def content_length(self) -> int:
        return max(0, self._content_length)

    @property
    def keep_alive(self) -> bool:
        return bool(self._flags & codes.F_KEEP_ALIVE)

    @property
    def upgrade(self) -> bool:
        return bool(self._flags & codes.F_UPGRADE)

    @property
    def expect_continue(self) -> bool:
        return bool(self._flags & codes.F_EXPECT_CONTINUE)

    # Results are there once a head is complete: before, the byte strings
    # are None and the lists empty (as in the binding).

    @property
    def headers(self) -> list[tuple[bytes, bytes]]:
        """Built on first access, then the same list (as in the binding)."""
        if self._headers is None:
            buf = self._buf
            if buf is None:
                return []
            self._headers = [
                (bytes(buf[no : no + nl]), bytes(buf[vo : vo + vl]))
                for no, nl, vo, vl in self._spans
            ]
        return self._headers

    @property
    def header_ids(self) -> list[int]:
        return list(self._ids) if self._buf is not None else []

    @property
    def header_spans(self) -> list[tuple[int, int, int, int]]:
        return list(self._spans) if self._buf is not None else []

    def _bytes(self, span: tuple[int, int]) -> bytes | None:
        if self._buf is None:
            return None
        return bytes(self._buf[span[0] : span[1]])

    def get(self, name) -> bytes | None:
        """The value of the first field called ``name`` (bytes-like,
        case-insensitive), or None."""
        name = bytes(name).lower()
        buf = self._buf
        if buf is None:
            return None
        fid = _FIELD_IDS.get(name, 0)
        for i, (no, nl, vo, vl) in enumerate(self._spans):
            if fid and self._ids[i] != fid:
                continue
            if nl == len(name) and bytes(buf[no : no + nl]).lower() == name:
                return bytes(buf[vo : vo + vl])
        return None


class RequestParser(_HeadParser):
    """Incremental request-head parser; see :mod:`fastproxy.parser`."""

    __slots__ = ("_method", "_target")
    _is_request = True

    def _reset_start_line(self) -> None:
        self._method = (0, 0)
        self._target = (0, 0)

    def parse(self, buf, length: int = -1) -> int:
        """Parses the request head at the start of ``buf``; returns its
        length, or 0 when more input is needed.  Raises HttpParseError."""
        buf, end = _window(buf, length)
        return self._run(buf, end)

    def _check_unfinished(self, buf, pos: int, end: int) -> None:
        head_cross = self._max_bytes if end > self._max_bytes else NEVER
        uri_cross = self._target_cross(buf, pos, end) if not self._phase else NEVER
        self._raise_limit(uri_cross, head_cross)

    def _target_cross(self, buf, pos: int, stop: int) -> int:
        """The offset at which the target run of the request line starting at
        ``pos`` (looked at up to ``stop``) crosses max_uri_bytes, or NEVER."""
        sp = buf.find(b" ", pos, stop)
        if sp < 0 or stop - sp - 1 <= self._max_uri:
            return NEVER
        start = sp + 1
        if TARGET_RUN_END.search(buf, start, start + self._max_uri + 1) is not None:
            return NEVER
        return start + self._max_uri

    def _raise_limit(self, uri_cross: int, head_cross: int) -> None:
        # The limit crossed at the lower offset wins; a tie goes to the URI.
        if uri_cross != NEVER and uri_cross <= head_cross:
            raise self._fail(codes.E_URI_TOO_LONG)
        if head_cross != NEVER:
            raise self._fail(codes.E_HEADERS_TOO_LARGE)

    def _start_line(self, buf, pos: int, lf: int) -> None:
        nxt = lf + 1
        head_cross = self._max_bytes if nxt > self._max_bytes else NEVER
        if is_empty_line(buf, pos, lf):
            # RFC 9112 2.2: empty lines before the request line are skipped
            if head_cross != NEVER:
                raise self._fail(codes.E_HEADERS_TOO_LARGE)
            if lf == pos:
                raise self._fail(codes.E_BARE_LF)
            return
        self._raise_limit(self._target_cross(buf, pos, lf), head_cross)
        m = REQUEST_LINE.fullmatch(buf, pos, nxt)
        if m is None:
            code = line_end_error(buf, pos, lf) or request_line_error(
                bytes(buf[pos : lf - 1]), self._max_uri
            )
            raise self._fail(code)
        if buf[m.start(3)] != 49:  # major version "1"
            raise self._fail(codes.E_VERSION_NOT_SUPPORTED)
        ms, me = m.span(1)
        ts, te = m.span(2)
        if buf[ts] != 47 or me - ms == 7:  # not origin-form, or maybe CONNECT
            code = target_form_error(bytes(buf[ms:me]), bytes(buf[ts:te]))
            if code:
                raise self._fail(code)
        self._method = (ms, me)
        self._target = (ts, te)
        self._minor = buf[m.start(4)] - 48
        self._phase = 1

    def _end_of_head(self) -> None:
        http11 = self._minor >= 1
        flags = self._flags
        has_te = flags & codes.F_HAS_TRANSFER_ENCODING
        if http11 and self._hosts == 0:
            raise self._fail(codes.E_BAD_HOST)
        if has_te:
            if not http11:
                raise self._fail(codes.E_TE_IN_HTTP10)
            if flags & codes.F_HAS_CONTENT_LENGTH:
                raise self._fail(codes.E_CONTENT_LENGTH_WITH_TE)
            codings = self._codings
            for coding in codings:
                if coding not in KNOWN_CODINGS:
                    raise self._fail(codes.E_UNKNOWN_TRANSFER_CODING)
            if codings.count(b"chunked") > 1 or codings[-1] != b"chunked":
                raise self._fail(codes.E_BAD_TRANSFER_ENCODING)
            self._framing = codes.BODY_CHUNKED
        elif flags & codes.F_HAS_CONTENT_LENGTH:
            self._framing = codes.BODY_LENGTH
        if flags & codes.F_CONN_UPGRADE and self._has_upgrade_field:
            flags |= codes.F_UPGRADE
        if http11 and self._expect:
            flags |= codes.F_EXPECT_CONTINUE
        self._flags = flags
        self._set_keep_alive()

    @property
    def method(self) -> bytes | None:
        return self._bytes(self._method)

    @property
    def target(self) -> bytes | None:
        return self._bytes(self._target)


class ResponseParser(_HeadParser):
    """Incremental response-head parser; see :mod:`fastproxy.parser`."""

    __slots__ = ("_reason", "_req_flags", "_status")

    _exception = staticmethod(upstream_error)

    def _reset_start_line(self) -> None:
        self._status = 0
        self._reason = (0, 0)
        self._req_flags = 0

    def parse(self, buf, length: int = -1, req_flags: int = 0) -> int:
        """Parses the response head at the start of ``buf``, answering a
        request described by ``req_flags`` (codes.REQ_*); returns its length,
        or 0 when more input is needed.  Raises HttpParseError."""
        buf, end = _window(buf, length)
        self._req_flags = req_flags
        return self._run(buf, end)

    def _start_line(self, buf, pos: int, lf: int) -> None:
        nxt = lf + 1
        if nxt > self._max_bytes:
            raise self._fail(codes.E_HEADERS_TOO_LARGE)
        m = STATUS_LINE.fullmatch(buf, pos, nxt)
        if m is None:
            raise self._fail(line_end_error(buf, pos, lf) or codes.E_BAD_STATUS_LINE)
        self._minor = buf[m.start(1)] - 48
        self._status = int(m.group(2))
        if m.start(3) >= 0:
            self._reason = m.span(3)
        else:
            self._reason = (m.end(2), m.end(2))
        self._phase = 1

    def _end_of_head(self) -> None:
        flags = self._flags
        has_te = flags & codes.F_HAS_TRANSFER_ENCODING
        if has_te:
            if self._minor == 0:
                raise self._fail(codes.E_TE_IN_HTTP10)
            if flags & codes.F_HAS_CONTENT_LENGTH:
                raise self._fail(codes.E_CONTENT_LENGTH_WITH_TE)
            if self._codings.count(b"chunked") > 1:
                raise self._fail(codes.E_BAD_TRANSFER_ENCODING)
        status = self._status
        if status == 101:
            flags |= codes.F_UPGRADE
        if self._req_flags & codes.REQ_CONNECT and 200 <= status < 300:
            flags |= codes.F_TUNNEL
        if (status < 200 or status == 204 or status == 304
                or self._req_flags & codes.REQ_HEAD or flags & codes.F_TUNNEL):
            self._framing = codes.BODY_NONE
        elif has_te:
            # RFC 9112 6.3: a final coding other than chunked is read until close
            chunked = self._codings[-1] == b"chunked"
            self._framing = codes.BODY_CHUNKED if chunked else codes.BODY_UNTIL_CLOSE
        elif flags & codes.F_HAS_CONTENT_LENGTH:
            self._framing = codes.BODY_LENGTH
        else:
            self._framing = codes.BODY_UNTIL_CLOSE
        self._flags = flags
        self._set_keep_alive()

    @property
    def status(self) -> int:
        return self._status

    @property
    def reason(self) -> bytes | None:
        return self._bytes(self._reason)

    @property
    def tunnel(self) -> bool:
        return bool(self._flags & codes.F_TUNNEL)
