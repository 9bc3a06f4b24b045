# Typing for the compiled form of balance.py (Cython pure-Python mode), and
# its C side: with the balancers' extension (``c`` not None), picks and load
# counts are cdef calls on the balancer (balancers/_cbalancers.pxd).
cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from libc.stdint cimport uint32_t

from fastproxy.balancers._cbalancers cimport Balancer
from fastproxy.heads cimport ParsedHead
from fastproxy.rewrite cimport Peer

cdef int KEY_NONE, KEY_CLIENT_IP, KEY_URI, KEY_HEADER, KEY_COOKIE, KEY_QUERY
cdef int H_X_FORWARDED_FOR


@cython.final
cdef class Group:
    cdef readonly str name
    cdef readonly tuple pools
    cdef readonly object balancer
    cdef readonly object trusted
    cdef readonly int key_kind
    cdef readonly bytes key_name
    # OUT_* bits per server: why it is out of the balancer's choices.
    cdef readonly list out
    # Its health.state.UpstreamHealth (passive checks, retries, active checks).
    cdef public object health
    # The balancer, when it is the extension's (else None).
    cdef Balancer c

    cpdef int pick(self, ParsedHead head, bytearray buf, bytes target, Peer peer) except -2
    @cython.locals(i=Py_ssize_t, kind=int)
    cpdef bytes key(self, ParsedHead head, bytearray buf, bytes target, Peer peer)
    @cython.locals(i=Py_ssize_t)
    cdef bytes _client_ip(self, ParsedHead head, bytearray buf, Peer peer)
    cpdef acquire(self, Py_ssize_t i)
    cpdef release(self, Py_ssize_t i, double latency)

    cdef inline _bind_c(self, object balancer):
        if isinstance(balancer, Balancer):
            self.c = <Balancer>balancer

    cdef inline int _pick_c(self):
        return self.c.pick_c()

    cdef inline int _pick_key_c(self, bytes key):
        if key is None:
            return self.c.pick_c()
        return self.c.pick_key_c(<const unsigned char *>PyBytes_AS_STRING(key), <size_t>PyBytes_GET_SIZE(key))

    cdef inline _acquire_c(self, Py_ssize_t i):
        if i < 0 or i >= self.c.size:
            raise IndexError("server index out of range")
        self.c.acquire_c(<uint32_t>i)

    cdef inline _release_c(self, Py_ssize_t i, double latency):
        if i < 0 or i >= self.c.size:
            raise IndexError("server index out of range")
        self.c.release_c(<uint32_t>i, latency)
