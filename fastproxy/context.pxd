# Typing for the compiled form of context.py (Cython pure-Python mode): the
# other compiled modules read these settings as C fields.
cimport cython
from fastproxy.accounting cimport Accounting
from fastproxy.buffers cimport BufferPool
from fastproxy.counters cimport Counters
from fastproxy.outgoing cimport Outgoing
from fastproxy.rewrite cimport RequestRewriter, ResponseRewriter
from fastproxy.route cimport Router


@cython.final
cdef class ProxyContext:
    cdef public Accounting accounting
    cdef public BufferPool buffers
    cdef public object chunked_decoder
    cdef public double client_header_timeout
    cdef public double client_idle_timeout
    cdef public set clients
    cdef public object closed_waiter
    cdef public bint closing
    cdef public Counters counters
    cdef public list groups
    cdef public object loop
    cdef public long long max_body_bytes
    cdef public Py_ssize_t max_header_bytes
    cdef public Py_ssize_t max_header_count
    cdef public Py_ssize_t max_uri_bytes
    cdef readonly Outgoing out
    cdef public list pools
    cdef public RequestRewriter req_rewriter
    cdef public object request_parser
    cdef public ResponseRewriter resp_rewriter
    cdef public object response_parser
    cdef public Router router
    cdef public object splice_pipes
    cdef public object trusted
    cdef public double upstream_connect_timeout
    cdef public double upstream_read_timeout
    cdef public double upstream_write_timeout
    cdef public set upstreams

    cpdef connection_gone(self)
