# Typing for the compiled form of balance.py (Cython pure-Python mode).
cimport cython


@cython.final
cdef class RoundRobin:
    cdef readonly tuple servers
    cdef readonly tuple weights
    cdef list scores
    cdef Py_ssize_t total
    cdef Py_ssize_t next
    cdef bint equal

    @cython.locals(i=Py_ssize_t, best=Py_ssize_t)
    cpdef object pick(self)
