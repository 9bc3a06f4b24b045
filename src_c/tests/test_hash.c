/*
 * test_hash.c - tests of fp_hash.c (hashing and server choice), built under
 * ASan/UBSan by hash.mk.  Standalone: it does not link the parser.
 *
 * Hashed inputs are copied to end right before a PROT_NONE page, so reading
 * one byte past the length given crashes the test.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "fp_hash.h"

static long passed, failed;

static void check(int ok, const char *file, int line, const char *expr)
{
    if (ok) {
        passed++;
        return;
    }
    failed++;
    fprintf(stderr, "%s:%d: FAILED: %s\n", file, line, expr);
}
#define CHECK(e) check((e) != 0, __FILE__, __LINE__, #e)
#define CHECK_EQ(got, want)                                                                     \
    do {                                                                                        \
        unsigned long long g_ = (unsigned long long)(got), w_ = (unsigned long long)(want);     \
        if (g_ != w_)                                                                           \
            fprintf(stderr, "  got 0x%016llx (%lld), want 0x%016llx (%lld)\n", g_, (long long)g_, \
                    w_, (long long)w_);                                                         \
        check(g_ == w_, __FILE__, __LINE__, #got " == " #want);                                 \
    } while (0)

/* -- guard page ------------------------------------------------------------ */

static unsigned char *arena;
static size_t page;

static void guard_init(void)
{
    page = (size_t)sysconf(_SC_PAGESIZE);
    arena = mmap(NULL, 2 * page, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (arena == MAP_FAILED || mprotect(arena + page, page, PROT_NONE) != 0) {
        perror("guard page");
        exit(2);
    }
}

/* n bytes of data, copied to end right before the guard page (n <= page). */
static const void *guarded(const void *data, size_t n)
{
    unsigned char *at = arena + page - n;
    if (n)
        memcpy(at, data, n);
    return at;
}

/* -- XXH64: the published sanity vectors ---------------------------------- */

#define PRIME32 2654435761U
#define PRIME64 11400714785074694797ULL

/* The specification's sanity buffer: byte i is the top byte of
 * PRIME32 * PRIME64^i (mod 2^64). */
static void sanity_buffer(unsigned char *buf, size_t n)
{
    uint64_t gen = PRIME32;
    for (size_t i = 0; i < n; i++) {
        buf[i] = (unsigned char)(gen >> 56);
        gen *= PRIME64;
    }
}

static void test_xxh64_vectors(void)
{
    static const struct {
        size_t len;
        uint64_t seed;
        uint64_t want;
    } vectors[] = {
        {0, 0, 0xEF46DB3751D8E999ULL},   {0, PRIME32, 0xAC75FDA2929B17EFULL},
        {1, 0, 0xE934A84ADB052768ULL},   {1, PRIME32, 0x5014607643A9B4C3ULL},
        {4, 0, 0x9136A0DCA57457EEULL},   {14, 0, 0x8282DCC4994E35C8ULL},
        {14, PRIME32, 0xC3BD6BF63DEB6DF0ULL}, {222, 0, 0xB641AE8CB691C174ULL},
        {222, PRIME32, 0x20CB8AB7AE10C14AULL},
    };
    unsigned char buf[222];
    sanity_buffer(buf, sizeof buf);
    for (size_t i = 0; i < sizeof vectors / sizeof vectors[0]; i++) {
        const void *in = guarded(buf, vectors[i].len);
        CHECK_EQ(fp_xxh64(in, vectors[i].len, vectors[i].seed), vectors[i].want);
    }
    CHECK_EQ(fp_xxh64(NULL, 0, 0), 0xEF46DB3751D8E999ULL);
    /* Short strings, as commonly quoted for XXH64 with seed 0. */
    CHECK_EQ(fp_xxh64(guarded("a", 1), 1, 0), 0xD24EC4F1A98C6E5BULL);
    CHECK_EQ(fp_xxh64(guarded("abc", 3), 3, 0), 0x44BC2CF5AD770999ULL);
}

static void test_xxh64_u64_is_xxh64_of_le_bytes(void)
{
    uint64_t state = 1;
    for (int i = 0; i < 1000; i++) {
        uint64_t v = fp_splitmix64(&state), seed = fp_splitmix64(&state) >> (i % 64);
        unsigned char le[8];
        for (int b = 0; b < 8; b++)
            le[b] = (unsigned char)(v >> (8 * b));
        if (fp_xxh64_u64(v, seed) != fp_xxh64(guarded(le, 8), 8, seed)) {
            CHECK(!"fp_xxh64_u64 differs from fp_xxh64 over the 8 LE bytes");
            return;
        }
    }
    CHECK(1);
}

/* Every length 0..page through every tail path: the guard catches over-reads. */
static void test_xxh64_every_length_in_bounds(void)
{
    unsigned char buf[300];
    uint64_t acc = 0;
    sanity_buffer(buf, sizeof buf);
    for (size_t n = 0; n <= sizeof buf; n++)
        acc ^= fp_xxh64(guarded(buf, n), n, n);
    CHECK(acc != 0);
}

/* -- jump hash ------------------------------------------------------------ */

static void test_jump_reference_values(void)
{
    /* Buckets 1, 2, ... as the paper's reference code computes them. */
    static const struct {
        uint64_t key;
        int32_t want[19];
    } rows[] = {
        {0, {0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0}},
        {1, {0, 0, 0, 0, 0, 0, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 6, 17, 17}},
        {0xdeadbeef, {0, 1, 2, 3, 3, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 5, 16, 16, 16}},
        {0x0ddc0ffeebadf00dULL, {0, 1, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 2, 15, 15, 15, 15}},
    };
    for (size_t r = 0; r < sizeof rows / sizeof rows[0]; r++)
        for (int b = 0; b < 19; b++)
            CHECK_EQ(fp_jump(rows[r].key, b + 1), rows[r].want[b]);
    CHECK_EQ(fp_jump(42, 0), -1);
    CHECK_EQ(fp_jump(42, -5), -1);
}

/* Growing from b to b+1 buckets moves a key only into the new bucket; about
 * 1/(b+1) of the keys move, and the buckets are even (chi-square bound). */
static void test_jump_monotone_and_even(void)
{
    enum { KEYS = 200000, B = 10 };
    long counts[B + 1] = {0}, moved = 0;
    int bad = 0;
    uint64_t state = 7;
    for (int k = 0; k < KEYS; k++) {
        uint64_t key = fp_splitmix64(&state);
        int32_t before = fp_jump(key, B), after = fp_jump(key, B + 1);
        if (after != before && after != B)
            bad++;
        moved += after != before;
        counts[after]++;
    }
    CHECK_EQ(bad, 0);
    /* Expected KEYS/11 = 18182 moved; 3 sigma is about 390. */
    CHECK(labs(moved - KEYS / (B + 1)) < 600);
    double chi = 0, e = (double)KEYS / (B + 1);
    for (int b = 0; b <= B; b++)
        chi += (counts[b] - e) * (counts[b] - e) / e;
    CHECK(chi < 30.0); /* 10 degrees of freedom: p < 0.001 */
}

/* -- SplitMix64, primes, running sums ------------------------------------ */

static void test_splitmix64(void)
{
    /* First outputs from state 0 (the generator's reference sequence). */
    uint64_t state = 0;
    CHECK_EQ(fp_splitmix64(&state), 0xE220A8397B1DCDAFULL);
    CHECK_EQ(fp_splitmix64(&state), 0x6E789E6AA1B965F4ULL);
    CHECK_EQ(fp_splitmix64(&state), 0x06C45D188009454FULL);
    CHECK_EQ(state, 3 * 0x9E3779B97F4A7C15ULL);
}

static void test_is_prime(void)
{
    CHECK(!fp_is_prime(0) && !fp_is_prime(1) && fp_is_prime(2) && fp_is_prime(3));
    CHECK(!fp_is_prime(4) && !fp_is_prime(65536) && fp_is_prime(65537) && fp_is_prime(65521));
    CHECK(!fp_is_prime(65535) && fp_is_prime(4294967291ULL) && !fp_is_prime(4294967297ULL));
    CHECK(!fp_is_prime(3215031751ULL)); /* 151 * 751 * 28351: a strong pseudoprime */
}

static void test_cum_find(void)
{
    const uint64_t cum[] = {3, 4, 9};
    const uint32_t want[] = {0, 0, 0, 1, 2, 2, 2, 2, 2, 3};
    for (uint64_t r = 0; r < 10; r++)
        CHECK_EQ(fp_cum_find(cum, 3, r), want[r]);
    CHECK_EQ(fp_cum_find(cum, 0, 0), 0);
}

/* -- views and the simple policies ------------------------------------ */

enum { MAXS = 128 };

typedef struct servers {
    uint8_t up[MAXS];
    uint32_t load[MAXS];
    uint32_t weight[MAXS];
    fp_lb_view v;
} servers;

static void servers_init(servers *s, uint32_t n, const uint32_t *weight, double bound)
{
    memset(s, 0, sizeof *s);
    s->v.up = s->up;
    s->v.load = s->load;
    s->v.weight = s->weight;
    s->v.n = n;
    s->v.bound = bound;
    for (uint32_t i = 0; i < n; i++) {
        s->up[i] = 1;
        s->weight[i] = weight ? weight[i] : 1;
        s->v.total_weight += s->weight[i];
    }
}

static void servers_set_up(servers *s, uint32_t i, int up)
{
    if (s->up[i] == !!up)
        return;
    s->up[i] = (uint8_t)!!up;
    s->v.total_weight += up ? s->weight[i] : -(uint64_t)s->weight[i];
    s->v.total_load += up ? s->load[i] : -(uint64_t)s->load[i];
}

static void servers_acquire(servers *s, uint32_t i)
{
    s->load[i]++;
    if (s->up[i])
        s->v.total_load++;
}

static void test_rr_schedule_and_pick(void)
{
    const uint32_t w[] = {5, 1, 1}, eq[] = {1, 1, 1, 1};
    uint32_t sched[16], cursor = 0;
    fp_rr_turn scratch[16];
    CHECK_EQ(fp_rr_schedule(sched, w, 3, scratch), 7);
    /* a at 1/10, 3/10, 5/10, 7/10, 9/10; b and c at 1/2, after a's 5/10. */
    const uint32_t want[] = {0, 0, 0, 1, 2, 0, 0};
    for (int t = 0; t < 7; t++)
        CHECK_EQ(sched[t], want[t]);
    CHECK_EQ(fp_rr_schedule(sched, eq, 4, scratch), 4);
    for (uint32_t t = 0; t < 4; t++)
        CHECK_EQ(sched[t], t);

    servers s;
    servers_init(&s, 4, eq, 0);
    servers_set_up(&s, 1, 0);
    const int32_t picks[] = {0, 2, 3, 0, 2};
    for (int t = 0; t < 5; t++)
        CHECK_EQ(fp_rr_pick(sched, 4, &cursor, &s.v), picks[t]);
    for (uint32_t i = 0; i < 4; i++)
        servers_set_up(&s, i, 0);
    CHECK_EQ(fp_rr_pick(sched, 4, &cursor, &s.v), -1);
}

static void test_swrr_is_smooth(void)
{
    const uint32_t w[] = {5, 1, 1};
    int64_t current[3] = {0};
    servers s;
    servers_init(&s, 3, w, 0);
    const int32_t want[] = {0, 0, 1, 0, 2, 0, 0, 0, 0, 1, 0, 2, 0, 0};
    for (int t = 0; t < 14; t++)
        CHECK_EQ(fp_swrr_pick(&s.v, current), want[t]);
    servers_set_up(&s, 0, 0);
    servers_set_up(&s, 1, 0);
    servers_set_up(&s, 2, 0);
    CHECK_EQ(fp_swrr_pick(&s.v, current), -1);
}

static void test_swrr_skip_keeps_the_sequence(void)
{
    /* 5:1:1 with a retry off server 0 after every second pick: first
     * picks keep 5:1:1, retries split 1:1 (nginx's tried-aware walk). */
    const uint32_t w[] = {5, 1, 1};
    const uint8_t skip0[] = {1, 0, 0};
    int64_t current[3] = {0}, plain[3] = {0};
    uint32_t first[3] = {0}, retry[3] = {0};
    servers s;
    servers_init(&s, 3, w, 0);
    for (int t = 0; t < 20; t++)  /* skip NULL is the plain pick */
        CHECK_EQ(fp_swrr_pick_skip(&s.v, current, NULL), fp_swrr_pick(&s.v, plain));
    for (int t = 0; t < 7000; t++) {
        int32_t i = fp_swrr_pick(&s.v, current);
        first[i]++;
        if (t % 2) {
            int32_t j = fp_swrr_pick_skip(&s.v, current, skip0);
            CHECK(j == 1 || j == 2);
            retry[j]++;
        }
    }
    CHECK_EQ(first[0], 5000);
    CHECK_EQ(first[1], 1000);
    CHECK_EQ(first[2], 1000);
    CHECK_EQ(retry[1] + retry[2], 3500);
    CHECK(retry[1] >= 1748 && retry[1] <= 1752);  /* 1:1 up to the phase of the cycle */
    const uint8_t skip_all[] = {1, 1, 1};
    CHECK_EQ(fp_swrr_pick_skip(&s.v, current, skip_all), -1);
}

static void test_least_conn_and_p2c(void)
{
    const uint32_t w[] = {1, 2, 1};
    const double ewma[] = {0.5, 0.25, 0.125};
    servers s;
    servers_init(&s, 3, w, 0);
    /* All idle: ties rotate with the start. */
    CHECK_EQ(fp_least_conn_pick(&s.v, 0), 0);
    CHECK_EQ(fp_least_conn_pick(&s.v, 2), 2);
    s.load[0] = 1;
    s.load[1] = 1;
    s.load[2] = 1;
    /* 1/2 beats 1/1. */
    CHECK_EQ(fp_least_conn_pick(&s.v, 0), 1);
    servers_set_up(&s, 1, 0);
    CHECK_EQ(fp_least_conn_pick(&s.v, 1), 2);
    CHECK_EQ(fp_p2c_choose(&s.v, ewma, 0, 2), 2); /* same load, lower latency */
    s.load[2] = 2;
    CHECK_EQ(fp_p2c_choose(&s.v, ewma, 0, 2), 0);
    CHECK_EQ(fp_p2c_choose(&s.v, ewma, 1, 0), 1); /* 1/2 < 1/1 */
    servers_set_up(&s, 0, 0);
    servers_set_up(&s, 2, 0);
    CHECK_EQ(fp_least_conn_pick(&s.v, 0), -1);
}

static void test_rotate_pick(void)
{
    servers s;
    uint32_t cursor = 0;
    servers_init(&s, 3, NULL, 0);
    servers_set_up(&s, 1, 0);
    CHECK_EQ(fp_rotate_pick(&s.v, &cursor), 0);
    CHECK_EQ(fp_rotate_pick(&s.v, &cursor), 2);
    CHECK_EQ(fp_rotate_pick(&s.v, &cursor), 0);
    servers_set_up(&s, 0, 0);
    servers_set_up(&s, 2, 0);
    CHECK_EQ(fp_rotate_pick(&s.v, &cursor), -1);
}

static void test_bound_arithmetic(void)
{
    const uint32_t w[] = {1, 3};
    servers s;
    servers_init(&s, 2, w, 1.25);
    /* total_load 3 -> 4 with the new request: shares 1 and 3, times 1.25. */
    s.load[0] = 1;
    s.load[1] = 2;
    s.v.total_load = 3;
    CHECK(fp_eligible(&s.v, 0));  /* 1 * 4 < 1.25 * 4 * 1 */
    CHECK(fp_eligible(&s.v, 1));  /* 2 * 4 < 1.25 * 4 * 3 */
    s.load[0] = 2;
    s.v.total_load = 4;
    CHECK(!fp_eligible(&s.v, 0)); /* 2 * 4 >= 1.25 * 5 */
    s.v.bound = 0;
    CHECK(fp_eligible(&s.v, 0));
    servers_set_up(&s, 0, 0);
    CHECK(!fp_eligible(&s.v, 0));
}

/* -- ring ----------------------------------------------------------------- */

enum { RING_SERVERS = 10, RING_VNODES = 100, RING_N = RING_SERVERS * RING_VNODES };
static fp_ring_entry ring[RING_N];

static void ring_build(void)
{
    size_t k = 0;
    for (uint32_t s = 0; s < RING_SERVERS; s++) {
        char name[32];
        int len = snprintf(name, sizeof name, "10.0.0.%u:80", s + 1);
        uint64_t nh = fp_xxh64(name, (size_t)len, FP_SEED_RING);
        for (uint32_t r = 0; r < RING_VNODES; r++) {
            ring[k].point = fp_ring_point(nh, r);
            ring[k].server = s;
            ring[k].reserved = 0;
            k++;
        }
    }
    fp_ring_sort(ring, RING_N);
}

static void test_ring(void)
{
    servers s;
    int sorted = 1, disorder = 0;
    ring_build();
    for (size_t i = 1; i < RING_N; i++)
        sorted &= ring[i - 1].point <= ring[i].point;
    CHECK(sorted);
    CHECK_EQ(fp_ring_find(ring, RING_N, 0), 0);
    CHECK_EQ(fp_ring_find(ring, RING_N, ring[5].point), 5);
    CHECK_EQ(fp_ring_find(ring, RING_N, ring[5].point + 1), 6);
    CHECK_EQ(fp_ring_find(ring, RING_N, UINT64_MAX), 0); /* past the last point: wraps */
    CHECK_EQ(fp_ring_find(ring, 0, 5), 0);

    servers_init(&s, RING_SERVERS, NULL, 0);
    uint64_t state = 11;
    int32_t before[2000];
    for (int k = 0; k < 2000; k++) {
        uint64_t h = fp_splitmix64(&state);
        size_t i = fp_ring_find(ring, RING_N, h);
        before[k] = fp_ring_pick(ring, RING_N, h, &s.v);
        disorder += before[k] != (int32_t)ring[i].server;
    }
    CHECK_EQ(disorder, 0);
    /* Server 3 down: only its keys move, each to the next distinct owner. */
    servers_set_up(&s, 3, 0);
    state = 11;
    int others_moved = 0, landed_on_down = 0;
    for (int k = 0; k < 2000; k++) {
        uint64_t h = fp_splitmix64(&state);
        int32_t now = fp_ring_pick(ring, RING_N, h, &s.v);
        landed_on_down += now == 3;
        others_moved += before[k] != 3 && now != before[k];
        if (before[k] == 3) {
            size_t i = fp_ring_find(ring, RING_N, h);
            while (ring[i].server == 3)
                i = (i + 1) % RING_N;
            CHECK_EQ(now, ring[i].server);
        }
    }
    CHECK_EQ(landed_on_down, 0);
    CHECK_EQ(others_moved, 0);
    for (uint32_t i = 0; i < RING_SERVERS; i++)
        servers_set_up(&s, i, 0);
    CHECK_EQ(fp_ring_pick(ring, RING_N, 1, &s.v), -1);
    CHECK_EQ(fp_ring_pick(ring, 0, 1, &s.v), -1);
}

/* Bounded loads: with acquire-only traffic from one hot key, no pick ever
 * lands on a server past its bound. */
static void test_ring_bounded(void)
{
    servers s;
    int over = 0, spread = 0;
    ring_build();
    servers_init(&s, RING_SERVERS, NULL, 1.25);
    int32_t hot = fp_ring_pick(ring, RING_N, 12345, &s.v);
    for (int k = 0; k < 1000; k++) {
        int32_t p = fp_ring_pick(ring, RING_N, 12345, &s.v);
        if (p < 0) {
            over++;
            break;
        }
        /* load + 1 <= ceil(1.25 * (total + 1) / n), i.e. load < 1.25 * (total + 1) / n */
        over += !((double)s.load[p] * RING_SERVERS < 1.25 * (double)(s.v.total_load + 1));
        spread += p != hot;
        servers_acquire(&s, (uint32_t)p);
    }
    CHECK_EQ(over, 0);
    CHECK(spread > 500);
    for (uint32_t i = 0; i < RING_SERVERS; i++)
        CHECK(s.load[i] <= 125); /* ceil(1.25 * 1000 / 10) */
}

/* -- Maglev --------------------------------------------------------------- */

enum { MAG_M = 65537, MAG_N = 100 };
static int32_t table[MAG_M];

static void maglev_build(uint32_t n, const uint32_t *weight, uint32_t m)
{
    uint32_t offset[MAXS], skip[MAXS], next[MAXS], count[MAXS];
    for (uint32_t s = 0; s < n; s++) {
        char name[32];
        int len = snprintf(name, sizeof name, "backend-%u:8080", s);
        fp_maglev_permutation(name, (size_t)len, m, &offset[s], &skip[s]);
        CHECK(offset[s] < m && skip[s] >= 1 && skip[s] < m);
    }
    CHECK_EQ(fp_maglev_fill(table, m, offset, skip, weight, n, next, count), 0);
}

static void test_maglev(void)
{
    uint32_t w[MAXS], counts[MAXS] = {0};
    for (uint32_t i = 0; i < MAG_N; i++)
        w[i] = 1;
    maglev_build(MAG_N, w, MAG_M);
    for (uint32_t t = 0; t < MAG_M; t++)
        counts[table[t]]++;
    uint32_t lo = MAG_M, hi = 0;
    for (uint32_t i = 0; i < MAG_N; i++) {
        lo = counts[i] < lo ? counts[i] : lo;
        hi = counts[i] > hi ? counts[i] : hi;
    }
    /* Equal weights: every server holds floor or ceil of m/n slots. */
    CHECK(lo >= MAG_M / MAG_N && hi <= MAG_M / MAG_N + 1);

    /* Weights 1:2:3 hold 1/6, 2/6, 3/6 of the slots within 1 percent. */
    const uint32_t w3[] = {1, 2, 3};
    uint32_t c3[3] = {0};
    maglev_build(3, w3, MAG_M);
    for (uint32_t t = 0; t < MAG_M; t++)
        c3[table[t]]++;
    for (int i = 0; i < 3; i++)
        CHECK(labs((long)c3[i] - (long)(MAG_M * (i + 1) / 6)) < MAG_M / 100);

    /* Server 7 down: only its keys move, to the owner of the next slot. */
    servers s;
    maglev_build(MAG_N, w, MAG_M);
    servers_init(&s, MAG_N, w, 0);
    uint64_t state = 3;
    int32_t before[4000];
    for (int k = 0; k < 4000; k++)
        before[k] = fp_maglev_pick(table, MAG_M, fp_splitmix64(&state), &s.v);
    servers_set_up(&s, 7, 0);
    state = 3;
    int others = 0, on_down = 0;
    for (int k = 0; k < 4000; k++) {
        int32_t now = fp_maglev_pick(table, MAG_M, fp_splitmix64(&state), &s.v);
        on_down += now == 7;
        others += before[k] != 7 && now != before[k];
    }
    CHECK_EQ(on_down, 0);
    CHECK_EQ(others, 0);

    uint32_t offset = 0, skip = 1, next, count, one = 1;
    CHECK_EQ(fp_maglev_fill(table, 65536, &offset, &skip, &one, 1, &next, &count), -1);
    CHECK_EQ(fp_maglev_fill(table, 7, &offset, &skip, &one, 0, &next, &count), -1);
    skip = 0;
    CHECK_EQ(fp_maglev_fill(table, 7, &offset, &skip, &one, 1, &next, &count), -1);
}

/* -- jump over weighted buckets ----------------------------------------- */

static void test_jump_pick(void)
{
    const uint32_t w[] = {1, 2, 1, 1};
    uint32_t owner[5] = {0, 1, 1, 2, 3};
    servers s;
    servers_init(&s, 4, w, 0);
    uint64_t state = 5;
    long counts[4] = {0};
    int32_t before[5000];
    for (int k = 0; k < 5000; k++) {
        uint64_t h = fp_splitmix64(&state);
        before[k] = fp_jump_pick(owner, 5, h, &s.v);
        CHECK_EQ(before[k], owner[fp_jump(h, 5)]);
        counts[before[k]]++;
    }
    CHECK(labs(counts[1] - 2000) < 150 && labs(counts[0] - 1000) < 120);
    servers_set_up(&s, 1, 0);
    state = 5;
    int others = 0, on_down = 0;
    for (int k = 0; k < 5000; k++) {
        int32_t now = fp_jump_pick(owner, 5, fp_splitmix64(&state), &s.v);
        on_down += now == 1;
        others += before[k] != 1 && now != before[k];
    }
    CHECK_EQ(on_down, 0);
    CHECK_EQ(others, 0);
    /* Only server 2 up: found by the probes or the linear search. */
    servers_set_up(&s, 0, 0);
    servers_set_up(&s, 3, 0);
    state = 5;
    int wrong = 0;
    for (int k = 0; k < 500; k++)
        wrong += fp_jump_pick(owner, 5, fp_splitmix64(&state), &s.v) != 2;
    CHECK_EQ(wrong, 0);
    servers_set_up(&s, 2, 0);
    CHECK_EQ(fp_jump_pick(owner, 5, 1, &s.v), -1);
    CHECK_EQ(fp_jump_pick(owner, 0, 1, &s.v), -1);
}

int main(void)
{
    guard_init();
    test_xxh64_vectors();
    test_xxh64_u64_is_xxh64_of_le_bytes();
    test_xxh64_every_length_in_bounds();
    test_jump_reference_values();
    test_jump_monotone_and_even();
    test_splitmix64();
    test_is_prime();
    test_cum_find();
    test_rr_schedule_and_pick();
    test_swrr_is_smooth();
    test_swrr_skip_keeps_the_sequence();
    test_least_conn_and_p2c();
    test_rotate_pick();
    test_bound_arithmetic();
    test_ring();
    test_ring_bounded();
    test_maglev();
    test_jump_pick();
    printf("fp_hash: %ld passed, %ld failed\n", passed, failed);
    return failed != 0;
}
