# Typing for the compiled form of buffers.py (Cython pure-Python mode).
cimport cython

@cython.final
cdef class BufferPool:
    cdef readonly Py_ssize_t size
    cdef list free
    cdef Py_ssize_t max_free

    cpdef bytearray acquire(self)
    cpdef release(self, bytearray buf)
