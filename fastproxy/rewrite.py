"""Message heads as they leave the proxy (RFC 9110 7.6, RFC 9112, RFC 7239).

Theory of operation: the parser tags every field with an id (codes.H_*),
and a table gives the action for each id: keep, drop, or look closer.
Consecutive kept lines are copied as one slice of the receive buffer, so a
common field costs one table lookup; only the fields the proxy acts on are
read (heads.py reads them without Python objects when compiled).  Fields
named in Connection are looked up by name, only when the parser saw such
names (codes.F_CONN_OTHER).  The output goes to the caller's next write
(outgoing.py), together with the first body bytes.  The fields the proxy
adds for a client depend on the connection and the Host only, unless the
request brings forwarding fields of its own: they are built once per
connection and Host, and kept on its Peer.

Toward the upstream: the request line is rebuilt as HTTP/1.1 with the
routed target; hop-by-hop fields (Connection, Keep-Alive, Proxy-Connection,
TE, Trailer, Upgrade unless upgrading, and every field named in Connection)
are dropped; X-Forwarded-For gets the peer appended to the incoming chain;
X-Forwarded-Proto and X-Forwarded-Host are set (kept as sent only from a
trusted peer); an RFC 7239 Forwarded element is appended; X-Real-IP carries
the client address; X-Request-ID is passed through (when well-formed) or
generated.  Transfer-Encoding and Content-Length pass unchanged: request
bodies are never re-framed.

Toward the client: the status line says HTTP/1.1; hop-by-hop fields and the
configured revealing fields (Server, X-Powered-By, ...) are dropped;
Transfer-Encoding goes when the body is re-framed or the client speaks
HTTP/1.0 (RFC 9112 6.1); Connection says what the proxy will do with the
client connection.
"""

from __future__ import annotations

import os
import re

try:
    import cython
except ImportError:  # only building needs Cython: the source runs without it
    from fastproxy._ext import cython_shadow as cython

from fastproxy import _ext
from fastproxy.heads import ParsedHead
from fastproxy.outgoing import Outgoing
from fastproxy.parser import codes
from fastproxy.relay import OUT_CHUNK, OUT_PASS

_ext.loaded(__name__, cython.compiled)

KEEP = 0
DROP = 1
LOOK = 2

_CRLF = b"\r\n"
_FIELD_COUNT = 19

_REQUEST_ACTIONS = [KEEP] * _FIELD_COUNT
for _hid in (codes.H_CONNECTION, codes.H_KEEP_ALIVE, codes.H_PROXY_CONNECTION, codes.H_TE, codes.H_TRAILER,
             codes.H_X_REAL_IP):
    _REQUEST_ACTIONS[_hid] = DROP
for _hid in (codes.H_HOST, codes.H_UPGRADE, codes.H_X_FORWARDED_FOR, codes.H_X_FORWARDED_PROTO,
             codes.H_X_FORWARDED_HOST, codes.H_FORWARDED, codes.H_X_REQUEST_ID):
    _REQUEST_ACTIONS[_hid] = LOOK
REQUEST_ACTIONS = tuple(_REQUEST_ACTIONS)

H_OTHER = codes.H_OTHER
H_HOST = codes.H_HOST
H_UPGRADE = codes.H_UPGRADE
H_CONNECTION = codes.H_CONNECTION
H_TRANSFER_ENCODING = codes.H_TRANSFER_ENCODING
H_X_FORWARDED_FOR = codes.H_X_FORWARDED_FOR
H_X_FORWARDED_PROTO = codes.H_X_FORWARDED_PROTO
H_X_FORWARDED_HOST = codes.H_X_FORWARDED_HOST
H_FORWARDED = codes.H_FORWARDED
H_X_REQUEST_ID = codes.H_X_REQUEST_ID
F_CONN_OTHER = codes.F_CONN_OTHER

# A passed-through request id: visible ASCII, bounded, so it is safe to log.
_GOOD_REQUEST_ID = re.compile(rb"[\x21-\x7e]{1,200}").fullmatch
# Host bytes the parser allows that are not tchar: such a host is quoted in Forwarded.
_NOT_TCHAR = frozenset(b"():;=,[]")


class HeaderEdits:
    """A route's header edits in one direction, made once at config load:
    ``drop`` the lower-cased names of fields to remove (None: none),
    ``add`` the lines to append (b"" for none)."""

    __slots__ = ("add", "drop")

    def __init__(self, drop, add: bytes) -> None:
        self.drop = drop
        self.add = add


class Peer:
    """What the rewriter knows of the client connection; made once per connection.

    ``client`` / ``client_b`` and ``request_id`` are results of the last
    ``RequestRewriter.head`` call.  On a listener that verifies client
    certificates, ``set_client_cert`` gives the verified ``subject`` and
    ``cn``, and the field that carries the subject upstream.
    """

    __slots__ = ("block", "block_host", "client", "client_b", "cn", "drop_names", "for_b", "ip", "ip_b", "proto_b",
                 "request_id", "subject", "subject_line", "tls", "trusted")

    def __init__(self, ip: str, trusted: bool, proto: bytes = b"http") -> None:
        self.ip = ip
        self.ip_b = ip.encode("ascii")
        # RFC 7239 node: an IPv6 address is bracketed and quoted.
        self.for_b = b'"[' + self.ip_b + b']"' if ":" in ip else self.ip_b
        self.trusted = trusted
        self.proto_b = proto
        self.client = ip
        self.client_b = self.ip_b
        self.request_id: bytes | None = None
        # The forwarding fields for requests that bring none, and the Host
        # they were made for.
        self.block: bytes | None = None
        self.block_host: bytes | None = None
        self.tls = proto == b"https"
        self.subject: str | None = None
        self.cn: str | None = None
        # Fields the client may not send (the subject field: no spoofing).
        self.drop_names: frozenset | None = None
        self.subject_line: bytes | None = None

    def set_client_cert(self, field: str, subject: str | None, cn: str | None) -> None:
        """The verified client certificate (None: none), sent upstream in ``field``."""
        self.subject = subject
        self.cn = cn
        self.drop_names = frozenset((field.lower().encode("ascii"),))
        self.subject_line = None
        if subject is not None:
            self.subject_line = field.encode("ascii") + b": " + subject.encode("ascii") + _CRLF


def connection_names(head: ParsedHead, buf: bytearray) -> frozenset:
    """The lower-cased field names listed in the Connection fields."""
    names = set()
    for i in range(head.count):
        if head.field_id(i) == H_CONNECTION:
            for token in head.value(buf, i).split(b","):
                token = token.strip().lower()
                if token:
                    names.add(token)
    return frozenset(names)


def _forwarded_host(host: bytes) -> bytes:
    for byte in host:
        if byte in _NOT_TCHAR:
            return b'"' + host + b'"'
    return host


def _forwarding_lines(peer: Peer, host: bytes | None, xff: bytes | None, fwd: bytes | None, kept_proto: bool,
                      kept_host: bool) -> bytes:
    """X-Forwarded-For, -Proto, -Host, Forwarded and X-Real-IP for a request
    with Host ``host`` (the authority, if any), the incoming X-Forwarded-For
    and Forwarded chains ``xff`` and ``fwd`` (None when absent), and a
    trusted peer's X-Forwarded-Proto / -Host kept (``kept_*``)."""
    proto = peer.proto_b
    lines = [b"X-Forwarded-For: "]
    if xff is not None:
        lines += (xff, b", ")
    lines += (peer.ip_b, _CRLF)
    if not kept_proto:
        lines += (b"X-Forwarded-Proto: ", proto, _CRLF)
    if host and not kept_host:
        lines += (b"X-Forwarded-Host: ", host, _CRLF)
    lines.append(b"Forwarded: ")
    if fwd is not None:
        lines += (fwd, b", ")
    lines += (b"for=", peer.for_b)
    if host:
        lines += (b";host=", _forwarded_host(host))
    lines += (b";proto=", proto, _CRLF, b"X-Real-IP: ", peer.client_b, _CRLF)
    return b"".join(lines)


class RequestRewriter:
    """Builds upstream request heads; one per process."""

    __slots__ = ("id_count", "id_prefix", "request_id", "trusted")

    def __init__(self, trusted, request_id: bool = True) -> None:
        self.trusted = trusted  # clientip.TrustedProxies
        self.request_id = request_id
        self.id_prefix = os.urandom(8).hex().encode("ascii")
        self.id_count = 0

    def new_request_id(self) -> bytes:
        """A request id unique in this process: a random prefix and a counter, in hex."""
        self.id_count += 1
        if cython.compiled:
            rid = self._format_id()  # Fast path: the same digits, written in C
        else:
            rid = b"%s%016x" % (self.id_prefix, self.id_count)
        return rid

    def head(self, head: ParsedHead, buf: bytearray, head_len: int, method: bytes, target: bytes,
             host: bytes | None, authority: bytes | None, upgrade: bool, fallback_host: bytes, peer: Peer,
             outgoing: Outgoing, edits: HeaderEdits | None = None) -> None:
        """Adds the head to send upstream to ``outgoing``.

        ``head`` holds the parse results of the request head at the start of
        ``buf``, ``head_len`` bytes long.  ``host`` is the Host value (None
        if absent), ``authority`` that of an absolute-form target (it then
        replaces Host), ``target`` the target to send.  ``fallback_host`` is
        the Host sent when the request had none (HTTP/1.0).  ``edits``:
        the route's header edits, if any.  Sets peer.client, peer.client_b
        and peer.request_id.
        """
        outgoing.put(method)
        outgoing.put(b" ")
        outgoing.put(target)
        outgoing.put(b" HTTP/1.1\r\n")
        names = connection_names(head, buf) if head.flags & F_CONN_OTHER else None
        if peer.drop_names is not None or edits is not None:
            names = _with_drops(names, peer.drop_names, None if edits is None else edits.drop)
        actions = REQUEST_ACTIONS
        xff = None
        fwd = None
        rid = None
        kept_proto = False
        kept_host = False
        run = -1
        for i in range(head.count):
            hid = head.field_id(i)
            action = actions[hid]
            if action == KEEP:
                if hid != H_OTHER or names is None or head.name(buf, i) not in names:
                    if run < 0:
                        run = head.line_start(i)
                    continue
            elif action == LOOK:
                keep = False
                if hid == H_HOST:
                    keep = authority is None
                elif hid == H_UPGRADE:
                    keep = upgrade
                elif hid == H_X_FORWARDED_FOR:
                    value = head.value(buf, i)
                    xff = value if xff is None else xff + b", " + value
                elif hid == H_FORWARDED:
                    value = head.value(buf, i)
                    fwd = value if fwd is None else fwd + b", " + value
                elif hid == H_X_FORWARDED_PROTO:
                    keep = kept_proto = peer.trusted
                elif hid == H_X_FORWARDED_HOST:
                    keep = kept_host = peer.trusted
                elif hid == H_X_REQUEST_ID and rid is None:
                    rid = head.value(buf, i)
                if keep:
                    if run < 0:
                        run = head.line_start(i)
                    continue
            # This line goes: send the run of kept lines before it.
            if run >= 0:
                outgoing.add_slice(buf, run, head.line_start(i))
                run = -1
        if run >= 0:
            outgoing.add_slice(buf, run, head_len - 2)
        self._forwarding(host, authority, xff, fwd, rid, kept_proto, kept_host, upgrade, fallback_host, peer,
                         outgoing)
        if peer.subject_line is not None:
            outgoing.put(peer.subject_line)
        if edits is not None:
            outgoing.put(edits.add)
        outgoing.put(_CRLF)

    def _forwarding(self, host, authority, xff, fwd, rid, kept_proto: bool, kept_host: bool, upgrade: bool,
                    fallback_host: bytes, peer: Peer, outgoing: Outgoing) -> None:
        """Adds the fields the proxy adds.

        ``xff``, ``fwd`` and ``rid`` are the incoming X-Forwarded-For and
        Forwarded chains and X-Request-ID (None when absent); ``kept_proto``
        and ``kept_host`` say that a trusted peer's X-Forwarded-Proto / -Host
        were kept.
        """
        if authority is not None:
            host = authority
            outgoing.put(b"Host: ")
            outgoing.put(authority)
            outgoing.put(_CRLF)
        elif host is None:
            outgoing.put(b"Host: ")
            outgoing.put(fallback_host)
            outgoing.put(_CRLF)
        if xff is not None and peer.trusted:
            peer.client = self.trusted.client_ip(peer.ip, xff)
            peer.client_b = peer.client.encode("ascii")
        else:
            peer.client = peer.ip
            peer.client_b = peer.ip_b
        if xff is None and fwd is None and not kept_proto and not kept_host:
            # The common case: the same lines for every request of this
            # connection with this Host.
            if peer.block is None or host != peer.block_host:
                peer.block = _forwarding_lines(peer, host, None, None, False, False)
                peer.block_host = host
            outgoing.put(peer.block)
        else:
            outgoing.put(_forwarding_lines(peer, host, xff, fwd, kept_proto, kept_host))
        if self.request_id:
            if rid is None or not _GOOD_REQUEST_ID(rid):
                rid = self.new_request_id()
            outgoing.put(b"X-Request-ID: ")
            outgoing.put(rid)
            outgoing.put(_CRLF)
            peer.request_id = rid
        else:
            peer.request_id = None
        if upgrade:
            outgoing.put(b"Connection: upgrade\r\n")


def _with_drops(names, first, second):
    """``names`` (or None) with the names of the sets ``first`` and ``second`` (or None)."""
    for drop in (first, second):
        if drop is not None:
            names = drop if names is None else names | drop
    return names


class ResponseRewriter:
    """Builds client response heads; one per process."""

    __slots__ = ("actions", "hide_names")

    def __init__(self, hide: tuple = ()) -> None:
        actions = [KEEP] * _FIELD_COUNT
        for hid in (codes.H_CONNECTION, codes.H_KEEP_ALIVE, codes.H_PROXY_CONNECTION, codes.H_TE):
            actions[hid] = DROP
        for hid in (codes.H_UPGRADE, codes.H_TRANSFER_ENCODING):
            actions[hid] = LOOK
        names = set()
        for name in hide:
            key = name.lower().encode("ascii")
            hid = codes.FIELD_IDS.get(key)
            if hid is None:
                names.add(key)
            else:
                actions[hid] = DROP
        self.actions = tuple(actions)
        self.hide_names = frozenset(names)

    def head(self, head: ParsedHead, buf: bytearray, head_len: int, status: int, keep: bool, client11: bool,
             out: int, outgoing: Outgoing, edits: HeaderEdits | None = None) -> None:
        """Adds the head to send to the client to ``outgoing``.

        ``head`` holds the parse results of the response head at the start
        of ``buf``, ``head_len`` bytes long; ``keep``: the client connection
        stays open after this response; ``client11``: the client speaks
        HTTP/1.1; ``out``: the relay.OUT_* re-framing of the body.  Interim
        (1xx) and 101 heads come here too.  ``edits``: the route's edits
        (their ``drop`` includes the configured revealing fields).
        """
        count = head.count
        line_end = head.line_start(0) if count else head_len - 2
        if head.minor_version == 1:
            outgoing.add_slice(buf, 0, line_end)
        else:
            # "HTTP/1.0" is 8 bytes; the proxy speaks HTTP/1.1 to its client.
            outgoing.put(b"HTTP/1.1")
            outgoing.add_slice(buf, 8, line_end)
        names = None
        if head.flags & F_CONN_OTHER:
            names = connection_names(head, buf) | self.hide_names
        elif self.hide_names:
            names = self.hide_names
        if edits is not None and edits.drop is not None:
            names = edits.drop if names is None else names | edits.drop
        actions = self.actions
        run = -1
        for i in range(count):
            hid = head.field_id(i)
            action = actions[hid]
            if action == KEEP:
                if hid != H_OTHER or names is None or head.name(buf, i) not in names:
                    if run < 0:
                        run = head.line_start(i)
                    continue
            elif action == LOOK and ((status == 101) if hid == H_UPGRADE else (out == OUT_PASS and client11)):
                if run < 0:
                    run = head.line_start(i)
                continue
            if run >= 0:
                outgoing.add_slice(buf, run, head.line_start(i))
                run = -1
        if run >= 0:
            outgoing.add_slice(buf, run, head_len - 2)
        if out == OUT_CHUNK:
            outgoing.put(b"Transfer-Encoding: chunked\r\n")
        if status == 101:
            outgoing.put(b"Connection: upgrade\r\n")
        elif status >= 200:
            if not keep:
                outgoing.put(b"Connection: close\r\n")
            elif not client11:
                outgoing.put(b"Connection: keep-alive\r\n")
        if edits is not None:
            outgoing.put(edits.add)
        outgoing.put(_CRLF)
