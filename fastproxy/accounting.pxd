# Typing for the compiled form of accounting.py (Cython pure-Python mode):
# the counts are typed memoryviews over the arrays, bumped in C.
cimport cython

cdef Py_ssize_t CLASSES, BUCKETS


@cython.final
cdef class Exchange:
    cdef public bint open
    cdef public Py_ssize_t route
    cdef public Py_ssize_t server
    cdef public int status
    cdef public long long bytes_in
    cdef public long long bytes_out
    cdef public double start
    cdef public double upstream_time
    cdef public int minor


@cython.final
cdef class Accounting:
    cdef readonly Py_ssize_t routes
    cdef readonly Py_ssize_t servers
    cdef long long[::1] by_route
    cdef long long[::1] by_server
    cdef long long[::1] latency
    cdef double[::1] latency_sum
    cdef double[::1] bounds
    cdef readonly tuple arrays
    cdef public long long bytes_in
    cdef public long long bytes_out
    cdef public long long in_flight
    cdef public long long tls_handshakes
    cdef public object log

    cpdef begin(self, Exchange x, double now, int minor)
    @cython.locals(klass=Py_ssize_t, route=Py_ssize_t, server=Py_ssize_t, elapsed=double, b=Py_ssize_t,
                   n=Py_ssize_t, bounds="double[::1]")
    cpdef end(self, Exchange x, int status, double now, object peer, object method, object target)
