# Typing for the compiled form of counters.py (Cython pure-Python mode):
# plain C integers, bumped from the other compiled modules without Python objects.
cimport cython

@cython.final
cdef class Counters:
    cdef public Py_ssize_t client_aborts
    cdef public Py_ssize_t client_timeouts
    cdef public Py_ssize_t connections_accepted
    cdef public Py_ssize_t connections_active
    cdef public Py_ssize_t error_responses
    cdef public Py_ssize_t parse_errors
    cdef public Py_ssize_t requests
    cdef public Py_ssize_t responses
    cdef public Py_ssize_t splices
    cdef public Py_ssize_t tunnels
    cdef public Py_ssize_t upstream_aborts
    cdef public Py_ssize_t upstream_bad_responses
    cdef public Py_ssize_t upstream_connect_failures
    cdef public Py_ssize_t upstream_connects
    cdef public Py_ssize_t upstream_retries
    cdef public Py_ssize_t upstream_reuses
    cdef public Py_ssize_t upstream_timeouts
