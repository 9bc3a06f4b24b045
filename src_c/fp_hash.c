/* Hashing and server choice for the balancers; contracts in fp_hash.h. */
#include "fp_hash.h"

#include <stdlib.h>

/* -- XXH64 ----------------------------------------------------------------
 * From the published specification (xxhash_spec.md, "XXH64 algorithm"):
 * four accumulators over 32-byte stripes, then the tail in 8, 4 and 1 byte
 * steps, then the avalanche.  Input is read little-endian on any host. */

#define P64_1 0x9E3779B185EBCA87ULL
#define P64_2 0xC2B2AE3D27D4EB4FULL
#define P64_3 0x165667B19E3779F9ULL
#define P64_4 0x85EBCA77C2B2AE63ULL
#define P64_5 0x27D4EB2F165667C5ULL

static inline uint64_t rotl64(uint64_t x, unsigned r)
{
    return (x << r) | (x >> (64 - r));
}

/* Byte by byte, so no alignment or endianness assumption; compilers turn
 * this into one load on little-endian hosts. */
static inline uint64_t read64(const uint8_t *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24 |
           (uint64_t)p[4] << 32 | (uint64_t)p[5] << 40 | (uint64_t)p[6] << 48 |
           (uint64_t)p[7] << 56;
}

static inline uint64_t read32(const uint8_t *p)
{
    return (uint64_t)p[0] | (uint64_t)p[1] << 8 | (uint64_t)p[2] << 16 | (uint64_t)p[3] << 24;
}

static inline uint64_t xxh_round(uint64_t acc, uint64_t lane)
{
    acc += lane * P64_2;
    return rotl64(acc, 31) * P64_1;
}

static inline uint64_t xxh_merge(uint64_t acc, uint64_t v)
{
    acc ^= xxh_round(0, v);
    return acc * P64_1 + P64_4;
}

static inline uint64_t xxh_avalanche(uint64_t h)
{
    h ^= h >> 33;
    h *= P64_2;
    h ^= h >> 29;
    h *= P64_3;
    h ^= h >> 32;
    return h;
}

uint64_t fp_xxh64(const void *data, size_t len, uint64_t seed)
{
    const uint8_t *p = data;
    const uint8_t *end = len ? p + len : p; /* no arithmetic on NULL */
    uint64_t h;

    if (len >= 32) {
        uint64_t v1 = seed + P64_1 + P64_2;
        uint64_t v2 = seed + P64_2;
        uint64_t v3 = seed;
        uint64_t v4 = seed - P64_1;
        const uint8_t *limit = end - 32;
        do {
            v1 = xxh_round(v1, read64(p));
            v2 = xxh_round(v2, read64(p + 8));
            v3 = xxh_round(v3, read64(p + 16));
            v4 = xxh_round(v4, read64(p + 24));
            p += 32;
        } while (p <= limit);
        h = rotl64(v1, 1) + rotl64(v2, 7) + rotl64(v3, 12) + rotl64(v4, 18);
        h = xxh_merge(h, v1);
        h = xxh_merge(h, v2);
        h = xxh_merge(h, v3);
        h = xxh_merge(h, v4);
    } else {
        h = seed + P64_5;
    }
    h += (uint64_t)len;
    while (end - p >= 8) {
        h ^= xxh_round(0, read64(p));
        h = rotl64(h, 27) * P64_1 + P64_4;
        p += 8;
    }
    if (end - p >= 4) {
        h ^= read32(p) * P64_1;
        h = rotl64(h, 23) * P64_2 + P64_3;
        p += 4;
    }
    while (p < end) {
        h ^= (uint64_t)*p * P64_5;
        h = rotl64(h, 11) * P64_1;
        p++;
    }
    return xxh_avalanche(h);
}

uint64_t fp_xxh64_u64(uint64_t value, uint64_t seed)
{
    /* The 8-byte path of fp_xxh64, without the byte loads. */
    uint64_t h = seed + P64_5 + 8;
    h ^= xxh_round(0, value);
    h = rotl64(h, 27) * P64_1 + P64_4;
    return xxh_avalanche(h);
}

/* -- jump hash, SplitMix64, primes --------------------------------------- */

int32_t fp_jump(uint64_t key, int32_t buckets)
{
    int64_t b = -1, j = 0;
    if (buckets < 1)
        return -1;
    while (j < buckets) {
        b = j;
        key = key * 2862933555777941757ULL + 1;
        /* The paper's expression; its result is < 2^31 * (b+1), so it fits. */
        j = (int64_t)((double)(b + 1) * ((double)(1LL << 31) / (double)((key >> 33) + 1)));
    }
    return (int32_t)b;
}

uint64_t fp_splitmix64(uint64_t *state)
{
    uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
    return z ^ (z >> 31);
}

int fp_is_prime(uint64_t n)
{
    if (n < 2 || n > UINT32_MAX)
        return 0;
    if (n % 2 == 0)
        return n == 2;
    for (uint64_t d = 3; d * d <= n; d += 2)
        if (n % d == 0)
            return 0;
    return 1;
}

/* -- shared choices ------------------------------------------------------ */

int fp_eligible(const fp_lb_view *v, uint32_t i)
{
    if (!v->up[i])
        return 0;
    if (v->bound <= 0.0)
        return 1;
    /* Same operand order as the Python twin: identical rounding. */
    double used = (double)v->load[i] * (double)v->total_weight;
    double allowed = v->bound * (double)(v->total_load + 1) * (double)v->weight[i];
    return used < allowed;
}

int32_t fp_rotate_pick(const fp_lb_view *v, uint32_t *cursor)
{
    uint32_t i = *cursor < v->n ? *cursor : 0;
    for (uint32_t step = 0; step < v->n; step++) {
        if (v->up[i]) {
            *cursor = i + 1 < v->n ? i + 1 : 0;
            return (int32_t)i;
        }
        i = i + 1 < v->n ? i + 1 : 0;
    }
    return -1;
}

uint32_t fp_cum_find(const uint64_t *cum, uint32_t n, uint64_t r)
{
    uint32_t lo = 0, hi = n;
    while (lo < hi) {
        uint32_t mid = lo + (hi - lo) / 2;
        if (cum[mid] > r)
            hi = mid;
        else
            lo = mid + 1;
    }
    return lo;
}

/* -- round robin --------------------------------------------------------- */

/* a.num/a.den against b.num/b.den, then server: a total order, so any
 * correct sort (qsort here, sorted() in the twin) gives the same cycle. */
static int turn_cmp(const void *pa, const void *pb)
{
    const fp_rr_turn *a = pa, *b = pb;
    uint64_t l = (uint64_t)a->num * b->den, r = (uint64_t)b->num * a->den;
    if (l != r)
        return l < r ? -1 : 1;
    if (a->server != b->server)
        return a->server < b->server ? -1 : 1;
    return a->num < b->num ? -1 : a->num > b->num;
}

uint32_t fp_rr_schedule(uint32_t *schedule, const uint32_t *weight, uint32_t n,
                        fp_rr_turn *scratch)
{
    uint32_t len = 0;
    for (uint32_t i = 0; i < n; i++)
        for (uint32_t k = 0; k < weight[i]; k++) {
            scratch[len].num = 2 * k + 1;
            scratch[len].den = 2 * weight[i];
            scratch[len].server = i;
            len++;
        }
    qsort(scratch, len, sizeof *scratch, turn_cmp);
    for (uint32_t t = 0; t < len; t++)
        schedule[t] = scratch[t].server;
    return len;
}

int32_t fp_rr_pick(const uint32_t *schedule, uint32_t len, uint32_t *cursor,
                   const fp_lb_view *v)
{
    uint32_t t = *cursor < len ? *cursor : 0;
    for (uint32_t step = 0; step < len; step++) {
        uint32_t s = schedule[t];
        t = t + 1 < len ? t + 1 : 0;
        if (v->up[s]) {
            *cursor = t;
            return (int32_t)s;
        }
    }
    return -1;
}

int32_t fp_swrr_pick(const fp_lb_view *v, int64_t *current)
{
    int32_t best = -1;
    for (uint32_t i = 0; i < v->n; i++) {
        if (!v->up[i])
            continue;
        current[i] += v->weight[i];
        if (best < 0 || current[i] > current[best])
            best = (int32_t)i;
    }
    if (best >= 0)
        current[best] -= (int64_t)v->total_weight;
    return best;
}

int32_t fp_swrr_pick_skip(const fp_lb_view *v, int64_t *current, const uint8_t *skip)
{
    int32_t best = -1;
    int64_t total = 0;
    for (uint32_t i = 0; i < v->n; i++) {
        if (!v->up[i] || (skip != NULL && skip[i]))
            continue;
        current[i] += v->weight[i];
        total += v->weight[i];
        if (best < 0 || current[i] > current[best])
            best = (int32_t)i;
    }
    if (best >= 0)
        current[best] -= total;
    return best;
}

/* -- load-aware ---------------------------------------------------------- */

/* load[a]/weight[a] against load[b]/weight[b]: -1, 0 or 1.  Loads are
 * 32-bit and weights at most 65535, so the products cannot overflow. */
static int load_cmp(const fp_lb_view *v, uint32_t a, uint32_t b)
{
    uint64_t l = (uint64_t)v->load[a] * v->weight[b], r = (uint64_t)v->load[b] * v->weight[a];
    return l < r ? -1 : l > r;
}

int32_t fp_least_conn_pick(const fp_lb_view *v, uint32_t start)
{
    int32_t best = -1;
    uint32_t i = start < v->n ? start : 0;
    for (uint32_t step = 0; step < v->n; step++) {
        if (v->up[i] && (best < 0 || load_cmp(v, i, (uint32_t)best) < 0))
            best = (int32_t)i;
        i = i + 1 < v->n ? i + 1 : 0;
    }
    return best;
}

uint32_t fp_p2c_choose(const fp_lb_view *v, const double *ewma, uint32_t a, uint32_t b)
{
    int c = load_cmp(v, a, b);
    if (c != 0)
        return c < 0 ? a : b;
    return ewma[b] < ewma[a] ? b : a;
}

/* -- ring ---------------------------------------------------------------- */

uint64_t fp_ring_point(uint64_t name_hash, uint32_t replica)
{
    return fp_xxh64_u64(replica, name_hash);
}

static int ring_cmp(const void *pa, const void *pb)
{
    const fp_ring_entry *a = pa, *b = pb;
    if (a->point != b->point)
        return a->point < b->point ? -1 : 1;
    return a->server < b->server ? -1 : a->server > b->server;
}

void fp_ring_sort(fp_ring_entry *ring, size_t n)
{
    qsort(ring, n, sizeof *ring, ring_cmp);
}

size_t fp_ring_find(const fp_ring_entry *ring, size_t n, uint64_t h)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (ring[mid].point < h)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n ? lo : 0;
}

int32_t fp_ring_pick(const fp_ring_entry *ring, size_t n, uint64_t h, const fp_lb_view *v)
{
    size_t i = fp_ring_find(ring, n, h);
    for (size_t step = 0; step < n; step++) {
        uint32_t s = ring[i].server;
        if (fp_eligible(v, s))
            return (int32_t)s;
        i = i + 1 < n ? i + 1 : 0;
    }
    return -1;
}

/* -- Maglev -------------------------------------------------------------- */

void fp_maglev_permutation(const void *name, size_t len, uint32_t m, uint32_t *offset,
                           uint32_t *skip)
{
    *offset = (uint32_t)(fp_xxh64(name, len, FP_SEED_MAGLEV_OFFSET) % m);
    *skip = (uint32_t)(fp_xxh64(name, len, FP_SEED_MAGLEV_SKIP) % (m - 1) + 1);
}

int fp_maglev_fill(int32_t *table, uint32_t m, const uint32_t *offset, const uint32_t *skip,
                   const uint32_t *weight, uint32_t n, uint32_t *next, uint32_t *count)
{
    uint32_t max_weight = 0, filled = 0;
    if (n == 0 || n > INT32_MAX || !fp_is_prime(m))
        return -1;
    for (uint32_t i = 0; i < n; i++) {
        if (weight[i] == 0 || offset[i] >= m || skip[i] == 0 || skip[i] >= m)
            return -1;
        if (weight[i] > max_weight)
            max_weight = weight[i];
        next[i] = 0;
        count[i] = 0;
    }
    for (uint32_t s = 0; s < m; s++)
        table[s] = -1;
    /* The heaviest server takes a slot every round, so this ends; each
     * server walks a full permutation of the m slots (m prime), so it finds
     * a free one in fewer than m steps overall. */
    for (uint64_t round = 1;; round++) {
        for (uint32_t i = 0; i < n; i++) {
            if ((uint64_t)count[i] * max_weight >= round * weight[i])
                continue;
            uint32_t slot;
            do {
                slot = (uint32_t)(((uint64_t)offset[i] + (uint64_t)next[i] * skip[i]) % m);
                next[i]++;
            } while (table[slot] >= 0);
            table[slot] = (int32_t)i;
            count[i]++;
            if (++filled == m)
                return 0;
        }
    }
}

int32_t fp_maglev_pick(const int32_t *table, uint32_t m, uint64_t h, const fp_lb_view *v)
{
    uint32_t slot = m ? (uint32_t)(h % m) : 0;
    for (uint32_t step = 0; step < m; step++) {
        int32_t s = table[slot];
        if (s >= 0 && fp_eligible(v, (uint32_t)s))
            return s;
        slot = slot + 1 < m ? slot + 1 : 0;
    }
    return -1;
}

/* -- jump ---------------------------------------------------------------- */

int32_t fp_jump_pick(const uint32_t *owner, uint32_t buckets, uint64_t h, const fp_lb_view *v)
{
    if (buckets == 0 || buckets > INT32_MAX || v->n == 0)
        return -1;
    uint32_t first = owner[fp_jump(h, (int32_t)buckets)];
    if (fp_eligible(v, first))
        return (int32_t)first;
    for (uint64_t attempt = 1; attempt <= FP_JUMP_PROBES; attempt++) {
        uint32_t s = owner[fp_jump(fp_xxh64_u64(h, attempt), (int32_t)buckets)];
        if (fp_eligible(v, s))
            return (int32_t)s;
    }
    uint32_t s = first;
    for (uint32_t step = 1; step < v->n; step++) {
        s = s + 1 < v->n ? s + 1 : 0;
        if (fp_eligible(v, s))
            return (int32_t)s;
    }
    return -1;
}
