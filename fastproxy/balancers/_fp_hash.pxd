# Mirror of src_c/fp_hash.h: the only Cython file that knows its C layout.
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t


cdef extern from "fp_hash.h" nogil:
    uint64_t FP_SEED_KEY
    uint64_t FP_SEED_RING

    ctypedef struct fp_ring_entry:
        uint64_t point
        uint32_t server
        uint32_t reserved

    ctypedef struct fp_lb_view:
        const uint8_t *up
        const uint32_t *load
        const uint32_t *weight
        uint32_t n
        uint64_t total_load
        uint64_t total_weight
        double bound

    ctypedef struct fp_rr_turn:
        uint32_t num
        uint32_t den
        uint32_t server

    uint64_t fp_xxh64(const void *data, size_t len, uint64_t seed)
    uint64_t fp_xxh64_u64(uint64_t value, uint64_t seed)
    int32_t fp_jump(uint64_t key, int32_t buckets)
    uint64_t fp_splitmix64(uint64_t *state)
    int fp_is_prime(uint64_t n)

    int fp_eligible(const fp_lb_view *v, uint32_t i)
    int32_t fp_rotate_pick(const fp_lb_view *v, uint32_t *cursor)
    uint32_t fp_cum_find(const uint64_t *cum, uint32_t n, uint64_t r)

    uint32_t fp_rr_schedule(uint32_t *schedule, const uint32_t *weight, uint32_t n,
                            fp_rr_turn *scratch)
    int32_t fp_rr_pick(const uint32_t *schedule, uint32_t len, uint32_t *cursor,
                       const fp_lb_view *v)
    int32_t fp_swrr_pick(const fp_lb_view *v, int64_t *current)
    int32_t fp_swrr_pick_skip(const fp_lb_view *v, int64_t *current, const uint8_t *skip)

    int32_t fp_least_conn_pick(const fp_lb_view *v, uint32_t start)
    uint32_t fp_p2c_choose(const fp_lb_view *v, const double *ewma, uint32_t a, uint32_t b)

    uint64_t fp_ring_point(uint64_t name_hash, uint32_t replica)
    void fp_ring_sort(fp_ring_entry *ring, size_t n)
    size_t fp_ring_find(const fp_ring_entry *ring, size_t n, uint64_t h)
    int32_t fp_ring_pick(const fp_ring_entry *ring, size_t n, uint64_t h, const fp_lb_view *v)

    void fp_maglev_permutation(const void *name, size_t len, uint32_t m, uint32_t *offset,
                               uint32_t *skip)
    int fp_maglev_fill(int32_t *table, uint32_t m, const uint32_t *offset, const uint32_t *skip,
                       const uint32_t *weight, uint32_t n, uint32_t *next, uint32_t *count)
    int32_t fp_maglev_pick(const int32_t *table, uint32_t m, uint64_t h, const fp_lb_view *v)

    int32_t fp_jump_pick(const uint32_t *owner, uint32_t buckets, uint64_t h, const fp_lb_view *v)
