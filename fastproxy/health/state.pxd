# Typing for the compiled form of health/state.py (Cython pure-Python mode):
# the data path calls response, failed, retries_on and spend_retry as C
# methods, once per exchange.
cimport cython

cdef Py_ssize_t OUT_ACTIVE, OUT_PASSIVE, STATUS_TABLE


@cython.final
cdef class UpstreamHealth:
    cdef readonly object group
    cdef readonly str name
    cdef readonly tuple addresses
    cdef readonly object check
    cdef public object loop
    # Passive checks.
    cdef readonly bint passive_on
    cdef readonly Py_ssize_t max_fails
    cdef bytearray bad_status
    cdef readonly double base_ejection
    cdef readonly double max_ejection
    cdef readonly Py_ssize_t max_ejected
    # Retries.
    cdef readonly Py_ssize_t tries
    cdef int fail_closed
    cdef unsigned int retry_kinds
    cdef bytearray retry_status
    cdef readonly double budget_ratio
    cdef readonly double budget_reserve
    cdef readonly Py_ssize_t requests_now
    cdef readonly Py_ssize_t requests_before
    cdef readonly Py_ssize_t retries_now
    cdef readonly Py_ssize_t retries_before
    cdef readonly Py_ssize_t retries
    cdef readonly Py_ssize_t retries_refused
    cdef object _roller
    # Per server.
    cdef readonly list fails
    cdef readonly list failures
    cdef readonly list level
    cdef readonly list ejections
    cdef readonly list ejected_until
    cdef readonly list retried_from
    cdef list _timers
    cdef readonly list check_passes
    cdef readonly list check_fails
    cdef readonly list checks_passed
    cdef readonly list checks_failed
    cdef readonly list last_check
    cdef readonly list transitions
    cdef readonly object checker

    cpdef bint response(self, Py_ssize_t i, int status, Py_ssize_t tries) except -1
    cpdef failed(self, Py_ssize_t i, int kind, bint reused, Py_ssize_t tries)
    cpdef bint retries_on(self, int kind) except -1
    cpdef bint spend_retry(self, Py_ssize_t i) except -1
    cdef _failure(self, Py_ssize_t i)
