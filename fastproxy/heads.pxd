# Typing for the compiled form of heads.py (Cython pure-Python mode), and its
# C side: with the C parser (``c`` not None), parse calls and results go
# straight to the parser's C structs, declared in parser/_cparser.pxd.
cimport cython
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.stdint cimport uint32_t
from libc.string cimport memcmp

from fastproxy.parser._cparser cimport RequestParser, ResponseParser, _Head
from fastproxy.parser._fp_http cimport fp_header

cdef tuple _METHODS


@cython.final
cdef class ParsedHead:
    cdef readonly object parser
    cdef readonly bint response
    cdef readonly Py_ssize_t count
    cdef readonly unsigned int flags
    cdef readonly int framing
    cdef readonly long long content_length
    cdef readonly int minor_version
    cdef readonly int status
    cdef list ids
    cdef list spans
    # The C parser, when it is one (else None), under its three types.
    cdef _Head c
    cdef RequestParser creq
    cdef ResponseParser cresp

    @cython.locals(n=Py_ssize_t)
    cpdef Py_ssize_t parse(self, bytearray buf, Py_ssize_t end, unsigned int req_flags=*) except -1
    cpdef reset(self)
    cpdef uint32_t field_id(self, Py_ssize_t i) except? 0xFFFFFFFF
    cpdef Py_ssize_t line_start(self, Py_ssize_t i) except -1
    cpdef bytes value(self, bytearray buf, Py_ssize_t i)
    cpdef bytes value_or(self, bytearray buf, Py_ssize_t i, bytes known)
    cpdef bytes name(self, bytearray buf, Py_ssize_t i)
    @cython.locals(i=Py_ssize_t)
    cpdef Py_ssize_t find(self, uint32_t hid) except -2
    cpdef bytes method(self, bytearray buf)
    cpdef bytes target(self, bytearray buf)

    cdef inline _bind_c(self, object parser):
        if isinstance(parser, _Head):
            self.c = <_Head>parser
            if isinstance(parser, RequestParser):
                self.creq = <RequestParser>parser
            else:
                self.cresp = <ResponseParser>parser

    cdef inline Py_ssize_t _parse_c(self, bytearray buf, Py_ssize_t end, unsigned int req_flags) except -1:
        cdef Py_ssize_t n
        if self.creq is not None:
            n = self.creq.parse(buf, end)
        else:
            n = self.cresp.parse(buf, end, req_flags)
        if n:
            self.count = self.c.msg.num_headers
            self.flags = self.c.msg.flags
            self.framing = self.c.msg.framing
            self.content_length = self.c.msg.content_length
            self.minor_version = self.c.msg.minor_version
            self.status = self.c.msg.status
        return n

    cdef inline const fp_header *_field(self, Py_ssize_t i) except NULL:
        if i < 0 or i >= self.count:
            raise IndexError("field index out of range")
        return &self.c.fields[i]

    cdef inline bytes _method_c(self, bytearray buf):
        cdef uint32_t off = self.c.msg.method.off
        cdef uint32_t length = self.c.msg.method.len
        cdef bytes known
        if <Py_ssize_t>off + length <= PyByteArray_GET_SIZE(buf):
            for known in _METHODS:
                if (PyBytes_GET_SIZE(known) == length
                        and memcmp(PyBytes_AS_STRING(known), PyByteArray_AS_STRING(buf) + off, length) == 0):
                    return known
        return self._span(buf, off, length)

    cdef inline bytes _value_or_c(self, bytearray buf, Py_ssize_t i, bytes known):
        cdef const fp_header *field = self._field(i)
        cdef uint32_t off = field.value.off
        cdef uint32_t length = field.value.len
        if (known is not None and PyBytes_GET_SIZE(known) == length
                and <Py_ssize_t>off + length <= PyByteArray_GET_SIZE(buf)
                and memcmp(PyBytes_AS_STRING(known), PyByteArray_AS_STRING(buf) + off, length) == 0):
            return known
        return self._span(buf, off, length)

    cdef inline bytes _span(self, bytearray buf, uint32_t off, uint32_t length):
        if <Py_ssize_t>off + length > PyByteArray_GET_SIZE(buf):
            raise ValueError("the buffer no longer holds the parsed head")
        return PyBytes_FromStringAndSize(PyByteArray_AS_STRING(buf) + off, length)
