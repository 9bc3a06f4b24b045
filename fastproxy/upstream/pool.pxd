# Typing for the compiled form of pool.py (Cython pure-Python mode).
cimport cython

from fastproxy.context cimport ProxyContext
from fastproxy.upstream.connection cimport UpstreamConnection


@cython.final
cdef class Pool:
    cdef readonly str address
    cdef readonly bint closing
    cdef readonly ProxyContext ctx
    cdef readonly str host
    cdef readonly bytes host_header
    cdef readonly list idle
    cdef public Py_ssize_t index
    cdef readonly double idle_timeout
    cdef public double head_timeout
    cdef readonly Py_ssize_t max_idle
    cdef readonly Py_ssize_t max_requests
    cdef readonly object port
    cdef readonly str server_hostname
    cdef readonly object ssl

    @cython.locals(idle=list, conn=UpstreamConnection)
    cpdef UpstreamConnection acquire(self)
    cpdef UpstreamConnection connect(self, object owner)
    cpdef release(self, UpstreamConnection conn, double now=*)
    cpdef forget(self, UpstreamConnection conn)
    cpdef close(self)
