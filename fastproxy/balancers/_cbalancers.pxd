# The balancers as C types, for Cython callers on the hot path (the data
# path cimports these and calls the cdef methods: no Python call, no dict).
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t

from fastproxy.balancers._fp_hash cimport fp_lb_view, fp_ring_entry


cdef class Balancer:
    cdef fp_lb_view view
    cdef uint8_t *up
    cdef uint32_t *loads
    cdef uint32_t *weight
    cdef double *ewma
    cdef uint32_t cursor
    cdef readonly Py_ssize_t size
    cdef readonly tuple names
    cdef readonly tuple weights
    cdef tuple raw_names

    # Fast path: the server index, or -1 if none is up.
    cdef int pick_c(self) noexcept
    cdef int pick_hash_c(self, uint64_t h) noexcept
    cdef int pick_key_c(self, const unsigned char *key, size_t length) noexcept
    # i must be < size (unchecked).
    cdef void acquire_c(self, uint32_t i) noexcept
    cdef void release_c(self, uint32_t i, double latency) noexcept
    cdef int _changed(self) except -1
    cdef int _check(self, Py_ssize_t i) except -1


cdef class RoundRobin(Balancer):
    cdef uint32_t *sched
    cdef uint32_t sched_len


cdef class WeightedRoundRobin(Balancer):
    cdef int64_t *current


cdef class _Sampling(Balancer):
    cdef uint32_t *live
    cdef uint64_t *cum
    cdef uint32_t n_live
    cdef uint64_t state


cdef class Random(_Sampling):
    pass


cdef class PowerOfTwoChoices(_Sampling):
    pass


cdef class LeastConn(Balancer):
    pass


cdef class _Hashing(Balancer):
    pass


cdef class RingHash(_Hashing):
    cdef fp_ring_entry *entries
    cdef size_t ring_len
    cdef readonly int virtual_nodes
    cdef readonly double bounded_load


cdef class MaglevHash(_Hashing):
    cdef int32_t *slots
    cdef readonly uint32_t table_size
    cdef readonly double bounded_load


cdef class JumpHash(_Hashing):
    cdef uint32_t *owner
    cdef uint32_t buckets


cdef class KeyExtractor:
    cdef readonly int kind
    cdef readonly bytes name
    cdef readonly str spec
