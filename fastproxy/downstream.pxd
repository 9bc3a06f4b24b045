# Typing for the compiled form of downstream.py (Cython pure-Python mode).
cimport cython
from fastproxy.accounting cimport Exchange
from fastproxy.balance cimport Group
from fastproxy.context cimport ProxyContext
from fastproxy.deadline cimport Deadline
from fastproxy.health.state cimport UpstreamHealth
from fastproxy.heads cimport ParsedHead
from fastproxy.outgoing cimport Sink
from fastproxy.relay cimport BodyRelay
from fastproxy.rewrite cimport Peer
from fastproxy.route cimport Route
from fastproxy.upstream.connection cimport UpstreamConnection
from fastproxy.upstream.pool cimport Pool

cdef int S_IDLE, S_CONNECT, S_BODY, S_WAIT, S_TUNNEL, S_LINGER, S_CLOSED
cdef int R_UPSTREAM, R_CONNECT, R_FULL, R_SPLICE
cdef Py_ssize_t SPLICE_MIN_BYTES
cdef double LINGER_TOTAL, LINGER_QUIET
cdef int BODY_LENGTH, OUT_PASS
cdef int FAIL_BAD_RESPONSE, FAIL_CLOSED, FAIL_CONNECT, FAIL_CONNECT_TIMEOUT, FAIL_READ_TIMEOUT
cdef int FAIL_WRITE_TIMEOUT, FAIL_STATUS, KEY_NONE
cdef int H_HOST
cdef unsigned int F_KEEP_ALIVE, F_UPGRADE, REQ_HEAD
cdef bint _idempotent(bytes method)
cdef Py_ssize_t REPLAY_BELOW
cdef dict _FAILURES


cdef class Downstream:
    cdef readonly int blocked
    cdef bytearray buf
    cdef readonly bint client11
    cdef bint client_eof
    cdef ProxyContext ctx
    cdef readonly Deadline deadline
    cdef Py_ssize_t end
    cdef double exchange_since
    cdef Group group
    cdef ParsedHead head
    cdef bint head_request
    cdef double head_since
    cdef bytes host_seen
    cdef bytes host_seen_key
    cdef readonly bint keep_alive
    cdef double linger_until
    cdef object loop
    cdef bytes method
    cdef Py_ssize_t next_server
    cdef readonly Peer peer
    cdef bytes pending
    cdef Pool pool
    cdef BodyRelay relay
    cdef bytes replay
    cdef readonly bint req_done
    cdef readonly object resp_edits
    cdef bint resp_started
    cdef bint retried
    cdef bint host_filled
    cdef bytes retry_key
    cdef Py_ssize_t server
    cdef readonly Py_ssize_t served
    cdef readonly Sink sink
    cdef bint splice_on_upstream
    cdef Py_ssize_t start
    cdef int state
    cdef public str subject_header
    cdef bytes target
    cdef readonly object transport
    cdef object tried
    cdef Py_ssize_t tries
    cdef double tunnel_latency
    cdef readonly bint upgrade
    cdef UpstreamConnection upstream
    cdef bint write_paused
    cdef readonly Exchange x

    # cpdef: the event loop's argument is taken as a C integer, not boxed per addition.
    cpdef buffer_updated(self, Py_ssize_t nbytes)
    cdef _make_room(self)
    cdef _read_head(self)
    cdef _request(self, Py_ssize_t head_len)
    @cython.locals(authority=bytes, first=int, group=Group, i=Py_ssize_t, name=bytes, path=bytes, pool=Pool,
                   route=Route)
    cdef _route(self, Py_ssize_t head_len, bytes host)
    cdef _answer(self, Route route, bytes path)
    cdef _dispatch(self, Py_ssize_t head_len, Pool pool)
    cdef _to_pool(self, Pool pool)
    cdef _send_head(self, UpstreamConnection conn, double now=*)
    cdef _after_write(self, object transport, bint lent)
    cdef _replace_buffer(self)
    cdef _read_body(self)
    cdef bint _may_splice(self, UpstreamConnection conn)
    cdef bint _splice_body(self, UpstreamConnection conn)
    cdef _splice_upstream_takes(self)
    cdef _body_failed(self, int status, str message, str detail=*)
    cdef upstream_ready(self, UpstreamConnection conn)
    @cython.locals(health=UpstreamHealth)
    cdef upstream_failed(self, UpstreamConnection conn, int kind, str detail)
    @cython.locals(health=UpstreamHealth)
    cdef bint status_failed(self, int status) except -1
    @cython.locals(health=UpstreamHealth)
    cdef bint _retry_elsewhere(self, int kind) except -1
    @cython.locals(bit=object, health=UpstreamHealth)
    cdef Py_ssize_t _other_server(self) except -2
    cdef _retry_to(self, Py_ssize_t i)
    cdef upstream_aborted(self, str detail)
    cdef response_started(self, int status)
    cdef response_done(self, double now=*)
    cdef upstream_full(self)
    cdef upstream_drained(self)
    cdef tunnel_started(self)
    cdef _tunnel(self)
    cdef tunnel_closed(self, object exc)
    cdef _block(self, int reason)
    cdef _unblock(self, int reason)
    cdef _reject(self, int status, str message, str detail=*)
    cdef _close(self)
    cdef _linger(self)
    cdef _abort(self)
    cdef _release_server(self, double latency)
    cdef _count_exchange(self, int status, double now=*)
    cdef _let_go_buffer(self)
