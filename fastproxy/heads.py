"""Parsed message heads as the data path reads them, from either parser.

Theory of operation: each connection parses through a ``ParsedHead``
wrapped around its parser (the C extension or its pure-Python twin).
``parse`` returns what the parser returns and, for a complete head, loads
the results the data path needs: ``flags``, ``framing``,
``content_length``, ``minor_version``, ``status`` and ``count`` fields,
read by index (``field_id``, ``line_start``, ``value``, ``name``).

Compiled and with the C parser, all of it is read from the parser's C
structs (heads.pxd): parsing is a C call, and no list, tuple or bytes object
is made unless a value is asked for.  Otherwise it comes from the parser's
Python attributes (``header_ids``, ``header_spans``, ...); that is also
what the compiled form does with the pure-Python parser, which the tests
run it with.  Results stay valid until the next ``parse`` or ``reset``
and while the parsed bytes of the buffer are unchanged.
"""

from __future__ import annotations

try:
    import cython
except ImportError:  # only building needs Cython: the source runs without it
    from fastproxy._ext import cython_shadow as cython

from fastproxy import _ext

_ext.loaded(__name__, cython.compiled)

# Compiled, a request naming one of these methods gets this very object, whose
# hash is computed once (downstream looks methods up in a set).
_METHODS = (b"GET", b"HEAD", b"POST", b"PUT", b"DELETE", b"OPTIONS", b"PATCH")


class ParsedHead:
    """One connection's parser and the results of its last complete head.

    The branches on ``cython.compiled and self.c is not None`` are the fast
    path: the C parser, called and read in C (``c`` is set by heads.pxd).
    """

    __slots__ = ("content_length", "count", "flags", "framing", "ids", "minor_version", "parser", "response",
                 "spans", "status")

    def __init__(self, parser, response: bool = False) -> None:
        """``parser``: a RequestParser, or a ResponseParser with ``response``."""
        self.parser = parser
        self.response = response
        self.count: int = 0
        self.flags: int = 0
        self.framing: int = 0
        self.content_length: int = 0
        self.minor_version: int = 1
        self.status: int = 0
        self.ids = None
        self.spans = None
        if cython.compiled:
            self._bind_c(parser)  # Fast path: the C parser, if it is one

    def parse(self, buf: bytearray, end: int, req_flags: int = 0) -> int:
        """Parses the head at the start of ``buf[:end]``, as the parser does:
        the head length, or 0 when more input is needed; raises HttpParseError.
        ``req_flags`` (codes.REQ_*): the request a response answers."""
        if cython.compiled and self.c is not None:
            return self._parse_c(buf, end, req_flags)
        p = self.parser
        n = p.parse(buf, end, req_flags) if self.response else p.parse(buf, end)
        if n:
            self.flags = p.flags
            self.framing = p.framing
            self.content_length = p.content_length
            self.minor_version = p.minor_version
            if self.response:
                self.status = p.status
            self.ids = p.header_ids
            self.spans = p.header_spans
            self.count = len(self.ids)
        return n

    def reset(self) -> None:
        """Readies the parser for the next message."""
        if cython.compiled and self.c is not None:
            self.c.reset()  # a C call
        else:
            self.parser.reset()
        self.count = 0

    def field_id(self, i: int) -> int:
        """The codes.H_* id of field ``i``."""
        if cython.compiled and self.c is not None:
            return self._field(i).id
        return self.ids[i]

    def line_start(self, i: int) -> int:
        """Where the line of field ``i`` starts in the buffer."""
        if cython.compiled and self.c is not None:
            return self._field(i).name.off
        return self.spans[i][0]

    def value(self, buf: bytearray, i: int) -> bytes:
        """The value of field ``i``, without surrounding whitespace."""
        if cython.compiled and self.c is not None:
            return self._span(buf, self._field(i).value.off, self._field(i).value.len)
        span = self.spans[i]
        return bytes(buf[span[2]:span[2] + span[3]])

    def value_or(self, buf: bytearray, i: int, known: bytes | None) -> bytes:
        """``value(buf, i)``, but ``known`` itself when it holds the same bytes:
        a client connection mostly repeats its Host, which then makes no
        new object."""
        if cython.compiled and self.c is not None:
            return self._value_or_c(buf, i, known)  # Fast path: compared in the buffer
        value = self.value(buf, i)
        return known if value == known else value

    def name(self, buf: bytearray, i: int) -> bytes:
        """The name of field ``i``, lower-cased."""
        if cython.compiled and self.c is not None:
            return self._span(buf, self._field(i).name.off, self._field(i).name.len).lower()
        span = self.spans[i]
        return bytes(buf[span[0]:span[0] + span[1]]).lower()

    def find(self, hid: int) -> int:
        """The index of the first field with id ``hid``, or -1."""
        for i in range(self.count):
            if self.field_id(i) == hid:
                return i
        return -1

    def method(self, buf: bytearray) -> bytes:
        """The request method."""
        if cython.compiled and self.c is not None:
            return self._method_c(buf)
        return self.parser.method

    def target(self, buf: bytearray) -> bytes:
        """The request target."""
        if cython.compiled and self.c is not None:
            return self._span(buf, self.c.msg.target.off, self.c.msg.target.len)
        return self.parser.target
