"""Pure-Python twin of the C chunked-body decoder (``fp_chunked_*`` in
``src_c/fp_http.h``).

A small state machine: size line, chunk data, the CRLF after the data, then
trailer lines after the last chunk.  Chunk data is never looked at, only
counted (and sliced out by ``decode``).  An incomplete size or trailer line
is kept (at most FP_CHUNK_LINE_MAX or max_trailer_bytes bytes) and checked
once its LF arrives, so a line split across calls is judged exactly like a
whole one.
"""

from __future__ import annotations

from fastproxy.parser import codes
from fastproxy.parser._pyrules import (
    CHUNK_SIZE_LINE,
    FIELD_LINE,
    chunk_size_line_error,
    chunk_size_value,
    error,
    field_line_error,
    is_empty_line,
    limit,
    line_end_error,
)

_LINE_MAX = codes.CHUNK_LINE_MAX

_SIZE = 0       # in a chunk-size line
_DATA = 1       # in chunk data
_DATA_CR = 2    # expecting the CR after chunk data
_DATA_LF = 3    # expecting the LF after chunk data
_TRAILER = 4    # in the trailer section
_DONE = 5


def _window(buf, start: int, end: int):
    """(bytes or bytearray, start, end) for a bytes-like ``buf``; other
    buffers are copied (only bytes and bytearray have ``find``)."""
    if type(buf) is not bytes and type(buf) is not bytearray:
        view = memoryview(buf)
        if view.ndim != 1 or view.itemsize != 1:
            view = view.cast("B")
        if end < 0:
            end = len(view)
        if not 0 <= start <= end <= len(view):
            raise ValueError(f"bad window [{start}:{end}] of a {len(view)}-byte buffer")
        return bytes(view[start:end]), 0, end - start
    size = len(buf)
    if end < 0:
        end = size
    if not 0 <= start <= end <= size:
        raise ValueError(f"bad window [{start}:{end}] of a {size}-byte buffer")
    return buf, start, end


class ChunkedDecoder:
    """Incremental chunked-coding checker and decoder; see :mod:`fastproxy.parser`."""

    __slots__ = (
        "_data_bytes",
        "_error",
        "_line",
        "_max_bytes",
        "_max_count",
        "_remaining",
        "_state",
        "_trailer_bytes",
        "_trailer_count",
    )

    def __init__(self, max_trailer_bytes: int = 16384, max_trailer_count: int = 100) -> None:
        self._max_bytes = limit("max_trailer_bytes", max_trailer_bytes)
        self._max_count = limit("max_trailer_count", max_trailer_count)
        self.reset()

    def reset(self) -> None:
        """Forgets the body: the next call starts a new chunked body."""
        self._state = _SIZE
        self._remaining = 0
        self._line = bytearray()  # the incomplete size or trailer line
        self._trailer_bytes = 0
        self._trailer_count = 0
        self._data_bytes = 0
        self._error = 0

    @property
    def done(self) -> bool:
        return self._state == _DONE

    @property
    def data_bytes(self) -> int:
        return self._data_bytes

    @property
    def error(self) -> int:
        return self._error

    def scan(self, buf, start: int = 0, end: int = -1) -> int:
        """Checks chunked-coded ``buf[start:end]``; returns how many of its
        bytes belong to the body (all unless it ended inside them).  Raises
        HttpParseError."""
        buf, start, end = _window(buf, start, end)
        return self._run(buf, start, end, None)

    def decode(self, buf, start: int = 0, end: int = -1) -> tuple[bytes, int]:
        """Like ``scan``, and also returns the chunk data found: (data, consumed)."""
        buf, start, end = _window(buf, start, end)
        out: list = []
        consumed = self._run(buf, start, end, out)
        return b"".join(out), consumed

    def _fail(self, code: int):
        self._error = code
        return error(code)

    def _run(self, buf, start: int, end: int, out: list | None) -> int:
        if self._error:
            raise error(self._error)
        state = self._state
        i = start
        try:
            while i < end and state != _DONE:
                if state == _DATA:
                    n = self._remaining
                    n = min(n, end - i)
                    if out is not None:
                        out.append(buf[i : i + n])
                    self._remaining -= n
                    self._data_bytes += n
                    i += n
                    if not self._remaining:
                        state = _DATA_CR
                elif state == _DATA_CR:
                    if buf[i] != 13:
                        raise self._fail(codes.E_BAD_CHUNK_DATA_END)
                    i += 1
                    state = _DATA_LF
                elif state == _DATA_LF:
                    if buf[i] != 10:
                        raise self._fail(codes.E_BAD_CHUNK_DATA_END)
                    i += 1
                    state = _SIZE
                elif state == _SIZE:
                    i, state = self._size_line(buf, i, end)
                else:
                    i, state = self._trailer_line(buf, i, end)
        finally:
            self._state = state
        return i - start

    def _take_line(self, buf, i: int, end: int, limit_seen: int):
        """Finds the end of the line at buf[i].  Returns (line, pos, lf) with
        the complete line at line[pos:lf+1] (joined with the kept prefix), or
        None after keeping an incomplete rest; ``limit_seen`` is the largest
        count of line bytes an incomplete line may have, beyond which
        OverflowError is raised for the caller to name."""
        lf = buf.find(b"\n", i, end)
        if lf < 0:
            if len(self._line) + end - i > limit_seen:
                raise OverflowError
            self._line += buf[i:end]
            return None
        if not self._line:
            return buf, i, lf
        line = bytes(self._line) + bytes(buf[i : lf + 1])
        self._line.clear()
        return line, 0, len(line) - 1

    def _size_line(self, buf, i: int, end: int) -> tuple[int, int]:
        """One step in a chunk-size line; returns (next i, next state)."""
        seen = len(self._line)
        try:
            taken = self._take_line(buf, i, end, _LINE_MAX)
        except OverflowError:
            raise self._fail(codes.E_CHUNK_EXTENSION_TOO_LARGE) from None
        if taken is None:
            return end, _SIZE
        line, pos, lf = taken
        nxt = i + (lf - pos + 1 - seen)
        if lf - pos + 1 > _LINE_MAX:
            raise self._fail(codes.E_CHUNK_EXTENSION_TOO_LARGE)
        m = CHUNK_SIZE_LINE.fullmatch(line, pos, lf + 1)
        if m is None:
            code = line_end_error(line, pos, lf) or chunk_size_line_error(bytes(line[pos : lf - 1]))
            raise self._fail(code)
        size = chunk_size_value(m.group(1))
        if size < 0:
            raise self._fail(codes.E_CHUNK_SIZE_TOO_LARGE)
        if not size:
            return nxt, _TRAILER
        self._remaining = size
        return nxt, _DATA

    def _trailer_line(self, buf, i: int, end: int) -> tuple[int, int]:
        """One step in the trailer section; returns (next i, next state)."""
        seen = len(self._line)
        room = self._max_bytes - self._trailer_bytes
        try:
            taken = self._take_line(buf, i, end, room)
        except OverflowError:
            raise self._fail(codes.E_TRAILERS_TOO_LARGE) from None
        if taken is None:
            return end, _TRAILER
        line, pos, lf = taken
        size = lf - pos + 1
        nxt = i + (size - seen)
        if size > room:
            raise self._fail(codes.E_TRAILERS_TOO_LARGE)
        empty = is_empty_line(line, pos, lf)
        if not empty and self._trailer_count >= self._max_count:
            raise self._fail(codes.E_TRAILERS_TOO_LARGE)
        if empty:
            if lf == pos:
                raise self._fail(codes.E_BARE_LF)
            self._trailer_bytes += size
            return nxt, _DONE
        if FIELD_LINE.fullmatch(line, pos, lf + 1) is None:
            raise self._fail(field_line_error(line, pos, lf))
        self._trailer_bytes += size
        self._trailer_count += 1
        return nxt, _TRAILER
