# Lets other Cython modules (the hot path) reach the parse results as C
# structs, without going through Python attributes.
from libc.stdint cimport uint32_t

from fastproxy.parser._fp_http cimport fp_chunked, fp_header, fp_limits, fp_message, fp_span


cdef class _Head:
    cdef fp_message msg
    cdef fp_limits limits
    cdef fp_header *fields
    cdef object _buf
    cdef object _headers

    cpdef reset(self)
    cdef int _check_length(self, Py_ssize_t length, Py_ssize_t available) except -1
    cdef object _span(self, const unsigned char *base, uint32_t off, uint32_t len)
    cdef object _bytes_of(self, fp_span span)


cdef class RequestParser(_Head):
    cpdef int parse(self, object buf, Py_ssize_t length=*) except -1


cdef class ResponseParser(_Head):
    cpdef int parse(self, object buf, Py_ssize_t length=*, unsigned int req_flags=*) except -1


cdef class ChunkedDecoder:
    cdef fp_chunked state
    cdef fp_limits limits
    cpdef Py_ssize_t scan(self, object buf, Py_ssize_t start=*, Py_ssize_t end=*) except -1
