# Typing for the compiled form of buffers.py (Cython pure-Python mode).
cimport cython
from cpython.bytearray cimport PyByteArray_FromStringAndSize


cdef inline bytearray _uninitialised(Py_ssize_t size):
    # NULL contents: allocated, not written (see the module docstring).
    return PyByteArray_FromStringAndSize(NULL, size)

cpdef bytearray new_buffer(Py_ssize_t size)

@cython.final
cdef class BufferPool:
    cdef readonly Py_ssize_t size
    cdef list free
    cdef Py_ssize_t max_free

    cpdef bytearray acquire(self)
    cpdef release(self, bytearray buf)
