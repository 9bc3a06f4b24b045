/* Hashing and server choice for the balancers (fastproxy/balancers).
 *
 * Theory of operation.  A balancer keeps, per server i of an upstream,
 * whether it is up, its in-flight request count and its weight; these arrays
 * are owned by the caller and described to every choice by an fp_lb_view.
 * The functions here only read them: no allocation, no global state, no I/O.
 * Tables (ring, Maglev, round-robin schedule) are built once into memory the
 * caller provides, and looked up many times.
 *
 * Every value computed here is reproduced bit for bit by the pure-Python twin
 * (fastproxy/balancers/_pycore.py), so the same key picks the same server in
 * every worker, with or without the extension.  Changing a seed, a constant
 * or an order of operations changes which server every key maps to: treat
 * them as a stable format.
 *
 *   fp_xxh64          XXH64 (Yann Collet), from its published specification
 *   fp_jump           jump consistent hash (Lamping & Veach, 2014)
 *   fp_splitmix64     SplitMix64 generator (Steele, Lea & Flood, 2014)
 *   fp_ring_*         ketama-style ring: sorted 64-bit points, binary search
 *   fp_maglev_*       Maglev lookup table (Eisenbud et al., NSDI 2016)
 *   fp_*_pick         a choice among the servers the view allows
 *
 * Bounded loads (Mirrokni, Thorup & Zadimoghaddam, 2018): with a factor
 * c >= 1, server i may take one more request only while
 *     load[i] * total_weight < c * (total_load + 1) * weight[i]
 * i.e. its load stays within c times its weighted share of the live load,
 * the new request included.  Some up server always qualifies, because the
 * shares add up to at least total_load + 1.  The comparison is done in
 * double precision (exact below 2^53, and identical in Python).
 */
#ifndef FP_HASH_H
#define FP_HASH_H

#include <stddef.h>
#include <stdint.h>

/* Seeds of the derived hashes; part of the stable format above. */
#define FP_SEED_KEY 0u           /* request keys: plain XXH64 */
#define FP_SEED_RING 0x52494e47u /* a server's ring points */
#define FP_SEED_MAGLEV_OFFSET 0x4d4f4646u
#define FP_SEED_MAGLEV_SKIP 0x4d534b50u
#define FP_JUMP_PROBES 8         /* rehashes before a linear search, jump */

/* One point of the ring; the array is sorted by (point, server). */
typedef struct fp_ring_entry {
    uint64_t point;
    uint32_t server;
    uint32_t reserved; /* zero; keeps the layout explicit */
} fp_ring_entry;

/* What a choice may see of the servers; all arrays have n entries.
 * total_load and total_weight count up servers only. */
typedef struct fp_lb_view {
    const uint8_t *up;       /* nonzero: may be chosen */
    const uint32_t *load;    /* requests in flight */
    const uint32_t *weight;  /* >= 1 */
    uint32_t n;
    uint64_t total_load;
    uint64_t total_weight;
    double bound;            /* bounded-load factor c >= 1.0, or 0: none */
} fp_lb_view;

/* -- hashing ------------------------------------------------------------ */

/* XXH64 of len bytes at data (data may be NULL when len is 0). */
uint64_t fp_xxh64(const void *data, size_t len, uint64_t seed);

/* XXH64 of the 8 little-endian bytes of value: a rehash of a 64-bit hash. */
uint64_t fp_xxh64_u64(uint64_t value, uint64_t seed);

/* Jump consistent hash: the bucket in [0, buckets) of key, or -1 if
 * buckets < 1.  Growing buckets from b to b+1 moves only keys that land in
 * bucket b.  Uses IEEE double division exactly as the paper's code does. */
int32_t fp_jump(uint64_t key, int32_t buckets);

/* SplitMix64: advances *state and returns the next 64-bit output. */
uint64_t fp_splitmix64(uint64_t *state);

/* 1 if n is prime, else 0; for n < 2^32 (larger n: 0). */
int fp_is_prime(uint64_t n);

/* -- choices shared by the policies -------------------------------------- */

/* 1 if server i is up and, with a bound, under it (see the header comment). */
int fp_eligible(const fp_lb_view *v, uint32_t i);

/* The first up server at or after *cursor, cyclically, advancing *cursor
 * past it; -1 (cursor unchanged) if none is up. */
int32_t fp_rotate_pick(const fp_lb_view *v, uint32_t *cursor);

/* Index of the first cum[i] > r in the increasing array cum[0..n), n when
 * there is none: with cum the running sums of weights and r below the
 * total, the weighted choice of r. */
uint32_t fp_cum_find(const uint64_t *cum, uint32_t n, uint64_t r);

/* -- round robin ------------------------------------------------------- */

/* One turn of a round-robin cycle while it is built. */
typedef struct fp_rr_turn {
    uint32_t num; /* 2k + 1 for the k-th turn */
    uint32_t den; /* 2 * weight */
    uint32_t server;
} fp_rr_turn;

/* Fills schedule[0..W), W the sum of the weights, with a static weighted
 * cycle: the k-th turn of server i (0 <= k < weight[i]) sits at
 * (2k+1)/(2 weight[i]) of the cycle, ties by server index; scratch has W
 * entries.  Equal weights give plain rotation 0, 1, ..., n-1.  Returns W. */
uint32_t fp_rr_schedule(uint32_t *schedule, const uint32_t *weight, uint32_t n,
                        fp_rr_turn *scratch);

/* The next entry of schedule[0..len) at or after *cursor whose server is
 * up, advancing *cursor past it; -1 if none is up. */
int32_t fp_rr_pick(const uint32_t *schedule, uint32_t len, uint32_t *cursor,
                   const fp_lb_view *v);

/* Smooth weighted round robin over up servers: adds each weight to
 * current[i], picks the largest current (lowest index on ties) and takes
 * total_weight off it.  Down servers' current is left alone.  -1 if none. */
int32_t fp_swrr_pick(const fp_lb_view *v, int64_t *current);

/* fp_swrr_pick over the up servers whose skip[i] is zero: a retry's pick
 * that leaves the tried servers out without disturbing the sequence (their
 * current is left alone and the weight taken off is the sum of the servers
 * walked), as nginx's tried-aware walk does.  skip NULL: fp_swrr_pick. */
int32_t fp_swrr_pick_skip(const fp_lb_view *v, int64_t *current, const uint8_t *skip);

/* -- load-aware -------------------------------------------------------- */

/* Weighted least connections: the up server with the smallest
 * load/weight, scanning from start cyclically so ties rotate; -1 if none. */
int32_t fp_least_conn_pick(const fp_lb_view *v, uint32_t start);

/* Power of two choices between servers a and b: the smaller load/weight,
 * then the smaller ewma (latency), then a. */
uint32_t fp_p2c_choose(const fp_lb_view *v, const double *ewma, uint32_t a, uint32_t b);

/* -- consistent hashing ------------------------------------------------ */

/* The ring point of a server's replica r; name_hash is
 * fp_xxh64(name, len, FP_SEED_RING). */
uint64_t fp_ring_point(uint64_t name_hash, uint32_t replica);

/* Sorts ring[0..n) by (point, server), in place. */
void fp_ring_sort(fp_ring_entry *ring, size_t n);

/* Index of the first entry with point >= h, or 0 past the end (the ring
 * wraps); 0 if n is 0. */
size_t fp_ring_find(const fp_ring_entry *ring, size_t n, uint64_t h);

/* The server owning h: the first eligible owner clockwise from h (so keys of
 * a down or full server go to the next distinct choice); -1 if none. */
int32_t fp_ring_pick(const fp_ring_entry *ring, size_t n, uint64_t h, const fp_lb_view *v);

/* A server's Maglev permutation for a prime table size m >= 2:
 * offset in [0, m), skip in [1, m). */
void fp_maglev_permutation(const void *name, size_t len, uint32_t m, uint32_t *offset,
                           uint32_t *skip);

/* Fills table[0..m) with server indexes (m prime, n >= 1, weights >= 1):
 * in round r = 1, 2, ... server i takes its next free preferred slot while
 * count[i] * max_weight < r * weight[i], servers in index order, until the
 * table is full.  next and count are n-entry scratch arrays.  Returns 0, or
 * -1 (table untouched) on bad arguments. */
int fp_maglev_fill(int32_t *table, uint32_t m, const uint32_t *offset, const uint32_t *skip,
                   const uint32_t *weight, uint32_t n, uint32_t *next, uint32_t *count);

/* The server of slot h % m, or of the first slot after it whose server is
 * eligible; -1 if none. */
int32_t fp_maglev_pick(const int32_t *table, uint32_t m, uint64_t h, const fp_lb_view *v);

/* Jump hash over weighted buckets: owner[0..buckets) maps buckets to
 * servers (server i owns weight[i] consecutive buckets).  If the owner of h
 * is not eligible, h is rehashed (fp_xxh64_u64(h, attempt)) up to
 * FP_JUMP_PROBES times, then the servers after the first owner are tried in
 * order; -1 if none is eligible. */
int32_t fp_jump_pick(const uint32_t *owner, uint32_t buckets, uint64_t h, const fp_lb_view *v);

#endif /* FP_HASH_H */
