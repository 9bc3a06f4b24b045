# Typing for the compiled form of deadline.py (Cython pure-Python mode), and
# its C clock: CLOCK_MONOTONIC, which time.monotonic() reads on Linux.
cimport cython
from posix.time cimport CLOCK_MONOTONIC, clock_gettime, timespec


@cython.final
cdef class Deadline:
    cdef object loop
    cdef object clock
    cdef object callback
    cdef readonly object handle
    cdef double armed_at
    cdef readonly double when

    cpdef set(self, double when)
    cpdef set_in(self, double seconds)
    cpdef double now(self) except? -1.0
    cpdef clear(self)
    cpdef cancel(self)
    cpdef close(self)

    cdef inline double _monotonic(self) noexcept:
        cdef timespec ts
        clock_gettime(CLOCK_MONOTONIC, &ts)
        return ts.tv_sec + ts.tv_nsec * 1e-9
