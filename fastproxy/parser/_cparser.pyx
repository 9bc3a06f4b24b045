# cython: language_level=3
"""Binding of the C parser (src_c/fp_http.c); surface documented in __init__.py.

Parse results stay C structs; Python objects (bytes, header lists) are made
only when an attribute is read, so the proxy's hot path, which reads the
structs from Cython through _cparser.pxd, never builds them.
"""

import os

from cpython.buffer cimport PyBUF_SIMPLE, PyBuffer_Release, PyObject_GetBuffer
from cpython.bytes cimport PyBytes_FromStringAndSize
from libc.stdint cimport int64_t, uint32_t
from libc.stdlib cimport free, malloc

from fastproxy.parser cimport _fp_http as c

from fastproxy.errors import UPSTREAM, HttpParseError
from fastproxy.parser import codes

# Built once: the exception arguments for each code, from the same table the
# Python twin uses (test_parser_codes checks the C names agree).
cdef tuple _ERROR_ARGS = tuple((e.code, e.name, e.status, e.message) for e in codes.ERRORS)
_SCAN_NAMES = {name: level for level, name in enumerate(codes.SCAN_LEVEL_NAMES)}


cdef object _error(int code):
    if 0 <= code < len(_ERROR_ARGS):
        return HttpParseError(*_ERROR_ARGS[code])
    return HttpParseError(code, "unknown", 400, "unknown parse error")


cdef object _upstream_error(int code):
    # A response the upstream got wrong is always answered 502.
    cdef object err = _error(code)
    err.status = 502
    err.source = UPSTREAM
    return err


def error_name(int code):
    return c.fp_error_name(code).decode("ascii")


def error_status(int code):
    return c.fp_error_status(code)


def error_message(int code):
    return c.fp_error_message(code).decode("ascii")


def error_count():
    return c.FP_E__COUNT


def scan_level():
    return c.fp_scan_level_name(c.fp_scan_current()).decode("ascii")


def detect_scan_level():
    return c.fp_scan_level_name(c.fp_scan_detect()).decode("ascii")


def select_scan_level(str name):
    """Forces a scan level ("scalar", "sse4.2", "avx2"); returns the one in use,
    lower when the CPU lacks the asked one.  Call at start-up only."""
    if name not in _SCAN_NAMES:
        raise ValueError(f"unknown scan level {name!r}; expected one of {sorted(_SCAN_NAMES)}")
    return c.fp_scan_level_name(c.fp_scan_select(_SCAN_NAMES[name])).decode("ascii")


if os.environ.get("FASTPROXY_FORCE_SCALAR", "").strip() not in ("", "0"):
    c.fp_scan_select(codes.SCAN_SCALAR)


cdef inline uint32_t _limit(object value, str name) except? 0:
    if value < 1 or value > 0xFFFFFFFF:
        raise ValueError(f"{name} must be between 1 and 4294967295, not {value}")
    return <uint32_t>value


cdef class _Head:
    """State and results shared by request and response heads."""

    def __cinit__(self, max_uri_bytes=8192, max_header_bytes=16384, max_header_count=100):
        self.limits.max_uri_bytes = _limit(max_uri_bytes, "max_uri_bytes")
        self.limits.max_header_bytes = _limit(max_header_bytes, "max_header_bytes")
        self.limits.max_header_count = _limit(max_header_count, "max_header_count")
        self.fields = <c.fp_header *>malloc(self.limits.max_header_count * sizeof(c.fp_header))
        if self.fields is NULL:
            raise MemoryError()
        c.fp_message_init(&self.msg, self.fields)

    def __dealloc__(self):
        free(self.fields)

    cpdef reset(self):
        c.fp_message_init(&self.msg, self.fields)
        self._buf = None
        self._headers = None

    cdef int _check_length(self, Py_ssize_t length, Py_ssize_t available) except -1:
        if length > available:
            raise ValueError(f"length {length} exceeds the buffer ({available} bytes)")
        # (A C constant: compared with a Python int, every parse made two.)
        if available > <Py_ssize_t>0xFFFFFFFF and length < 0:
            raise ValueError("buffer larger than 4 GiB")
        return 0

    cdef object _span(self, const unsigned char *base, uint32_t off, uint32_t len):
        return PyBytes_FromStringAndSize(<const char *>base + off, len)

    cdef object _bytes_of(self, c.fp_span span):
        cdef Py_buffer view
        if self._buf is None:
            return None
        PyObject_GetBuffer(self._buf, &view, PyBUF_SIMPLE)
        try:
            return self._span(<const unsigned char *>view.buf, span.off, span.len)
        finally:
            PyBuffer_Release(&view)

    @property
    def minor_version(self):
        return self.msg.minor_version

    @property
    def framing(self):
        return self.msg.framing

    @property
    def content_length(self):
        return self.msg.content_length

    @property
    def flags(self):
        return self.msg.flags

    @property
    def keep_alive(self):
        return bool(self.msg.flags & codes.F_KEEP_ALIVE)

    @property
    def upgrade(self):
        return bool(self.msg.flags & codes.F_UPGRADE)

    @property
    def expect_continue(self):
        return bool(self.msg.flags & codes.F_EXPECT_CONTINUE)

    @property
    def error(self):
        return self.msg.error

    @property
    def headers(self):
        cdef Py_buffer view
        cdef uint32_t i
        cdef const unsigned char *base
        cdef c.fp_header *h
        if self._headers is not None:
            return self._headers
        if self._buf is None:
            return []
        result = []
        PyObject_GetBuffer(self._buf, &view, PyBUF_SIMPLE)
        try:
            base = <const unsigned char *>view.buf
            for i in range(self.msg.num_headers):
                h = &self.fields[i]
                result.append((self._span(base, h.name.off, h.name.len),
                               self._span(base, h.value.off, h.value.len)))
        finally:
            PyBuffer_Release(&view)
        self._headers = result
        return result

    @property
    def header_ids(self):
        if self._buf is None:
            return []
        return [self.fields[i].id for i in range(self.msg.num_headers)]

    @property
    def header_spans(self):
        cdef uint32_t i
        if self._buf is None:
            return []
        return [(self.fields[i].name.off, self.fields[i].name.len,
                 self.fields[i].value.off, self.fields[i].value.len)
                for i in range(self.msg.num_headers)]

    def get(self, name):
        """The value of the first field called ``name`` (case-insensitive), or None."""
        wanted = bytes(name).lower()
        for field_name, value in self.headers:
            if field_name.lower() == wanted:
                return value
        return None


cdef class RequestParser(_Head):

    cpdef int parse(self, object buf, Py_ssize_t length=-1) except -1:
        cdef Py_buffer view
        cdef int r
        PyObject_GetBuffer(buf, &view, PyBUF_SIMPLE)
        try:
            self._check_length(length, view.len)
            if length < 0:
                length = view.len
            r = c.fp_parse_request(&self.msg, <const char *>view.buf, <size_t>length, &self.limits)
        finally:
            PyBuffer_Release(&view)
        if r > 0:
            # Fast path: keep the buffer; results are read from it on demand.
            self._buf = buf
            self._headers = None
            return r
        if r == c.FP_NEED_MORE:
            return 0
        raise _error(self.msg.error)

    @property
    def method(self):
        return self._bytes_of(self.msg.method)

    @property
    def target(self):
        return self._bytes_of(self.msg.target)


cdef class ResponseParser(_Head):

    cpdef int parse(self, object buf, Py_ssize_t length=-1, unsigned int req_flags=0) except -1:
        cdef Py_buffer view
        cdef int r
        PyObject_GetBuffer(buf, &view, PyBUF_SIMPLE)
        try:
            self._check_length(length, view.len)
            if length < 0:
                length = view.len
            r = c.fp_parse_response(&self.msg, <const char *>view.buf, <size_t>length,
                                    &self.limits, req_flags)
        finally:
            PyBuffer_Release(&view)
        if r > 0:
            self._buf = buf
            self._headers = None
            return r
        if r == c.FP_NEED_MORE:
            return 0
        raise _upstream_error(self.msg.error)

    @property
    def status(self):
        return self.msg.status

    @property
    def reason(self):
        return self._bytes_of(self.msg.reason)

    @property
    def tunnel(self):
        return bool(self.msg.flags & codes.F_TUNNEL)


cdef enum:
    _SPANS = 64  # spans per C call; only bounds one call


cdef class ChunkedDecoder:

    def __cinit__(self, max_trailer_bytes=16384, max_trailer_count=100):
        self.limits.max_uri_bytes = 1
        self.limits.max_header_bytes = _limit(max_trailer_bytes, "max_trailer_bytes")
        self.limits.max_header_count = _limit(max_trailer_count, "max_trailer_count")
        c.fp_chunked_init(&self.state)

    def reset(self):
        c.fp_chunked_init(&self.state)

    @property
    def done(self):
        return bool(self.state.done)

    @property
    def data_bytes(self):
        return self.state.data_bytes

    @property
    def error(self):
        return self.state.error

    cpdef Py_ssize_t scan(self, object buf, Py_ssize_t start=0, Py_ssize_t end=-1) except -1:
        cdef Py_buffer view
        cdef c.fp_span spans[_SPANS]
        cdef size_t nspans
        cdef int64_t r
        cdef Py_ssize_t pos
        PyObject_GetBuffer(buf, &view, PyBUF_SIMPLE)
        try:
            if end < 0:
                end = view.len
            if start < 0 or start > end or end > view.len:
                raise ValueError(f"bad range [{start}:{end}] for a buffer of {view.len} bytes")
            pos = start
            # The span array only bounds one call; pass-through needs no spans.
            while pos < end and not self.state.done:
                nspans = _SPANS
                r = c.fp_chunked_scan(&self.state, <const char *>view.buf + pos,
                                      <size_t>(end - pos), spans, &nspans, &self.limits)
                if r < 0:
                    raise _error(self.state.error)
                pos += <Py_ssize_t>r
            return pos - start
        finally:
            PyBuffer_Release(&view)

    def decode(self, object buf, Py_ssize_t start=0, Py_ssize_t end=-1):
        """Returns (chunk data in buf[start:end], bytes consumed)."""
        cdef Py_buffer view
        cdef c.fp_span spans[_SPANS]
        cdef size_t nspans, i
        cdef int64_t r
        cdef Py_ssize_t pos
        cdef const char *base
        parts = []
        PyObject_GetBuffer(buf, &view, PyBUF_SIMPLE)
        try:
            if end < 0:
                end = view.len
            if start < 0 or start > end or end > view.len:
                raise ValueError(f"bad range [{start}:{end}] for a buffer of {view.len} bytes")
            pos = start
            while pos < end and not self.state.done:
                nspans = _SPANS
                base = <const char *>view.buf + pos
                r = c.fp_chunked_scan(&self.state, base, <size_t>(end - pos), spans, &nspans,
                                      &self.limits)
                if r < 0:
                    raise _error(self.state.error)
                for i in range(nspans):
                    parts.append(PyBytes_FromStringAndSize(base + spans[i].off, spans[i].len))
                pos += <Py_ssize_t>r
            return b"".join(parts), pos - start
        finally:
            PyBuffer_Release(&view)
