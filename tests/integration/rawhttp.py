"""A raw-socket HTTP/1.1 client for the data-path tests.

Tests need to send exact bytes (pipelined requests, smuggling attempts,
slow heads) and to see exactly what comes back (framing, Connection, a
reset), so this client does no more than split responses: status line,
fields, and a body framed by the rules of RFC 9112 section 6.3.
"""

from __future__ import annotations

import socket
from dataclasses import dataclass, field
from typing import Self

MAX_HEAD = 256 * 1024


class Closed(Exception):
    """The server closed (or reset) the connection before a full response."""


@dataclass
class Response:
    status: int
    reason: str
    version: str
    headers: list[tuple[str, str]]
    body: bytes = b""
    chunked: bool = False
    interim: list[Response] = field(default_factory=list)

    def header(self, name: str) -> str | None:
        name = name.lower()
        for key, value in self.headers:
            if key.lower() == name:
                return value
        return None

    def header_all(self, name: str) -> list[str]:
        name = name.lower()
        return [value for key, value in self.headers if key.lower() == name]

    @property
    def closes(self) -> bool:
        return "close" in (self.header("connection") or "").lower()


class Client:
    """One connection; ``request`` sends and reads, or use ``send`` / ``read_response``."""

    def __init__(self, address: tuple[str, int], timeout: float = 10.0) -> None:
        self.sock = socket.create_connection(address, timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        self.buf = bytearray()

    def __enter__(self) -> Self:
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    def close(self) -> None:
        self.sock.close()

    def send(self, data: bytes) -> None:
        self.sock.sendall(data)

    def request(self, method: str = "GET", target: str = "/", headers: dict | list | None = None,
                body: bytes | None = None, host: str = "example.com", version: str = "HTTP/1.1") -> Response:
        self.send(build_request(method, target, headers, body, host, version))
        return self.read_response(head=method == "HEAD")

    def _fill(self) -> None:
        try:
            data = self.sock.recv(256 * 1024)
        except ConnectionResetError:
            raise Closed("connection reset") from None
        if not data:
            raise Closed(f"connection closed ({len(self.buf)} bytes unread)")
        self.buf += data

    def _take(self, n: int) -> bytes:
        while len(self.buf) < n:
            self._fill()
        data = bytes(self.buf[:n])
        del self.buf[:n]
        return data

    def _line(self) -> bytes:
        while True:
            i = self.buf.find(b"\r\n")
            if i >= 0:
                line = bytes(self.buf[:i])
                del self.buf[: i + 2]
                return line
            if len(self.buf) > MAX_HEAD:
                raise AssertionError("response line too long")
            self._fill()

    def read_head(self) -> Response:
        status_line = self._line().decode("latin-1")
        version, _, rest = status_line.partition(" ")
        code, _, reason = rest.partition(" ")
        headers = []
        while True:
            line = self._line()
            if not line:
                break
            name, _, value = line.decode("latin-1").partition(":")
            headers.append((name, value.strip()))
        return Response(int(code), reason, version, headers)

    def read_response(self, head: bool = False) -> Response:
        """The next final response (interim ones are kept in ``interim``)."""
        interim = []
        while True:
            resp = self.read_head()
            if 100 <= resp.status < 200 and resp.status != 101:
                interim.append(resp)
                continue
            break
        resp.interim = interim
        if head or resp.status in (204, 304) or resp.status == 101:
            return resp
        te = (resp.header("transfer-encoding") or "").lower()
        if te:
            assert te.split(",")[-1].strip() == "chunked", te
            resp.chunked = True
            resp.body = self._chunked_body()
        elif resp.header("content-length") is not None:
            resp.body = self._take(int(resp.header("content-length")))
        else:
            resp.body = self.read_until_close()
        return resp

    def _chunked_body(self) -> bytes:
        out = bytearray()
        while True:
            size = int(self._line().split(b";")[0], 16)
            if size == 0:
                while self._line():
                    pass
                return bytes(out)
            out += self._take(size)
            assert self._take(2) == b"\r\n"

    def read_until_close(self) -> bytes:
        while True:
            try:
                data = self.sock.recv(256 * 1024)
            except ConnectionResetError:
                raise Closed("connection reset") from None
            if not data:
                data, self.buf = bytes(self.buf), bytearray()
                return data
            self.buf += data

    def at_eof(self, timeout: float = 5.0) -> bool:
        """True once the server has closed (FIN or reset) and nothing is unread."""
        if self.buf:
            return False
        self.sock.settimeout(timeout)
        try:
            data = self.sock.recv(1)
        except ConnectionResetError:
            return True
        if data:
            self.buf += data
            return False
        return True


def build_request(method: str = "GET", target: str = "/", headers: dict | list | None = None,
                  body: bytes | None = None, host: str | None = "example.com",
                  version: str = "HTTP/1.1") -> bytes:
    lines = [f"{method} {target} {version}"]
    items = list(headers.items()) if isinstance(headers, dict) else list(headers or [])
    names = {k.lower() for k, _ in items}
    if host is not None and "host" not in names:
        lines.append(f"Host: {host}")
    if body is not None and "content-length" not in names and "transfer-encoding" not in names:
        lines.append(f"Content-Length: {len(body)}")
    lines.extend(f"{k}: {v}" for k, v in items)
    return ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + (body or b"")


def chunked(data: bytes, size: int = 1000) -> bytes:
    """``data`` in chunked coding, ``size`` bytes per chunk."""
    out = bytearray()
    for i in range(0, len(data), size):
        piece = data[i:i + size]
        out += b"%x\r\n" % len(piece) + piece + b"\r\n"
    return bytes(out) + b"0\r\n\r\n"
