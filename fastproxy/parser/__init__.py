"""HTTP/1.x message-head parser and chunked decoder.

The C extension (``_cparser``, over ``src_c/fp_http.c``) and the pure-Python
twin (``_pyparser``) have the same surface and the same results; the rules
are written once, in ``src_c/fp_http.h``.

Surface of both implementations
-------------------------------
``RequestParser(max_uri_bytes=8192, max_header_bytes=16384, max_header_count=100)``
    ``parse(buf, length=-1) -> int``: ``buf`` is a bytes-like object holding
    the message from its first byte (bytes, bytearray, memoryview), of which
    the first ``length`` bytes are valid (-1: all).  Between calls for one
    message the caller may append bytes or pass a new object with the same
    prefix.  Returns the head length (> 0), or 0 when more input is needed.
    Raises :class:`fastproxy.errors.HttpParseError` (``.code``, ``.name``,
    ``.status``).  After a result > 0 or an error, ``reset()`` before the next
    message.  Results are read lazily from the last ``buf``, so they are valid
    while its bytes are unchanged:
    ``method``, ``target`` (bytes), ``minor_version`` (int), ``headers``
    (list of (name, value) bytes pairs, name as sent, value trimmed),
    ``header_ids`` (list of codes.H_* ints), ``header_spans`` (list of
    (name_off, name_len, value_off, value_len)), ``get(name) -> bytes|None``
    (first field of that name, case-insensitive), ``framing`` (codes.BODY_*),
    ``content_length`` (int), ``flags`` (codes.F_*), ``keep_alive``,
    ``upgrade``, ``expect_continue`` (bool), ``error`` (code, 0 if none).
``ResponseParser(...)``
    Same, with ``parse(buf, length=-1, req_flags=0)`` (codes.REQ_HEAD,
    codes.REQ_CONNECT), and ``status`` (int), ``reason`` (bytes), ``tunnel``
    (bool) instead of method and target.
``ChunkedDecoder(max_trailer_bytes=16384, max_trailer_count=100)``
    ``scan(buf, start=0, end=-1) -> int``: checks chunked-coded bytes
    ``buf[start:end]`` for pass-through and returns how many of them belong to
    the body (all, unless the body ended inside them: then ``done`` is True
    and the rest is the next message).  ``decode(buf, start=0, end=-1) ->
    (bytes, int)``: the chunk data in ``buf[start:end]`` and the bytes
    consumed.  ``done`` (bool), ``data_bytes`` (int, total chunk data seen),
    ``error`` (code), ``reset()``.  Raises HttpParseError.
``scan_level() -> str``
    The byte-scanning level in use: "avx2", "sse4.2", "scalar", or "python".
"""

from __future__ import annotations

from types import ModuleType

from fastproxy import _ext
from fastproxy._ext import load
from fastproxy.parser import codes

_impl = load("parser", "fastproxy.parser._cparser", "fastproxy.parser._pyparser")

RequestParser = _impl.RequestParser
ResponseParser = _impl.ResponseParser
ChunkedDecoder = _impl.ChunkedDecoder
scan_level = _impl.scan_level

__all__ = [
    "ChunkedDecoder",
    "RequestParser",
    "ResponseParser",
    "codes",
    "implementations",
    "scan_level",
]


def implementations() -> dict[str, ModuleType]:
    """The implementations to test, by id ("c", "python"): see _ext.implementations."""
    return _ext.implementations("fastproxy.parser._cparser", "fastproxy.parser._pyparser")
