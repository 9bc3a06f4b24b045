# Typing for the compiled form of rewrite.py (Cython pure-Python mode).
cimport cython
from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_FromStringAndSize
from libc.string cimport memcpy

from fastproxy.heads cimport ParsedHead
from fastproxy.outgoing cimport Outgoing

cdef int KEEP, DROP, LOOK
cdef int H_OTHER, H_HOST, H_UPGRADE, H_CONNECTION, H_TRANSFER_ENCODING
cdef int H_X_FORWARDED_FOR, H_X_FORWARDED_PROTO, H_X_FORWARDED_HOST, H_FORWARDED, H_X_REQUEST_ID
cdef unsigned int F_CONN_OTHER
cdef int OUT_CHUNK, OUT_PASS
cdef tuple REQUEST_ACTIONS
cdef bytes _CRLF


@cython.final
cdef class HeaderEdits:
    cdef readonly frozenset drop
    cdef readonly bytes add


@cython.final
cdef class Peer:
    cdef readonly str ip
    cdef readonly bytes ip_b
    cdef readonly bytes for_b
    cdef readonly bint trusted
    cdef readonly bytes proto_b
    cdef public str client
    cdef public bytes client_b
    cdef public bytes request_id
    cdef bytes block
    cdef bytes block_host
    cdef readonly bint tls
    cdef readonly str subject
    cdef readonly str cn
    cdef readonly frozenset drop_names
    cdef readonly bytes subject_line


@cython.locals(i=Py_ssize_t)
cpdef frozenset connection_names(ParsedHead head, bytearray buf)
cdef bytes _forwarded_host(bytes host)
cdef frozenset _with_drops(frozenset names, frozenset first, frozenset second)
@cython.locals(lines=list)
cdef bytes _forwarding_lines(Peer peer, bytes host, bytes xff, bytes fwd, bint kept_proto, bint kept_host)


@cython.final
cdef class RequestRewriter:
    cdef readonly object trusted
    cdef readonly bint request_id
    cdef bytes id_prefix
    cdef unsigned long long id_count

    cpdef bytes new_request_id(self)
    @cython.locals(i=Py_ssize_t, hid=int, action=int, run=Py_ssize_t, keep=bint, kept_proto=bint,
                   kept_host=bint, actions=tuple)
    cpdef head(self, ParsedHead head, bytearray buf, Py_ssize_t head_len, bytes method, bytes target,
               bytes host, bytes authority, bint upgrade, bytes fallback_host, Peer peer, Outgoing outgoing,
               HeaderEdits edits=*)
    cdef _forwarding(self, bytes host, bytes authority, bytes xff, bytes fwd, bytes rid, bint kept_proto,
                     bint kept_host, bint upgrade, bytes fallback_host, Peer peer, Outgoing outgoing)

    cdef inline bytes _format_id(self):
        # id_prefix (16 hex digits) then id_count in 16 hex digits.
        cdef bytes out = PyBytes_FromStringAndSize(NULL, 32)
        cdef char *p = PyBytes_AS_STRING(out)
        cdef unsigned long long v = self.id_count
        cdef int i
        memcpy(p, PyBytes_AS_STRING(self.id_prefix), 16)
        for i in range(31, 15, -1):
            p[i] = b"0123456789abcdef"[v & 15]
            v >>= 4
        return out


@cython.final
cdef class ResponseRewriter:
    cdef readonly tuple actions
    cdef readonly frozenset hide_names

    @cython.locals(i=Py_ssize_t, hid=int, action=int, run=Py_ssize_t, line_end=Py_ssize_t, count=Py_ssize_t)
    cpdef head(self, ParsedHead head, bytearray buf, Py_ssize_t head_len, int status, bint keep, bint client11,
               int out, Outgoing outgoing, HeaderEdits edits=*)
