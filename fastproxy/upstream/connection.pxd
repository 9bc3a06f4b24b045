# Typing for the compiled form of connection.py (Cython pure-Python mode).
from fastproxy.context cimport ProxyContext
from fastproxy.deadline cimport Deadline
from fastproxy.downstream cimport Downstream
from fastproxy.heads cimport ParsedHead
from fastproxy.outgoing cimport Sink
from fastproxy.relay cimport BodyRelay
from fastproxy.upstream.pool cimport Pool

cdef int U_CONNECTING, U_IDLE, U_HEAD, U_BODY, U_TUNNEL, U_CLOSED, U_SPLICE
cdef int BODY_CHUNKED, BODY_LENGTH, BODY_UNTIL_CLOSE
cdef Py_ssize_t SPLICE_MIN_BYTES
cdef int OUT_CHUNK, OUT_DECHUNK, OUT_PASS
cdef unsigned int F_HAS_TRANSFER_ENCODING, F_KEEP_ALIVE


cdef class UpstreamConnection:
    cdef bytearray buf
    cdef object connect_task
    cdef ProxyContext ctx
    cdef readonly Deadline deadline
    cdef Py_ssize_t end
    cdef bint got_bytes
    cdef ParsedHead head
    cdef object loop
    cdef Downstream owner
    cdef readonly Pool pool
    cdef readonly bint read_paused
    cdef BodyRelay relay
    cdef unsigned int req_flags
    cdef readonly Py_ssize_t requests
    cdef bint sent_all
    cdef readonly Sink sink
    cdef object splice
    cdef bint splice_on_client
    cdef Py_ssize_t start
    cdef int state
    cdef readonly object transport
    cdef readonly bint write_paused

    cpdef connect(self, Downstream owner)
    cdef park(self, double idle_timeout, double now=*)
    cdef bint usable(self)
    cdef begin(self, Downstream owner, unsigned int req_flags)
    cdef request_sent(self, double now=*)
    # cpdef: the event loop's argument is taken as a C integer, not boxed per addition.
    cpdef buffer_updated(self, Py_ssize_t nbytes)
    cdef _make_room(self)
    cdef _head(self)
    cdef _final_head(self, Py_ssize_t head_len, int status)
    cdef _body(self)
    cdef _after_write(self, bint lent)
    cdef _replace_buffer(self)
    cdef _finished(self, bint lent)
    cdef _let_go_buffer(self, object client_transport, bint lent=*)
    cdef bint splice_possible(self)
    cdef bint _may_splice(self)
    cdef bint _new_splice(self, object src_transport, object dst_transport, long long left, object owner)
    cdef bint _start_splice(self, bint lent)
    cdef bint splice_request(self, Downstream owner)
    cdef splice_ended(self)
    cdef _drop_splice(self)
    cdef _end_splice(self)
    cdef _start_tunnel(self, Py_ssize_t head_len)
    cdef _tunnel(self)
    cdef touch(self)
    cdef pause_reading(self)
    cdef resume_reading(self)
    cdef _client_gone(self)
    cdef double _silence_timeout(self)
    cdef _fail(self, int kind, str detail)
    cdef _abort_exchange(self, str detail)
    cdef abort(self)
    cpdef close(self)
