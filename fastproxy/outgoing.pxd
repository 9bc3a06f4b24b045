# Typing for the compiled form of outgoing.py (Cython pure-Python mode), and
# its C buffer: small pieces are copied into ``buffer`` (a bytearray used as
# raw memory, so Python frees it), its first ``used`` bytes being gathered.
cimport cython
from cpython.bytearray cimport PyByteArray_AS_STRING, PyByteArray_GET_SIZE, PyByteArray_Resize
from cpython.bytes cimport PyBytes_FromStringAndSize, PyBytes_GET_SIZE
from libc.string cimport memcpy

cdef Py_ssize_t _LARGE


@cython.final
cdef class Sink:
    cdef readonly object transport
    cdef readonly object is_closing
    cdef readonly object write
    cdef readonly object writelines

    cpdef bint send_bytes(self, bytes data) except -1


@cython.final
cdef class Outgoing:
    cdef readonly list pieces
    cdef readonly Py_ssize_t size
    cdef bint by_ref
    cdef readonly bint lent
    cdef list small
    cdef bytearray buffer
    cdef Py_ssize_t used

    cpdef add(self, bytes data)
    cpdef add_slice(self, bytearray buf, Py_ssize_t start, Py_ssize_t end)
    cdef _seal(self)
    cpdef clear(self)
    cpdef bytes take(self)
    cpdef bint send(self, object transport) except -1
    cpdef bint send_to(self, Sink sink) except -1

    cdef inline _init_buffer(self):
        self.buffer = bytearray(4096)
        self.used = 0

    cdef inline int _copy(self, object source, Py_ssize_t start, Py_ssize_t n) except -1:
        # source: bytes or bytearray (its type is checked by the caller's signature).
        cdef const char *src
        cdef Py_ssize_t room = PyByteArray_GET_SIZE(self.buffer)
        if self.used + n > room:
            while room < self.used + n:
                room *= 2
            PyByteArray_Resize(self.buffer, room)
        if type(source) is bytes:
            src = <const char *>(<bytes>source)
        else:
            src = PyByteArray_AS_STRING(source)
        memcpy(PyByteArray_AS_STRING(self.buffer) + self.used, src + start, n)
        self.used += n
        return 0

    # Fast path: add() for compiled callers, inlined into them (no call, no
    # None result); from source, put is add (outgoing.py).
    cdef inline int put(self, bytes data) except -1:
        if data is None:
            raise TypeError("Outgoing.put() takes bytes, not None")
        self._copy(data, 0, PyBytes_GET_SIZE(data))
        self.size += PyBytes_GET_SIZE(data)
        return 0

    cdef inline bytes _small_bytes(self):
        return PyBytes_FromStringAndSize(PyByteArray_AS_STRING(self.buffer), self.used)

