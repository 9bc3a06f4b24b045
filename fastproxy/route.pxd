# Typing for the compiled form of route.py (Cython pure-Python mode).
cimport cython

from fastproxy.heads cimport ParsedHead



@cython.final
cdef class Conditions:
    cdef readonly frozenset methods
    cdef readonly object regex
    cdef readonly tuple headers
    cdef readonly tuple query
    cdef readonly frozenset subjects
    cdef readonly frozenset cns
    cdef readonly int tls

    cpdef str first_failure(self, bytes method, bytes path, object head, object buf, object peer)


cpdef bytes path_only(bytes path)
cdef bint _value_holds(int kind, bytes value, bytes want, object regex)
@cython.locals(i=Py_ssize_t, hid=Py_ssize_t, kind=int, found=bint)
cdef bint _header_holds(tuple test, ParsedHead head, bytearray buf)
cpdef list query_pairs(bytes path)
@cython.locals(kind=int, found=bint, held=bint)
cdef bint _query_holds(tuple tests, bytes path)


@cython.final
cdef class Route:
    cdef readonly Py_ssize_t index
    cdef readonly bytes host
    cdef readonly bytes suffix
    cdef readonly frozenset hosts
    cdef readonly tuple suffixes
    cdef readonly bytes prefix
    cdef readonly bint slash_prefix
    cdef readonly bint strip
    cdef public bytes replacement
    cdef public tuple template
    cdef public object upstream
    cdef public object answer
    cdef public Conditions more
    cdef public object req_edits
    cdef public object resp_plain
    cdef public object resp_tls

    cpdef bint matches(self, bytes host, bytes path)
    cdef bint _suffix_match(self, bytes host)
    cpdef bytes target(self, bytes path)
    @cython.locals(mark=Py_ssize_t, parts=list)
    cdef bytes _regex_target(self, bytes path)


@cython.final
cdef class Router:
    cdef readonly tuple routes

    @cython.locals(route=Route)
    cpdef Route match(self, bytes host, bytes path, bytes method=*, object head=*, object buf=*, object peer=*)


cpdef bytes host_key(bytes value)
cpdef tuple split_absolute(bytes target)
