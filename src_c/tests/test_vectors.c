/*
 * test_vectors.c - the shared conformance vectors (the TOML files of
 * tests/conformance,
 * turned into build/vectors.h by gen_vectors.py) run against src_c: whole,
 * byte by byte and split at every offset, inputs against the guard page.
 */
#include <string.h>

#include "t.h"

typedef struct t_str {
    const char *s;
    size_t n;
} t_str;
#define S(lit) {lit, sizeof(lit) - 1}

enum {
    T_HAS_METHOD = 1 << 0,
    T_HAS_TARGET = 1 << 1,
    T_HAS_REASON = 1 << 2,
    T_HAS_MINOR_VERSION = 1 << 3,
    T_HAS_STATUS = 1 << 4,
    T_HAS_CONTENT_LENGTH = 1 << 5,
    T_HAS_KEEP_ALIVE = 1 << 6,
    T_HAS_UPGRADE = 1 << 7,
    T_HAS_EXPECT_CONTINUE = 1 << 8,
    T_HAS_TUNNEL = 1 << 9,
    T_HAS_HEADERS = 1 << 10,
    T_HAS_FRAMING = 1 << 11,
    T_HAS_FLAGS = 1 << 12
};

typedef struct t_head_vec {
    t_str name, input;
    int response;
    unsigned req_flags;
    fp_limits limits;
    int error, need_more, head_length;
    unsigned has;
    t_str method, target, reason;
    int minor_version, status;
    uint64_t content_length;
    int keep_alive, upgrade, expect_continue, tunnel, framing;
    unsigned flags;
    int nheaders;
    const t_str *headers; /* name, value, name, value, ... */
} t_head_vec;

typedef struct t_chunk_vec {
    t_str name, input;
    fp_limits limits;
    int error;
    int64_t consumed;
    int done;
    t_str data;
} t_chunk_vec;

#include "vectors.h"

static int bytes_is(const char *buf, fp_span s, t_str want)
{
    return s.len == want.n && memcmp(buf + s.off, want.s, want.n) == 0;
}

static int flag_is(uint32_t flags, uint32_t bit, int want)
{
    return ((flags & bit) != 0) == (want != 0);
}

/* Checks the whole-input outcome r of vector v against its expectations. */
static void check_head(const t_head_vec *v, const t_head *r)
{
    const fp_message *m = &r->m;
    const char *buf = v->input.s;
    int i;

    if (v->error) {
        CHECK_INT(r->ret, FP_INVALID);
        CHECK_INT(m->error, v->error);
        return;
    }
    if (v->need_more) {
        CHECK_INT(r->ret, FP_NEED_MORE);
        return;
    }
    if (!CHECK_INT(r->ret, v->head_length))
        return;
    if (v->has & T_HAS_METHOD)
        CHECK(bytes_is(buf, m->method, v->method));
    if (v->has & T_HAS_TARGET)
        CHECK(bytes_is(buf, m->target, v->target));
    if (v->has & T_HAS_REASON)
        CHECK(bytes_is(buf, m->reason, v->reason));
    if (v->has & T_HAS_MINOR_VERSION)
        CHECK_INT(m->minor_version, v->minor_version);
    if (v->has & T_HAS_STATUS)
        CHECK_INT(m->status, v->status);
    if (v->has & T_HAS_CONTENT_LENGTH)
        CHECK_INT(m->content_length, v->content_length);
    if (v->has & T_HAS_KEEP_ALIVE)
        CHECK(flag_is(m->flags, FP_F_KEEP_ALIVE, v->keep_alive));
    if (v->has & T_HAS_UPGRADE)
        CHECK(flag_is(m->flags, FP_F_UPGRADE, v->upgrade));
    if (v->has & T_HAS_EXPECT_CONTINUE)
        CHECK(flag_is(m->flags, FP_F_EXPECT_CONTINUE, v->expect_continue));
    if (v->has & T_HAS_TUNNEL)
        CHECK(flag_is(m->flags, FP_F_TUNNEL, v->tunnel));
    if (v->has & T_HAS_FRAMING)
        CHECK_INT(m->framing, v->framing);
    if (v->has & T_HAS_FLAGS)
        CHECK_INT(m->flags, v->flags);
    if (v->has & T_HAS_HEADERS && CHECK_INT(m->num_headers, v->nheaders)) {
        for (i = 0; i < v->nheaders; i++) {
            CHECK(bytes_is(buf, m->headers[i].name, v->headers[2 * i]));
            CHECK(bytes_is(buf, m->headers[i].value, v->headers[2 * i + 1]));
        }
    }
}

static void run_heads(const t_head_vec *vecs, size_t count)
{
    static t_head r;
    size_t i;

    for (i = 0; i < count; i++) {
        const t_head_vec *v = &vecs[i];
        t_what = v->name.s;
        t_head_all(&r, v->response, v->req_flags, v->input.s, v->input.n, &v->limits);
        check_head(v, &r);
    }
}

static void run_chunked(void)
{
    static t_chunk r;
    size_t i;

    for (i = 0; i < chunk_vectors_count; i++) {
        const t_chunk_vec *v = &chunk_vectors[i];
        t_what = v->name.s;
        t_chunk_all(&r, v->input.s, v->input.n, &v->limits);
        if (v->error) {
            CHECK_INT(r.consumed, FP_INVALID);
            CHECK_INT(r.error, v->error);
            continue;
        }
        CHECK_INT(r.consumed, v->consumed);
        CHECK_INT(r.done, v->done);
        CHECK_INT(r.data_bytes, v->data.n);
        CHECK(r.data_len == v->data.n && memcmp(r.data, v->data.s, v->data.n) == 0);
    }
}

void test_vectors(void)
{
    run_heads(request_vectors, request_vectors_count);
    run_heads(response_vectors, response_vectors_count);
    run_chunked();
}
