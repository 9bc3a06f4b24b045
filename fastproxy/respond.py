"""The proxy's own answers to requests it cannot pass on, and their log lines.

An error answer has a status, a one-line text body, ``Connection: close``
(the connection closes after it: after an error the framing of what the
client sends next cannot be trusted) and the request id when there is one.
Every one of them is logged with a line; they are rare, so that is off the
hot path by construction.
"""

from __future__ import annotations

import logging

log = logging.getLogger("fastproxy.proxy")

REASONS = {
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    408: "Request Timeout",
    413: "Content Too Large",
    414: "URI Too Long",
    417: "Expectation Failed",
    421: "Misdirected Request",
    431: "Request Header Fields Too Large",
    500: "Internal Server Error",
    501: "Not Implemented",
    502: "Bad Gateway",
    503: "Service Unavailable",
    504: "Gateway Timeout",
    505: "HTTP Version Not Supported",
}


def error_response(status: int, message: str, request_id: bytes | None = None, head_only: bool = False) -> bytes:
    """The bytes of an error answer; ``head_only`` for a HEAD request (no body)."""
    body = (message + "\n").encode("latin-1", "replace")
    reason = REASONS.get(status, "Error")
    head = (
        f"HTTP/1.1 {status} {reason}\r\n"
        "Content-Type: text/plain; charset=utf-8\r\n"
        f"Content-Length: {len(body)}\r\n"
        "Connection: close\r\n"
        "Cache-Control: no-store\r\n"
    ).encode("latin-1")
    if request_id:
        head += b"X-Request-ID: " + request_id + b"\r\n"
    head += b"\r\n"
    return head if head_only else head + body


def log_failure(status: int, what: str, client: str, method: bytes | None, target: bytes | None,
                detail: str = "") -> None:
    """One log line for a request that failed (``status`` 0: no answer could be sent)."""
    request = "-"
    if method is not None:
        shown = target[:200] if target else b""
        request = (method + b" " + shown).decode("latin-1")
    log.warning("%s %s client=%s request=%r%s", status or "-", what, client, request,
                f" ({detail})" if detail else "")
