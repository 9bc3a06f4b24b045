/*
 * fp_errors.c - names, HTTP statuses and texts of the fp_error codes.
 *
 * Must match the ERRORS table of fastproxy/parser/codes.py entry for entry;
 * src_c/tests/check_codes.py compares the two.
 */
#include "fp_http.h"

struct error_info {
    const char *name;
    int status;
    const char *message;
};

static const struct error_info errors[FP_E__COUNT] = {
    [FP_E_NONE] = {"none", 200, "no error"},
    [FP_E_BAD_REQUEST_LINE] = {"bad_request_line", 400, "malformed request line"},
    [FP_E_BAD_METHOD] = {"bad_method", 400, "invalid method"},
    [FP_E_BAD_TARGET] = {"bad_target", 400, "invalid request target"},
    [FP_E_URI_TOO_LONG] = {"uri_too_long", 414, "request target too long"},
    [FP_E_BAD_VERSION] = {"bad_version", 400, "invalid HTTP version"},
    [FP_E_VERSION_NOT_SUPPORTED] = {"version_not_supported", 505, "HTTP version not supported"},
    [FP_E_BARE_CR] = {"bare_cr", 400, "CR not followed by LF"},
    [FP_E_BARE_LF] = {"bare_lf", 400, "LF without CR"},
    [FP_E_OBS_FOLD] = {"obs_fold", 400, "folded or indented header line"},
    [FP_E_BAD_FIELD_NAME] = {"bad_field_name", 400, "invalid header name"},
    [FP_E_SPACE_BEFORE_COLON] = {"space_before_colon", 400, "whitespace between header name and colon"},
    [FP_E_BAD_FIELD_VALUE] = {"bad_field_value", 400, "invalid character in header value"},
    [FP_E_HEADERS_TOO_LARGE] = {"headers_too_large", 431, "request header too large"},
    [FP_E_TOO_MANY_HEADERS] = {"too_many_headers", 431, "too many header fields"},
    [FP_E_BAD_HOST] = {"bad_host", 400, "missing, duplicate or invalid Host"},
    [FP_E_BAD_CONTENT_LENGTH] = {"bad_content_length", 400, "invalid Content-Length"},
    [FP_E_CONFLICTING_CONTENT_LENGTH] = {"conflicting_content_length", 400,
                                         "conflicting Content-Length values"},
    [FP_E_CONTENT_LENGTH_WITH_TE] = {"content_length_with_te", 400,
                                     "both Content-Length and Transfer-Encoding"},
    [FP_E_BAD_TRANSFER_ENCODING] = {"bad_transfer_encoding", 400, "invalid Transfer-Encoding"},
    [FP_E_UNKNOWN_TRANSFER_CODING] = {"unknown_transfer_coding", 501, "unsupported transfer coding"},
    [FP_E_TE_IN_HTTP10] = {"te_in_http10", 400, "Transfer-Encoding in an HTTP/1.0 message"},
    [FP_E_BAD_STATUS_LINE] = {"bad_status_line", 502, "malformed status line"},
    [FP_E_BAD_CHUNK_SIZE] = {"bad_chunk_size", 400, "invalid chunk size"},
    [FP_E_CHUNK_SIZE_TOO_LARGE] = {"chunk_size_too_large", 400, "chunk size too large"},
    [FP_E_BAD_CHUNK_EXTENSION] = {"bad_chunk_extension", 400, "invalid chunk extension"},
    [FP_E_CHUNK_EXTENSION_TOO_LARGE] = {"chunk_extension_too_large", 400, "chunk size line too long"},
    [FP_E_BAD_CHUNK_DATA_END] = {"bad_chunk_data_end", 400, "chunk data not followed by CRLF"},
    [FP_E_TRAILERS_TOO_LARGE] = {"trailers_too_large", 400, "trailer section too large"},
};

/* 1 if error indexes the table. */
static int known(int error)
{
    return error >= 0 && error < FP_E__COUNT;
}

/* See fp_http.h. */
int fp_error_status(int error)
{
    return known(error) ? errors[error].status : 400;
}

/* See fp_http.h. */
const char *fp_error_name(int error)
{
    return known(error) ? errors[error].name : "unknown";
}

/* See fp_http.h.  Unknown codes get a generic text. */
const char *fp_error_message(int error)
{
    return known(error) ? errors[error].message : "bad request";
}
