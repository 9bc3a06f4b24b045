# cython: language_level=3
"""The balancers over src_c/fp_hash.c; surface documented in the package.

Per-server state lives in C arrays that an fp_lb_view describes to the C
choices.  Python-level methods check their arguments and call the cdef fast
paths declared in _cbalancers.pxd, which Cython callers may use directly.
Construction (argument checks, table building) is not hot: it calls the
shared checks of _args.py.  The pure-Python twin is _pybalancers.py.
"""

from cpython.bytes cimport PyBytes_AS_STRING, PyBytes_GET_SIZE
from cpython.mem cimport PyMem_Free, PyMem_Malloc
from libc.stdint cimport int32_t, int64_t, uint8_t, uint32_t, uint64_t
from libc.string cimport memset

from fastproxy.balancers._fp_hash cimport (
    FP_SEED_KEY,
    FP_SEED_RING,
    fp_cum_find,
    fp_jump,
    fp_jump_pick,
    fp_least_conn_pick,
    fp_maglev_fill,
    fp_maglev_permutation,
    fp_maglev_pick,
    fp_p2c_choose,
    fp_ring_entry,
    fp_ring_pick,
    fp_ring_point,
    fp_ring_sort,
    fp_rotate_pick,
    fp_rr_pick,
    fp_rr_schedule,
    fp_rr_turn,
    fp_splitmix64,
    fp_swrr_pick,
    fp_swrr_pick_skip,
    fp_xxh64,
)

from fastproxy.balancers import _args
from fastproxy.balancers._pykeys import cookie_value, query_value
from fastproxy.config.schema import DEFAULT_TABLE_SIZE, DEFAULT_VIRTUAL_NODES

IMPLEMENTATION = "c"
EWMA_ALPHA = 0.25
cdef double _ALPHA = EWMA_ALPHA
cdef uint64_t _MASK64 = 0xFFFFFFFFFFFFFFFF
cdef int _KEY_CLIENT_IP = _args.KEY_CLIENT_IP
cdef int _KEY_URI = _args.KEY_URI
cdef int _KEY_HEADER = _args.KEY_HEADER
cdef int _KEY_QUERY = _args.KEY_QUERY


cdef void *_alloc(size_t count, size_t size) except NULL:
    # A zero count still gets a block: NULL then only means out of memory.
    cdef void *p = PyMem_Malloc((count if count else 1) * size)
    if p == NULL:
        raise MemoryError()
    memset(p, 0, (count if count else 1) * size)
    return p


def xxh64(data, uint64_t seed=0):
    """XXH64 of bytes-like ``data``."""
    cdef bytes b = bytes(_args.key_bytes(data))
    return fp_xxh64(PyBytes_AS_STRING(b), <size_t>PyBytes_GET_SIZE(b), seed)


def hash_key(key):
    """The 64-bit hash a hash policy uses for ``key``."""
    cdef bytes b = key if type(key) is bytes else bytes(_args.key_bytes(key))
    return fp_xxh64(PyBytes_AS_STRING(b), <size_t>PyBytes_GET_SIZE(b), FP_SEED_KEY)


def jump_hash(uint64_t key, long buckets):
    """Jump consistent hash of a 64-bit ``key`` over ``buckets`` (>= 1)."""
    if not 1 <= buckets <= 0x7FFFFFFF:
        raise ValueError("buckets must be in 1..2**31-1")
    return fp_jump(key, <int32_t>buckets)


cdef class Balancer:
    """Base of every policy: server state, in-flight counts, up/down."""

    policy = ""
    hashed = False

    def __init__(self, names, weights, double bound=0.0):
        if self.up != NULL:
            raise TypeError("a balancer is initialised once")
        self.names, self.raw_names, self.weights = _args.servers(names, weights)
        cdef Py_ssize_t n = len(self.names), i
        self.size = n
        self.up = <uint8_t *>_alloc(n, sizeof(uint8_t))
        self.loads = <uint32_t *>_alloc(n, sizeof(uint32_t))
        self.weight = <uint32_t *>_alloc(n, sizeof(uint32_t))
        self.ewma = <double *>_alloc(n, sizeof(double))
        self.view.total_weight = 0
        for i in range(n):
            self.up[i] = 1
            self.weight[i] = self.weights[i]
            self.ewma[i] = -1.0
            self.view.total_weight += self.weight[i]
        self.view.up = self.up
        self.view.load = self.loads
        self.view.weight = self.weight
        self.view.n = <uint32_t>n
        self.view.total_load = 0
        self.view.bound = bound
        self.cursor = 0

    def __dealloc__(self):
        PyMem_Free(self.up)
        PyMem_Free(self.loads)
        PyMem_Free(self.weight)
        PyMem_Free(self.ewma)

    # -- fast paths (cdef; see the .pxd) --------------------------------------

    cdef int pick_c(self) noexcept:
        return -1

    cdef int pick_hash_c(self, uint64_t h) noexcept:
        return self.pick_c()

    cdef int pick_key_c(self, const unsigned char *key, size_t length) noexcept:
        return self.pick_c()

    cdef void acquire_c(self, uint32_t i) noexcept:
        self.loads[i] += 1
        if self.up[i]:
            self.view.total_load += 1

    cdef void release_c(self, uint32_t i, double latency) noexcept:
        cdef double old
        if self.loads[i]:
            self.loads[i] -= 1
            if self.up[i]:
                self.view.total_load -= 1
        if latency >= 0.0:
            old = self.ewma[i]
            self.ewma[i] = latency if old < 0.0 else old + (latency - old) * _ALPHA

    cdef int _changed(self) except -1:
        return 0

    cdef int _check(self, Py_ssize_t i) except -1:
        if not 0 <= i < self.size:
            raise IndexError(f"server index {i} out of range (0..{self.size - 1})")
        return 0

    # -- the Python surface ---------------------------------------------------

    def pick(self, key=None):
        """The server for a request (its index), or -1 if none is up."""
        return self.pick_c()

    def pick_hash(self, uint64_t h):
        """As pick(), from a key's hash (hash_key(key)); others ignore it."""
        return self.pick_hash_c(h)

    def acquire(self, Py_ssize_t i):
        """A request to server ``i`` started."""
        self._check(i)
        self.acquire_c(<uint32_t>i)

    def release(self, Py_ssize_t i, double latency=-1.0):
        """A request to server ``i`` ended after ``latency`` seconds (< 0:
        no sample).  More releases than acquires are ignored."""
        self._check(i)
        self.release_c(<uint32_t>i, latency)

    def mark_down(self, Py_ssize_t i):
        """Server ``i`` leaves the choices (until mark_up)."""
        self._check(i)
        if self.up[i]:
            self.up[i] = 0
            self.view.total_weight -= self.weight[i]
            self.view.total_load -= self.loads[i]
            self._changed()

    def mark_up(self, Py_ssize_t i):
        self._check(i)
        if not self.up[i]:
            self.up[i] = 1
            self.view.total_weight += self.weight[i]
            self.view.total_load += self.loads[i]
            self._changed()

    def pick_skip(self, tried, key=None):
        """A retry's pick: as pick(key), with the servers of the bit mask
        ``tried`` (an int) left out; -1 when none is left.  They are hidden
        for the pick: each policy already knows how to choose without a
        server (the key's next ring point, Maglev slot or jump rehash)."""
        hidden = [i for i in range(self.size) if (tried >> i) & 1 and self.up[i]]
        try:
            for i in hidden:
                self.mark_down(i)
            return self.pick(key)
        finally:
            for i in hidden:
                self.mark_up(i)

    def is_up(self, Py_ssize_t i):
        self._check(i)
        return bool(self.up[i])

    def load(self, Py_ssize_t i):
        """Requests in flight on server ``i``."""
        self._check(i)
        return self.loads[i]

    def latency(self, Py_ssize_t i):
        """Moving average of server ``i``'s latency (seconds), -1.0 before any sample."""
        self._check(i)
        return self.ewma[i]

    @property
    def live(self):
        """How many servers are up."""
        cdef Py_ssize_t i, count = 0
        for i in range(self.size):
            count += self.up[i] != 0
        return count

    def __repr__(self):
        return f"<{type(self).__name__} {self.live}/{self.size} up>"


cdef class RoundRobin(Balancer):
    """A static weighted cycle (equal weights: plain rotation); O(1)."""

    policy = "round_robin"

    def __init__(self, names, weights):
        Balancer.__init__(self, names, weights)
        cdef uint32_t total = <uint32_t>self.view.total_weight
        cdef fp_rr_turn *scratch = <fp_rr_turn *>_alloc(total, sizeof(fp_rr_turn))
        try:
            self.sched = <uint32_t *>_alloc(total, sizeof(uint32_t))
            self.sched_len = fp_rr_schedule(self.sched, self.weight, self.view.n, scratch)
        finally:
            PyMem_Free(scratch)

    def __dealloc__(self):
        PyMem_Free(self.sched)

    def schedule(self):
        """The cycle of server indexes."""
        return [self.sched[t] for t in range(self.sched_len)]

    cdef int pick_c(self) noexcept:
        return fp_rr_pick(self.sched, self.sched_len, &self.cursor, &self.view)


cdef class WeightedRoundRobin(Balancer):
    """Smooth weighted round robin: heavy servers interleaved, never in bursts."""

    policy = "weighted_round_robin"

    def __init__(self, names, weights):
        Balancer.__init__(self, names, weights)
        self.current = <int64_t *>_alloc(self.size, sizeof(int64_t))

    def __dealloc__(self):
        PyMem_Free(self.current)

    cdef int pick_c(self) noexcept:
        return fp_swrr_pick(&self.view, self.current)

    def pick_skip(self, tried, key=None):
        """As Balancer.pick_skip, but the tried servers are skipped inside the
        walk: hiding them would restart the smooth sequence at every retry."""
        cdef bytearray skip = bytearray(self.size)
        cdef Py_ssize_t i
        for i in range(self.size):
            skip[i] = (tried >> i) & 1
        return fp_swrr_pick_skip(&self.view, self.current, <const uint8_t *><char *>skip)

    cdef int _changed(self) except -1:
        memset(self.current, 0, self.size * sizeof(int64_t))
        return 0


cdef class _Sampling(Balancer):
    """Draws from a seeded SplitMix64 over the live servers."""

    def __init__(self, names, weights, seed=0):
        Balancer.__init__(self, names, weights)
        if not 0 <= seed <= _MASK64:
            raise OverflowError("seed must be a 64-bit unsigned int")
        self.state = seed
        self.live = <uint32_t *>_alloc(self.size, sizeof(uint32_t))
        self.cum = <uint64_t *>_alloc(self.size, sizeof(uint64_t))
        self._changed()

    def __dealloc__(self):
        PyMem_Free(self.live)
        PyMem_Free(self.cum)

    cdef int _changed(self) except -1:
        cdef uint32_t i, k = 0
        cdef uint64_t total = 0
        for i in range(self.view.n):
            if self.up[i]:
                total += self.weight[i]
                self.live[k] = i
                self.cum[k] = total
                k += 1
        self.n_live = k
        return 0


cdef class Random(_Sampling):
    """Weighted random choice."""

    policy = "random"

    cdef int pick_c(self) noexcept:
        if self.n_live == 0:
            return -1
        cdef uint64_t r = fp_splitmix64(&self.state) % self.view.total_weight
        return self.live[fp_cum_find(self.cum, self.n_live, r)]


cdef class PowerOfTwoChoices(_Sampling):
    """Two distinct live servers at random; the one with fewer requests in
    flight per unit of weight wins, then the lower latency average."""

    policy = "p2c"

    cdef int pick_c(self) noexcept:
        cdef uint32_t n = self.n_live, a, b
        if n < 2:
            return self.live[0] if n else -1
        a = <uint32_t>(fp_splitmix64(&self.state) % n)
        b = <uint32_t>(fp_splitmix64(&self.state) % (n - 1))
        if b >= a:
            b += 1
        return fp_p2c_choose(&self.view, self.ewma, self.live[a], self.live[b])


cdef class LeastConn(Balancer):
    """Fewest requests in flight per unit of weight; ties rotate."""

    policy = "least_conn"

    cdef int pick_c(self) noexcept:
        cdef int s = fp_least_conn_pick(&self.view, self.cursor)
        if s >= 0:
            self.cursor = <uint32_t>s + 1 if <uint32_t>s + 1 < self.view.n else 0
        return s


cdef class _Hashing(Balancer):
    """Key to server; a request without a key goes by rotation."""

    hashed = True

    cdef int pick_c(self) noexcept:
        return fp_rotate_pick(&self.view, &self.cursor)

    cdef int pick_key_c(self, const unsigned char *key, size_t length) noexcept:
        return self.pick_hash_c(fp_xxh64(key, length, FP_SEED_KEY))

    def pick(self, key=None):
        """The server for ``key`` (bytes-like; None: by rotation), or -1."""
        cdef bytes b
        if key is None:
            return self.pick_c()
        # Fast path: bytes, hashed in place; other bytes-likes are copied.
        b = <bytes>key if type(key) is bytes else bytes(_args.key_bytes(key))
        return self.pick_key_c(<const unsigned char *>PyBytes_AS_STRING(b), <size_t>PyBytes_GET_SIZE(b))


cdef class RingHash(_Hashing):
    """Ketama-style ring: ``virtual_nodes`` points per unit of weight."""

    policy = "ring"

    def __init__(self, names, weights, virtual_nodes=DEFAULT_VIRTUAL_NODES, bounded_load=0.0):
        cdef double bound = _args.bound(bounded_load)
        Balancer.__init__(self, names, weights, bound)
        counts = _args.ring_points(virtual_nodes, self.weights)
        cdef size_t total = sum(counts), k = 0
        cdef uint32_t s, r, count
        cdef uint64_t name_hash
        cdef bytes name
        self.entries = <fp_ring_entry *>_alloc(total, sizeof(fp_ring_entry))
        for s in range(self.view.n):
            name = self.raw_names[s]
            name_hash = fp_xxh64(PyBytes_AS_STRING(name), <size_t>PyBytes_GET_SIZE(name), FP_SEED_RING)
            count = counts[s]
            for r in range(count):
                self.entries[k].point = fp_ring_point(name_hash, r)
                self.entries[k].server = s
                k += 1
        fp_ring_sort(self.entries, total)
        self.ring_len = total
        self.virtual_nodes = virtual_nodes
        self.bounded_load = bound

    def __dealloc__(self):
        PyMem_Free(self.entries)

    def ring(self):
        """The sorted (point, server) pairs."""
        return [(self.entries[k].point, self.entries[k].server) for k in range(self.ring_len)]

    cdef int pick_hash_c(self, uint64_t h) noexcept:
        return fp_ring_pick(self.entries, self.ring_len, h, &self.view)


cdef class MaglevHash(_Hashing):
    """Maglev lookup table of a prime ``table_size``, filled by weight."""

    policy = "maglev"

    def __init__(self, names, weights, table_size=DEFAULT_TABLE_SIZE, bounded_load=0.0):
        cdef double bound = _args.bound(bounded_load)
        Balancer.__init__(self, names, weights, bound)
        cdef uint32_t m = _args.table_size(table_size, self.size), s, n = self.view.n
        cdef bytes name
        # offset, skip, next, count: four n-entry arrays in one block
        cdef uint32_t *scratch = <uint32_t *>_alloc(4 * n, sizeof(uint32_t))
        try:
            for s in range(n):
                name = self.raw_names[s]
                fp_maglev_permutation(PyBytes_AS_STRING(name), <size_t>PyBytes_GET_SIZE(name), m,
                                      &scratch[s], &scratch[n + s])
            self.slots = <int32_t *>_alloc(m, sizeof(int32_t))
            if fp_maglev_fill(self.slots, m, scratch, scratch + n, self.weight, n,
                              scratch + 2 * n, scratch + 3 * n) != 0:
                raise ValueError("maglev_fill: bad arguments")
        finally:
            PyMem_Free(scratch)
        self.table_size = m
        self.bounded_load = bound

    def __dealloc__(self):
        PyMem_Free(self.slots)

    def table(self):
        """The lookup table: a server index per slot."""
        return [self.slots[t] for t in range(self.table_size)]

    cdef int pick_hash_c(self, uint64_t h) noexcept:
        return fp_maglev_pick(self.slots, self.table_size, h, &self.view)


cdef class JumpHash(_Hashing):
    """Jump consistent hash over weight-many buckets per server, in order:
    adding or removing the last server moves only its keys."""

    policy = "jump"

    def __init__(self, names, weights):
        Balancer.__init__(self, names, weights)
        owner = _args.buckets(self.weights)
        cdef uint32_t b
        self.buckets = len(owner)
        self.owner = <uint32_t *>_alloc(self.buckets, sizeof(uint32_t))
        for b in range(self.buckets):
            self.owner[b] = owner[b]

    def __dealloc__(self):
        PyMem_Free(self.owner)

    cdef int pick_hash_c(self, uint64_t h) noexcept:
        return fp_jump_pick(self.owner, self.buckets, h, &self.view)


cdef class KeyExtractor:
    """Pulls the hash key named by a ``hash_key`` setting out of a request.

    ``kind`` is one of the KEY_* codes, ``name`` the header (lowercased),
    cookie or query argument name (bytes, empty for client_ip and uri).
    """

    def __init__(self, str spec):
        self.kind, self.name = _args.hash_key_spec(spec)
        self.spec = spec

    def extract(self, client_ip, target, headers):
        """The key of one request, or None if it has none (see _pykeys)."""
        cdef int kind = self.kind
        if kind == _KEY_URI:
            return bytes(target)
        if kind == _KEY_CLIENT_IP:
            return bytes(client_ip) if client_ip else None
        if kind == _KEY_QUERY:
            return query_value(target, self.name)
        if kind == _KEY_HEADER:
            for field, value in headers:
                if field.lower() == self.name:
                    return bytes(value)
            return None
        for field, value in headers:
            if field.lower() == b"cookie":
                found = cookie_value(value, self.name)
                if found is not None:
                    return found
        return None

    def __repr__(self):
        return f"KeyExtractor({self.spec!r})"
