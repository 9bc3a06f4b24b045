# Mirror of src_c/fp_http.h: the only Cython file that knows the C layout.
from libc.stdint cimport int64_t, uint32_t, uint64_t


cdef extern from "fp_http.h" nogil:
    int FP_NEED_MORE
    int FP_INVALID
    int FP_E__COUNT
    int FP_CHUNK_LINE_MAX

    ctypedef struct fp_span:
        uint32_t off
        uint32_t len

    ctypedef struct fp_header:
        fp_span name
        fp_span value
        uint32_t id

    ctypedef struct fp_limits:
        uint32_t max_uri_bytes
        uint32_t max_header_bytes
        uint32_t max_header_count

    ctypedef struct fp_message:
        fp_span method
        fp_span target
        fp_span reason
        int status
        int minor_version
        uint32_t num_headers
        fp_header *headers
        uint32_t flags
        int framing
        uint64_t content_length
        int error

    ctypedef struct fp_chunked:
        uint64_t data_bytes
        int done
        int error

    void fp_message_init(fp_message *m, fp_header *headers)
    int fp_parse_request(fp_message *m, const char *buf, size_t len, const fp_limits *limits)
    int fp_parse_response(fp_message *m, const char *buf, size_t len, const fp_limits *limits,
                          unsigned req_flags)

    void fp_chunked_init(fp_chunked *d)
    int64_t fp_chunked_scan(fp_chunked *d, const char *buf, size_t len, fp_span *spans,
                            size_t *nspans, const fp_limits *limits)
    int64_t fp_chunked_decode(fp_chunked *d, char *buf, size_t *len, const fp_limits *limits)

    int fp_error_status(int error)
    const char *fp_error_name(int error)
    const char *fp_error_message(int error)

    int fp_scan_detect()
    int fp_scan_select(int level)
    int fp_scan_current()
    const char *fp_scan_level_name(int level)
