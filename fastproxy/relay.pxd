# Typing for the compiled form of relay.py (Cython pure-Python mode).
cimport cython

from fastproxy.outgoing cimport Outgoing

cdef int BODY_NONE, BODY_LENGTH, BODY_CHUNKED, BODY_UNTIL_CLOSE


@cython.final
cdef class BodyRelay:
    cdef readonly object decoder
    cdef readonly int framing
    cdef readonly int out
    cdef readonly long long left
    cdef readonly bint done
    cdef readonly long long total

    cpdef begin(self, int framing, long long content_length, int out)
    @cython.locals(n=Py_ssize_t)
    cpdef Py_ssize_t frame(self, bytearray buf, Py_ssize_t start, Py_ssize_t end, Outgoing outgoing) except -1
    cpdef bypassed(self, long long n)
    cpdef finish(self, Outgoing outgoing)
