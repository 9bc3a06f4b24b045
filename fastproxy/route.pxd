# Typing for the compiled form of route.py (Cython pure-Python mode).
cimport cython


@cython.final
cdef class Route:
    cdef readonly Py_ssize_t index
    cdef readonly bytes host
    cdef readonly bytes suffix
    cdef readonly bytes prefix
    cdef readonly bint slash_prefix
    cdef readonly bint strip
    cdef readonly object upstream

    cpdef bint matches(self, bytes host, bytes path)
    cpdef bytes target(self, bytes path)


@cython.final
@cython.final
cdef class Router:
    cdef readonly tuple routes

    @cython.locals(route=Route)
    cpdef Route match(self, bytes host, bytes path)


cpdef bytes host_key(bytes value)
cpdef tuple split_absolute(bytes target)
